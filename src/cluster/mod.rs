//! Cluster adapters of the booking core's ports, in Redis, for when several
//! instances share the work (`REDIS_URL`): the hold store (atomic Lua check-and-set)
//! and the station versions that keep every instance's read caches exact;
//! and command routing to whichever instance holds a charger's socket.

mod holds;
mod routing;
mod versions;

use std::time::Duration;

use booking::Error;
use redis::aio::ConnectionManager;

pub use holds::RedisHolds;
pub use routing::Chargers;
pub use versions::RedisVersions;

/// One multiplexed connection that reconnects by itself; clones share it.
pub async fn connect(url: &str) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(url)?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)));
    ConnectionManager::new_with_config(client, config).await
}

/// Connection trouble is "unavailable" (retry later); anything else is ours.
pub(crate) fn redis_error(e: redis::RedisError) -> Error {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        Error::Unavailable(format!("redis: {e}"))
    } else {
        Error::Internal(format!("redis: {e}"))
    }
}
