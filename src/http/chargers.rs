//! `POST /v1/admin/chargers/{chargePointId}/commands`: an operator sends an
//! OCPP command to a connected charger and gets its answer.
//! `PUT /v1/admin/chargers/{chargePointId}/admission`: admit a charger or
//! hold it back (how its boot is answered), told at once if it is connected.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{post, put};
use booking::model::ChargerAdmission;
use csms::commands::CommandError;
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::ApiJson;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/chargers/{id}/commands", post(send_command))
        .route("/v1/admin/chargers/{id}/admission", put(set_admission))
}

#[derive(Debug, Deserialize)]
struct Command {
    action: String,
    #[serde(default = "empty_object")]
    payload: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

async fn send_command(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(charge_point_id): Path<String>,
    ApiJson(body): ApiJson<Command>,
) -> ApiResult<axum::Json<Value>> {
    if state
        .store
        .charger_by_identity(&charge_point_id)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!(
            "charger {charge_point_id} not found"
        )));
    }
    let answer = state
        .chargers
        .command(&charge_point_id, &body.action, body.payload)
        .await;
    tracing::info!(admin.sub = admin.user_id, charger.id = %charge_point_id,
        ocpp.action = %body.action, ok = answer.is_ok(), "operator command");
    match answer {
        Ok(payload) => Ok(ok(
            serde_json::json!({ "action": body.action, "response": payload }),
        )),
        Err(CommandError::Invalid(m)) => Err(ApiError::bad_request("payload", m)),
        Err(e @ (CommandError::Offline | CommandError::Busy)) => {
            Err(ApiError::Conflict("CHARGER_OFFLINE", e.to_string()))
        }
        Err(e @ CommandError::Timeout) => Err(ApiError::GatewayTimeout(e.to_string())),
        Err(e @ (CommandError::Charger(_) | CommandError::Relayed(_))) => {
            Err(ApiError::BadGateway(e.to_string()))
        }
    }
}

#[derive(Debug, Deserialize)]
struct AdmissionBody {
    /// `accepted`, `pending`, `rejected`, or `null` for the default policy.
    status: Option<String>,
}

/// Records the decision; a connected charger is asked to boot again
/// (TriggerMessage BootNotification), so the new answer reaches it now.
async fn set_admission(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(charge_point_id): Path<String>,
    ApiJson(body): ApiJson<AdmissionBody>,
) -> ApiResult<axum::Json<Value>> {
    let admission = body
        .status
        .map(|s| {
            s.to_ascii_uppercase()
                .parse::<ChargerAdmission>()
                .map_err(|_| {
                    ApiError::bad_request(
                        "status",
                        "status must be accepted, pending, rejected or null",
                    )
                })
        })
        .transpose()?;
    let charger = state
        .store
        .set_charger_admission(&charge_point_id, admission)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("charger {charge_point_id} not found")))?;
    let trigger = serde_json::json!({ "requestedMessage": "BootNotification" });
    let boot_triggered = state
        .chargers
        .command(&charge_point_id, "TriggerMessage", trigger)
        .await
        .is_ok_and(|answer| answer["status"] == "Accepted");
    tracing::info!(admin.sub = admin.user_id, charger.id = %charge_point_id,
        admission = ?admission, boot_triggered, "charger admission set");
    Ok(ok(serde_json::json!({
        "chargePointId": charger.charge_point_id,
        "admission": charger.admission,
        "bootTriggered": boot_triggered,
    })))
}
