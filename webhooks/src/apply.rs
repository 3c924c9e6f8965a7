//! Applying inbox entries through the booking core's update path — the same
//! calls the CSMS makes for OCPP messages — with leases (several instances
//! may run this), per-key order, backoff and a dead letter.

use booking::Error;
use booking::model::{ChargingSession, TransactionKey};
use booking::service::{SessionStart, SessionStop};
use chrono::TimeDelta;
use futures_util::future::join_all;
use uuid::Uuid;

use crate::inbox::{self, InboxEntry, Outcome};
use crate::report::Report;
use crate::service::VendorWebhooks;

/// Pending entries read per round, oldest first.
const WINDOW: u32 = 512;
/// The worker lease: renewed every round (at least every poll), so another
/// instance takes over within this long of the holder's death.
const LEASE: TimeDelta = TimeDelta::seconds(10);
const LEASE_NAME: &str = "webhook-inbox";
/// First retry after one second, doubling, at most five minutes apart.
const BACKOFF_BASE: TimeDelta = TimeDelta::seconds(1);
const BACKOFF_CAP: TimeDelta = TimeDelta::minutes(5);

/// What applying a report came to, before backoff bookkeeping.
enum Applied {
    Done,
    /// The session it refers to has not started (yet).
    NoSessionYet,
}

impl VendorWebhooks {
    /// One round: if this instance holds the inbox lease, applies what is
    /// due — each ordering key's entries in order, the keys concurrently.
    /// Returns how many entries were handled (0: nothing to do, or another
    /// instance is the applier). What it came to is kept for readiness
    /// ([`VendorWebhooks::applier_health`]).
    pub async fn process_due(&self) -> booking::Result<usize> {
        let _round = self.round.lock().await;
        let result = self.round().await;
        let now = self.ports.clock.now();
        match &result {
            Ok(_) => self.rounds.completed(now),
            Err(e) => self.rounds.failed(now, e.to_string()),
        }
        result
    }

    async fn round(&self) -> booking::Result<usize> {
        let now = self.ports.clock.now();
        let store = &self.ports.store;
        if !store
            .lease(LEASE_NAME, self.instance, now, now + LEASE)
            .await?
        {
            return Ok(0);
        }
        // The oldest pending entries; the first of each key is its head.
        let mut runs: Vec<Vec<InboxEntry>> = Vec::new();
        let mut run_of: std::collections::HashMap<String, usize> = Default::default();
        for entry in store.pending(WINDOW).await? {
            match run_of.get(&entry.ordering_key) {
                Some(&i) => runs[i].push(entry),
                None => {
                    run_of.insert(entry.ordering_key.clone(), runs.len());
                    runs.push(vec![entry]);
                }
            }
        }
        // A head still backing off holds up its key.
        runs.retain(|run| run[0].next_attempt_at <= now);
        let handled: usize = runs.iter().map(Vec::len).sum();
        let mut done = Vec::with_capacity(handled);
        for result in join_all(runs.into_iter().map(|run| self.process_run(run))).await {
            done.extend(result?);
        }
        store.finish_done(&done, self.ports.clock.now()).await?;
        Ok(handled)
    }

    /// Applies one key's entries in order, stopping at the first that must
    /// be retried later; returns those applied (the caller marks them DONE
    /// in one statement).
    async fn process_run(&self, run: Vec<InboxEntry>) -> booking::Result<Vec<Uuid>> {
        let mut done = Vec::with_capacity(run.len());
        for entry in run {
            let id = entry.id;
            match self.process(entry).await? {
                Outcome::Done => done.push(id),
                Outcome::Retry { .. } => break,
                Outcome::Wait | Outcome::Dead { .. } => {}
            }
        }
        Ok(done)
    }

