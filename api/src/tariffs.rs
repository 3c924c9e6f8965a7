//! `/v1/admin/tariffs`: what charging costs, and where each tariff applies
//! (`PUT /v1/admin/stations/{id}/tariff`, `PUT /v1/admin/connectors/{id}/tariff`;
//! a connector's own tariff wins over its station's). Chargers hear the
//! running and final cost of each session (OCPP 2.0.1 `totalCost`,
//! CostUpdated); every change is audited.

use axum::extract::State;
use axum::http::StatusCode;
use booking::catalog;
use booking::iso;
use booking::tariffs::{Tariff, TariffScope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, created, ok};
use super::extract::{ApiJson, ApiQuery, PageQuery, UuidPath};
use super::openapi::{ErrorEnvelope, envelope};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tariffs, create_tariff))
        .routes(routes!(update_tariff))
        .routes(routes!(assign_to_station))
        .routes(routes!(assign_to_connector))
}

/// A tariff: prices excluding tax, in one currency.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TariffBody {
    #[schema(example = "Standard AC")]
    name: String,
    /// ISO 4217, e.g. `EUR`.
    #[schema(example = "EUR")]
    currency: String,
    /// Per kWh, 0 to 10000.
    #[schema(example = 0.39)]
    price_per_kwh: f64,
    /// Per minute while charging (default 0).
    #[serde(default)]
    price_per_minute_charging: f64,
    /// Per minute plugged in but not charging (default 0).
    #[serde(default)]
    price_per_minute_idle: f64,
    /// Once per session (default 0).
    #[serde(default)]
    session_fee: f64,
    /// Percent added on top, 0 to 100 (default 0).
    #[serde(default)]
    tax_rate_percent: f64,
}

/// A tariff as stored.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct TariffJson {
    id: Uuid,
    name: String,
    currency: String,
    price_per_kwh: f64,
    price_per_minute_charging: f64,
    price_per_minute_idle: f64,
    session_fee: f64,
    tax_rate_percent: f64,
    created_at: String,
}

impl From<&Tariff> for TariffJson {
    fn from(t: &Tariff) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            currency: t.currency.clone(),
            price_per_kwh: t.price_per_kwh,
            price_per_minute_charging: t.price_per_minute_charging,
            price_per_minute_idle: t.price_per_minute_idle,
            session_fee: t.session_fee,
            tax_rate_percent: t.tax_rate_percent,
            created_at: iso(t.created_at),
        }
    }
}

envelope!(
    /// A tariff.
    TariffEnvelope,
    TariffJson
);

/// A page of tariffs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TariffList {
    tariffs: Vec<TariffJson>,
    total: u64,
    limit: u32,
    offset: u64,
}

envelope!(
    /// A page of tariffs.
    TariffListEnvelope,
    TariffList
);

fn tariff_of(id: Uuid, body: TariffBody, created_at: chrono::DateTime<chrono::Utc>) -> Tariff {
    Tariff {
        id,
        name: body.name.trim().to_owned(),
        currency: body.currency,
        price_per_kwh: body.price_per_kwh,
        price_per_minute_charging: body.price_per_minute_charging,
        price_per_minute_idle: body.price_per_minute_idle,
        session_fee: body.session_fee,
        tax_rate_percent: body.tax_rate_percent,
        created_at,
    }
}

fn details(t: &Tariff) -> serde_json::Value {
    serde_json::to_value(TariffJson::from(t)).unwrap_or_default()
}

/// Creates a tariff; audited.
#[utoipa::path(
    post,
    path = "/v1/admin/tariffs",
    tag = "admin",
    request_body = TariffBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The tariff", body = TariffEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: a price, the currency or the name", body = ErrorEnvelope),
    ),
)]
async fn create_tariff(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiJson(body): ApiJson<TariffBody>,
) -> ApiResult<(StatusCode, axum::Json<serde_json::Value>)> {
    let tariff = tariff_of(Uuid::new_v4(), body, state.clock.now());
    tariff.validate()?;
    state.store.insert_tariff(&tariff).await?;
    state
        .audit(
            &admin,
            "tariff.create",
            &tariff.id.to_string(),
            details(&tariff),
            "ACCEPTED",
        )
        .await;
    Ok(created(TariffJson::from(&tariff)))
}

