//! The OCPP message journal: each charger's last frames in both directions,
//! in memory on the instance that holds it, for operators asking "what did
//! the charger actually say?". Bounded twice: at most `per_charger` frames
//! each, and `budget` bytes for all of them together (a charger over the
//! budget forgets its own oldest frames first). A charger that leaves keeps
//! its journal until [`MAX_DEPARTED`] others have left after it.
//! Passwords are redacted before a frame is kept.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use booking::sync::lock;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::time::Instant;

/// Journals kept for chargers no longer connected here.
pub const MAX_DEPARTED: usize = 1_000;

/// Frames kept per charger unless configured (`OCPP_JOURNAL_SIZE`).
pub const DEFAULT_SIZE: usize = 200;

/// Bytes all journals may hold unless configured (`OCPP_JOURNAL_MAX_MB`).
pub const DEFAULT_BUDGET: usize = 64 << 20;

/// Calls awaiting their answer, per charger, for round-trip times.
const MAX_PENDING: usize = 8;

/// An entry's latency when it has none (not an answer, or its CALL unseen).
const NO_LATENCY: u32 = u32::MAX;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the charger.
    In,
    /// To the charger.
    Out,
}

/// One frame as kept: compact, parsed again only when someone reads it.
#[derive(Debug)]
struct Entry {
    /// When, in Unix milliseconds (8 bytes where a `DateTime` takes 12).
    at_ms: i64,
    /// The answer's time since its CALL, in microseconds (`u32::MAX`: none).
    latency_us: u32,
    direction: Direction,
    /// The frame's text, passwords redacted.
    frame: Box<str>,
}

impl Entry {
    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.frame.len()
    }
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<Entry>,
    bytes: usize,
    /// CALLs awaiting an answer: direction sent, unique id, when.
    pending: Vec<(Direction, Box<str>, Instant)>,
    /// The charger is not connected here any more.
    departed: bool,
    /// The connection writing to it (a newer one for the same charger
    /// takes the journal over; the older one's departure then changes
    /// nothing).
    holder: u64,
}

/// Every charger's journal on this instance; cheap to clone.
#[derive(Debug, Clone)]
pub struct Journals {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    per_charger: usize,
    budget: usize,
    used: AtomicUsize,
    by_charger: Mutex<HashMap<Box<str>, Arc<ChargerJournal>>>,
    /// Chargers that left, oldest first (one may appear twice).
    departed: Mutex<VecDeque<Box<str>>>,
}

/// One charger's journal: written by its connection, read by operators.
#[derive(Debug)]
pub struct ChargerJournal {
    ring: Mutex<Ring>,
    shared: Arc<Shared>,
}

impl Journals {
    /// Journals of at most `per_charger` frames each (0: no journal) and
    /// `budget` bytes in all.
    pub fn new(per_charger: usize, budget: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                per_charger,
                budget,
                used: AtomicUsize::new(0),
                by_charger: Mutex::new(HashMap::new()),
                departed: Mutex::new(VecDeque::new()),
            }),
        }
    }

    /// The journal `connection` of a charger writes to (its earlier one, if
    /// kept); `None` when journals are off.
    pub fn open(&self, charge_point_id: &str, connection: u64) -> Option<Arc<ChargerJournal>> {
        if self.shared.per_charger == 0 {
            return None;
        }
        let mut all = lock(&self.shared.by_charger);
        let journal = all
            .entry(charge_point_id.into())
            .or_insert_with(|| {
                Arc::new(ChargerJournal {
                    ring: Mutex::new(Ring::default()),
                    shared: self.shared.clone(),
                })
            })
            .clone();
        let mut ring = lock(&journal.ring);
        ring.departed = false;
        ring.holder = connection;
        drop(ring);
        Some(journal)
    }

    /// The charger's connection ended: its journal stays readable until
    /// [`MAX_DEPARTED`] others have left after it (or it comes back).
    pub fn depart(&self, charge_point_id: &str, journal: &ChargerJournal, connection: u64) {
        {
            let mut ring = lock(&journal.ring);
            if ring.holder != connection {
                return;
            }
            ring.departed = true;
        }
        let mut departed = lock(&self.shared.departed);
        departed.push_back(charge_point_id.into());
        if departed.len() <= MAX_DEPARTED {
            return;
        }
        let Some(oldest) = departed.pop_front() else {
            return;
        };
        drop(departed);
        let mut all = lock(&self.shared.by_charger);
        // Back since it left (and maybe gone again, queued once more): keep.
        let still_away = all
            .get(&oldest)
            .is_some_and(|j| lock(&j.ring).departed && !self.queued(&oldest));
        if still_away && let Some(gone) = all.remove(&oldest) {
            gone.clear();
        }
    }

    fn queued(&self, charge_point_id: &str) -> bool {
        lock(&self.shared.departed)
            .iter()
            .any(|id| &**id == charge_point_id)
    }

    /// The charger's frames, newest first: at most `limit`, only `action`'s
    /// when given (a CALL and its answer both count as the CALL's action).
    pub fn read(&self, charge_point_id: &str, limit: usize, action: Option<&str>) -> Option<Value> {
        let journal = lock(&self.shared.by_charger).get(charge_point_id)?.clone();
        Some(journal.read(limit, action))
    }

    /// Bytes held by every journal here.
    pub fn bytes(&self) -> usize {
        self.shared.used.load(Ordering::Relaxed)
    }
}

