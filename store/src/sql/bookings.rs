//! Bookings: the ledger of drivers' claims on connectors. The overlap rule
//! is the database's (`booking_no_overlap`: an exclusion constraint on
//! PostgreSQL, a trigger on SQLite).

use async_trait::async_trait;
use booking::Result;
use booking::model::{Booking, BookingStatus, Page, RefundRequest, RefundState};
use booking::store::{BookingLedger, RefundDraft, ReservationVoid};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{Conn, Db, Row, all, commit, get, ms, one, page_binds, parse, refunds, total};
use crate::SqlStore;
use crate::error::db_error;

fn booking_of(row: &Row) -> Result<Booking> {
    Ok(Booking {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        station_id: get(row, "station_id")?,
        connector_id: get(row, "connector_id")?,
        start_ts: get(row, "start_ts")?,
        end_ts: get(row, "end_ts")?,
        status: parse(row, "status")?,
        hold_token: get(row, "hold_token")?,
        payment_id: get(row, "payment_id")?,
        vendor_booking_id: get(row, "vendor_booking_id")?,
        reservation_id: get(row, "reservation_id")?,
        cancel_reason: get(row, "cancel_reason")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        reserved_on_charger: get(row, "reserved_on_charger")?,
        id_tag: get(row, "id_tag")?,
    })
}

