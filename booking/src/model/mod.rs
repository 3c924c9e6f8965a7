//! The domain's records, as the booking core and its store see them.
//!
//! Status vocabularies are closed enums with one textual form each (the
//! seed's, e.g. `NO_SHOW`), used in JSON and in the database alike.

mod charger;
mod connector;
mod records;
mod station;
mod status;

pub use charger::{
    Charger, ChargerAdmission, OcppVersion, PreviousCredentials, SecurityProfile, UnassignedCharger,
};
pub use connector::{Connector, NewConnector};
pub use records::{Booking, ChargingSession, IdTag, RefundRequest, TransactionKey};
pub use station::Station;
pub use status::{BookingStatus, ConnectorStatus, IdTagStatus, RefundState, SessionStatus};

/// A page of a listing: `limit` rows from `offset`, and the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub offset: u64,
}
