//! Holds in Redis, shared by every instance. Layout, under a prefix:
//!
//! - `hold:{token}`: the hold as JSON; kept an hour past its expiry so a late
//!   confirm hears "expired" rather than "unknown", and the sweep finds it;
//! - `holds:conn:{connectorId}`: sorted set of `token|end|expires` (ms)
//!   scored by start (ms): the index the atomic overlap check reads. Only
//!   entries starting within the longest hold's span before a slot can
//!   overlap it, so a check reads a handful of entries, not all of them;
//! - `holds:longest`: that span (ms);
//! - `holds:expiry`: sorted set token → expiry (ms), for the sweep;
//! - `holds:user:{userId}`: sorted set token → expiry (ms): the per-user
//!   cap counts the live ones.
//!
//! Every script names all the keys it touches, as Redis requires.

use async_trait::async_trait;
use booking::holds::{Claim, Hold, HoldStore};
use booking::{Error, Result};
use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::redis_error;

/// How long an expired hold stays readable.
const KEEP_EXPIRED: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Claims the slot if no live hold on the connector overlaps it and the
/// user is under the cap; drops expired index entries it meets. Returns 1
/// stored, 0 slot taken, 2 user at the cap. KEYS: connector index, expiry
/// set, hold key, longest span, user index. ARGV: token, start, end, now,
/// hold JSON, key TTL, expires (ms), cap (0: none).
const TRY_HOLD: &str = r"
local s = tonumber(ARGV[2])
local e = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local longest = tonumber(redis.call('GET', KEYS[4]) or '0')
local near = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (s - longest), '(' .. e)
for _, m in ipairs(near) do
  local he, hx = string.match(m, '|(-?%d+)|(-?%d+)$')
  if hx == nil or tonumber(hx) <= now then
    redis.call('ZREM', KEYS[1], m)
  elseif tonumber(he) > s then
    return 0
  end
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
local cap = tonumber(ARGV[8])
if cap > 0 and redis.call('ZCARD', KEYS[5]) >= cap then
  return 2
end
redis.call('ZADD', KEYS[5], ARGV[7], ARGV[1])
if redis.call('PTTL', KEYS[5]) < tonumber(ARGV[6]) then
  redis.call('PEXPIRE', KEYS[5], ARGV[6])
end
redis.call('ZADD', KEYS[1], s, ARGV[1] .. '|' .. ARGV[3] .. '|' .. ARGV[7])
redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[1])
if e - s > longest then
  redis.call('SET', KEYS[4], e - s)
end
return 1
";

/// Removes a hold; returns 1 only to the one caller that deleted it.
/// KEYS: connector index, expiry set, hold key, user index. ARGV: token,
/// index member.
const RELEASE: &str = r"
local gone = redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return gone
";

/// Holds in Redis: one Lua check-and-set per hold, under `prefix`.
#[derive(Clone)]
pub struct RedisHolds {
    conn: ConnectionManager,
    prefix: String,
    try_hold: redis::Script,
    release: redis::Script,
}

impl std::fmt::Debug for RedisHolds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHolds")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisHolds {
    /// Holds under `prefix` (which namespaces the keys).
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            try_hold: redis::Script::new(TRY_HOLD),
            release: redis::Script::new(RELEASE),
        }
    }

    fn hold_key(&self, token: &str) -> String {
        format!("{}hold:{token}", self.prefix)
    }

    fn connector_key(&self, connector: Uuid) -> String {
        format!("{}holds:conn:{connector}", self.prefix)
    }

    fn expiry_key(&self) -> String {
        format!("{}holds:expiry", self.prefix)
    }

    fn user_key(&self, user_id: i64) -> String {
        format!("{}holds:user:{user_id}", self.prefix)
    }

    fn longest_key(&self) -> String {
        format!("{}holds:longest", self.prefix)
    }

    /// The connector index entry of a hold.
    fn member(hold: &Hold) -> String {
        format!(
            "{}|{}|{}",
            hold.token,
            hold.end_ts.timestamp_millis(),
            hold.expires_at.timestamp_millis()
        )
    }

    async fn release_known(&self, hold: &Hold) -> Result<bool> {
        let mut conn = self.conn.clone();
        let gone: i64 = self
            .release
            .key(self.connector_key(hold.connector_id))
            .key(self.expiry_key())
            .key(self.hold_key(&hold.token))
            .key(self.user_key(hold.user_id))
            .arg(&hold.token)
            .arg(Self::member(hold))
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(gone == 1)
    }
}

