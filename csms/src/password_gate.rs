//! Basic-auth passwords (security profiles 1 and 2) checked with bounded
//! work. One argon2id verification takes 19 MiB and tens of milliseconds of
//! a core, so without bounds a burst of wrong passwords took gigabytes and
//! stalled every charger (issue #15). Here:
//! - at most `permits` verifications run at once, on as many threads of
//!   their own; beyond that the handshake is answered 503 with
//!   `Retry-After`. Own threads, not the blocking pool: each thread's
//!   allocator keeps the 19 MiB of its last verification, and the blocking
//!   pool has hundreds of threads (measured: +500 MB after a storm of 1,000
//!   attempts with the pool, see BENCHMARKS.md);
//! - each failure slows its identity and its source address: three are
//!   free, then 1 s doubling to a minute; a correct password works again
//!   once the wait is over, nobody is locked out for good;
//! - a charger that proved its password recently is not made to prove it
//!   again with argon2 (a reconnect storm): the cache holds a SHA-256 of
//!   the password beside the stored hash, so a changed password misses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use booking::sync::lock;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Failures an identity may make before it is slowed.
const FREE_FAILURES: u32 = 3;
/// Failures one source address may make before it is slowed: more, since
/// many chargers can share one address (a carrier's NAT), and one broken
/// charger among them must not keep the others out.
const FREE_FAILURES_PER_SOURCE: u32 = 20;
/// A guesser's failures are forgotten after this long without one.
const FORGET_AFTER: Duration = Duration::from_secs(600);
const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(60);
/// Entries kept per table before it is emptied (a bound, not an LRU).
const MAX_ENTRIES: usize = 100_000;

/// What a password check came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The password matches the stored hash.
    Valid,
    /// It does not; a final attempt counts against the identity and the
    /// address.
    Invalid,
    /// Every verification slot is taken: try again shortly.
    Busy,
    /// Too many recent failures from this identity or address.
    SlowDown {
        /// How long until another attempt is verified at all.
        retry_after: Duration,
    },
}

/// Who is guessing: the identity tried, and where from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Guesser {
    Identity(String),
    Source(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    /// No verification for this guesser before then.
    until: Instant,
}

/// Work for the argon2 threads.
enum Job {
    /// Password, stored hash, whether they match.
    Verify(String, String, tokio::sync::oneshot::Sender<bool>),
    /// A password to hash for storing (an operator setting one).
    Hash(
        String,
        tokio::sync::oneshot::Sender<booking::Result<String>>,
    ),
}

/// The process's password checks.
#[derive(Debug)]
pub struct PasswordGate {
    permits: Arc<Semaphore>,
    threads: usize,
    /// Started at the first verification; they end when the gate is dropped.
    verifiers: OnceLock<Mutex<SyncSender<Job>>>,
    failures: Mutex<HashMap<Guesser, Failures>>,
    /// Identity → (stored hash, SHA-256 of the password that matched it).
    verified: Mutex<HashMap<String, (String, [u8; 32])>>,
}

impl Default for PasswordGate {
    /// Two verifications per core.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(2 * cores)
    }
}

