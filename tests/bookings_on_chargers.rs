//! Bookings enforced on the charger, with time moved by a manual clock:
//! ReserveNow at hold time inside the lead window (the charger's answer
//! decides), the lead-window scheduler, no-shows, hold expiry, and the
//! transactions, faults and dropped reservations a charger reports back.
//!
//! The charger here is `ScriptedChargers` (`common::bookings`), a stand-in
//! that answers ReserveNow/CancelReservation as told and records what it
//! was asked; the same stories with real chargers are in
//! `tests/real_chargers.rs` and `tests/simulator.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use booking::Clock as _;
use booking::charger_control::Refusal;
use booking::model::ConnectorStatus;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::TestApp;
use common::bookings::{ScriptedChargers, Site, code, confirm, hold, hour_from_now, site};
use serde_json::{Value, json};
use uuid::Uuid;

async fn a_hold_inside_the_lead_window_reserves_the_connector_and_the_charger_decides(
    backend: &str,
) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let user = app.user();
    // Starts within the 15-minute lead window.
    let start = app
        .clock
        .now()
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap()
        + TimeDelta::minutes(10);

    for refusal in [
        Refusal::Occupied,
        Refusal::Faulted,
        Refusal::Unavailable,
        Refusal::Rejected,
        Refusal::Timeout,
        Refusal::Offline,
        Refusal::CallError("InternalError".into()),
    ] {
        chargers.answer_next(Err(refusal.clone()));
        let resp = hold(&app, &user, &site, 0, start, 60).await;
        assert_eq!(
            code(&resp),
            (409, "CONNECTOR_UNAVAILABLE"),
            "{refusal:?}: {resp:?}"
        );
    }
    // Each refusal left the slot free: the next hold, accepted, gets it.
    let (status, held) = hold(&app, &user, &site, 0, start, 60).await;
    assert_eq!(status, 201, "{held}");
    assert_eq!(held["data"]["reservedOnCharger"], true);
    let asks = chargers.reserved();
    assert_eq!(asks.len(), 8);
    let last = asks.last().unwrap();
    assert_eq!(
        (
            last.charge_point_id.as_str(),
            last.evse_id,
            last.connector_id
        ),
        ("CP-1", 1, 1)
    );
    assert_eq!(
        last.expires_at,
        start + TimeDelta::minutes(15),
        "expiry = start + no-show grace"
    );
    let ids: std::collections::HashSet<_> = asks.iter().map(|r| r.reservation_id).collect();
    assert_eq!(ids.len(), 8, "a fresh reservation id each time");

    let (_, booked) = confirm(&app, &user, held["data"]["token"].as_str().unwrap()).await;
    let b = &booked["data"];
    assert_eq!(
        (
            b["reservationId"].as_i64(),
            b["reservedOnCharger"].as_bool()
        ),
        (Some(i64::from(last.reservation_id)), Some(true))
    );
    assert_eq!(
        b["idTag"].as_str(),
        Some(last.id_tag.as_str()),
        "the charger reserves for the booking's id tag"
    );

    let id = b["id"].as_str().unwrap();
    app.send(
        "POST",
        &format!("/v1/bookings/{id}/cancel"),
        Some(&user),
        None,
    )
    .await;
    assert_eq!(
        chargers.cancelled(),
        [("CP-1".to_owned(), last.reservation_id)]
    );
}

