//! A connector: the plug a driver books and charges at.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ConnectorStatus;

/// A bookable plug: one connector of a charger at a station, with its live
/// status.
#[derive(Debug, Clone, PartialEq)]
pub struct Connector {
    /// evgate's id for it: what apps book and webhooks name.
    pub id: Uuid,
    /// The station it belongs to (its charger's).
    pub station_id: Uuid,
    /// The charger this connector is part of.
    pub charger_id: Uuid,
    /// OCPP 2.0.1 EVSE id; equals `ocpp_connector_id` on 1.6 chargers.
    pub evse_id: i32,
    /// The connector's number on its charger (1.6 `connectorId`, 2.0.1
    /// `connectorId` within the EVSE).
    pub ocpp_connector_id: i32,
    /// What drivers see on the station ("1", "2", …): the seed's field.
    pub connector_number: String,
    /// Plug type, as the operator provisioned it (at most 32 characters).
    pub connector_type: String,
    /// Rated power in kW (greater than 0, at most 1000).
    pub power_kw: f64,
    /// Live status, from the latest report of its charger or vendor.
    pub status: ConnectorStatus,
    /// The time of the report behind `status` (UTC); an older report changes
    /// nothing.
    pub status_updated_at: DateTime<Utc>,
    /// A column from the seed's schema; nothing in evgate sets it, so it is
    /// always `None` today.
    pub current_booking_id: Option<Uuid>,
    /// The vendor's own id for it, unique per vendor; webhooks may name the
    /// connector by it.
    pub vendor_connector_id: Option<String>,
    /// The vendor cloud that reports for this connector through webhooks;
    /// `None` for a connector evgate talks to over OCPP. Evgate cannot send
    /// a vendor-managed charger ReserveNow, so its bookings are enforced in
    /// evgate only.
    pub vendor_id: Option<Uuid>,
    /// While OFFLINE: the status reported before the charger went away.
    pub last_known_status: Option<ConnectorStatus>,
}

/// A connector about to be created. The store numbers it when
/// `connector_number` is `None` (the station's connector count plus one) and
/// starts it OFFLINE until its charger reports a status.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConnector {
    /// evgate's id for the new connector.
    pub id: Uuid,
    /// The station it belongs to.
    pub station_id: Uuid,
    /// The charger it is part of, at the same station.
    pub charger_id: Uuid,
    /// OCPP 2.0.1 EVSE id; equals `ocpp_connector_id` on 1.6 chargers.
    pub evse_id: i32,
    /// Its number on the charger (1.6) or within the EVSE (2.0.1).
    pub ocpp_connector_id: i32,
    /// What drivers see; `None` lets the store number it.
    pub connector_number: Option<String>,
    /// Plug type (at most 32 characters).
    pub connector_type: String,
    /// Rated power in kW.
    pub power_kw: f64,
    /// When it was provisioned (UTC).
    pub created_at: DateTime<Utc>,
}
