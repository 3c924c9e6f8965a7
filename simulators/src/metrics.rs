//! What a fleet measures: connections, messages by action, call round
//! trips (hdrhistogram, microseconds) and errors by kind. Shared by every
//! charger task; cheap to update.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// A fleet's counters and histograms, shared by every charger task.
#[derive(Debug)]
pub struct Metrics {
    /// Chargers whose boot was accepted and whose connection is still open.
    pub connected: AtomicI64,
    /// Connections that reached an accepted boot, over the whole run.
    pub connections: AtomicU64,
    /// Connection attempts that failed (TCP, TLS, HTTP refusal, WebSocket).
    pub connect_failures: AtomicU64,
    /// CALLs the chargers sent (answers to the CSMS not counted).
    pub sent: AtomicU64,
    by_action: Mutex<BTreeMap<String, u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    round_trips: Mutex<Histogram<u64>>,
    /// Time from a charger's first attempt to its first accepted boot.
    connect_times: Mutex<Histogram<u64>>,
    /// Time from losing a connection to the next accepted boot.
    reconnect_times: Mutex<Histogram<u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        #[allow(clippy::expect_used, reason = "constant bounds, checked by the tests")]
        let histogram = || Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds");
        Self {
            connected: AtomicI64::new(0),
            connections: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            by_action: Mutex::default(),
            errors: Mutex::default(),
            round_trips: Mutex::new(histogram()),
            connect_times: Mutex::new(histogram()),
            reconnect_times: Mutex::new(histogram()),
        }
    }
}

/// A poisoned lock still holds good counts: take it anyway.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

impl Metrics {
    /// A charger sent a CALL of `action`.
    pub fn call_sent(&self, action: &str) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        *lock(&self.by_action).entry(action.to_owned()).or_default() += 1;
    }

    /// The CSMS answered a call after `round_trip` (a CALLRESULT or a
    /// CALLERROR).
    pub fn answered(&self, round_trip: Duration) {
        let _ = lock(&self.round_trips).record(micros(round_trip));
    }

    /// Counts one error of `kind`; the report groups errors by kind.
    pub fn error(&self, kind: &str) {
        *lock(&self.errors).entry(kind.to_owned()).or_default() += 1;
    }

    /// A charger's boot was accepted on a new connection; `since_first_attempt`
    /// is given for its first one only.
    pub fn connected(&self, since_first_attempt: Option<Duration>) {
        self.connected.fetch_add(1, Ordering::Relaxed);
        self.connections.fetch_add(1, Ordering::Relaxed);
        if let Some(d) = since_first_attempt {
            let _ = lock(&self.connect_times).record(micros(d));
        }
    }

    /// A charger that had lost its connection was accepted again, `since_lost`
    /// later.
    pub fn reconnected(&self, since_lost: Duration) {
        let _ = lock(&self.reconnect_times).record(micros(since_lost));
    }

    /// An accepted charger's connection ended.
    pub fn disconnected(&self) {
        self.connected.fetch_sub(1, Ordering::Relaxed);
    }

    /// A connection attempt failed; it also counts as an error of `kind`.
    pub fn connect_failed(&self, kind: &str) {
        self.connect_failures.fetch_add(1, Ordering::Relaxed);
        self.error(kind);
    }

    /// Every error so far, failed connection attempts included.
    pub fn error_count(&self) -> u64 {
        lock(&self.errors).values().sum()
    }

    /// The report of a run that lasted `elapsed`.
    pub fn report(&self, elapsed: Duration) -> Report {
        let snapshot = |h: &Mutex<Histogram<u64>>| lock(h).clone();
        Report {
            elapsed_s: elapsed.as_secs_f64(),
            connected: self.connected.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
            connect_failures: self.connect_failures.load(Ordering::Relaxed),
            messages_sent: self.sent.load(Ordering::Relaxed),
            messages_by_action: lock(&self.by_action).clone(),
            round_trip_ms: Percentiles::of(&snapshot(&self.round_trips)),
            connect_ms: Percentiles::of(&snapshot(&self.connect_times)),
            reconnect_ms: Percentiles::of(&snapshot(&self.reconnect_times)),
            errors: lock(&self.errors).clone(),
        }
    }
}

/// A latency distribution, in milliseconds (recorded in microseconds).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Percentiles {
    /// How many samples.
    pub count: u64,
    /// Median, ms.
    pub p50: f64,
    /// 95th percentile, ms.
    pub p95: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Largest sample, ms.
    pub max: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

/// The final report (`--json` writes it as is).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// How long the run took, seconds.
    pub elapsed_s: f64,
    /// Chargers still connected and accepted at the end.
    pub connected: i64,
    /// Connections that reached an accepted boot.
    pub connections: u64,
    /// Failed connection attempts.
    pub connect_failures: u64,
    /// CALLs the chargers sent.
    pub messages_sent: u64,
    /// The same, per OCPP action.
    pub messages_by_action: BTreeMap<String, u64>,
    /// From sending a call to its answer.
    pub round_trip_ms: Percentiles,
    /// First attempt to first accepted boot, per charger.
    pub connect_ms: Percentiles,
    /// Lost connection to the next accepted boot.
    pub reconnect_ms: Percentiles,
    /// Errors by kind: timeouts, CALLERRORs, failed connects, malformed frames.
    pub errors: BTreeMap<String, u64>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = |p: &Percentiles| {
            format!(
                "n={} p50={:.2} p95={:.2} p99={:.2} max={:.2} ms",
                p.count, p.p50, p.p95, p.p99, p.max
            )
        };
        writeln!(f, "elapsed            {:.1} s", self.elapsed_s)?;
        writeln!(
            f,
            "connections        {} made, {} failed, {} open at the end",
            self.connections, self.connect_failures, self.connected
        )?;
        writeln!(f, "connect (to boot)  {}", p(&self.connect_ms))?;
        if self.reconnect_ms.count > 0 {
            writeln!(f, "reconnect          {}", p(&self.reconnect_ms))?;
        }
        writeln!(f, "round trip         {}", p(&self.round_trip_ms))?;
        writeln!(f, "messages sent      {}", self.messages_sent)?;
        for (action, n) in &self.messages_by_action {
            writeln!(f, "  {action:<26} {n}")?;
        }
        if self.errors.is_empty() {
            writeln!(f, "errors             none")
        } else {
            writeln!(f, "errors")?;
            for (kind, n) in &self.errors {
                writeln!(f, "  {kind:<26} {n}")?;
            }
            Ok(())
        }
    }
}
