//! Refund delivery to PAYMENT_WEBHOOK_URL over real HTTP. The payment side
//! is a small local HTTP server standing in for the provider (which cannot
//! run here); it records what it receives and answers as scripted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use booking::model::{Booking, BookingStatus, NewConnector, RefundRequest, RefundState, Station};
use booking::refunds::RefundOutbox;
use booking::{Clock, ManualClock, Store};
use chrono::{TimeDelta, Utc};
use uuid::Uuid;

#[derive(Default)]
struct PaymentSide {
    answers: Mutex<VecDeque<u16>>,
    received: Mutex<Vec<(HeaderMap, serde_json::Value, String)>>,
}

/// Starts the stand-in; returns its URL.
async fn payment_side(side: Arc<PaymentSide>) -> String {
    let app = axum::Router::new().route(
        "/refunds",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let side = side.clone();
            async move {
                let json = serde_json::from_str(&body).unwrap();
                side.received.lock().unwrap().push((headers, json, body));
                let code = side.answers.lock().unwrap().pop_front().unwrap_or(200);
                StatusCode::from_u16(code).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/refunds")
}

/// `n` cancelled bookings, each owed a refund due now.
async fn owed(store: &dyn Store, now: chrono::DateTime<Utc>, n: usize) -> Vec<RefundRequest> {
    let station = Station {
        id: Uuid::new_v4(),
        name: "S".into(),
        latitude: 1.0,
        longitude: 1.0,
        address: None,
        created_at: now,
    };
    store.insert_station(&station).await.unwrap();
    let charger = booking::model::Charger {
        id: Uuid::new_v4(),
        station_id: station.id,
        charge_point_id: format!("CP-{}", Uuid::new_v4().simple()),
        security_profile: booking::model::SecurityProfile::NONE,
        password_hash: None,
        ocpp_version: None,
        vendor: None,
        model: None,
        firmware_version: None,
        online: false,
        last_seen_at: None,
        created_at: now,
        admission: None,
        previous_credentials: None,
        pending_credentials: None,
    };
    store.insert_charger(&charger).await.unwrap();
    let connector = store
        .insert_connector(&NewConnector {
            id: Uuid::new_v4(),
            station_id: station.id,
            charger_id: charger.id,
            evse_id: 1,
            ocpp_connector_id: 1,
            connector_number: None,
            connector_type: "CCS".into(),
            power_kw: 50.0,
            created_at: now,
        })
        .await
        .unwrap();
    let mut refunds = Vec::new();
    for i in 0..n {
        let b = Booking {
            id: Uuid::new_v4(),
            user_id: 1,
            station_id: station.id,
            connector_id: connector.id,
            start_ts: now + TimeDelta::hours(i as i64),
            end_ts: now + TimeDelta::hours(i as i64 + 1),
            status: BookingStatus::NoShow,
            hold_token: None,
            payment_id: Some(format!("pay_{i}")),
            vendor_booking_id: None,
            reservation_id: None,
            reserved_on_charger: false,
            cancel_reason: Some("NO_SHOW".into()),
            id_tag: None,
            created_at: now,
            updated_at: now,
        };
        store.insert_booking(&b).await.unwrap();
        let r = RefundRequest {
            id: Uuid::new_v4(),
            booking_id: b.id,
            payment_id: b.payment_id.clone(),
            reason: "NO_SHOW".into(),
            state: RefundState::Pending,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        };
        assert!(store.enqueue_refund(&r).await.unwrap());
        refunds.push(r);
    }
    refunds
}

async fn outbox(
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    url: &str,
    max_attempts: i32,
) -> RefundOutbox {
    RefundOutbox {
        store,
        gateway: Arc::new(evgate::refunds::HttpRefunds::new(url, Some("payment-secret")).unwrap()),
        clock,
        max_attempts,
    }
}

#[tokio::test]
async fn a_refund_is_retried_with_backoff_until_delivered_signed_and_idempotent() {
    let (store, _dir) = common::store("sqlite").await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let side = Arc::new(PaymentSide::default());
    side.answers.lock().unwrap().extend([500, 503]);
    let url = payment_side(side.clone()).await;
    let refund = owed(&*store, clock.now(), 1).await.remove(0);
    let outbox = outbox(store.clone(), clock.clone(), &url, 10).await;

    assert_eq!(outbox.deliver_due().await.unwrap(), 0);
    assert_eq!(
        outbox.deliver_due().await.unwrap(),
        0,
        "not due again before its backoff"
    );
    assert_eq!(side.received.lock().unwrap().len(), 1);
    clock.advance(TimeDelta::seconds(10));
    assert_eq!(outbox.deliver_due().await.unwrap(), 0);
    clock.advance(TimeDelta::seconds(19));
    assert_eq!(
        outbox.deliver_due().await.unwrap(),
        0,
        "second backoff is 20 s"
    );
    clock.advance(TimeDelta::seconds(1));
    assert_eq!(outbox.deliver_due().await.unwrap(), 1);
    clock.advance(TimeDelta::days(1));
    assert_eq!(outbox.deliver_due().await.unwrap(), 0, "delivered once");

    let received = side.received.lock().unwrap();
    assert_eq!(received.len(), 3);
    for (headers, json, body) in received.iter() {
        assert_eq!(headers["idempotency-key"], refund.id.to_string().as_str());
        assert_eq!(json["paymentId"], "pay_0");
        assert_eq!(json["bookingId"], refund.booking_id.to_string());
        assert_eq!(json["reason"], "NO_SHOW");
        let ts: i64 = headers["x-evgate-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let expected = webhooks::signature::sign(b"payment-secret", ts, body.as_bytes());
        assert_eq!(headers["x-evgate-signature"], expected.as_str());
    }
}

#[tokio::test]
async fn a_refund_that_keeps_failing_is_given_up_after_the_last_attempt() {
    let (store, _dir) = common::store("sqlite").await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let side = Arc::new(PaymentSide::default());
    side.answers.lock().unwrap().extend([500; 10]);
    let url = payment_side(side.clone()).await;
    owed(&*store, clock.now(), 1).await;
    let outbox = outbox(store.clone(), clock.clone(), &url, 3).await;
    for _ in 0..6 {
        outbox.deliver_due().await.unwrap();
        clock.advance(TimeDelta::hours(2));
    }
    assert_eq!(side.received.lock().unwrap().len(), 3);
    assert!(
        store
            .due_refunds(clock.now() + TimeDelta::days(30), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_send_each_refund_once() {
    let (store, _dir) = common::store("sqlite").await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let side = Arc::new(PaymentSide::default());
    let url = payment_side(side.clone()).await;
    owed(&*store, clock.now(), 8).await;
    let mut workers = Vec::new();
    for _ in 0..3 {
        let outbox = outbox(store.clone(), clock.clone(), &url, 10).await;
        workers.push(tokio::spawn(
            async move { outbox.deliver_due().await.unwrap() },
        ));
    }
    let mut delivered = 0;
    for w in workers {
        delivered += w.await.unwrap();
    }
    assert_eq!(delivered, 8);
    let received = side.received.lock().unwrap();
    let mut keys: Vec<_> = received
        .iter()
        .map(|(h, ..)| h["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!((received.len(), keys.len()), (8, 8));
}
