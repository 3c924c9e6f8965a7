//! Liveness and readiness, for load balancers and orchestrators. No auth.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::json;

use super::AppState;
use super::error::{ApiError, ApiResult, ok};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

/// The process is up and serving.
async fn health() -> axum::Json<serde_json::Value> {
    ok(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// Ready for traffic: the store answers. With Redis, its state is shown:
/// `degraded` while it is down (holds and reads work from PostgreSQL, so the
/// instance stays in the balancer with 200). 503 when the store fails, so
/// a balancer drains this instance.
async fn ready(State(state): State<AppState>) -> ApiResult<axum::Json<serde_json::Value>> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(format!("store: {e}")))?;
    let shared = match &state.shared {
        Some(redis) if redis.probe().await => "ok",
        Some(_) => "degraded",
        None => {
            state
                .bookings
                .shared_state_ok()
                .await
                .map_err(|e| ApiError::Unavailable(format!("shared state: {e}")))?;
            "ok"
        }
    };
    let status = if shared == "ok" { "ready" } else { "degraded" };
    Ok(ok(
        json!({ "status": status, "store": "ok", "sharedState": shared }),
    ))
}
