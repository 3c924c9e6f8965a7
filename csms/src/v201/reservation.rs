//! ReserveNow and CancelReservation as a 2.0.1 station hears them, and what
//! its answers mean for the booking core.

use booking::charger_control::{Refusal, ReserveRequest};
use rust_ocpp::v2_0_1::datatypes::id_token_type::IdTokenType;
use rust_ocpp::v2_0_1::enumerations::id_token_enum_type::IdTokenEnumType;
use rust_ocpp::v2_0_1::messages::cancel_reservation::{
    CancelReservationRequest, CancelReservationResponse,
};
use rust_ocpp::v2_0_1::messages::reserve_now::{ReserveNowRequest, ReserveNowResponse};
use serde_json::Value;

use crate::context::{decode, encode};
use crate::domain::{refusal_of, wire};
use crate::rpc::RpcError;

/// The reservation on the booked EVSE, for the booking's id token (issued
/// by evgate: type Central). The connector type is left out: the EVSE
/// already names the connector.
pub fn reserve_now(req: &ReserveRequest) -> Result<Value, RpcError> {
    encode(&ReserveNowRequest {
        id: req.reservation_id,
        expiry_date_time: req.expires_at,
        connector_type: None,
        evse_id: Some(req.evse_id),
        id_token: IdTokenType {
            id_token: req.id_tag.clone(),
            kind: IdTokenEnumType::Central,
            additional_info: None,
        },
        group_id_token: None,
    })
}

/// Reads a 2.0.1 ReserveNow answer: Ok when Accepted, else the refusal its
/// status names; an unreadable answer is a `CallError`.
pub fn reserve_now_answer(payload: Value) -> Result<(), Refusal> {
    let answer: ReserveNowResponse =
        decode(payload).map_err(|e| Refusal::CallError(format!("unreadable answer: {e}")))?;
    refusal_of(&wire(&answer.status))
}

/// The 2.0.1 CancelReservation payload for the reservation id evgate sent with
/// ReserveNow.
pub fn cancel_reservation(reservation_id: i32) -> Result<Value, RpcError> {
    encode(&CancelReservationRequest { reservation_id })
}

/// Reads a 2.0.1 CancelReservation answer: Ok when Accepted, else `Rejected`.
pub fn cancel_reservation_answer(payload: Value) -> Result<(), Refusal> {
    let answer: CancelReservationResponse =
        decode(payload).map_err(|e| Refusal::CallError(format!("unreadable answer: {e}")))?;
    match wire(&answer.status).as_str() {
        "Accepted" => Ok(()),
        _ => Err(Refusal::Rejected),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn reserve_now_reads_as_the_schema_asks() {
        let expires_at = chrono::DateTime::parse_from_rfc3339("2026-12-02T10:30:00Z")
            .unwrap()
            .to_utc();
        let request = ReserveRequest {
            charge_point_id: "CP".into(),
            evse_id: 2,
            connector_id: 1,
            connector_type: "CCS".into(),
            reservation_id: 77,
            id_tag: "BOOK-1".into(),
            expires_at,
            slot: None,
        };
        let payload = reserve_now(&request).unwrap();
        assert_eq!(
            payload,
            json!({"id": 77, "expiryDateTime": "2026-12-02T10:30:00.000Z", "evseId": 2,
                   "idToken": {"idToken": "BOOK-1", "type": "Central"}})
        );
    }

    #[test]
    fn answers_map_to_refusals() {
        for (status, expected) in [
            ("Accepted", Ok(())),
            ("Occupied", Err(Refusal::Occupied)),
            ("Faulted", Err(Refusal::Faulted)),
            ("Unavailable", Err(Refusal::Unavailable)),
            ("Rejected", Err(Refusal::Rejected)),
        ] {
            assert_eq!(reserve_now_answer(json!({"status": status})), expected);
        }
        assert!(matches!(
            reserve_now_answer(json!({"status": "Maybe"})),
            Err(Refusal::CallError(_))
        ));
        assert_eq!(
            cancel_reservation_answer(json!({"status": "Accepted"})),
            Ok(())
        );
        assert_eq!(
            cancel_reservation_answer(json!({"status": "Rejected"})),
            Err(Refusal::Rejected)
        );
    }
}
