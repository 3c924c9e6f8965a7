//! Liveness and readiness, for load balancers and orchestrators. No auth.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::json;

use super::AppState;
use super::error::{ApiError, ApiResult, ok};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

/// The process is up and serving.
async fn health() -> axum::Json<serde_json::Value> {
    ok(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// Ready for traffic: the store answers, and so does the state instances
/// share (Redis, when configured). 503 otherwise, so a balancer drains
/// this instance.
async fn ready(State(state): State<AppState>) -> ApiResult<axum::Json<serde_json::Value>> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(format!("store: {e}")))?;
    state
        .bookings
        .shared_state_ok()
        .await
        .map_err(|e| ApiError::Unavailable(format!("shared state: {e}")))?;
    Ok(ok(
        json!({ "status": "ready", "store": "ok", "sharedState": "ok" }),
    ))
}