async fn the_scheduler_reserves_bookings_entering_the_lead_window(backend: &str) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let user = app.user();
    let start = hour_from_now(&app, 2);
    let mut ids = Vec::new();
    for connector in 0..2 {
        let (_, held) = hold(&app, &user, &site, connector, start, 60).await;
        assert_eq!(held["data"]["reservedOnCharger"], false);
        let (_, b) = confirm(&app, &user, held["data"]["token"].as_str().unwrap()).await;
        ids.push(b["data"]["id"].as_str().unwrap().to_owned());
    }
    assert!(
        chargers.reserved().is_empty(),
        "nothing reserved two hours ahead"
    );
    assert_eq!(app.bookings.reserve_due_bookings().await.unwrap(), 0);

    app.clock.set(start - TimeDelta::minutes(15));
    chargers.answer_next(Ok(()));
    chargers.answer_next(Err(Refusal::Occupied));
    assert_eq!(app.bookings.reserve_due_bookings().await.unwrap(), 1);
    assert_eq!(chargers.reserved().len(), 2);
    assert_eq!(
        app.bookings.reserve_due_bookings().await.unwrap(),
        0,
        "each booking reserved once"
    );
    assert_eq!(chargers.reserved().len(), 2);

    // The charger accepted the first ReserveNow and refused the second.
    let asks = chargers.reserved();
    let mut accepted = None;
    let mut refused = None;
    for id in &ids {
        let b = booking_status(&app, id).await;
        if b["idTag"] == json!(asks[0].id_tag) {
            accepted = Some(b);
        } else if b["idTag"] == json!(asks[1].id_tag) {
            refused = Some(b);
        }
    }
    let (accepted, refused) = (accepted.unwrap(), refused.unwrap());
    assert_eq!(
        (
            accepted["status"].as_str(),
            accepted["reservedOnCharger"].as_bool()
        ),
        (Some("CONFIRMED"), Some(true))
    );
    assert_eq!(
        (refused["status"].as_str(), refused["cancelReason"].as_str()),
        (Some("CANCELLED"), Some("CHARGER_OCCUPIED"))
    );
    let refunds = app.store.due_refunds(app.clock.now(), 10).await.unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (
            refunds[0].booking_id.to_string(),
            refunds[0].payment_id.as_deref(),
            refunds[0].reason.as_str()
        ),
        (
            refused["id"].as_str().unwrap().to_owned(),
            Some("pay_123"),
            "CHARGER_OCCUPIED"
        )
    );
}

async fn a_no_show_is_recorded_once_released_and_refunded(backend: &str) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let user = app.user();
    let mut events = app.events.subscribe();
    let start = hour_from_now(&app, 2);
    let (_, held) = hold(&app, &user, &site, 0, start, 60).await;
    let (_, b) = confirm(&app, &user, held["data"]["token"].as_str().unwrap()).await;
    let id = b["data"]["id"].as_str().unwrap().to_owned();

    app.clock.set(start - TimeDelta::minutes(10));
    app.bookings.reserve_due_bookings().await.unwrap();
    let reservation = chargers.reserved()[0].reservation_id;
    app.clock.set(start + TimeDelta::minutes(14));
    assert_eq!(
        app.bookings.record_no_shows().await.unwrap(),
        0,
        "still inside the grace period"
    );
    app.clock.set(start + TimeDelta::minutes(15));
    assert_eq!(app.bookings.record_no_shows().await.unwrap(), 1);
    assert_eq!(
        app.bookings.record_no_shows().await.unwrap(),
        0,
        "recorded once"
    );

    let (_, got) = app
        .send("GET", &format!("/v1/bookings/{id}"), Some(&user), None)
        .await;
    assert_eq!(
        (
            got["data"]["status"].as_str(),
            got["data"]["reservedOnCharger"].as_bool()
        ),
        (Some("NO_SHOW"), Some(false))
    );
    assert_eq!(chargers.cancelled(), [("CP-1".to_owned(), reservation)]);
    let refunds = app.store.due_refunds(app.clock.now(), 10).await.unwrap();
    assert_eq!(
        (
            refunds.len(),
            refunds[0].reason.as_str(),
            refunds[0].payment_id.as_deref()
        ),
        (1, "NO_SHOW", Some("pay_123"))
    );
    // The slot is offered again... only future ones, so none of this hour.
    let mut statuses = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let booking::events::Event::BookingChanged { booking } = e {
            statuses.push(booking.status.as_str());
        }
    }
    assert_eq!(statuses, ["CONFIRMED", "NO_SHOW"]);
}

async fn an_unconfirmed_hold_expires_and_frees_the_charger(backend: &str) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let mut events = app.events.subscribe();
    let start = app
        .clock
        .now()
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap()
        + TimeDelta::minutes(12);
    let (status, _) = hold(&app, &app.user(), &site, 1, start, 30).await;
    assert_eq!(status, 201);
    let reservation = chargers.reserved()[0].reservation_id;
    app.clock.advance(TimeDelta::minutes(10));
    assert_eq!(
        app.bookings.expire_holds().await.unwrap(),
        0,
        "swept a little after expiry, not at it"
    );
    app.clock.advance(TimeDelta::seconds(31));
    assert_eq!(app.bookings.expire_holds().await.unwrap(), 1);
    assert_eq!(app.bookings.expire_holds().await.unwrap(), 0);
    assert_eq!(chargers.cancelled(), [("CP-1".to_owned(), reservation)]);
    let kinds: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .map(|e| match e {
            booking::events::Event::HoldCreated { .. } => "created",
            booking::events::Event::HoldReleased { .. } => "released",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["created", "released"]);
}

