//! The ISO 15118 certificate requests of 2.0.1 (block M): evgate has no
//! OCSP responder and no contract-certificate service, so both are
//! answered `Failed`, saying so in `statusInfo`. The requests are still
//! decoded, so a malformed one gets its CALLERROR.

use rust_ocpp::v2_0_1::messages::get_15118ev_certificate::Get15118EVCertificateRequest;
use rust_ocpp::v2_0_1::messages::get_certificate_status::GetCertificateStatusRequest;
use serde_json::{Value, json};

use crate::context::decode;
use crate::rpc::RpcError;

/// Get15118EVCertificate (M01/M02): Failed, with the empty `exiResponse`
/// the schema requires.
pub fn get_15118_ev_certificate(payload: Value) -> Result<Value, RpcError> {
    let req: Get15118EVCertificateRequest = decode(payload)?;
    tracing::info!(action = ?req.action, "Get15118EVCertificate: no contract-certificate service configured");
    Ok(json!({
        "status": "Failed",
        "exiResponse": "",
        "statusInfo": {
            "reasonCode": "NotConfigured",
            "additionalInfo": "no contract certificate service is configured"
        }
    }))
}

/// GetCertificateStatus (M06): Failed, no OCSP responder.
pub fn get_certificate_status(payload: Value) -> Result<Value, RpcError> {
    let _req: GetCertificateStatusRequest = decode(payload)?;
    tracing::info!("GetCertificateStatus: no OCSP responder configured");
    Ok(json!({
        "status": "Failed",
        "statusInfo": {
            "reasonCode": "NotConfigured",
            "additionalInfo": "no OCSP responder is configured"
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_are_answered_failed_with_a_reason_and_malformed_ones_refused() {
        let ev = get_15118_ev_certificate(
            json!({"iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef",
            "action": "Install", "exiRequest": "AAAA"}),
        )
        .unwrap();
        assert_eq!(ev["status"], "Failed");
        assert_eq!(ev["exiResponse"], "");
        assert_eq!(ev["statusInfo"]["reasonCode"], "NotConfigured");
        assert!(get_15118_ev_certificate(json!({"action": "Install"})).is_err());
        let status = get_certificate_status(json!({"ocspRequestData": {"hashAlgorithm": "SHA256",
            "issuerNameHash": "a", "issuerKeyHash": "b", "serialNumber": "c",
            "responderURL": "http://ocsp.example"}}))
        .unwrap();
        assert_eq!(status["status"], "Failed");
        assert_eq!(status["statusInfo"]["reasonCode"], "NotConfigured");
        assert!(get_certificate_status(json!({})).is_err());
    }
}
