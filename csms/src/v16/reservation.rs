//! ReserveNow and CancelReservation as a 1.6 charger hears them, and what
//! its answers mean for the booking core.

use booking::charger_control::{Refusal, ReserveRequest};
use rust_ocpp::v1_6::messages::cancel_reservation::{
    CancelReservationRequest, CancelReservationResponse,
};
use rust_ocpp::v1_6::messages::reserve_now::{ReserveNowRequest, ReserveNowResponse};
use serde_json::Value;

use crate::context::{decode, encode};
use crate::domain::{refusal_of, wire};
use crate::rpc::RpcError;

/// The 1.6 ReserveNow payload for a booking's hold: 1.6 has no EVSEs, so the
/// connector id alone names the connector.
pub fn reserve_now(req: &ReserveRequest) -> Result<Value, RpcError> {
    encode(&ReserveNowRequest {
        connector_id: u32::try_from(req.connector_id)
            .map_err(|_| RpcError::Internal("negative connector id".into()))?,
        expiry_date: req.expires_at,
        id_tag: req.id_tag.clone(),
        parent_id_tag: None,
        reservation_id: req.reservation_id,
    })
}

/// Reads a 1.6 ReserveNow answer: Ok when Accepted, else the refusal its status
/// names; an unreadable answer is a `CallError`.
pub fn reserve_now_answer(payload: Value) -> Result<(), Refusal> {
    let answer: ReserveNowResponse =
        decode(payload).map_err(|e| Refusal::CallError(format!("unreadable answer: {e}")))?;
    refusal_of(&wire(&answer.status))
}

/// The 1.6 CancelReservation payload for the reservation id evgate sent with
/// ReserveNow.
pub fn cancel_reservation(reservation_id: i32) -> Result<Value, RpcError> {
    encode(&CancelReservationRequest { reservation_id })
}

/// Reads a 1.6 CancelReservation answer: Ok when Accepted, else `Rejected`.
pub fn cancel_reservation_answer(payload: Value) -> Result<(), Refusal> {
    let answer: CancelReservationResponse =
        decode(payload).map_err(|e| Refusal::CallError(format!("unreadable answer: {e}")))?;
    match wire(&answer.status).as_str() {
        "Accepted" => Ok(()),
        _ => Err(Refusal::Rejected),
    }
}
