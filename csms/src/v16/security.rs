//! The OCPP 1.6 security whitepaper's charger-initiated messages, which
//! rust-ocpp does not define: typed here so their required fields are
//! checked, then acknowledged and logged. SignCertificate and
//! SecurityEventNotification are [`crate::certificates`]'.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::context::decode;
use crate::rpc::RpcError;

/// LogStatusNotification.req
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogStatusNotification {
    status: String,
    request_id: Option<i64>,
}

/// SignedFirmwareStatusNotification.req
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedFirmwareStatusNotification {
    status: String,
    request_id: Option<i64>,
}

pub(super) fn log_status_notification(payload: Value) -> Result<Value, RpcError> {
    let req: LogStatusNotification = decode(payload)?;
    tracing::info!(status = %req.status, request.id = req.request_id, "charger log upload status");
    Ok(json!({}))
}

pub(super) fn signed_firmware_status_notification(payload: Value) -> Result<Value, RpcError> {
    let req: SignedFirmwareStatusNotification = decode(payload)?;
    tracing::info!(status = %req.status, request.id = req.request_id, "charger signed firmware status");
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_fields_are_checked() {
        assert!(matches!(
            log_status_notification(json!({"status": 5})),
            Err(RpcError::TypeConstraint(_))
        ));
        assert_eq!(
            signed_firmware_status_notification(json!({"status": "Installed", "requestId": 3})),
            Ok(json!({}))
        );
    }
}
