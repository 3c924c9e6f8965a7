//! Time as a port, so rules about expiry and grace periods are tested with a
//! clock the test moves, never with sleeps.

use std::sync::Mutex;

use crate::sync::lock;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// Where the booking core reads "now" from.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Now, in UTC; [`SystemClock`] truncates it to whole milliseconds, the
    /// stores' precision.
    fn now(&self) -> DateTime<Utc>;
}

/// Truncates to whole milliseconds: the precision both stores keep, so a
/// value read back compares equal to the value written.
pub fn to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

/// The timestamp every edge writes (REST, Socket.IO, OCPP, webhooks):
/// RFC 3339 in UTC with milliseconds, `2026-12-02T10:00:00.000Z`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The wait before retry number `attempts` (1-based): `first`, doubling
/// each time, never longer than `cap`.
pub fn backoff(attempts: i32, first: TimeDelta, cap: TimeDelta) -> TimeDelta {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    (first * 2i32.pow(doublings)).min(cap)
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        to_millis(Utc::now())
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct ManualClock {
    // A std mutex: held for a copy, never across an await.
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock stopped at `start`, truncated to milliseconds.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(to_millis(start)),
        }
    }

    /// Moves the clock by `by` (backwards if negative).
    pub fn advance(&self, by: TimeDelta) {
        let mut now = lock(&self.now);
        *now += by;
    }

    /// Jumps to `to`, truncated to milliseconds, in either direction.
    pub fn set(&self, to: DateTime<Utc>) {
        *lock(&self.now) = to_millis(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T10:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::new(start);
        assert_eq!(clock.now().timestamp_subsec_micros(), 123_000);
        clock.advance(TimeDelta::minutes(15));
        assert_eq!(clock.now() - to_millis(start), TimeDelta::minutes(15));
    }
}
