//! evgate's stations as OCPI Locations: a station is a Location, each
//! connector an EVSE with one Connector (evgate books and reports status per
//! connector, and an OCPI status is per EVSE), its live status mapped.

use booking::model::{Connector, ConnectorStatus, Station};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::envelope::timestamp;
use crate::error::{OcpiError, Result};
use crate::partner::OcpiVersion;

/// What OCPI needs of a station beyond evgate's own fields, set by an
/// operator; a station is offered to partners only when `publish` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationDetails {
    /// The station.
    pub station_id: Uuid,
    /// City or town (1 to 45 characters).
    pub city: String,
    /// Postal code (at most 10 characters).
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-3 country code.
    pub country: String,
    /// IANA time zone (`Europe/Oslo`).
    pub time_zone: String,
    /// Whether partners see it.
    pub publish: bool,
    /// When an operator last set these (UTC).
    pub updated_at: DateTime<Utc>,
}

impl LocationDetails {
    /// Checks an operator's input; `field` names what is wrong.
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        let city = self.city.trim();
        if city.is_empty() || city.chars().count() > 45 {
            return Err(("city", "must be 1 to 45 characters".into()));
        }
        if self
            .postal_code
            .as_ref()
            .is_some_and(|p| p.trim().is_empty() || p.chars().count() > 10)
        {
            return Err(("postalCode", "must be 1 to 10 characters".into()));
        }
        if !(self.country.len() == 3 && self.country.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err((
                "country",
                "must be an ISO 3166-1 alpha-3 code (three capital letters)".into(),
            ));
        }
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err((
                "timeZone",
                format!("{:?} is not an IANA time zone", self.time_zone),
            ));
        }
        Ok(())
    }
}

/// Who evgate is in OCPI: the CPO role's country and party id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    /// Three characters.
    pub party_id: String,
}

/// OCPI's EVSE status for evgate's connector status.
pub fn evse_status(status: ConnectorStatus) -> &'static str {
    match status {
        ConnectorStatus::Available => "AVAILABLE",
        ConnectorStatus::Occupied => "CHARGING",
        ConnectorStatus::Reserved => "RESERVED",
        ConnectorStatus::Maintenance => "INOPERATIVE",
        ConnectorStatus::Faulted => "OUTOFORDER",
        ConnectorStatus::Offline => "UNKNOWN",
    }
}

/// The OCPI standard, format and power type of an operator's free-text
/// plug type. Unknown names are taken as a Type 2 socket (the European
/// default) — the README says so.
pub fn plug(connector_type: &str) -> (&'static str, &'static str, &'static str) {
    let key: String = connector_type
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match key.as_str() {
        "ccs" | "ccs2" | "combo" | "combo2" | "ccscombo2" | "iec62196t2combo" => {
            ("IEC_62196_T2_COMBO", "CABLE", "DC")
        }
        "ccs1" | "combo1" | "ccscombo1" | "iec62196t1combo" => {
            ("IEC_62196_T1_COMBO", "CABLE", "DC")
        }
        "chademo" => ("CHADEMO", "CABLE", "DC"),
        "type1" | "t1" | "j1772" | "iec62196t1" => ("IEC_62196_T1", "CABLE", "AC_1_PHASE"),
        "nacs" | "tesla" | "j3400" => ("TESLA_S", "CABLE", "DC"),
        "schuko" | "domesticf" => ("DOMESTIC_F", "SOCKET", "AC_1_PHASE"),
        _ => ("IEC_62196_T2", "SOCKET", "AC_3_PHASE"),
    }
}

/// Voltage and amperage for a rated power: DC at 400 V (920 V above
/// 150 kW), three-phase AC at 230 V per phase, single phase at 230 V.
fn electrics(power_type: &str, power_kw: f64) -> (i64, i64, i64) {
    let watts = (power_kw * 1000.0).round();
    let (volts, phases) = match power_type {
        "DC" if power_kw > 150.0 => (920.0, 1.0),
        "DC" => (400.0, 1.0),
        "AC_3_PHASE" => (230.0, 3.0),
        _ => (230.0, 1.0),
    };
    let amps = (watts / (volts * phases)).ceil();
    (volts as i64, amps as i64, watts as i64)
}

