//! Every update that writes several rows commits all of them or none: for
//! each such path the second write is made to fail (a trigger that raises,
//! installed for the test) and nothing of the first may remain. Both
//! backends; PostgreSQL `--ignored` in a plain `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use booking::Store;
use booking::model::{
    Booking, BookingStatus, Charger, ChargingSession, ConnectorStatus, OcppVersion, SessionStatus,
    Station, TransactionKey,
};
use booking::store::{RefundDraft, ReservationVoid, SessionEnd};
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

mod fixtures;

/// Makes every `op` on `table` fail from now on.
trait InjectFailure {
    async fn fail_on(&self, op: &str, table: &str);
}

impl InjectFailure for evgate_store::SqliteStore {
    async fn fail_on(&self, op: &str, table: &str) {
        let sql = format!(
            "create trigger injected_{op}_{table} before {op} on {table} \
             begin select raise(abort, 'injected failure'); end"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(self.pool())
            .await
            .unwrap();
    }
}

impl InjectFailure for evgate_store::PgStore {
    async fn fail_on(&self, op: &str, table: &str) {
        sqlx::query(
            "create or replace function injected_failure() returns trigger \
             language plpgsql as $$ begin raise exception 'injected failure'; end $$",
        )
        .execute(self.pool())
        .await
        .unwrap();
        let sql = format!(
            "create trigger injected_{op}_{table} before {op} on {table} \
             for each row execute function injected_failure()"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(self.pool())
            .await
            .unwrap();
    }
}

/// A station, a charger and a connector that has reported Reserved.
struct Site {
    station: Station,
    charger: Charger,
    connector: Uuid,
}

async fn site(store: &dyn Store, now: DateTime<Utc>) -> Site {
    let (station, charger, connector) = fixtures::site(store).await;
    store
        .set_connector_status(connector, ConnectorStatus::Reserved, now, None)
        .await
        .unwrap()
        .unwrap();
    Site {
        station,
        charger,
        connector,
    }
}

/// A CONFIRMED booking from `start` for an hour, reserved on the charger.
async fn booking(store: &dyn Store, site: &Site, start: DateTime<Utc>) -> Booking {
    let start = booking::clock::to_millis(start);
    let b = Booking {
        reservation_id: Some(3),
        reserved_on_charger: true,
        id_tag: Some("EVTAG".into()),
        ..fixtures::booking(
            &site.station,
            site.connector,
            &start.to_rfc3339(),
            &(start + TimeDelta::hours(1)).to_rfc3339(),
            BookingStatus::Confirmed,
        )
    };
    store.insert_booking(&b).await.unwrap();
    b
}

fn session(site: &Site, booking: Option<Uuid>, now: DateTime<Utc>) -> ChargingSession {
    ChargingSession {
        id: Uuid::new_v4(),
        booking_id: booking,
        connector_id: site.connector,
        charger_id: site.charger.id,
        transaction: TransactionKey::Ocpp(OcppVersion::V16, "41".into()),
        id_tag: Some("EVTAG".into()),
        started_at: booking::clock::to_millis(now),
        ended_at: None,
        meter_start_wh: Some(1000.0),
        meter_stop_wh: None,
        energy_kwh: None,
        cost_amount: None,
        status: SessionStatus::Charging,
        stop_reason: None,
    }
}

/// A Faulted report on a reserved connector voids its bookings' hardware
/// reservation: if that write fails, the status is not recorded either.
async fn status_and_voided_reservations<S: Store + InjectFailure>(store: S) {
    let now = Utc::now();
    let site = site(&store, now).await;
    let b = booking(&store, &site, now + TimeDelta::minutes(5)).await;
    store.fail_on("update", "bookings").await;
    let void = ReservationVoid {
        now,
        until: now + TimeDelta::hours(5),
    };
    let at = now + TimeDelta::seconds(1);
    let failed = store
        .set_connector_status(site.connector, ConnectorStatus::Faulted, at, Some(void))
        .await;
    assert!(failed.is_err(), "{failed:?}");
    let connector = store.connector(site.connector).await.unwrap().unwrap();
    assert_eq!(
        connector.status,
        ConnectorStatus::Reserved,
        "status rolled back"
    );
    assert!(
        store
            .booking(b.id)
            .await
            .unwrap()
            .unwrap()
            .reserved_on_charger
    );
}

/// A start that fulfils a booking: if the booking cannot become ACTIVE,
/// no session is recorded.
async fn session_start_and_booking_active<S: Store + InjectFailure>(store: S) {
    let now = Utc::now();
    let site = site(&store, now).await;
    let b = booking(&store, &site, now).await;
    store.fail_on("update", "bookings").await;
    let s = session(&site, Some(b.id), now);
    assert!(store.start_session(&s, now).await.is_err());
    assert!(
        store
            .session_by_transaction(site.charger.id, &s.transaction)
            .await
            .unwrap()
            .is_none(),
        "session rolled back"
    );
    assert!(
        store
            .open_session_on(site.connector)
            .await
            .unwrap()
            .is_none()
    );
    let b = store.booking(b.id).await.unwrap().unwrap();
    assert_eq!(b.status, BookingStatus::Confirmed);
}

/// An end that completes a booking: if the booking cannot become
/// COMPLETED, the session stays open.
async fn session_end_and_booking_completed<S: Store + InjectFailure>(store: S) {
    let now = Utc::now();
    let site = site(&store, now).await;
    let b = booking(&store, &site, now).await;
    let s = session(&site, Some(b.id), now);
    let started = store.start_session(&s, now).await.unwrap();
    assert_eq!(started.booking.unwrap().status, BookingStatus::Active);
    store.fail_on("update", "bookings").await;
    let end = SessionEnd {
        session_id: s.id,
        ended_at: now + TimeDelta::minutes(30),
        meter_stop_wh: Some(21_000.0),
        energy_kwh: Some(20.0),
        cost_amount: None,
        status: SessionStatus::Completed,
        stop_reason: Some("Local".into()),
    };
    assert!(store.end_session(&end, now).await.is_err());
    let open = store.open_session_on(site.connector).await.unwrap();
    assert_eq!(open.map(|s| s.id), Some(s.id), "session end rolled back");
    let b = store.booking(b.id).await.unwrap().unwrap();
    assert_eq!(b.status, BookingStatus::Active);
}

/// A no-show owes a refund: if the outbox entry cannot be written, the
/// booking stays CONFIRMED (the next pass tries again).
async fn no_show_and_refund<S: Store + InjectFailure>(store: S) {
    let now = Utc::now();
    let site = site(&store, now).await;
    let b = booking(&store, &site, now - TimeDelta::hours(2)).await;
    store.fail_on("insert", "refund_requests").await;
    let refund = RefundDraft {
        id: Uuid::new_v4(),
        reason: "NO_SHOW".into(),
    };
    let from = [BookingStatus::Confirmed];
    let failed = store
        .transition_with_refund(b.id, &from, BookingStatus::NoShow, &refund, now)
        .await;
    assert!(failed.is_err(), "{failed:?}");
    let b = store.booking(b.id).await.unwrap().unwrap();
    assert_eq!(
        (b.status, b.cancel_reason),
        (BookingStatus::Confirmed, None)
    );
    assert!(store.due_refunds(now, 10).await.unwrap().is_empty());
}

/// Without an injected failure the same paths write both rows.
async fn both_rows_without_a_failure<S: Store>(store: S) {
    let now = Utc::now();
    let site = site(&store, now).await;
    let b = booking(&store, &site, now - TimeDelta::hours(2)).await;
    let refund = RefundDraft {
        id: Uuid::new_v4(),
        reason: "NO_SHOW".into(),
    };
    let from = [BookingStatus::Confirmed];
    let no_show = store
        .transition_with_refund(b.id, &from, BookingStatus::NoShow, &refund, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(no_show.cancel_reason.as_deref(), Some("NO_SHOW"));
    let owed = store.due_refunds(now, 10).await.unwrap();
    assert_eq!(
        owed.iter()
            .map(|r| (r.booking_id, r.payment_id.as_deref()))
            .collect::<Vec<_>>(),
        vec![(b.id, Some("pay_1"))]
    );
    // Once: a second pass finds the booking no longer CONFIRMED.
    let again = store
        .transition_with_refund(b.id, &from, BookingStatus::NoShow, &refund, now)
        .await
        .unwrap();
    assert!(again.is_none());

    let reserved = booking(&store, &site, now + TimeDelta::minutes(5)).await;
    let void = ReservationVoid {
        now,
        until: now + TimeDelta::hours(5),
    };
    let at = now + TimeDelta::seconds(1);
    let change = store
        .set_connector_status(site.connector, ConnectorStatus::Faulted, at, Some(void))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(change.connector.status, ConnectorStatus::Faulted);
    assert_eq!(
        change
            .voided
            .iter()
            .map(|b| (b.id, b.reserved_on_charger))
            .collect::<Vec<_>>(),
        vec![(reserved.id, false)]
    );
}

mod sqlite {
    #[tokio::test]
    async fn status_and_voided_reservations() {
        super::status_and_voided_reservations(evgate_store::test_util::sqlite().await.store).await;
    }

    #[tokio::test]
    async fn session_start_and_booking_active() {
        super::session_start_and_booking_active(evgate_store::test_util::sqlite().await.store)
            .await;
    }

    #[tokio::test]
    async fn session_end_and_booking_completed() {
        super::session_end_and_booking_completed(evgate_store::test_util::sqlite().await.store)
            .await;
    }

    #[tokio::test]
    async fn no_show_and_refund() {
        super::no_show_and_refund(evgate_store::test_util::sqlite().await.store).await;
    }

    #[tokio::test]
    async fn both_rows_without_a_failure() {
        super::both_rows_without_a_failure(evgate_store::test_util::sqlite().await.store).await;
    }
}

mod postgres {
    #[tokio::test]
    #[ignore = "needs PostgreSQL (EVGATE_TEST_PG_URL); run by .ci/run"]
    async fn status_and_voided_reservations() {
        super::status_and_voided_reservations(evgate_store::test_util::postgres().await.store)
            .await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL (EVGATE_TEST_PG_URL); run by .ci/run"]
    async fn session_start_and_booking_active() {
        super::session_start_and_booking_active(evgate_store::test_util::postgres().await.store)
            .await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL (EVGATE_TEST_PG_URL); run by .ci/run"]
    async fn session_end_and_booking_completed() {
        super::session_end_and_booking_completed(evgate_store::test_util::postgres().await.store)
            .await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL (EVGATE_TEST_PG_URL); run by .ci/run"]
    async fn no_show_and_refund() {
        super::no_show_and_refund(evgate_store::test_util::postgres().await.store).await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL (EVGATE_TEST_PG_URL); run by .ci/run"]
    async fn both_rows_without_a_failure() {
        super::both_rows_without_a_failure(evgate_store::test_util::postgres().await.store).await;
    }
}
