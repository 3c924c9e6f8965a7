//! The OCPP 1.6 security whitepaper's charger-initiated messages, which
//! rust-ocpp does not define: typed here so their required fields are
//! checked, then acknowledged and logged (the firmware and log statuses are
//! `super::firmware`'s). No certificate authority is
//! configured, so certificate signing requests are refused, as allowed.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::context::decode;
use crate::rpc::RpcError;

/// SecurityEventNotification.req
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecurityEventNotification {
    #[serde(rename = "type")]
    kind: String,
    timestamp: chrono::DateTime<chrono::Utc>,
    tech_info: Option<String>,
}

/// SignCertificate.req
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignCertificate {
    csr: String,
}

fn bounded(field: &str, value: &str, max: usize) -> Result<(), RpcError> {
    if value.chars().count() > max {
        return Err(RpcError::PropertyConstraint(format!(
            "{field} longer than {max}"
        )));
    }
    Ok(())
}

pub(super) fn security_event_notification(payload: Value) -> Result<Value, RpcError> {
    let req: SecurityEventNotification = decode(payload)?;
    bounded("type", &req.kind, 50)?;
    tracing::warn!(security.event = %req.kind, at = %req.timestamp,
        tech_info = req.tech_info.as_deref().unwrap_or_default(), "charger security event");
    Ok(json!({}))
}

pub(super) fn sign_certificate(payload: Value) -> Result<Value, RpcError> {
    let req: SignCertificate = decode(payload)?;
    bounded("csr", &req.csr, 5500)?;
    Ok(json!({ "status": "Rejected" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_fields_are_checked() {
        assert!(matches!(
            security_event_notification(json!({"type": "x"})),
            Err(RpcError::OccurrenceConstraint(_))
        ));
        let ok = security_event_notification(
            json!({"type": "FirmwareUpdated", "timestamp": "2030-01-01T00:00:00"}),
        );
        assert_eq!(ok, Ok(json!({})));
        assert_eq!(
            sign_certificate(json!({"csr": "-----BEGIN"})),
            Ok(json!({"status": "Rejected"}))
        );
        assert!(matches!(
            sign_certificate(json!({})),
            Err(RpcError::OccurrenceConstraint(_))
        ));
    }
}
