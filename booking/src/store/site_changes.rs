//! Changing and removing what an operator set up: stations, chargers and
//! connectors. History is never removed: a thing that bookings or charging
//! sessions refer to stays.

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::Result;
use crate::model::{Connector, Station};

/// One thing of a site, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteThing {
    /// A station, with its chargers and connectors.
    Station(Uuid),
    /// A charger, with its connectors.
    Charger(Uuid),
    /// One connector.
    Connector(Uuid),
}

/// Edits and removals of stations, chargers and connectors.
#[async_trait]
pub trait SiteChanges: Send + Sync + std::fmt::Debug + 'static {
    /// Replaces a station's name, place and address (its id and creation
    /// time stay); `None` when there is no such station.
    async fn update_station(&self, station: &Station) -> Result<Option<Station>>;
    /// Replaces a connector's label, type and power; `None` when there is
    /// no such connector. A label another connector of the station has is
    /// a `Conflict`.
    async fn update_connector(
        &self,
        id: Uuid,
        connector_number: &str,
        connector_type: &str,
        power_kw: f64,
    ) -> Result<Option<Connector>>;
    /// Removes the thing with everything under it, in one transaction:
    /// `NotFound` when it does not exist; `Conflict` when a CONFIRMED or
    /// ACTIVE booking is on it, or any booking or charging session ever
    /// referred to it (the history stays).
    async fn delete_site_thing(&self, thing: SiteThing) -> Result<Removed>;
}

/// What a removal took with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// The station it was at (or was).
    pub station_id: Uuid,
    /// The chargers removed (a station's, or the one), by identity: any
    /// still connected should be let go.
    pub charge_point_ids: Vec<String>,
}
