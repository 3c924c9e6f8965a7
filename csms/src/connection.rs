//! One task per charger connection: reads frames, answers CALLs in order,
//! sends CSMS-initiated CALLs one at a time (the rest wait in the queue)
//! with a deadline, pings, and goes away cleanly. The only writer to the
//! socket.

use std::time::Duration;

use booking::model::OcppVersion;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tracing::Instrument;

use crate::admission::{Admission, RegistrationStatus};
use crate::context::Context;
use crate::registry::{CallFailure, Registration};
use crate::rpc::{Frame, RpcError};

/// Malformed frames tolerated before the socket is closed.
const MAX_BAD_FRAMES: u32 = 10;

struct InFlight {
    id: String,
    deadline: Instant,
    reply: oneshot::Sender<Result<Value, CallFailure>>,
}

pub async fn run<S>(ctx: Context, mut ws: WebSocketStream<S>, registration: Registration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Registration {
        mut calls,
        mut close,
        ..
    } = registration;
    let config = ctx.deps.config.clone();
    let mut in_flight: Option<InFlight> = None;
    let mut admission = Admission::new(RegistrationStatus::for_charger(
        &ctx.charger,
        config.admission,
    ));
    let mut next_id: u64 = 1;
    let mut bad_frames = 0;
    let mut pings = tokio::time::interval(config.ping_interval);
    pings.tick().await;
    let mut last_heard = Instant::now();
    let silence_limit = config.ping_interval * 3;
    let far = || Instant::now() + Duration::from_secs(86_400);

    loop {
        let deadline = in_flight.as_ref().map_or_else(far, |f| f.deadline);
        tokio::select! {
            incoming = ws.next() => {
                let Some(Ok(message)) = incoming else { break };
                last_heard = Instant::now();
                let text = match message {
                    Message::Text(t) => t.to_string(),
                    Message::Binary(_) => {
                        bad_frames += 1;
                        if bad_frames > MAX_BAD_FRAMES { break }
                        continue;
                    }
                    // The reply Close frame is queued by the protocol; send it
                    // before the socket goes (RFC 6455 §5.5.1).
                    Message::Close(_) => {
                        let _ = ws.flush().await;
                        break;
                    }
                    _ => continue,
                };
                if text.len() > config.max_message_bytes {
                    tracing::warn!(charger.id = %ctx.charger.charge_point_id, bytes = text.len(), "frame too large");
                    break;
                }
                let reply = match Frame::parse(&text) {
                    Ok(Frame::Call { id, action, .. }) if !admission.allows(&action) => {
                        let refused = RpcError::Security(format!("{action} before the boot was accepted"));
                        Some(Frame::error(&id, &refused, ctx.version))
                    }
                    Ok(Frame::Call { id, action, payload }) => {
                        let frame = answer(&ctx, &id, &action, payload).await;
                        if let (Frame::CallResult { payload, .. }, "BootNotification") = (&frame, action.as_str()) {
                            admission.booted(registration_of(payload));
                        }
                        Some(frame)
                    }
                    Ok(Frame::CallResult { id, payload }) => {
                        settle(&mut in_flight, &id, Ok(payload));
                        None
                    }
                    Ok(Frame::CallError { id, code, description, .. }) => {
                        settle(&mut in_flight, &id, Err(CallFailure::Error(RpcError::from_code(&code, &description))));
                        None
                    }
                    Err(bad) => {
                        bad_frames += 1;
                        tracing::warn!(charger.id = %ctx.charger.charge_point_id, error = %bad.error, "malformed frame");
                        if bad_frames > MAX_BAD_FRAMES { break }
                        bad.id.map(|id| Frame::error(&id, &bad.error, ctx.version))
                    }
                };
                if let Some(frame) = reply
                    && ws.send(Message::text(frame.encode())).await.is_err()
                {
                    break;
                }
            }
            Some(call) = calls.recv(), if in_flight.is_none() => {
                if call.action == "TriggerMessage"
                    && let Some(requested) = call.payload.get("requestedMessage").and_then(Value::as_str)
                {
                    admission.triggering(requested);
                }
                let id = next_id.to_string();
                next_id += 1;
                let frame = Frame::Call { id: id.clone(), action: call.action.to_owned(), payload: call.payload };
                if ws.send(Message::text(frame.encode())).await.is_err() {
                    let _ = call.reply.send(Err(CallFailure::Offline));
                    break;
                }
                in_flight = Some(InFlight { id, deadline: Instant::now() + config.call_timeout, reply: call.reply });
            }
            () = sleep_until(deadline), if in_flight.is_some() => {
                if let Some(f) = in_flight.take() {
                    tracing::warn!(charger.id = %ctx.charger.charge_point_id, "outbound call timed out");
                    let _ = f.reply.send(Err(CallFailure::Timeout));
                }
            }
            _ = pings.tick() => {
                if last_heard.elapsed() > silence_limit {
                    tracing::info!(charger.id = %ctx.charger.charge_point_id, "no pong or message in time; closing");
                    break;
                }
                if ws.send(Message::Ping(Vec::new().into())).await.is_err() { break }
            }
            _ = &mut close => {
                let _ = ws.close(None).await;
                break;
            }
        }
    }
    if let Some(f) = in_flight.take() {
        let _ = f.reply.send(Err(CallFailure::Offline));
    }
    // Calls still queued learn the charger went away when the queue drops.
    calls.close();
    while let Ok(call) = calls.try_recv() {
        let _ = call.reply.send(Err(CallFailure::Offline));
    }
}

async fn answer(ctx: &Context, id: &str, action: &str, payload: Value) -> Frame {
    let span = tracing::info_span!("ocpp", charger.id = %ctx.charger.charge_point_id, ocpp.action = action);
    let result = async {
        match ctx.version {
            OcppVersion::V16 => crate::v16::dispatch(ctx, action, payload).await,
            OcppVersion::V201 => crate::v201::dispatch(ctx, action, payload).await,
        }
    }
    .instrument(span.clone())
    .await;
    let _enter = span.enter();
    match result {
        Ok(payload) => Frame::CallResult {
            id: id.to_owned(),
            payload,
        },
        Err(error) => {
            tracing::info!(error = %error, "answered with CALLERROR");
            Frame::error(id, &error, ctx.version)
        }
    }
}

fn registration_of(boot_answer: &Value) -> RegistrationStatus {
    match boot_answer.get("status").and_then(Value::as_str) {
        Some("Accepted") => RegistrationStatus::Accepted,
        Some("Rejected") => RegistrationStatus::Rejected,
        _ => RegistrationStatus::Pending,
    }
}

/// An answer to our call: settle it if it is the one in flight; answers with
/// an unknown id are logged and ignored.
fn settle(in_flight: &mut Option<InFlight>, id: &str, result: Result<Value, CallFailure>) {
    match in_flight.take() {
        Some(f) if f.id == id => {
            let _ = f.reply.send(result);
        }
        other => {
            tracing::info!(message.id = id, "answer to no call in flight; ignored");
            *in_flight = other;
        }
    }
}
