//! Station versions in Redis: `INCR` on change, `GET` on read, so a change
//! made through any instance makes every instance's cached reads stale.

use async_trait::async_trait;
use booking::Result;
use booking::cache::StationVersions;
use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::redis_error;

/// Station versions in Redis, so every instance's read cache knows when
/// another instance changed a station.
#[derive(Clone)]
pub struct RedisVersions {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisVersions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisVersions")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisVersions {
    /// Versions under `prefix` (tests use a prefix of their own).
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
        }
    }

    fn key(&self, station: Uuid) -> String {
        format!("{}station:{station}:version", self.prefix)
    }
}

#[async_trait]
impl StationVersions for RedisVersions {
    async fn version(&self, station: Uuid) -> Result<u64> {
        let mut conn = self.conn.clone();
        let v: Option<u64> = redis::cmd("GET")
            .arg(self.key(station))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(v.unwrap_or(0))
    }

    async fn bump(&self, station: Uuid) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: u64 = redis::cmd("INCR")
            .arg(self.key(station))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(())
    }
}
