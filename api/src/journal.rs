//! The OCPP message journal for operators: what a charger said and was told,
//! read from the instance that holds it (`evgate_cluster::Chargers::journal`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::ApiQuery;

/// Frames one read returns unless asked for fewer.
const DEFAULT_LIMIT: usize = 100;
/// Frames one read returns at most (the download returns all).
const MAX_LIMIT: usize = 1_000;
/// Every frame a journal can hold, for the download.
const ALL: usize = usize::MAX;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/chargers/{id}/messages", get(messages))
        .route("/v1/admin/chargers/{id}/messages.jsonl", get(download))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalQuery {
    limit: Option<i64>,
    action: Option<String>,
}

/// The charger's frames, newest first; 404 for an unknown charger, an empty
/// list for one this gateway has no journal of (never connected, or
/// journals off).
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
async fn download(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let frames = read(&state, &charge_point_id, ALL, None).await?;
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
    ))
}

async fn read(
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
