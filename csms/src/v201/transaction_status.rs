//! After a 2.0.1 station comes back (a reboot, or a new socket without a
//! boot) while evgate still has sessions of it open, evgate asks
//! `GetTransactionStatus` about each (E14; TC_E_29–E_34) and acts on the
//! answer: a transaction that is no longer going, with no message of it
//! still queued on the station, ended while evgate did not hear it — its
//! session is closed through the booking core's one session-ended path
//! (reason [`ENDED_UNREPORTED`]), so its booking completes. Queued messages
//! are waited for; a going transaction is left alone.
//!
//! Spawned from the connection's start, never awaited by the connection's
//! message loop: the calls queue behind the charger's own messages like any
//! other call of evgate's (the loop sends them and reads their answers).

use booking::model::{Charger, ChargingSession, Connector, OcppVersion, TransactionKey};
use booking::service::SessionStop;
use rust_ocpp::v2_0_1::messages::get_transaction_status::{
    GetTransactionStatusRequest, GetTransactionStatusResponse,
};
use serde_json::Value;

use crate::admission::RegistrationStatus;
use crate::context::{decode, encode};
use crate::rpc::RpcError;
use crate::server::Csms;

/// The stop reason of a session closed because its station said the
/// transaction had ended and nothing of it is left to send.
pub const ENDED_UNREPORTED: &str = "EndedUnreported";

/// At most this many open transactions of one station are asked about per
/// connection (a station has few EVSEs; more open sessions than this is a
/// data problem the log shows, not a reason to flood the station).
pub const MAX_CHECKS: usize = 4;

/// What a station's answer about one transaction means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Still going: nothing to do.
    Ongoing,
    /// Messages of it are still queued: they will tell.
    Queued,
    /// Not going and nothing queued: it ended unheard.
    EndedUnreported,
    /// No `ongoingIndicator` in the answer to a question that named the
    /// transaction (E14.FR.03 requires it): nothing is concluded.
    Unknown,
}

/// `GetTransactionStatus` about one transaction.
pub fn request(transaction_id: &str) -> Result<Value, RpcError> {
    encode(&GetTransactionStatusRequest {
        transaction_id: Some(transaction_id.to_owned()),
    })
}

/// Reads the station's answer about a transaction it was asked about by id.
pub fn verdict(answer: &Value) -> Result<Verdict, RpcError> {
    let answer: GetTransactionStatusResponse = decode(answer.clone())?;
    Ok(match (answer.messages_in_queue, answer.ongoing_indicator) {
        (true, _) => Verdict::Queued,
        (false, Some(true)) => Verdict::Ongoing,
        (false, Some(false)) => Verdict::EndedUnreported,
        (false, None) => Verdict::Unknown,
    })
}

/// The check for a 2.0.1 charger that just connected, if it was connected
/// before and its admission lets evgate send to it (a Rejected station is
/// sent nothing, B03.FR.07). `connectors` are the charger's, as the
/// connection read them.
pub async fn after_reconnect(
    csms: &Csms,
    charger: &Charger,
    version: OcppVersion,
    connectors: &[Connector],
) {
    let admitted = RegistrationStatus::for_charger(charger, csms.deps.config.admission)
        != RegistrationStatus::Rejected;
    if version != OcppVersion::V201 || charger.last_seen_at.is_none() || !admitted {
        return;
    }
    let open = match open_sessions(csms, connectors).await {
        Ok(open) => open,
        Err(e) => {
            tracing::warn!(charger.id = %charger.charge_point_id, error = %e,
                "cannot read the charger's open sessions");
            return;
        }
    };
    if open.len() > MAX_CHECKS {
        tracing::warn!(charger.id = %charger.charge_point_id, open = open.len(),
            asked = MAX_CHECKS, "more open sessions than evgate asks a station about at once");
    }
    for session in open.into_iter().take(MAX_CHECKS) {
        if !check(csms, charger, session).await {
            return;
        }
    }
}

