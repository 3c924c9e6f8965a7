//! Messages either version's chargers send that evgate acknowledges and
//! logs: notifications, DataTransfer for vendors it has no handler for, and
//! requests it answers with a fixed status (no certificate authority, no
//! smart charging configured).

use serde_json::{Value, json};

use crate::rpc::RpcError;

pub fn data_transfer(payload: Value) -> Result<Value, RpcError> {
    if payload.get("vendorId").and_then(Value::as_str).is_none() {
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

pub fn status_answer(action: &str, payload: Value, status: &str) -> Result<Value, RpcError> {
    tracing::info!(ocpp.action = action, payload = %payload, status, "answered with a fixed status");
    Ok(json!({ "status": status }))
}
