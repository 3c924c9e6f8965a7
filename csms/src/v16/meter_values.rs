//! MeterValues: the live energy of the session on the connector.

use booking::model::{OcppVersion, TransactionKey};
use serde_json::{Value, json};

use crate::context::Context;
use crate::domain;
use crate::rpc::RpcError;

pub(super) async fn meter_values(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let connector = payload
        .get("connectorId")
        .and_then(Value::as_i64)
        .ok_or_else(|| RpcError::OccurrenceConstraint("connectorId is required".into()))?;
    let values = payload
        .get("meterValue")
        .ok_or_else(|| RpcError::OccurrenceConstraint("meterValue is required".into()))?;
    let transaction = payload
        .get("transactionId")
        .and_then(Value::as_i64)
        .map(|id| TransactionKey::Ocpp(OcppVersion::V16, id.to_string()));
    if connector > 0 {
        let connector = i32::try_from(connector)
            .map_err(|_| RpcError::PropertyConstraint("connectorId out of range".into()))?;
        domain::meter_values(ctx, connector, connector, transaction, values).await?;
    }
    Ok(json!({}))
}
