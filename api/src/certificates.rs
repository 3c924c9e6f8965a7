//! Charger certificates and security events (1.6 security whitepaper,
//! 2.0.1 blocks A and M), each call audited like a command:
//! `POST /v1/admin/chargers/{id}/certificates/renew` asks the charger for a
//! CSR (which evgate's CA then signs), `GET …/certificates` asks which
//! certificates it has installed, `POST …/certificates` installs a root
//! certificate (by default the operator's CA), `DELETE …/certificates`
//! deletes one by its hash data; `GET …/certificates/issued` lists what
//! evgate signed for it and `GET …/security-events` what it reported.

use axum::extract::{Path, State};
use booking::iso;
use booking::model::{Charger, OcppVersion};
use chrono::{DateTime, Utc};
use csms::certificates::commands as calls;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::{ApiJson, ApiQuery};
use super::openapi::{ErrorEnvelope, envelope};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(renew_certificate))
        .routes(routes!(
            installed_certificates,
            install_certificate,
            delete_certificate
        ))
        .routes(routes!(issued_certificates))
        .routes(routes!(security_events))
}

/// The charger's answer to the call evgate built.
#[derive(Debug, Serialize, ToSchema)]
struct CertificateCallAnswer {
    /// The OCPP action sent, in the charger's version.
    #[schema(example = "TriggerMessage")]
    action: &'static str,
    /// The charger's CALLRESULT payload.
    #[schema(value_type = Object)]
    response: Value,
}

envelope!(
    /// The charger's answer.
    CertificateCallEnvelope,
    CertificateCallAnswer
);

/// The version the charger last connected with; one that never did is offline.
fn version(charger: &Charger) -> ApiResult<OcppVersion> {
    charger.ocpp_version.ok_or_else(|| {
        ApiError::Conflict(
            "CHARGER_OFFLINE",
            "the charger has never connected".to_owned(),
        )
    })
}

/// Sends the call as an operator command (so it is checked against the
/// version's schema) and audits it.
async fn send(
    state: &AppState,
    admin: &AdminUser,
    charge_point_id: &str,
    (action, payload): (&'static str, Value),
) -> ApiResult<axum::Json<Value>> {
    let answer = state
        .chargers
        .command(charge_point_id, action, payload.clone())
        .await;
    tracing::info!(admin.sub = admin.0.user_id, charger.id = %charge_point_id,
        ocpp.action = action, ok = answer.is_ok(), "certificate call");
    let (outcome, error) = match &answer {
        Ok(_) => ("ANSWERED", None),
        Err(e) => ("FAILED", Some(e.to_string())),
    };
    let details = json!({ "action": action, "payload": payload, "error": error });
    state
        .audit(admin, "charger.command", charge_point_id, details, outcome)
        .await;
    Ok(ok(CertificateCallAnswer {
        action,
        response: answer?,
    }))
}

/// Asks the charger for a new certificate: 1.6 ExtendedTriggerMessage
/// `SignChargePointCertificate`, 2.0.1 TriggerMessage
/// `SignChargingStationCertificate`. The charger then sends SignCertificate,
/// which evgate's CA (`OCPP_CA_CERT_FILE`) signs, and gets CertificateSigned.
#[utoipa::path(
    post,
    path = "/v1/admin/chargers/{id}/certificates/renew",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered the trigger", body = CertificateCallEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_OFFLINE`: not connected, or busy", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
async fn renew_certificate(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    let call = calls::renew(version(&charger)?);
    send(&state, &admin, &charge_point_id, call).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct InstalledQuery {
    /// The certificate type: 1.6 `CentralSystemRootCertificate` (default) or
    /// `ManufacturerRootCertificate`; 2.0.1 one of GetCertificateIdUseEnumType
    /// (default: all).
    #[serde(rename = "type")]
    certificate_type: Option<String>,
}

/// Asks the charger which certificates it has installed
/// (GetInstalledCertificateIds); its answer lists their hash data.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/certificates",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)"), InstalledQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered", body = CertificateCallEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: a type the charger's version does not have", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_OFFLINE`: not connected, or busy", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
async fn installed_certificates(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiQuery(q): ApiQuery<InstalledQuery>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    let call = calls::installed_ids(version(&charger)?, q.certificate_type.as_deref());
    send(&state, &admin, &charge_point_id, call).await
}

/// A root certificate for the charger.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InstallBody {
    /// 1.6: `CentralSystemRootCertificate` (default) or
    /// `ManufacturerRootCertificate`; 2.0.1: InstallCertificateUseEnumType
    /// (default `CSMSRootCertificate`).
    certificate_type: Option<String>,
    /// PEM; default: the CA certificate of `OCPP_CA_CERT_FILE`.
    certificate: Option<String>,
}

/// Installs a root certificate on the charger (InstallCertificate).
#[utoipa::path(
    post,
    path = "/v1/admin/chargers/{id}/certificates",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    request_body = InstallBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered", body = CertificateCallEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: no certificate and no CA configured, or a payload the version's schema refuses", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_OFFLINE`: not connected, or busy", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
async fn install_certificate(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiJson(body): ApiJson<InstallBody>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    let pem = match (&body.certificate, state.certificates.ca()) {
        (Some(pem), _) => pem.clone(),
        (None, Some(ca)) => ca.certificate_pem().to_owned(),
        (None, None) => {
            return Err(ApiError::bad_request(
                "certificate",
                "no certificate given and no CA configured (OCPP_CA_CERT_FILE)",
            ));
        }
    };
    let call = calls::install(version(&charger)?, body.certificate_type.as_deref(), &pem);
    send(&state, &admin, &charge_point_id, call).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct HashQuery {
    /// `SHA256`, `SHA384` or `SHA512`.
    hash_algorithm: String,
    /// Hex hash of the issuer's distinguished name.
    issuer_name_hash: String,
    /// Hex hash of the issuer's public key.
    issuer_key_hash: String,
    /// Hex serial number.
    serial_number: String,
}

/// Deletes a certificate from the charger by its hash data (as
/// GetInstalledCertificateIds reported it) with DeleteCertificate.
#[utoipa::path(
    delete,
    path = "/v1/admin/chargers/{id}/certificates",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)"), HashQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered", body = CertificateCallEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: hash data the version's schema refuses", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_OFFLINE`: not connected, or busy", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
async fn delete_certificate(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiQuery(q): ApiQuery<HashQuery>,
) -> ApiResult<axum::Json<Value>> {
    state.charger(&charge_point_id).await?;
    let call = calls::delete(json!({
        "hashAlgorithm": q.hash_algorithm,
        "issuerNameHash": q.issuer_name_hash,
        "issuerKeyHash": q.issuer_key_hash,
        "serialNumber": q.serial_number,
    }));
    send(&state, &admin, &charge_point_id, call).await
}

/// A certificate evgate signed for the charger.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct IssuedJson {
    /// Lowercase hex.
    serial: String,
    /// The subject's CN (the charger's identity).
    subject: String,
    not_after: String,
    issued_at: String,
}

