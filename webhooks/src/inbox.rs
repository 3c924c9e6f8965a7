//! The inbox: accepted webhooks waiting to be applied, and what became of
//! them. Entries with the same ordering key (a connector, or a vendor
//! session) are applied one at a time, in arrival order.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::report::{Kind, Report};

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InboxState {
    /// Due at `next_attempt_at` (now, or after a backoff).
    Pending,
    /// A meter update or session end whose session has not started yet:
    /// woken when the start is applied.
    Waiting,
    /// Applied through the booking core (or a stale no-op there).
    Done,
    /// Failed `WEBHOOK_MAX_ATTEMPTS` times, or can never succeed; an operator
    /// may requeue it.
    Dead,
}

impl InboxState {
    /// Every state, in life order.
    pub const ALL: [InboxState; 4] = [
        InboxState::Pending,
        InboxState::Waiting,
        InboxState::Done,
        InboxState::Dead,
    ];

    /// The stored and displayed form, e.g. `PENDING`.
    pub fn as_str(self) -> &'static str {
        match self {
            InboxState::Pending => "PENDING",
            InboxState::Waiting => "WAITING",
            InboxState::Done => "DONE",
            InboxState::Dead => "DEAD",
        }
    }

    /// Case-insensitive, as operators type it in a query string.
    pub fn parse(s: &str) -> Option<InboxState> {
        InboxState::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

/// One accepted webhook in the inbox, with its delivery bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxEntry {
    /// The entry's id: a UUIDv7, so ids sort by the time they were accepted.
    pub id: Uuid,
    /// The vendor that sent it.
    pub vendor_id: Uuid,
    /// What it reported, validated and with its connector resolved.
    pub report: Report,
    /// Entries with the same key are applied one at a time, in arrival order:
    /// see [`connector_key`] and [`session_key`].
    pub ordering_key: String,
    /// The vendor's `Idempotency-Key`, when it sent one.
    pub idempotency_key: Option<String>,
    /// The delivery's signature: a replay of it carries the same one and is
    /// not stored again. `None` for entries stored before it was kept.
    pub signature: Option<String>,
    /// SHA-256 of the body, hex: a key reused for another body is refused.
    pub body_sha256: Option<String>,
    /// Where it is in its life.
    pub state: InboxState,
    /// Apply attempts so far; parking to wait for a session does not count.
    pub attempts: i32,
    /// When it is next due (UTC).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the latest failed attempt failed, if one did.
    pub last_error: Option<String>,
    /// When evgate accepted it (UTC).
    pub received_at: DateTime<Utc>,
    /// When it was applied or dead-lettered (UTC); `None` while pending or
    /// waiting.
    pub processed_at: Option<DateTime<Utc>>,
}

impl InboxEntry {
    /// Which of the four webhooks it came in as.
    pub fn kind(&self) -> Kind {
        self.report.kind()
    }
}

/// An inbox entry as an operator sees it (the admin view): like
/// [`InboxEntry`], but a row whose stored report this build cannot read —
/// written by an earlier build, or edited by hand — is shown with the text
/// as stored and why it cannot be read, instead of failing the whole list.
/// The applier never sees one of these: it reads [`InboxEntry`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxRecord {
    /// The entry's id.
    pub id: Uuid,
    /// The vendor that sent it.
    pub vendor_id: Uuid,
    /// Which of the four webhooks it came in as.
    pub kind: Kind,
    /// What it reported, or the stored text when that cannot be read.
    pub report: StoredReport,
    /// See [`InboxEntry::ordering_key`].
    pub ordering_key: String,
    /// The vendor's `Idempotency-Key`, when it sent one.
    pub idempotency_key: Option<String>,
    /// Where it is in its life.
    pub state: InboxState,
    /// Apply attempts so far.
    pub attempts: i32,
    /// When it is next due (UTC).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the latest failed attempt failed, if one did.
    pub last_error: Option<String>,
    /// When evgate accepted it (UTC).
    pub received_at: DateTime<Utc>,
    /// When it was applied or dead-lettered (UTC).
    pub processed_at: Option<DateTime<Utc>>,
}

/// A stored report, read or not.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredReport {
    /// Read and validated, as the applier would apply it.
    Readable(Report),
    /// This build cannot read it: it can never be applied as it is.
    Unreadable {
        /// The report exactly as stored.
        payload: String,
        /// Why it cannot be read.
        error: String,
    },
}

impl StoredReport {
    /// The report, when it can be read.
    pub fn readable(&self) -> Option<&Report> {
        match self {
            StoredReport::Readable(r) => Some(r),
            StoredReport::Unreadable { .. } => None,
        }
    }
}

/// What applying an entry came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Applied: the entry becomes DONE.
    Done,
    /// Park until the session it refers to starts.
    Wait,
    /// A transient failure (the store unavailable, an internal fault): PENDING
    /// again from `at`.
    Retry {
        /// When to try again (UTC).
        at: DateTime<Utc>,
        /// What failed.
        error: String,
    },
    /// It cannot succeed, or ran out of attempts: DEAD, until an operator
    /// requeues it.
    Dead {
        /// What failed, for the operator.
        error: String,
    },
}

/// The ordering key of everything about one connector.
pub fn connector_key(connector_id: Uuid) -> String {
    format!("connector:{connector_id}")
}

/// The ordering key of a vendor session's meter updates and end.
pub fn session_key(vendor_id: Uuid, vendor_session_id: &str) -> String {
    format!("session:{vendor_id}:{vendor_session_id}")
}