/// A confirmed booking on connector 0 that the charger has reserved.
async fn reserved_booking(
    app: &TestApp,
    chargers: &ScriptedChargers,
    site: &Site,
) -> (Value, DateTime<Utc>) {
    let user = app.user();
    let start = hour_from_now(app, 2);
    let (_, held) = hold(app, &user, site, 0, start, 60).await;
    let (_, b) = confirm(app, &user, held["data"]["token"].as_str().unwrap()).await;
    app.clock.set(start - TimeDelta::minutes(10));
    assert_eq!(app.bookings.reserve_due_bookings().await.unwrap(), 1);
    assert!(!chargers.reserved().is_empty());
    (b["data"].clone(), start)
}

async fn booking_status(app: &TestApp, id: &str) -> Value {
    app.send(
        "GET",
        &format!("/v1/bookings/{id}"),
        Some(&app.admin()),
        None,
    )
    .await
    .1["data"]
        .clone()
}

async fn a_transaction_with_the_reservation_id_activates_and_completes_the_booking(backend: &str) {
    use booking::model::{OcppVersion, TransactionKey};
    use booking::service::{SessionStart, SessionStop};
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let (booking, start) = reserved_booking(&app, &chargers, &site).await;
    let id = booking["id"].as_str().unwrap();
    let reservation_id = chargers.reserved()[0].reservation_id;
    let connector: Uuid = site.connectors[0].parse().unwrap();
    let key = TransactionKey::Ocpp(OcppVersion::V16, "1".into());
    let started = SessionStart {
        connector_id: connector,
        transaction: key.clone(),
        id_tag: booking["idTag"].as_str().map(Into::into),
        reservation_id: Some(reservation_id),
        booking_id: None,
        started_at: start + TimeDelta::minutes(2),
        meter_start_wh: Some(1000.0),
    };
    let session = app.bookings.session_started(started.clone()).await.unwrap();
    assert_eq!(
        session.booking_id.map(|b| b.to_string()).as_deref(),
        Some(id)
    );
    assert_eq!(booking_status(&app, id).await["status"], "ACTIVE");
    // A replayed start is the same session.
    assert_eq!(
        app.bookings.session_started(started).await.unwrap().id,
        session.id
    );
    // An ACTIVE booking is no no-show.
    app.clock.set(start + TimeDelta::minutes(20));
    assert_eq!(app.bookings.record_no_shows().await.unwrap(), 0);

    let charger_id = session.charger_id;
    // Live meter readings give the session's energy so far, as an event.
    let mut events = app.events.subscribe();
    let live = app
        .bookings
        .meter_sample(charger_id, &key, 13_500.0, start + TimeDelta::minutes(20))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.energy_kwh, Some(12.5));
    match events.try_recv().unwrap() {
        booking::events::Event::MeterUpdate {
            energy_kwh,
            connector_id,
            ..
        } => {
            assert_eq!((energy_kwh, connector_id), (12.5, connector));
        }
        other => panic!("expected a meter update, got {other:?}"),
    }
    let stop = SessionStop {
        charger_id,
        transaction: key.clone(),
        ended_at: start + TimeDelta::minutes(50),
        meter_stop_wh: Some(26_500.0),
        energy_kwh: None,
        cost_amount: None,
        reason: Some("Local".into()),
    };
    let ended = app
        .bookings
        .session_ended(stop.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.energy_kwh, Some(25.5));
    assert_eq!(booking_status(&app, id).await["status"], "COMPLETED");
    let late = app
        .bookings
        .meter_sample(charger_id, &key, 99_000.0, start + TimeDelta::minutes(55))
        .await
        .unwrap();
    assert!(late.is_none(), "an ended session takes no more readings");
    assert!(
        app.bookings
            .session_ended(stop.clone())
            .await
            .unwrap()
            .is_none(),
        "a retried end counts once"
    );
    let unknown = SessionStop {
        transaction: TransactionKey::Ocpp(OcppVersion::V16, "999".into()),
        ..stop
    };
    assert!(app.bookings.session_ended(unknown).await.unwrap().is_none());
}