/// The sessions still open in the store on these connectors, one per
/// connector at most.
async fn open_sessions(
    csms: &Csms,
    connectors: &[Connector],
) -> booking::Result<Vec<ChargingSession>> {
    let store = &csms.deps.store;
    let mut open = Vec::new();
    for connector in connectors {
        if let Some(session) = store.open_session_on(connector.id).await?
            && matches!(
                session.transaction,
                TransactionKey::Ocpp(OcppVersion::V201, _)
            )
        {
            open.push(session);
        }
    }
    Ok(open)
}

/// point asking about the others now).
async fn check(csms: &Csms, charger: &Charger, session: ChargingSession) -> bool {
    let TransactionKey::Ocpp(_, tx_id) = &session.transaction else {
        return true;
    };
    let Ok(payload) = request(tx_id) else {
        return true;
    };
    let id = &charger.charge_point_id;
    let answer = match csms
        .registry
        .call(id, "GetTransactionStatus", payload)
        .await
    {
        Ok(answer) => answer,
        Err(e) => {
            tracing::info!(charger.id = %id, transaction.id = %tx_id, error = %e,
                "GetTransactionStatus after the reconnect failed; the session stays open");
            return false;
        }
    };
    match verdict(&answer) {
        Ok(Verdict::Ongoing) => tracing::info!(charger.id = %id, transaction.id = %tx_id,
            "after the reconnect: the transaction is still going"),
        Ok(Verdict::Queued) => tracing::info!(charger.id = %id, transaction.id = %tx_id,
            "after the reconnect: messages of the transaction are still queued; waiting for them"),
        Ok(Verdict::Unknown) => tracing::info!(charger.id = %id, transaction.id = %tx_id,
            answer = %answer, "after the reconnect: the station did not say whether the transaction goes on"),
        Err(e) => tracing::warn!(charger.id = %id, transaction.id = %tx_id, error = %e,
            "after the reconnect: unreadable GetTransactionStatus answer"),
        Ok(Verdict::EndedUnreported) => close(csms, charger, session).await,
    }
    true
}

/// Closes a session that ended while evgate did not hear it: now, with the
/// energy last reported. No cost is put on it: when it ended is unknown,
/// and pricing the minutes until evgate learnt of it could overcharge.
async fn close(csms: &Csms, charger: &Charger, session: ChargingSession) {
    let meter_stop_wh = session
        .meter_start_wh
        .zip(session.energy_kwh)
        .map(|(start, kwh)| start + kwh * 1000.0);
    let stop = SessionStop {
        charger_id: charger.id,
        transaction: session.transaction.clone(),
        ended_at: csms.deps.clock.now(),
        meter_stop_wh,
        energy_kwh: session.energy_kwh,
        cost_amount: None,
        reason: Some(ENDED_UNREPORTED.to_owned()),
    };
    match csms.deps.bookings.session_ended(stop).await {
        Ok(Some(ended)) => {
            csms.deps
                .charging_clocks
                .forget(charger.id, &session.transaction);
            tracing::info!(charger.id = %charger.charge_point_id,
                transaction.id = ?session.transaction, session.id = %ended.id, booking.id = ?ended.booking_id,
                "after the reconnect: the transaction ended while evgate did not hear it; session closed");
        }
        // Its end arrived meanwhile, through the station's own messages.
        Ok(None) => {}
        Err(e) => tracing::warn!(charger.id = %charger.charge_point_id, error = %e,
            "cannot close a session that ended unreported"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_mean_what_e14_says() {
        for (answer, want) in [
            (
                json!({"messagesInQueue": false, "ongoingIndicator": true}),
                Verdict::Ongoing,
            ),
            (
                json!({"messagesInQueue": true, "ongoingIndicator": true}),
                Verdict::Queued,
            ),
            (
                json!({"messagesInQueue": true, "ongoingIndicator": false}),
                Verdict::Queued,
            ),
            (
                json!({"messagesInQueue": false, "ongoingIndicator": false}),
                Verdict::EndedUnreported,
            ),
            (json!({"messagesInQueue": false}), Verdict::Unknown),
        ] {
            assert_eq!(verdict(&answer).unwrap(), want, "{answer}");
        }
        assert!(verdict(&json!({"ongoingIndicator": false})).is_err());
        assert_eq!(request("tx-1").unwrap(), json!({"transactionId": "tx-1"}));
    }
}
