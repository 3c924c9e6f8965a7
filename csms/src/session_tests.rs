//! The session machine, frame by frame, with time passed in: no socket,
//! no runtime, no sleeping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use booking::model::OcppVersion::{self, V16, V201};
use serde_json::json;
use tokio::sync::oneshot::{self, error::TryRecvError};

use super::*;
use crate::admission::RegistrationStatus::{Accepted, Pending, Rejected};

const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const SILENCE: Duration = Duration::from_secs(180);

fn session(
    version: OcppVersion,
    status: crate::admission::RegistrationStatus,
) -> (ChargerSession, Instant) {
    limited(version, status, booking::rate::Rate::off())
}

fn limited(
    version: OcppVersion,
    status: crate::admission::RegistrationStatus,
    messages: booking::rate::Rate,
) -> (ChargerSession, Instant) {
    let now = Instant::now();
    let limits = Limits {
        max_message_bytes: 1024,
        call_timeout: CALL_TIMEOUT,
        silence: SILENCE,
        messages,
    };
    let s = ChargerSession::new("CP-1", version, Admission::new(status), limits, now);
    (s, now)
}

type Reply = oneshot::Receiver<Result<Value, CallFailure>>;

fn call(action: &'static str, payload: Value) -> (OutboundCall, Reply) {
    let (tx, rx) = oneshot::channel();
    (OutboundCall::new(action, payload, tx), rx)
}

fn error_code(step: &Step) -> &str {
    match step {
        Step::Send(Frame::CallError { code, .. }) => code,
        other => panic!("expected a CALLERROR, got {other:?}"),
    }
}

