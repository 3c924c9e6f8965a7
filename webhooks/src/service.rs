//! `VendorWebhooks`: accepting signed webhooks into the inbox, and what an
//! operator does with vendors (create, rotate a secret, assign connectors)
//! and with the inbox (list, retry or discard the dead), and how the
//! inbox applier is doing.

use std::sync::Arc;

use booking::model::{Connector, Page};
use booking::service::BookingService;
use booking::{Clock, Error};
use chrono::TimeDelta;
use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

use crate::accept::{Commit, spawn_committer};
use crate::error::{Result, WebhookError};
use crate::health::{ApplierHealth, Rounds, STALL_AFTER};
use crate::inbox::{InboxRecord, InboxState, StoredReport};
use crate::lookups::Lookups;
use crate::store::WebhookStore;
use crate::vendor::{self, DEFAULT_ROTATION_OVERLAP, Vendor};

/// Longest a previous secret may stay valid after a rotation.
const MAX_ROTATION_OVERLAP: TimeDelta = TimeDelta::days(7);

/// What the webhooks need from the rest of evgate.
#[derive(Debug, Clone)]
pub struct WebhookPorts {
    /// Vendors, their connectors' assignment, and the inbox.
    pub store: Arc<dyn WebhookStore>,
    /// The booking core's stores, to look connectors and bookings up.
    pub stations: Arc<dyn booking::store::StationStore>,
    /// The booking ledger, to check the booking a session start names.
    pub ledger: Arc<dyn booking::store::BookingLedger>,
    /// The update path the CSMS uses too.
    pub bookings: BookingService,
    /// Where "now" comes from: signature windows, report times, backoff.
    pub clock: Arc<dyn Clock>,
}

/// Vendor webhooks: accepts them into the inbox, applies the inbox, and manages
/// vendors; cheap to clone.
#[derive(Debug, Clone)]
pub struct VendorWebhooks {
    pub(crate) ports: WebhookPorts,
    pub(crate) max_attempts: i32,
    /// Rung on every accepted entry, so the local worker starts at once.
    pub(crate) arrived: Arc<Notify>,
    /// Accepted entries go to the inbox through one committer, in batches.
    pub(crate) commits: mpsc::Sender<Commit>,
    /// Who holds the inbox lease, when this instance does.
    pub(crate) instance: Uuid,
    /// One round at a time in this process.
    pub(crate) round: Arc<tokio::sync::Mutex<()>>,
    pub(crate) lookups: Arc<Lookups>,
    /// What the last round came to, for readiness.
    pub(crate) rounds: Arc<Rounds>,
    /// Authenticated deliveries per vendor (`RATE_LIMIT_WEBHOOKS_PER_VENDOR`).
    pub(crate) per_vendor: Arc<booking::rate::Limiter<Uuid>>,
}

impl VendorWebhooks {
    /// `max_attempts`: transient failures tolerated before an entry is dead.
    /// Starts the inbox committer: call inside the Tokio runtime.
    pub fn new(ports: WebhookPorts, max_attempts: u32) -> Self {
        let commits = spawn_committer(ports.store.clone());
        let rounds = Arc::new(Rounds::new(ports.clock.now()));
        Self {
            ports,
            max_attempts: i32::try_from(max_attempts.max(1)).unwrap_or(i32::MAX),
            arrived: Arc::new(Notify::new()),
            commits,
            instance: Uuid::new_v4(),
            round: Arc::new(tokio::sync::Mutex::new(())),
            lookups: Arc::new(Lookups::default()),
            rounds,
            per_vendor: Arc::new(booking::rate::Limiter::new(booking::rate::Rate::off())),
        }
    }

    /// Limits each vendor to `rate` authenticated deliveries (checked after
    /// the signature, so nobody can spend a vendor's allowance for it).
    pub fn limit_per_vendor(mut self, rate: booking::rate::Rate) -> Self {
        self.per_vendor = Arc::new(booking::rate::Limiter::new(rate));
        self
    }

