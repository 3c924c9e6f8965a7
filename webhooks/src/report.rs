//! What vendors post (the seed's request bodies, plus an optional
//! `timestamp` on each and a meter update the seed lacked), and the report
//! each becomes once validated: connectors resolved to ids, readings in the
//! domain's units (Wh), times fixed. Reports are what the inbox stores.
//!
//! Plain structs only: the binary enables `serde_json/arbitrary_precision`,
//! under which tagged or flattened types holding floats fail to decode.

use booking::model::ConnectorStatus;
use chrono::{DateTime, TimeDelta, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Result, WebhookError};

/// The four webhooks, by the last segment of their path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `connector-status`: a connector's status changed.
    ConnectorStatus,
    /// `session-start`: charging began on a connector.
    SessionStart,
    /// `meter-update`: a meter reading during a session.
    MeterUpdate,
    /// `session-end`: charging ended.
    SessionEnd,
}

impl Kind {
    /// All four webhooks.
    pub const ALL: [Kind; 4] = [
        Kind::ConnectorStatus,
        Kind::SessionStart,
        Kind::MeterUpdate,
        Kind::SessionEnd,
    ];

    /// The path segment, e.g. `session-start`; also the kind's stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ConnectorStatus => "connector-status",
            Kind::SessionStart => "session-start",
            Kind::MeterUpdate => "meter-update",
            Kind::SessionEnd => "session-end",
        }
    }

    /// The kind a path segment names, if any (exact match).
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How a body names its connector: by evgate's id, the vendor's, or both
/// (then they must agree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorRef {
    /// evgate's connector id.
    pub connector_id: Option<Uuid>,
    /// The vendor's own id for the connector.
    pub vendor_connector_id: Option<String>,
    /// When given, must be the connector's station.
    pub station_id: Option<Uuid>,
}

/// The body of `connector-status`, as posted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorStatusBody {
    /// Optional check: the station of the connector.
    pub station_id: Option<Uuid>,
    /// evgate's connector id; this or `vendor_connector_id` is required.
    pub connector_id: Option<Uuid>,
    /// The vendor's connector id; must name the same connector as
    /// `connector_id` when both are given.
    pub vendor_connector_id: Option<String>,
    /// A [`ConnectorStatus`] in the seed's vocabulary, any case (`available`).
    pub status: String,
    /// When the status took effect; defaults to the signing time, at most 5
    /// minutes ahead.
    pub timestamp: Option<DateTime<Utc>>,
    /// Kept by the seed for vendor extras; evgate ignores it.
    pub metadata: Option<serde_json::Value>,
}

/// The body of `session-start`, as posted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionStartBody {
    /// The vendor's session id (1 to 255 characters); its meter updates and end
    /// name it too.
    pub vendor_session_id: String,
    /// Optional check: the station of the connector.
    pub station_id: Option<Uuid>,
    /// evgate's connector id; this or `vendor_connector_id` is required.
    pub connector_id: Option<Uuid>,
    /// The vendor's connector id; must name the same connector as
    /// `connector_id` when both are given.
    pub vendor_connector_id: Option<String>,
    /// kWh on the connector's meter.
    pub start_meter_reading: Option<f64>,
    /// The booking this session fulfils, when the vendor knows it; must be on
    /// the same connector.
    pub booking_id: Option<Uuid>,
    /// The id tag that started it; blank counts as none.
    pub id_tag: Option<String>,
    /// When charging began; defaults to the signing time, at most 5 minutes
    /// ahead.
    pub timestamp: Option<DateTime<Utc>>,
}

/// The body of `meter-update` (not in the seed), as posted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterUpdateBody {
    /// The session, as its start named it.
    pub vendor_session_id: String,
    /// kWh on the connector's meter.
    pub meter_reading: f64,
    /// When the meter was read; defaults to the signing time, at most 5 minutes
    /// ahead.
    pub timestamp: Option<DateTime<Utc>>,
}

/// The body of `session-end`, as posted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEndBody {
    /// The session, as its start named it.
    pub vendor_session_id: String,
    /// kWh on the connector's meter.
    pub end_meter_reading: Option<f64>,
    /// Energy delivered in all, in kWh; without it, derived from the meter
    /// readings.
    pub energy_kwh: Option<f64>,
    /// What the session cost, in the vendor's currency (0 to [`MAX_COST`]).
    pub cost_amount: Option<f64>,
    /// Why it ended; blank counts as none.
    pub reason: Option<String>,
    /// When charging ended; defaults to the signing time, at most 5 minutes
    /// ahead.
    pub timestamp: Option<DateTime<Utc>>,
}

