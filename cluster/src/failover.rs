//! Working on while Redis is down ("fallback to DB, slower but
//! functional"): holds go to PostgreSQL alone, station reads skip the
//! caches and come from PostgreSQL, and both return to Redis by themselves
//! when it answers again.
//!
//! No two holds overlap across the switch in either direction because
//! PostgreSQL sees every hold: in normal operation Redis claims the slot
//! first (cheap, atomic, keeps racing requests off the database) and the
//! hold is then written to PostgreSQL, whose exclusion constraint has the
//! last word; during an outage PostgreSQL alone decides. Reads of holds
//! (by token, by connector, the sweep) are PostgreSQL's; a hold found only
//! in Redis (made by a build before this one) is still honoured by token.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use booking::cache::StationVersions;
use booking::holds::{Claim, Hold, HoldStore};
use booking::{Error, Result};
use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use uuid::Uuid;

use evgate_store::PgHolds;

use super::{RedisHolds, RedisVersions};
use booking::sync::lock;

/// After a failure, Redis is left alone this long: an outage costs one
/// failed attempt per interval, not one per request.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Whether Redis is answering, as the adapters that fall back see it.
pub struct SharedState {
    conn: ConnectionManager,
    degraded: AtomicBool,
    retry_at: Mutex<Option<Instant>>,
    /// Bumped at every switch, so cache entries made before an outage are
    /// never served after it.
    epoch: AtomicU64,
}

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedState")
            .field("degraded", &self.degraded())
            .finish_non_exhaustive()
    }
}

impl SharedState {
    /// Starts healthy; the first failed Redis call marks it degraded.
    pub fn new(conn: ConnectionManager) -> Arc<Self> {
        Arc::new(Self {
            conn,
            degraded: AtomicBool::new(false),
            retry_at: Mutex::new(None),
            epoch: AtomicU64::new(0),
        })
    }

    /// Whether Redis is failing now (PostgreSQL stands in for it).
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// Whether to ask Redis now.
    fn worth_trying(&self) -> bool {
        let retry_at = lock(&self.retry_at);
        retry_at.is_none_or(|at| Instant::now() >= at)
    }

    /// Redis failed; only connection trouble counts as "down".
    fn failed(&self, e: &Error) {
        if !matches!(e, Error::Unavailable(_)) {
            return;
        }
        *lock(&self.retry_at) = Some(Instant::now() + RETRY_AFTER);
        if !self.degraded.swap(true, Ordering::Relaxed) {
            self.epoch.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "Redis unreachable: holds and reads fall back to PostgreSQL");
        }
    }

    fn succeeded(&self) {
        *lock(&self.retry_at) = None;
        if self.degraded.swap(false, Ordering::Relaxed) {
            self.epoch.fetch_add(1, Ordering::Relaxed);
            tracing::info!("Redis answers again: back to normal");
        }
    }

    /// Asks Redis (PING) and records the answer; `true` when it answered.
    pub async fn probe(&self) -> bool {
        let mut conn = self.conn.clone();
        let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
        match pong {
            Ok(_) => {
                self.succeeded();
                true
            }
            Err(e) => {
                self.failed(&super::redis_error(e));
                false
            }
        }
    }
}

/// Redis claims first, PostgreSQL decides; PostgreSQL alone while Redis is down.
#[derive(Debug, Clone)]
pub struct FailoverHolds {
    /// The fast first claim.
    pub redis: RedisHolds,
    /// The authority: every hold is written here.
    pub pg: PgHolds,
    /// Whether Redis answers, shared with the versions and `/ready`.
    pub state: Arc<SharedState>,
}

impl FailoverHolds {
    /// Drops Redis's copy; trouble there only marks it down.
    async fn forget_in_redis(&self, token: &str) {
        if self.state.worth_trying()
            && let Err(e) = self.redis.release(token).await
        {
            self.state.failed(&e);
        }
    }
}

