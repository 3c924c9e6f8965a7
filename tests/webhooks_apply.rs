//! The vendor-webhook inbox applied, end to end in process: idempotency,
//! out-of-order delivery, stale statuses, backoff and the dead letter,
//! several vendors at once, another instance taking over, and bookings a
//! vendor session fulfils. How webhooks are accepted is in
//! `tests/webhooks.rs`. Time is the manual clock; the inbox is applied with
//! `process_due()`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use booking::Clock;
use booking::model::{BookingStatus, ChargingSession, ConnectorStatus, SessionStatus};
use chrono::TimeDelta;
use common::TestApp;
use common::vendors::{
    Vendor, connector_status, count, drain, inbox, post, post_signed, site, sql, status,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// Another instance's webhooks on the same database.
fn second_instance(app: &TestApp) -> webhooks::VendorWebhooks {
    webhooks::VendorWebhooks::new(
        webhooks::WebhookPorts {
            store: app.database.clone(),
            stations: app.store.clone(),
            ledger: app.store.clone(),
            bookings: app.bookings.clone(),
            clock: app.clock.clone(),
        },
        3,
    )
}

async fn vendor_session(app: &TestApp, vendor: &Vendor, session: &str) -> Option<ChargingSession> {
    let key = webhooks::transaction_key(vendor.id.parse().unwrap(), session);
    app.database.vendor_session(&key).await.unwrap()
}

async fn status_by_either_id_and_a_stale_status_does_not_win(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 1).await;
    let v = &site.vendors[0];
    let c = &site.connectors[0];
    // Reports are later than the connector's creation (its first status).
    app.clock.advance(TimeDelta::minutes(10));
    let t = app.clock.now();
    let at = |m: i64| (t - TimeDelta::minutes(m)).to_rfc3339();
    let (code, r) = post(
        &app,
        v,
        "connector-status",
        &json!({"vendorConnectorId": "V-0", "status": "OCCUPIED", "timestamp": at(1)}),
    )
    .await;
    assert_eq!(code, 202, "{r}");
    assert_eq!(r["data"]["state"], "PENDING");
    // Older than the one before it: arrives later, changes nothing.
    post(
        &app,
        v,
        "connector-status",
        &json!({"connectorId": c, "status": "AVAILABLE", "timestamp": at(5)}),
    )
    .await;
    drain(&app).await;
    assert_eq!(connector_status(&app, c).await, ConnectorStatus::Occupied);
    assert_eq!(inbox(&app, "done").await.len(), 2);
    post(
        &app,
        v,
        "connector-status",
        &json!({"connectorId": c, "vendorConnectorId": "V-0", "status": "faulted"}),
    )
    .await;
    drain(&app).await;
    assert_eq!(connector_status(&app, c).await, ConnectorStatus::Faulted);
}

async fn redeliveries_change_nothing_and_an_end_before_its_start_waits_for_it(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 1).await;
    let v = &site.vendors[0];
    let start =
        json!({"vendorSessionId": "S-1", "vendorConnectorId": "V-0", "startMeterReading": 100.0});
    let end = json!({"vendorSessionId": "S-1", "endMeterReading": 125.5, "costAmount": 250.0});
    // The end first: parked, not failed.
    assert_eq!(post(&app, v, "session-end", &end).await.0, 202);
    assert_eq!(
        post(
            &app,
            v,
            "meter-update",
            &json!({"vendorSessionId": "S-1", "meterReading": 110.0})
        )
        .await
        .0,
        202
    );
    drain(&app).await;
    assert_eq!(inbox(&app, "waiting").await.len(), 2);
    assert!(vendor_session(&app, v, "S-1").await.is_none());
    // The start, twice; the end again: redeliveries, each signed anew (a
    // second later; the very same signed request would be a replay).
    assert_eq!(post(&app, v, "session-start", &start).await.0, 202);
    app.clock.advance(TimeDelta::seconds(1));
    assert_eq!(post(&app, v, "session-start", &start).await.0, 202);
    drain(&app).await;
    app.clock.advance(TimeDelta::seconds(1));
    assert_eq!(post(&app, v, "session-end", &end).await.0, 202);
    drain(&app).await;
    assert!(inbox(&app, "waiting").await.is_empty());
    assert_eq!(inbox(&app, "done").await.len(), 5);
    let session = vendor_session(&app, v, "S-1").await.unwrap();
    assert_eq!(session.status, SessionStatus::Completed);
    assert_eq!(session.meter_start_wh, Some(100_000.0));
    assert_eq!(session.meter_stop_wh, Some(125_500.0));
    assert_eq!(session.energy_kwh, Some(25.5));
    assert_eq!(session.cost_amount, Some(250.0));
    // With an Idempotency-Key, a redelivery is not even stored twice.
    let now = app.clock.now().timestamp();
    let body = status(&site.connectors[0], "AVAILABLE");
    let (_, first) = post_signed(
        &app,
        &v.id,
        &v.secret,
        now,
        "connector-status",
        &body,
        Some("d-1"),
    )
    .await;
    let (code, again) = post_signed(
        &app,
        &v.id,
        &v.secret,
        now,
        "connector-status",
        &body,
        Some("d-1"),
    )
    .await;
    assert_eq!(code, 202);
    assert_eq!(again["data"]["id"], first["data"]["id"]);
    assert_eq!(again["data"]["duplicate"], true);
    assert_eq!(inbox(&app, "pending").await.len(), 1);
}

