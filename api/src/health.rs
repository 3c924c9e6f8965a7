//! Liveness and readiness, for load balancers and orchestrators. No auth.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use booking::iso;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use webhooks::ApplierHealth;

use super::AppState;
use super::error::ok;
use super::openapi::{ErrorEnvelope, envelope};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// The process is up.
#[derive(Debug, Serialize, ToSchema)]
struct Health {
    /// `ok`.
    #[schema(example = "ok")]
    status: &'static str,
    /// evgate's version.
    #[schema(example = "0.1.0")]
    version: &'static str,
}

envelope!(
    /// The process is up.
    HealthEnvelope,
    Health
);

/// The process is up and serving.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses((status = 200, description = "Up", body = HealthEnvelope)),
)]
async fn health() -> axum::Json<serde_json::Value> {
    ok(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Ready for traffic.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Ready {
    /// `ready`, or `degraded` while Redis is down (served from PostgreSQL).
    #[schema(example = "ready")]
    status: &'static str,
    /// `ok`.
    store: &'static str,
    /// `ok`, or `degraded` while Redis is down.
    shared_state: &'static str,
    /// `ok`.
    webhook_applier: &'static str,
}

envelope!(
    /// Ready for traffic.
    ReadyEnvelope,
    Ready
);

/// Ready for traffic: the store answers, and this instance's webhook
/// applier works. With Redis, its state is shown: `degraded` while it is
/// down (holds and reads work from PostgreSQL, so the instance stays in the
/// balancer with 200). 503 when a check fails, so a balancer drains this
/// instance: the error envelope with `check` naming it (`store`,
/// `sharedState`, `webhookApplier`) and a message saying what is wrong (the
/// detail is logged, not shown).
#[utoipa::path(
    get,
    path = "/ready",
    tag = "health",
    responses(
        (status = 200, description = "Ready (or degraded: still serving)", body = ReadyEnvelope),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: a check failed; `error.check` names it (`store`, `sharedState`, `webhookApplier`)", body = ErrorEnvelope),
    ),
)]
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
    ok(Ready {
        status,
        store: "ok",
        shared_state: shared,
        webhook_applier: "ok",
    })
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
