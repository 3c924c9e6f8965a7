//! One charger connection as plain state: the CSMS-initiated call in
//! flight and its deadline, message ids, the malformed-frame count, when
//! the charger was last heard, and admission. The connection task
//! ([`crate::connection`]) moves frames between the socket and this
//! machine; every decision is made here, from the frame and `now`, so the
//! rules are tested without sockets, a runtime or real time.

use std::time::Duration;

use booking::model::OcppVersion;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::admission::Admission;
use crate::context::CsmsConfig;
use crate::domain::Handled;
use crate::metrics;
use crate::registry::{CallFailure, OutboundCall};
use crate::rpc::{Frame, RpcError};

/// Malformed frames tolerated before the socket is closed.
pub const MAX_BAD_FRAMES: u32 = 10;

/// The bounds a session enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest text frame accepted, in bytes; a larger one closes the socket
    /// (1009).
    pub max_message_bytes: usize,
    /// How long a CSMS-initiated call waits for its answer.
    pub call_timeout: Duration,
    /// Nothing heard for this long (three ping periods) closes the socket.
    pub silence: Duration,
    /// Messages the charger may send (0 per period: unlimited).
    pub messages: booking::rate::Rate,
}

impl Limits {
    /// The limits `config` sets; silence is three ping periods.
    pub fn of(config: &CsmsConfig) -> Self {
        Self {
            max_message_bytes: config.max_message_bytes,
            call_timeout: config.call_timeout,
            silence: config.ping_interval * 3,
            messages: config.messages_per_charger,
        }
    }
}

/// A message read from the socket, as far as the session cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A text frame: the only kind OCPP-J uses.
    Text(&'a str),
    /// A binary frame: malformed for OCPP-J.
    Binary,
    /// The charger's Close frame.
    Close,
    /// Ping or pong: proof of life, nothing to answer.
    Control,
}

/// What the connection task does with a message it read.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// A CALL for the handlers; their answer goes to
    /// [`ChargerSession::answered`].
    Handle {
        /// The CALL's message id, for the answer.
        id: String,
        /// The OCPP action, e.g. `StatusNotification`.
        action: String,
        /// The request payload, not yet decoded.
        payload: Value,
    },
    /// Send this frame back.
    Send(Frame),
    /// Nothing to send.
    Nothing,
    /// Close the connection.
    Close(Closing),
}

/// Why the session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// The charger closed; its Close frame is answered by the protocol.
    ByCharger,
    /// A text frame over [`Limits::max_message_bytes`] (Close 1009).
    TooLarge {
        /// The frame's size, in bytes.
        bytes: usize,
    },
    /// More than [`MAX_BAD_FRAMES`] malformed frames on this connection (Close
    /// 1008).
    TooManyBadFrames,
    /// Nothing heard for [`Limits::silence`].
    Silent,
    /// Kept sending past [`Limits::messages`] after a period's worth of
    /// refusals (Close 1008).
    Flooding,
}

/// A CSMS-initiated call sent and not yet answered.
#[derive(Debug)]
struct InFlight {
    id: String,
    action: &'static str,
    sent: Instant,
    deadline: Instant,
    reply: oneshot::Sender<Result<Value, CallFailure>>,
}

/// The state of one charger connection.
#[derive(Debug)]
pub struct ChargerSession {
    charge_point_id: String,
    version: OcppVersion,
    limits: Limits,
    admission: Admission,
    in_flight: Option<InFlight>,
    next_id: u64,
    bad_frames: u32,
    last_heard: Instant,
    rate: MessageRate,
}

/// The charger's message allowance: `count` at once, then one every
/// `per / count` (a GCRA over the session's `now`, so it is tested without
/// real time); counts refusals in a row.
#[derive(Debug)]
struct MessageRate {
    /// Zero: unlimited.
    interval: Duration,
    window: Duration,
    /// When the allowance is back to full, in the GCRA's terms.
    full_at: Instant,
    refused_in_a_row: u32,
    /// Refusals in a row that close the connection: a period's worth.
    patience: u32,
}