impl ChargerJournal {
    /// Keeps a frame that went `direction` at `at` (`now` for round trips).
    pub fn record(&self, direction: Direction, frame: &str, at: DateTime<Utc>, now: Instant) {
        let head = Head::of(frame);
        let mut ring = lock(&self.ring);
        let latency = match head {
            Some(Head { kind: 2, id, .. }) => {
                if ring.pending.len() >= MAX_PENDING {
                    ring.pending.remove(0);
                }
                ring.pending.push((direction, id.into(), now));
                None
            }
            Some(Head { id, .. }) => ring
                .pending
                .iter()
                .position(|(d, pending, _)| *d != direction && **pending == *id)
                .map(|i| ring.pending.remove(i).2)
                .map(|sent| {
                    u32::try_from(now.saturating_duration_since(sent).as_micros())
                        .unwrap_or(NO_LATENCY - 1)
                }),
            None => None,
        };
        let entry = Entry {
            at_ms: at.timestamp_millis(),
            latency_us: latency.unwrap_or(NO_LATENCY),
            direction,
            frame: redact(frame, head.as_ref()).into(),
        };
        let size = entry.bytes();
        while ring.entries.len() >= self.shared.per_charger {
            self.forget_oldest(&mut ring);
        }
        let pressed = self.shared.used.load(Ordering::Relaxed) + size > self.shared.budget;
        while self.shared.used.load(Ordering::Relaxed) + size > self.shared.budget
            && !ring.entries.is_empty()
        {
            self.forget_oldest(&mut ring);
        }
        // Slots are counted only while used: under pressure, give back the
        // room a once-longer journal still holds.
        if pressed && ring.entries.capacity() > 2 * ring.entries.len() + 16 {
            let keep = 2 * ring.entries.len() + 16;
            ring.entries.shrink_to(keep);
        }
        if self.shared.used.load(Ordering::Relaxed) + size > self.shared.budget {
            return;
        }
        ring.bytes += size;
        self.shared.used.fetch_add(size, Ordering::Relaxed);
        ring.entries.push_back(entry);
    }

    fn forget_oldest(&self, ring: &mut Ring) {
        if let Some(old) = ring.entries.pop_front() {
            let size = old.bytes();
            ring.bytes -= size;
            self.shared.used.fetch_sub(size, Ordering::Relaxed);
        }
    }

    fn clear(&self) {
        let mut ring = lock(&self.ring);
        self.shared.used.fetch_sub(ring.bytes, Ordering::Relaxed);
        ring.bytes = 0;
        ring.entries = VecDeque::new();
    }

