//! The webhook inbox for operators (`/v1/admin/webhooks`): entries by
//! state and vendor, one entry, a dead one retried or discarded (audited).
//! Unreadable rows written by earlier builds are shown with their raw text.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use webhooks::{InboxRecord, InboxState, StoredReport};

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::{ApiQuery, UuidPath};
use super::openapi::{ErrorEnvelope, envelope, text_enum};
use booking::{catalog, iso};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_entries))
        .routes(routes!(get_entry, discard_entry))
        .routes(routes!(retry_entry))
}

pub(super) fn inbox_states() -> utoipa::openapi::Object {
    text_enum(InboxState::ALL.iter().map(|k| k.as_str()), false)
}

/// An inbox entry. `report` is what the vendor reported; for an entry
/// whose stored report this build cannot read (written by an earlier
/// build) it is `null`, `unreadable` is `true`, `rawReport` has the text
/// as stored and `readError` why it cannot be read.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct EntryJson {
    id: Uuid,
    vendor_id: Uuid,
    #[schema(schema_with = super::vendors::kinds)]
    kind: &'static str,
    #[schema(schema_with = inbox_states)]
    state: &'static str,
    attempts: i32,
    last_error: Option<String>,
    received_at: String,
    next_attempt_at: String,
    processed_at: Option<String>,
    idempotency_key: Option<String>,
    /// The report as read (connector resolved); `null` when unreadable.
    #[schema(value_type = Option<Object>)]
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

envelope!(
    /// An inbox entry.
    EntryEnvelope,
    EntryJson
);

/// A page of inbox entries.
#[derive(Debug, Serialize, ToSchema)]
struct EntryList {
    webhooks: Vec<EntryJson>,
    total: u64,
    limit: u32,
    offset: u64,
}

envelope!(
    /// A page of inbox entries.
    EntryListEnvelope,
    EntryList
);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EntriesQuery {
    /// Only entries in this state (any case).
    #[param(schema_with = inbox_states)]
    state: Option<String>,
    /// Entries per page, 1 to 200 (default 50).
    limit: Option<i64>,
    /// Entries to skip (default 0).
    offset: Option<i64>,
}

/// The webhook inbox, paged.
#[utoipa::path(
    get,
    path = "/v1/admin/webhooks",
    tag = "vendors",
    params(EntriesQuery),
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "A page of inbox entries", body = EntryListEnvelope)),
)]
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
    Ok(ok(EntryList {
        webhooks: entries,
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// One inbox entry.
#[utoipa::path(
    get,
    path = "/v1/admin/webhooks/{id}",
    tag = "vendors",
    params(("id" = Uuid, Path, description = "The entry's id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The entry", body = EntryEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such entry", body = ErrorEnvelope),
    ),
)]
async fn get_entry(
    State(state): State<AppState>,
    _admin: AdminUser,
    UuidPath(id): UuidPath,
) -> ApiResult<axum::Json<serde_json::Value>> {
    Ok(ok(EntryJson::from(&state.webhooks.entry(id).await?)))
}

/// Requeues a DEAD entry: 409 `INVALID_STATE` unless DEAD; 409
/// `WEBHOOK_UNREADABLE` when its stored report cannot be read (requeued, it
/// would only die again).
#[utoipa::path(
    post,
    path = "/v1/admin/webhooks/{id}/retry",
    tag = "vendors",
    params(("id" = Uuid, Path, description = "The entry's id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The entry, requeued", body = EntryEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such entry", body = ErrorEnvelope),
        (status = 409, description = "`INVALID_STATE`: not DEAD; `WEBHOOK_UNREADABLE`", body = ErrorEnvelope),
    ),
)]
async fn retry_entry(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
) -> ApiResult<axum::Json<serde_json::Value>> {
    Ok(ok(EntryJson::from(
        &retry(&state, admin.actor(), id).await?,
    )))
}

/// Requeues a dead entry for `actor` (the API's and the console's); audited.
pub(crate) async fn retry(
    state: &AppState,
    actor: String,
    id: uuid::Uuid,
) -> ApiResult<webhooks::InboxRecord> {
    let entry = state.webhooks.retry(id).await?;
    let details = serde_json::json!({ "vendorId": entry.vendor_id, "kind": entry.kind.as_str() });
    state
        .audit_by(actor, "webhook.retry", &id.to_string(), details, "REQUEUED")
        .await;
    Ok(entry)
}

/// Removes a DEAD entry for good (409 `INVALID_STATE` otherwise) and answers
/// with it as it was; the audit log keeps it too (`webhook.discard`, with
/// the stored report).
#[utoipa::path(
    delete,
    path = "/v1/admin/webhooks/{id}",
    tag = "vendors",
    params(("id" = Uuid, Path, description = "The entry's id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The entry as it was", body = EntryEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such entry", body = ErrorEnvelope),
        (status = 409, description = "`INVALID_STATE`: not DEAD", body = ErrorEnvelope),
    ),
)]
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