impl MessageRate {
    fn new(rate: booking::rate::Rate, now: Instant) -> Self {
        let interval = rate.per.checked_div(rate.count).unwrap_or_default();
        Self {
            interval,
            window: rate.per,
            full_at: now,
            refused_in_a_row: 0,
            patience: rate.count,
        }
    }

    /// Counts one message: whether it is within the rate.
    fn allow(&mut self, now: Instant) -> bool {
        if self.interval.is_zero() {
            return true;
        }
        let next = self.full_at.max(now) + self.interval;
        if next.saturating_duration_since(now) > self.window {
            self.refused_in_a_row += 1;
            return false;
        }
        self.full_at = next;
        self.refused_in_a_row = 0;
        true
    }

    /// Refused for a whole period's worth of messages in a row: the charger
    /// does not wait for its answers.
    fn exhausted(&self) -> bool {
        self.refused_in_a_row > self.patience
    }
}

impl ChargerSession {
    /// A session for a connection opened at `now`, with `admission` where the
    /// operator's policy puts the charger.
    pub fn new(
        charge_point_id: &str,
        version: OcppVersion,
        admission: Admission,
        limits: Limits,
        now: Instant,
    ) -> Self {
        Self {
            charge_point_id: charge_point_id.to_owned(),
            version,
            limits,
            admission,
            in_flight: None,
            next_id: 1,
            bad_frames: 0,
            last_heard: now,
            rate: MessageRate::new(limits.messages, now),
        }
    }

    /// A message arrived from the charger.
    pub fn on_inbound(&mut self, message: Incoming<'_>, now: Instant) -> Step {
        self.last_heard = now;
        let text = match message {
            Incoming::Text(text) => text,
            Incoming::Binary => return self.bad_frame(None),
            Incoming::Close => return Step::Close(Closing::ByCharger),
            Incoming::Control => return Step::Nothing,
        };
        if text.len() > self.limits.max_message_bytes {
            tracing::warn!(charger.id = %self.charge_point_id, bytes = text.len(), "frame too large");
            return Step::Close(Closing::TooLarge { bytes: text.len() });
        }
        match Frame::parse(text) {
            // Only the charger's own CALLs count against its rate: its
            // answers to evgate's calls were asked for, one at a time.
            Ok(Frame::Call { id, action, .. }) if !self.rate.allow(now) => {
                self.over_rate(&id, &action)
            }
            Ok(Frame::Call { id, action, .. }) if !self.admission.allows(&action) => {
                let refused = RpcError::Security(format!("{action} before the boot was accepted"));
                metrics::inbound_call(&action, Some(&refused), self.version, None);
                Step::Send(Frame::error(&id, &refused, self.version))
            }
            Ok(Frame::Call {
                id,
                action,
                payload,
            }) => Step::Handle {
                id,
                action,
                payload,
            },
            Ok(Frame::CallResult { id, payload }) => {
                self.settle(&id, Ok(payload), now);
                Step::Nothing
            }
            Ok(Frame::CallError {
                id,
                code,
                description,
                ..
            }) => {
                let error = RpcError::from_code(&code, &description);
                self.settle(&id, Err(CallFailure::Error(error)), now);
                Step::Nothing
            }
            Err(bad) => {
                tracing::warn!(charger.id = %self.charge_point_id, error = %bad.error, "malformed frame");
                metrics::bad_frame();
                let answer = bad.id.map(|id| Frame::error(&id, &bad.error, self.version));
                self.bad_frame(answer)
            }
        }
    }

    /// The handlers answered the CALL `id`: the frame to send back.
    pub fn answered(&mut self, id: &str, outcome: Result<Handled, RpcError>) -> Frame {
        match outcome {
            Ok(handled) => {
                if let Some(status) = handled.booted {
                    self.admission.booted(status);
                }
                Frame::CallResult {
                    id: id.to_owned(),
                    payload: handled.payload,
                }
            }
            Err(error) => {
                // One line per failure: an internal one was logged where it
                // happened (inside the call's span); the charger's own
                // mistakes are logged here, naming the call.
                if !matches!(error, RpcError::Internal(_)) {
                    tracing::info!(charger.id = %self.charge_point_id, ocpp.unique_id = id,
                        error = %error, "answered with CALLERROR");
                }
                Frame::error(id, &error, self.version)
            }
        }
    }

