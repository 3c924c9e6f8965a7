//! Rate limits shared by the edges: so many requests per period per key (a
//! source address, a user, a vendor), the rest refused with how long to
//! wait. A thin layer over `governor`'s keyed GCRA limiter; each edge says
//! what to key by and how to refuse (HTTP 429, an OCPP handshake's 429).
//!
//! Limits are per instance: in a cluster each instance counts on its own.

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Checks between two sweeps of keys that have been quiet long enough to
/// be forgotten: the key table stays the size of the recent callers.
const SWEEP_EVERY: u32 = 8_192;

/// How much a key may do: `count` per `per`, in bursts of up to `count`.
/// A `count` of 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per period (0: unlimited).
    pub count: u32,
    /// The period.
    pub per: Duration,
}

impl Rate {
    /// `count` per second.
    pub fn per_second(count: u32) -> Self {
        Self {
            count,
            per: Duration::from_secs(1),
        }
    }

    /// `count` per minute.
    pub fn per_minute(count: u32) -> Self {
        Self {
            count,
            per: Duration::from_secs(60),
        }
    }

    /// No limit.
    pub fn off() -> Self {
        Self::per_second(0)
    }

    fn quota(self) -> Option<Quota> {
        let burst = NonZeroU32::new(self.count)?;
        let every = self
            .per
            .checked_div(self.count)?
            .max(Duration::from_nanos(1));
        Some(Quota::with_period(every)?.allow_burst(burst))
    }
}

/// Refused: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds for a `Retry-After` header: rounded up, at least 1.
    pub fn seconds(self) -> u64 {
        let d = self.0;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }
}

/// A rate limit per key.
pub struct Limiter<K: Hash + Eq + Clone> {
    inner: Option<DefaultKeyedRateLimiter<K>>,
    clock: DefaultClock,
    checks: AtomicU32,
    rate: Rate,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for Limiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter allowing `rate` per key (none when the rate is off).
    pub fn new(rate: Rate) -> Self {
        Self {
            inner: rate.quota().map(RateLimiter::keyed),
            clock: DefaultClock::default(),
            checks: AtomicU32::new(0),
            rate,
        }
    }

    /// The rate it enforces.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Counts one request for `key`: `Err` with the wait when over the rate.
    pub fn check(&self, key: &K) -> Result<(), RetryAfter> {
        let Some(limiter) = &self.inner else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter
            .check_key(key)
            .map_err(|not_until| RetryAfter(not_until.wait_time_from(self.clock.now())))
    }

    /// Keys currently remembered.
    pub fn keys(&self) -> usize {
        self.inner.as_ref().map_or(0, RateLimiter::len)
    }
}

/// The key a source address is limited by: IPv4 as is (an IPv4-mapped
/// IPv6 address as its IPv4), IPv6 by its /64 — one host usually holds a
/// whole /64, and must not get a fresh allowance per address.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_waits_and_others_are_unaffected() {
        let limiter = Limiter::new(Rate::per_minute(3));
        for _ in 0..3 {
            assert_eq!(limiter.check(&"a"), Ok(()));
        }
        let RetryAfter(wait) = limiter.check(&"a").unwrap_err();
        // One request comes back every 20 s.
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert_eq!(RetryAfter(wait).seconds(), wait.as_secs() + 1);
        assert_eq!(limiter.check(&"b"), Ok(()));
        assert_eq!(limiter.keys(), 2);
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = Limiter::new(Rate::off());
        for _ in 0..10_000 {
            assert_eq!(limiter.check(&1u8), Ok(()));
        }
        assert_eq!(limiter.keys(), 0);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(RetryAfter(Duration::from_millis(1)).seconds(), 1);
        assert_eq!(RetryAfter(Duration::ZERO).seconds(), 1);
        assert_eq!(RetryAfter(Duration::from_millis(2_001)).seconds(), 3);
        assert_eq!(RetryAfter(Duration::from_secs(2)).seconds(), 2);
    }

    #[test]
    fn ipv6_hosts_are_limited_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(source_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
