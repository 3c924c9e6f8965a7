//! What the operator console reads across the network: one overview and
//! searches an operator types into.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use uuid::Uuid;

use crate::model::{
    BookingStatus, Charger, ChargingSession, Connector, ConnectorStatus, OcppVersion, Page,
};

/// The network at a glance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkOverview {
    /// Chargers registered.
    pub chargers: u64,
    /// Chargers connected (to any instance), by the OCPP version they speak.
    pub online_by_version: Vec<(OcppVersion, u64)>,
    /// Connectors by status; a status no connector has is left out.
    pub connectors_by_status: Vec<(ConnectorStatus, u64)>,
    /// Charging sessions not yet ended.
    pub sessions_active: u64,
    /// Bookings starting in the window asked about, by status (holds are
    /// PENDING).
    pub bookings_by_status: Vec<(BookingStatus, u64)>,
}

/// Reads for the operator console.
#[async_trait]
pub trait OperatorViews: Send + Sync + std::fmt::Debug + 'static {
    /// The overview, with the bookings that start in `[from, to)`.
    async fn network_overview(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<NetworkOverview>;
    /// Chargers by identity, only those whose identity contains `search`
    /// when given, and how many match.
    async fn find_chargers(&self, search: Option<&str>, page: Page) -> Result<(Vec<Charger>, u64)>;
    /// A page of a station's connectors, in connector-number order, and how
    /// many it has (a station may have thousands).
    async fn station_connectors(
        &self,
        station_id: Uuid,
        page: Page,
    ) -> Result<(Vec<Connector>, u64)>;
    /// Charging sessions on these connectors that overlap `[from, to)` (an
    /// open one runs until now), by start.
    async fn sessions_between(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ChargingSession>>;
}
