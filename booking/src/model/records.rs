//! Bookings, charging sessions, id tags and refund requests.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{BookingStatus, IdTagStatus, OcppVersion, RefundState, SessionStatus};

/// A driver's claim on a connector for `[start_ts, end_ts)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub id: Uuid,
    pub user_id: i64,
    pub station_id: Uuid,
    pub connector_id: Uuid,
    pub start_ts: DateTime<Utc>,
    pub end_ts: DateTime<Utc>,
    pub status: BookingStatus,
    pub hold_token: Option<String>,
    pub payment_id: Option<String>,
    pub vendor_booking_id: Option<String>,
    /// The OCPP reservation id allocated for it on the charger.
    pub reservation_id: Option<i32>,
    /// Whether the charger accepted that reservation (ReserveNow Accepted)
    /// and it has not been cancelled since.
    pub reserved_on_charger: bool,
    /// What the driver's app or card presents at the charger (OCPP idTag).
    pub id_tag: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How a charging session is known to whoever reported it. OCPP 1.6
/// transaction ids are integers we assign; 2.0.1 ids are strings the charger
/// generates; vendors send their own session ids. One text column plus the
/// source keeps them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransactionKey {
    Ocpp(OcppVersion, String),
    Vendor(String),
}

impl TransactionKey {
    pub fn protocol(&self) -> &'static str {
        match self {
            TransactionKey::Ocpp(v, _) => v.as_str(),
            TransactionKey::Vendor(_) => "vendor",
        }
    }

    pub fn key(&self) -> &str {
        match self {
            TransactionKey::Ocpp(_, k) | TransactionKey::Vendor(k) => k,
        }
    }

    pub fn from_parts(protocol: &str, key: String) -> Result<Self, String> {
        match protocol {
            "vendor" => Ok(TransactionKey::Vendor(key)),
            v => Ok(TransactionKey::Ocpp(v.parse()?, key)),
        }
    }
}

/// Energy actually delivered on a connector.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargingSession {
    pub id: Uuid,
    pub booking_id: Option<Uuid>,
    pub connector_id: Uuid,
    pub charger_id: Uuid,
    pub transaction: TransactionKey,
    pub id_tag: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub meter_start_wh: Option<f64>,
    pub meter_stop_wh: Option<f64>,
    pub energy_kwh: Option<f64>,
    pub cost_amount: Option<f64>,
    pub status: SessionStatus,
    pub stop_reason: Option<String>,
}

/// An RFID card or app token that may start a charge.
#[derive(Debug, Clone, PartialEq)]
pub struct IdTag {
    pub id_tag: String,
    pub status: IdTagStatus,
    pub expiry_date: Option<DateTime<Utc>>,
    pub parent_id_tag: Option<String>,
    pub user_id: Option<i64>,
}

/// A refund owed for a booking, waiting in the outbox for the payment
/// provider. One per booking: enqueueing twice is a no-op.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundRequest {
    pub id: Uuid,
    pub booking_id: Uuid,
    pub payment_id: Option<String>,
    pub reason: String,
    pub state: RefundState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}