impl ConnectorStatusBody {
    /// How the body names its connector.
    pub fn connector_ref(&self) -> ConnectorRef {
        ConnectorRef {
            connector_id: self.connector_id,
            vendor_connector_id: self.vendor_connector_id.clone(),
            station_id: self.station_id,
        }
    }
}

impl SessionStartBody {
    /// How the body names its connector.
    pub fn connector_ref(&self) -> ConnectorRef {
        ConnectorRef {
            connector_id: self.connector_id,
            vendor_connector_id: self.vendor_connector_id.clone(),
            station_id: self.station_id,
        }
    }
}

/// A validated webhook, ready for the inbox.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// A connector's status changed.
    ConnectorStatus(StatusReport),
    /// Charging began.
    SessionStart(StartReport),
    /// A meter reading during a session.
    MeterUpdate(MeterReport),
    /// Charging ended.
    SessionEnd(EndReport),
}

/// A validated `connector-status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// The connector, resolved and checked to be this vendor's.
    pub connector_id: Uuid,
    /// Its new status.
    pub status: ConnectorStatus,
    /// When it took effect (UTC, milliseconds); older than the status on
    /// record, it changes nothing.
    pub at: DateTime<Utc>,
}

/// A validated `session-start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartReport {
    /// The connector, resolved and checked to be this vendor's.
    pub connector_id: Uuid,
    /// The vendor's session id, trimmed.
    pub vendor_session_id: String,
    /// The booking it fulfils, checked to be on this connector.
    pub booking_id: Option<Uuid>,
    /// The id tag that started it.
    pub id_tag: Option<String>,
    /// Energy register at the start, in Wh (the body's kWh × 1000).
    pub meter_start_wh: Option<f64>,
    /// When charging began (UTC, milliseconds).
    pub started_at: DateTime<Utc>,
}

/// A validated `meter-update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterReport {
    /// The vendor's session id, trimmed.
    pub vendor_session_id: String,
    /// Energy register, in Wh (the body's kWh × 1000).
    pub meter_wh: f64,
    /// When the meter was read (UTC, milliseconds).
    pub at: DateTime<Utc>,
}

/// A validated `session-end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndReport {
    /// The vendor's session id, trimmed.
    pub vendor_session_id: String,
    /// Energy register at the end, in Wh (the body's kWh × 1000).
    pub meter_stop_wh: Option<f64>,
    /// Energy delivered in all, in kWh, when the vendor said.
    pub energy_kwh: Option<f64>,
    /// What the session cost, in the vendor's currency.
    pub cost_amount: Option<f64>,
    /// Why it ended.
    pub reason: Option<String>,
    /// When charging ended (UTC, milliseconds).
    pub ended_at: DateTime<Utc>,
}

/// A report serializes as its fields alone (the kind is stored apart).
impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Report::ConnectorStatus(r) => r.serialize(s),
            Report::SessionStart(r) => r.serialize(s),
            Report::MeterUpdate(r) => r.serialize(s),
            Report::SessionEnd(r) => r.serialize(s),
        }
    }
}

impl Report {
    /// Which webhook it came from.
    pub fn kind(&self) -> Kind {
        match self {
            Report::ConnectorStatus(_) => Kind::ConnectorStatus,
            Report::SessionStart(_) => Kind::SessionStart,
            Report::MeterUpdate(_) => Kind::MeterUpdate,
            Report::SessionEnd(_) => Kind::SessionEnd,
        }
    }

    /// The report on connector `id` (a connector status or session start;
    /// the others are known by their session and stay as they are).
    pub fn on_connector(mut self, id: Uuid) -> Report {
        match &mut self {
            Report::ConnectorStatus(r) => r.connector_id = id,
            Report::SessionStart(r) => r.connector_id = id,
            Report::MeterUpdate(_) | Report::SessionEnd(_) => {}
        }
        self
    }

    /// The report's fields as JSON (the kind is not among them).
    pub fn to_value(&self) -> serde_json::Value {
        // Plain structs of strings, numbers and ids always serialize.
        serde_json::to_value(self).unwrap_or_else(|e| unreachable!("report serializes: {e}"))
    }

    /// The stored form: the kind lives in its own column.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| unreachable!("report serializes: {e}"))
    }

    /// Reads the stored form back; the kind comes from its own column.
    pub fn from_json(kind: Kind, json: &str) -> Result<Report, serde_json::Error> {
        Ok(match kind {
            Kind::ConnectorStatus => Report::ConnectorStatus(serde_json::from_str(json)?),
            Kind::SessionStart => Report::SessionStart(serde_json::from_str(json)?),
            Kind::MeterUpdate => Report::MeterUpdate(serde_json::from_str(json)?),
            Kind::SessionEnd => Report::SessionEnd(serde_json::from_str(json)?),
        })
    }
}

