//! The seed's JSON shapes that more than one edge sends: a booking reads
//! the same in a REST answer and in a Socket.IO `booking:updated` push.

use booking::iso;
use booking::model::{Booking, BookingStatus};
use serde::Serialize;
use uuid::Uuid;

/// A booking as the seed's JSON shows it (timestamps ISO 8601 UTC).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingJson {
    id: Uuid,
    station_id: Uuid,
    connector_id: Uuid,
    #[schema(example = "2024-05-01T10:00:00.000Z")]
    start_ts: String,
    #[schema(example = "2024-05-01T11:00:00.000Z")]
    end_ts: String,
    #[schema(schema_with = crate::openapi::booking_status)]
    status: BookingStatus,
    /// The id tag the charger is told to accept for this booking.
    id_tag: Option<String>,
    payment_id: Option<String>,
    /// The charger's reservation id, when it was sent a ReserveNow.
    #[serde(skip_serializing_if = "Option::is_none")]
    reservation_id: Option<i32>,
    /// Whether the charger holds the connector for it.
    reserved_on_charger: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancel_reason: Option<String>,
    created_at: String,
    updated_at: String,
    /// What it costs under its connector's tariff (only on
    /// `GET /v1/bookings/{id}`, and only when a tariff applies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cost: Option<BookingCost>,
}

/// A booking's cost, tax included.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingCost {
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub currency: String,
    /// If the car charges at the connector's rated power for the whole
    /// slot.
    pub expected: f64,
    /// What the session charged, once it ended.
    pub r#final: Option<f64>,
}

impl From<&Booking> for BookingJson {
    fn from(b: &Booking) -> Self {
        Self {
            id: b.id,
            station_id: b.station_id,
            connector_id: b.connector_id,
            start_ts: iso(b.start_ts),
            end_ts: iso(b.end_ts),
            status: b.status,
            id_tag: b.id_tag.clone(),
            payment_id: b.payment_id.clone(),
            reservation_id: b.reservation_id,
            reserved_on_charger: b.reserved_on_charger,
            cancel_reason: b.cancel_reason.clone(),
            created_at: iso(b.created_at),
            updated_at: iso(b.updated_at),
            cost: None,
        }
    }
}