/// Which tariff each connector charges by.
pub(crate) type Tariffs = std::collections::HashMap<Uuid, Uuid>;

/// A connector as an OCPI EVSE object.
pub(crate) fn evse(connector: &Connector, tariffs: &Tariffs, _version: OcpiVersion) -> Value {
    let (standard, format, power_type) = plug(&connector.connector_type);
    let (volts, amps, watts) = electrics(power_type, connector.power_kw);
    let updated = timestamp(connector.status_updated_at);
    let reference: String = connector.connector_number.chars().take(16).collect();
    let mut out = json!({
        "uid": connector.id.to_string(),
        "status": evse_status(connector.status),
        "connectors": [{
            "id": "1",
            "standard": standard,
            "format": format,
            "power_type": power_type,
            "max_voltage": volts,
            "max_amperage": amps,
            "max_electric_power": watts,
            "last_updated": updated,
        }],
        "physical_reference": reference,
        "last_updated": updated,
    });
    if let Some(t) = tariffs.get(&connector.id) {
        out["connectors"][0]["tariff_ids"] = json!([t.to_string()]);
    }
    out
}

/// When anything in the Location last changed.
pub(crate) fn last_updated(
    station: &Station,
    details: &LocationDetails,
    connectors: &[&Connector],
) -> DateTime<Utc> {
    connectors
        .iter()
        .map(|c| c.status_updated_at)
        .chain([station.created_at, details.updated_at])
        .max()
        .unwrap_or(details.updated_at)
}

/// A station's street address as OCPI takes it (at most 45 characters; its
/// name when it has none).
pub(crate) fn address(station: &Station) -> String {
    station
        .address
        .as_deref()
        .unwrap_or(&station.name)
        .chars()
        .take(45)
        .collect()
}

/// A station's position as an OCPI GeoLocation (decimal strings).
pub(crate) fn coordinates(station: &Station) -> Value {
    json!({
        "latitude": format!("{:.6}", station.latitude),
        "longitude": format!("{:.6}", station.longitude),
    })
}

/// A station as an OCPI Location, with its connectors as EVSEs.
pub(crate) fn location(
    party: &Party,
    station: &Station,
    details: &LocationDetails,
    connectors: &[&Connector],
    tariffs: &Tariffs,
    version: OcpiVersion,
) -> Value {
    let mut loc = json!({
        "country_code": party.country_code,
        "party_id": party.party_id,
        "id": station.id.to_string(),
        "publish": true,
        "name": station.name.chars().take(255).collect::<String>(),
        "address": address(station),
        "city": details.city,
        "country": details.country,
        "coordinates": coordinates(station),
        "evses": connectors.iter().map(|c| evse(c, tariffs, version)).collect::<Vec<_>>(),
        "time_zone": details.time_zone,
        "last_updated": timestamp(last_updated(station, details, connectors)),
    });
    if let Some(postal) = &details.postal_code {
        loc["postal_code"] = json!(postal);
    }
    loc
}

