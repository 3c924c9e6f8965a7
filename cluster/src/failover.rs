//! Working on while Redis is down ("fallback to DB, slower but
//! functional"): station reads skip the caches and come from PostgreSQL,
//! and return to Redis by themselves when it answers again. Holds on
//! PostgreSQL never needed Redis: PostgreSQL decides each one beside the
//! bookings (`PgHolds`), so an outage does not touch them.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use booking::cache::StationVersions;
use booking::{Error, Result};
use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::RedisVersions;
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