async fn firmware_without_reservation_id_is_matched_by_the_booking_id_tag(backend: &str) {
    use booking::model::{OcppVersion, TransactionKey};
    use booking::service::SessionStart;
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let (booking, start) = reserved_booking(&app, &chargers, &site).await;
    let start_with = |tag: &str, key: &str| SessionStart {
        connector_id: site.connectors[0].parse().unwrap(),
        transaction: TransactionKey::Ocpp(OcppVersion::V201, key.into()),
        id_tag: Some(tag.into()),
        reservation_id: None,
        booking_id: None,
        started_at: start + TimeDelta::minutes(1),
        meter_start_wh: None,
    };
    let stranger = app
        .bookings
        .session_started(start_with("SOMEONE-ELSE", "tx-a"))
        .await
        .unwrap();
    assert_eq!(stranger.booking_id, None);
    assert_eq!(
        booking_status(&app, booking["id"].as_str().unwrap()).await["status"],
        "CONFIRMED"
    );
    let driver = app
        .bookings
        .session_started(start_with(booking["idTag"].as_str().unwrap(), "tx-b"))
        .await
        .unwrap();
    assert_eq!(
        driver.booking_id.map(|b| b.to_string()).as_deref(),
        booking["id"].as_str()
    );
    assert_eq!(
        booking_status(&app, booking["id"].as_str().unwrap()).await["status"],
        "ACTIVE"
    );
}

async fn a_fault_on_a_reserved_connector_voids_the_reservation_and_tells_the_owner(backend: &str) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let (booking, _) = reserved_booking(&app, &chargers, &site).await;
    let id = booking["id"].as_str().unwrap();
    assert_eq!(booking_status(&app, id).await["reservedOnCharger"], true);
    let mut events = app.events.subscribe();
    app.bookings
        .apply_connector_status(
            site.connectors[0].parse().unwrap(),
            ConnectorStatus::Faulted,
            app.clock.now(),
        )
        .await
        .unwrap();
    let got = booking_status(&app, id).await;
    assert_eq!(
        (got["status"].as_str(), got["reservedOnCharger"].as_bool()),
        (Some("CONFIRMED"), Some(false))
    );
    let told: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|e| match e {
            booking::events::Event::BookingChanged { booking } => Some(booking.reserved_on_charger),
            _ => None,
        })
        .collect();
    assert_eq!(told, [false]);
}

async fn a_reservation_the_charger_drops_is_no_longer_on_the_hardware(backend: &str) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let (booking, _) = reserved_booking(&app, &chargers, &site).await;
    let id = booking["id"].as_str().unwrap();
    let reservation = chargers.reserved()[0].reservation_id;
    let charger = app
        .store
        .charger_by_identity("CP-1")
        .await
        .unwrap()
        .unwrap();
    assert!(
        !app.bookings
            .reservation_ended_on_charger(charger.id, reservation + 1000)
            .await
            .unwrap()
    );
    assert!(
        app.bookings
            .reservation_ended_on_charger(charger.id, reservation)
            .await
            .unwrap()
    );
    let got = booking_status(&app, id).await;
    assert_eq!(
        (got["status"].as_str(), got["reservedOnCharger"].as_bool()),
        (Some("CONFIRMED"), Some(false))
    );
    assert!(
        !app.bookings
            .reservation_ended_on_charger(charger.id, reservation)
            .await
            .unwrap(),
        "once"
    );
}

// Every test above, on SQLite with in-process holds, and on PostgreSQL with
// Redis holds and cache versions (cluster mode; run by `.ci/run`).
common::on_both_backends!(
    a_hold_inside_the_lead_window_reserves_the_connector_and_the_charger_decides,
    the_scheduler_reserves_bookings_entering_the_lead_window,
    a_no_show_is_recorded_once_released_and_refunded,
    an_unconfirmed_hold_expires_and_frees_the_charger,
    a_transaction_with_the_reservation_id_activates_and_completes_the_booking,
    firmware_without_reservation_id_is_matched_by_the_booking_id_tag,
    a_fault_on_a_reserved_connector_voids_the_reservation_and_tells_the_owner,
    a_reservation_the_charger_drops_is_no_longer_on_the_hardware,
);
