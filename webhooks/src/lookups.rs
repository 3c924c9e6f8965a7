//! Short-lived caches of what every webhook looks up: its vendor (secrets)
//! and its connector. At thousands of webhooks a second they would
//! otherwise be two database round trips per request. Changes made through
//! this instance refresh them at once; other instances' changes (a secret
//! rotated elsewhere, a connector reassigned) are seen within `TTL`.

use booking::cache::TtlCache;
use booking::model::Connector;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::vendor::Vendor;

pub(crate) const TTL: TimeDelta = TimeDelta::seconds(5);
const CAPACITY: usize = 50_000;

#[derive(Debug)]
pub(crate) struct Lookups {
    /// Unknown vendors are remembered too: a flood of made-up ids stays
    /// off the database.
    pub vendors: TtlCache<Uuid, Option<Vendor>>,
    pub connectors: TtlCache<Uuid, Option<Connector>>,
    pub vendor_connectors: TtlCache<(Uuid, String), Option<Connector>>,
}

impl Default for Lookups {
    fn default() -> Self {
        Self {
            vendors: TtlCache::new(CAPACITY),
            connectors: TtlCache::new(CAPACITY),
            vendor_connectors: TtlCache::new(CAPACITY),
        }
    }
}

/// The cached answer for `key`, or `load`'s, remembered for `TTL` —
/// "not found" included. `load` is only called on a miss (a store call
/// makes a boxed future even when nobody awaits it).
pub(crate) async fn through<K, V, F>(
    cache: &TtlCache<K, Option<V>>,
    key: K,
    now: DateTime<Utc>,
    load: impl FnOnce() -> F,
) -> booking::Result<Option<V>>
where
    K: Eq + std::hash::Hash,
    V: Clone,
    F: std::future::Future<Output = booking::Result<Option<V>>>,
{
    if let Some(known) = cache.get(&key, now) {
        return Ok(known);
    }
    let value = load().await?;
    cache.insert(key, value.clone(), now + TTL, now);
    Ok(value)
}

impl Lookups {
    pub(crate) fn remember_vendor(&self, vendor: &Vendor, now: DateTime<Utc>) {
        self.vendors
            .insert(vendor.id, Some(vendor.clone()), now + TTL, now);
    }

    pub(crate) fn remember_connector(&self, c: &Connector, now: DateTime<Utc>) {
        self.connectors
            .insert(c.id, Some(c.clone()), now + TTL, now);
        if let (Some(vendor), Some(vcid)) = (c.vendor_id, &c.vendor_connector_id) {
            self.vendor_connectors
                .insert((vendor, vcid.clone()), Some(c.clone()), now + TTL, now);
        }
    }
}