    /// Whether a queued CSMS-initiated call may go out (one at a time).
    pub fn ready_for_call(&self) -> bool {
        self.in_flight.is_none()
    }

    /// Sends a CSMS-initiated call: the frame to write. Its answer, a
    /// timeout or the end of the session settles `call.reply`.
    pub fn on_outbound(&mut self, call: OutboundCall, now: Instant) -> Frame {
        if let Some(requested) = &call.triggers {
            self.admission.triggering(requested);
        }
        if let Some(earlier) = self.in_flight.take() {
            // The task waits for `ready_for_call`; should it not, the
            // earlier caller learns at once rather than never.
            let _ = earlier.reply.send(Err(CallFailure::Busy));
        }
        let id = self.next_id.to_string();
        self.next_id += 1;
        self.in_flight = Some(InFlight {
            id: id.clone(),
            action: call.action,
            sent: now,
            deadline: now + self.limits.call_timeout,
            reply: call.reply,
        });
        Frame::Call {
            id,
            action: call.action.to_owned(),
            payload: call.payload,
        }
    }

    /// When the call in flight times out, if one is.
    pub fn call_deadline(&self) -> Option<Instant> {
        self.in_flight.as_ref().map(|f| f.deadline)
    }

    /// Time passed: a call past its deadline fails with a timeout.
    pub fn on_tick(&mut self, now: Instant) {
        if self.in_flight.as_ref().is_some_and(|f| f.deadline <= now)
            && let Some(f) = self.in_flight.take()
        {
            tracing::warn!(charger.id = %self.charge_point_id, "outbound call timed out");
            metrics::outbound_call(f.action, "timeout", None);
            let _ = f.reply.send(Err(CallFailure::Timeout));
        }
    }

    /// A ping is due: send it, unless the charger has been silent too long.
    pub fn on_ping_due(&mut self, now: Instant) -> Result<(), Closing> {
        if now.saturating_duration_since(self.last_heard) > self.limits.silence {
            tracing::info!(charger.id = %self.charge_point_id, "no pong or message in time; closing");
            return Err(Closing::Silent);
        }
        Ok(())
    }

    /// The connection is gone: the call in flight learns the charger is offline.
    pub fn finish(mut self) {
        if let Some(f) = self.in_flight.take() {
            metrics::outbound_call(f.action, "offline", None);
            let _ = f.reply.send(Err(CallFailure::Offline));
        }
    }

    /// A CALL past the rate gets a CALLERROR (GenericError: the charger may
    /// retry it later); a charger that keeps going regardless is closed.
    fn over_rate(&mut self, id: &str, action: &str) -> Step {
        if self.rate.exhausted() {
            tracing::warn!(charger.id = %self.charge_point_id, "message rate exceeded; closing");
            return Step::Close(Closing::Flooding);
        }
        let refused = RpcError::Generic(format!(
            "{action} refused: more than {} messages in {:?}; retry later",
            self.limits.messages.count, self.limits.messages.per
        ));
        metrics::inbound_call(action, Some(&refused), self.version, None);
        Step::Send(Frame::error(id, &refused, self.version))
    }

    fn bad_frame(&mut self, answer: Option<Frame>) -> Step {
        self.bad_frames += 1;
        if self.bad_frames > MAX_BAD_FRAMES {
            return Step::Close(Closing::TooManyBadFrames);
        }
        answer.map_or(Step::Nothing, Step::Send)
    }

    /// An answer to our call: settles it if it is the one in flight;
    /// answers with another id are logged and ignored.
    fn settle(&mut self, id: &str, result: Result<Value, CallFailure>, now: Instant) {
        match self.in_flight.take() {
            Some(f) if f.id == id => {
                let outcome = match &result {
                    Err(CallFailure::Error(e)) => e.code(self.version),
                    _ => "answered",
                };
                metrics::outbound_call(
                    f.action,
                    outcome,
                    Some(now.saturating_duration_since(f.sent)),
                );
                let _ = f.reply.send(result);
            }
            other => {
                tracing::info!(charger.id = %self.charge_point_id, message.id = id,
                    "answer to no call in flight; ignored");
                self.in_flight = other;
            }
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
