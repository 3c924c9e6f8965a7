//! Stations and their connectors, with the connectors' live status.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::geo::BoundingBox;
use crate::model::{Booking, Connector, ConnectorStatus, NewConnector, Page, Station};

/// With a Faulted or Unavailable report: the CONFIRMED bookings on the
/// connector that the charger held reserved and that have not ended by
/// `now` (starting before `until`) lose their hardware reservation, in the
/// same transaction as the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationVoid {
    /// Bookings that ended by this time keep their reservation (UTC).
    pub now: DateTime<Utc>,
    /// Only bookings starting before this lose theirs (UTC).
    pub until: DateTime<Utc>,
}

/// A status that was written, and the bookings whose hardware reservation
/// it voided.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    /// The connector with its new status.
    pub connector: Connector,
    /// Bookings that lost their hardware reservation; their owners are told.
    pub voided: Vec<Booking>,
}

/// Stations and their connectors, with the connectors' live status.
#[async_trait]
pub trait StationStore: Send + Sync + std::fmt::Debug + 'static {
    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<()>;
    /// Stores a new station.
    async fn insert_station(&self, station: &Station) -> Result<()>;
    /// A station by id.
    async fn station(&self, id: Uuid) -> Result<Option<Station>>;
    /// Stations ordered by creation, and how many there are in all.
    async fn stations(&self, page: Page) -> Result<(Vec<Station>, u64)>;
    /// Stations inside a latitude/longitude box (a pre-filter for distance).
    async fn stations_in_box(&self, bbox: BoundingBox) -> Result<Vec<Station>>;
    /// The connectors of all these stations, in one query, ordered by station
    /// and connector number.
    async fn connectors_of_stations(&self, station_ids: &[Uuid]) -> Result<Vec<Connector>>;
    /// Inserts the connector and returns it as stored. Fails with `Conflict`
    /// when the charger already has that EVSE/connector, or the station that
    /// connector number.
    async fn insert_connector(&self, connector: &NewConnector) -> Result<Connector>;
    /// A connector by id.
    async fn connector(&self, id: Uuid) -> Result<Option<Connector>>;
    /// The connector an OCPP message names: EVSE and connector id on a charger.
    async fn connector_by_ocpp(
        &self,
        charger_id: Uuid,
        evse_id: i32,
        connector_id: i32,
    ) -> Result<Option<Connector>>;
    /// A charger's connectors, by EVSE and connector id.
    async fn connectors_of_charger(&self, charger_id: Uuid) -> Result<Vec<Connector>>;
    /// Records a connector's live status as of `at`, unless a newer one is
    /// already recorded (reports can arrive out of order), and with `void`
    /// drops the hardware reservations the status ends — all in one
    /// transaction. `None` when the status was not written (nothing was).
    async fn set_connector_status(
        &self,
        id: Uuid,
        status: ConnectorStatus,
        at: DateTime<Utc>,
        void: Option<ReservationVoid>,
    ) -> Result<Option<StatusChange>>;
    /// Every connector of a charger that is not OFFLINE becomes OFFLINE as of
    /// `at`, keeping its status as the last known one. Returns those changed.
    async fn mark_charger_offline(
        &self,
        charger_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Vec<Connector>>;
}
