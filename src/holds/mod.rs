//! Adapters of the booking core's hold store: in process (embedded, from
//! `booking::holds`) or Redis with Lua scripts (`REDIS_URL`).

mod redis_holds;

use std::sync::Arc;

use booking::holds::{HoldStore, InProcessHolds};

pub use redis_holds::RedisHolds;

/// The hold store the configuration asks for.
pub async fn open(redis_url: Option<&str>) -> Result<Arc<dyn HoldStore>, redis::RedisError> {
    Ok(match redis_url {
        Some(url) => Arc::new(RedisHolds::connect(url, "evgate:").await?),
        None => Arc::new(InProcessHolds::new()),
    })
}