/// A report's own time may run this far ahead of ours (clock skew); later
/// would make every true report after it look stale.
pub const FUTURE_SKEW: TimeDelta = TimeDelta::minutes(5);

/// A body read and checked on its own, before the lookups: all that the
/// body alone says.
#[derive(Debug, Clone, PartialEq)]
pub enum Draft {
    /// `connector-status` or `session-start`: the report, its connector id
    /// nil until `connector` is resolved ([`Report::on_connector`]) and,
    /// for a start, its booking checked.
    OnConnector {
        /// How the body names its connector.
        connector: ConnectorRef,
        /// The report, on the nil connector.
        report: Report,
    },
    /// `meter-update` or `session-end`: complete.
    Session {
        /// The vendor's session id, trimmed: the report's order key.
        session: String,
        /// The report.
        report: Report,
    },
}

/// Reads the body of a `kind` webhook signed at `signed_at` and received at
/// `now`: decoded, its values checked (statuses, session ids, readings
/// within bounds and in Wh) and its time fixed (its own, at most
/// [`FUTURE_SKEW`] ahead, to the millisecond; else the signing time). A
/// report without its own time happened when it was signed, not when it
/// arrived: a delayed or replayed older report can then never overwrite a
/// newer state.
pub fn read(
    kind: Kind,
    body: &[u8],
    now: DateTime<Utc>,
    signed_at: DateTime<Utc>,
) -> Result<Draft> {
    let at = |t: Option<DateTime<Utc>>| match t {
        Some(t) if t > now + FUTURE_SKEW => {
            Err(WebhookError::validation("timestamp", "is in the future"))
        }
        Some(t) => Ok(booking::clock::to_millis(t)),
        None => Ok(signed_at.min(now)),
    };
    Ok(match kind {
        Kind::ConnectorStatus => {
            let b: ConnectorStatusBody = decode(body)?;
            let connector = b.connector_ref();
            let report = Report::ConnectorStatus(StatusReport {
                connector_id: Uuid::nil(),
                status: status(&b.status)?,
                at: at(b.timestamp)?,
            });
            Draft::OnConnector { connector, report }
        }
        Kind::SessionStart => {
            let b: SessionStartBody = decode(body)?;
            let connector = b.connector_ref();
            let report = Report::SessionStart(StartReport {
                connector_id: Uuid::nil(),
                vendor_session_id: session_id(&b.vendor_session_id)?,
                booking_id: b.booking_id,
                id_tag: b.id_tag.filter(|t| !t.trim().is_empty()),
                meter_start_wh: kwh_to_wh("startMeterReading", b.start_meter_reading)?,
                started_at: at(b.timestamp)?,
            });
            Draft::OnConnector { connector, report }
        }
        Kind::MeterUpdate => {
            let b: MeterUpdateBody = decode(body)?;
            let session = session_id(&b.vendor_session_id)?;
            let report = Report::MeterUpdate(MeterReport {
                vendor_session_id: session.clone(),
                meter_wh: kwh_to_wh("meterReading", Some(b.meter_reading))?.unwrap_or_default(),
                at: at(b.timestamp)?,
            });
            Draft::Session { session, report }
        }
        Kind::SessionEnd => {
            let b: SessionEndBody = decode(body)?;
            let session = session_id(&b.vendor_session_id)?;
            let report = Report::SessionEnd(EndReport {
                vendor_session_id: session.clone(),
                meter_stop_wh: kwh_to_wh("endMeterReading", b.end_meter_reading)?,
                energy_kwh: energy_kwh("energyKwh", b.energy_kwh)?,
                cost_amount: cost("costAmount", b.cost_amount)?,
                reason: b.reason.filter(|r| !r.trim().is_empty()),
                ended_at: at(b.timestamp)?,
            });
            Draft::Session { session, report }
        }
    })
}

/// Decodes a body, naming the field that broke the contract.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        // "." is the whole body; "?" a place the parser could not reach;
        // "" a member whose own name is empty.
        let field = if path == "." || path == "?" || path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        WebhookError::validation(field, e.into_inner().to_string())
    })
}

/// A connector status in the seed's vocabulary (case-insensitive).
pub fn status(s: &str) -> Result<ConnectorStatus> {
    s.to_ascii_uppercase()
        .parse()
        .map_err(|e: String| WebhookError::validation("status", e))
}

