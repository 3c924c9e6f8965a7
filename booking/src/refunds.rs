//! The refund outbox: refunds owed (no-shows, bookings a charger would not
//! reserve) are written in the same flow that decides them, then delivered
//! to the payment side by a worker that retries with exponential backoff
//! and gives up after a bounded number of attempts (state FAILED, for an
//! operator to look at). Leases keep two workers from sending one refund.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::TimeDelta;

use crate::clock::Clock;
use crate::error::Result;
use crate::model::RefundRequest;
use crate::store::{RefundAttempt, RefundQueue};

/// Where refunds go: the payment provider's side. Implemented over HTTP by
/// the server (`PAYMENT_WEBHOOK_URL`).
#[async_trait]
pub trait RefundGateway: Send + Sync + std::fmt::Debug + 'static {
    /// `Err` with a reason when the refund was not accepted; it is retried.
    async fn send(&self, refund: &RefundRequest) -> std::result::Result<(), String>;
}

/// The worker side of the outbox: sends due refunds through the gateway.
#[derive(Debug, Clone)]
pub struct RefundOutbox {
    /// Where refunds wait, and their leases.
    pub store: Arc<dyn RefundQueue>,
    /// The payment provider's side.
    pub gateway: Arc<dyn RefundGateway>,
    /// Source of now, for due times and backoff.
    pub clock: Arc<dyn Clock>,
    /// Failed deliveries after which a refund is FAILED for good.
    pub max_attempts: i32,
}

/// How long a worker owns a refund it is sending.
const LEASE: TimeDelta = TimeDelta::seconds(60);
const FIRST_RETRY: TimeDelta = TimeDelta::seconds(10);
const LONGEST_WAIT: TimeDelta = TimeDelta::hours(1);

/// 10 s, 20 s, 40 s, … capped at an hour.
pub fn backoff(attempts: i32) -> TimeDelta {
    crate::clock::backoff(attempts, FIRST_RETRY, LONGEST_WAIT)
}

impl RefundOutbox {
    /// Sends every refund that is due; returns how many were delivered.
    pub async fn deliver_due(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut delivered = 0;
        for refund in self.store.due_refunds(now, 50).await? {
            if !self.store.lease_refund(refund.id, now, now + LEASE).await? {
                continue;
            }
            let attempts = refund.attempts + 1;
            let outcome = match self.gateway.send(&refund).await {
                Ok(()) => {
                    delivered += 1;
                    RefundAttempt::Delivered
                }
                Err(error) if attempts >= self.max_attempts => {
                    tracing::error!(refund.id = %refund.id, booking.id = %refund.booking_id,
                        attempts, error = %error, "refund delivery failed for good");
                    RefundAttempt::GiveUp { error }
                }
                Err(error) => {
                    tracing::warn!(refund.id = %refund.id, attempts, error = %error,
                        "refund delivery failed; will retry");
                    RefundAttempt::Retry {
                        at: self.clock.now() + backoff(attempts),
                        error,
                    }
                }
            };
            self.store
                .record_refund_attempt(refund.id, attempts, outcome)
                .await?;
        }
        Ok(delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), TimeDelta::seconds(10));
        assert_eq!(backoff(2), TimeDelta::seconds(20));
        assert_eq!(backoff(4), TimeDelta::seconds(80));
        assert_eq!(backoff(30), TimeDelta::hours(1));
    }
}
