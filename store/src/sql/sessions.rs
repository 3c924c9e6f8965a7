//! Charging sessions, and the booking each one fulfils: a start and an end
//! move their booking in the same transaction.

use async_trait::async_trait;
use booking::Result;
use booking::model::{BookingStatus, ChargingSession, TransactionKey};
use booking::store::{SessionEnd, SessionEnded, SessionLog, SessionStarted};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Conn, Db, Row, bookings, commit, get, ms, one, opt_ms, parse};
use crate::SqlStore;
use crate::error::{bad_column, db_error};

pub(super) fn session_of(row: &Row) -> Result<ChargingSession> {
    let protocol: String = get(row, "protocol")?;
    Ok(ChargingSession {
        id: get(row, "id")?,
        booking_id: get(row, "booking_id")?,
        connector_id: get(row, "connector_id")?,
        charger_id: get(row, "charger_id")?,
        transaction: TransactionKey::from_parts(&protocol, get(row, "transaction_key")?)
            .map_err(|e| bad_column("protocol", e))?,
        id_tag: get(row, "id_tag")?,
        started_at: get(row, "started_at")?,
        ended_at: get(row, "ended_at")?,
        meter_start_wh: get(row, "meter_start_wh")?,
        meter_stop_wh: get(row, "meter_stop_wh")?,
        energy_kwh: get(row, "energy_kwh")?,
        cost_amount: get(row, "cost_amount")?,
        status: parse(row, "status")?,
        stop_reason: get(row, "stop_reason")?,
    })
}

async fn insert(conn: &mut Conn, s: &ChargingSession) -> Result<()> {
    sqlx::query(
        "insert into charging_sessions (id, booking_id, connector_id, charger_id, protocol, \
           transaction_key, id_tag, started_at, ended_at, meter_start_wh, meter_stop_wh, \
           energy_kwh, cost_amount, status, stop_reason, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $8, $8)",
    )
    .bind(s.id)
    .bind(s.booking_id)
    .bind(s.connector_id)
    .bind(s.charger_id)
    .bind(s.transaction.protocol())
    .bind(s.transaction.key())
    .bind(&s.id_tag)
    .bind(ms(s.started_at))
    .bind(opt_ms(s.ended_at))
    .bind(s.meter_start_wh)
    .bind(s.meter_stop_wh)
    .bind(s.energy_kwh)
    .bind(s.cost_amount)
    .bind(s.status.as_str())
    .bind(&s.stop_reason)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn end(conn: &mut Conn, end: &SessionEnd) -> Result<Option<ChargingSession>> {
    let row = sqlx::query(
        "update charging_sessions set ended_at = $2, meter_stop_wh = $3, \
           energy_kwh = coalesce($4, energy_kwh), cost_amount = coalesce($5, cost_amount), \
           status = $6, stop_reason = $7, updated_at = $2 \
         where id = $1 and ended_at is null \
         returning *",
    )
    .bind(end.session_id)
    .bind(ms(end.ended_at))
    .bind(end.meter_stop_wh)
    .bind(end.energy_kwh)
    .bind(end.cost_amount)
    .bind(end.status.as_str())
    .bind(&end.stop_reason)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, session_of)
}

/// A reading below the start (a meter swapped or reset) keeps the energy
/// recorded so far.
async fn record_meter(
    conn: &mut Conn,
    charger_id: Uuid,
    key: &TransactionKey,
    meter_wh: f64,
    at: DateTime<Utc>,
) -> Result<Option<ChargingSession>> {
    let row = sqlx::query(
        "update charging_sessions set energy_kwh = case \
             when meter_start_wh is null or $4 < meter_start_wh then energy_kwh \
             else ($4 - meter_start_wh) / 1000.0 end, \
           updated_at = $5 \
         where charger_id = $1 and protocol = $2 and transaction_key = $3 and ended_at is null \
         returning *",
    )
    .bind(charger_id)
    .bind(key.protocol())
    .bind(key.key())
    .bind(meter_wh)
    .bind(ms(at))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, session_of)
}