/// The certificates evgate signed for one charger.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct IssuedList {
    charge_point_id: String,
    /// Newest first.
    certificates: Vec<IssuedJson>,
}

envelope!(
    /// The certificates evgate signed for one charger.
    IssuedListEnvelope,
    IssuedList
);

/// The certificates evgate's CA signed for the charger, newest first.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/certificates/issued",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The certificates", body = IssuedListEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn issued_certificates(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    let issued = state.store.issued_certificates(charger.id).await?;
    Ok(ok(IssuedList {
        charge_point_id: charger.charge_point_id,
        certificates: issued
            .into_iter()
            .map(|c| IssuedJson {
                serial: c.serial,
                subject: c.subject,
                not_after: iso(c.not_after),
                issued_at: iso(c.issued_at),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// Only events that occurred at or after this time (RFC 3339).
    since: Option<String>,
    /// At most this many, 1 to 500 (default 100).
    limit: Option<i64>,
}

/// One SecurityEventNotification.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SecurityEventJson {
    /// The event's type, as the charger named it.
    #[serde(rename = "type")]
    #[schema(example = "FirmwareUpdated")]
    kind: String,
    /// When it occurred, by the charger's clock.
    timestamp: String,
    tech_info: Option<String>,
    /// When evgate received it.
    received_at: String,
}

/// A charger's security events.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SecurityEvents {
    charge_point_id: String,
    /// Newest first.
    events: Vec<SecurityEventJson>,
}

envelope!(
    /// A charger's security events.
    SecurityEventsEnvelope,
    SecurityEvents
);

/// The security events the charger reported (SecurityEventNotification),
/// newest first; page back with `since` and `limit`.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/security-events",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)"), EventsQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The events", body = SecurityEventsEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: a bad `since` or `limit`", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn security_events(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<axum::Json<Value>> {
    let since = q
        .since
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::bad_request("since", "since must be an RFC 3339 time"))
        })
        .transpose()?;
    let limit = match q.limit {
        None => 100,
        Some(n @ 1..=500) => u32::try_from(n).unwrap_or(100),
        Some(_) => return Err(ApiError::bad_request("limit", "limit must be 1 to 500")),
    };
    let charger = state.charger(&charge_point_id).await?;
    let events = state
        .store
        .security_events(charger.id, since, limit)
        .await?;
    Ok(ok(SecurityEvents {
        charge_point_id: charger.charge_point_id,
        events: events
            .into_iter()
            .map(|e| SecurityEventJson {
                kind: e.kind,
                timestamp: iso(e.occurred_at),
                tech_info: e.tech_info,
                received_at: iso(e.received_at),
            })
            .collect(),
    }))
}
