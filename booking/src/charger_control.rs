//! The charger-control port: how the booking core asks a charger to hold or
//! free a connector. The CSMS implements it over OCPP (ReserveNow and
//! CancelReservation in either version); the booking core only sees the
//! typed outcome, which is the commit point — not a later StatusNotification.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Reserve one connector of a charger for an id tag until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    /// The charger's OCPP identity: picks the connection the request goes out
    /// on.
    pub charge_point_id: String,
    /// 2.0.1 `evseId`; 1.6 chargers use `connector_id`.
    pub evse_id: i32,
    /// The connector's OCPP number: 1.6 `connectorId`, or its number within the
    /// EVSE on 2.0.1.
    pub connector_id: i32,
    /// The connector's plug type, as provisioned.
    pub connector_type: String,
    /// OCPP `reservationId`, unique per charger; a later CancelReservation
    /// names it.
    pub reservation_id: i32,
    /// The booking's id tag: the only one the charger lets charge on the
    /// reserved connector.
    pub id_tag: String,
    /// When the charger may drop the reservation: the slot's start plus the
    /// no-show grace (UTC).
    pub expires_at: DateTime<Utc>,
    /// The booked slot (UTC), for what the charger may show drivers;
    /// `None` when relayed by an instance of an earlier build.
    pub slot: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Why a charger did not take (or drop) a reservation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The charger answered Occupied: the connector is in use or reserved
    /// already.
    #[error("the connector is occupied")]
    Occupied,
    /// The charger answered Faulted: the connector reports a fault.
    #[error("the connector is faulted")]
    Faulted,
    /// The charger answered Unavailable: the connector is out of service.
    #[error("the connector is unavailable")]
    Unavailable,
    /// The charger answered Rejected (or something evgate does not know), e.g.
    /// it takes no reservations.
    #[error("the charger rejected the request")]
    Rejected,
    /// The charger answered with a CALLERROR; the text describes it.
    #[error("the charger answered with an error: {0}")]
    CallError(String),
    /// No answer within the CSMS's call timeout.
    #[error("the charger did not answer in time")]
    Timeout,
    /// The charger has no open connection to evgate.
    #[error("the charger is offline")]
    Offline,
}

impl Refusal {
    /// A stable, typed reason for booking records and refunds.
    pub fn reason_code(&self) -> &'static str {
        match self {
            Refusal::Occupied => "CHARGER_OCCUPIED",
            Refusal::Faulted => "CHARGER_FAULTED",
            Refusal::Unavailable => "CHARGER_UNAVAILABLE",
            Refusal::Rejected => "CHARGER_REJECTED",
            Refusal::CallError(_) => "CHARGER_ERROR",
            Refusal::Timeout => "CHARGER_TIMEOUT",
            Refusal::Offline => "CHARGER_OFFLINE",
        }
    }
}

/// Reserving and freeing connectors on the chargers themselves; the CSMS
/// implements it over OCPP.
#[async_trait]
pub trait ChargerControl: Send + Sync + std::fmt::Debug + 'static {
    /// ReserveNow; `Ok` only when the charger answered Accepted.
    async fn reserve_now(&self, request: &ReserveRequest) -> Result<(), Refusal>;
    /// CancelReservation; `Ok` when the charger answered Accepted.
    async fn cancel_reservation(
        &self,
        charge_point_id: &str,
        reservation_id: i32,
    ) -> Result<(), Refusal>;
}

/// A charger control with no charger behind it: every request is refused
/// as `Offline`, as it would be for a charger that is not online (tests
/// that need no hardware).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoChargersConnected;

#[async_trait]
impl ChargerControl for NoChargersConnected {
    async fn reserve_now(&self, _: &ReserveRequest) -> Result<(), Refusal> {
        Err(Refusal::Offline)
    }

    async fn cancel_reservation(&self, _: &str, _: i32) -> Result<(), Refusal> {
        Err(Refusal::Offline)
    }
}
