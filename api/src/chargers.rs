//! Operator controls over one charger, each audited:
//! `POST /v1/admin/chargers/{chargePointId}/commands` sends an OCPP command
//! to a connected charger and returns its answer;
//! `PUT …/admission` admits a charger or holds it back (how its boot is
//! answered), told at once if it is connected;
//! `PUT …/credentials` rotates its password and/or security profile.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use booking::iso;
use booking::model::{ChargerAdmission, SecurityProfile};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::ApiJson;
use super::openapi::{ErrorEnvelope, envelope};
use evgate_operator::credentials::Answer;
use evgate_operator::{CredentialChange, Rotation};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_command))
        .routes(routes!(set_admission))
        .routes(routes!(rotate_credentials))
}

/// An OCPP command for the charger.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"action": "TriggerMessage", "payload": {"requestedMessage": "StatusNotification"}}))]
struct Command {
    /// The OCPP action, in the version the charger speaks.
    action: String,
    /// The request payload (default `{}`).
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    payload: Value,
}

/// The charger's answer to a command.
#[derive(Debug, Serialize, ToSchema)]
struct CommandAnswer {
    action: String,
    /// The charger's CALLRESULT payload.
    #[schema(value_type = Object)]
    response: Value,
}

envelope!(
    /// The charger's answer.
    CommandEnvelope,
    CommandAnswer
);

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Sends an OCPP command to a connected charger (here or, in a cluster, on
/// the instance holding it) and answers with its reply; audited.
#[utoipa::path(
    post,
    path = "/v1/admin/chargers/{id}/commands",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    request_body = Command,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered", body = CommandEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: an unknown action or a payload its schema refuses (`field`: `payload`)", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_OFFLINE`: not connected, or busy with another call", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: the charger answered with a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
async fn send_command(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiJson(body): ApiJson<Command>,
) -> ApiResult<axum::Json<Value>> {
    let response = command(
        &state,
        admin.actor(),
        &charge_point_id,
        &body.action,
        body.payload,
    )
    .await?;
    Ok(ok(CommandAnswer {
        action: body.action,
        response,
    }))
}

/// Sends `action` to the charger for `actor` (an admin's token or an
/// operator in the console) and returns its answer; audited either way.
pub(crate) async fn command(
    state: &AppState,
    actor: String,
    charge_point_id: &str,
    action: &str,
    payload: Value,
) -> ApiResult<Value> {
    state.charger(charge_point_id).await?;
    if csms::credentials::changes_credentials(action, &payload) {
        return Err(ApiError::bad_request(
            "action",
            format!(
                "this {action} would change the charger's credentials and not evgate's: use PUT \
                 /v1/admin/chargers/{charge_point_id}/credentials (the same checks, grace and \
                 audit), or …/stored-password when the charger already has a new password"
            ),
        ));
    }
    let answer = state
        .chargers
        .command(charge_point_id, action, payload.clone())
        .await;
    tracing::info!(actor = %actor, charger.id = %charge_point_id,
        ocpp.action = %action, ok = answer.is_ok(), "operator command");
    let (outcome, error) = match &answer {
        Ok(_) => ("ANSWERED", None),
        Err(e) => ("FAILED", Some(e.to_string())),
    };
    // A command may carry a password (AuthorizationKey, BasicAuthPassword):
    // the audit log keeps it redacted, as the journal does.
    let mut payload = payload;
    csms::journal::scrub(&mut payload);
    // The charger's answer too (#19: every command's answer is on record).
    let mut response = answer.as_ref().ok().cloned();
    if let Some(r) = response.as_mut() {
        csms::journal::scrub(r);
    }
    let details = json!({ "action": action, "payload": payload, "response": response,
        "error": error });
    state
        .audit_by(actor, "charger.command", charge_point_id, details, outcome)
        .await;
    Ok(answer?)
}

/// Unknown fields are refused: a misspelt `status` must not silently reset
/// the charger to the default policy.
/// An admission decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AdmissionBody {
    /// `accepted`, `pending`, `rejected` (any case), or `null` for the
    /// default policy.
    #[schema(example = "accepted")]
    status: Option<String>,
}

/// The decision recorded.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AdmissionJson {
    charge_point_id: String,
    #[schema(schema_with = super::openapi::admission)]
    admission: Option<ChargerAdmission>,
    /// Whether the connected charger was asked to boot again.
    boot_triggered: bool,
}

envelope!(
    /// The decision recorded.
    AdmissionEnvelope,
    AdmissionJson
);

/// Records the decision and answers at once; a connected charger (here or
/// on another instance) is asked to boot again (TriggerMessage
/// BootNotification), so the new answer reaches it now — `bootTriggered`
/// says whether it was asked; its answer is logged, not awaited.
#[utoipa::path(
    put,
    path = "/v1/admin/chargers/{id}/admission",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    request_body = AdmissionBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The decision is recorded", body = AdmissionEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
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
    let (charger, boot_triggered) =
        admit(&state, admin.actor(), &charge_point_id, admission).await?;
    Ok(ok(AdmissionJson {
        charge_point_id: charger.charge_point_id,
        admission: charger.admission,
        boot_triggered,
    }))
}

/// Records an admission decision for `actor` (audited) and asks a connected
/// charger to boot again so it hears it now; whether it was asked.
pub(crate) async fn admit(
    state: &AppState,
    actor: String,
    charge_point_id: &str,
    admission: Option<ChargerAdmission>,
) -> ApiResult<(booking::model::Charger, bool)> {
    let charger = state
        .store
        .set_charger_admission(charge_point_id, admission)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("charger {charge_point_id} not found")))?;
    // The charger is asked to boot again, and the operator is answered at
    // once: its answer (up to the call timeout away) is only logged.
    let boot_triggered = state.chargers.is_connected(charge_point_id).await;
    if boot_triggered {
        let chargers = state.chargers.clone();
        let cp = charge_point_id.to_owned();
        tokio::spawn(async move {
            let trigger = json!({ "requestedMessage": "BootNotification" });
            let answer = chargers.command(&cp, "TriggerMessage", trigger).await;
            tracing::info!(charger.id = %cp, answer = ?answer,
                "the charger answered the boot trigger of an admission change");
        });
    }
    tracing::info!(actor = %actor, charger.id = %charge_point_id,
        admission = ?admission, boot_triggered, "charger admission set");
    let details = json!({ "admission": admission, "bootTriggered": boot_triggered });
    state
        .audit_by(
            actor,
            "charger.admission",
            charge_point_id,
            details,
            "ACCEPTED",
        )
        .await;
    Ok((charger, boot_triggered))
}

/// A credential change: a new password, a new security profile, or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CredentialsBody {
    /// The new Basic auth password, 16 to 40 characters.
    password: Option<String>,
    /// The new OCPP security profile (only upwards).
    #[schema(minimum = 0, maximum = 3)]
    security_profile: Option<u8>,
}

/// A change the charger will get at its next connection.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RotationPending {
    charge_point_id: String,
    /// `PENDING`.
    #[schema(example = "PENDING")]
    outcome: &'static str,
    #[schema(value_type = u8, minimum = 0, maximum = 3)]
    security_profile: SecurityProfile,
}

envelope!(
    /// A change waiting for the charger.
    RotationPendingEnvelope,
    RotationPending
);

/// How the charger answered a change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RotationAnswered {
    charge_point_id: String,
    /// `ACCEPTED` or `PARTIAL`.
    #[schema(example = "ACCEPTED")]
    outcome: &'static str,
    /// The answer to the password part; `null` when not asked.
    #[schema(schema_with = answer)]
    password: Option<Answer>,
    /// The answer to the profile part; `null` when not asked.
    #[schema(schema_with = answer)]
    security_profile_change: Option<Answer>,
    #[schema(value_type = u8, minimum = 0, maximum = 3)]
    security_profile: SecurityProfile,
    /// Until when the previous credentials still work.
    previous_credentials_valid_until: Option<String>,
}

envelope!(
    /// The charger's answer to a change.
    RotationAnsweredEnvelope,
    RotationAnswered
);

fn answer() -> utoipa::openapi::Object {
    super::openapi::text_enum(["ACCEPTED", "REJECTED"], true)
}

/// Rotates a charger's password and/or security profile: 200 when the
/// charger answered (409 `CHARGER_REJECTED` when it refused all of it:
/// nothing changed), 202 when it is away and the change waits for its next
/// connection.
#[utoipa::path(
    put,
    path = "/v1/admin/chargers/{id}/credentials",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    request_body = CredentialsBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered", body = RotationAnsweredEnvelope),
        (status = 202, description = "The charger is away: the change waits for its next connection", body = RotationPendingEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_REJECTED`: the charger refused it all; `NOT_CONFIGURED`: the gateway cannot serve the profile or queue the password; `CHARGER_OFFLINE`", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: the charger answered with a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
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
            ok(RotationPending {
                charge_point_id: charger.charge_point_id,
                outcome: "PENDING",
                security_profile: charger.security_profile,
            }),
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
            ok(RotationAnswered {
                charge_point_id: charger.charge_point_id.clone(),
                outcome: rotation.outcome(),
                password,
                security_profile_change: security_profile,
                security_profile: charger.security_profile,
                previous_credentials_valid_until: charger
                    .previous_credentials
                    .as_ref()
                    .map(|p| iso(p.until)),
            }),
        )),
    }
}