/// Replaces a tariff's name, currency and prices; a session still running
/// is priced wholly by the new prices (its cost is computed from its
/// totals at each update). Audited.
#[utoipa::path(
    put,
    path = "/v1/admin/tariffs/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The tariff's id")),
    request_body = TariffBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The tariff", body = TariffEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such tariff", body = ErrorEnvelope),
    ),
)]
async fn update_tariff(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
    ApiJson(body): ApiJson<TariffBody>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let existing = state
        .store
        .tariff(id)
        .await?
        .ok_or_else(|| ApiError::from(booking::Error::not_found("tariff", id)))?;
    let tariff = tariff_of(id, body, existing.created_at);
    tariff.validate()?;
    if !state.store.update_tariff(&tariff).await? {
        return Err(booking::Error::not_found("tariff", id).into());
    }
    state
        .audit(
            &admin,
            "tariff.update",
            &id.to_string(),
            details(&tariff),
            "ACCEPTED",
        )
        .await;
    Ok(ok(TariffJson::from(&tariff)))
}

/// Tariffs by name, paged.
#[utoipa::path(
    get,
    path = "/v1/admin/tariffs",
    tag = "admin",
    params(PageQuery),
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "A page of tariffs", body = TariffListEnvelope)),
)]
async fn list_tariffs(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let page = catalog::page(q.limit, q.offset)?;
    let (tariffs, total) = state.store.tariffs(page).await?;
    Ok(ok(TariffList {
        tariffs: tariffs.iter().map(TariffJson::from).collect(),
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// Which tariff applies; `null` removes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AssignTariff {
    tariff_id: Option<Uuid>,
}

/// Where a tariff now applies.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Assigned {
    /// `station` or `connector`.
    #[schema(example = "station")]
    scope: &'static str,
    target_id: Uuid,
    tariff_id: Option<Uuid>,
}

envelope!(
    /// Where a tariff applies.
    AssignedTariffEnvelope,
    Assigned
);

async fn assign(
    state: &AppState,
    admin: &AdminUser,
    scope: TariffScope,
    tariff: Option<Uuid>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let (kind, target) = match scope {
        TariffScope::Station(id) => {
            if state.store.station(id).await?.is_none() {
                return Err(booking::Error::not_found("station", id).into());
            }
            ("station", id)
        }
        TariffScope::Connector(id) => {
            if state.store.connector(id).await?.is_none() {
                return Err(booking::Error::not_found("connector", id).into());
            }
            ("connector", id)
        }
    };
    if let Some(t) = tariff
        && state.store.tariff(t).await?.is_none()
    {
        return Err(booking::Error::not_found("tariff", t).into());
    }
    state
        .store
        .assign_tariff(scope, tariff, state.clock.now())
        .await?;
    state
        .audit(
            admin,
            &format!("{kind}.tariff"),
            &target.to_string(),
            serde_json::json!({ "tariffId": tariff }),
            "ACCEPTED",
        )
        .await;
    Ok(ok(Assigned {
        scope: kind,
        target_id: target,
        tariff_id: tariff,
    }))
}

/// Sets the tariff of every connector of a station that has none of its
/// own; audited.
#[utoipa::path(
    put,
    path = "/v1/admin/stations/{id}/tariff",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The station's id")),
    request_body = AssignTariff,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Assigned", body = AssignedTariffEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such station or tariff", body = ErrorEnvelope),
    ),
)]
async fn assign_to_station(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
    ApiJson(body): ApiJson<AssignTariff>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    assign(&state, &admin, TariffScope::Station(id), body.tariff_id).await
}

/// Sets one connector's own tariff (it wins over its station's); audited.
#[utoipa::path(
    put,
    path = "/v1/admin/connectors/{id}/tariff",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The connector's id")),
    request_body = AssignTariff,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Assigned", body = AssignedTariffEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such connector or tariff", body = ErrorEnvelope),
    ),
)]
async fn assign_to_connector(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
    ApiJson(body): ApiJson<AssignTariff>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    assign(&state, &admin, TariffScope::Connector(id), body.tariff_id).await
}
