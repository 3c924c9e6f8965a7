//! The store suite: every test runs against SQLite and against a real
//! PostgreSQL server (the latter `--ignored` in a plain `cargo test`;
//! `.ci/run` runs them).
//!
//! Over 600 lines on purpose: one short, independent case per store query,
//! listed once in `store_suite!` at the bottom, and the README's recipe
//! sends a new query's test here; a second file would be a second binary
//! linking both database drivers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use booking::model::{
    BookingStatus, Charger, ChargingSession, DisplayMessage, DisplayOrigin, IdTag, IdTagStatus,
    OcppVersion, Page, RefundRequest, SecurityProfile, SessionStatus, Station, TransactionKey,
};
use booking::tariffs::{Tariff, TariffScope};
use booking::{Error, Store, geo};
use chrono::{TimeDelta, Utc};
use uuid::Uuid;

#[macro_use]
mod fixtures;
use fixtures::{booking, charger_at, new_connector, refund, site, station, t};

async fn stations_round_trip_and_page(store: Arc<dyn Store>) {
    // Listing order is creation time: give each its own millisecond.
    let base = booking::clock::to_millis(Utc::now());
    let mut made = Vec::new();
    for i in 0..5 {
        let s = Station {
            id: Uuid::new_v4(),
            name: format!("S{i}"),
            latitude: 10.0 + f64::from(i),
            longitude: 20.0,
            address: Some("Road 1".into()),
            created_at: base + TimeDelta::seconds(i.into()),
        };
        store.insert_station(&s).await.unwrap();
        made.push(s);
    }
    let got = store.station(made[2].id).await.unwrap().unwrap();
    assert_eq!(got, made[2]);
    assert!(store.station(Uuid::new_v4()).await.unwrap().is_none());

    let (page, total) = store
        .stations(Page {
            limit: 2,
            offset: 3,
        })
        .await
        .unwrap();
    assert_eq!(total, 5);
    assert_eq!(
        page.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["S3", "S4"]
    );
}

async fn stations_in_box_handles_the_antimeridian(store: Arc<dyn Store>) {
    let east = station(&*store, "east", -17.7, 179.95).await;
    let west = station(&*store, "west", -17.7, -179.95).await;
    let far = station(&*store, "far", -17.7, 170.0).await;
    let center = geo::Point {
        latitude: -17.7,
        longitude: 179.99,
    };
    let found = store
        .stations_in_box(geo::bounding_box(center, 30.0))
        .await
        .unwrap();
    let ids: Vec<_> = found.iter().map(|s| s.id).collect();
    assert!(
        ids.contains(&east.id) && ids.contains(&west.id),
        "{found:?}"
    );
    assert!(!ids.contains(&far.id));
}

