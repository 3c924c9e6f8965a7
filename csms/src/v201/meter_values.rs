//! MeterValues outside a TransactionEvent: the live energy of the session on
//! the EVSE (its connector 1; evgate books EVSEs by their first connector).

use serde_json::{Value, json};

use crate::context::Context;
use crate::domain;
use crate::rpc::RpcError;

pub(super) async fn meter_values(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let evse = payload
        .get("evseId")
        .and_then(Value::as_i64)
        .ok_or_else(|| RpcError::OccurrenceConstraint("evseId is required".into()))?;
    let values = payload
        .get("meterValue")
        .ok_or_else(|| RpcError::OccurrenceConstraint("meterValue is required".into()))?;
    if evse > 0 {
        let evse = i32::try_from(evse)
            .map_err(|_| RpcError::PropertyConstraint("evseId out of range".into()))?;
        domain::meter_values(ctx, evse, 1, None, values).await?;
    }
    Ok(json!({}))
}
