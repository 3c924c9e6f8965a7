//! Messages acknowledged and logged.

use serde_json::{Value, json};

use crate::rpc::RpcError;

/// Expired or Removed: the charger dropped a reservation on its own. The
/// booking keeps its slot in evgate; the no-show worker and the lead-window
/// scheduler own what happens next.
pub fn reservation_status_update(payload: Value) -> Result<Value, RpcError> {
    let id = payload.get("reservationId").and_then(Value::as_i64);
    let status = payload
        .get("reservationUpdateStatus")
        .and_then(Value::as_str);
    match (id, status) {
        (Some(id), Some(status @ ("Expired" | "Removed"))) => {
            tracing::info!(
                reservation.id = id,
                status,
                "charger reports a reservation ended"
            );
            Ok(json!({}))
        }
        (Some(_), Some(other)) => Err(RpcError::PropertyConstraint(format!(
            "reservationUpdateStatus {other:?}"
        ))),
        _ => Err(RpcError::OccurrenceConstraint(
            "reservationId and reservationUpdateStatus are required".into(),
        )),
    }
}

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
