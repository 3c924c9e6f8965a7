//! Vendor clouds: their signed webhooks (`/v1/vendor/webhooks/*`), and what
//! operators do with vendors and the webhook inbox (`/v1/admin/…`). The
//! logic lives in the `webhooks` crate; this is its HTTP edge.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use booking::catalog;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webhooks::{InboxRecord, InboxState, Kind, SignedRequest, StoredReport, Vendor};

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, created, ok};
use super::extract::{ApiJson, ApiQuery, PageQuery, RawBody, UuidPath};
use super::stations::ConnectorJson;
use booking::iso;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/vendor/webhooks/{kind}", post(receive))
        .route("/v1/admin/vendors", get(list_vendors).post(create_vendor))
        .route("/v1/admin/vendors/{id}/rotate-secret", post(rotate_secret))
        .route("/v1/admin/connectors/{id}/vendor", put(assign_connector))
        .route("/v1/admin/webhooks", get(list_entries))
        .route(
            "/v1/admin/webhooks/{id}",
            get(get_entry).delete(discard_entry),
        )
        .route("/v1/admin/webhooks/{id}/retry", post(retry_entry))
}

/// 202 once the report is durable in the inbox; the worker applies it.
async fn receive(
    State(state): State<AppState>,
    Path(kind): Path<String>,
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
        ok(serde_json::json!({
            "id": entry.id,
            "state": entry.state.as_str(),
            "duplicate": !new,
        })),
    ))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VendorJson {
    id: Uuid,
    name: String,
    created_at: String,
    /// While a rotation's overlap lasts, the old secret works until then.
    previous_secret_expires_at: Option<String>,
    /// Shown when created or rotated only.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

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

#[derive(Debug, Deserialize)]
struct CreateVendor {
    name: String,
}

async fn create_vendor(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<CreateVendor>,
) -> ApiResult<(StatusCode, axum::Json<serde_json::Value>)> {
    let vendor = state.webhooks.create_vendor(&body.name).await?;
    Ok(created(VendorJson::of(&vendor, true)))
}

async fn list_vendors(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let page = catalog::page(q.limit, q.offset)?;
    let (vendors, total) = state.webhooks.vendors(page).await?;
    let vendors: Vec<_> = vendors.iter().map(|v| VendorJson::of(v, false)).collect();
    Ok(ok(serde_json::json!({
        "vendors": vendors, "total": total, "limit": page.limit, "offset": page.offset,
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Rotate {
    previous_secret_valid_seconds: Option<i64>,
}

/// The body is optional: `{}` or none keeps the old secret valid for a day.
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignVendor {
    /// `null` hands the connector back to OCPP.
    vendor_id: Option<Uuid>,
    vendor_connector_id: Option<String>,
}

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
    Ok(ok(serde_json::json!({
        "connector": ConnectorJson::from(&connector),
        "vendorId": connector.vendor_id,
    })))
}

/// An inbox entry. `report` is what the vendor reported; for an entry
/// whose stored report this build cannot read (written by an earlier
/// build) it is `null`, `unreadable` is `true`, `rawReport` has the text
/// as stored and `readError` why it cannot be read.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryJson {
    id: Uuid,
    vendor_id: Uuid,
    kind: &'static str,
    state: &'static str,
    attempts: i32,
    last_error: Option<String>,
    received_at: String,
    next_attempt_at: String,
    processed_at: Option<String>,
    idempotency_key: Option<String>,
    report: serde_json::Value,
    unreadable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_report: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    read_error: Option<String>,
}

impl From<&InboxRecord> for EntryJson {
    fn from(e: &InboxRecord) -> Self {
        let (report, raw_report, read_error) = match &e.report {
            StoredReport::Readable(r) => (r.to_value(), None, None),
            StoredReport::Unreadable { payload, error } => (
                serde_json::Value::Null,
                Some(payload.clone()),
                Some(error.clone()),
            ),
        };
        Self {
            id: e.id,
            vendor_id: e.vendor_id,
            kind: e.kind.as_str(),
            state: e.state.as_str(),
            attempts: e.attempts,
            last_error: e.last_error.clone(),
            received_at: iso(e.received_at),
            next_attempt_at: iso(e.next_attempt_at),
            processed_at: e.processed_at.map(iso),
            idempotency_key: e.idempotency_key.clone(),
            unreadable: raw_report.is_some(),
            report,
            raw_report,
            read_error,
        }
    }
}

#[derive(Debug, Deserialize)]
struct EntriesQuery {
    state: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn list_entries(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let page = catalog::page(q.limit, q.offset)?;
    let wanted = match q.state.as_deref() {
        None => None,
        Some(s) => Some(InboxState::parse(s).ok_or_else(|| {
            ApiError::bad_request("state", "state must be pending, waiting, done or dead")
        })?),
    };
    let (entries, total) = state.webhooks.entries(wanted, page).await?;
    let entries: Vec<EntryJson> = entries.iter().map(EntryJson::from).collect();
    Ok(ok(serde_json::json!({
        "webhooks": entries, "total": total, "limit": page.limit, "offset": page.offset,
    })))
}

async fn get_entry(
    State(state): State<AppState>,
    _admin: AdminUser,
    UuidPath(id): UuidPath,
) -> ApiResult<axum::Json<serde_json::Value>> {
    Ok(ok(EntryJson::from(&state.webhooks.entry(id).await?)))
}

/// 409 `INVALID_STATE` unless DEAD; 409 `WEBHOOK_UNREADABLE` when its stored
/// report cannot be read (requeued, it would only die again).
async fn retry_entry(
    State(state): State<AppState>,
    _admin: AdminUser,
    UuidPath(id): UuidPath,
) -> ApiResult<axum::Json<serde_json::Value>> {
    Ok(ok(EntryJson::from(&state.webhooks.retry(id).await?)))
}

/// Removes a DEAD entry for good (409 `INVALID_STATE` otherwise) and answers
/// with it as it was; the audit log keeps it too (`webhook.discard`, with
/// the stored report).
async fn discard_entry(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let entry = EntryJson::from(&state.webhooks.discard(id).await?);
    let details = serde_json::json!({
        "vendorId": entry.vendor_id,
        "kind": entry.kind,
        "lastError": entry.last_error,
        "receivedAt": entry.received_at,
        "report": entry.report,
        "rawReport": entry.raw_report,
    });
    state
        .audit(
            &admin,
            "webhook.discard",
            &id.to_string(),
            details,
            "DISCARDED",
        )
        .await;
    Ok(ok(entry))
}
