//! A connector: the plug a driver books and charges at.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ConnectorStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct Connector {
    pub id: Uuid,
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
    pub connector_type: String,
    pub power_kw: f64,
    pub status: ConnectorStatus,
    pub status_updated_at: DateTime<Utc>,
    pub current_booking_id: Option<Uuid>,
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
    pub id: Uuid,
    pub station_id: Uuid,
    pub charger_id: Uuid,
    pub evse_id: i32,
    pub ocpp_connector_id: i32,
    pub connector_number: Option<String>,
    pub connector_type: String,
    pub power_kw: f64,
    pub created_at: DateTime<Utc>,
}
