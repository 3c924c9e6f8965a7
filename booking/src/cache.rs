//! Read caches for the two hot reads (station details, availability), as
//! the seed has them (600 s and 60 s), made exact by versioning: every
//! change that touches a station bumps its version, and cache keys carry
//! the version, so a stale entry is simply never read again. Versions are a
//! port — in process for one instance, in Redis when several share the
//! work — while the cached values stay in process, next to the code that
//! reads them.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::sync::lock;

/// Per-station change counters.
#[async_trait]
pub trait StationVersions: Send + Sync + std::fmt::Debug + 'static {
    /// The station's current version; 0 for one never bumped.
    async fn version(&self, station: Uuid) -> Result<u64>;
    /// Moves the station to a new version, so reads cached under the old one
    /// are never served again.
    async fn bump(&self, station: Uuid) -> Result<()>;
}

/// Counters for a single instance.
#[derive(Debug, Default)]
pub struct LocalVersions {
    versions: Mutex<HashMap<Uuid, u64>>,
}

#[async_trait]
impl StationVersions for LocalVersions {
    async fn version(&self, station: Uuid) -> Result<u64> {
        let versions = lock(&self.versions);
        Ok(versions.get(&station).copied().unwrap_or(0))
    }

    async fn bump(&self, station: Uuid) -> Result<()> {
        let mut versions = lock(&self.versions);
        *versions.entry(station).or_insert(0) += 1;
        Ok(())
    }
}

/// A bounded map whose entries expire at a time given on insert. When full,
/// expired entries go first, then everything (a cache may always forget).
#[derive(Debug)]
pub struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (DateTime<Utc>, V)>>,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// An empty cache keeping at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The value under `key`, unless it expired by `now`.
    pub fn get(&self, key: &K, now: DateTime<Utc>) -> Option<V> {
        let entries = lock(&self.entries);
        entries
            .get(key)
            .filter(|(until, _)| now < *until)
            .map(|(_, v)| v.clone())
    }

    /// Keeps `value` until `until`; when full, expired entries go first, then
    /// all of them.
    pub fn insert(&self, key: K, value: V, until: DateTime<Utc>, now: DateTime<Utc>) {
        let mut entries = lock(&self.entries);
        if entries.len() >= self.capacity {
            entries.retain(|_, (u, _)| now < *u);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (until, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn entries_expire_and_capacity_is_kept() {
        let now = Utc::now();
        let cache = TtlCache::new(2);
        cache.insert(1, "a", now + TimeDelta::seconds(10), now);
        assert_eq!(cache.get(&1, now), Some("a"));
        assert_eq!(cache.get(&1, now + TimeDelta::seconds(10)), None);
        cache.insert(2, "b", now + TimeDelta::seconds(1), now);
        let later = now + TimeDelta::seconds(5);
        cache.insert(3, "c", later + TimeDelta::seconds(10), later);
        assert_eq!(cache.get(&2, later), None);
        assert_eq!(cache.get(&3, later), Some("c"));
        assert_eq!(cache.get(&1, later), Some("a"));
    }
}
