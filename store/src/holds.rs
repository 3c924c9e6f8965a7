//! Holds in PostgreSQL: the cluster's authority on holds. Every hold is
//! written here (after Redis claimed it, or alone while Redis is down), so
//! an exclusion constraint over live claims keeps any two holds on a
//! connector from overlapping, whichever path made them.

use async_trait::async_trait;
use booking::holds::{Claim, Hold, HoldStore};
use booking::{Error, Result};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Error as SqlError, Row};
use uuid::Uuid;

/// The hold store of cluster mode's PostgreSQL, with a pool of its own.
#[derive(Debug, Clone)]
pub struct PgHolds {
    pool: PgPool,
}

fn db(e: SqlError) -> Error {
    Error::Unavailable(format!("postgres: {e}"))
}

fn hold_of(row: &PgRow) -> Result<Hold> {
    let get = |e: SqlError| Error::Internal(format!("holds row: {e}"));
    Ok(Hold {
        token: row.try_get("token").map_err(get)?,
        user_id: row.try_get("user_id").map_err(get)?,
        station_id: row.try_get("station_id").map_err(get)?,
        connector_id: row.try_get("connector_id").map_err(get)?,
        start_ts: row.try_get("start_ts").map_err(get)?,
        end_ts: row.try_get("end_ts").map_err(get)?,
        expires_at: row.try_get("expires_at").map_err(get)?,
        id_tag: row.try_get("id_tag").map_err(get)?,
        reservation_id: row.try_get("reservation_id").map_err(get)?,
    })
}

/// Advisory-lock class of the per-user hold cap (the second key is the user).
const USER_HOLDS_LOCK: i32 = 0x686f_6c64;

impl PgHolds {
    /// Inserts the hold: `SlotTaken` when a live claim overlaps it (23P01,
    /// the exclusion constraint) or the token exists (23505). With a cap,
    /// the user's live holds are counted under a per-user advisory lock in
    /// the same transaction, so racing holds of one user cannot pass it.
    async fn insert(&self, hold: &Hold, cap: Option<u32>, now: DateTime<Utc>) -> Result<Claim> {
        let Some(cap) = cap else {
            return Self::insert_in(&self.pool, hold, None, now).await;
        };
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Its own statement: the INSERT after it then reads a snapshot
        // taken once the lock is ours, with every earlier hold committed.
        // The key is a 32-bit hash of the user: two users sharing one only
        // wait for each other.
        #[allow(clippy::cast_possible_truncation)]
        let user_key = (hold.user_id ^ (hold.user_id >> 32)) as i32;
        sqlx::query("select pg_advisory_xact_lock($1, $2)")
            .bind(USER_HOLDS_LOCK)
            .bind(user_key)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let claim = Self::insert_in(&mut *tx, hold, Some(cap), now).await?;
        if claim == Claim::Stored {
            tx.commit().await.map_err(db)?;
        }
        Ok(claim)
    }

    /// The INSERT; with a cap it inserts nothing (`UserAtLimit`) when the
    /// user already has that many live holds.
    async fn insert_in<'c, E>(
        conn: E,
        hold: &Hold,
        cap: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Claim>
    where
        E: sqlx::PgExecutor<'c>,
    {
        let inserted = sqlx::query(
            "insert into holds (token, user_id, station_id, connector_id, start_ts, end_ts,
                                expires_at, id_tag, reservation_id)
             select $1, $2, $3, $4, $5, $6, $7, $8, $9
             where $10::bigint is null
                or (select count(*) from holds where user_id = $2 and expires_at > $11) < $10",
        )
        .bind(&hold.token)
        .bind(hold.user_id)
        .bind(hold.station_id)
        .bind(hold.connector_id)
        .bind(hold.start_ts)
        .bind(hold.end_ts)
        .bind(hold.expires_at)
        .bind(&hold.id_tag)
        .bind(hold.reservation_id)
        .bind(cap.map(i64::from))
        .bind(now)
        .execute(conn)
        .await;
        match inserted {
            Ok(done) if done.rows_affected() == 0 => Ok(Claim::UserAtLimit),
            Ok(_) => Ok(Claim::Stored),
            Err(SqlError::Database(e))
                if matches!(e.code().as_deref(), Some("23P01" | "23505")) =>
            {
                Ok(Claim::SlotTaken)
            }
            Err(e) => Err(db(e)),
        }
    }

    /// A small pool of its own on the instance's database (whose
    /// migrations created the table).
    pub async fn connect(database_url: &str) -> std::result::Result<Self, SqlError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(database_url)
            .await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl HoldStore for PgHolds {
    async fn try_hold(
        &self,
        hold: &Hold,
        max_live_per_user: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Claim> {
        // One INSERT in the common case (the cap adds a transaction: the
        // cluster's Redis checks the cap first and asks here without it);
        // only when the slot looks taken are expired holds in the way told
        // to stop claiming it (their rows stay for the sweep, which releases
        // their charger reservations), and the INSERT tried once more.
        // Racing inserts: the constraint picks one.
        let first = self.insert(hold, max_live_per_user, now).await?;
        if first != Claim::SlotTaken {
            return Ok(first);
        }
        let cleared = sqlx::query(
            "update holds set claims_slot = false
             where connector_id = $1 and claims_slot
               and expires_at <= $2 and start_ts < $4 and $3 < end_ts",
        )
        .bind(hold.connector_id)
        .bind(now)
        .bind(hold.start_ts)
        .bind(hold.end_ts)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if cleared.rows_affected() == 0 {
            return Ok(Claim::SlotTaken);
        }
        self.insert(hold, max_live_per_user, now).await
    }

    async fn get(&self, token: &str) -> Result<Option<Hold>> {
        sqlx::query("select * from holds where token = $1")
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| hold_of(&r))
            .transpose()
    }

    async fn release(&self, token: &str) -> Result<Option<Hold>> {
        sqlx::query("delete from holds where token = $1 returning *")
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| hold_of(&r))
            .transpose()
    }

    async fn live_holds(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Hold>> {
        let rows = sqlx::query(
            "select * from holds
             where connector_id = any($1) and start_ts < $3 and $2 < end_ts and expires_at > $4
             order by start_ts",
        )
        .bind(connector_ids)
        .bind(from)
        .bind(to)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(hold_of).collect()
    }

    async fn take_expired(&self, expired_by: DateTime<Utc>, limit: usize) -> Result<Vec<Hold>> {
        // SKIP LOCKED: sweeps on several instances take disjoint holds.
        let rows = sqlx::query(
            "delete from holds
             where token in (select token from holds where expires_at <= $1
                             order by expires_at limit $2 for update skip locked)
             returning *",
        )
        .bind(expired_by)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(hold_of).collect()
    }
}
