//! The refund outbox: refunds owed to drivers, delivered with retries.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::model::RefundRequest;

/// The result of one refund delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum RefundAttempt {
    /// The payment side accepted it: SENT.
    Delivered,
    /// It failed; PENDING again from `at`.
    Retry {
        /// When to try next (UTC).
        at: DateTime<Utc>,
        /// Why this attempt failed.
        error: String,
    },
    /// It failed for the last time: FAILED, for an operator.
    GiveUp {
        /// Why the last attempt failed.
        error: String,
    },
}

/// The refund outbox: refunds owed, leased to one worker at a time, retried
/// until delivered or given up.
#[async_trait]
pub trait RefundQueue: Send + Sync + std::fmt::Debug + 'static {
    /// Enqueues a refund; `false` when the booking already has one.
    async fn enqueue_refund(&self, refund: &RefundRequest) -> Result<bool>;
    /// Pending refunds whose next attempt is due, oldest first.
    async fn due_refunds(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<RefundRequest>>;
    /// Takes a due refund for delivery until `lease_until` (pushing its next
    /// attempt there), so no other worker or instance sends it meanwhile.
    /// `false` when someone else took it first.
    async fn lease_refund(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool>;
    /// Records a delivery attempt: delivered (SENT), PENDING again from a
    /// later time, or FAILED for good.
    async fn record_refund_attempt(
        &self,
        id: Uuid,
        attempts: i32,
        outcome: RefundAttempt,
    ) -> Result<()>;
}