/// A vendor session id: trimmed, 1 to 255 characters.
pub fn session_id(s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 255 {
        return Err(WebhookError::validation(
            "vendorSessionId",
            "must be 1 to 255 characters",
        ));
    }
    Ok(s.to_owned())
}

/// The largest energy a report may carry, in kWh: no meter registers a
/// terawatt-hour. Above it a value is a mistake or an attack, and once
/// scaled to Wh it could overflow to infinity, which no store can keep.
pub const MAX_KWH: f64 = booking::model::MAX_ENERGY_WH / 1000.0;

/// The largest cost a report may carry, in the vendor's currency.
pub const MAX_COST: f64 = 1.0e9;

/// A meter register in kWh, as Wh: finite, non-negative, at most [`MAX_KWH`].
pub fn kwh_to_wh(field: &str, kwh: Option<f64>) -> Result<Option<f64>> {
    Ok(bounded(field, kwh, MAX_KWH, "kWh")?.map(|v| v * 1000.0))
}

/// An energy total in kWh: finite, non-negative, at most [`MAX_KWH`].
pub fn energy_kwh(field: &str, v: Option<f64>) -> Result<Option<f64>> {
    bounded(field, v, MAX_KWH, "kWh")
}

/// A cost: finite, non-negative, at most [`MAX_COST`].
pub fn cost(field: &str, v: Option<f64>) -> Result<Option<f64>> {
    bounded(field, v, MAX_COST, "")
}

fn bounded(field: &str, v: Option<f64>, max: f64, unit: &str) -> Result<Option<f64>> {
    match v {
        Some(x) if !x.is_finite() || !(0.0..=max).contains(&x) => {
            let unit = if unit.is_empty() {
                String::new()
            } else {
                format!(" {unit}")
            };
            Err(WebhookError::validation(
                field,
                format!("must be a number from 0 to {max:e}{unit}"),
            ))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_decode_with_floats_and_name_the_broken_field() {
        let b: SessionEndBody = decode(
            br#"{"vendorSessionId":"s1","endMeterReading":25.5,"energyKwh":25.5,"costAmount":250.0}"#,
        )
        .unwrap();
        assert_eq!(b.energy_kwh, Some(25.5));
        match decode::<ConnectorStatusBody>(br#"{"connectorId":"nope","status":"AVAILABLE"}"#) {
            Err(WebhookError::Validation { field, .. }) => assert_eq!(field, "connectorId"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        match decode::<ConnectorStatusBody>(b"{") {
            Err(WebhookError::Validation { field, .. }) => assert_eq!(field, "body"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert!(decode::<MeterUpdateBody>(br#"{"vendorSessionId":"s"}"#).is_err());
        // Found by fuzzing: broken JSON inside a member named "" was
        // refused naming the field "", which names nothing.
        match decode::<MeterUpdateBody>(b"{\"\":\r\t\0") {
            Err(WebhookError::Validation { field, .. }) => assert_eq!(field, "body"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn reports_round_trip_through_their_stored_form() {
        let r = Report::SessionEnd(EndReport {
            vendor_session_id: "s".into(),
            meter_stop_wh: Some(25_500.0),
            energy_kwh: Some(25.5),
            cost_amount: Some(250.0),
            reason: None,
            ended_at: Utc::now(),
        });
        assert_eq!(Report::from_json(r.kind(), &r.to_json()).unwrap(), r);
    }

    #[test]
    fn statuses_and_readings_are_checked() {
        assert_eq!(status("available").unwrap(), ConnectorStatus::Available);
        assert!(status("CHARGING").is_err());
        assert_eq!(kwh_to_wh("m", Some(1.5)).unwrap(), Some(1500.0));
        assert!(kwh_to_wh("m", Some(-1.0)).is_err());
        // Finite in kWh, infinite in Wh: refused, never stored as null.
        assert!(kwh_to_wh("m", Some(1e308)).is_err());
        assert!(kwh_to_wh("m", Some(f64::NAN)).is_err());
        assert_eq!(
            kwh_to_wh("m", Some(MAX_KWH)).unwrap(),
            Some(MAX_KWH * 1000.0)
        );
        assert!(energy_kwh("e", Some(1e300)).is_err());
        assert!(cost("c", Some(MAX_COST * 2.0)).is_err());
        assert_eq!(cost("c", Some(250.0)).unwrap(), Some(250.0));
        assert!(session_id("  ").is_err());
    }
}