/// Issue #15, finding 5: a captured delivery replayed inside the signature
/// window, a delayed older report without its own time, and an
/// Idempotency-Key reused for another report.
async fn replays_are_stored_once_and_an_older_report_never_wins(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 1).await;
    let (v, c) = (&site.vendors[0], &site.connectors[0]);
    app.clock.advance(TimeDelta::minutes(10));
    let available = status(c, "AVAILABLE");
    let signed_early = app.clock.now().timestamp();
    let send = |ts: i64, body: Value, key: Option<&'static str>| {
        let app = &app;
        async move { post_signed(app, &v.id, &v.secret, ts, "connector-status", &body, key).await }
    };
    let (code, first) = send(signed_early, available.clone(), None).await;
    assert_eq!(
        (code, first["data"]["duplicate"].as_bool()),
        (202, Some(false))
    );
    drain(&app).await;
    app.clock.advance(TimeDelta::seconds(30));
    assert_eq!(
        send(app.clock.now().timestamp(), status(c, "FAULTED"), None)
            .await
            .0,
        202
    );
    drain(&app).await;
    assert_eq!(connector_status(&app, c).await, ConnectorStatus::Faulted);

    // The captured AVAILABLE, replayed byte for byte: acknowledged as the
    // first delivery, not stored, and the connector stays FAULTED.
    let (code, replay) = send(signed_early, available.clone(), None).await;
    assert_eq!(code, 202, "{replay}");
    assert_eq!(replay["data"]["id"], first["data"]["id"]);
    assert_eq!(replay["data"]["duplicate"], true);
    // An AVAILABLE signed before the FAULTED but delivered only now (no
    // time of its own): it happened when signed, so it is stale.
    let delayed = json!({"connectorId": c, "status": "AVAILABLE", "note": "late"});
    assert_eq!(send(signed_early + 5, delayed, None).await.0, 202);
    drain(&app).await;
    assert_eq!(
        connector_status(&app, c).await,
        ConnectorStatus::Faulted,
        "a FAULTED connector must not turn bookable through an old report"
    );
    assert_eq!(
        inbox(&app, "done").await.len(),
        3,
        "the replay was not stored"
    );

    // One key, two different reports: the second is refused, not dropped.
    let now = app.clock.now().timestamp();
    assert_eq!(send(now, status(c, "OCCUPIED"), Some("k-1")).await.0, 202);
    let (code, reused) = send(now, status(c, "AVAILABLE"), Some("k-1")).await;
    assert_eq!(code, 409, "{reused}");
    assert_eq!(reused["error"]["code"], "IDEMPOTENCY_KEY_REUSED");
    // The same report under the same key, signed again: a redelivery.
    let (code, again) = send(now + 1, status(c, "OCCUPIED"), Some("k-1")).await;
    assert_eq!(
        (code, again["data"]["duplicate"].as_bool()),
        (202, Some(true))
    );
}