    fn read(&self, limit: usize, action: Option<&str>) -> Value {
        let ring = lock(&self.ring);
        // A result names no action: it takes that of the CALL it answers,
        // which went the other way (both sides number their calls, so an
        // id alone may name two).
        let mut calls: HashMap<(bool, String), String> = HashMap::new();
        let mut shown = Vec::new();
        for entry in &ring.entries {
            let frame: Value = serde_json::from_str(&entry.frame).unwrap_or(Value::Null);
            let kind = frame[0].as_u64().unwrap_or(0);
            let id = frame[1].as_str().unwrap_or_default().to_owned();
            let named = if kind == 2 {
                let name = frame[2].as_str().unwrap_or_default().to_owned();
                calls.insert((entry.direction == Direction::In, id.clone()), name.clone());
                Some(name)
            } else {
                calls
                    .get(&(entry.direction == Direction::Out, id.clone()))
                    .cloned()
            };
            if action.is_some_and(|a| named.as_deref() != Some(a)) {
                continue;
            }
            let (message_type, payload) = match kind {
                2 => ("CALL", frame[3].clone()),
                3 => ("CALLRESULT", frame[2].clone()),
                4 => (
                    "CALLERROR",
                    json!({"errorCode": frame[2], "errorDescription": frame[3], "errorDetails": frame[4]}),
                ),
                _ => ("UNREADABLE", Value::String(entry.frame.to_string())),
            };
            let at = DateTime::<Utc>::from_timestamp_millis(entry.at_ms).unwrap_or_default();
            let latency = (entry.latency_us != NO_LATENCY).then_some(entry.latency_us);
            shown.push(json!({
                "at": booking::iso(at),
                "direction": match entry.direction { Direction::In => "in", Direction::Out => "out" },
                "messageType": message_type,
                "uniqueId": id,
                "action": named,
                "payload": payload,
                "latencyMs": latency.map(|us| f64::from(us) / 1000.0),
            }));
        }
        shown.reverse();
        shown.truncate(limit);
        Value::Array(shown)
    }
}

/// The start of an OCPP-J frame, `[kind, "id", …`, read without parsing
/// the payload.
#[derive(Debug)]
struct Head<'a> {
    kind: u8,
    id: &'a str,
}

impl<'a> Head<'a> {
    fn of(frame: &'a str) -> Option<Self> {
        let rest = frame.trim_start().strip_prefix('[')?.trim_start();
        let kind = match rest.as_bytes().first()? {
            b'2' => 2,
            b'3' => 3,
            b'4' => 4,
            _ => return None,
        };
        let (id, _) = quoted(rest[1..].trim_start().strip_prefix(',')?)?;
        Some(Self { kind, id })
    }
}

/// A JSON string without escapes at the start of `s`, and what follows.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start().strip_prefix('"')?;
    let end = s.find('"')?;
    let text = &s[..end];
    (!text.contains('\\')).then_some((text, &s[end + 1..]))
}

/// The frame with every password replaced: 1.6 `AuthorizationKey` values,
/// 2.0.1 `BasicAuthPassword` variables, and any field whose name says
/// password. Frames that cannot hold one are kept as they are.
fn redact(frame: &str, head: Option<&Head<'_>>) -> String {
    // Every frame passes here: look without allocating a lowercase copy.
    let may_hold = frame.contains("AuthorizationKey")
        || frame
            .as_bytes()
            .windows(PASSWORD.len())
            .any(|w| w.eq_ignore_ascii_case(PASSWORD));
    if !may_hold {
        return frame.to_owned();
    }
    let Ok(mut value) = serde_json::from_str::<Value>(frame) else {
        // Unreadable and possibly secret: keep only its head.
        return match head {
            Some(h) => format!("[{},\"{}\",\"(redacted)\"]", h.kind, h.id),
            None => "\"(redacted)\"".to_owned(),
        };
    };
    scrub(&mut value);
    value.to_string()
}

const REDACTED: &str = "***";

/// What a field or key holding a secret is named like (any case).
const PASSWORD: &[u8] = b"password";

/// Replaces every password in an OCPP payload (or frame) with `***`:
/// 1.6 `AuthorizationKey` values (and any configuration key that says
/// password), 2.0.1 `BasicAuthPassword` variables, and any string field
/// whose name says password. For whatever keeps payloads
/// (this journal, the audit log).
pub fn scrub(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let secret_key = map.get("key").and_then(Value::as_str).is_some_and(|k| {
                k == "AuthorizationKey" || k.to_ascii_lowercase().contains("password")
            });
            if secret_key && map.contains_key("value") {
                map.insert("value".into(), REDACTED.into());
            }
            if map
                .get("variable")
                .and_then(|v| v.get("name"))
                .and_then(Value::as_str)
                == Some("BasicAuthPassword")
                && map.contains_key("attributeValue")
            {
                map.insert("attributeValue".into(), REDACTED.into());
            }
            for (name, field) in map.iter_mut() {
                if name.to_ascii_lowercase().contains("password") && field.is_string() {
                    *field = REDACTED.into();
                } else {
                    scrub(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
