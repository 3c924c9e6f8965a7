//! The connection task's timers in paused time: a real WebSocket over an
//! in-memory pipe, the real task, and the clock moved by tokio instead of
//! waited for. What the session machine decides (`csms::session`), the
//! task must act on at the right moment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use booking::model::{Charger, OcppVersion, SecurityProfile};
use common::TestApp;
use csms::context::Context;
use csms::registry::CallFailure;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const PING: Duration = Duration::from_secs(60);

struct Line {
    registry: Arc<csms::Registry>,
    charger: WebSocketStream<tokio::io::DuplexStream>,
    task: tokio::task::JoinHandle<()>,
    _app: TestApp,
}

/// The connection task of `CP-T` running over a pipe; the charger's end of
/// the WebSocket is returned. Time is paused once the store is open.
async fn line() -> Line {
    let app = TestApp::new().await;
    let config = csms::CsmsConfig {
        call_timeout: CALL_TIMEOUT,
        ping_interval: PING,
        ..Default::default()
    };
    let ctx = Context {
        charger: Charger {
            id: uuid::Uuid::new_v4(),
            station_id: uuid::Uuid::new_v4(),
            charge_point_id: "CP-T".into(),
            security_profile: SecurityProfile::NONE,
            password_hash: None,
            ocpp_version: Some(OcppVersion::V16),
            vendor: None,
            model: None,
            firmware_version: None,
            online: true,
            last_seen_at: None,
            created_at: chrono::Utc::now(),
            admission: None,
            previous_credentials: None,
            pending_credentials: None,
        },
        version: OcppVersion::V16,
        connectors: Default::default(),
        deps: csms::Deps {
            store: app.store.clone(),
            bookings: app.bookings.clone(),
            clock: app.clock.clone(),
            config,
            elsewhere: Arc::new(csms::OnlyHere),
            presence: csms::PresenceWriter::new(app.store.clone()),
            pending_starts: csms::PendingStarts::default(),
            charging_clocks: Default::default(),
            device_model: csms::DeviceModel::none(),
            vendor_extensions: csms::data_transfer::VendorExtensions::none(),
            local_lists: csms::local_list::LocalLists::none(),
            certificates: Default::default(),
            smart_charging: csms::smart_charging::SmartCharging::none(),
            remote_authorizer: std::sync::Arc::new(booking::authorization::NoRemote),
        },
    };
    tokio::time::pause();
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let registry = Arc::new(csms::Registry::default());
    let registration = registry.register("CP-T", OcppVersion::V16);
    let server = WebSocketStream::from_raw_socket(ours, Role::Server, None).await;
    let charger = WebSocketStream::from_raw_socket(theirs, Role::Client, None).await;
    let task = tokio::spawn(csms::connection::run(ctx, server, registration));
    Line {
        registry,
        charger,
        task,
        _app: app,
    }
}

/// The next text frame the charger receives, as JSON.
async fn next_call(ws: &mut WebSocketStream<tokio::io::DuplexStream>) -> serde_json::Value {
    loop {
        match ws.next().await.expect("open").expect("frame") {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            _ => continue,
        }
    }
}

#[tokio::test]
async fn an_unanswered_call_times_out_at_the_call_timeout_and_the_next_goes_out() {
    let mut l = line().await;
    let registry = l.registry.clone();
    let started = Instant::now();
    let first = tokio::spawn(async move {
        registry
            .call("CP-T", "ReserveNow", json!({"connectorId": 1}))
            .await
    });
    let frame = next_call(&mut l.charger).await;
    assert_eq!(frame[2], "ReserveNow");
    // The charger says nothing; paused time runs to the deadline.
    assert_eq!(first.await.unwrap(), Err(CallFailure::Timeout));
    let waited = started.elapsed();
    assert!(
        waited >= CALL_TIMEOUT && waited < CALL_TIMEOUT + Duration::from_secs(1),
        "{waited:?}"
    );
    // The queue moves on, with a fresh message id, and an answer settles it.
    let registry = l.registry.clone();
    let second = tokio::spawn(async move {
        registry
            .call("CP-T", "CancelReservation", json!({"reservationId": 1}))
            .await
    });
    let frame = next_call(&mut l.charger).await;
    assert_eq!(
        (frame[1].as_str(), frame[2].as_str()),
        (Some("2"), Some("CancelReservation"))
    );
    l.charger
        .send(Message::text(r#"[3,"2",{"status":"Accepted"}]"#))
        .await
        .unwrap();
    assert_eq!(second.await.unwrap(), Ok(json!({"status": "Accepted"})));
    assert!(!l.task.is_finished());
}

#[tokio::test]
async fn a_silent_charger_is_closed_after_three_ping_periods_and_not_before() {
    let l = line().await;
    let started = Instant::now();
    // The charger's end is never read: no pong ever comes back.
    tokio::time::timeout(PING * 5, l.task)
        .await
        .expect("the task ends")
        .unwrap();
    let lived = started.elapsed();
    assert!(lived > PING * 3 && lived <= PING * 4, "{lived:?}");
    drop(l.charger);
}

#[tokio::test]
async fn a_charger_that_answers_pings_stays() {
    let mut l = line().await;
    // Reading the stream answers pings with pongs (tungstenite does).
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = l.charger.next().await {} });
    // Paused time: ten ping periods pass at once, and nothing may happen.
    tokio::time::sleep(PING * 10).await;
    assert!(
        !l.task.is_finished(),
        "closed though the charger answered its pings"
    );
    l.registry.close("CP-T");
    tokio::time::timeout(Duration::from_secs(5), l.task)
        .await
        .expect("closed on request")
        .unwrap();
    reader.abort();
}

/// The Close frame the charger receives, if any, before the socket ends.
async fn close_code(ws: &mut WebSocketStream<tokio::io::DuplexStream>) -> Option<u16> {
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Close(frame) = message {
            return frame.map(|f| u16::from(f.code));
        }
    }
    None
}

#[tokio::test]
async fn a_frame_over_the_limit_is_answered_with_close_1009() {
    let mut l = line().await;
    let big = format!(
        r#"[2,"1","DataTransfer",{{"data":"{}"}}]"#,
        "x".repeat(70 * 1024)
    );
    l.charger.send(Message::text(big)).await.unwrap();
    assert_eq!(close_code(&mut l.charger).await, Some(1009));
    tokio::time::timeout(Duration::from_secs(5), l.task)
        .await
        .expect("the task ends")
        .unwrap();
}

#[tokio::test]
async fn a_charger_sending_malformed_frames_is_closed_with_1008() {
    let mut l = line().await;
    for _ in 0..=csms::session::MAX_BAD_FRAMES {
        if l.charger.send(Message::text("not json")).await.is_err() {
            break;
        }
    }
    assert_eq!(close_code(&mut l.charger).await, Some(1008));
}
