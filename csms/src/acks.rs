//! Messages either version's chargers send that evgate acknowledges and
//! logs: notifications, DataTransfer for vendors it has no handler for, and
//! requests it answers with a fixed status (no certificate authority, no
//! smart charging configured).

use serde_json::{Value, json};

use crate::rpc::RpcError;

/// DataTransfer from a charger: evgate has no vendor extensions, so a
/// well-formed request is answered `UnknownVendorId`; one without `vendorId`
/// gets OccurrenceConstraintViolation.
pub fn data_transfer(payload: Value) -> Result<Value, RpcError> {
    if payload.get("vendorId").and_then(Value::as_str).is_none() {
        return Err(RpcError::OccurrenceConstraint(
            "vendorId is required".into(),
        ));
    }
    Ok(json!({ "status": "UnknownVendorId" }))
}

/// A notification evgate only logs (firmware, diagnostics, reports, events…),
/// acknowledged with the empty payload both versions expect.
pub fn notification(action: &str, payload: Value) -> Result<Value, RpcError> {
    tracing::info!(ocpp.action = action, payload = %payload, "charger notification");
    Ok(json!({}))
}

/// A request evgate answers with a fixed `status` (e.g. `Rejected` for
/// SignCertificate: there is no certificate authority), logged with the answer.
pub fn status_answer(action: &str, payload: Value, status: &str) -> Result<Value, RpcError> {
    tracing::info!(ocpp.action = action, payload = %payload, status, "answered with a fixed status");
    Ok(json!({ "status": status }))
}