    /// Resolves when an entry was accepted since the last call.
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Creates a vendor with a fresh secret; the name is trimmed, 1 to 100
    /// characters, and unique.
    pub async fn create_vendor(&self, name: &str) -> Result<Vendor> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(WebhookError::validation(
                "name",
                "must be 1 to 100 characters",
            ));
        }
        let vendor = Vendor::new(name.to_owned(), self.ports.clock.now());
        self.ports.store.insert_vendor(&vendor).await?;
        self.lookups
            .remember_vendor(&vendor, self.ports.clock.now());
        tracing::info!(vendor.id = %vendor.id, vendor.name = %vendor.name, "vendor created");
        Ok(vendor)
    }

    /// Vendors, oldest first, and how many there are.
    pub async fn vendors(&self, page: Page) -> Result<(Vec<Vendor>, u64)> {
        Ok(self.ports.store.vendors(page).await?)
    }

    /// Issues a new secret; the old one keeps working for `overlap_seconds`
    /// (default a day, at most a week; 0 revokes it at once).
    pub async fn rotate_secret(&self, id: Uuid, overlap_seconds: Option<i64>) -> Result<Vendor> {
        let overlap = match overlap_seconds {
            None => DEFAULT_ROTATION_OVERLAP,
            Some(s) if (0..=MAX_ROTATION_OVERLAP.num_seconds()).contains(&s) => {
                TimeDelta::seconds(s)
            }
            Some(_) => {
                return Err(WebhookError::validation(
                    "previousSecretValidSeconds",
                    "must be between 0 and 604800 (a week)",
                ));
            }
        };
        let until = self.ports.clock.now() + overlap;
        let vendor = self
            .ports
            .store
            .rotate_vendor_secret(id, &vendor::new_secret(), until)
            .await?
            .ok_or_else(|| Error::not_found("vendor", id))?;
        self.lookups
            .remember_vendor(&vendor, self.ports.clock.now());
        tracing::info!(vendor.id = %id, previous_valid_until = %until, "vendor secret rotated");
        Ok(vendor)
    }

    /// Puts a connector under a vendor (`Some((vendor, its connector id))`),
    /// or back under OCPP (`None`).
    pub async fn assign_connector(
        &self,
        connector_id: Uuid,
        vendor: Option<(Uuid, &str)>,
    ) -> Result<Connector> {
        if let Some((vendor_id, vendor_connector_id)) = vendor {
            let len = vendor_connector_id.trim().chars().count();
            if len == 0 || len > 100 || len != vendor_connector_id.chars().count() {
                return Err(WebhookError::validation(
                    "vendorConnectorId",
                    "must be 1 to 100 characters without surrounding spaces",
                ));
            }
            if self.ports.store.vendor(vendor_id).await?.is_none() {
                return Err(Error::not_found("vendor", vendor_id).into());
            }
        }
        let connector = self
            .ports
            .store
            .assign_connector(connector_id, vendor)
            .await?
            .ok_or_else(|| Error::not_found("connector", connector_id))?;
        self.lookups
            .remember_connector(&connector, self.ports.clock.now());
        self.ports
            .bookings
            .invalidate_station(connector.station_id)
            .await;
        Ok(connector)
    }

    /// Inbox entries, newest first, optionally in one state, and how many
    /// match; an entry whose stored report cannot be read is among them
    /// (see [`InboxRecord`]).
    pub async fn entries(
        &self,
        state: Option<InboxState>,
        page: Page,
    ) -> Result<(Vec<InboxRecord>, u64)> {
        Ok(self.ports.store.inbox_entries(state, page).await?)
    }

    /// One inbox entry; `NotFound` when there is none.
    pub async fn entry(&self, id: Uuid) -> Result<InboxRecord> {
        Ok(self
            .ports
            .store
            .inbox_entry(id)
            .await?
            .ok_or_else(|| Error::not_found("webhook", id))?)
    }

    /// Requeues a dead entry: it is applied again, in its place in the
    /// order of its connector or session. One whose stored report cannot
    /// be read is refused ([`WebhookError::Unreadable`]): requeued, it
    /// would only be dead-lettered again.
    pub async fn retry(&self, id: Uuid) -> Result<InboxRecord> {
        let entry = self.dead(id, "retried").await?;
        if let StoredReport::Unreadable { error, .. } = &entry.report {
            return Err(WebhookError::Unreadable {
                id,
                reason: error.clone(),
            });
        }
        let now = self.ports.clock.now();
        match self.ports.store.requeue(id, now).await? {
            Some(entry) => {
                tracing::info!(webhook.id = %id, "dead webhook requeued");
                self.arrived.notify_one();
                Ok(entry)
            }
            // Requeued or discarded meanwhile.
            None => Err(self.not_dead(id, "retried").await),
        }
    }

    /// Removes a dead entry from the inbox for good — one that can never
    /// apply, such as a report an earlier build stored and this one cannot
    /// read — and returns it as it was, for the audit log.
    pub async fn discard(&self, id: Uuid) -> Result<InboxRecord> {
        self.dead(id, "discarded").await?;
        match self.ports.store.discard(id).await? {
            Some(entry) => {
                tracing::warn!(webhook.id = %id, "dead webhook discarded");
                Ok(entry)
            }
            None => Err(self.not_dead(id, "discarded").await),
        }
    }

    /// The entry, if it is DEAD; `NotFound` or `InvalidState` otherwise.
    async fn dead(&self, id: Uuid, what: &str) -> Result<InboxRecord> {
        let entry = self.entry(id).await?;
        if entry.state != InboxState::Dead {
            return Err(only_dead(what, entry.state));
        }
        Ok(entry)
    }

    /// Why an entry that was DEAD a moment ago is not any more.
    async fn not_dead(&self, id: Uuid, what: &str) -> WebhookError {
        match self.entry(id).await {
            Ok(entry) => only_dead(what, entry.state),
            Err(e) => e,
        }
    }

    /// How this instance's applier is doing: failing when its last round
    /// failed; stalled when no round completed for [`STALL_AFTER`] although
    /// an entry has been due that long (only then is the store asked).
    pub async fn applier_health(&self) -> booking::Result<ApplierHealth> {
        if let Some(failing) = self.rounds.failing() {
            return Ok(failing);
        }
        let now = self.ports.clock.now();
        let (last_round, without_since) = self.rounds.last_completed();
        if now - without_since < STALL_AFTER {
            return Ok(ApplierHealth::Ok);
        }
        Ok(match self.ports.store.oldest_pending().await? {
            Some(due_since) if now - due_since >= STALL_AFTER => ApplierHealth::Stalled {
                last_round,
                due_since,
            },
            _ => ApplierHealth::Ok,
        })
    }
}

fn only_dead(what: &str, state: InboxState) -> WebhookError {
    Error::InvalidState(format!(
        "only DEAD entries can be {what}; this one is {}",
        state.as_str()
    ))
    .into()
}
