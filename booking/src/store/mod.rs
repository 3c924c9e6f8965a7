//! The storage ports: what the booking core persists, split by aggregate so
//! each service holds only the ports it calls. Two adapters implement every
//! one of them (the `evgate-store` crate: SQLite embedded, PostgreSQL for
//! clusters) and one test suite runs against both.
//!
//! Adapters keep two invariants themselves, so no caller can forget them:
//! no two CONFIRMED/ACTIVE bookings overlap on one connector
//! ([`crate::Error::Overlap`]), and timestamps keep millisecond precision.
//! A method that writes several rows commits all of them or none.

mod audit;
mod bookings;
mod chargers;
mod displays;
mod id_tags;
mod local_lists;
mod maintenance;
mod operators;
mod overview;
mod refunds;
mod security;
mod sessions;
mod site_changes;
mod smart_charging;
mod stations;
mod tallies;
mod tariffs;

pub use audit::AuditLog;
pub use bookings::{BookingLedger, RefundDraft};
pub use chargers::{
    BootFollowUps, BootInfo, ChargerCredentials, ChargerPresence, ChargerRegistry, PresenceUpdate,
    UnassignedChargers,
};
pub use displays::DisplayMessages;
pub use id_tags::IdTagStore;
pub use local_lists::LocalLists;
pub use maintenance::{MAINTENANCE_HISTORY, MaintenanceLog};
pub use operators::OperatorAccounts;
pub use overview::{NetworkOverview, OperatorViews};
pub use refunds::{RefundAttempt, RefundQueue};
pub use security::SecurityLog;
pub use sessions::{SessionEnd, SessionEnded, SessionLog, SessionStarted};
pub use site_changes::{Removed, SiteChanges, SiteThing};
pub use smart_charging::SmartChargingStore;
pub use stations::{ReservationVoid, StationStore, StatusChange};
pub use tallies::Tallies;
pub use tariffs::TariffStore;

/// Every port at once: what the wiring opens and hands out piece by piece
/// (an `Arc<dyn Store>` coerces to any one port). It adds no methods.
pub trait Store:
    StationStore
    + ChargerRegistry
    + ChargerPresence
    + ChargerCredentials
    + UnassignedChargers
    + BookingLedger
    + SessionLog
    + IdTagStore
    + LocalLists
    + DisplayMessages
    + MaintenanceLog
    + AuditLog
    + RefundQueue
    + Tallies
    + TariffStore
    + SecurityLog
    + SmartChargingStore
{
}

impl<T> Store for T where
    T: StationStore
        + ChargerRegistry
        + ChargerPresence
        + ChargerCredentials
        + UnassignedChargers
        + BookingLedger
        + SessionLog
        + IdTagStore
        + LocalLists
        + DisplayMessages
        + MaintenanceLog
        + AuditLog
        + RefundQueue
        + Tallies
        + TariffStore
        + SecurityLog
        + SmartChargingStore
{
}
