//! Vendor clouds: their signed webhooks (`/v1/vendor/webhooks/*`), and what
//! operators do with vendors (`/v1/admin/vendors`, connector assignment);
//! the inbox the webhooks land in is `webhook_inbox`. The logic lives in
//! the `webhooks` crate; this is its HTTP edge.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use booking::catalog;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use webhooks::{Kind, SignedRequest, Vendor};

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, created, ok};
use super::extract::{ApiJson, ApiQuery, PageQuery, RawBody, UuidPath};
use super::openapi::{ErrorEnvelope, envelope, text_enum};
use super::stations::ConnectorJson;
use booking::iso;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive))
        .routes(routes!(list_vendors, create_vendor))
        .routes(routes!(rotate_secret))
        .routes(routes!(assign_connector))
}

pub(super) fn kinds() -> utoipa::openapi::Object {
    text_enum(Kind::ALL.iter().map(|k| k.as_str()), false)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct KindPath {
    /// Which report.
    #[param(schema_with = kinds)]
    kind: String,
}

/// The signature headers, as the document shows them (the `webhooks` crate
/// checks them).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct SignatureHeaders {
    /// The vendor's id.
    #[serde(rename = "X-Evgate-Vendor")]
    vendor: String,
    /// Unix seconds when signed; at most 300 s from the server's clock.
    #[serde(rename = "X-Evgate-Timestamp")]
    #[param(example = "1714557600")]
    timestamp: String,
    /// `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the vendor's secret>`.
    #[serde(rename = "X-Evgate-Signature")]
    signature: String,
    /// Optional: a redelivery with the same key (and body) is the same report;
    /// the key with a different body is 409 `IDEMPOTENCY_KEY_REUSED`.
    #[serde(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}

/// `connector-status`: a connector's status changed. Names its connector by
/// `connectorId` or `vendorConnectorId` (or both, agreeing). These body types
/// describe what `webhooks::report` reads, for the document.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct ConnectorStatusBody {
    /// Optional check: the station of the connector.
    station_id: Option<Uuid>,
    /// evgate's connector id.
    connector_id: Option<Uuid>,
    /// The vendor's connector id.
    vendor_connector_id: Option<String>,
    /// A connector status of the seed's vocabulary, any case.
    #[schema(example = "AVAILABLE")]
    status: String,
    /// When it happened (default: the signing time; at most 5 minutes ahead).
    timestamp: Option<chrono::DateTime<chrono::Utc>>,
    /// Vendor extras; ignored.
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Value>,
}

/// `session-start`: charging began on a connector.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SessionStartBody {
    /// The vendor's session id (1 to 255 characters).
    vendor_session_id: String,
    station_id: Option<Uuid>,
    connector_id: Option<Uuid>,
    vendor_connector_id: Option<String>,
    /// kWh on the meter.
    start_meter_reading: Option<f64>,
    /// The booking this session fulfils (on the same connector); it becomes ACTIVE.
    booking_id: Option<Uuid>,
    id_tag: Option<String>,
    timestamp: Option<chrono::DateTime<chrono::Utc>>,
}

/// `meter-update`: a meter reading during a session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct MeterUpdateBody {
    vendor_session_id: String,
    /// kWh on the meter, 0 to 1e9.
    meter_reading: f64,
    timestamp: Option<chrono::DateTime<chrono::Utc>>,
}

/// `session-end`: charging ended; the booking becomes COMPLETED.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SessionEndBody {
    vendor_session_id: String,
    end_meter_reading: Option<f64>,
    /// Energy delivered, kWh (default: from the meter readings).
    energy_kwh: Option<f64>,
    /// What it cost, 0 to 1e9, in the vendor's currency.
    cost_amount: Option<f64>,
    reason: Option<String>,
    timestamp: Option<chrono::DateTime<chrono::Utc>>,
}

/// One of the four reports, as the path's `kind` says.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum WebhookBody {
    ConnectorStatus(ConnectorStatusBody),
    SessionStart(SessionStartBody),
    MeterUpdate(MeterUpdateBody),
    SessionEnd(SessionEndBody),
}

