//! Messages that are acknowledged and logged: firmware and diagnostics
//! notifications, and DataTransfer for vendors we have no handler for.

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
