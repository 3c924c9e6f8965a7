//! Holds in PostgreSQL: the cluster's hold store. Every instance decides
//! its holds here, so an exclusion constraint over live claims keeps any
//! two holds on a connector from overlapping, whichever instance made them,
//! and Redis being down does not touch them. The bookings live
//! in the same database, so a hold is checked against them in the same
//! round trip.

use async_trait::async_trait;
use booking::holds::{Claim, Hold, HoldStore};
use booking::model::BookingStatus;
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
        // One round trip: `evgate_try_hold` (migration
        // 20261207000001) claims the slot, then checks the bookings.
        // Racing inserts: the exclusion constraint picks one.
        // The advisory lock's key is a 32-bit hash of the user: two users
        // sharing one only wait for each other.
        #[allow(clippy::cast_possible_truncation)]
        let user_key = (hold.user_id ^ (hold.user_id >> 32)) as i32;
        let taking_the_slot: Vec<&str> = BookingStatus::TAKING_THE_SLOT
            .iter()
            .map(|s| s.as_str())
            .collect();
        let outcome: i32 = sqlx::query_scalar(
            "select evgate_try_hold($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
        .bind(max_live_per_user.map(i64::from))
        .bind(USER_HOLDS_LOCK)
        .bind(user_key)
        .bind(now)
        .bind(taking_the_slot)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        match outcome {
            1 => Ok(Claim::Stored),
            0 => Ok(Claim::SlotTaken),
            2 => Ok(Claim::UserAtLimit),
            3 => Ok(Claim::Booked),
            other => Err(Error::Internal(format!("evgate_try_hold answered {other}"))),
        }
    }

    fn sees_bookings(&self) -> bool {
        true
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
