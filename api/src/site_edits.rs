//! Editing and removing what an operator set up:
//! `PUT`/`DELETE /v1/admin/stations/{id}`, `DELETE /v1/admin/chargers/{id}`,
//! `PUT`/`DELETE /v1/admin/connectors/{id}`. A removal takes what is under
//! it, and is refused while a booking or a hold is live on it, or when
//! bookings or sessions ever referred to it (their history stays). Every
//! change is audited.

use axum::extract::{Path, State};
use booking::catalog::StationView;
use booking::provisioning::{self, ConnectorChange, StationInput};
use booking::store::{Removed, SiteThing};
use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::{ApiJson, UuidPath};
use super::openapi::{ErrorEnvelope, envelope};
use super::stations::{ConnectorJson, StationEnvelope, StationJson};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(update_station, delete_station))
        .routes(routes!(delete_charger))
        .routes(routes!(update_connector, delete_connector))
}

/// A station's new name, place and address (all replaced).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StationBody {
    #[schema(example = "Gachibowli Hub")]
    name: String,
    latitude: f64,
    longitude: f64,
    address: Option<String>,
}

/// A connector's new label, type and power (all replaced).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConnectorBody {
    #[schema(example = "A1")]
    connector_number: String,
    #[schema(example = "CCS")]
    connector_type: String,
    #[schema(example = 150.0)]
    power_kw: f64,
}

envelope!(
    /// The connector as changed.
    ConnectorEnvelope,
    ConnectorJson
);

envelope!(
    /// What was removed.
    RemovedEnvelope,
    RemovedJson
);

/// What a removal took with it.
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RemovedJson {
    station_id: Uuid,
    /// The chargers removed with it (connected ones were let go).
    charge_point_ids: Vec<String>,
}

/// Changes a station's name, place and address; audited.
#[utoipa::path(
    put,
    path = "/v1/admin/stations/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The station's id")),
    request_body = StationBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The station as changed", body = StationEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such station", body = ErrorEnvelope),
    ),
)]
async fn update_station(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
    ApiJson(body): ApiJson<StationBody>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let input = StationInput {
        name: body.name,
        latitude: body.latitude,
        longitude: body.longitude,
        address: body.address,
    };
    let view = edit_station(&state, admin.actor(), id, input).await?;
    Ok(ok(StationJson::from(view)))
}

/// Changes a station (the API's and the console's); audited.
pub(crate) async fn edit_station(
    state: &AppState,
    actor: String,
    id: Uuid,
    input: StationInput,
) -> ApiResult<StationView> {
    let station = provisioning::update_station(&*state.site, id, input).await?;
    state.bookings.invalidate_station(id).await;
    let details = json!({ "name": station.name, "latitude": station.latitude,
        "longitude": station.longitude, "address": station.address });
    state
        .audit_by(
            actor,
            "station.update",
            &id.to_string(),
            details,
            "ACCEPTED",
        )
        .await;
    let connectors = state.store.connectors_of_stations(&[id]).await?;
    Ok(StationView {
        station,
        connectors,
        distance_km: None,
    })
}

/// Removes a station with its chargers and connectors; audited.
#[utoipa::path(
    delete,
    path = "/v1/admin/stations/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The station's id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Removed", body = RemovedEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such station", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: a booking or hold is live on it, or bookings or sessions refer to it", body = ErrorEnvelope),
    ),
)]
async fn delete_station(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
) -> ApiResult<axum::Json<serde_json::Value>> {
    remove(&state, admin.actor(), SiteThing::Station(id))
        .await
        .map(removed_json)
}

/// Removes a charger with its connectors; audited. A connected charger is
/// let go.
#[utoipa::path(
    delete,
    path = "/v1/admin/chargers/{id}",
    tag = "admin",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Removed", body = RemovedEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: a booking or hold is live on it, or bookings or sessions refer to it", body = ErrorEnvelope),
    ),
)]
async fn delete_charger(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let charger = state.charger(&charge_point_id).await?;
    remove(&state, admin.actor(), SiteThing::Charger(charger.id))
        .await
        .map(removed_json)
}