    /// Applies one entry and records what became of it — except DONE, which
    /// the round records for all its entries at once.
    async fn process(&self, entry: InboxEntry) -> booking::Result<Outcome> {
        let attempts = entry.attempts + 1;
        let now = self.ports.clock.now();
        let outcome = match self.apply(&entry).await {
            Ok(Applied::Done) => Outcome::Done,
            Ok(Applied::NoSessionYet) => Outcome::Wait,
            Err(e @ (Error::Unavailable(_) | Error::Internal(_)))
                if attempts < self.max_attempts =>
            {
                Outcome::Retry {
                    at: now + backoff(attempts),
                    error: e.to_string(),
                }
            }
            Err(e) => Outcome::Dead {
                error: e.to_string(),
            },
        };
        match &outcome {
            Outcome::Retry { error, at } => tracing::warn!(webhook.id = %entry.id,
                attempts, retry_at = %at, error = %error, "webhook failed; will retry"),
            Outcome::Dead { error } => tracing::error!(webhook.id = %entry.id,
                attempts, error = %error, "webhook dead-lettered"),
            Outcome::Done | Outcome::Wait => {}
        }
        if outcome != Outcome::Done {
            // Parking is not a failed attempt.
            let counted = if outcome == Outcome::Wait {
                entry.attempts
            } else {
                attempts
            };
            self.ports
                .store
                .finish(entry.id, counted, &outcome, now)
                .await?;
        }
        let wake = match (&entry.report, &outcome) {
            (Report::SessionStart(r), Outcome::Done) => {
                Some(inbox::session_key(entry.vendor_id, &r.vendor_session_id))
            }
            // The start may have been applied between our lookup and the
            // parking: look again, or this entry would wait forever.
            (Report::MeterUpdate(_) | Report::SessionEnd(_), Outcome::Wait) => self
                .session(&entry)
                .await?
                .map(|_| entry.ordering_key.clone()),
            _ => None,
        };
        if let Some(key) = wake
            && self.ports.store.wake(&key, now).await? > 0
        {
            self.arrived.notify_one();
        }
        Ok(outcome)
    }

    async fn apply(&self, entry: &InboxEntry) -> booking::Result<Applied> {
        let bookings = &self.ports.bookings;
        match &entry.report {
            Report::ConnectorStatus(r) => {
                // A stale report (older than the status on record) is a no-op.
                bookings
                    .apply_connector_status(r.connector_id, r.status, r.at)
                    .await?;
            }
            Report::SessionStart(r) => {
                bookings
                    .session_started(SessionStart {
                        connector_id: r.connector_id,
                        transaction: transaction(entry.vendor_id, &r.vendor_session_id),
                        id_tag: r.id_tag.clone(),
                        reservation_id: None,
                        booking_id: r.booking_id,
                        started_at: r.started_at,
                        meter_start_wh: r.meter_start_wh,
                    })
                    .await?;
            }
            Report::MeterUpdate(r) => {
                let Some(session) = self.session(entry).await? else {
                    return Ok(Applied::NoSessionYet);
                };
                bookings
                    .meter_sample(session.charger_id, &session.transaction, r.meter_wh, r.at)
                    .await?;
            }
            Report::SessionEnd(r) => {
                let Some(session) = self.session(entry).await? else {
                    return Ok(Applied::NoSessionYet);
                };
                // A second end changes nothing: counted once.
                bookings
                    .session_ended(SessionStop {
                        charger_id: session.charger_id,
                        transaction: session.transaction,
                        ended_at: r.ended_at,
                        meter_stop_wh: r.meter_stop_wh,
                        energy_kwh: r.energy_kwh,
                        cost_amount: r.cost_amount,
                        reason: r.reason.clone(),
                    })
                    .await?;
            }
        }
        Ok(Applied::Done)
    }

    /// The session a meter update or end refers to, if it has started.
    async fn session(&self, entry: &InboxEntry) -> booking::Result<Option<ChargingSession>> {
        let vendor_session_id = match &entry.report {
            Report::MeterUpdate(r) => &r.vendor_session_id,
            Report::SessionEnd(r) => &r.vendor_session_id,
            _ => return Ok(None),
        };
        self.ports
            .store
            .vendor_session(&transaction_key(entry.vendor_id, vendor_session_id))
            .await
    }
}

/// A vendor session's transaction: vendors name sessions in their own
/// namespace, so the vendor's id is part of its key.
pub fn transaction(vendor_id: Uuid, vendor_session_id: &str) -> TransactionKey {
    TransactionKey::Vendor(transaction_key(vendor_id, vendor_session_id))
}

/// The stored key of a vendor session's transaction.
pub fn transaction_key(vendor_id: Uuid, vendor_session_id: &str) -> String {
    format!("{vendor_id}:{vendor_session_id}")
}

fn backoff(attempts: i32) -> TimeDelta {
    booking::backoff(attempts, BACKOFF_BASE, BACKOFF_CAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(1), TimeDelta::seconds(1));
        assert_eq!(backoff(2), TimeDelta::seconds(2));
        assert_eq!(backoff(5), TimeDelta::seconds(16));
        assert_eq!(backoff(30), BACKOFF_CAP);
    }

    #[test]
    fn vendors_sessions_do_not_collide() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert_ne!(transaction(a, "s1"), transaction(b, "s1"));
    }
}
