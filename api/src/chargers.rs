//! Operator controls over one charger, each audited:
//! `POST /v1/admin/chargers/{chargePointId}/commands` sends an OCPP command
//! to a connected charger and returns its answer;
//! `PUT …/admission` admits a charger or holds it back (how its boot is
//! answered), told at once if it is connected;
//! `PUT …/credentials` rotates its password and/or security profile.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{post, put};
use booking::iso;
use booking::model::{ChargerAdmission, SecurityProfile};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::ApiJson;
use evgate_operator::{CredentialChange, Rotation};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/chargers/{id}/commands", post(send_command))
        .route("/v1/admin/chargers/{id}/admission", put(set_admission))
        .route(
            "/v1/admin/chargers/{id}/credentials",
            put(rotate_credentials),
        )
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
    admin: AdminUser,
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
        .command(&charge_point_id, &body.action, body.payload.clone())
        .await;
    tracing::info!(admin.sub = admin.0.user_id, charger.id = %charge_point_id,
        ocpp.action = %body.action, ok = answer.is_ok(), "operator command");
    let (outcome, error) = match &answer {
        Ok(_) => ("ANSWERED", None),
        Err(e) => ("FAILED", Some(e.to_string())),
    };
    // A command may carry a password (AuthorizationKey, BasicAuthPassword):
    // the audit log keeps it redacted, as the journal does.
    let mut payload = body.payload;
    csms::journal::scrub(&mut payload);
    let details = json!({ "action": body.action, "payload": payload, "error": error });
    state
        .audit(
            &admin,
            "charger.command",
            &charge_point_id,
            details,
            outcome,
        )
        .await;
    let payload = answer?;
    Ok(ok(json!({ "action": body.action, "response": payload })))
}

/// Unknown fields are refused: a misspelt `status` must not silently reset
/// the charger to the default policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdmissionBody {
    /// `accepted`, `pending`, `rejected`, or `null` for the default policy.
    status: Option<String>,
}

/// Records the decision and answers at once; a connected charger (here or
/// on another instance) is asked to boot again (TriggerMessage
/// BootNotification), so the new answer reaches it now — `bootTriggered`
/// says whether it was asked; its answer is logged, not awaited.
async fn set_admission(
    State(state): State<AppState>,
    admin: AdminUser,
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
    // The charger is asked to boot again, and the operator is answered at
    // once: its answer (up to the call timeout away) is only logged.
    let boot_triggered = state.chargers.is_connected(&charge_point_id).await;
    if boot_triggered {
        let chargers = state.chargers.clone();
        let cp = charge_point_id.clone();
        tokio::spawn(async move {
            let trigger = json!({ "requestedMessage": "BootNotification" });
            let answer = chargers.command(&cp, "TriggerMessage", trigger).await;
            tracing::info!(charger.id = %cp, answer = ?answer,
                "the charger answered the boot trigger of an admission change");
        });
    }
    tracing::info!(admin.sub = admin.0.user_id, charger.id = %charge_point_id,
        admission = ?admission, boot_triggered, "charger admission set");
    let details = json!({ "admission": admission, "bootTriggered": boot_triggered });
    state
        .audit(
            &admin,
            "charger.admission",
            &charge_point_id,
            details,
            "ACCEPTED",
        )
        .await;
    Ok(ok(json!({
        "chargePointId": charger.charge_point_id,
        "admission": charger.admission,
        "bootTriggered": boot_triggered,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsBody {
    password: Option<String>,
    security_profile: Option<u8>,
}

/// 200 when the charger answered (409 `CHARGER_REJECTED` when it refused
/// all of it: nothing changed), 202 when it is away and the change waits
/// for its next connection.
async fn rotate_credentials(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiJson(body): ApiJson<CredentialsBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let security_profile = body
        .security_profile
        .map(SecurityProfile::try_from)
        .transpose()
        .map_err(|e| ApiError::bad_request("securityProfile", e))?;
    let change = CredentialChange {
        password: body.password,
        security_profile,
    };
    let rotation = state
        .rotation
        .rotate(&admin.actor(), &charge_point_id, change)
        .await?;
    tracing::info!(admin.sub = admin.0.user_id, charger.id = %charge_point_id,
        outcome = rotation.outcome(), "charger credentials rotation");
    match rotation {
        Rotation::Pending { charger } => Ok((
            StatusCode::ACCEPTED,
            ok(json!({
                "chargePointId": charger.charge_point_id,
                "outcome": "PENDING",
                "securityProfile": charger.security_profile,
            })),
        )),
        Rotation::Answered { .. } if rotation.outcome() == "REJECTED" => Err(ApiError::Conflict(
            "CHARGER_REJECTED",
            "the charger rejected the change; its credentials are unchanged".into(),
        )),
        Rotation::Answered {
            ref charger,
            password,
            security_profile,
        } => Ok((
            StatusCode::OK,
            ok(json!({
                "chargePointId": charger.charge_point_id,
                "outcome": rotation.outcome(),
                "password": password,
                "securityProfileChange": security_profile,
                "securityProfile": charger.security_profile,
                "previousCredentialsValidUntil":
                    charger.previous_credentials.as_ref().map(|p| iso(p.until)),
            })),
        )),
    }
}