/// Changes a connector's label, type and power; audited.
#[utoipa::path(
    put,
    path = "/v1/admin/connectors/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The connector's id")),
    request_body = ConnectorBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The connector as changed", body = ConnectorEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such connector", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: another connector of the station has that label", body = ErrorEnvelope),
    ),
)]
async fn update_connector(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
    ApiJson(body): ApiJson<ConnectorBody>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let change = ConnectorChange {
        connector_number: body.connector_number,
        connector_type: body.connector_type,
        power_kw: body.power_kw,
    };
    let connector = edit_connector(&state, admin.actor(), id, change).await?;
    Ok(ok(ConnectorJson::from(&connector)))
}

/// Changes a connector (the API's and the console's); audited.
pub(crate) async fn edit_connector(
    state: &AppState,
    actor: String,
    id: Uuid,
    change: ConnectorChange,
) -> ApiResult<booking::model::Connector> {
    let connector = provisioning::update_connector(&*state.site, id, change).await?;
    state
        .bookings
        .invalidate_station(connector.station_id)
        .await;
    let details = json!({ "connectorNumber": connector.connector_number,
        "connectorType": connector.connector_type, "powerKw": connector.power_kw });
    state
        .audit_by(
            actor,
            "connector.update",
            &id.to_string(),
            details,
            "ACCEPTED",
        )
        .await;
    Ok(connector)
}

/// Removes a connector; audited.
#[utoipa::path(
    delete,
    path = "/v1/admin/connectors/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The connector's id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Removed", body = RemovedEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such connector", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: a booking or hold is live on it, or bookings or sessions refer to it", body = ErrorEnvelope),
    ),
)]
async fn delete_connector(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
) -> ApiResult<axum::Json<serde_json::Value>> {
    remove(&state, admin.actor(), SiteThing::Connector(id))
        .await
        .map(removed_json)
}

/// Holds live long past any booking window: a removal looks this far ahead.
const HOLDS_AHEAD_DAYS: i64 = 400;

/// Removes a station, charger or connector for `actor` (the API's and the
/// console's): refused while a driver holds a slot on it (holds live outside
/// the database) or the store refuses; then its station's cached reads are
/// stale, its connected chargers are let go, and it is audited.
pub(crate) async fn remove(
    state: &AppState,
    actor: String,
    thing: SiteThing,
) -> ApiResult<Removed> {
    let connectors: Vec<Uuid> = match thing {
        SiteThing::Station(id) => state.store.connectors_of_stations(&[id]).await?,
        SiteThing::Charger(id) => state.store.connectors_of_charger(id).await?,
        SiteThing::Connector(id) => state.store.connector(id).await?.into_iter().collect(),
    }
    .into_iter()
    .map(|c| c.id)
    .collect();
    let now = state.clock.now();
    let (_, holds) = state
        .bookings
        .claims_between(&connectors, now, now + TimeDelta::days(HOLDS_AHEAD_DAYS))
        .await?;
    if !holds.is_empty() {
        return Err(ApiError::Conflict(
            "CONFLICT",
            format!(
                "{} driver(s) hold a slot here and may still confirm: try again when the holds \
                 have ended",
                holds.len()
            ),
        ));
    }
    let (action, target) = match thing {
        SiteThing::Station(id) => ("station.delete", id),
        SiteThing::Charger(id) => ("charger.delete", id),
        SiteThing::Connector(id) => ("connector.delete", id),
    };
    let removed = state.site.delete_site_thing(thing).await?;
    state.bookings.invalidate_station(removed.station_id).await;
    for cp in &removed.charge_point_ids {
        state.chargers.disconnect(cp).await;
    }
    let details = json!({ "stationId": removed.station_id,
        "chargePointIds": removed.charge_point_ids, "connectors": connectors.len() });
    state
        .audit_by(actor, action, &target.to_string(), details, "ACCEPTED")
        .await;
    Ok(removed)
}

fn removed_json(removed: Removed) -> axum::Json<serde_json::Value> {
    ok(RemovedJson {
        station_id: removed.station_id,
        charge_point_ids: removed.charge_point_ids,
    })
}