async fn open_on(conn: &mut Conn, connector_id: Uuid) -> Result<Option<ChargingSession>> {
    let row = sqlx::query(
        "select * from charging_sessions where connector_id = $1 and ended_at is null \
         order by started_at desc limit 1",
    )
    .bind(connector_id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, session_of)
}

async fn started_at(
    conn: &mut Conn,
    connector_id: Uuid,
    started_at: DateTime<Utc>,
    meter_start_wh: f64,
) -> Result<Option<ChargingSession>> {
    let row = sqlx::query(
        "select * from charging_sessions \
         where connector_id = $1 and started_at = $2 and meter_start_wh = $3 limit 1",
    )
    .bind(connector_id)
    .bind(ms(started_at))
    .bind(meter_start_wh)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, session_of)
}

async fn by_transaction(
    conn: &mut Conn,
    charger_id: Uuid,
    key: &TransactionKey,
) -> Result<Option<ChargingSession>> {
    let row = sqlx::query(
        "select * from charging_sessions \
         where charger_id = $1 and protocol = $2 and transaction_key = $3",
    )
    .bind(charger_id)
    .bind(key.protocol())
    .bind(key.key())
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, session_of)
}

#[async_trait]
impl SessionLog for SqlStore<Db> {
    async fn start_session(
        &self,
        session: &ChargingSession,
        now: DateTime<Utc>,
    ) -> Result<SessionStarted> {
        let Some(booking_id) = session.booking_id else {
            insert(&mut *self.write().await?, session).await?;
            return Ok(SessionStarted {
                session: session.clone(),
                booking: None,
            });
        };
        let mut tx = self.begin().await?;
        insert(&mut tx, session).await?;
        let active = [BookingStatus::Confirmed];
        let booking = bookings::transition(
            &mut tx,
            booking_id,
            &active,
            BookingStatus::Active,
            None,
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(SessionStarted {
            session: session.clone(),
            booking,
        })
    }

    async fn end_session(
        &self,
        e: &SessionEnd,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionEnded>> {
        let mut tx = self.begin().await?;
        let Some(session) = end(&mut tx, e).await? else {
            return Ok(None);
        };
        let booking = match session.booking_id {
            Some(id) => {
                let active = [BookingStatus::Active];
                bookings::transition(&mut tx, id, &active, BookingStatus::Completed, None, now)
                    .await?
            }
            None => None,
        };
        commit(tx).await?;
        Ok(Some(SessionEnded { session, booking }))
    }

    async fn record_meter(
        &self,
        charger_id: Uuid,
        key: &TransactionKey,
        meter_wh: f64,
        at: DateTime<Utc>,
    ) -> Result<Option<ChargingSession>> {
        record_meter(&mut *self.write().await?, charger_id, key, meter_wh, at).await
    }

    async fn open_session_on(&self, connector_id: Uuid) -> Result<Option<ChargingSession>> {
        open_on(&mut *self.conn().await?, connector_id).await
    }

    async fn session(&self, id: Uuid) -> Result<Option<ChargingSession>> {
        let row = sqlx::query("select * from charging_sessions where id = $1")
            .bind(id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        one(row, session_of)
    }

    async fn session_of_booking(&self, booking_id: Uuid) -> Result<Option<ChargingSession>> {
        let row = sqlx::query(
            "select * from charging_sessions where booking_id = $1              order by started_at desc limit 1",
        )
        .bind(booking_id)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        one(row, session_of)
    }

    async fn session_started_at(
        &self,
        connector_id: Uuid,
        started: DateTime<Utc>,
        meter_start_wh: f64,
    ) -> Result<Option<ChargingSession>> {
        started_at(
            &mut *self.conn().await?,
            connector_id,
            started,
            meter_start_wh,
        )
        .await
    }

    async fn session_by_transaction(
        &self,
        charger_id: Uuid,
        key: &TransactionKey,
    ) -> Result<Option<ChargingSession>> {
        by_transaction(&mut *self.conn().await?, charger_id, key).await
    }
}
