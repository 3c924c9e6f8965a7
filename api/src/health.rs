//! Liveness and readiness, for load balancers and orchestrators. No auth.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use booking::iso;
use serde_json::json;
use webhooks::ApplierHealth;

use super::AppState;
use super::error::ok;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

/// The process is up and serving.
async fn health() -> axum::Json<serde_json::Value> {
    ok(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// Ready for traffic: the store answers, and this instance's webhook
/// applier works. With Redis, its state is shown: `degraded` while it is
/// down (holds and reads work from PostgreSQL, so the instance stays in the
/// balancer with 200). 503 when a check fails, so a balancer drains this
/// instance: the error envelope with `check` naming it (`store`,
/// `sharedState`, `webhookApplier`) and a message saying what is wrong (the
/// detail is logged, not shown).
async fn ready(State(state): State<AppState>) -> Response {
    if let Err(e) = state.store.ping().await {
        return not_ready("store", "the store does not answer", &e);
    }
    let shared = match &state.shared {
        Some(redis) if redis.probe().await => "ok",
        Some(_) => "degraded",
        None => {
            if let Err(e) = state.bookings.shared_state_ok().await {
                return not_ready("sharedState", "the shared state does not answer", &e);
            }
            "ok"
        }
    };
    let message = match state.webhooks.applier_health().await {
        Ok(ApplierHealth::Ok) => None,
        Ok(ApplierHealth::Failing { since, error }) => Some((
            format!("the webhook applier's rounds fail (since {})", iso(since)),
            error,
        )),
        Ok(ApplierHealth::Stalled {
            last_round,
            due_since,
        }) => Some((
            format!(
                "the webhook applier completed no round {} although webhooks are due since {}",
                last_round.map_or_else(
                    || "since this instance started".to_owned(),
                    |t| format!("since {}", iso(t))
                ),
                iso(due_since),
            ),
            "stalled".to_owned(),
        )),
        Err(e) => Some((
            "the webhook applier cannot read the inbox".to_owned(),
            e.to_string(),
        )),
    };
    if let Some((message, detail)) = message {
        return not_ready("webhookApplier", &message, &detail);
    }
    let status = if shared == "ok" { "ready" } else { "degraded" };
    ok(json!({
        "status": status,
        "store": "ok",
        "sharedState": shared,
        "webhookApplier": "ok",
    }))
    .into_response()
}

/// 503 `SERVICE_UNAVAILABLE`, naming the failed check.
fn not_ready(check: &str, message: &str, detail: &dyn std::fmt::Display) -> Response {
    tracing::warn!(ready.check = check, error.detail = %detail, "not ready: {message}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(json!({
            "success": false,
            "error": {
                "code": "SERVICE_UNAVAILABLE",
                "message": format!("not ready: {message}"),
                "check": check,
            },
        })),
    )
        .into_response()
}