#[async_trait]
impl HoldStore for FailoverHolds {
    async fn try_hold(
        &self,
        hold: &Hold,
        max_live_per_user: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Claim> {
        if self.state.worth_trying() {
            match self.redis.try_hold(hold, max_live_per_user, now).await {
                Ok(refused @ (Claim::SlotTaken | Claim::UserAtLimit | Claim::Booked)) => {
                    self.state.succeeded();
                    return Ok(refused);
                }
                Ok(Claim::Stored) => {
                    self.state.succeeded();
                    // Redis counted the user's holds atomically; PostgreSQL
                    // decides the slot, bookings included, in one call.
                    let decided = self.pg.try_hold(hold, None, now).await;
                    if !matches!(decided, Ok(Claim::Stored)) {
                        // A hold made during an outage holds the slot (or
                        // the database failed): Redis's claim goes.
                        self.forget_in_redis(&hold.token).await;
                    }
                    return decided;
                }
                Err(e) => self.state.failed(&e),
            }
        }
        self.pg.try_hold(hold, max_live_per_user, now).await
    }

    /// Every hold is decided by PostgreSQL, beside the bookings.
    fn sees_bookings(&self) -> bool {
        self.pg.sees_bookings()
    }

    async fn get(&self, token: &str) -> Result<Option<Hold>> {
        if let Some(hold) = self.pg.get(token).await? {
            return Ok(Some(hold));
        }
        // Only in Redis: made before PostgreSQL kept holds (an upgrade
        // rolling through the cluster); still the user's until it expires.
        if self.state.worth_trying() {
            match self.redis.get(token).await {
                Ok(found) => return Ok(found),
                Err(e) => self.state.failed(&e),
            }
        }
        Ok(None)
    }

    async fn release(&self, token: &str) -> Result<Option<Hold>> {
        let released = self.pg.release(token).await?;
        if released.is_none() && self.state.worth_trying() {
            match self.redis.release(token).await {
                Ok(found) => return Ok(found),
                Err(e) => self.state.failed(&e),
            }
        }
        self.forget_in_redis(token).await;
        Ok(released)
    }

    async fn live_holds(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Hold>> {
        self.pg.live_holds(connector_ids, from, to, now).await
    }

    async fn take_expired(&self, expired_by: DateTime<Utc>, limit: usize) -> Result<Vec<Hold>> {
        let taken = self.pg.take_expired(expired_by, limit).await?;
        for hold in &taken {
            self.forget_in_redis(&hold.token).await;
        }
        Ok(taken)
    }
}

/// Station versions in Redis; while it is down every read misses the caches
/// (and so comes from PostgreSQL), and the bumps it could not take are
/// taken when it returns, so no instance serves what changed meanwhile.
#[derive(Debug)]
pub struct FailoverVersions {
    redis: RedisVersions,
    state: Arc<SharedState>,
    owed: Mutex<HashSet<Uuid>>,
    /// Never the same value twice: a cache key nothing was stored under.
    uncached: AtomicU64,
}

impl FailoverVersions {
    /// Versions in Redis while it answers; while not, a fresh value per read (no cache hits).
    pub fn new(redis: RedisVersions, state: Arc<SharedState>) -> Self {
        Self {
            redis,
            state,
            owed: Mutex::new(HashSet::new()),
            uncached: AtomicU64::new(0),
        }
    }

    async fn settle_owed_bumps(&self) {
        let owed: Vec<Uuid> = {
            let mut owed = lock(&self.owed);
            owed.drain().collect()
        };
        for (i, station) in owed.iter().enumerate() {
            if let Err(e) = self.redis.bump(*station).await {
                self.state.failed(&e);
                let mut left = lock(&self.owed);
                left.extend(owed[i..].iter().copied());
                return;
            }
        }
    }
}

#[async_trait]
impl StationVersions for FailoverVersions {
    async fn version(&self, station: Uuid) -> Result<u64> {
        if self.state.worth_trying() {
            match self.redis.version(station).await {
                Ok(v) => {
                    self.state.succeeded();
                    self.settle_owed_bumps().await;
                    // The epoch keeps entries cached before an outage out.
                    return Ok(v.wrapping_add(self.state.epoch() << 40));
                }
                Err(e) => self.state.failed(&e),
            }
        }
        Ok((1 << 63) | self.uncached.fetch_add(1, Ordering::Relaxed))
    }

    async fn bump(&self, station: Uuid) -> Result<()> {
        if self.state.worth_trying() {
            match self.redis.bump(station).await {
                Ok(()) => {
                    self.state.succeeded();
                    return Ok(());
                }
                Err(e) => self.state.failed(&e),
            }
        }
        lock(&self.owed).insert(station);
        Ok(())
    }
}
