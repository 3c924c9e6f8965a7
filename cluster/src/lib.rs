//! Cluster adapters of the booking core's ports, in Redis, for when several
//! instances share the work (`REDIS_URL`): the hold store (atomic Lua check-and-set)
//! and the station versions that keep every instance's read caches exact;
//! and command routing to whichever instance holds a charger's socket.

#![warn(missing_docs)]

mod failover;
mod holds;
mod relay;
mod routing;
mod versions;

use std::time::Duration;

use booking::Error;
use redis::aio::ConnectionManager;

pub use failover::{FailoverVersions, SharedState};
pub use holds::RedisHolds;
pub use routing::Chargers;
pub use versions::RedisVersions;

/// Redis as this instance uses it: the URL (each subscription needs a
/// connection of its own) and the one multiplexed connection everything
/// else clones.
#[derive(Clone)]
pub struct Redis {
    /// For subscriptions, which need connections of their own.
    pub url: String,
    /// The multiplexed connection every other call clones.
    pub conn: ConnectionManager,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").finish_non_exhaustive()
    }
}

impl Redis {
    /// Connects (start-up fails when Redis is unreachable).
    pub async fn connect(url: &str) -> redis::RedisResult<Self> {
        Ok(Self {
            url: url.to_owned(),
            conn: connect(url).await?,
        })
    }

    /// Publishes each of `payloads` on `channel`, in order and in one round
    /// trip (a pipeline), once more after a dropped connection (see
    /// [`retry_once`]).
    pub async fn publish_all(&self, channel: &str, payloads: &[String]) -> redis::RedisResult<()> {
        retry_once(|| {
            let mut conn = self.conn.clone();
            let mut pipe = redis::pipe();
            for payload in payloads {
                pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
            }
            async move { pipe.query_async::<()>(&mut conn).await }
        })
        .await
    }
}

/// One multiplexed connection that reconnects by itself; clones share it.
pub async fn connect(url: &str) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(url)?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)));
    ConnectionManager::new_with_config(client, config).await
}

/// Subscribes to `channels` and hands every message (channel, payload) to
/// `handle`, for as long as the process lives. The first subscription is
/// made before this returns (so start-up fails when Redis is unreachable);
/// when it drops later — Redis restarted, the network flapped — it is made
/// again with backoff (0.5 s doubling to 10 s). Pub/sub keeps nothing:
/// messages published while disconnected are lost.
pub async fn subscribe_forever<H, Fut>(
    url: &str,
    channels: Vec<String>,
    handle: H,
) -> redis::RedisResult<tokio::task::JoinHandle<()>>
where
    H: Fn(String, String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    use futures_util::StreamExt;
    let client = redis::Client::open(url)?;
    let subscribe = |client: redis::Client, channels: Vec<String>| async move {
        let mut pubsub = client.get_async_pubsub().await?;
        for c in &channels {
            pubsub.subscribe(c).await?;
        }
        redis::RedisResult::Ok(pubsub)
    };
    let mut pubsub = subscribe(client.clone(), channels.clone()).await?;
    Ok(tokio::spawn(async move {
        loop {
            {
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    if let Ok(payload) = msg.get_payload::<String>() {
                        handle(msg.get_channel_name().to_owned(), payload).await;
                    }
                }
            }
            tracing::warn!(?channels, "Redis subscription lost; reconnecting");
            let mut wait = Duration::from_millis(500);
            pubsub = loop {
                tokio::time::sleep(wait).await;
                match subscribe(client.clone(), channels.clone()).await {
                    Ok(p) => break p,
                    Err(e) => {
                        tracing::debug!(error = %e, "Redis still unreachable");
                        wait = (wait * 2).min(Duration::from_secs(10));
                    }
                }
            };
            tracing::info!(?channels, "Redis subscription restored");
        }
    }))
}

/// Runs a Redis call, and once more after 100 ms if it fails: a connection
/// Redis dropped (a restart) fails once, then the manager reconnects.
pub(crate) async fn retry_once<T, F, Fut>(mut call: F) -> redis::RedisResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = redis::RedisResult<T>>,
{
    match call().await {
        Ok(v) => Ok(v),
        Err(_) => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            call().await
        }
    }
}

/// Connection trouble is "unavailable" (retry later); anything else is ours.
pub(crate) fn redis_error(e: redis::RedisError) -> Error {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        Error::Unavailable(format!("redis: {e}"))
    } else {
        Error::Internal(format!("redis: {e}"))
    }
}

/// Calls relayed between instances: `direction` `sent` (to the charger's
/// owner; `outcome` answered, refused, offline, timeout) or `served` (for
/// another instance).
pub(crate) const RELAYED: &str = "evgate_cluster_relayed_calls_total";

/// Registers the cluster's series' help texts with the installed recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(
        RELAYED,
        "Calls to chargers relayed between instances, by direction and outcome"
    );
}