#[test]
fn calls_are_handed_to_the_handlers_in_any_admission_only_when_allowed() {
    // (admission, action, handled?)
    let table = [
        (Accepted, "Heartbeat", true),
        (Accepted, "BootNotification", true),
        (Pending, "BootNotification", true),
        (Pending, "Heartbeat", false),
        (Pending, "StatusNotification", false),
        (Rejected, "BootNotification", true),
        (Rejected, "Authorize", false),
    ];
    for version in [V16, V201] {
        for (status, action, handled) in table {
            let (mut s, now) = session(version, status);
            let frame = format!(r#"[2,"m1","{action}",{{}}]"#);
            let step = s.on_inbound(Incoming::Text(&frame), now);
            if handled {
                assert_eq!(
                    step,
                    Step::Handle {
                        id: "m1".into(),
                        action: action.into(),
                        payload: json!({})
                    },
                    "{version:?} {status:?} {action}"
                );
            } else {
                assert_eq!(
                    error_code(&step),
                    "SecurityError",
                    "{version:?} {status:?} {action}"
                );
            }
        }
    }
}

#[test]
fn a_boot_answer_moves_admission_without_reading_the_payload() {
    let (mut s, now) = session(V201, Pending);
    let frame = s.answered(
        "b1",
        Ok(Handled {
            // Whatever the payload says, the typed outcome decides.
            payload: json!({"status": "Pending"}),
            booted: Some(Accepted),
            then: None,
        }),
    );
    assert!(matches!(frame, Frame::CallResult { ref id, .. } if id == "b1"));
    let step = s.on_inbound(Incoming::Text(r#"[2,"h1","Heartbeat",{}]"#), now);
    assert!(matches!(step, Step::Handle { .. }));
    // And back: rejected at a later boot, gated again.
    s.answered(
        "b2",
        Ok(Handled {
            payload: json!({}),
            booted: Some(Rejected),
            then: None,
        }),
    );
    let step = s.on_inbound(Incoming::Text(r#"[2,"h2","Heartbeat",{}]"#), now);
    assert_eq!(error_code(&step), "SecurityError");
}

#[test]
fn a_handler_error_is_answered_in_the_charger_version_spelling() {
    for (version, code) in [(V16, "FormationViolation"), (V201, "FormatViolation")] {
        let (mut s, _) = session(version, Accepted);
        let frame = s.answered("m9", Err(RpcError::Format("bad".into())));
        assert!(
            matches!(frame, Frame::CallError { ref id, code: ref c, .. } if id == "m9" && c == code),
            "{frame:?}"
        );
    }
}

#[test]
fn a_triggered_message_is_let_through_once_while_pending() {
    let (mut s, now) = session(V16, Pending);
    let (trigger, _reply) = call(
        "TriggerMessage",
        json!({"requestedMessage": "StatusNotification"}),
    );
    s.on_outbound(trigger, now);
    let status = r#"[2,"s1","StatusNotification",{}]"#;
    assert!(matches!(
        s.on_inbound(Incoming::Text(status), now),
        Step::Handle { .. }
    ));
    assert_eq!(
        error_code(&s.on_inbound(Incoming::Text(status), now)),
        "SecurityError"
    );
    // Another action's payload naming a message lets nothing through.
    let (other, _reply) = call(
        "ChangeConfiguration",
        json!({"requestedMessage": "Heartbeat"}),
    );
    s.on_inbound(Incoming::Text(r#"[3,"1",{}]"#), now);
    s.on_outbound(other, now);
    let heartbeat = r#"[2,"h1","Heartbeat",{}]"#;
    assert_eq!(
        error_code(&s.on_inbound(Incoming::Text(heartbeat), now)),
        "SecurityError"
    );
}

#[test]
fn outbound_calls_get_fresh_ids_and_settle_by_id() {
    let (mut s, now) = session(V16, Accepted);
    let (first, mut first_reply) = call("ReserveNow", json!({"connectorId": 1}));
    let frame = s.on_outbound(first, now);
    assert_eq!(
        frame,
        Frame::Call {
            id: "1".into(),
            action: "ReserveNow".into(),
            payload: json!({"connectorId": 1})
        }
    );
    assert!(!s.ready_for_call());
    // An answer to another id settles nothing.
    assert_eq!(
        s.on_inbound(Incoming::Text(r#"[3,"7",{}]"#), now),
        Step::Nothing
    );
    assert_eq!(first_reply.try_recv(), Err(TryRecvError::Empty));
    assert!(!s.ready_for_call());
    s.on_inbound(Incoming::Text(r#"[3,"1",{"status":"Accepted"}]"#), now);
    assert_eq!(
        first_reply.try_recv(),
        Ok(Ok(json!({"status": "Accepted"})))
    );
    assert!(s.ready_for_call());

    let (second, mut second_reply) = call("CancelReservation", json!({"reservationId": 3}));
    assert!(matches!(s.on_outbound(second, now), Frame::Call { ref id, .. } if id == "2"));
    s.on_inbound(Incoming::Text(r#"[4,"2","NotImplemented","no",{}]"#), now);
    assert_eq!(
        second_reply.try_recv(),
        Ok(Err(CallFailure::Error(RpcError::from_code(
            "NotImplemented",
            "no"
        ))))
    );
}

#[test]
fn a_call_times_out_at_its_deadline_and_not_before() {
    let (mut s, now) = session(V201, Accepted);
    let (c, mut reply) = call("ReserveNow", json!({}));
    s.on_outbound(c, now);
    assert_eq!(s.call_deadline(), Some(now + CALL_TIMEOUT));
    s.on_tick(now + CALL_TIMEOUT - Duration::from_millis(1));
    assert_eq!(reply.try_recv(), Err(TryRecvError::Empty));
    s.on_tick(now + CALL_TIMEOUT);
    assert_eq!(reply.try_recv(), Ok(Err(CallFailure::Timeout)));
    assert!(s.ready_for_call());
    assert_eq!(s.call_deadline(), None);
    // A late answer to the timed-out call is ignored.
    assert_eq!(
        s.on_inbound(Incoming::Text(r#"[3,"1",{}]"#), now),
        Step::Nothing
    );
}

#[test]
fn the_end_of_the_session_tells_the_waiting_caller() {
    let (mut s, now) = session(V16, Accepted);
    let (c, mut reply) = call("ReserveNow", json!({}));
    s.on_outbound(c, now);
    s.finish();
    assert_eq!(reply.try_recv(), Ok(Err(CallFailure::Offline)));
}

#[test]
fn malformed_frames_are_answered_when_they_have_an_id_and_counted() {
    let (mut s, now) = session(V16, Accepted);
    // Not JSON: nothing to answer to.
    assert_eq!(s.on_inbound(Incoming::Text("hello"), now), Step::Nothing);
    // A CALL without a payload object: answered to its id.
    let step = s.on_inbound(Incoming::Text(r#"[2,"x1","Heartbeat"]"#), now);
    assert!(
        matches!(step, Step::Send(Frame::CallError { ref id, .. }) if id == "x1"),
        "{step:?}"
    );
    assert_eq!(s.on_inbound(Incoming::Binary, now), Step::Nothing);
    // Up to the tenth bad frame, tolerated; the eleventh closes.
    for _ in 3..MAX_BAD_FRAMES {
        assert_eq!(s.on_inbound(Incoming::Binary, now), Step::Nothing);
    }
    assert_eq!(
        s.on_inbound(Incoming::Binary, now),
        Step::Close(Closing::TooManyBadFrames)
    );
}

#[test]
fn an_oversized_frame_or_the_chargers_close_ends_the_session() {
    let (mut s, now) = session(V201, Accepted);
    let big = format!(
        r#"[2,"m1","DataTransfer",{{"data":"{}"}}]"#,
        "x".repeat(2000)
    );
    let bytes = big.len();
    assert_eq!(
        s.on_inbound(Incoming::Text(&big), now),
        Step::Close(Closing::TooLarge { bytes })
    );
    let (mut s, now) = session(V201, Accepted);
    assert_eq!(
        s.on_inbound(Incoming::Close, now),
        Step::Close(Closing::ByCharger)
    );
}

#[test]
fn silence_closes_and_anything_heard_keeps_the_session() {
    let (mut s, start) = session(V16, Accepted);
    assert_eq!(s.on_ping_due(start + SILENCE), Ok(()));
    assert_eq!(
        s.on_ping_due(start + SILENCE + Duration::from_secs(1)),
        Err(Closing::Silent)
    );
    // A pong (or any frame) counts as heard.
    let later = start + Duration::from_secs(100);
    assert_eq!(s.on_inbound(Incoming::Control, later), Step::Nothing);
    assert_eq!(s.on_ping_due(later + SILENCE), Ok(()));
    assert_eq!(
        s.on_ping_due(later + SILENCE + Duration::from_secs(1)),
        Err(Closing::Silent)
    );
}

#[test]
fn a_charger_past_its_message_rate_gets_generic_errors_then_is_closed() {
    for version in [V16, V201] {
        let (mut s, now) = limited(version, Accepted, booking::rate::Rate::per_second(5));
        let heartbeat = r#"[2,"h","Heartbeat",{}]"#;
        for _ in 0..5 {
            assert!(matches!(
                s.on_inbound(Incoming::Text(heartbeat), now),
                Step::Handle { .. }
            ));
        }
        // The sixth in the same instant is refused, and may be retried.
        let step = s.on_inbound(Incoming::Text(heartbeat), now);
        assert_eq!(error_code(&step), "GenericError");
        // One message's worth of time later (200 ms), one more goes through.
        let later = now + Duration::from_millis(200);
        assert!(matches!(
            s.on_inbound(Incoming::Text(heartbeat), later),
            Step::Handle { .. }
        ));
        // A charger that keeps going without waiting: refused five more
        // times (a second's worth), then closed.
        for _ in 0..5 {
            let step = s.on_inbound(Incoming::Text(heartbeat), later);
            assert_eq!(error_code(&step), "GenericError");
        }
        assert_eq!(
            s.on_inbound(Incoming::Text(heartbeat), later),
            Step::Close(Closing::Flooding)
        );
    }
}

#[test]
fn answers_to_evgates_calls_never_count_against_the_charger_rate() {
    let (mut s, now) = limited(V201, Accepted, booking::rate::Rate::per_second(2));
    for n in 0..2 {
        let frame = format!(r#"[2,"h{n}","Heartbeat",{{}}]"#);
        assert!(matches!(
            s.on_inbound(Incoming::Text(&frame), now),
            Step::Handle { .. }
        ));
    }
    // The allowance is spent; evgate's own call is still answered.
    let (out, mut reply) = call("GetVariables", json!({}));
    let Frame::Call { id, .. } = s.on_outbound(out, now) else {
        panic!("a call")
    };
    let answer = format!(r#"[3,"{id}",{{"getVariableResult":[]}}]"#);
    assert_eq!(s.on_inbound(Incoming::Text(&answer), now), Step::Nothing);
    assert!(
        reply.try_recv().unwrap().is_ok(),
        "the answer reached the caller"
    );
}

#[test]
fn a_charger_that_waits_after_a_refusal_is_never_closed() {
    let (mut s, start) = limited(V16, Accepted, booking::rate::Rate::per_second(2));
    let heartbeat = r#"[2,"h","Heartbeat",{}]"#;
    // Ten seconds at four messages a second, twice the rate: every other
    // one is refused, none closes the connection.
    let (mut handled, mut refused) = (0, 0);
    for i in 0..40u64 {
        let now = start + Duration::from_millis(250 * i);
        match s.on_inbound(Incoming::Text(heartbeat), now) {
            Step::Handle { .. } => handled += 1,
            Step::Send(Frame::CallError { .. }) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!((20..=22).contains(&handled), "{handled} handled");
    assert_eq!(handled + refused, 40);
}
