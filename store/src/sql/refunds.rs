//! The refund outbox.

use async_trait::async_trait;
use booking::Result;
use booking::model::RefundRequest;
use booking::store::{RefundAttempt, RefundQueue};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Conn, Db, Row, all, get, ms, parse};
use crate::SqlStore;
use crate::error::db_error;

fn refund_of(row: &Row) -> Result<RefundRequest> {
    Ok(RefundRequest {
        id: get(row, "id")?,
        booking_id: get(row, "booking_id")?,
        payment_id: get(row, "payment_id")?,
        reason: get(row, "reason")?,
        state: parse(row, "state")?,
        attempts: get(row, "attempts")?,
        next_attempt_at: get(row, "next_attempt_at")?,
        created_at: get(row, "created_at")?,
    })
}

/// `false` when the booking already has a refund (one per booking).
pub(super) async fn enqueue(conn: &mut Conn, r: &RefundRequest) -> Result<bool> {
    let done = sqlx::query(
        "insert into refund_requests (id, booking_id, payment_id, reason, state, attempts, \
           next_attempt_at, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) \
         on conflict (booking_id) do nothing",
    )
    .bind(r.id)
    .bind(r.booking_id)
    .bind(&r.payment_id)
    .bind(&r.reason)
    .bind(r.state.as_str())
    .bind(r.attempts)
    .bind(ms(r.next_attempt_at))
    .bind(ms(r.created_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() == 1)
}

async fn due(conn: &mut Conn, now: DateTime<Utc>, limit: u32) -> Result<Vec<RefundRequest>> {
    let rows = sqlx::query(
        "select * from refund_requests where state = 'PENDING' and next_attempt_at <= $1 \
         order by next_attempt_at, id limit $2",
    )
    .bind(ms(now))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    all(&rows, refund_of)
}

async fn lease(
    conn: &mut Conn,
    id: Uuid,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "update refund_requests set next_attempt_at = $3 \
         where id = $1 and state = 'PENDING' and next_attempt_at <= $2",
    )
    .bind(id)
    .bind(ms(now))
    .bind(ms(lease_until))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() == 1)
}

async fn record_attempt(
    conn: &mut Conn,
    id: Uuid,
    attempts: i32,
    outcome: RefundAttempt,
) -> Result<()> {
    let (state, next, error) = match outcome {
        RefundAttempt::Delivered => ("SENT", None, None),
        RefundAttempt::Retry { at, error } => ("PENDING", Some(ms(at)), Some(error)),
        RefundAttempt::GiveUp { error } => ("FAILED", None, Some(error)),
    };
    sqlx::query(
        "update refund_requests set state = $2, attempts = $3, \
           next_attempt_at = coalesce($4, next_attempt_at), last_error = $5 \
         where id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(attempts)
    .bind(next)
    .bind(error)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl RefundQueue for SqlStore<Db> {
    async fn enqueue_refund(&self, refund: &RefundRequest) -> Result<bool> {
        enqueue(&mut *self.write().await?, refund).await
    }

    async fn due_refunds(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<RefundRequest>> {
        due(&mut *self.conn().await?, now, limit).await
    }

    async fn lease_refund(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        lease(&mut *self.write().await?, id, now, lease_until).await
    }

    async fn record_refund_attempt(
        &self,
        id: Uuid,
        attempts: i32,
        outcome: RefundAttempt,
    ) -> Result<()> {
        record_attempt(&mut *self.write().await?, id, attempts, outcome).await
    }
}
