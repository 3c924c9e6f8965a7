//! The domain's records, as the booking core and its store see them.
//!
//! Status vocabularies are closed enums with one textual form each (the
//! seed's, e.g. `NO_SHOW`), used in JSON and in the database alike.

mod charger;
mod connector;
mod display;
mod local_list;
mod maintenance;
mod records;
mod security;
mod smart_charging;
mod station;
mod status;

pub use charger::{
    Charger, ChargerAdmission, OcppVersion, PreviousCredentials, SecurityProfile, UnassignedCharger,
};
pub use connector::{Connector, NewConnector};
pub use display::{DisplayMessage, DisplayOrigin};
pub use local_list::{ListChange, ListEntry, ListSync, ListUpdate, LocalList};
pub use maintenance::{MaintenanceKind, MaintenanceRequest, MaintenanceStatus};
pub use records::{Booking, ChargingSession, IdTag, RefundRequest, TransactionKey};
pub use security::{IssuedCertificate, SecurityEvent};
pub use smart_charging::{
    ChargingProfile, ExternalChargingLimit, ProfileFilter, ProfileOrigin, ProfilePurpose,
    StationPowerLimit,
};
pub use station::Station;

/// The largest meter reading evgate records, in Wh (a terawatt-hour: no
/// meter gets there). Anything above, or not a finite number, is refused
/// at the edge: scaled or summed it could overflow to infinity, which the
/// stores cannot keep.
pub const MAX_ENERGY_WH: f64 = 1.0e12;
pub use status::{BookingStatus, ConnectorStatus, IdTagStatus, RefundState, SessionStatus};

/// A page of a listing: `limit` rows from `offset`, and the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to return at most ([`crate::catalog::page`] allows 1 to 200).
    pub limit: u32,
    /// Rows to skip first.
    pub offset: u64,
}