impl PasswordGate {
    /// A gate running at most `permits` verifications at once (at least one),
    /// on as many threads of its own, started at the first verification.
    pub fn new(permits: usize) -> Self {
        let permits = permits.max(1);
        Self {
            permits: Arc::new(Semaphore::new(permits)),
            threads: permits,
            verifiers: OnceLock::new(),
            failures: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// The wait earned with `failures` failures when `free` are free.
    pub fn backoff(failures: u32, free: u32) -> Duration {
        if failures < free {
            return Duration::ZERO;
        }
        let doublings = (failures - free).min(16);
        (FIRST_WAIT * 2u32.pow(doublings)).min(LONGEST_WAIT)
    }

    /// Checks `password` for `identity` against its stored `hash`. A
    /// miss counts against the guesser only when `final_attempt` (not when
    /// the caller has other valid credentials to try next).
    pub async fn verify(
        &self,
        identity: &str,
        source: Option<IpAddr>,
        password: String,
        hash: String,
        final_attempt: bool,
        now: Instant,
    ) -> Verdict {
        let guessers = guessers(identity, source);
        if let Some(retry_after) = self.slowed(&guessers, now) {
            return Verdict::SlowDown { retry_after };
        }
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        let known = lock(&self.verified)
            .get(identity)
            .is_some_and(|(h, d)| *h == hash && *d == digest);
        if known {
            return Verdict::Valid;
        }
        let Ok(_permit) = self.permits.clone().try_acquire_owned() else {
            return Verdict::Busy;
        };
        let began = Instant::now();
        let (answer, answered) = tokio::sync::oneshot::channel();
        let queued = lock(self.verifiers()).try_send(Job::Verify(password, hash.clone(), answer));
        if queued.is_err() {
            // A verification whose handshake gave up still runs: the
            // threads are all busy.
            return Verdict::Busy;
        }
        let valid = answered.await.unwrap_or(false);
        if valid {
            self.succeeded(identity, hash, digest);
            Verdict::Valid
        } else {
            if final_attempt {
                self.failed(&guessers, now, began.elapsed());
            }
            Verdict::Invalid
        }
    }

    /// Hashes `password` for storing on the argon2 threads, waiting for a
    /// free one (an operator's request queues; it is not refused like a
    /// handshake), so admin paths reuse their memory too instead of leaving
    /// 19 MiB in each blocking-pool thread they touched.
    pub async fn hash(&self, password: String) -> booking::Result<String> {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| booking::Error::Internal(e.to_string()))?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        let queued = lock(self.verifiers()).try_send(Job::Hash(password, answer));
        match queued {
            Ok(()) => answered
                .await
                .map_err(|e| booking::Error::Internal(e.to_string()))?,
            // Every thread still busy with abandoned verifications: hash on
            // the blocking pool rather than wait on them.
            Err(std::sync::mpsc::TrySendError::Full(Job::Hash(password, _))) => {
                tokio::task::spawn_blocking(move || booking::credentials::hash_password(&password))
                    .await
                    .map_err(|e| booking::Error::Internal(e.to_string()))?
            }
            Err(_) => Err(booking::Error::Internal(
                "the argon2 threads are gone".into(),
            )),
        }
    }

    fn verifiers(&self) -> &Mutex<SyncSender<Job>> {
        self.verifiers.get_or_init(|| {
            let (jobs, queue) = sync_channel::<Job>(self.threads);
            let queue = Arc::new(Mutex::new(queue));
            for n in 0..self.threads {
                let queue = queue.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("evgate-argon2-{n}"))
                    .spawn(move || verify_forever(&queue));
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start a password verification thread");
                }
            }
            Mutex::new(jobs)
        })
    }

    /// How long the first slowed of `guessers` must still wait.
    fn slowed(&self, guessers: &[Guesser], now: Instant) -> Option<Duration> {
        let failures = lock(&self.failures);
        guessers
            .iter()
            .filter_map(|g| failures.get(g))
            .map(|f| f.until.saturating_duration_since(now))
            .filter(|wait| !wait.is_zero())
            .max()
    }

    /// Counts a failure found at `now + spent`: the wait starts when the
    /// failure is known, so a verification slowed by a loaded machine does
    /// not use it up.
    fn failed(&self, guessers: &[Guesser], now: Instant, spent: Duration) {
        let mut failures = lock(&self.failures);
        if failures.len() >= MAX_ENTRIES {
            failures.retain(|_, f| f.until > now);
        }
        for g in guessers {
            let f = failures.entry(g.clone()).or_insert(Failures {
                count: 0,
                until: now,
            });
            if now.saturating_duration_since(f.until) > FORGET_AFTER {
                f.count = 0;
            }
            f.count += 1;
            let free = match g {
                Guesser::Identity(_) => FREE_FAILURES,
                Guesser::Source(_) => FREE_FAILURES_PER_SOURCE,
            };
            let wait = Self::backoff(f.count, free);
            f.until = if wait.is_zero() {
                now
            } else {
                now + spent + wait
            };
        }
    }

    /// A correct password clears its identity's failures (its address may
    /// host other, guessing, clients: that record stays).
    fn succeeded(&self, identity: &str, hash: String, digest: [u8; 32]) {
        lock(&self.failures).remove(&Guesser::Identity(identity.to_owned()));
        let mut verified = lock(&self.verified);
        if verified.len() >= MAX_ENTRIES {
            verified.clear();
        }
        verified.insert(identity.to_owned(), (hash, digest));
    }
}

/// One argon2 thread: verifies and hashes until the gate (the sending side)
/// is gone.
fn verify_forever(queue: &Mutex<Receiver<Job>>) {
    let mut memory = booking::credentials::VerifierMemory::default();
    loop {
        let job = lock(queue).recv();
        match job {
            Ok(Job::Verify(password, hash, answer)) => {
                let valid = booking::credentials::verify_password_in(&password, &hash, &mut memory);
                let _ = answer.send(valid);
            }
            Ok(Job::Hash(password, answer)) => {
                let _ = answer.send(booking::credentials::hash_password_in(
                    &password,
                    &mut memory,
                ));
            }
            Err(_) => return,
        }
    }
}

