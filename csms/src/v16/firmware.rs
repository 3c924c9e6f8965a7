//! 1.6 firmware and diagnostics: the Firmware Management profile's
//! FirmwareStatusNotification and DiagnosticsStatusNotification, and the
//! security whitepaper's SignedUpdateFirmware, GetLog and their status
//! notifications — which rust-ocpp does not define, so they are typed
//! here after the whitepaper's JSON schemas (required fields, lengths,
//! enumerations, no other properties).

use booking::model::MaintenanceKind;
use chrono::{DateTime, Utc};
use rust_ocpp::v1_6::messages::diagnostics_status_notification::DiagnosticsStatusNotificationRequest;
use rust_ocpp::v1_6::messages::firmware_status_notification::FirmwareStatusNotificationRequest;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::context::{Context, decode};
use crate::maintenance::{record_status, word};
use crate::rpc::RpcError;

/// A string of at most `MAX` characters, refused in decoding beyond it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(pub String);

impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.chars().count() > MAX {
            return Err(serde::de::Error::invalid_length(
                s.chars().count(),
                &format!("at most {MAX} characters").as_str(),
            ));
        }
        Ok(Text(s))
    }
}

/// SignedUpdateFirmware.req's `FirmwareType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedFirmware {
    /// Where the image is.
    pub location: Text<512>,
    /// When to download it.
    pub retrieve_date_time: DateTime<Utc>,
    /// When to install it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_date_time: Option<DateTime<Utc>>,
    /// PEM certificate of the signer.
    pub signing_certificate: Text<5500>,
    /// Base64 signature of the image.
    pub signature: Text<800>,
}

/// SignedUpdateFirmware.req (whitepaper, urn:OCPP:Cp:1.6:2020:3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedUpdateFirmwareRequest {
    /// Download attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i32>,
    /// Seconds between attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<i32>,
    /// The request's id, echoed in SignedFirmwareStatusNotification.
    pub request_id: i32,
    /// The image.
    pub firmware: SignedFirmware,
}

/// GetLog.req's `LogEnumType`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum LogKind {
    /// Diagnostics.
    DiagnosticsLog,
    /// Security events.
    SecurityLog,
}

/// GetLog.req's `LogParametersType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogParameters {
    /// Where to upload.
    pub remote_location: Text<512>,
    /// The oldest entries wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_timestamp: Option<DateTime<Utc>>,
    /// The newest entries wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_timestamp: Option<DateTime<Utc>>,
}

/// GetLog.req (whitepaper, urn:OCPP:Cp:1.6:2020:3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetLogRequest {
    /// Which log.
    pub log_type: LogKind,
    /// The request's id, echoed in LogStatusNotification.
    pub request_id: i32,
    /// Upload attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i32>,
    /// Seconds between attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<i32>,
    /// Where and what.
    pub log: LogParameters,
}

/// SignedFirmwareStatusNotification.req's statuses.
const SIGNED_FIRMWARE_STATUSES: &[&str] = &[
    "Downloaded",
    "DownloadFailed",
    "Downloading",
    "DownloadScheduled",
    "DownloadPaused",
    "Idle",
    "InstallationFailed",
    "Installing",
    "Installed",
    "InstallRebooting",
    "InstallScheduled",
    "InstallVerificationFailed",
    "InvalidSignature",
    "SignatureVerified",
];

/// LogStatusNotification.req's statuses (`UploadLogStatusEnumType`).
const LOG_STATUSES: &[&str] = &[
    "BadMessage",
    "Idle",
    "NotSupportedOperation",
    "PermissionDenied",
    "Uploaded",
    "UploadFailure",
    "Uploading",
];

/// The whitepaper's two status notifications share one shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatusNotification {
    status: String,
    request_id: Option<i32>,
}

fn status_of(payload: Value, allowed: &[&str]) -> Result<StatusNotification, RpcError> {
    let req: StatusNotification = decode(payload)?;
    if !allowed.contains(&req.status.as_str()) {
        return Err(RpcError::PropertyConstraint(format!(
            "unknown status {:?}",
            req.status
        )));
    }
    Ok(req)
}

pub(super) async fn firmware_status_notification(
    ctx: &Context,
    payload: Value,
) -> Result<Value, RpcError> {
    let req: FirmwareStatusNotificationRequest = decode(payload)?;
    record_status(ctx, MaintenanceKind::Firmware, word(&req.status), None).await
}

pub(super) async fn diagnostics_status_notification(
    ctx: &Context,
    payload: Value,
) -> Result<Value, RpcError> {
    let req: DiagnosticsStatusNotificationRequest = decode(payload)?;
    record_status(ctx, MaintenanceKind::Log, word(&req.status), None).await
}

pub(super) async fn signed_firmware_status_notification(
    ctx: &Context,
    payload: Value,
) -> Result<Value, RpcError> {
    let req = status_of(payload, SIGNED_FIRMWARE_STATUSES)?;
    record_status(ctx, MaintenanceKind::Firmware, req.status, req.request_id).await
}

pub(super) async fn log_status_notification(
    ctx: &Context,
    payload: Value,
) -> Result<Value, RpcError> {
    let req = status_of(payload, LOG_STATUSES)?;
    record_status(ctx, MaintenanceKind::Log, req.status, req.request_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whitepaper_requests_follow_their_schemas() {
        let signed = json!({"requestId": 1, "firmware": {"location": "https://fw/x.bin",
            "retrieveDateTime": "2030-01-01T00:00:00Z", "signingCertificate": "PEM",
            "signature": "c2ln"}});
        assert!(decode::<SignedUpdateFirmwareRequest>(signed.clone()).is_ok());
        let mut unsigned = signed.clone();
        unsigned["firmware"]
            .as_object_mut()
            .unwrap()
            .remove("signature");
        assert!(matches!(
            decode::<SignedUpdateFirmwareRequest>(unsigned),
            Err(RpcError::OccurrenceConstraint(_))
        ));
        let mut long = signed.clone();
        long["firmware"]["signature"] = json!("s".repeat(801));
        assert!(decode::<SignedUpdateFirmwareRequest>(long).is_err());
        let mut extra = signed;
        extra["colour"] = json!("red");
        assert!(decode::<SignedUpdateFirmwareRequest>(extra).is_err());
        let log = json!({"logType": "SecurityLog", "requestId": 2,
            "log": {"remoteLocation": "https://gw/up/"}});
        assert!(decode::<GetLogRequest>(log).is_ok());
        let bad = json!({"logType": "EverythingLog", "requestId": 2,
            "log": {"remoteLocation": "https://gw/up/"}});
        assert!(matches!(
            decode::<GetLogRequest>(bad),
            Err(RpcError::PropertyConstraint(_))
        ));
    }

    #[test]
    fn whitepaper_statuses_are_checked() {
        assert!(
            status_of(
                json!({"status": "InvalidSignature", "requestId": 3}),
                SIGNED_FIRMWARE_STATUSES
            )
            .is_ok()
        );
        assert!(matches!(
            status_of(json!({"status": "Uploaded"}), SIGNED_FIRMWARE_STATUSES),
            Err(RpcError::PropertyConstraint(_))
        ));
        assert!(matches!(
            status_of(json!({"requestId": 3}), LOG_STATUSES),
            Err(RpcError::OccurrenceConstraint(_))
        ));
        assert!(matches!(
            status_of(json!({"status": 5}), LOG_STATUSES),
            Err(RpcError::TypeConstraint(_))
        ));
    }
}