/// A report in the inbox.
#[derive(Debug, Serialize, ToSchema)]
struct Accepted {
    /// The inbox entry (`GET /v1/admin/webhooks/{id}`).
    id: Uuid,
    /// The entry's state.
    #[schema(schema_with = super::webhook_inbox::inbox_states)]
    state: &'static str,
    /// The same delivery (or `Idempotency-Key`) was accepted before: this is
    /// that entry, not stored again.
    duplicate: bool,
}

envelope!(
    /// A report in the inbox.
    AcceptedEnvelope,
    Accepted
);

/// A vendor cloud's signed report: 202 once it is durable in the inbox; a
/// worker applies it.
#[utoipa::path(
    post,
    path = "/v1/vendor/webhooks/{kind}",
    tag = "vendors",
    params(KindPath, SignatureHeaders),
    request_body(content = WebhookBody, description = "The report; its type follows the path's `kind`."),
    security(("vendorId" = [], "vendorTimestamp" = [], "vendorSignature" = [])),
    responses(
        (status = 202, description = "Accepted into the inbox (or the earlier entry of the same delivery)", body = AcceptedEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed body or field (`error.field` names it)", body = ErrorEnvelope),
        (status = 401, description = "`UNAUTHORIZED`: a missing or wrong signature, an unknown vendor, or a timestamp more than 300 s away", body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN`: another vendor's connector", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such webhook kind, connector or booking", body = ErrorEnvelope),
        (status = 409, description = "`IDEMPOTENCY_KEY_REUSED`: the key came with a different body", body = ErrorEnvelope),
        (status = 429, description = "`RATE_LIMITED`: per source address or per vendor", body = ErrorEnvelope),
    ),
)]
async fn receive(
    State(state): State<AppState>,
    Path(KindPath { kind }): Path<KindPath>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, axum::Json<serde_json::Value>)> {
    let kind = Kind::parse(&kind)
        .ok_or_else(|| ApiError::NotFound(format!("no vendor webhook named {kind:?}")))?;
    super::extract::json_content_type(&headers)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (entry, new) = state
        .webhooks
        .accept(
            kind,
            SignedRequest {
                vendor: header("x-evgate-vendor"),
                timestamp: header("x-evgate-timestamp"),
                signature: header("x-evgate-signature"),
                idempotency_key: header("idempotency-key"),
                body: &body,
            },
        )
        .await
        .inspect_err(|e| {
            if matches!(e, webhooks::WebhookError::RateLimited(_)) {
                crate::metrics::rate_limited("vendor");
            }
        })?;
    Ok((
        StatusCode::ACCEPTED,
        ok(Accepted {
            id: entry.id,
            state: entry.state.as_str(),
            duplicate: !new,
        }),
    ))
}

/// A vendor cloud.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct VendorJson {
    id: Uuid,
    #[schema(example = "ChargeCloud")]
    name: String,
    created_at: String,
    /// While a rotation's overlap lasts, the old secret works until then.
    previous_secret_expires_at: Option<String>,
    /// The signing secret: shown when created or rotated only.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

envelope!(
    /// A vendor.
    VendorEnvelope,
    VendorJson
);

/// A page of vendors.
#[derive(Debug, Serialize, ToSchema)]
struct VendorList {
    vendors: Vec<VendorJson>,
    total: u64,
    limit: u32,
    offset: u64,
}

envelope!(
    /// A page of vendors.
    VendorListEnvelope,
    VendorList
);

impl VendorJson {
    fn of(v: &Vendor, with_secret: bool) -> Self {
        Self {
            id: v.id,
            name: v.name.clone(),
            created_at: iso(v.created_at),
            previous_secret_expires_at: v.previous_secret_expires_at.map(iso),
            secret: with_secret.then(|| v.secret.clone()),
        }
    }
}

/// A new vendor.
#[derive(Debug, Deserialize, ToSchema)]
struct CreateVendor {
    #[schema(example = "ChargeCloud")]
    name: String,
}

/// Creates a vendor account; the answer shows its signing secret, once.
#[utoipa::path(
    post,
    path = "/v1/admin/vendors",
    tag = "vendors",
    request_body = CreateVendor,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The vendor, with its secret", body = VendorEnvelope),
        (status = 409, description = "`CONFLICT`: the name is taken", body = ErrorEnvelope),
    ),
)]
async fn create_vendor(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<CreateVendor>,
) -> ApiResult<(StatusCode, axum::Json<serde_json::Value>)> {
    let vendor = state.webhooks.create_vendor(&body.name).await?;
    Ok(created(VendorJson::of(&vendor, true)))
}

/// Vendors, paged (secrets not shown).
#[utoipa::path(
    get,
    path = "/v1/admin/vendors",
    tag = "vendors",
    params(PageQuery),
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "A page of vendors", body = VendorListEnvelope)),
)]
async fn list_vendors(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let page = catalog::page(q.limit, q.offset)?;
    let (vendors, total) = state.webhooks.vendors(page).await?;
    let vendors: Vec<_> = vendors.iter().map(|v| VendorJson::of(v, false)).collect();
    Ok(ok(VendorList {
        vendors,
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// How long the old secret keeps working.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Rotate {
    /// Seconds, at most a week (default a day; 0 ends it at once).
    #[schema(example = 86400)]
    previous_secret_valid_seconds: Option<i64>,
}

/// Gives a vendor a new signing secret. The body is optional: `{}` or none
/// keeps the old secret valid for a day.
#[utoipa::path(
    post,
    path = "/v1/admin/vendors/{id}/rotate-secret",
    tag = "vendors",
    params(("id" = Uuid, Path, description = "The vendor's id")),
    request_body(content = Option<Rotate>, description = "Optional."),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The vendor, with its new secret", body = VendorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such vendor", body = ErrorEnvelope),
    ),
)]
async fn rotate_secret(
    State(state): State<AppState>,
    _admin: AdminUser,
    UuidPath(id): UuidPath,
    RawBody(body): RawBody,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let rotate: Rotate = if body.iter().all(u8::is_ascii_whitespace) {
        Rotate::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
            field: None,
            message: format!("malformed body: {e}"),
        })?
    };
    let vendor = state
        .webhooks
        .rotate_secret(id, rotate.previous_secret_valid_seconds)
        .await?;
    Ok(ok(VendorJson::of(&vendor, true)))
}

/// Who manages a connector.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AssignVendor {
    /// `null` hands the connector back to OCPP.
    vendor_id: Option<Uuid>,
    /// The vendor's own id for it (required with a `vendorId`).
    vendor_connector_id: Option<String>,
}

/// A connector and the vendor managing it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AssignedJson {
    connector: ConnectorJson,
    /// `null`: managed over OCPP.
    vendor_id: Option<Uuid>,
}

envelope!(
    /// A connector and the vendor managing it.
    AssignedEnvelope,
    AssignedJson
);

/// Hands a connector to a vendor cloud (its webhooks report it), or back to
/// OCPP.
#[utoipa::path(
    put,
    path = "/v1/admin/connectors/{id}/vendor",
    tag = "vendors",
    params(("id" = Uuid, Path, description = "The connector's id")),
    request_body = AssignVendor,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The connector", body = AssignedEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such connector or vendor", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: the vendor connector id is taken", body = ErrorEnvelope),
    ),
)]
async fn assign_connector(
    State(state): State<AppState>,
    _admin: AdminUser,
    UuidPath(connector_id): UuidPath,
    ApiJson(body): ApiJson<AssignVendor>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let vendor = match (body.vendor_id, body.vendor_connector_id.as_deref()) {
        (Some(v), Some(c)) => Some((v, c)),
        (Some(_), None) => {
            return Err(ApiError::bad_request(
                "vendorConnectorId",
                "vendorConnectorId is required with a vendorId",
            ));
        }
        (None, _) => None,
    };
    let connector = state
        .webhooks
        .assign_connector(connector_id, vendor)
        .await?;
    Ok(ok(AssignedJson {
        connector: ConnectorJson::from(&connector),
        vendor_id: connector.vendor_id,
    }))
}
