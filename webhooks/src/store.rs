//! The webhooks' storage port. The store crate implements it next to the
//! booking core's store, on the same database: SQL written once for SQLite
//! and PostgreSQL.

use async_trait::async_trait;
use booking::Result;
use booking::model::{ChargingSession, Connector, Page};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::inbox::{InboxEntry, InboxRecord, InboxState, Outcome};
use crate::vendor::Vendor;

/// Where vendors and the inbox persist.
#[async_trait]
pub trait WebhookStore: Send + Sync + std::fmt::Debug + 'static {
    /// `Conflict` when the name is taken.
    async fn insert_vendor(&self, vendor: &Vendor) -> Result<()>;
    /// A vendor by id.
    async fn vendor(&self, id: Uuid) -> Result<Option<Vendor>>;
    /// Vendors, oldest first, and how many there are.
    async fn vendors(&self, page: Page) -> Result<(Vec<Vendor>, u64)>;
    /// The current secret becomes the previous one, valid until
    /// `previous_valid_until`; `None` for an unknown vendor.
    async fn rotate_vendor_secret(
        &self,
        id: Uuid,
        new_secret: &str,
        previous_valid_until: DateTime<Utc>,
    ) -> Result<Option<Vendor>>;

    /// Hands a connector to a vendor (or back to OCPP with `None`).
    /// `Conflict` when the vendor already uses that `vendor_connector_id`.
    async fn assign_connector(
        &self,
        connector_id: Uuid,
        vendor: Option<(Uuid, &str)>,
    ) -> Result<Option<Connector>>;
    /// The connector a vendor knows by its own id.
    async fn vendor_connector(
        &self,
        vendor_id: Uuid,
        vendor_connector_id: &str,
    ) -> Result<Option<Connector>>;
    /// The session a vendor started, by its transaction key.
    async fn vendor_session(&self, transaction_key: &str) -> Result<Option<ChargingSession>>;

    /// Stores new entries in one transaction. An entry whose idempotency
    /// key the vendor already used, or whose signature an earlier entry
    /// carries (a replay), is not written: the first entry comes back
    /// instead (`false`). Results are in the order given.
    async fn enqueue_many(&self, entries: &[InboxEntry]) -> Result<Vec<(InboxEntry, bool)>>;
    /// Takes or renews the lease `name` for `owner` until `until`; `false`
    /// while another owner's lease runs.
    async fn lease(
        &self,
        name: &str,
        owner: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;
    /// The oldest PENDING entries, in arrival order.
    async fn pending(&self, limit: u32) -> Result<Vec<InboxEntry>>;
    /// Marks entries applied (each one attempt more), in one statement.
    async fn finish_done(&self, ids: &[Uuid], now: DateTime<Utc>) -> Result<()>;
    /// Records one attempt's outcome: DONE, PENDING again at a later time,
    /// WAITING, or DEAD.
    async fn finish(
        &self,
        id: Uuid,
        attempts: i32,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Makes the parked entries of an ordering key due now.
    async fn wake(&self, ordering_key: &str, now: DateTime<Utc>) -> Result<u64>;
    /// When the longest-due PENDING entry became due (its
    /// `next_attempt_at`); `None` when nothing is pending. Readiness asks
    /// this when the applier has not completed a round for a while.
    async fn oldest_pending(&self) -> Result<Option<DateTime<Utc>>>;

    // The admin view: rows as operators see them, a report this build
    // cannot read included (see `InboxRecord`).

    /// An entry by id.
    async fn inbox_entry(&self, id: Uuid) -> Result<Option<InboxRecord>>;
    /// Entries, newest first, optionally in one state, and how many match.
    async fn inbox_entries(
        &self,
        state: Option<InboxState>,
        page: Page,
    ) -> Result<(Vec<InboxRecord>, u64)>;
    /// A DEAD entry becomes PENDING again with its attempts reset; `None`
    /// when the entry is unknown or not dead.
    async fn requeue(&self, id: Uuid, now: DateTime<Utc>) -> Result<Option<InboxRecord>>;
    /// Removes a DEAD entry and returns it as it was; `None` when the entry
    /// is unknown or not dead.
    async fn discard(&self, id: Uuid) -> Result<Option<InboxRecord>>;
}
