//! The OCPP message journal for operators: what a charger said and was told,
//! read from the instance that holds it (`evgate_cluster::Chargers::journal`).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::ApiQuery;
use super::openapi::{ErrorEnvelope, envelope};

/// Frames one read returns unless asked for fewer.
const DEFAULT_LIMIT: usize = 100;
/// Frames one read returns at most (the download returns all).
const MAX_LIMIT: usize = 1_000;
/// Every frame a journal can hold, for the download.
const ALL: usize = usize::MAX;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(messages))
        .routes(routes!(download))
}

#[derive(Debug, serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct JournalQuery {
    /// Frames to return, 1 to 1000 (default 100).
    limit: Option<i64>,
    /// Only frames of this OCPP action (a call and its answer).
    action: Option<String>,
}

/// One OCPP frame as the journal shows it (built by `csms::journal`; this
/// type describes it for the document).
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct JournalFrame {
    at: String,
    /// `in` (from the charger) or `out` (to it).
    #[schema(example = "in")]
    direction: String,
    /// `CALL`, `CALLRESULT`, `CALLERROR` or `UNREADABLE`.
    #[schema(example = "CALL")]
    message_type: String,
    unique_id: String,
    /// The call's action (an answer's, from its call); `null` when unknown.
    #[schema(example = "BootNotification")]
    action: Option<String>,
    /// The frame's payload, passwords redacted; a CALLERROR's
    /// `{errorCode, errorDescription, errorDetails}`; an unreadable frame's
    /// text.
    #[schema(value_type = Object)]
    payload: Value,
    /// For an answer: milliseconds since its call.
    latency_ms: Option<f64>,
}

/// A charger's journal.
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Journal {
    charge_point_id: String,
    /// Newest first.
    messages: Vec<JournalFrame>,
}

envelope!(
    /// A charger's journal.
    JournalEnvelope,
    Journal
);

/// The charger's OCPP frames, newest first; 404 for an unknown charger, an
/// empty list for one this gateway has no journal of (never connected, or
/// journals off). Answered by the instance holding the charger.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/messages",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)"), JournalQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The frames", body = JournalEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn messages(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiQuery(query): ApiQuery<JournalQuery>,
) -> ApiResult<axum::Json<Value>> {
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::bad_request("limit", format!("must be 1 to {MAX_LIMIT}")))?,
    };
    let frames = read(&state, &charge_point_id, limit, query.action.as_deref()).await?;
    Ok(ok(
        json!({ "chargePointId": charge_point_id, "messages": frames }),
    ))
}

/// The whole journal as JSON Lines, oldest first, for a file.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/messages.jsonl",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One frame (as in `messages`) per line, oldest first", content_type = "application/x-ndjson", body = String),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn download(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    jsonl(&state, &charge_point_id).await
}

/// The whole journal as a JSON Lines download (the API's and the console's).
pub(crate) async fn jsonl(state: &AppState, charge_point_id: &str) -> ApiResult<Response> {
    let frames = read(state, charge_point_id, ALL, None).await?;
    let mut body = String::new();
    for frame in frames.as_array().into_iter().flatten().rev() {
        body.push_str(&frame.to_string());
        body.push('\n');
    }
    let file = format!(
        "attachment; filename=\"{}-messages.jsonl\"",
        charge_point_id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        body,
    )
        .into_response())
}

/// Newest first, at most `limit`, optionally of one action; 404 for an
/// unknown charger.
pub(crate) async fn read(
    state: &AppState,
    charge_point_id: &str,
    limit: usize,
    action: Option<&str>,
) -> ApiResult<Value> {
    if state
        .store
        .charger_by_identity(charge_point_id)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!(
            "charger {charge_point_id} not found"
        )));
    }
    let frames = state
        .chargers
        .journal(charge_point_id, limit, action)
        .await?;
    Ok(frames.unwrap_or_else(|| json!([])))
}