/// An EVSE by uid within a Location's connectors (2003 otherwise).
pub(crate) fn find_evse<'a>(connectors: &[&'a Connector], uid: &str) -> Result<&'a Connector> {
    connectors
        .iter()
        .find(|c| c.id.to_string() == uid)
        .copied()
        .ok_or_else(|| OcpiError::UnknownLocation(format!("EVSE {uid} not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn station() -> Station {
        Station {
            id: Uuid::new_v4(),
            name: "Harbour".into(),
            latitude: 59.9,
            longitude: 10.75,
            address: Some("Pier 1".into()),
            created_at: "2026-12-01T10:00:00Z".parse().expect("time"),
        }
    }

    fn connector(station: &Station, status: ConnectorStatus, kind: &str, kw: f64) -> Connector {
        Connector {
            id: Uuid::new_v4(),
            station_id: station.id,
            charger_id: Uuid::new_v4(),
            evse_id: 1,
            ocpp_connector_id: 1,
            connector_number: "1".into(),
            connector_type: kind.into(),
            power_kw: kw,
            status,
            status_updated_at: "2026-12-02T08:00:00Z".parse().expect("time"),
            current_booking_id: None,
            vendor_connector_id: None,
            vendor_id: None,
            last_known_status: None,
        }
    }

    fn details(station: &Station) -> LocationDetails {
        LocationDetails {
            station_id: station.id,
            city: "Oslo".into(),
            postal_code: Some("0150".into()),
            country: "NOR".into(),
            time_zone: "Europe/Oslo".into(),
            publish: true,
            updated_at: "2026-12-01T12:00:00Z".parse().expect("time"),
        }
    }

    #[test]
    fn a_station_becomes_a_location_with_one_evse_per_connector() {
        let s = station();
        let c1 = connector(&s, ConnectorStatus::Occupied, "CCS", 150.0);
        let c2 = connector(&s, ConnectorStatus::Offline, "Type 2", 22.0);
        let party = Party {
            country_code: "NO".into(),
            party_id: "EVG".into(),
        };
        let tariff = Uuid::new_v4();
        let tariffs = [(c1.id, tariff)].into_iter().collect();
        let loc = location(
            &party,
            &s,
            &details(&s),
            &[&c1, &c2],
            &tariffs,
            OcpiVersion::V221,
        );
        assert_eq!(loc["id"], s.id.to_string());
        assert_eq!(loc["party_id"], "EVG");
        assert_eq!(loc["coordinates"]["latitude"], "59.900000");
        assert_eq!(loc["postal_code"], "0150");
        assert_eq!(loc["last_updated"], "2026-12-02T08:00:00Z");
        let evses = loc["evses"].as_array().expect("evses");
        assert_eq!(evses.len(), 2);
        assert_eq!(evses[0]["status"], "CHARGING");
        assert_eq!(evses[0]["connectors"][0]["standard"], "IEC_62196_T2_COMBO");
        assert_eq!(evses[0]["connectors"][0]["power_type"], "DC");
        assert_eq!(evses[0]["connectors"][0]["max_amperage"], 375);
        assert_eq!(
            evses[0]["connectors"][0]["tariff_ids"][0],
            tariff.to_string()
        );
        assert!(evses[1]["connectors"][0].get("tariff_ids").is_none());
        assert_eq!(evses[1]["status"], "UNKNOWN");
        assert_eq!(evses[1]["connectors"][0]["standard"], "IEC_62196_T2");
        assert_eq!(evses[1]["connectors"][0]["max_amperage"], 32);
        assert_eq!(evses[1]["connectors"][0]["max_electric_power"], 22000);
    }

    #[test]
    fn every_status_has_an_ocpi_status() {
        for (ours, theirs) in [
            (ConnectorStatus::Available, "AVAILABLE"),
            (ConnectorStatus::Occupied, "CHARGING"),
            (ConnectorStatus::Reserved, "RESERVED"),
            (ConnectorStatus::Maintenance, "INOPERATIVE"),
            (ConnectorStatus::Faulted, "OUTOFORDER"),
            (ConnectorStatus::Offline, "UNKNOWN"),
        ] {
            assert_eq!(evse_status(ours), theirs);
        }
    }

    #[test]
    fn details_are_checked() {
        let s = station();
        assert!(details(&s).validate().is_ok());
        for (change, field) in [
            (
                Box::new(|d: &mut LocationDetails| d.city = " ".into())
                    as Box<dyn Fn(&mut LocationDetails)>,
                "city",
            ),
            (Box::new(|d| d.country = "NO".into()), "country"),
            (Box::new(|d| d.time_zone = "Mars/Base".into()), "timeZone"),
            (
                Box::new(|d| d.postal_code = Some("12345678901".into())),
                "postalCode",
            ),
        ] {
            let mut d = details(&s);
            change(&mut d);
            assert_eq!(d.validate().map_err(|e| e.0), Err(field));
        }
    }
}
