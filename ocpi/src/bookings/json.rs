//! evgate's bookings and free slots as OCPI 2.3.0 Bookings objects.

use booking::model::{Booking, BookingStatus, Connector};
use booking::service::{BookingRules, Slot};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::OcpiBooking;
use crate::envelope::timestamp;
use crate::locations::{Party, plug};

/// OCPI's ReservationStatus for evgate's booking status.
pub fn reservation_status(status: BookingStatus) -> &'static str {
    match status {
        BookingStatus::Pending => "PENDING",
        BookingStatus::Confirmed => "RESERVED",
        // A session began with it: the booking is used, and stays so.
        BookingStatus::Active | BookingStatus::Completed => "FULFILLED",
        BookingStatus::Cancelled => "CANCELED",
        BookingStatus::NoShow => "NO_SHOW",
    }
}

/// Who cancelled and why, for a CANCELED booking: the partner's own
/// Cancellation when it cancelled, else evgate's reason mapped (a charger
/// that refused, faulted or went away is BROKEN_CHARGER).
fn cancellation(row: &OcpiBooking, b: &Booking) -> Option<Value> {
    if b.status != BookingStatus::Cancelled {
        return None;
    }
    if let Some(theirs) = &row.canceled {
        return Some(theirs.clone());
    }
    let reason = match b.cancel_reason.as_deref() {
        Some(r)
            if r.contains("CHARGER")
                || r.contains("FAULT")
                || r.contains("UNAVAILABLE")
                || r.contains("OFFLINE")
                || r.contains("REJECTED") =>
        {
            "BROKEN_CHARGER"
        }
        _ => "UNKNOWN",
    };
    Some(json!({ "cancellation_reason": reason, "who_canceled": "CPO" }))
}

/// The terms every evgate booking is made under, from the booking rules.
pub(super) fn terms(rules: &BookingRules) -> Value {
    json!({
        "supported_access_methods": ["TOKEN"],
        "rfid_auth_required": true,
        "remote_auth_supported": false,
        "token_groups_supported": false,
        "change_not_allowed": true,
        "change_until_minutes": 0,
        "cancel_until_minutes": 0,
        "early_start_allowed": true,
        "early_start_time": rules.reservation_lead.num_minutes(),
        "noshow_fee": false,
        "noshow_timeout": rules.no_show_grace.num_minutes(),
        "overlapping_bookings_allowed": false,
        "min_booking_duration": 1,
        "max_booking_duration": rules.max_duration.num_minutes(),
    })
}

/// A booking as OCPI's Booking object.
pub(super) fn booking(
    party: &Party,
    rules: &BookingRules,
    row: &OcpiBooking,
    b: &Booking,
) -> Value {
    let mut out = json!({
        "id": b.id.to_string(),
        "country_code": party.country_code,
        "party_id": party.party_id,
        "request_id": row.request_id,
        "location_id": b.station_id.to_string(),
        "booking_option": { "evse_uid": b.connector_id.to_string(), "connector_id": "1" },
        "booking_tokens": row.tokens,
        "tariff_ids": [],
        "period": {
            "start_date_time": timestamp(b.start_ts),
            "end_date_time": timestamp(b.end_ts),
        },
        "reservation_status": reservation_status(b.status),
        "access_information": [{ "method": "TOKEN" }],
        "authorization_reference": row.authorization_reference,
        "booking_terms": terms(rules),
        "booking_requests": row.requests,
        "last_updated": timestamp(b.updated_at.max(row.updated_at)),
    });
    if let Some(c) = cancellation(row, b) {
        out["canceled"] = c;
    }
    out
}

/// A Booking that was never made (the slot was taken, or the charger
/// refused): REJECTED, with the request DECLINED.
pub(super) fn rejected(
    party: &Party,
    rules: &BookingRules,
    request: &super::request::BookingRequest,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "country_code": party.country_code,
        "party_id": party.party_id,
        "request_id": request.request_id,
        "location_id": request.location_id,
        "booking_tokens": request.tokens,
        "tariff_ids": [],
        "period": {
            "start_date_time": timestamp(request.start),
            "end_date_time": timestamp(request.end),
        },
        "reservation_status": "REJECTED",
        "access_information": [{ "method": "TOKEN" }],
        "authorization_reference": request.authorization_reference,
        "booking_terms": terms(rules),
        "booking_requests": [request_status("DECLINED", request, now)],
        "last_updated": timestamp(now),
    })
}

/// One BookingRequestStatus: the request and its verdict.
pub(super) fn request_status(
    verdict: &str,
    request: &super::request::BookingRequest,
    at: DateTime<Utc>,
) -> Value {
    json!({
        "request_status": verdict,
        "booking_request": request.raw,
        "request_received": timestamp(at),
    })
}

/// A connector as a BookingLocation, with one Calendar of its free time in
/// `[from, to)` (free slots merged into time slots).
pub(super) fn booking_location(
    party: &Party,
    rules: &BookingRules,
    c: &Connector,
    slots: &[&Slot],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    increment: i64,
    now: DateTime<Utc>,
) -> Value {
    let (standard, _, power_type) = plug(&c.connector_type);
    let mut free: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for s in slots {
        match free.last_mut() {
            Some(last) if last.1 == s.start => last.1 = s.end,
            _ => free.push((s.start, s.end)),
        }
    }
    json!({
        "country_code": party.country_code,
        "party_id": party.party_id,
        "id": c.id.to_string(),
        "location_id": c.station_id.to_string(),
        "booking_option": {
            "evse_uid": c.id.to_string(),
            "connector_id": "1",
            "connector_types": [standard],
            "power_types": [power_type],
        },
        "policy": { "reservation_required": false },
        "tariff_ids": [],
        "booking_terms": terms(rules),
        "calendars": [{
            "id": c.id.to_string(),
            "begin_from": timestamp(from),
            "end_before": timestamp(to),
            "timeslot_increment": increment,
            "available_timeslots": free.iter().map(|(s, e)| json!({
                "start_date_time": timestamp(*s),
                "end_date_time": timestamp(*e),
            })).collect::<Vec<_>>(),
            "last_updated": timestamp(now),
        }],
        "last_updated": timestamp(now),
    })
}
