//! Messages acknowledged and logged.

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
    tracing::info!(ocpp.action = action, payload = %payload, "station notification");
    Ok(json!({}))
}

pub fn status_answer(action: &str, payload: Value, status: &str) -> Result<Value, RpcError> {
    tracing::info!(ocpp.action = action, payload = %payload, status, "answered with a fixed status");
    Ok(json!({ "status": status }))
}
