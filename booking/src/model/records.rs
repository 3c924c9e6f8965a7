//! Bookings, charging sessions, id tags and refund requests.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{BookingStatus, IdTagStatus, OcppVersion, RefundState, SessionStatus};

/// A driver's claim on a connector for `[start_ts, end_ts)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    /// evgate's id for the booking.
    pub id: Uuid,
    /// The driver who booked; only they (and admins) see it.
    pub user_id: i64,
    /// The station of the booked connector.
    pub station_id: Uuid,
    /// The booked connector.
    pub connector_id: Uuid,
    /// Start of the booked slot, on a whole minute (UTC).
    pub start_ts: DateTime<Utc>,
    /// End of the slot, exclusive (UTC).
    pub end_ts: DateTime<Utc>,
    /// Where it is in its life; no two CONFIRMED or ACTIVE bookings overlap on
    /// a connector.
    pub status: BookingStatus,
    /// The hold it was confirmed from: confirming that token again returns this
    /// booking.
    pub hold_token: Option<String>,
    /// The payment reference the app sent with the confirmation; its refund
    /// carries it.
    pub payment_id: Option<String>,
    /// A column from the seed's schema; nothing in evgate sets it, so it is
    /// always `None` today.
    pub vendor_booking_id: Option<String>,
    /// The OCPP reservation id allocated for it on the charger.
    pub reservation_id: Option<i32>,
    /// Whether the charger accepted that reservation (ReserveNow Accepted)
    /// and it has not been cancelled since.
    pub reserved_on_charger: bool,
    /// What the driver's app or card presents at the charger (OCPP idTag).
    pub id_tag: Option<String>,
    /// Why it closed: `USER_CANCELLED`, `NO_SHOW`, or a charger refusal code
    /// such as `CHARGER_OFFLINE`.
    pub cancel_reason: Option<String>,
    /// When it was confirmed (UTC).
    pub created_at: DateTime<Utc>,
    /// When the row last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// How a charging session is known to whoever reported it. OCPP 1.6
/// transaction ids are integers we assign; 2.0.1 ids are strings the charger
/// generates; vendors send their own session ids. One text column plus the
/// source keeps them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransactionKey {
    /// A transaction reported over OCPP in this version: the 1.6 integer evgate
    /// assigned, as text, or the charger's 2.0.1 `transactionId`.
    Ocpp(OcppVersion, String),
    /// A vendor's session, keyed `{vendor id}:{vendor session id}` so vendors
    /// cannot collide.
    Vendor(String),
}

impl TransactionKey {
    /// The source as stored: `ocpp1.6`, `ocpp2.0.1` or `vendor`.
    pub fn protocol(&self) -> &'static str {
        match self {
            TransactionKey::Ocpp(v, _) => v.as_str(),
            TransactionKey::Vendor(_) => "vendor",
        }
    }

    /// The transaction's id within its source.
    pub fn key(&self) -> &str {
        match self {
            TransactionKey::Ocpp(_, k) | TransactionKey::Vendor(k) => k,
        }
    }

    /// Rebuilds a key from its stored source and id; `Err` for an unknown
    /// source.
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
    /// evgate's id for the session.
    pub id: Uuid,
    /// The booking it fulfils, when one was matched at its start.
    pub booking_id: Option<Uuid>,
    /// The connector it charges on.
    pub connector_id: Uuid,
    /// The charger it runs on; transaction keys are unique per charger.
    pub charger_id: Uuid,
    /// How the charger or vendor names it.
    pub transaction: TransactionKey,
    /// The id tag that started it, when reported.
    pub id_tag: Option<String>,
    /// When charging began, as reported (UTC).
    pub started_at: DateTime<Utc>,
    /// When charging ended (UTC); `None` while the session is open.
    pub ended_at: Option<DateTime<Utc>>,
    /// Energy register at the start, in Wh.
    pub meter_start_wh: Option<f64>,
    /// Energy register at the end, in Wh.
    pub meter_stop_wh: Option<f64>,
    /// Energy delivered, in kWh: so far while open, in all once ended.
    pub energy_kwh: Option<f64>,
    /// What it cost, in the vendor's currency; only vendors report one, OCPP
    /// sessions have none.
    pub cost_amount: Option<f64>,
    /// CHARGING while open, COMPLETED once ended.
    pub status: SessionStatus,
    /// Why it stopped, as the charger or vendor said.
    pub stop_reason: Option<String>,
}

/// An RFID card or app token that may start a charge.
#[derive(Debug, Clone, PartialEq)]
pub struct IdTag {
    /// The token as chargers send it: 1 to 36 printable characters, no spaces.
    pub id_tag: String,
    /// The operator's verdict; Accepted past `expiry_date` is answered as
    /// Expired.
    pub status: IdTagStatus,
    /// When it stops being accepted (UTC); `None`: never.
    pub expiry_date: Option<DateTime<Utc>>,
    /// OCPP `parentIdTag`: the group tag it belongs to, if any.
    pub parent_id_tag: Option<String>,
    /// The evgate user it belongs to, if any.
    pub user_id: Option<i64>,
}

/// A refund owed for a booking, waiting in the outbox for the payment
/// provider. One per booking: enqueueing twice is a no-op.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundRequest {
    /// evgate's id for the refund.
    pub id: Uuid,
    /// The booking refunded; it has at most one refund.
    pub booking_id: Uuid,
    /// The booking's payment reference, for the payment provider.
    pub payment_id: Option<String>,
    /// Why it is owed: `NO_SHOW` or a charger refusal code; also the booking's
    /// cancel reason.
    pub reason: String,
    /// Where its delivery stands.
    pub state: RefundState,
    /// Delivery attempts made so far.
    pub attempts: i32,
    /// When it is next due (UTC); a worker's lease pushes it ahead.
    pub next_attempt_at: DateTime<Utc>,
    /// When it was queued (UTC).
    pub created_at: DateTime<Utc>,
}
