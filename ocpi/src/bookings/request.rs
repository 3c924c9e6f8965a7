//! A partner's BookingRequest (OCPI 2.3.0 Bookings), read and checked.
//! The release's field names are read, and the draft's where they differ
//! (`start_from`/`end_before`, a top-level `evse_uid`): partners built on
//! either exist.

use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;

use crate::envelope::parse_timestamp;
use crate::error::{OcpiError, Result};
use crate::partner::Partner;

/// What a partner asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BookingRequest {
    /// The partner's id for the booking; the same for every change.
    pub request_id: String,
    /// The Location (station).
    pub location_id: String,
    /// The EVSE asked for (`booking_option.evse_uid`, the draft's
    /// `evse_uid`, or the BookingLocation id, which is the EVSE's); `None`:
    /// any EVSE of the Location.
    pub evse_uid: Option<String>,
    /// Slot start, a whole minute.
    pub start: DateTime<Utc>,
    /// Slot end, exclusive.
    pub end: DateTime<Utc>,
    /// The partner's reference, echoed in the Booking.
    pub authorization_reference: String,
    /// The tokens the driver may present (BookingToken objects, as sent).
    pub tokens: Value,
    /// The uid of the first token: what the charger is reserved for.
    pub token_uid: String,
    /// Set when the partner cancels with this request.
    pub canceled: Option<Value>,
    /// The request as it came, for the Booking's `booking_requests`.
    pub raw: Value,
}

fn text(v: &Value, field: &str, max: usize) -> Result<String> {
    match v.get(field).and_then(Value::as_str) {
        Some(s) if !s.is_empty() && s.chars().count() <= max => Ok(s.to_owned()),
        Some(_) => Err(OcpiError::InvalidParameters(format!(
            "{field} must be 1 to {max} characters"
        ))),
        None => Err(OcpiError::InvalidParameters(format!("{field} is required"))),
    }
}

fn instant(period: &Value, names: [&str; 2]) -> Result<DateTime<Utc>> {
    let raw = names
        .iter()
        .find_map(|n| period.get(*n).and_then(Value::as_str))
        .ok_or_else(|| OcpiError::InvalidParameters(format!("period.{} is required", names[0])))?;
    let t = parse_timestamp(raw).ok_or_else(|| {
        OcpiError::InvalidParameters(format!("period.{} is not a DateTime", names[0]))
    })?;
    if t.second() != 0 || t.nanosecond() != 0 {
        return Err(OcpiError::InvalidParameters(format!(
            "period.{} must be on a whole minute",
            names[0]
        )));
    }
    Ok(t)
}

impl BookingRequest {
    /// Reads a request from `partner`: its party must be one of the
    /// partner's registered roles (2001 otherwise), a token is needed to
    /// reserve the charger for (2002 without).
    pub(crate) fn read(body: &[u8], partner: &Partner) -> Result<Self> {
        let raw: Value = serde_json::from_slice(body)
            .map_err(|e| OcpiError::MalformedJson(format!("the body is not JSON: {e}")))?;
        if !raw.is_object() {
            return Err(OcpiError::InvalidParameters(
                "a BookingRequest is an object".into(),
            ));
        }
        let country = text(&raw, "country_code", 2)?;
        let party = text(&raw, "party_id", 3)?;
        if !partner
            .roles
            .iter()
            .any(|r| r.country_code == country && r.party_id == party)
        {
            return Err(OcpiError::InvalidParameters(format!(
                "country_code/party_id {country}/{party} is not one of this partner's roles"
            )));
        }
        let period = raw
            .get("period")
            .filter(|p| p.is_object())
            .ok_or_else(|| OcpiError::InvalidParameters("period is required".into()))?;
        let start = instant(period, ["start_date_time", "start_from"])?;
        let end = instant(period, ["end_date_time", "end_before"])?;
        let evse_uid = raw
            .pointer("/booking_option/evse_uid")
            .or_else(|| raw.get("evse_uid"))
            .or_else(|| raw.get("booking_location_id"))
            .and_then(Value::as_str)
            .filter(|s| *s != "#NA")
            .map(str::to_owned);
        let tokens = raw
            .get("tokens")
            .or_else(|| raw.get("booking_tokens"))
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        let canceled = raw.get("canceled").filter(|c| !c.is_null()).cloned();
        let token_uid = tokens
            .as_array()
            .and_then(|t| t.first())
            .and_then(|t| t.get("uid"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let token_uid = match (token_uid, &canceled) {
            (Some(uid), _) => uid,
            // A cancellation needs no token.
            (None, Some(_)) => String::new(),
            (None, None) => {
                return Err(OcpiError::NotEnoughInformation(
                    "tokens must name the token the driver will present".into(),
                ));
            }
        };
        Ok(Self {
            request_id: text(&raw, "request_id", 36)?,
            location_id: text(&raw, "location_id", 36)?,
            evse_uid,
            start,
            end,
            authorization_reference: text(&raw, "authorization_reference", 36)?,
            tokens,
            token_uid,
            canceled,
            raw,
        })
    }
}
