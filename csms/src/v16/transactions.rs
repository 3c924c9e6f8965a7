//! StartTransaction and StopTransaction. We assign 1.6 transaction ids
//! (positive i32, per charger); a replayed start gets the id it got first;
//! StopTransaction is always answered, also for ids we never issued, or the
//! charger would retry it forever.

use booking::model::{OcppVersion, TransactionKey};
use booking::service::{SessionStart, SessionStop};
use chrono::{DateTime, Utc};
use rust_ocpp::v1_6::messages::start_transaction::StartTransactionRequest;
use serde::Deserialize;
use serde_json::{Value, json};

use super::authorize::id_tag_info;
use crate::context::{Context, decode};
use crate::domain::internal;
use crate::rpc::RpcError;

pub(super) async fn start_transaction(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let req: StartTransactionRequest = decode(payload)?;
    let info = id_tag_info(ctx, &req.id_tag).await?;
    let connector_id = i32::try_from(req.connector_id)
        .map_err(|_| RpcError::PropertyConstraint("connectorId out of range".into()))?;
    let store = &ctx.deps.store;
    let Some(connector) = store
        .connector_by_ocpp(ctx.charger.id, connector_id, connector_id)
        .await
        .map_err(internal)?
    else {
        // Unknown connector: answer with a fresh id so the charger can go on;
        // nothing to record it against.
        tracing::warn!(charger.id = %ctx.charger.charge_point_id, connector.id = connector_id,
            "StartTransaction on a connector evgate does not know");
        let id = store
            .next_transaction_id(ctx.charger.id)
            .await
            .map_err(internal)?;
        return Ok(json!({ "transactionId": id, "idTagInfo": info }));
    };
    // A replay carries the same connector, meterStart and timestamp: it gets
    // the id the first one got.
    if let Some(known) = store
        .session_started_at(connector.id, req.timestamp, f64::from(req.meter_start))
        .await
        .map_err(internal)?
        && let TransactionKey::Ocpp(OcppVersion::V16, id) = &known.transaction
    {
        let id: i64 = id.parse().unwrap_or_default();
        return Ok(json!({ "transactionId": id, "idTagInfo": info }));
    }
    let transaction_id = store
        .next_transaction_id(ctx.charger.id)
        .await
        .map_err(internal)?;
    let session = ctx
        .deps
        .bookings
        .session_started(SessionStart {
            connector_id: connector.id,
            transaction: TransactionKey::Ocpp(OcppVersion::V16, transaction_id.to_string()),
            id_tag: Some(req.id_tag),
            reservation_id: req.reservation_id,
            booking_id: None,
            started_at: req.timestamp,
            meter_start_wh: Some(f64::from(req.meter_start)),
        })
        .await
        .map_err(internal)?;
    let id: i64 = session
        .transaction
        .key()
        .parse()
        .unwrap_or(i64::from(transaction_id));
    Ok(json!({ "transactionId": id, "idTagInfo": info }))
}

/// Read leniently: chargers send odd transaction ids (-1, i64::MAX) for
/// transactions started offline.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopTransaction {
    transaction_id: i64,
    meter_stop: i64,
    timestamp: DateTime<Utc>,
    id_tag: Option<String>,
    reason: Option<String>,
}

pub(super) async fn stop_transaction(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let req: StopTransaction = decode(payload)?;
    let key = TransactionKey::Ocpp(OcppVersion::V16, req.transaction_id.to_string());
    let meter_stop = Some(req.meter_stop as f64);
    let cost = crate::costs::final_cost(ctx, &key, meter_stop, req.timestamp).await?;
    ctx.deps.charging_clocks.forget(ctx.charger.id, &key);
    let ended = ctx
        .deps
        .bookings
        .session_ended(SessionStop {
            charger_id: ctx.charger.id,
            transaction: key,
            ended_at: req.timestamp,
            meter_stop_wh: meter_stop,
            energy_kwh: None,
            cost_amount: cost,
            reason: req.reason,
        })
        .await
        .map_err(internal)?;
    if ended.is_none() {
        tracing::info!(charger.id = %ctx.charger.charge_point_id, transaction.id = req.transaction_id,
            "StopTransaction for an unknown or already ended transaction; acknowledged");
    }
    match req.id_tag {
        Some(tag) => Ok(json!({ "idTagInfo": id_tag_info(ctx, &tag).await? })),
        None => Ok(json!({})),
    }
}
