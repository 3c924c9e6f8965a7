//! The store port: everything the booking core persists. Two adapters
//! implement it (SQLite embedded, PostgreSQL for clusters) and one test suite
//! runs against both.
//!
//! Adapters keep two invariants themselves, so no caller can forget them:
//! no two CONFIRMED/ACTIVE bookings overlap on one connector
//! ([`Error::Overlap`]), and timestamps keep millisecond precision.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::AuditEntry;
use crate::error::Result;
use crate::geo::BoundingBox;
use crate::model::{
    Booking, BookingStatus, Charger, ChargerAdmission, ChargingSession, Connector, ConnectorStatus,
    IdTag, NewConnector, OcppVersion, Page, RefundRequest, SecurityProfile, SessionStatus, Station,
    TransactionKey, UnassignedCharger,
};

/// What a charger tells about itself at boot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BootInfo {
    pub version: Option<OcppVersion>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub firmware_version: Option<String>,
    pub serial_number: Option<String>,
}

/// The result of one refund delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum RefundAttempt {
    Delivered,
    Retry { at: DateTime<Utc>, error: String },
    GiveUp { error: String },
}

/// How a session ended, as the store records it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEnd {
    pub session_id: Uuid,
    pub ended_at: DateTime<Utc>,
    pub meter_stop_wh: Option<f64>,
    pub energy_kwh: Option<f64>,
    pub cost_amount: Option<f64>,
    pub status: SessionStatus,
    pub stop_reason: Option<String>,
}

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<()>;

    // Stations
    async fn insert_station(&self, station: &Station) -> Result<()>;
    async fn station(&self, id: Uuid) -> Result<Option<Station>>;
    /// Stations ordered by creation, and how many there are in all.
    async fn stations(&self, page: Page) -> Result<(Vec<Station>, u64)>;
    /// Stations inside a latitude/longitude box (a pre-filter for distance).
    async fn stations_in_box(&self, bbox: BoundingBox) -> Result<Vec<Station>>;
    /// The connectors of all these stations, in one query, ordered by station
    /// and connector number.
    async fn connectors_of_stations(&self, station_ids: &[Uuid]) -> Result<Vec<Connector>>;

    // Chargers and connectors
    /// Fails with `Conflict` when the charge point identity is taken.
    async fn insert_charger(&self, charger: &Charger) -> Result<()>;
    async fn charger_by_identity(&self, charge_point_id: &str) -> Result<Option<Charger>>;
    /// The operator's admission decision (`None`: the default policy);
    /// `None` back for an unknown charger.
    async fn set_charger_admission(
        &self,
        charge_point_id: &str,
        admission: Option<ChargerAdmission>,
    ) -> Result<Option<Charger>>;
    async fn charger(&self, id: Uuid) -> Result<Option<Charger>>;
    async fn chargers(&self, page: Page) -> Result<(Vec<Charger>, u64)>;
    /// The identities of chargers connected to some instance now.
    async fn online_charger_identities(&self) -> Result<Vec<String>>;
    /// What a BootNotification says about the charger.
    async fn record_boot(&self, charger_id: Uuid, boot: &BootInfo, at: DateTime<Utc>)
    -> Result<()>;
    /// Online or not, the version it speaks, and when it was last heard.
    async fn set_charger_presence(
        &self,
        charger_id: Uuid,
        online: bool,
        version: Option<OcppVersion>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// The connector an OCPP message names: EVSE and connector id on a charger.
    async fn connector_by_ocpp(
        &self,
        charger_id: Uuid,
        evse_id: i32,
        connector_id: i32,
    ) -> Result<Option<Connector>>;
    /// The next OCPP 1.6 transaction id for this charger (positive i32).
    async fn next_transaction_id(&self, charger_id: Uuid) -> Result<i32>;
    /// Whether a CONFIRMED or ACTIVE booking carries this id tag.
    async fn id_tag_has_live_booking(&self, id_tag: &str) -> Result<bool>;
    /// Inserts the connector and returns it as stored. Fails with `Conflict`
    /// when the charger already has that EVSE/connector, or the station that
    /// connector number.
    async fn insert_connector(&self, connector: &NewConnector) -> Result<Connector>;
    async fn connector(&self, id: Uuid) -> Result<Option<Connector>>;
    /// Every connector of a charger that is not OFFLINE becomes OFFLINE as of
    /// `at`, keeping its status as the last known one. Returns those changed.
    async fn mark_charger_offline(
        &self,
        charger_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Vec<Connector>>;
    async fn connectors_of_charger(&self, charger_id: Uuid) -> Result<Vec<Connector>>;
    /// Records a connector's live status as of `at`, unless a newer one is
    /// already recorded (reports can arrive out of order). Returns the
    /// connector when the status was written.
    async fn set_connector_status(
        &self,
        id: Uuid,
        status: ConnectorStatus,
        at: DateTime<Utc>,
    ) -> Result<Option<Connector>>;
    /// The next OCPP reservation id for this charger: positive, fits in an
    /// i32, unique per charger until the sequence wraps after 2^31 - 1.
    async fn next_reservation_id(&self, charger_id: Uuid) -> Result<i32>;

    // Bookings
    /// Fails with `Overlap` when a CONFIRMED/ACTIVE booking would overlap
    /// another on the same connector, `Conflict` on a reused hold token.
    async fn insert_booking(&self, booking: &Booking) -> Result<()>;
    async fn booking(&self, id: Uuid) -> Result<Option<Booking>>;
    async fn booking_by_hold_token(&self, token: &str) -> Result<Option<Booking>>;
    /// A user's bookings (everyone's with `None`), newest first, optionally
    /// of one status, and how many match in all.
    async fn bookings_of(
        &self,
        user_id: Option<i64>,
        status: Option<BookingStatus>,
        page: Page,
    ) -> Result<(Vec<Booking>, u64)>;
    /// Moves a booking to `to` only if its status is one of `from`: the
    /// conditional write that makes each transition happen once, whichever
    /// worker or instance tries it. `None` when the booking is unknown or
    /// was not in `from`; `Overlap` when `to` would collide.
    async fn transition_booking(
        &self,
        id: Uuid,
        from: &[BookingStatus],
        to: BookingStatus,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Booking>>;
    /// Gives a CONFIRMED booking without one the reservation id it will be
    /// reserved under on the charger. `false` when another worker got there
    /// first (or the booking is no longer CONFIRMED).
    async fn claim_reservation(&self, booking_id: Uuid, reservation_id: i32) -> Result<bool>;
    /// Records whether the charger holds the booking's reservation.
    async fn set_reserved_on_charger(
        &self,
        booking_id: Uuid,
        reserved: bool,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// CONFIRMED bookings with no reservation id yet that start at or before
    /// `starts_by` and have not ended by `now`, soonest first.
    async fn bookings_due_for_reservation(
        &self,
        starts_by: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>>;
    /// The booking reserved on this charger under `reservation_id`.
    async fn booking_by_reservation(
        &self,
        charger_id: Uuid,
        reservation_id: i32,
    ) -> Result<Option<Booking>>;
    /// The CONFIRMED booking on this connector for this id tag whose start
    /// lies in `[earliest_start, latest_start]`.
    async fn confirmed_booking_for_id_tag(
        &self,
        connector_id: Uuid,
        id_tag: &str,
        earliest_start: DateTime<Utc>,
        latest_start: DateTime<Utc>,
    ) -> Result<Option<Booking>>;
    /// CONFIRMED bookings that started at or before `started_by`, oldest first.
    async fn confirmed_bookings_started_by(
        &self,
        started_by: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>>;
    /// Bookings with one of `statuses` on these connectors that intersect
    /// `[from, to)`, ordered by start.
    async fn bookings_in_window(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        statuses: &[BookingStatus],
    ) -> Result<Vec<Booking>>;

    // Charging sessions
    /// Fails with `Conflict` when the charger already has a session with this
    /// transaction key.
    async fn insert_session(&self, session: &ChargingSession) -> Result<()>;
    /// Records a live meter reading (Wh) on an open session: its energy so
    /// far. `None` when no open session has this key.
    async fn record_meter(
        &self,
        charger_id: Uuid,
        key: &TransactionKey,
        meter_wh: f64,
        at: DateTime<Utc>,
    ) -> Result<Option<ChargingSession>>;
    /// The session still open on a connector, if any.
    async fn open_session_on(&self, connector_id: Uuid) -> Result<Option<ChargingSession>>;
    /// Ends a session that has not ended yet; `None` when it already has
    /// (a retried end is counted once) or is unknown.
    async fn end_session(&self, end: &SessionEnd) -> Result<Option<ChargingSession>>;
    /// The session that started on this connector at `started_at` with this
    /// meter reading (how a replayed OCPP 1.6 StartTransaction is recognised).
    async fn session_started_at(
        &self,
        connector_id: Uuid,
        started_at: DateTime<Utc>,
        meter_start_wh: f64,
    ) -> Result<Option<ChargingSession>>;
    async fn session_by_transaction(
        &self,
        charger_id: Uuid,
        key: &TransactionKey,
    ) -> Result<Option<ChargingSession>>;

    // Chargers nobody registered (OCPP_AUTO_REGISTER)
    /// Records (or refreshes) an unknown identity that connected, with what
    /// it said at boot (fields it did not say keep their earlier values).
    async fn record_unassigned_charger(
        &self,
        charge_point_id: &str,
        boot: &BootInfo,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Most recently seen first, and how many there are.
    async fn unassigned_chargers(&self, page: Page) -> Result<(Vec<UnassignedCharger>, u64)>;
    /// The identity was registered: no longer unassigned. `true` when it was.
    async fn forget_unassigned_charger(&self, charge_point_id: &str) -> Result<bool>;

    // Credentials
    /// Makes `(security_profile, password_hash)` the charger's credentials,
    /// keeping the old pair as its previous credentials until
    /// `previous_until`, and drops any pending rotation. `None` when no such
    /// charger exists.
    async fn rotate_charger_credentials(
        &self,
        charger_id: Uuid,
        security_profile: SecurityProfile,
        password_hash: Option<&str>,
        previous_until: DateTime<Utc>,
    ) -> Result<Option<Charger>>;
    /// The charger proved it holds the new credentials: the old ones go.
    async fn forget_previous_credentials(&self, charger_id: Uuid) -> Result<()>;
    /// Stores (or with `None` drops) a sealed rotation waiting for the
    /// charger's next connection. `None` when no such charger exists.
    async fn set_pending_credentials(
        &self,
        charge_point_id: &str,
        sealed: Option<&str>,
    ) -> Result<Option<Charger>>;

    // Audit log
    async fn record_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Newest first, optionally only those about one target, and how many
    /// there are.
    async fn audit_entries(
        &self,
        page: Page,
        target: Option<&str>,
    ) -> Result<(Vec<AuditEntry>, u64)>;

    // Id tags
    async fn upsert_id_tag(&self, tag: &IdTag, now: DateTime<Utc>) -> Result<()>;
    async fn id_tag(&self, id_tag: &str) -> Result<Option<IdTag>>;
    /// Fails with `Conflict` when the tag is registered already.
    async fn insert_id_tag(&self, tag: &IdTag, now: DateTime<Utc>) -> Result<()>;
    /// Registered id tags by name, and how many there are.
    async fn id_tags(&self, page: Page) -> Result<(Vec<IdTag>, u64)>;

    // Refund outbox
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
    /// Records a delivery attempt: `next_attempt_at` `None` means delivered
    /// (SENT); otherwise PENDING again from then, or FAILED when `give_up`.
    async fn record_refund_attempt(
        &self,
        id: Uuid,
        attempts: i32,
        outcome: RefundAttempt,
    ) -> Result<()>;
}
