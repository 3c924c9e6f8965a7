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
    Done,
    /// Failed `WEBHOOK_MAX_ATTEMPTS` times, or can never succeed; an operator
    /// may requeue it.
    Dead,
}

impl InboxState {
    pub const ALL: [InboxState; 4] = [
        InboxState::Pending,
        InboxState::Waiting,
        InboxState::Done,
        InboxState::Dead,
    ];

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

#[derive(Debug, Clone, PartialEq)]
pub struct InboxEntry {
    pub id: Uuid,
    pub vendor_id: Uuid,
    pub report: Report,
    pub ordering_key: String,
    /// The vendor's `Idempotency-Key`, when it sent one.
    pub idempotency_key: Option<String>,
    /// The delivery's signature: a replay of it carries the same one and is
    /// not stored again. `None` for entries stored before it was kept.
    pub signature: Option<String>,
    /// SHA-256 of the body, hex: a key reused for another body is refused.
    pub body_sha256: Option<String>,
    pub state: InboxState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

impl InboxEntry {
    pub fn kind(&self) -> Kind {
        self.report.kind()
    }
}

/// What applying an entry came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    /// Park until the session it refers to starts.
    Wait,
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    Dead {
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