async fn a_vendor_session_with_a_booking_makes_it_active_then_completed(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 1).await;
    let v = &site.vendors[0];
    post(
        &app,
        v,
        "connector-status",
        &status(&site.connectors[0], "AVAILABLE"),
    )
    .await;
    drain(&app).await;
    // A booking starting in ten minutes: inside the lead window, yet no
    // ReserveNow — evgate cannot send one to a vendor-managed charger.
    let start = app.clock.now() + TimeDelta::minutes(10);
    let (code, hold) = app
        .send("POST", "/v1/bookings/holds", Some(&app.user()), Some(&json!({
            "stationId": site.station, "connectorId": site.connectors[0],
            "startTs": start.to_rfc3339(), "endTs": (start + TimeDelta::hours(1)).to_rfc3339(),
        }).to_string()))
        .await;
    assert_eq!(code, 201, "{hold}");
    let (code, booked) = app
        .send(
            "POST",
            "/v1/bookings/confirm",
            Some(&app.user()),
            Some(
                &json!({
            "holdToken": hold["data"]["token"], "paymentId": "pay_1"})
                .to_string(),
            ),
        )
        .await;
    assert_eq!(code, 201, "{booked}");
    let booking_id = booked["data"]["id"].as_str().unwrap().to_owned();
    app.bookings.reserve_due_bookings().await.unwrap();
    let booking = |app: &TestApp| {
        let id: Uuid = booking_id.parse().unwrap();
        let store = app.store.clone();
        async move { store.booking(id).await.unwrap().unwrap() }
    };
    assert_eq!(
        booking(&app).await.status,
        BookingStatus::Confirmed,
        "not cancelled as offline"
    );
    post(
        &app,
        v,
        "session-start",
        &json!({"vendorSessionId": "S-9", "vendorConnectorId": "V-0",
        "bookingId": booking_id, "startMeterReading": 0.0}),
    )
    .await;
    drain(&app).await;
    assert_eq!(booking(&app).await.status, BookingStatus::Active);
    post(
        &app,
        v,
        "session-end",
        &json!({"vendorSessionId": "S-9", "energyKwh": 12.25}),
    )
    .await;
    drain(&app).await;
    assert_eq!(booking(&app).await.status, BookingStatus::Completed);
}

async fn repeated_failures_end_in_the_dead_letter_and_an_operator_requeues(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 1).await;
    let v = &site.vendors[0];
    // A real fault: the table a session start writes to is gone.
    sql(
        &app,
        "ALTER TABLE charging_sessions RENAME TO charging_sessions_away",
    )
    .await;
    let (_, accepted) = post(
        &app,
        v,
        "session-start",
        &json!({"vendorSessionId": "S-X", "vendorConnectorId": "V-0"}),
    )
    .await;
    let id = accepted["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/admin/webhooks/{id}");
    let entry_id: Uuid = id.parse().unwrap();
    let webhooks = app.webhooks.clone();
    let entry = |_: &TestApp| {
        let webhooks = webhooks.clone();
        async move { webhooks.entry(entry_id).await }
    };
    drain(&app).await;
    let (_, e) = app.send("GET", &path, Some(&app.admin()), None).await;
    let e = &e["data"];
    assert_eq!(
        (e["state"].as_str(), e["attempts"].as_i64()),
        (Some("PENDING"), Some(1)),
        "{e}"
    );
    assert!(
        e["lastError"]
            .as_str()
            .unwrap()
            .contains("charging_sessions"),
        "{e}"
    );
    // Not due before its backoff (1 s, then 2 s).
    drain(&app).await;
    assert_eq!(entry(&app).await.unwrap().attempts, 1);
    app.clock.advance(TimeDelta::seconds(1));
    drain(&app).await;
    assert_eq!(entry(&app).await.unwrap().attempts, 2);
    app.clock.advance(TimeDelta::seconds(2));
    drain(&app).await;
    let e = entry(&app).await.unwrap();
    assert_eq!(
        (e.state, e.attempts),
        (webhooks::InboxState::Dead, 3),
        "{e:?}"
    );
    let dead = inbox(&app, "dead").await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["kind"], "session-start");
    // Fixed; the operator requeues it, and it applies.
    sql(
        &app,
        "ALTER TABLE charging_sessions_away RENAME TO charging_sessions",
    )
    .await;
    let (code, r) = app
        .send(
            "POST",
            &format!("/v1/admin/webhooks/{id}/retry"),
            Some(&app.admin()),
            None,
        )
        .await;
    assert_eq!(code, 200, "{r}");
    drain(&app).await;
    assert_eq!(entry(&app).await.unwrap().state, webhooks::InboxState::Done);
    assert!(vendor_session(&app, v, "S-X").await.is_some());
    let (code, r) = app
        .send(
            "POST",
            &format!("/v1/admin/webhooks/{id}/retry"),
            Some(&app.admin()),
            None,
        )
        .await;
    assert_eq!(
        (code, r["error"]["code"].as_str()),
        (409, Some("INVALID_STATE"))
    );
    let (code, _) = app
        .send(
            "GET",
            "/v1/admin/webhooks?state=lost",
            Some(&app.admin()),
            None,
        )
        .await;
    assert_eq!(code, 400);
}

