//! One task per charger connection, the only writer to its socket: moves
//! frames between the socket and the [`ChargerSession`] (which decides
//! everything), runs the handlers for CALLs in order, sends queued
//! CSMS-initiated calls when the session is ready for one, pings, and
//! goes away cleanly.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::Instrument;

use crate::admission::{Admission, RegistrationStatus};
use crate::context::Context;
use crate::domain::{FollowUp, Handled};
use crate::journal::Direction;
use crate::registry::{CallFailure, OutboundCall, Registration};
use crate::rpc::RpcError;
use crate::session::{ChargerSession, Closing, Incoming, Limits, Step};

/// Runs one charger's connection until either side ends it, as the only writer
/// to its socket. Calls still queued at the end fail as `Offline`; the caller
/// unregisters the connection afterwards.
pub async fn run<S>(ctx: Context, mut ws: WebSocketStream<S>, registration: Registration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Registration {
        mut calls,
        mut close,
        journal,
        own_calls,
        ..
    } = registration;
    let keep = |direction: Direction, text: &str| {
        if let Some(j) = &journal {
            j.record(direction, text, chrono::Utc::now(), Instant::now());
        }
    };
    let config = &ctx.deps.config;
    let admission = Admission::new(RegistrationStatus::for_charger(
        &ctx.charger,
        config.admission,
    ));
    let mut session = ChargerSession::new(
        &ctx.charger.charge_point_id,
        ctx.version,
        admission,
        Limits::of(config),
        Instant::now(),
    );
    let mut pings = tokio::time::interval(config.ping_interval);
    pings.tick().await;
    let far = || Instant::now() + Duration::from_secs(86_400);

    loop {
        let deadline = session.call_deadline();
        tokio::select! {
            incoming = ws.next() => {
                let message = match incoming {
                    Some(Ok(message)) => message,
                    // Over the frame or message limit: tungstenite stops
                    // reading; say why before the socket goes.
                    Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(e))) => {
                        tracing::warn!(charger.id = %ctx.charger.charge_point_id, error = %e,
                            "frame too large; closing");
                        crate::metrics::closed("too_large");
                        send_close(&mut ws, CloseCode::Size, "frame too large").await;
                        break;
                    }
                    _ => break,
                };
                let incoming = match &message {
                    Message::Text(t) => {
                        keep(Direction::In, t.as_str());
                        Incoming::Text(t.as_str())
                    }
                    Message::Binary(_) => Incoming::Binary,
                    Message::Close(_) => Incoming::Close,
                    _ => Incoming::Control,
                };
                let reply = match session.on_inbound(incoming, Instant::now()) {
                    Step::Handle { id, action, payload } => {
                        // Boxed: the handlers' futures are large and an idle
                        // connection (most of them) should not carry their room.
                        let started = Instant::now();
                        let mut outcome = Box::pin(handle(&ctx, &id, &action, payload)).await;
                        crate::metrics::inbound_call(&action, outcome.as_ref().err(), ctx.version,
                            Some(started.elapsed()));
                        if let Some(then) = outcome.as_mut().ok().and_then(|h| h.then.take()) {
                            follow_up(&ctx, &own_calls, then);
                        }
                        Some(session.answered(&id, outcome))
                    }
                    Step::Send(frame) => Some(frame),
                    Step::Nothing => None,
                    // The reply Close frame is queued by the protocol; send it
                    // before the socket goes (RFC 6455 §5.5.1).
                    Step::Close(Closing::ByCharger) => {
                        let _ = ws.flush().await;
                        break;
                    }
                    Step::Close(closing) => {
                        count_close(closing);
                        if let Some((code, reason)) = close_frame_for(closing) {
                            send_close(&mut ws, code, reason).await;
                        }
                        break;
                    }
                };
                if let Some(frame) = reply {
                    let text = frame.encode();
                    keep(Direction::Out, &text);
                    if ws.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
            }
            Some(call) = calls.recv(), if session.ready_for_call() => {
                let text = session.on_outbound(*call, Instant::now()).encode();
                keep(Direction::Out, &text);
                if ws.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
            () = sleep_until(deadline.unwrap_or_else(far)), if deadline.is_some() => {
                session.on_tick(Instant::now());
            }
            _ = pings.tick() => {
                if let Err(closing) = session.on_ping_due(Instant::now()) {
                    count_close(closing);
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
    session.finish();
    // Calls still queued learn the charger went away when the queue drops.
    calls.close();
    while let Ok(call) = calls.try_recv() {
        let _ = call.reply.send(Err(CallFailure::Offline));
    }
}

/// The Close frame for a session the gateway ends: 1009 for a frame over
/// the limit, 1008 for a charger that keeps sending malformed frames
/// or past its message rate (RFC 6455 §7.4.1). A silent charger gets none: nobody would read it.
fn close_frame_for(closing: Closing) -> Option<(CloseCode, &'static str)> {
    match closing {
        Closing::TooLarge { .. } => Some((CloseCode::Size, "frame too large")),
        Closing::TooManyBadFrames => Some((CloseCode::Policy, "too many malformed frames")),
        Closing::Flooding => Some((CloseCode::Policy, "message rate exceeded")),
        Closing::Silent | Closing::ByCharger => None,
    }
}

/// Counts a connection evgate ended, by reason.
fn count_close(closing: Closing) {
    crate::metrics::closed(match closing {
        Closing::ByCharger => return,
        Closing::TooLarge { .. } => "too_large",
        Closing::TooManyBadFrames => "bad_frames",
        Closing::Flooding => "message_rate",
        Closing::Silent => "silent",
    });
}

/// Sends a Close frame, waiting at most a second for the socket.
async fn send_close<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &'static str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(Some(frame))).await;
}

/// Queues a handler's follow-up call to its own charger: it goes out after
/// the answer being written now (this task sends both, in order), and its
/// outcome is logged.
fn follow_up(
    ctx: &Context,
    own_calls: &tokio::sync::mpsc::WeakSender<Box<OutboundCall>>,
    then: FollowUp,
) {
    let id = ctx.charger.charge_point_id.clone();
    let Some(sender) = own_calls.upgrade() else {
        return;
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let action = then.action;
    if sender
        .try_send(Box::new(OutboundCall::new(action, then.payload, reply)))
        .is_err()
    {
        tracing::warn!(charger.id = %id, ocpp.action = action, "the charger's queue is full; follow-up call dropped");
        return;
    }
    tokio::spawn(async move {
        match answer.await.unwrap_or(Err(CallFailure::Offline)) {
            Ok(answer) => tracing::info!(charger.id = %id, ocpp.action = action, answer = %answer,
                "follow-up call answered"),
            Err(e) => tracing::warn!(charger.id = %id, ocpp.action = action, error = %e,
                "follow-up call failed"),
        }
    });
}

/// Runs the handlers for one CALL inside the charger's span.
async fn handle(
    ctx: &Context,
    unique_id: &str,
    action: &str,
    payload: serde_json::Value,
) -> Result<Handled, RpcError> {
    let span = tracing::info_span!("ocpp", charger.id = %ctx.charger.charge_point_id,
        ocpp.action = action, ocpp.unique_id = unique_id);
    crate::domain::handle(ctx, action, payload)
        .instrument(span)
        .await
}
