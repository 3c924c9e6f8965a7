//! TransactionEvent: the station names its transactions (strings); seqNo
//! starts at 0 and may have gaps; offline replays arrive late; `evse` may
//! come only with the first event that knows it — with Started, or later
//! when the transaction started before a cable was plugged in (kept in
//! [`super::pending_start`] until then). The session opens once the EVSE is
//! known (once), Ended closes it (once); events after Ended change nothing.

use booking::model::{OcppVersion, TransactionKey};
use booking::service::{SessionStart, SessionStop};
use rust_ocpp::v2_0_1::datatypes::evse_type::EVSEType;
use rust_ocpp::v2_0_1::messages::transaction_event::TransactionEventRequest;
use serde_json::{Value, json};

use super::authorize::id_token_info;
use super::pending_start::PendingStart;
use crate::context::{Context, decode};
use crate::costs;
use crate::domain::{self, internal, wire};
use crate::rpc::RpcError;

pub(super) async fn transaction_event(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let energy = payload
        .get("meterValue")
        .and_then(domain::energy_register_wh);
    let req: TransactionEventRequest = decode(payload)?;
    let tx_id = req.transaction_info.transaction_id.clone();
    let key = TransactionKey::Ocpp(OcppVersion::V201, tx_id.clone());
    let token = req.id_token.as_ref().map(|t| t.id_token.clone());
    let pending = &ctx.deps.pending_starts;
    let charger = ctx.charger.id;
    let event = wire(&req.event_type);
    let clocks = &ctx.deps.charging_clocks;
    if let Some(charging) = req
        .transaction_info
        .charging_state
        .as_ref()
        .and_then(|s| costs::is_charging(&wire(s)))
    {
        clocks.state(charger, &key, charging, req.timestamp);
    }
    if event == "Started" {
        let start = PendingStart {
            id_tag: token.clone(),
            reservation_id: req.reservation_id,
            started_at: req.timestamp,
            meter_start_wh: energy,
        };
        match &req.evse {
            Some(evse) => open(ctx, evse, key.clone(), start).await?,
            // No cable yet (TxStartPoint Authorized/ParkingBayOccupied): the
            // session opens when an event names the EVSE.
            None => {
                tracing::info!(charger.id = %ctx.charger.charge_point_id, transaction.id = %tx_id,
                    "transaction started before its EVSE is known");
                pending.remember(charger, &tx_id, start, ctx.deps.clock.now());
            }
        }
    } else if let Some(evse) = &req.evse
        && let Some(start) = pending.take(charger, &tx_id)
    {
        open(ctx, evse, key.clone(), start).await?;
    }
    let mut total_cost = None;
    match event.as_str() {
        "Started" => {}
        "Ended" => {
            if pending.take(charger, &tx_id).is_some() {
                tracing::warn!(charger.id = %ctx.charger.charge_point_id, transaction.id = %tx_id,
                    "transaction ended before any event named its EVSE: nothing recorded");
            }
            total_cost = costs::final_cost(ctx, &key, energy, req.timestamp).await?;
            clocks.forget(charger, &key);
            ctx.deps
                .bookings
                .session_ended(SessionStop {
                    charger_id: ctx.charger.id,
                    transaction: key,
                    ended_at: req.timestamp,
                    meter_stop_wh: energy,
                    energy_kwh: None,
                    cost_amount: total_cost,
                    reason: req.transaction_info.stopped_reason.as_ref().map(wire),
                })
                .await
                .map_err(internal)?;
        }
        _ => {
            if let Some(wh) = energy {
                ctx.deps
                    .bookings
                    .meter_sample(ctx.charger.id, &key, wh, req.timestamp)
                    .await
                    .map_err(internal)?;
            }
            total_cost = costs::running_cost(ctx, &key).await?;
        }
    }
    // idTokenInfo only when an idToken was sent; totalCost when a tariff
    // applies (running while Updated, final at Ended; I02/I03).
    let mut answer = json!({});
    if let Some(t) = token {
        answer["idTokenInfo"] = id_token_info(ctx, &t).await?;
    }
    if let Some(cost) = total_cost {
        answer["totalCost"] = json!(cost);
    }
    Ok(answer)
}

/// Opens the session on the connector `evse` names (connector 1 when the
/// EVSE has one); an EVSE evgate does not know is logged and skipped.
async fn open(
    ctx: &Context,
    evse: &EVSEType,
    transaction: TransactionKey,
    start: PendingStart,
) -> Result<(), RpcError> {
    let connector_id = evse.connector_id.unwrap_or(1);
    let connector = ctx
        .deps
        .store
        .connector_by_ocpp(ctx.charger.id, evse.id, connector_id)
        .await
        .map_err(internal)?;
    let Some(connector) = connector else {
        tracing::warn!(charger.id = %ctx.charger.charge_point_id, evse.id = evse.id,
            "transaction on an EVSE evgate does not know");
        return Ok(());
    };
    ctx.deps
        .bookings
        .session_started(SessionStart {
            connector_id: connector.id,
            transaction,
            id_tag: start.id_tag,
            reservation_id: start.reservation_id,
            booking_id: None,
            started_at: start.started_at,
            meter_start_wh: start.meter_start_wh,
        })
        .await
        .map_err(internal)?;
    Ok(())
}