async fn charger_identity_is_unique(store: Arc<dyn Store>) {
    let s = station(&*store, "S", 1.0, 1.0).await;
    let c = charger_at(&s, "CP-DUP");
    store.insert_charger(&c).await.unwrap();
    let again = charger_at(&s, "CP-DUP");
    match store.insert_charger(&again).await {
        Err(Error::Conflict(m)) => assert!(m.contains("chargePointId"), "{m}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    let got = store.charger_by_identity("CP-DUP").await.unwrap().unwrap();
    assert_eq!(
        got,
        Charger {
            created_at: booking::clock::to_millis(c.created_at),
            ..c
        }
    );
    let (all, total) = store
        .chargers(Page {
            limit: 10,
            offset: 0,
        })
        .await
        .unwrap();
    assert_eq!((all.len(), total), (1, 1));
}

async fn connectors_are_numbered_and_unique(store: Arc<dyn Store>) {
    let s = station(&*store, "S", 1.0, 1.0).await;
    let c = charger_at(&s, "CP-1");
    store.insert_charger(&c).await.unwrap();
    let first = store
        .insert_connector(&new_connector(&c, 1, None))
        .await
        .unwrap();
    let second = store
        .insert_connector(&new_connector(&c, 2, None))
        .await
        .unwrap();
    assert_eq!(
        (
            first.connector_number.as_str(),
            second.connector_number.as_str()
        ),
        ("1", "2")
    );
    assert_eq!(first.status, booking::model::ConnectorStatus::Offline);
    let tenth = store
        .insert_connector(&new_connector(&c, 10, Some("10")))
        .await
        .unwrap();

    match store.insert_connector(&new_connector(&c, 2, None)).await {
        Err(Error::Conflict(m)) => assert!(m.contains("evseId"), "{m}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    match store
        .insert_connector(&new_connector(&c, 3, Some("1")))
        .await
    {
        Err(Error::Conflict(m)) => assert!(m.contains("connectorNumber"), "{m}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    let listed = store
        .connectors_of_stations(&[s.id, Uuid::new_v4()])
        .await
        .unwrap();
    let numbers: Vec<_> = listed.iter().map(|c| c.connector_number.as_str()).collect();
    assert_eq!(numbers, ["1", "2", "10"]);
    assert_eq!(store.connector(tenth.id).await.unwrap().unwrap(), tenth);
    assert!(store.connectors_of_stations(&[]).await.unwrap().is_empty());
}

async fn reservation_ids_are_unique_per_charger(store: Arc<dyn Store>) {
    let (_, charger, _) = site(&*store).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.next_reservation_id(charger.id).await.unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort_unstable();
    assert_eq!(ids, (1..=20).collect::<Vec<i32>>());
    assert!(matches!(
        store.next_reservation_id(Uuid::new_v4()).await,
        Err(Error::NotFound { .. })
    ));
}

async fn live_bookings_never_overlap(store: Arc<dyn Store>) {
    let (s, _, conn) = site(&*store).await;
    use BookingStatus::*;
    let a = booking(
        &s,
        conn,
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
        Confirmed,
    );
    store.insert_booking(&a).await.unwrap();
    let clash = booking(
        &s,
        conn,
        "2030-01-01T10:30:00Z",
        "2030-01-01T11:30:00Z",
        Confirmed,
    );
    assert!(matches!(
        store.insert_booking(&clash).await,
        Err(Error::Overlap)
    ));
    let inside = booking(
        &s,
        conn,
        "2030-01-01T10:15:00Z",
        "2030-01-01T10:45:00Z",
        Active,
    );
    assert!(matches!(
        store.insert_booking(&inside).await,
        Err(Error::Overlap)
    ));
    // Half-open intervals: back to back is fine.
    let next = booking(
        &s,
        conn,
        "2030-01-01T11:00:00Z",
        "2030-01-01T12:00:00Z",
        Confirmed,
    );
    store.insert_booking(&next).await.unwrap();
    // Dead bookings do not claim the connector...
    let old = booking(
        &s,
        conn,
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
        Cancelled,
    );
    store.insert_booking(&old).await.unwrap();
    // ...and cannot be brought back over a live one.
    let now = Utc::now();
    assert!(matches!(
        store
            .transition_booking(old.id, &[Cancelled], Confirmed, None, now)
            .await,
        Err(Error::Overlap)
    ));
    // Once `a` is cancelled, the slot is free again.
    let cancelled = store
        .transition_booking(a.id, &[Confirmed], Cancelled, Some("user"), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (cancelled.status, cancelled.cancel_reason.as_deref()),
        (Cancelled, Some("user"))
    );
    store
        .transition_booking(old.id, &[Cancelled], Confirmed, None, now)
        .await
        .unwrap();
    // Confirmed -> Active keeps its own interval without clashing with itself.
    store
        .transition_booking(old.id, &[Confirmed], Active, None, now)
        .await
        .unwrap();
    assert!(
        store
            .transition_booking(Uuid::new_v4(), &[Confirmed], Active, None, now)
            .await
            .unwrap()
            .is_none()
    );
}

async fn transitions_are_conditional_and_happen_once(store: Arc<dyn Store>) {
    let (s, _, conn) = site(&*store).await;
    use BookingStatus::*;
    let b = booking(
        &s,
        conn,
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
        Confirmed,
    );
    store.insert_booking(&b).await.unwrap();
    let now = Utc::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let id = b.id;
        tasks.push(tokio::spawn(async move {
            store
                .transition_booking(id, &[Confirmed], NoShow, Some("NO_SHOW"), now)
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(won, 1, "exactly one worker records the no-show");
    let got = store.booking(b.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.cancel_reason.as_deref()),
        (NoShow, Some("NO_SHOW"))
    );
    assert!(
        store
            .transition_booking(b.id, &[], Cancelled, None, now)
            .await
            .unwrap()
            .is_none()
    );
}

async fn reservation_claims_and_worker_queries(store: Arc<dyn Store>) {
    let (s, _, conn) = site(&*store).await;
    use BookingStatus::*;
    let soon = booking(
        &s,
        conn,
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
        Confirmed,
    );
    let later = booking(
        &s,
        conn,
        "2030-01-01T14:00:00Z",
        "2030-01-01T15:00:00Z",
        Confirmed,
    );
    let gone = booking(
        &s,
        conn,
        "2030-01-01T11:00:00Z",
        "2030-01-01T12:00:00Z",
        Cancelled,
    );
    for b in [&soon, &later, &gone] {
        store.insert_booking(b).await.unwrap();
    }
    let now = t("2030-01-01T09:50:00Z");
    let due = store
        .bookings_due_for_reservation(t("2030-01-01T10:05:00Z"), now, 10)
        .await
        .unwrap();
    assert_eq!(due.iter().map(|b| b.id).collect::<Vec<_>>(), [soon.id]);
    assert!(store.claim_reservation(soon.id, 7).await.unwrap());
    assert!(
        !store.claim_reservation(soon.id, 8).await.unwrap(),
        "claimed once"
    );
    assert!(
        !store.claim_reservation(gone.id, 9).await.unwrap(),
        "not CONFIRMED"
    );
    assert!(
        store
            .bookings_due_for_reservation(t("2030-01-01T10:05:00Z"), now, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .set_reserved_on_charger(soon.id, true, now)
        .await
        .unwrap();
    let got = store.booking(soon.id).await.unwrap().unwrap();
    assert_eq!(
        (got.reservation_id, got.reserved_on_charger),
        (Some(7), true)
    );

    let started = store
        .confirmed_bookings_started_by(t("2030-01-01T10:15:00Z"), 10)
        .await
        .unwrap();
    assert_eq!(started.iter().map(|b| b.id).collect::<Vec<_>>(), [soon.id]);

    let mut held = booking(
        &s,
        conn,
        "2030-01-02T10:00:00Z",
        "2030-01-02T11:00:00Z",
        Confirmed,
    );
    held.hold_token = Some("hold_xyz".into());
    held.user_id = 7;
    store.insert_booking(&held).await.unwrap();
    assert_eq!(
        store
            .booking_by_hold_token("hold_xyz")
            .await
            .unwrap()
            .unwrap()
            .id,
        held.id
    );
    assert!(
        store
            .booking_by_hold_token("hold_none")
            .await
            .unwrap()
            .is_none()
    );

    let page = Page {
        limit: 10,
        offset: 0,
    };
    let (mine, total) = store.bookings_of(Some(7), None, page).await.unwrap();
    assert_eq!((mine.len(), total), (1, 1));
    let (all, total) = store.bookings_of(None, None, page).await.unwrap();
    assert_eq!((all.len(), total), (4, 4));
    let (cancelled, total) = store
        .bookings_of(Some(42), Some(Cancelled), page)
        .await
        .unwrap();
    assert_eq!((cancelled[0].id, total), (gone.id, 1));
    let (two, total) = store
        .bookings_of(
            None,
            Some(Confirmed),
            Page {
                limit: 2,
                offset: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!((two.len(), total), (2, 3));
}

/// A storm's status reports arrive together and are written in groups:
/// each caller still gets its own row's outcome, a stale report in the
/// same group changes nothing, and two reports for one connector apply in
/// the order they came.
async fn status_reports_at_once_are_each_written(store: Arc<dyn Store>) {
    use booking::model::ConnectorStatus::*;
    let (_, charger, first) = site(&*store).await;
    let mut connectors = vec![first];
    for evse in 2..=40 {
        let c = store
            .insert_connector(&new_connector(&charger, evse, None))
            .await
            .unwrap();
        connectors.push(c.id);
    }
    let now = Utc::now();
    // The first connector's row is newer than any report below.
    store
        .set_connector_status(first, Faulted, now + TimeDelta::seconds(60), None)
        .await
        .unwrap();
    let mut reports: Vec<_> = connectors.iter().map(|&id| (id, Occupied, now)).collect();
    // A second report for the last connector, later: it must win.
    let last = *connectors.last().unwrap();
    reports.push((last, Reserved, now + TimeDelta::seconds(1)));
    let outcomes = futures_util::future::join_all(
        reports
            .iter()
            .map(|&(id, status, at)| store.set_connector_status(id, status, at, None)),
    )
    .await;
    for ((id, status, _), outcome) in reports.iter().zip(outcomes) {
        let written = outcome.unwrap().map(|change| change.connector);
        if *id == first {
            assert!(written.is_none(), "stale: the row is newer");
        } else {
            let c = written.expect("written");
            assert_eq!((c.id, c.status), (*id, *status));
        }
    }
    let status_of = async |id| store.connector(id).await.unwrap().unwrap().status;
    assert_eq!(status_of(first).await, Faulted);
    assert_eq!(status_of(connectors[1]).await, Occupied);
    assert_eq!(status_of(last).await, Reserved);
}

async fn connector_status_ignores_stale_reports(store: Arc<dyn Store>) {
    let (_, charger, conn) = site(&*store).await;
    use booking::model::ConnectorStatus::*;
    let later = Utc::now() + TimeDelta::seconds(10);
    let c = store
        .set_connector_status(conn, Available, later, None)
        .await
        .unwrap()
        .map(|change| change.connector)
        .unwrap();
    assert_eq!(
        (c.status, c.status_updated_at),
        (Available, booking::clock::to_millis(later))
    );
    // An older report arriving late does not overwrite the newer one.
    assert!(
        store
            .set_connector_status(conn, Faulted, later - TimeDelta::seconds(5), None)
            .await
            .unwrap()
            .map(|change| change.connector)
            .is_none()
    );
    assert_eq!(
        store.connector(conn).await.unwrap().unwrap().status,
        Available
    );
    // Once the gateway marked it OFFLINE, the device's next report applies
    // even when its clock is behind the gateway's.
    let offline_at = later + TimeDelta::seconds(60);
    store
        .mark_charger_offline(charger.id, offline_at)
        .await
        .unwrap();
    assert_eq!(
        store.connector(conn).await.unwrap().unwrap().status,
        Offline
    );
    let back = store
        .set_connector_status(conn, Available, offline_at - TimeDelta::seconds(2), None)
        .await
        .unwrap()
        .map(|change| change.connector)
        .expect("applied over OFFLINE");
    assert_eq!(back.status, Available);
    assert!(
        store
            .set_connector_status(Uuid::new_v4(), Available, later, None)
            .await
            .unwrap()
            .map(|change| change.connector)
            .is_none()
    );
    assert_eq!(
        store
            .charger(charger.id)
            .await
            .unwrap()
            .unwrap()
            .charge_point_id,
        charger.charge_point_id
    );
}

async fn concurrent_overlapping_inserts_admit_exactly_one(store: Arc<dyn Store>) {
    let (s, _, conn) = site(&*store).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        // Every candidate overlaps every other (all contain 10:30-10:45).
        let b = booking(
            &s,
            conn,
            &format!("2030-01-01T10:{:02}:00Z", i),
            &format!("2030-01-01T10:{:02}:00Z", 45 + i % 10),
            BookingStatus::Confirmed,
        );
        tasks.push(tokio::spawn(async move { store.insert_booking(&b).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(Error::Overlap) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

async fn bookings_in_window_filters_time_and_status(store: Arc<dyn Store>) {
    let (s, _, conn) = site(&*store).await;
    use BookingStatus::*;
    let before = booking(
        &s,
        conn,
        "2030-01-01T08:00:00Z",
        "2030-01-01T09:00:00Z",
        Confirmed,
    );
    let touching = booking(
        &s,
        conn,
        "2030-01-01T09:00:00Z",
        "2030-01-01T10:00:00Z",
        Confirmed,
    );
    let inside = booking(
        &s,
        conn,
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
        Active,
    );
    let cancelled = booking(
        &s,
        conn,
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
        Cancelled,
    );
    for b in [&before, &touching, &inside, &cancelled] {
        store.insert_booking(b).await.unwrap();
    }
    let found = store
        .bookings_in_window(
            &[conn],
            t("2030-01-01T09:30:00Z"),
            t("2030-01-01T12:00:00Z"),
            &[Confirmed, Active, Pending],
        )
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|b| b.id).collect::<Vec<_>>(),
        [touching.id, inside.id]
    );
    assert_eq!(found[1], inside);
    let none = store
        .bookings_in_window(
            &[Uuid::new_v4()],
            t("2030-01-01T00:00:00Z"),
            t("2030-01-02T00:00:00Z"),
            &[Confirmed],
        )
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn hold_tokens_are_used_once(store: Arc<dyn Store>) {
    let (s, _, conn) = site(&*store).await;
    let mut a = booking(
        &s,
        conn,
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
        BookingStatus::Confirmed,
    );
    a.hold_token = Some("hold_abc".into());
    store.insert_booking(&a).await.unwrap();
    let mut b = booking(
        &s,
        conn,
        "2030-01-02T10:00:00Z",
        "2030-01-02T11:00:00Z",
        BookingStatus::Confirmed,
    );
    b.hold_token = Some("hold_abc".into());
    assert!(matches!(
        store.insert_booking(&b).await,
        Err(Error::Conflict(_))
    ));
}

async fn sessions_are_keyed_by_charger_protocol_and_transaction(store: Arc<dyn Store>) {
    let (_, charger, conn) = site(&*store).await;
    let session = |key: TransactionKey| ChargingSession {
        id: Uuid::new_v4(),
        booking_id: None,
        connector_id: conn,
        charger_id: charger.id,
        transaction: key,
        id_tag: Some("TAG1".into()),
        started_at: t("2030-01-01T10:00:00.123Z"),
        ended_at: None,
        meter_start_wh: Some(1234.5),
        meter_stop_wh: None,
        energy_kwh: None,
        cost_amount: None,
        status: SessionStatus::Charging,
        stop_reason: None,
    };
    let v16 = session(TransactionKey::Ocpp(OcppVersion::V16, "17".into()));
    store.start_session(&v16, Utc::now()).await.unwrap();
    assert!(matches!(
        store
            .start_session(
                &session(TransactionKey::Ocpp(OcppVersion::V16, "17".into())),
                Utc::now()
            )
            .await,
        Err(Error::Conflict(_))
    ));
    // The same text under another protocol is another transaction.
    store
        .start_session(&session(TransactionKey::Vendor("17".into())), Utc::now())
        .await
        .unwrap();
    let got = store
        .session_by_transaction(
            charger.id,
            &TransactionKey::Ocpp(OcppVersion::V16, "17".into()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, v16);
    assert!(
        store
            .session_by_transaction(
                charger.id,
                &TransactionKey::Ocpp(OcppVersion::V201, "17".into())
            )
            .await
            .unwrap()
            .is_none()
    );
}

async fn sessions_end_once_and_bookings_are_found_by_reservation_or_tag(store: Arc<dyn Store>) {
    let (s, charger, conn) = site(&*store).await;
    let mut b = booking(
        &s,
        conn,
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
        BookingStatus::Confirmed,
    );
    b.reservation_id = Some(5);
    store.insert_booking(&b).await.unwrap();
    assert_eq!(
        store
            .booking_by_reservation(charger.id, 5)
            .await
            .unwrap()
            .unwrap()
            .id,
        b.id
    );
    assert!(
        store
            .booking_by_reservation(charger.id, 6)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .booking_by_reservation(Uuid::new_v4(), 5)
            .await
            .unwrap()
            .is_none()
    );
    let found = store
        .confirmed_booking_for_id_tag(
            conn,
            "EVG1234",
            t("2030-01-01T09:45:00Z"),
            t("2030-01-01T10:15:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(found.unwrap().id, b.id);
    let late = store
        .confirmed_booking_for_id_tag(
            conn,
            "EVG1234",
            t("2030-01-01T10:01:00Z"),
            t("2030-01-01T10:30:00Z"),
        )
        .await
        .unwrap();
    assert!(late.is_none());

    let session = ChargingSession {
        id: Uuid::new_v4(),
        booking_id: Some(b.id),
        connector_id: conn,
        charger_id: charger.id,
        transaction: TransactionKey::Vendor("v-1".into()),
        id_tag: None,
        started_at: t("2030-01-01T10:02:00Z"),
        ended_at: None,
        meter_start_wh: Some(100.0),
        meter_stop_wh: None,
        energy_kwh: None,
        cost_amount: None,
        status: SessionStatus::Charging,
        stop_reason: None,
    };
    let started = store.start_session(&session, Utc::now()).await.unwrap();
    assert_eq!(
        started.booking.map(|b| b.status),
        Some(BookingStatus::Active),
        "the start makes its booking ACTIVE"
    );
    let end = booking::store::SessionEnd {
        session_id: session.id,
        ended_at: t("2030-01-01T10:50:00Z"),
        meter_stop_wh: Some(25_600.0),
        energy_kwh: Some(25.5),
        cost_amount: Some(250.0),
        status: SessionStatus::Completed,
        stop_reason: Some("EVDisconnected".into()),
    };
    let booking::store::SessionEnded {
        session: ended,
        booking: completed,
    } = store.end_session(&end, Utc::now()).await.unwrap().unwrap();
    assert_eq!(
        completed.map(|b| b.status),
        Some(BookingStatus::Completed),
        "the end completes its booking"
    );
    assert_eq!(
        (ended.energy_kwh, ended.cost_amount, ended.status),
        (Some(25.5), Some(250.0), SessionStatus::Completed)
    );
    assert!(
        store.end_session(&end, Utc::now()).await.unwrap().is_none(),
        "ends once"
    );
}

async fn id_tags_upsert(store: Arc<dyn Store>) {
    let mut tag = IdTag {
        id_tag: "RFID-1".into(),
        status: IdTagStatus::Accepted,
        expiry_date: None,
        parent_id_tag: None,
        user_id: Some(42),
    };
    store.upsert_id_tag(&tag, Utc::now()).await.unwrap();
    tag.status = IdTagStatus::Blocked;
    tag.expiry_date = Some(t("2031-01-01T00:00:00Z"));
    store.upsert_id_tag(&tag, Utc::now()).await.unwrap();
    assert_eq!(store.id_tag("RFID-1").await.unwrap().unwrap(), tag);
    assert!(store.id_tag("nope").await.unwrap().is_none());
}

async fn security_events_page_newest_first_and_certificates_are_kept(store: Arc<dyn Store>) {
    use booking::model::{IssuedCertificate, SecurityEvent};
    let (_, charger, _) = site(&*store).await;
    let (_, other, _) = site(&*store).await;
    let event = |kind: &str, at: &str, info: Option<&str>| SecurityEvent {
        charger_id: charger.id,
        kind: kind.into(),
        occurred_at: t(at),
        tech_info: info.map(str::to_owned),
        received_at: t("2030-01-02T00:00:00.456Z"),
    };
    let old = event("StartupOfTheDevice", "2030-01-01T08:00:00Z", None);
    let newer = event("FirmwareUpdated", "2030-01-01T09:00:00.123Z", Some("v2"));
    let newest = event("InvalidCsmsCertificate", "2030-01-01T10:00:00Z", None);
    for e in [&newer, &old, &newest] {
        store.record_security_event(e).await.unwrap();
    }
    let all = store.security_events(charger.id, None, 10).await.unwrap();
    assert_eq!(
        all,
        vec![newest.clone(), newer.clone(), old],
        "newest first"
    );
    let since = store
        .security_events(charger.id, Some(t("2030-01-01T09:00:00.123Z")), 10)
        .await
        .unwrap();
    assert_eq!(since, vec![newest.clone(), newer], "since is inclusive");
    let one = store.security_events(charger.id, None, 1).await.unwrap();
    assert_eq!(one, vec![newest]);
    assert!(
        store
            .security_events(other.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let issued = |serial: &str, at: &str| IssuedCertificate {
        charger_id: charger.id,
        serial: serial.into(),
        subject: charger.charge_point_id.clone(),
        not_after: t("2031-01-01T00:00:00Z"),
        issued_at: t(at),
    };
    let first = issued("0a1b", "2030-01-01T00:00:00Z");
    let second = issued("0c2d", "2030-06-01T00:00:00.789Z");
    store.record_issued_certificate(&first).await.unwrap();
    store.record_issued_certificate(&second).await.unwrap();
    assert!(
        store.record_issued_certificate(&first).await.is_err(),
        "a serial is issued once"
    );
    assert_eq!(
        store.issued_certificates(charger.id).await.unwrap(),
        vec![second, first]
    );
    assert!(
        store
            .issued_certificates(other.id)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn display_messages_replace_by_id_and_are_removed_once(store: Arc<dyn Store>) {
    let (_, charger, _) = site(&*store).await;
    let (_, other, _) = site(&*store).await;
    let message = |id: i32, origin: DisplayOrigin, text: &str| DisplayMessage {
        charger_id: charger.id,
        message_id: id,
        origin,
        info: serde_json::json!({"id": id, "priority": "NormalCycle",
            "message": {"format": "UTF8", "content": text}}),
        updated_at: t("2030-01-01T10:00:00.123Z"),
    };
    store
        .save_display_message(&message(7, DisplayOrigin::Reported, "old"))
        .await
        .unwrap();
    let replaced = message(7, DisplayOrigin::Booking, "Reserved 14:00–15:00");
    store.save_display_message(&replaced).await.unwrap();
    store
        .save_display_message(&message(3, DisplayOrigin::Operator, "Welcome"))
        .await
        .unwrap();
    let shown = store.display_messages(charger.id).await.unwrap();
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[0].message_id, 3, "by id");
    assert_eq!(shown[1], replaced);
    assert!(store.display_messages(other.id).await.unwrap().is_empty());
    assert!(store.remove_display_message(charger.id, 7).await.unwrap());
    assert!(!store.remove_display_message(charger.id, 7).await.unwrap());
    assert_eq!(store.display_messages(charger.id).await.unwrap().len(), 1);
}

async fn local_lists_keep_versions_tombstones_and_take_turns(store: Arc<dyn Store>) {
    use booking::model::{ListChange, ListSync};
    let (_, charger, _) = site(&*store).await;
    let (_, other, _) = site(&*store).await;
    let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(store.local_list(charger.id).await.unwrap().version, 0);
    let list = store
        .change_local_list(charger.id, &ListChange::Replace(tags(&["A", "B"])))
        .await
        .unwrap();
    assert_eq!(list.version, 1);
    let until = t("2030-01-01T12:00:00.123Z");
    store
        .change_local_list(
            charger.id,
            &ListChange::Reserve {
                id_tag: "BK".into(),
                reservation_id: 9,
                until,
            },
        )
        .await
        .unwrap();
    store
        .change_local_list(charger.id, &ListChange::Remove(tags(&["A"])))
        .await
        .unwrap();
    let read = store.local_list(charger.id).await.unwrap();
    assert_eq!(read.version, 3);
    assert_eq!(store.local_list_version(charger.id).await.unwrap(), 3);
    assert_eq!(store.local_list_version(other.id).await.unwrap(), 0);
    let a = read.entries.iter().find(|e| e.id_tag == "A").unwrap();
    assert!(a.removed && a.changed_in == 3, "a tombstone: {a:?}");
    let bk = read.entries.iter().find(|e| e.id_tag == "BK").unwrap();
    assert_eq!((bk.reservation_id, bk.until), (Some(9), Some(until)));
    assert_eq!(store.chargers_listing("B").await.unwrap(), vec![charger.id]);
    assert!(store.chargers_listing("A").await.unwrap().is_empty());
    // The charger holds version 3: the tombstone goes, what it said stays.
    let sync = ListSync {
        charger_version: Some(3),
        outcome: Some("Accepted".into()),
        at: Some(t("2030-01-01T10:00:00.001Z")),
        list_enabled: Some(true),
        cache_enabled: Some(false),
        max_items: Some(50),
    };
    store
        .record_local_list_sync(charger.id, &sync)
        .await
        .unwrap();
    let read = store.local_list(charger.id).await.unwrap();
    assert_eq!(read.sync, sync);
    assert_eq!(read.entries.len(), 2, "{:?}", read.entries);
    assert_eq!(store.local_list(other.id).await.unwrap().version, 0);
    // Concurrent changes take turns: every one lands, each its own version.
    let adds = (0..20).map(|i| {
        let store = store.clone();
        let id = other.id;
        tokio::spawn(async move {
            store
                .change_local_list(id, &ListChange::Add(vec![format!("T{i}")]))
                .await
        })
    });
    for add in futures_util::future::join_all(adds).await {
        add.unwrap().unwrap();
    }
    let read = store.local_list(other.id).await.unwrap();
    assert_eq!((read.version, read.entries.len()), (20, 20));
}

async fn charging_profiles_replace_by_id_and_origin_and_clear_by_criteria(store: Arc<dyn Store>) {
    use booking::model::{ChargingProfile, ProfileFilter, ProfileOrigin, ProfilePurpose};
    let (_, charger, _) = site(&*store).await;
    let (_, other, _) = site(&*store).await;
    let profile =
        |id: i32, origin: ProfileOrigin, evse: i32, purpose: ProfilePurpose, limit: i32| {
            ChargingProfile {
                charger_id: charger.id,
                profile_id: id,
                origin,
                evse_id: evse,
                purpose,
                stack_level: 1,
                profile: serde_json::json!({"chargingProfileId": id, "limit": limit}),
                updated_at: t("2030-01-01T10:00:00.123Z"),
            }
        };
    let max = profile(
        1,
        ProfileOrigin::Operator,
        0,
        ProfilePurpose::StationMax,
        22000,
    );
    store.save_charging_profile(&max).await.unwrap();
    let replaced = profile(
        1,
        ProfileOrigin::Operator,
        0,
        ProfilePurpose::StationMax,
        11000,
    );
    store.save_charging_profile(&replaced).await.unwrap();
    let reported = profile(
        1,
        ProfileOrigin::Reported,
        0,
        ProfilePurpose::StationMax,
        22000,
    );
    store.save_charging_profile(&reported).await.unwrap();
    let tx = profile(9, ProfileOrigin::PowerCap, 2, ProfilePurpose::Tx, 7000);
    store.save_charging_profile(&tx).await.unwrap();
    let default = profile(4, ProfileOrigin::Operator, 1, ProfilePurpose::TxDefault, 16);
    store.save_charging_profile(&default).await.unwrap();
    let held = store.charging_profiles(charger.id).await.unwrap();
    assert_eq!(
        held,
        [replaced.clone(), default.clone(), tx, reported.clone()],
        "by origin, EVSE, id"
    );
    assert!(store.charging_profiles(other.id).await.unwrap().is_empty());

    let by_purpose = ProfileFilter {
        purpose: Some(ProfilePurpose::Tx),
        ..ProfileFilter::default()
    };
    assert_eq!(
        store
            .remove_charging_profiles(charger.id, &by_purpose)
            .await
            .unwrap(),
        1
    );
    let by_id = ProfileFilter {
        profile_id: Some(1),
        ..ProfileFilter::default()
    };
    assert_eq!(
        store
            .remove_charging_profiles(charger.id, &by_id)
            .await
            .unwrap(),
        1,
        "reported ones stay"
    );
    let wrong_evse = ProfileFilter {
        evse_id: Some(2),
        stack_level: Some(1),
        ..ProfileFilter::default()
    };
    assert_eq!(
        store
            .remove_charging_profiles(charger.id, &wrong_evse)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.charging_profiles(charger.id).await.unwrap(),
        [default, reported]
    );
    assert_eq!(store.forget_reported_profiles(charger.id).await.unwrap(), 1);
    assert_eq!(
        store
            .remove_charging_profiles(charger.id, &ProfileFilter::default())
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .charging_profiles(charger.id)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn external_limits_are_kept_until_cleared(store: Arc<dyn Store>) {
    use booking::model::ExternalChargingLimit;
    let (_, charger, _) = site(&*store).await;
    let limit = |source: &str, evse: i32| ExternalChargingLimit {
        charger_id: charger.id,
        source: source.into(),
        evse_id: evse,
        limit: serde_json::json!({"chargingLimit": {"chargingLimitSource": source}, "evseId": evse}),
        updated_at: t("2030-01-01T10:00:00.123Z"),
    };
    store.save_charging_limit(&limit("EMS", 1)).await.unwrap();
    store.save_charging_limit(&limit("EMS", 2)).await.unwrap();
    store.save_charging_limit(&limit("SO", 0)).await.unwrap();
    let again = limit("SO", 0);
    store.save_charging_limit(&again).await.unwrap();
    assert_eq!(store.charging_limits(charger.id).await.unwrap().len(), 3);
    assert_eq!(
        store
            .clear_charging_limits(charger.id, "EMS", Some(2))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .clear_charging_limits(charger.id, "EMS", Some(2))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .clear_charging_limits(charger.id, "SO", None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.charging_limits(charger.id).await.unwrap(),
        [limit("EMS", 1)]
    );
}

async fn a_station_power_cap_is_set_replaced_and_lifted(store: Arc<dyn Store>) {
    use booking::model::StationPowerLimit;
    let (station, _, _) = site(&*store).await;
    assert!(
        store
            .station_power_limit(station.id)
            .await
            .unwrap()
            .is_none()
    );
    let cap = |max_w: i64| StationPowerLimit {
        station_id: station.id,
        max_w,
        updated_at: t("2030-01-01T10:00:00.123Z"),
    };
    store.set_station_power_limit(&cap(22_000)).await.unwrap();
    store.set_station_power_limit(&cap(50_000)).await.unwrap();
    assert_eq!(
        store.station_power_limit(station.id).await.unwrap(),
        Some(cap(50_000))
    );
    assert!(
        store.set_station_power_limit(&cap(0)).await.is_err(),
        "a cap is positive"
    );
    assert!(store.remove_station_power_limit(station.id).await.unwrap());
    assert!(!store.remove_station_power_limit(station.id).await.unwrap());
}

async fn a_connector_charges_by_its_own_tariff_else_its_stations(store: Arc<dyn Store>) {
    let (station, charger, first) = site(&*store).await;
    let second = store
        .insert_connector(&new_connector(&charger, 2, None))
        .await
        .unwrap()
        .id;
    let tariff = |name: &str, per_kwh: f64| Tariff {
        id: Uuid::new_v4(),
        name: name.into(),
        currency: "EUR".into(),
        price_per_kwh: per_kwh,
        price_per_minute_charging: 0.01,
        price_per_minute_idle: 0.2,
        session_fee: 0.5,
        tax_rate_percent: 19.0,
        created_at: t("2030-01-01T00:00:00.001Z"),
    };
    let (standard, fast) = (tariff("Standard", 0.39), tariff("Fast", 0.59));
    store.insert_tariff(&standard).await.unwrap();
    store.insert_tariff(&fast).await.unwrap();
    assert_eq!(store.tariff(fast.id).await.unwrap().unwrap(), fast);
    assert!(store.tariff_for_connector(first).await.unwrap().is_none());
    let now = Utc::now();
    store
        .assign_tariff(TariffScope::Station(station.id), Some(standard.id), now)
        .await
        .unwrap();
    store
        .assign_tariff(TariffScope::Connector(second), Some(fast.id), now)
        .await
        .unwrap();
    let of = async |c: Uuid| store.tariff_for_connector(c).await.unwrap().unwrap().name;
    assert_eq!(of(first).await, "Standard", "the station's");
    assert_eq!(of(second).await, "Fast", "its own wins");
    store
        .assign_tariff(TariffScope::Connector(second), None, now)
        .await
        .unwrap();
    assert_eq!(of(second).await, "Standard", "back to the station's");
    let mut dearer = standard.clone();
    dearer.price_per_kwh = 0.45;
    assert!(store.update_tariff(&dearer).await.unwrap());
    assert_eq!(
        store.tariff_for_connector(first).await.unwrap().unwrap(),
        dearer
    );
    let mut unknown = dearer.clone();
    unknown.id = Uuid::new_v4();
    assert!(!store.update_tariff(&unknown).await.unwrap());
    let (page, total) = store
        .tariffs(Page {
            limit: 1,
            offset: 0,
        })
        .await
        .unwrap();
    assert_eq!((page[0].name.as_str(), total), ("Fast", 2));
}

async fn credentials_rotate_keeping_the_old_pair_for_a_while(store: Arc<dyn Store>) {
    let s = station(&*store, "S", 1.0, 1.0).await;
    let c = charger_at(&s, "CP-ROT");
    store.insert_charger(&c).await.unwrap();
    let until = t("2031-01-01T00:00:00Z");
    let rotated = store
        .rotate_charger_credentials(
            c.id,
            SecurityProfile::TLS_BASIC,
            Some("$argon2id$new"),
            until,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rotated.security_profile, SecurityProfile::TLS_BASIC);
    assert_eq!(rotated.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(
        rotated.previous_credentials,
        Some(booking::model::PreviousCredentials {
            security_profile: SecurityProfile::BASIC,
            password_hash: c.password_hash.clone(),
            until,
        })
    );
    assert!(
        rotated
            .previous_credentials_at(t("2030-12-31T23:59:59Z"))
            .is_some()
    );
    assert!(rotated.previous_credentials_at(until).is_none());

    let pending = store
        .set_pending_credentials("CP-ROT", Some("sealed"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.pending_credentials.as_deref(), Some("sealed"));
    assert!(
        store
            .set_pending_credentials("CP-NONE", Some("x"))
            .await
            .unwrap()
            .is_none()
    );
    // A rotation applied drops what was queued.
    let again = store
        .rotate_charger_credentials(c.id, SecurityProfile::BASIC, Some("$argon2id$newer"), until)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.pending_credentials, None);
    assert_eq!(
        again.previous_credentials.unwrap().password_hash.as_deref(),
        Some("$argon2id$new")
    );
    store.forget_previous_credentials(c.id).await.unwrap();
    let read = store.charger_by_identity("CP-ROT").await.unwrap().unwrap();
    assert_eq!(read.previous_credentials, None);
    assert_eq!(read.password_hash.as_deref(), Some("$argon2id$newer"));
}

async fn online_chargers_are_listed(store: Arc<dyn Store>) {
    use booking::store::{BootInfo, PresenceUpdate};
    let s = station(&*store, "S", 1.0, 1.0).await;
    let (on, off) = (charger_at(&s, "CP-ON"), charger_at(&s, "CP-OFF"));
    store.insert_charger(&on).await.unwrap();
    store.insert_charger(&off).await.unwrap();
    let seen = t("2030-01-01T00:00:00Z");
    let update = |charger_id, online| PresenceUpdate {
        charger_id,
        online,
        version: Some(OcppVersion::V16),
        seen_at: seen,
        boot: None,
    };
    let booted = PresenceUpdate {
        boot: Some(BootInfo {
            vendor: Some("ACME".into()),
            ..BootInfo::default()
        }),
        ..update(on.id, true)
    };
    // One batch: a boot, a charger gone offline, and an id with no charger
    // behind it (changes nothing, fails nothing).
    store
        .record_presence(&[booted, update(off.id, false), update(Uuid::new_v4(), true)])
        .await
        .unwrap();
    assert_eq!(store.online_charger_identities().await.unwrap(), ["CP-ON"]);
    let read = store.charger(on.id).await.unwrap().unwrap();
    assert_eq!(
        (read.vendor.as_deref(), read.ocpp_version, read.last_seen_at),
        (Some("ACME"), Some(OcppVersion::V16), Some(seen))
    );
    let read = store.charger(off.id).await.unwrap().unwrap();
    assert_eq!((read.online, read.last_seen_at), (false, Some(seen)));
}

/// A storm's presence facts, more than one statement's worth, each landing
/// on its own charger: boots with what each said, the rest presence only.
async fn a_storm_of_presence_facts_lands_on_each_charger(store: Arc<dyn Store>) {
    use booking::store::{BootInfo, PresenceUpdate};
    let s = station(&*store, "S", 1.0, 1.0).await;
    let seen = t("2030-01-01T00:00:00Z");
    let mut batch = Vec::new();
    for n in 0..600 {
        let c = charger_at(&s, &format!("CP-STORM-{n}"));
        store.insert_charger(&c).await.unwrap();
        batch.push(PresenceUpdate {
            charger_id: c.id,
            online: n % 3 != 0,
            version: Some(OcppVersion::V16),
            seen_at: seen + TimeDelta::seconds(n),
            boot: (n % 2 == 0).then(|| BootInfo {
                vendor: Some(format!("V{n}")),
                serial_number: Some(format!("S{n}")),
                version: Some(OcppVersion::V16),
                ..BootInfo::default()
            }),
        });
    }
    store.record_presence(&batch).await.unwrap();
    for (n, update) in batch.iter().enumerate() {
        let read = store.charger(update.charger_id).await.unwrap().unwrap();
        assert_eq!(read.online, n % 3 != 0, "{n}");
        assert_eq!(read.last_seen_at, Some(update.seen_at), "{n}");
        assert_eq!(read.ocpp_version, Some(OcppVersion::V16), "{n}");
        let vendor = (n % 2 == 0).then(|| format!("V{n}"));
        // charger_at's vendor stays where no boot was among the facts.
        assert_eq!(read.vendor, vendor.or(Some("ACME".into())), "{n}");
    }
}

async fn unassigned_chargers_keep_what_they_said(store: Arc<dyn Store>) {
    use booking::store::BootInfo;
    let seen = BootInfo {
        version: Some(OcppVersion::V201),
        ..BootInfo::default()
    };
    store
        .record_unassigned_charger("NEW-1", &seen, t("2030-01-01T00:00:00Z"))
        .await
        .unwrap();
    let booted = BootInfo {
        vendor: Some("ACME".into()),
        model: Some("W1".into()),
        ..BootInfo::default()
    };
    store
        .record_unassigned_charger("NEW-1", &booted, t("2030-01-01T00:05:00Z"))
        .await
        .unwrap();
    store
        .record_unassigned_charger("NEW-2", &seen, t("2030-01-01T00:01:00Z"))
        .await
        .unwrap();
    let page = Page {
        limit: 10,
        offset: 0,
    };
    let (all, total) = store.unassigned_chargers(page).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(all[0].charge_point_id, "NEW-1", "most recently seen first");
    assert_eq!(
        all[0].ocpp_version,
        Some(OcppVersion::V201),
        "kept from the first sighting"
    );
    assert_eq!(all[0].vendor.as_deref(), Some("ACME"));
    assert_eq!(all[0].first_seen_at, t("2030-01-01T00:00:00Z"));
    assert_eq!(all[0].last_seen_at, t("2030-01-01T00:05:00Z"));
    store.forget_unassigned_charger("NEW-1").await.unwrap();
    let (all, total) = store.unassigned_chargers(page).await.unwrap();
    assert_eq!((all.len(), total), (1, 1));
}

async fn audit_entries_page_newest_first_by_target(store: Arc<dyn Store>) {
    use booking::audit::AuditEntry;
    for (i, target) in ["CP-1", "CP-2", "CP-1"].iter().enumerate() {
        let entry = AuditEntry::new(
            t("2030-01-01T00:00:00Z") + chrono::TimeDelta::seconds(i as i64),
            "7",
            "charger.admission",
            *target,
            serde_json::json!({ "n": i }),
            "ACCEPTED",
        );
        store.record_audit(&entry).await.unwrap();
    }
    let page = Page {
        limit: 10,
        offset: 0,
    };
    let (all, total) = store.audit_entries(page, None).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(all[0].details["n"], 2, "newest first");
    assert_eq!(all[0].actor, "7");
    assert_eq!(all[0].at, t("2030-01-01T00:00:02Z"));
    let (cp1, total) = store.audit_entries(page, Some("CP-1")).await.unwrap();
    assert_eq!(total, 2);
    assert!(cp1.iter().all(|e| e.target == "CP-1"));
    let (second, _) = store
        .audit_entries(
            Page {
                limit: 1,
                offset: 1,
            },
            Some("CP-1"),
        )
        .await
        .unwrap();
    assert_eq!(second[0].details["n"], 0);
}

async fn refunds_are_enqueued_once_and_come_due(store: Arc<dyn Store>) {
    let (s, _, conn) = site(&*store).await;
    let b = booking(
        &s,
        conn,
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
        BookingStatus::Cancelled,
    );
    store.insert_booking(&b).await.unwrap();
    let now = t("2030-01-01T09:00:00Z");
    let refund = refund(&b, "CHARGER_REJECTED", now, TimeDelta::minutes(1));
    assert!(store.enqueue_refund(&refund).await.unwrap());
    assert!(
        !store
            .enqueue_refund(&RefundRequest {
                id: Uuid::new_v4(),
                ..refund.clone()
            })
            .await
            .unwrap()
    );
    assert!(store.due_refunds(now, 10).await.unwrap().is_empty());
    let due = store
        .due_refunds(now + TimeDelta::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(due, [refund]);
}

async fn tallies_count_connectors_by_status_and_pending_refunds(store: Arc<dyn Store>) {
    use booking::model::ConnectorStatus::*;
    assert!(store.connectors_by_status().await.unwrap().is_empty());
    let (s, _, first) = site(&*store).await;
    site(&*store).await;
    store
        .set_connector_status(first, Available, Utc::now(), None)
        .await
        .unwrap();
    assert_eq!(
        store.connectors_by_status().await.unwrap(),
        [(Available, 1), (Offline, 1)]
    );
    assert_eq!(store.refunds_pending().await.unwrap(), 0);
    let b = booking(
        &s,
        first,
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
        BookingStatus::Cancelled,
    );
    store.insert_booking(&b).await.unwrap();
    let now = t("2030-01-01T09:00:00Z");
    // Not due for an hour: pending all the same.
    let pending = refund(&b, "NO_SHOW", now, TimeDelta::hours(1));
    store.enqueue_refund(&pending).await.unwrap();
    assert_eq!(store.refunds_pending().await.unwrap(), 1);
}

async fn maintenance_requests_number_per_charger_and_statuses_keep_a_short_history(
    store: Arc<dyn Store>,
) {
    use booking::model::{MaintenanceKind, MaintenanceRequest, MaintenanceStatus};
    use booking::store::MAINTENANCE_HISTORY;
    let (_, charger, _) = site(&*store).await;
    let (_, other, _) = site(&*store).await;
    let request =
        |charger_id: Uuid, kind: MaintenanceKind, token: Option<&str>| MaintenanceRequest {
            charger_id,
            request_id: 0,
            kind,
            action: "GetLog".into(),
            location: "https://gw.example/ocpp-uploads/CP/t/".into(),
            upload_token: token.map(str::to_owned),
            answer: None,
            requested_at: t("2030-01-01T10:00:00.123Z"),
        };
    let first = store
        .add_maintenance_request(&request(charger.id, MaintenanceKind::Firmware, None))
        .await
        .unwrap();
    let second = store
        .add_maintenance_request(&request(charger.id, MaintenanceKind::Log, Some("tok-a")))
        .await
        .unwrap();
    let elsewhere = store
        .add_maintenance_request(&request(other.id, MaintenanceKind::Log, Some("tok-b")))
        .await
        .unwrap();
    assert_eq!((first.request_id, second.request_id), (1, 2), "per charger");
    assert_eq!(elsewhere.request_id, 1);
    store
        .answer_maintenance_request(charger.id, 2, "Accepted")
        .await
        .unwrap();
    let found = store.maintenance_request_by_token("tok-a").await.unwrap();
    assert_eq!(found.as_ref().map(|r| r.request_id), Some(2));
    assert_eq!(found.unwrap().answer.as_deref(), Some("Accepted"));
    assert!(
        store
            .maintenance_request_by_token("tok-c")
            .await
            .unwrap()
            .is_none()
    );
    let logs = store
        .maintenance_requests(charger.id, MaintenanceKind::Log, 20)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].requested_at, t("2030-01-01T10:00:00.123Z"));
    for n in 0..(MAINTENANCE_HISTORY + 3) {
        let status = MaintenanceStatus {
            charger_id: charger.id,
            kind: MaintenanceKind::Firmware,
            status: format!("S{n}"),
            request_id: (n % 2 == 0).then_some(1),
            reported_at: t("2030-01-01T10:00:00Z") + TimeDelta::seconds(i64::from(n)),
        };
        store.add_maintenance_status(&status).await.unwrap();
    }
    let history = store
        .maintenance_statuses(charger.id, MaintenanceKind::Firmware)
        .await
        .unwrap();
    assert_eq!(history.len(), MAINTENANCE_HISTORY as usize, "pruned");
    assert_eq!(
        history[0].status,
        format!("S{}", MAINTENANCE_HISTORY + 2),
        "newest first"
    );
    assert_eq!(history[0].request_id, Some(1));
    assert!(
        store
            .maintenance_statuses(charger.id, MaintenanceKind::Log)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn operator_accounts_and_console_sessions(store: Arc<dyn evgate_store::Database>) {
    use booking::operators::{ConsoleSession, Operator, OperatorRole};
    let now = booking::clock::to_millis(Utc::now());
    let ana = Operator {
        id: 0,
        name: "ana".into(),
        role: OperatorRole::Admin,
        password_hash: "$argon2id$first".into(),
        created_at: now,
    };
    let stored = store.add_operator(&ana).await.unwrap();
    assert!(stored.id > 0);
    assert_eq!(
        (stored.name.as_str(), stored.role),
        ("ana", OperatorRole::Admin)
    );
    assert!(matches!(
        store.add_operator(&ana).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        store.operator_by_name("ana").await.unwrap(),
        Some(stored.clone())
    );
    assert_eq!(store.operator_by_name("Ana").await.unwrap(), None);

    let session = |hash: &str, hours: i64| ConsoleSession {
        token_hash: hash.into(),
        operator_id: stored.id,
        csrf_token: format!("csrf-{hash}"),
        expires_at: now + TimeDelta::hours(hours),
    };
    for (hash, hours) in [("laptop", 12), ("tablet", 12), ("old", 1)] {
        store
            .open_console_session(&session(hash, hours), now)
            .await
            .unwrap();
    }
    let (found, whose) = store.console_session("laptop", now).await.unwrap().unwrap();
    assert_eq!((found, whose.id), (session("laptop", 12), stored.id));
    // Ended by time: not found, and swept when the next session opens.
    let later = now + TimeDelta::hours(2);
    assert!(store.console_session("old", later).await.unwrap().is_none());
    assert!(
        store
            .console_session("unknown", now)
            .await
            .unwrap()
            .is_none()
    );

    // A new password ends every other session of the operator.
    store
        .set_operator_password(stored.id, "$argon2id$second", Some("laptop"))
        .await
        .unwrap();
    let (_, whose) = store.console_session("laptop", now).await.unwrap().unwrap();
    assert_eq!(whose.password_hash, "$argon2id$second");
    assert!(
        store
            .console_session("tablet", now)
            .await
            .unwrap()
            .is_none()
    );

    store.close_console_session("laptop").await.unwrap();
    assert!(
        store
            .console_session("laptop", now)
            .await
            .unwrap()
            .is_none()
    );
    store.close_console_session("laptop").await.unwrap();
}

async fn operator_views_count_and_search(store: Arc<dyn evgate_store::Database>) {
    let s = station(&*store, "Views", 1.0, 2.0).await;
    for (id, online, version) in [
        ("AB_1", true, OcppVersion::V16),
        ("ABX1", true, OcppVersion::V201),
        ("ZZ-9", false, OcppVersion::V201),
    ] {
        let mut c = charger_at(&s, id);
        c.online = online;
        c.ocpp_version = Some(version);
        store.insert_charger(&c).await.unwrap();
    }
    let c = store.charger_by_identity("ABX1").await.unwrap().unwrap();
    let connector = store
        .insert_connector(&new_connector(&c, 1, None))
        .await
        .unwrap();
    let day = t("2031-05-01T00:00:00Z");
    for (start, end, status) in [
        (
            "2031-05-01T08:00:00Z",
            "2031-05-01T09:00:00Z",
            BookingStatus::Confirmed,
        ),
        (
            "2031-05-01T10:00:00Z",
            "2031-05-01T11:00:00Z",
            BookingStatus::Cancelled,
        ),
        (
            "2031-05-02T08:00:00Z",
            "2031-05-02T09:00:00Z",
            BookingStatus::Confirmed,
        ),
    ] {
        store
            .insert_booking(&booking(&s, connector.id, start, end, status))
            .await
            .unwrap();
    }

    let o = store
        .network_overview(day, day + TimeDelta::days(1))
        .await
        .unwrap();
    assert_eq!(o.chargers, 3);
    assert_eq!(
        o.online_by_version,
        [(OcppVersion::V16, 1), (OcppVersion::V201, 1)]
    );
    assert_eq!(
        o.bookings_by_status,
        [(BookingStatus::Cancelled, 1), (BookingStatus::Confirmed, 1)]
    );
    assert_eq!(o.sessions_active, 0);
    assert_eq!(
        o.connectors_by_status.iter().map(|(_, n)| n).sum::<u64>(),
        1
    );

    let all = Page {
        limit: 10,
        offset: 0,
    };
    let ids = |found: (Vec<Charger>, u64)| {
        (
            found
                .0
                .into_iter()
                .map(|c| c.charge_point_id)
                .collect::<Vec<_>>(),
            found.1,
        )
    };
    assert_eq!(ids(store.find_chargers(None, all).await.unwrap()).1, 3);
    // `_` is taken literally, not as LIKE's one-character wildcard.
    assert_eq!(
        ids(store.find_chargers(Some("B_"), all).await.unwrap()),
        (vec!["AB_1".to_owned()], 1)
    );
    // Paged in identity order (the backend's collation decides where `_` goes).
    let one = |offset| Page { limit: 1, offset };
    let (first, n) = ids(store.find_chargers(Some("AB"), one(0)).await.unwrap());
    let (second, _) = ids(store.find_chargers(Some("AB"), one(1)).await.unwrap());
    let mut both = [first, second].concat();
    both.sort();
    assert_eq!((both, n), (vec!["ABX1".to_owned(), "AB_1".to_owned()], 2));
    assert_eq!(ids(store.find_chargers(Some("%"), all).await.unwrap()).1, 0);

    // A station's connectors a page at a time, as drivers read their labels.
    for (evse, label) in [(2, "10"), (3, "2")] {
        store
            .insert_connector(&new_connector(&c, evse, Some(label)))
            .await
            .unwrap();
    }
    let (page, n) = store
        .station_connectors(
            s.id,
            Page {
                limit: 2,
                offset: 1,
            },
        )
        .await
        .unwrap();
    let labels: Vec<_> = page.iter().map(|c| c.connector_number.as_str()).collect();
    assert_eq!((labels, n), (vec!["2", "10"], 3));
    let elsewhere = store.station_connectors(Uuid::new_v4(), all).await.unwrap();
    assert_eq!((elsewhere.0.len(), elsewhere.1), (0, 0));

    // Sessions overlapping a day: one that ended in it, one still open
    // since the day before; one of the next day is left out.
    let session = |key: &str, start: &str, end: Option<&str>| ChargingSession {
        id: Uuid::new_v4(),
        booking_id: None,
        connector_id: connector.id,
        charger_id: c.id,
        transaction: TransactionKey::Ocpp(OcppVersion::V201, key.into()),
        id_tag: Some("TAG1".into()),
        started_at: t(start),
        ended_at: end.map(t),
        meter_start_wh: None,
        meter_stop_wh: None,
        energy_kwh: None,
        cost_amount: None,
        status: SessionStatus::Charging,
        stop_reason: None,
    };
    for s in [
        session("in", "2031-05-01T09:00:00Z", Some("2031-05-01T10:00:00Z")),
        session("open", "2031-04-30T22:00:00Z", None),
        session("next", "2031-05-02T09:00:00Z", Some("2031-05-02T10:00:00Z")),
    ] {
        store.start_session(&s, Utc::now()).await.unwrap();
    }
    let found = store
        .sessions_between(&[connector.id], day, day + TimeDelta::days(1))
        .await
        .unwrap();
    let keys: Vec<_> = found.iter().map(|s| s.transaction.clone()).collect();
    assert_eq!(
        keys,
        [
            TransactionKey::Ocpp(OcppVersion::V201, "open".into()),
            TransactionKey::Ocpp(OcppVersion::V201, "in".into())
        ]
    );
    assert!(
        store
            .sessions_between(&[], day, day + TimeDelta::days(1))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn removals_keep_history_and_refuse_live_bookings(store: Arc<dyn evgate_store::Database>) {
    use booking::store::SiteThing;
    let (s, c, used) = site(&*store).await;
    let spare = store
        .insert_connector(&new_connector(&c, 2, Some("9")))
        .await
        .unwrap();
    let live = booking(
        &s,
        used,
        "2031-01-01T10:00:00Z",
        "2031-01-01T11:00:00Z",
        BookingStatus::Confirmed,
    );
    store.insert_booking(&live).await.unwrap();

    // Live bookings and history keep a thing; each refusal changes nothing.
    for thing in [
        SiteThing::Connector(used),
        SiteThing::Charger(c.id),
        SiteThing::Station(s.id),
    ] {
        match store.delete_site_thing(thing).await {
            Err(Error::Conflict(m)) => assert!(m.contains("confirmed or active"), "{m}"),
            other => panic!("{thing:?}: {other:?}"),
        }
    }
    let mut past = booking(
        &s,
        used,
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
        BookingStatus::Completed,
    );
    past.hold_token = Some("past".into());
    store.insert_booking(&past).await.unwrap();
    store
        .transition_booking(
            live.id,
            &[BookingStatus::Confirmed],
            BookingStatus::Cancelled,
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    match store.delete_site_thing(SiteThing::Connector(used)).await {
        Err(Error::Conflict(m)) => assert!(m.contains("history stays"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(store.connector(used).await.unwrap().is_some());

    // An unused connector goes; an unknown one is not found.
    let removed = store
        .delete_site_thing(SiteThing::Connector(spare.id))
        .await
        .unwrap();
    assert_eq!(
        (removed.station_id, removed.charge_point_ids.len()),
        (s.id, 0)
    );
    assert!(store.connector(spare.id).await.unwrap().is_none());
    assert!(matches!(
        store
            .delete_site_thing(SiteThing::Connector(spare.id))
            .await,
        Err(Error::NotFound { .. })
    ));

    // A station nobody booked goes with its chargers and connectors.
    let (s2, c2, k2) = site(&*store).await;
    let removed = store
        .delete_site_thing(SiteThing::Station(s2.id))
        .await
        .unwrap();
    assert_eq!(removed.charge_point_ids, vec![c2.charge_point_id.clone()]);
    assert!(store.station(s2.id).await.unwrap().is_none());
    assert!(store.charger(c2.id).await.unwrap().is_none());
    assert!(store.connector(k2).await.unwrap().is_none());

    // Edits: a station keeps its id and creation time; a label another
    // connector of the station has is a conflict.
    let mut edited = s.clone();
    edited.name = "Renamed".into();
    edited.address = Some("Quay 2".into());
    edited.created_at = t("1999-01-01T00:00:00Z");
    let got = store.update_station(&edited).await.unwrap().unwrap();
    assert_eq!(
        (got.name.as_str(), got.address.as_deref(), got.created_at),
        (
            "Renamed",
            Some("Quay 2"),
            booking::clock::to_millis(s.created_at)
        )
    );
    let other = store
        .insert_connector(&new_connector(&c, 3, Some("B")))
        .await
        .unwrap();
    let changed = store
        .update_connector(used, "A", "Type2", 22.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            changed.connector_number.as_str(),
            changed.connector_type.as_str(),
            changed.power_kw
        ),
        ("A", "Type2", 22.0)
    );
    assert!(matches!(
        store.update_connector(other.id, "A", "CCS", 50.0).await,
        Err(Error::Conflict(_))
    ));
    assert!(
        store
            .update_connector(Uuid::new_v4(), "Z", "CCS", 50.0)
            .await
            .unwrap()
            .is_none()
    );
}

backend_suite!(
    stations_round_trip_and_page,
    stations_in_box_handles_the_antimeridian,
    charger_identity_is_unique,
    connectors_are_numbered_and_unique,
    reservation_ids_are_unique_per_charger,
    live_bookings_never_overlap,
    transitions_are_conditional_and_happen_once,
    reservation_claims_and_worker_queries,
    connector_status_ignores_stale_reports,
    status_reports_at_once_are_each_written,
    concurrent_overlapping_inserts_admit_exactly_one,
    bookings_in_window_filters_time_and_status,
    hold_tokens_are_used_once,
    sessions_are_keyed_by_charger_protocol_and_transaction,
    id_tags_upsert,
    operator_accounts_and_console_sessions,
    operator_views_count_and_search,
    removals_keep_history_and_refuse_live_bookings,
    sessions_end_once_and_bookings_are_found_by_reservation_or_tag,
    refunds_are_enqueued_once_and_come_due,
    tallies_count_connectors_by_status_and_pending_refunds,
    credentials_rotate_keeping_the_old_pair_for_a_while,
    audit_entries_page_newest_first_by_target,
    unassigned_chargers_keep_what_they_said,
    online_chargers_are_listed,
    a_storm_of_presence_facts_lands_on_each_charger,
    display_messages_replace_by_id_and_are_removed_once,
    a_connector_charges_by_its_own_tariff_else_its_stations,
    local_lists_keep_versions_tombstones_and_take_turns,
    charging_profiles_replace_by_id_and_origin_and_clear_by_criteria,
    external_limits_are_kept_until_cleared,
    a_station_power_cap_is_set_replaced_and_lifted,
    security_events_page_newest_first_and_certificates_are_kept,
    maintenance_requests_number_per_charger_and_statuses_keep_a_short_history,
);
