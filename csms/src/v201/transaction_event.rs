//! TransactionEvent: the station names its transactions (strings); seqNo
//! starts at 0 and may have gaps; offline replays arrive late; `evse` may
//! come only with the first event. Started opens the session (once),
//! Ended closes it (once); events after Ended change nothing.

use booking::model::{OcppVersion, TransactionKey};
use booking::service::{SessionStart, SessionStop};
use rust_ocpp::v2_0_1::messages::transaction_event::TransactionEventRequest;
use serde_json::{Value, json};

use super::authorize::id_token_info;
use crate::context::{Context, decode};
use crate::domain::{self, internal, wire};
use crate::rpc::RpcError;

pub(super) async fn transaction_event(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let energy = payload
        .get("meterValue")
        .and_then(domain::energy_register_wh);
    let req: TransactionEventRequest = decode(payload)?;
    let key = TransactionKey::Ocpp(
        OcppVersion::V201,
        req.transaction_info.transaction_id.clone(),
    );
    let token = req.id_token.as_ref().map(|t| t.id_token.clone());
    match wire(&req.event_type).as_str() {
        "Started" => {
            let Some(evse) = req.evse else {
                return Err(RpcError::OccurrenceConstraint(
                    "evse is required when Started".into(),
                ));
            };
            let connector_id = evse.connector_id.unwrap_or(1);
            let connector = ctx
                .deps
                .store
                .connector_by_ocpp(ctx.charger.id, evse.id, connector_id)
                .await
                .map_err(internal)?;
            match connector {
                Some(connector) => {
                    ctx.deps
                        .bookings
                        .session_started(SessionStart {
                            connector_id: connector.id,
                            transaction: key,
                            id_tag: token.clone(),
                            reservation_id: req.reservation_id,
                            booking_id: None,
                            started_at: req.timestamp,
                            meter_start_wh: energy,
                        })
                        .await
                        .map_err(internal)?;
                }
                None => {
                    tracing::warn!(charger.id = %ctx.charger.charge_point_id, evse.id = evse.id,
                    "transaction on an EVSE evgate does not know")
                }
            }
        }
        "Ended" => {
            ctx.deps
                .bookings
                .session_ended(SessionStop {
                    charger_id: ctx.charger.id,
                    transaction: key,
                    ended_at: req.timestamp,
                    meter_stop_wh: energy,
                    energy_kwh: None,
                    cost_amount: None,
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
        }
    }
    // idTokenInfo only when an idToken was sent.
    match token {
        Some(t) => Ok(json!({ "idTokenInfo": id_token_info(ctx, &t).await? })),
        None => Ok(json!({})),
    }
}
