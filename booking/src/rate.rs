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
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for Limiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("keys", &self.keys())
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
        }
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

/// Reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`):
/// behind one, every client shares the proxy's address, so per-address
/// limits would throttle them all together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses `10.0.0.5, 172.16.0.0/12, ::1`: addresses or CIDR blocks.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (addr, bits) = match item.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (item, None),
            };
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("{item:?} is not an address or CIDR block"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("{item:?} has a bad prefix length"))?,
            };
            nets.push((addr, bits));
        }
        Ok(Self(nets))
    }

    /// Whether `ip` is one of the proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|&(net, bits)| within(ip, net, bits))
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted
    /// proxy; then the rightmost `X-Forwarded-For` entry that is not one
    /// (entries further left are the client's own claims), or `peer` when
    /// the header is missing or unreadable.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if self.0.is_empty() || !self.contains(peer) {
            return peer;
        }
        let Some(header) = forwarded_for else {
            return peer;
        };
        for entry in header.rsplit(',').map(str::trim) {
            let Ok(ip) = entry.parse::<IpAddr>() else {
                return peer;
            };
            if !self.contains(ip) {
                return ip;
            }
        }
        peer
    }
}

fn within(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
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
    fn a_trusted_proxy_names_its_client_and_nobody_else_can() {
        let trusted = TrustedProxies::parse("10.0.0.5, 172.16.0.0/12,::1").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Not a proxy: its header is ignored.
        assert_eq!(
            trusted.client(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        // A proxy: the rightmost entry that is not a proxy.
        assert_eq!(
            trusted.client(ip("10.0.0.5"), Some("1.2.3.4, 198.51.100.7")),
            ip("198.51.100.7")
        );
        assert_eq!(
            trusted.client(ip("172.20.1.1"), Some("6.6.6.6, 198.51.100.7, 172.16.0.9")),
            ip("198.51.100.7"),
            "a chain of proxies"
        );
        assert_eq!(trusted.client(ip("::1"), None), ip("::1"), "no header");
        assert_eq!(
            trusted.client(ip("10.0.0.5"), Some("garbage")),
            ip("10.0.0.5")
        );
        assert_eq!(
            trusted.client(ip("::ffff:10.0.0.5"), Some("1.2.3.4")),
            ip("1.2.3.4")
        );
        assert!(!trusted.contains(ip("10.0.0.6")));
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
        assert_eq!(
            TrustedProxies::parse(" ").unwrap(),
            TrustedProxies::default()
        );
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