async fn insert(conn: &mut Conn, b: &Booking) -> Result<()> {
    sqlx::query(
        "insert into bookings (id, user_id, station_id, connector_id, start_ts, end_ts, status, \
           hold_token, payment_id, vendor_booking_id, reservation_id, cancel_reason, created_at, \
           updated_at, reserved_on_charger, id_tag) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(b.id)
    .bind(b.user_id)
    .bind(b.station_id)
    .bind(b.connector_id)
    .bind(ms(b.start_ts))
    .bind(ms(b.end_ts))
    .bind(b.status.as_str())
    .bind(&b.hold_token)
    .bind(&b.payment_id)
    .bind(&b.vendor_booking_id)
    .bind(b.reservation_id)
    .bind(&b.cancel_reason)
    .bind(ms(b.created_at))
    .bind(ms(b.updated_at))
    .bind(b.reserved_on_charger)
    .bind(&b.id_tag)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn by_id(conn: &mut Conn, id: Uuid) -> Result<Option<Booking>> {
    let row = sqlx::query("select * from bookings where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    one(row, booking_of)
}

async fn by_hold_token(conn: &mut Conn, token: &str) -> Result<Option<Booking>> {
    let row = sqlx::query("select * from bookings where hold_token = $1")
        .bind(token)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    one(row, booking_of)
}

/// NULL parameters switch a filter off: one statement for all four cases.
async fn of_user(
    conn: &mut Conn,
    user_id: Option<i64>,
    status: Option<BookingStatus>,
    page: Page,
) -> Result<(Vec<Booking>, u64)> {
    let (limit, offset) = page_binds(page);
    let status = status.map(|s| s.as_str());
    let rows = sqlx::query(
        "select * from bookings \
         where ($1 is null or user_id = $1) and ($2 is null or status = $2) \
         order by created_at desc, id limit $3 offset $4",
    )
    .bind(user_id)
    .bind(status)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let n: i64 = sqlx::query_scalar(
        "select count(*) from bookings \
         where ($1 is null or user_id = $1) and ($2 is null or status = $2)",
    )
    .bind(user_id)
    .bind(status)
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    Ok((all(&rows, booking_of)?, total(n)))
}

/// The conditional write behind every transition: only from one of `from`.
pub(super) async fn transition(
    conn: &mut Conn,
    id: Uuid,
    from: &[BookingStatus],
    to: BookingStatus,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Booking>> {
    if from.is_empty() {
        return Ok(None);
    }
    let mut q = QueryBuilder::<Db>::new("update bookings set status = ");
    q.push_bind(to.as_str());
    q.push(", cancel_reason = coalesce(");
    q.push_bind(reason);
    q.push(", cancel_reason), updated_at = ");
    q.push_bind(ms(now));
    q.push(" where id = ");
    q.push_bind(id);
    q.push(" and status in (");
    let mut list = q.separated(", ");
    for s in from {
        list.push_bind(s.as_str());
    }
    q.push(") returning *");
    let row = q.build().fetch_optional(conn).await.map_err(db_error)?;
    one(row, booking_of)
}

async fn claim_reservation(conn: &mut Conn, booking_id: Uuid, reservation_id: i32) -> Result<bool> {
    let done = sqlx::query(
        "update bookings set reservation_id = $2 \
         where id = $1 and status = 'CONFIRMED' and reservation_id is null",
    )
    .bind(booking_id)
    .bind(reservation_id)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() == 1)
}

async fn set_reserved_on_charger(
    conn: &mut Conn,
    booking_id: Uuid,
    reserved: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("update bookings set reserved_on_charger = $2, updated_at = $3 where id = $1")
        .bind(booking_id)
        .bind(reserved)
        .bind(ms(now))
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// The charger's reservations a Faulted/Unavailable connector ends.
pub(super) async fn void_reservations(
    conn: &mut Conn,
    connector_id: Uuid,
    void: ReservationVoid,
) -> Result<Vec<Booking>> {
    let rows = sqlx::query(
        "update bookings set reserved_on_charger = $2, updated_at = $3 \
         where connector_id = $1 and status = 'CONFIRMED' and reserved_on_charger \
           and start_ts < $4 and end_ts > $3 \
         returning *",
    )
    .bind(connector_id)
    .bind(false)
    .bind(ms(void.now))
    .bind(ms(void.until))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    let mut voided = all(&rows, booking_of)?;
    voided.sort_by(|a, b| a.start_ts.cmp(&b.start_ts).then(a.id.cmp(&b.id)));
    Ok(voided)
}

async fn due_for_reservation(
    conn: &mut Conn,
    starts_by: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Booking>> {
    let rows = sqlx::query(
        "select * from bookings \
         where status = 'CONFIRMED' and reservation_id is null \
           and start_ts <= $1 and end_ts > $2 \
           and connector_id in (select id from connectors where vendor_id is null) \
         order by start_ts, id limit $3",
    )
    .bind(ms(starts_by))
    .bind(ms(now))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    all(&rows, booking_of)
}

pub(super) async fn by_reservation(
    conn: &mut Conn,
    charger_id: Uuid,
    reservation_id: i32,
) -> Result<Option<Booking>> {
    let row = sqlx::query(
        "select * from bookings \
         where reservation_id = $2 \
           and connector_id in (select id from connectors where charger_id = $1) \
         order by created_at desc limit 1",
    )
    .bind(charger_id)
    .bind(reservation_id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, booking_of)
}

async fn confirmed_for_id_tag(
    conn: &mut Conn,
    connector_id: Uuid,
    id_tag: &str,
    earliest_start: DateTime<Utc>,
    latest_start: DateTime<Utc>,
) -> Result<Option<Booking>> {
    let row = sqlx::query(
        "select * from bookings \
         where connector_id = $1 and id_tag = $2 and status = 'CONFIRMED' \
           and start_ts >= $3 and start_ts <= $4 \
         order by start_ts limit 1",
    )
    .bind(connector_id)
    .bind(id_tag)
    .bind(ms(earliest_start))
    .bind(ms(latest_start))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, booking_of)
}

async fn confirmed_started_by(
    conn: &mut Conn,
    started_by: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Booking>> {
    let rows = sqlx::query(
        "select * from bookings where status = 'CONFIRMED' and start_ts <= $1 \
         order by start_ts, id limit $2",
    )
    .bind(ms(started_by))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    all(&rows, booking_of)
}

async fn in_window(
    conn: &mut Conn,
    connector_ids: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    statuses: &[BookingStatus],
) -> Result<Vec<Booking>> {
    if connector_ids.is_empty() || statuses.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new("select * from bookings where connector_id in (");
    let mut list = q.separated(", ");
    for id in connector_ids {
        list.push_bind(*id);
    }
    q.push(") and start_ts < ");
    q.push_bind(ms(to));
    q.push(" and end_ts > ");
    q.push_bind(ms(from));
    q.push(" and status in (");
    let mut list = q.separated(", ");
    for s in statuses {
        list.push_bind(s.as_str());
    }
    q.push(") order by start_ts, id");
    let rows = q.build().fetch_all(conn).await.map_err(db_error)?;
    all(&rows, booking_of)
}

async fn id_tag_has_live_booking(conn: &mut Conn, id_tag: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "select count(*) from bookings where id_tag = $1 and status in ('CONFIRMED', 'ACTIVE')",
    )
    .bind(id_tag)
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    Ok(n > 0)
}

#[async_trait]
impl BookingLedger for SqlStore<Db> {
    async fn insert_booking(&self, booking: &Booking) -> Result<()> {
        insert(&mut *self.write().await?, booking).await
    }

    async fn booking(&self, id: Uuid) -> Result<Option<Booking>> {
        by_id(&mut *self.conn().await?, id).await
    }

    async fn booking_by_hold_token(&self, token: &str) -> Result<Option<Booking>> {
        by_hold_token(&mut *self.conn().await?, token).await
    }

    async fn bookings_of(
        &self,
        user_id: Option<i64>,
        status: Option<BookingStatus>,
        page: Page,
    ) -> Result<(Vec<Booking>, u64)> {
        of_user(&mut *self.conn().await?, user_id, status, page).await
    }

    async fn transition_booking(
        &self,
        id: Uuid,
        from: &[BookingStatus],
        to: BookingStatus,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Booking>> {
        transition(&mut *self.write().await?, id, from, to, reason, now).await
    }

    async fn transition_with_refund(
        &self,
        id: Uuid,
        from: &[BookingStatus],
        to: BookingStatus,
        refund: &RefundDraft,
        now: DateTime<Utc>,
    ) -> Result<Option<Booking>> {
        let mut tx = self.begin().await?;
        let Some(booking) = transition(&mut tx, id, from, to, Some(&refund.reason), now).await?
        else {
            return Ok(None);
        };
        let owed = RefundRequest {
            id: refund.id,
            booking_id: booking.id,
            payment_id: booking.payment_id.clone(),
            reason: refund.reason.clone(),
            state: RefundState::Pending,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        };
        refunds::enqueue(&mut tx, &owed).await?;
        commit(tx).await?;
        Ok(Some(booking))
    }

    async fn claim_reservation(&self, booking_id: Uuid, reservation_id: i32) -> Result<bool> {
        claim_reservation(&mut *self.write().await?, booking_id, reservation_id).await
    }

    async fn set_reserved_on_charger(
        &self,
        booking_id: Uuid,
        reserved: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        set_reserved_on_charger(&mut *self.write().await?, booking_id, reserved, now).await
    }

    async fn bookings_due_for_reservation(
        &self,
        starts_by: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>> {
        due_for_reservation(&mut *self.conn().await?, starts_by, now, limit).await
    }

    async fn booking_by_reservation(
        &self,
        charger_id: Uuid,
        reservation_id: i32,
    ) -> Result<Option<Booking>> {
        by_reservation(&mut *self.conn().await?, charger_id, reservation_id).await
    }

    async fn confirmed_booking_for_id_tag(
        &self,
        connector_id: Uuid,
        id_tag: &str,
        earliest_start: DateTime<Utc>,
        latest_start: DateTime<Utc>,
    ) -> Result<Option<Booking>> {
        let conn = &mut *self.conn().await?;
        confirmed_for_id_tag(conn, connector_id, id_tag, earliest_start, latest_start).await
    }

    async fn confirmed_bookings_started_by(
        &self,
        started_by: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>> {
        confirmed_started_by(&mut *self.conn().await?, started_by, limit).await
    }

    async fn bookings_in_window(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        statuses: &[BookingStatus],
    ) -> Result<Vec<Booking>> {
        in_window(&mut *self.conn().await?, connector_ids, from, to, statuses).await
    }

    async fn id_tag_has_live_booking(&self, id_tag: &str) -> Result<bool> {
        id_tag_has_live_booking(&mut *self.conn().await?, id_tag).await
    }
}