fn decode(raw: &str) -> Result<Hold> {
    serde_json::from_str(raw)
        .map_err(|e| Error::Internal(format!("a hold in redis is malformed: {e}")))
}

#[async_trait]
impl HoldStore for RedisHolds {
    async fn try_hold(
        &self,
        hold: &Hold,
        max_live_per_user: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Claim> {
        let json = serde_json::to_string(hold).map_err(|e| Error::Internal(e.to_string()))?;
        let ttl_ms = ((hold.expires_at - now) + KEEP_EXPIRED)
            .num_milliseconds()
            .max(1);
        let mut conn = self.conn.clone();
        let stored: i64 = self
            .try_hold
            .key(self.connector_key(hold.connector_id))
            .key(self.expiry_key())
            .key(self.hold_key(&hold.token))
            .key(self.longest_key())
            .key(self.user_key(hold.user_id))
            .arg(&hold.token)
            .arg(hold.start_ts.timestamp_millis())
            .arg(hold.end_ts.timestamp_millis())
            .arg(now.timestamp_millis())
            .arg(json)
            .arg(ttl_ms)
            .arg(hold.expires_at.timestamp_millis())
            .arg(max_live_per_user.unwrap_or(0))
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(match stored {
            1 => Claim::Stored,
            2 => Claim::UserAtLimit,
            _ => Claim::SlotTaken,
        })
    }

    async fn get(&self, token: &str) -> Result<Option<Hold>> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = redis::cmd("GET")
            .arg(self.hold_key(token))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        raw.as_deref().map(decode).transpose()
    }

    async fn release(&self, token: &str) -> Result<Option<Hold>> {
        let Some(hold) = self.get(token).await? else {
            return Ok(None);
        };
        Ok(self.release_known(&hold).await?.then_some(hold))
    }

    async fn live_holds(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Hold>> {
        if connector_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let longest: Option<i64> = redis::cmd("GET")
            .arg(self.longest_key())
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        let (now, from, to) = (
            now.timestamp_millis(),
            from.timestamp_millis(),
            to.timestamp_millis(),
        );
        let mut pipe = redis::pipe();
        for c in connector_ids {
            pipe.cmd("ZRANGEBYSCORE")
                .arg(self.connector_key(*c))
                .arg(format!("({}", from - longest.unwrap_or(0)))
                .arg(format!("({to}"));
        }
        let indexes: Vec<Vec<String>> = pipe.query_async(&mut conn).await.map_err(redis_error)?;
        let tokens: Vec<String> = indexes
            .into_iter()
            .flatten()
            .filter_map(|member| {
                let mut parts = member.rsplitn(3, '|');
                let expires = parts.next()?.parse::<i64>().ok()?;
                let end = parts.next()?.parse::<i64>().ok()?;
                let token = parts.next()?;
                (expires > now && end > from).then(|| token.to_owned())
            })
            .collect();
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = tokens.iter().map(|t| self.hold_key(t)).collect();
        let raws: Vec<Option<String>> = redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        raws.iter().flatten().map(|r| decode(r)).collect()
    }

    async fn take_expired(&self, expired_by: DateTime<Utc>, limit: usize) -> Result<Vec<Hold>> {
        let mut conn = self.conn.clone();
        let due: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.expiry_key())
            .arg("-inf")
            .arg(expired_by.timestamp_millis())
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        let mut taken = Vec::new();
        for token in due {
            match self.get(&token).await? {
                // The release script's DEL decides which sweeper owns it.
                Some(hold) => {
                    if self.release_known(&hold).await? {
                        taken.push(hold);
                    }
                }
                // Its key outlived KEEP_EXPIRED: only the index entry is left.
                None => {
                    let _: i64 = redis::cmd("ZREM")
                        .arg(self.expiry_key())
                        .arg(&token)
                        .query_async(&mut conn)
                        .await
                        .map_err(redis_error)?;
                }
            }
        }
        Ok(taken)
    }
}