fn guessers(identity: &str, source: Option<IpAddr>) -> Vec<Guesser> {
    let mut g = vec![Guesser::Identity(identity.to_owned())];
    g.extend(source.map(Guesser::Source));
    g
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const CP: &str = "CP-1";

    fn hash(password: &str) -> String {
        booking::credentials::hash_password(password).unwrap()
    }

    #[test]
    fn three_failures_are_free_then_the_wait_doubles_to_a_minute() {
        let waits: Vec<u64> = (0..12)
            .map(|n| PasswordGate::backoff(n, FREE_FAILURES).as_secs())
            .collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[tokio::test]
    async fn a_password_hashed_on_the_gate_verifies_on_it() {
        let gate = PasswordGate::new(1);
        let stored = gate.hash("right-password-1234".into()).await.unwrap();
        let now = Instant::now();
        let check =
            |password: &str| gate.verify(CP, None, password.into(), stored.clone(), false, now);
        assert_eq!(check("right-password-1234").await, Verdict::Valid);
        assert_eq!(check("wrong-password-1234").await, Verdict::Invalid);
    }

    #[test]
    fn the_wait_starts_when_a_slow_verification_ends() {
        let gate = PasswordGate::new(1);
        let who = guessers(CP, None);
        let now = Instant::now();
        for _ in 0..3 {
            gate.failed(&who, now, Duration::from_secs(3));
        }
        // The third failure makes the next attempt wait 1 s from when it
        // was known (now + 3 s), not from when its verification began.
        let wait = gate.slowed(&who, now + Duration::from_millis(3_500));
        assert_eq!(wait, Some(Duration::from_millis(500)));
        assert_eq!(gate.slowed(&who, now + Duration::from_secs(4)), None);
    }

    // Paused time: the tests pass `now`, and the verification's own
    // duration (real argon2 work) must not move it.
    #[tokio::test(start_paused = true)]
    async fn a_guesser_is_slowed_and_the_right_password_works_after_the_wait() {
        let gate = PasswordGate::new(2);
        let stored = hash("right-password-1234");
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let now = Instant::now();
        for _ in 0..3 {
            let v = gate
                .verify(CP, Some(ip), "wrong".into(), stored.clone(), true, now)
                .await;
            assert_eq!(v, Verdict::Invalid);
        }
        // The fourth try is not even verified, whatever it says.
        let v = gate
            .verify(
                CP,
                Some(ip),
                "right-password-1234".into(),
                stored.clone(),
                true,
                now,
            )
            .await;
        assert_eq!(
            v,
            Verdict::SlowDown {
                retry_after: Duration::from_secs(1)
            }
        );
        // The address is not slowed by one identity's three failures (a
        // shared NAT): another identity from it is still verified.
        let neighbour = gate
            .verify(
                "CP-2",
                Some(ip),
                "wrong".into(),
                hash("other-password-123"),
                true,
                now,
            )
            .await;
        assert_eq!(neighbour, Verdict::Invalid);
        // Another address for the same identity is slowed.
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        assert!(matches!(
            gate.verify(CP, Some(other), "x".into(), stored.clone(), true, now)
                .await,
            Verdict::SlowDown { .. }
        ));
        let later = now + Duration::from_secs(1);
        let v = gate
            .verify(
                CP,
                Some(ip),
                "right-password-1234".into(),
                stored,
                true,
                later,
            )
            .await;
        assert_eq!(v, Verdict::Valid);
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_trying_many_identities_is_slowed_and_old_failures_are_forgotten() {
        let gate = PasswordGate::new(2);
        let stored = hash("right-password-1234");
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let now = Instant::now();
        for n in 0..FREE_FAILURES_PER_SOURCE {
            let v = gate
                .verify(
                    &format!("CP-{n}"),
                    Some(ip),
                    "x".into(),
                    stored.clone(),
                    true,
                    now,
                )
                .await;
            assert_eq!(v, Verdict::Invalid, "attempt {n}");
        }
        let v = gate
            .verify("CP-NEW", Some(ip), "x".into(), stored.clone(), true, now)
            .await;
        assert!(matches!(v, Verdict::SlowDown { .. }), "{v:?}");
        // Ten quiet minutes later the address starts afresh.
        let later = now + Duration::from_secs(1) + FORGET_AFTER + Duration::from_secs(1);
        let v = gate
            .verify("CP-NEW", Some(ip), "x".into(), stored, true, later)
            .await;
        assert_eq!(v, Verdict::Invalid);
        assert_eq!(lock(&gate.failures)[&Guesser::Source(ip)].count, 1);
    }

    #[tokio::test]
    async fn a_known_password_is_not_verified_again_and_a_changed_one_misses() {
        let gate = PasswordGate::new(1);
        let stored = hash("first-password-1234");
        let now = Instant::now();
        let first = gate
            .verify(
                CP,
                None,
                "first-password-1234".into(),
                stored.clone(),
                true,
                now,
            )
            .await;
        assert_eq!(first, Verdict::Valid);
        // With every permit taken, only the cache can answer.
        let _held = gate.permits.clone().try_acquire_owned().unwrap();
        let again = gate
            .verify(
                CP,
                None,
                "first-password-1234".into(),
                stored.clone(),
                true,
                now,
            )
            .await;
        assert_eq!(again, Verdict::Valid);
        let rotated = hash("second-password-123");
        let after_rotation = gate
            .verify(CP, None, "first-password-1234".into(), rotated, true, now)
            .await;
        assert_eq!(
            after_rotation,
            Verdict::Busy,
            "a changed hash must be verified"
        );
        let wrong = gate
            .verify(CP, None, "not-it".into(), stored, true, now)
            .await;
        assert_eq!(wrong, Verdict::Busy);
    }
}
