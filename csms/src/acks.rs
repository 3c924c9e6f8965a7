//! Messages either version's chargers send that evgate acknowledges and
//! logs: notifications, and requests it answers with a fixed status (no
//! smart charging configured). DataTransfer has
//! its own module, [`crate::data_transfer`].

use serde_json::{Value, json};

use crate::rpc::RpcError;

/// A notification evgate only logs (firmware, diagnostics, reports, events…),
/// acknowledged with the empty payload both versions expect.
pub fn notification(action: &str, payload: Value) -> Result<Value, RpcError> {
    tracing::info!(ocpp.action = action, payload = %payload, "charger notification");
    Ok(json!({}))
}

/// A request evgate answers with a fixed `status` (e.g. `Rejected` for
/// NotifyEVChargingNeeds: no smart charging), logged with the answer.
pub fn status_answer(action: &str, payload: Value, status: &str) -> Result<Value, RpcError> {
    tracing::info!(ocpp.action = action, payload = %payload, status, "answered with a fixed status");
    Ok(json!({ "status": status }))
}
