//! ReserveNow and CancelReservation as a 2.0.1 station hears them.

use booking::charger_control::{Refusal, ReserveRequest};
use serde_json::{Value, json};

use crate::context::decode;
use crate::domain::refusal_of;
use crate::rpc::RpcError;

#[derive(serde::Deserialize)]
struct StatusAnswer {
    status: String,
}

pub fn reserve_now(req: &ReserveRequest) -> Result<Value, RpcError> {
    Ok(json!({
        "id": req.reservation_id,
        "expiryDateTime": req.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "evseId": req.evse_id,
        "idToken": { "idToken": req.id_tag, "type": "Central" },
    }))
}

pub fn reserve_now_answer(payload: Value) -> Result<(), Refusal> {
    let answer: StatusAnswer =
        decode(payload).map_err(|e| Refusal::CallError(format!("unreadable answer: {e}")))?;
    refusal_of(&answer.status)
}

pub fn cancel_reservation(reservation_id: i32) -> Result<Value, RpcError> {
    Ok(json!({ "reservationId": reservation_id }))
}

pub fn cancel_reservation_answer(payload: Value) -> Result<(), Refusal> {
    let answer: StatusAnswer =
        decode(payload).map_err(|e| Refusal::CallError(format!("unreadable answer: {e}")))?;
    match answer.status.as_str() {
        "Accepted" => Ok(()),
        _ => Err(Refusal::Rejected),
    }
}
