//! The audit log: every operator action (and what the gateway did on an
//! operator's behalf later, such as a rotation applied when a charger came
//! back) is recorded with who, what, on which thing, when, and how it ended.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::store::AuditLog;

/// The actor of what the gateway does by itself, on an operator's earlier
/// request.
pub const GATEWAY: &str = "evgate";

/// One audited action.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Assigned by the store; `0` before it is recorded.
    pub id: i64,
    /// When the action was taken (UTC).
    pub at: DateTime<Utc>,
    /// The admin's `sub`, or [`GATEWAY`].
    pub actor: String,
    /// Dotted verb, e.g. `charger.credentials`, `id_tag.update`.
    pub action: String,
    /// What it was done to: a charge point id, an id tag.
    pub target: String,
    /// The request, without secrets.
    pub details: Value,
    /// How it ended: `ACCEPTED`, `REJECTED`, `PENDING`, `FAILED`, …
    pub outcome: String,
}

impl AuditEntry {
    /// An entry not yet recorded (`id` 0); the store assigns the id.
    pub fn new(
        at: DateTime<Utc>,
        actor: impl Into<String>,
        action: &str,
        target: impl Into<String>,
        details: Value,
        outcome: impl Into<String>,
    ) -> Self {
        Self {
            id: 0,
            at,
            actor: actor.into(),
            action: action.to_owned(),
            target: target.into(),
            details,
            outcome: outcome.into(),
        }
    }
}

/// Records an entry. The action already happened, so a store failure is
/// logged loudly rather than turned into the caller's error.
pub async fn record(store: &dyn AuditLog, entry: AuditEntry) {
    if let Err(e) = store.record_audit(&entry).await {
        tracing::error!(error = %e, action = %entry.action, target = %entry.target,
            actor = %entry.actor, outcome = %entry.outcome, "cannot write the audit log");
    }
}