async fn several_vendors_at_once_each_in_order(backend: &str) {
    let app = std::sync::Arc::new(TestApp::on(backend, None).await);
    let site = std::sync::Arc::new(site(&app, 4).await);
    const METERS: usize = 15;
    let mut tasks = Vec::new();
    for i in 0..site.vendors.len() {
        let (app, site) = (app.clone(), site.clone());
        tasks.push(tokio::spawn(async move {
            let v = &site.vendors[i];
            let s = format!("S-{i}");
            let ok = |r: (u16, Value)| assert_eq!(r.0, 202, "{}", r.1);
            ok(post(&app, v, "session-start", &json!({"vendorSessionId": s, "vendorConnectorId": format!("V-{i}"), "startMeterReading": 0.0})).await);
            for m in 1..=METERS {
                ok(post(&app, v, "meter-update", &json!({"vendorSessionId": s, "meterReading": m as f64})).await);
            }
            ok(post(&app, v, "session-end", &json!({"vendorSessionId": s, "endMeterReading": METERS as f64 + 0.5})).await);
        }));
    }
    // Two instances' workers race for the inbox while it fills: one holds
    // the lease and applies, the other stands by.
    let appliers: Vec<_> = [app.webhooks.clone(), second_instance(&app)]
        .into_iter()
        .map(|webhooks| {
            tokio::spawn(async move {
                for _ in 0..200 {
                    webhooks.process_due().await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for t in tasks.into_iter().chain(appliers) {
        t.await.unwrap();
    }
    drain(&app).await;
    assert_eq!(
        inbox(&app, "done").await.len(),
        site.vendors.len() * (METERS + 2)
    );
    for (i, v) in site.vendors.iter().enumerate() {
        let s = vendor_session(&app, v, &format!("S-{i}")).await.unwrap();
        assert_eq!(s.status, SessionStatus::Completed);
        assert_eq!(s.energy_kwh, Some(METERS as f64 + 0.5));
        assert_eq!(s.connector_id.to_string(), site.connectors[i]);
    }
}

async fn one_instance_applies_and_another_takes_over_when_it_stops(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 1).await;
    let v = &site.vendors[0];
    app.clock.advance(TimeDelta::minutes(1));
    post(
        &app,
        v,
        "connector-status",
        &status(&site.connectors[0], "OCCUPIED"),
    )
    .await;
    assert_eq!(
        app.webhooks.process_due().await.unwrap(),
        1,
        "the first instance takes the lease"
    );
    let other = second_instance(&app);
    post(
        &app,
        v,
        "connector-status",
        &status(&site.connectors[0], "AVAILABLE"),
    )
    .await;
    assert_eq!(other.process_due().await.unwrap(), 0, "the lease is held");
    assert_eq!(
        connector_status(&app, &site.connectors[0]).await,
        ConnectorStatus::Occupied
    );
    // The first instance stops renewing; past the lease the other applies.
    app.clock.advance(TimeDelta::seconds(11));
    assert_eq!(other.process_due().await.unwrap(), 1);
    assert_eq!(
        connector_status(&app, &site.connectors[0]).await,
        ConnectorStatus::Available
    );
    assert_eq!(app.webhooks.process_due().await.unwrap(), 0, "and keeps it");
}

/// A stored report no build can read (issue #15: a meter reading stored
/// as null by an earlier build) goes to the dead letter with its reason;
/// every other vendor's webhooks go on being applied.
async fn an_unreadable_entry_is_dead_lettered_and_the_rest_are_applied(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 2).await;
    let (a, b) = (&site.vendors[0], &site.vendors[1]);
    let (code, _) = post(
        &app,
        a,
        "meter-update",
        &json!({"vendorSessionId": "poisoned", "meterReading": 1.5}),
    )
    .await;
    assert_eq!(code, 202);
    sql(
        &app,
        "update webhook_inbox set payload = replace(payload, '1500.0', 'null')",
    )
    .await;
    let (code, _) = post(
        &app,
        b,
        "connector-status",
        &status(&site.connectors[1], "FAULTED"),
    )
    .await;
    assert_eq!(code, 202);
    drain(&app).await;
    assert_eq!(
        connector_status(&app, &site.connectors[1]).await,
        ConnectorStatus::Faulted,
        "the other vendor's report was applied"
    );
    let pending = app.database.pending(10).await.unwrap();
    assert!(pending.is_empty(), "nothing left pending: {pending:?}");
    let dead = "select count(*) from webhook_inbox \
                where state = 'DEAD' and last_error like 'unreadable stored report%'";
    assert_eq!(
        count(&app, dead).await,
        1,
        "the poisoned entry is in the dead letter"
    );
}

common::on_both_backends!(
    an_unreadable_entry_is_dead_lettered_and_the_rest_are_applied,
    one_instance_applies_and_another_takes_over_when_it_stops,
    status_by_either_id_and_a_stale_status_does_not_win,
    redeliveries_change_nothing_and_an_end_before_its_start_waits_for_it,
    replays_are_stored_once_and_an_older_report_never_wins,
    a_vendor_session_with_a_booking_makes_it_active_then_completed,
    repeated_failures_end_in_the_dead_letter_and_an_operator_requeues,
    several_vendors_at_once_each_in_order
);
