//! Messages that are acknowledged and logged: firmware, diagnostics and
//! security notifications, and DataTransfer for vendors we have no handler
//! for.

use serde_json::{Value, json};

use crate::rpc::RpcError;

pub fn data_transfer(payload: Value) -> Result<Value, RpcError> {
    let vendor = payload.get("vendorId").and_then(Value::as_str);
    if vendor.is_none() {
        return Err(RpcError::OccurrenceConstraint(
            "vendorId is required".into(),
        ));
    }
    Ok(json!({ "status": "UnknownVendorId" }))
}

pub fn notification(action: &str, payload: Value) -> Result<Value, RpcError> {
    tracing::info!(ocpp.action = action, payload = %payload, "charger notification");
    Ok(json!({}))
}

/// No certificate authority is configured: refuse, as the whitepaper allows.
pub fn sign_certificate(payload: Value) -> Result<Value, RpcError> {
    if payload.get("csr").and_then(Value::as_str).is_none() {
        return Err(RpcError::OccurrenceConstraint("csr is required".into()));
    }
    Ok(json!({ "status": "Rejected" }))
}
