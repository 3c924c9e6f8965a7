//! What apps receive for each booking-core event: the seed's
//! `station_update {stationId, type, data}` to the station's room (no user
//! ids, id tags or payment ids), and `booking_update` to the booking
//! owner's own room. Pure mapping, unit-tested.

use booking::events::Event;
use booking::model::{BookingStatus, ConnectorStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::views::BookingJson;
use booking::iso;

/// One Socket.IO emit: to `room`, event `event`, with `data`. Plain strings
/// and JSON so it crosses instances through Redis as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outbound {
    /// `station:<uuid>` or `user:<id>`.
    pub room: String,
    /// The Socket.IO event name (`station_update`, `booking_update`).
    pub event: String,
    /// The event's payload, in the seed's shape.
    pub data: Value,
}

/// The room a station's subscribers join.
pub fn station_room(station_id: Uuid) -> String {
    format!("station:{station_id}")
}

/// The room every socket of one user joins on connect.
pub fn user_room(user_id: i64) -> String {
    format!("user:{user_id}")
}

fn station_update(station_id: Uuid, kind: &str, data: Value) -> Outbound {
    Outbound {
        room: station_room(station_id),
        event: "station_update".into(),
        data: json!({ "stationId": station_id, "type": kind, "data": data }),
    }
}

/// The emits one event makes.
pub fn outbound(event: &Event) -> Vec<Outbound> {
    let s = event.station_id();
    match event {
        Event::ConnectorStatusChanged {
            connector_id,
            status,
            updated_at,
            last_known_status,
            ..
        } => {
            let mut data = json!({ "connectorId": connector_id, "status": status, "updatedAt": iso(*updated_at) });
            // The seed's "station offline: show the stale status with its time".
            if let Some(last) = last_known_status.filter(|_| *status == ConnectorStatus::Offline) {
                data["lastKnownStatus"] = json!(last);
            }
            vec![station_update(s, "connector_status_update", data)]
        }
        Event::HoldCreated {
            connector_id,
            start_ts,
            end_ts,
            ..
        } => vec![station_update(
            s,
            "slot_hold_created",
            json!({ "connectorId": connector_id, "startTs": iso(*start_ts), "endTs": iso(*end_ts) }),
        )],
        Event::HoldReleased {
            connector_id,
            start_ts,
            end_ts,
            ..
        } => vec![station_update(
            s,
            "slot_hold_released",
            json!({ "connectorId": connector_id, "startTs": iso(*start_ts), "endTs": iso(*end_ts) }),
        )],
        Event::BookingChanged { booking } => {
            let slot = json!({
                "connectorId": booking.connector_id,
                "startTs": iso(booking.start_ts),
                "endTs": iso(booking.end_ts),
            });
            let mut out = match booking.status {
                BookingStatus::Confirmed => vec![station_update(s, "booking_confirmed", slot)],
                BookingStatus::Cancelled | BookingStatus::NoShow => {
                    vec![station_update(s, "booking_cancelled", slot)]
                }
                // The slot's remainder is free again.
                BookingStatus::Completed => vec![station_update(s, "availability_changed", slot)],
                BookingStatus::Pending | BookingStatus::Active => vec![],
            };
            out.push(Outbound {
                room: user_room(booking.user_id),
                event: "booking_update".into(),
                data: json!(BookingJson::from(booking)),
            });
            out
        }
        Event::SessionStarted {
            connector_id,
            started_at,
            ..
        } => vec![station_update(
            s,
            "session_started",
            json!({ "connectorId": connector_id, "startedAt": iso(*started_at) }),
        )],
        Event::SessionEnded {
            connector_id,
            ended_at,
            energy_kwh,
            ..
        } => vec![station_update(
            s,
            "session_ended",
            json!({ "connectorId": connector_id, "endedAt": iso(*ended_at), "energyKwh": energy_kwh }),
        )],
        Event::MeterUpdate {
            connector_id,
            energy_kwh,
            at,
            ..
        } => vec![station_update(
            s,
            "meter_update",
            json!({ "connectorId": connector_id, "energyKwh": energy_kwh, "at": iso(*at) }),
        )],
    }
}

#[cfg(test)]
mod tests {
    use booking::model::Booking;
    use chrono::Utc;

    use super::*;

    fn booking(status: BookingStatus) -> Booking {
        let now = Utc::now();
        Booking {
            id: Uuid::new_v4(),
            user_id: 42,
            station_id: Uuid::new_v4(),
            connector_id: Uuid::new_v4(),
            start_ts: now,
            end_ts: now,
            status,
            hold_token: Some("h".into()),
            payment_id: Some("pay_secret".into()),
            vendor_booking_id: None,
            reservation_id: None,
            reserved_on_charger: false,
            cancel_reason: None,
            id_tag: Some("TAG-SECRET".into()),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn station_updates_carry_no_personal_data_and_the_owner_gets_the_booking() {
        let b = booking(BookingStatus::Confirmed);
        let out = outbound(&Event::BookingChanged { booking: b.clone() });
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].room, station_room(b.station_id));
        assert_eq!(out[0].data["type"], "booking_confirmed");
        let public = out[0].data.to_string();
        for secret in [
            "pay_secret",
            "TAG-SECRET",
            "userId",
            "user",
            &b.id.to_string(),
        ] {
            assert!(!public.contains(secret), "{secret} leaked: {public}");
        }
        assert_eq!(out[1].room, "user:42");
        assert_eq!(out[1].event, "booking_update");
        assert_eq!(out[1].data["paymentId"], "pay_secret");
    }

    #[test]
    fn each_status_maps_to_the_seed_vocabulary() {
        let kind = |st| {
            outbound(&Event::BookingChanged {
                booking: booking(st),
            })[0]
                .data["type"]
                .clone()
        };
        assert_eq!(kind(BookingStatus::Cancelled), "booking_cancelled");
        assert_eq!(kind(BookingStatus::NoShow), "booking_cancelled");
        assert_eq!(kind(BookingStatus::Completed), "availability_changed");
        // ACTIVE reaches only its owner; the station hears session_started.
        let active = outbound(&Event::BookingChanged {
            booking: booking(BookingStatus::Active),
        });
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].event, "booking_update");
        let status = outbound(&Event::ConnectorStatusChanged {
            station_id: Uuid::new_v4(),
            connector_id: Uuid::new_v4(),
            status: ConnectorStatus::Offline,
            updated_at: Utc::now(),
            last_known_status: Some(ConnectorStatus::Occupied),
        });
        assert_eq!(status[0].data["type"], "connector_status_update");
        assert_eq!(status[0].data["data"]["status"], "OFFLINE");
        assert_eq!(status[0].data["data"]["lastKnownStatus"], "OCCUPIED");
        assert!(status[0].data["data"]["updatedAt"].is_string());
    }
}
