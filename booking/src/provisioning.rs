//! How an operator sets up a site: stations, the chargers at them, and the
//! connectors of each charger. Validation lives here, once, whichever edge
//! the request came through.

use uuid::Uuid;

use crate::clock::Clock;
use crate::credentials;
use crate::error::{Error, Result};
use crate::model::{Charger, Connector, NewConnector, SecurityProfile, Station};
use crate::store::{ChargerRegistry, SiteChanges, StationStore};

/// OCPP-J: the identity is one URL path segment of at most 48 characters.
pub const MAX_IDENTITY_CHARS: usize = 48;

/// An operator's request to create a station, before validation.
#[derive(Debug, Clone)]
pub struct StationInput {
    /// Display name; trimmed, 1 to 200 characters.
    pub name: String,
    /// WGS 84 degrees, -90 to 90.
    pub latitude: f64,
    /// WGS 84 degrees, -180 to 180.
    pub longitude: f64,
    /// Optional; trimmed, 1 to 500 characters when given.
    pub address: Option<String>,
}

/// An operator's request to register a charger at a station, before validation.
#[derive(Debug, Clone)]
pub struct ChargerInput {
    /// The OCPP identity it will connect with (see [`validate_identity`]).
    pub charge_point_id: String,
    /// Its security profile, 0 to 3 (see [`SecurityProfile`]).
    pub security_profile: u8,
    /// The password in clear, 16 to 40 characters: required for profiles 1 and
    /// 2, refused for 0 and 3. Only its hash is stored.
    pub password: Option<String>,
}

/// An operator's request to add a connector to a charger, before validation.
#[derive(Debug, Clone)]
pub struct ConnectorInput {
    /// The charger's identity; it must stand at the station.
    pub charge_point_id: String,
    /// 2.0.1 EVSE id, positive; defaults to `connector_id`, as on 1.6.
    pub evse_id: Option<i64>,
    /// Its OCPP connector number, a positive 32-bit integer.
    pub connector_id: i64,
    /// What drivers see (at most 16 characters); `None` lets the store number
    /// it.
    pub connector_number: Option<String>,
    /// Plug type, 1 to 32 characters.
    pub connector_type: String,
    /// Rated power in kW, greater than 0 and at most 1000.
    pub power_kw: f64,
}

/// Validates and stores a new station.
pub async fn create_station(
    store: &dyn StationStore,
    clock: &dyn Clock,
    input: StationInput,
) -> Result<Station> {
    let station = station_of(Uuid::new_v4(), input, clock.now())?;
    store.insert_station(&station).await?;
    Ok(station)
}

/// A station's fields checked, as creating and editing both need them.
fn station_of(
    id: Uuid,
    input: StationInput,
    created_at: chrono::DateTime<chrono::Utc>,
) -> Result<Station> {
    let name = required_text("name", &input.name, 200)?;
    let address = input
        .address
        .as_deref()
        .map(|a| required_text("address", a, 500))
        .transpose()?;
    check_coordinate("latitude", input.latitude, 90.0)?;
    check_coordinate("longitude", input.longitude, 180.0)?;
    Ok(Station {
        id,
        name,
        latitude: input.latitude,
        longitude: input.longitude,
        address,
        created_at,
    })
}

/// Replaces a station's name, place and address, checked as at creation.
pub async fn update_station(
    store: &dyn SiteChanges,
    id: Uuid,
    input: StationInput,
) -> Result<Station> {
    // The store keeps the stored creation time; this one is not written.
    let station = station_of(id, input, chrono::DateTime::UNIX_EPOCH)?;
    store
        .update_station(&station)
        .await?
        .ok_or_else(|| Error::not_found("station", id))
}

/// A connector's label, type and power, as an operator may change them.
#[derive(Debug, Clone)]
pub struct ConnectorChange {
    /// The label apps show.
    pub connector_number: String,
    /// e.g. `CCS`, `Type2`.
    pub connector_type: String,
    /// Its power, kW.
    pub power_kw: f64,
}

/// Replaces a connector's label, type and power, checked as at creation.
pub async fn update_connector(
    store: &dyn SiteChanges,
    id: Uuid,
    change: ConnectorChange,
) -> Result<Connector> {
    let number = required_text("connectorNumber", &change.connector_number, 16)?;
    let kind = required_text("connectorType", &change.connector_type, 32)?;
    check_power(change.power_kw)?;
    store
        .update_connector(id, &number, &kind, change.power_kw)
        .await?
        .ok_or_else(|| Error::not_found("connector", id))
}

/// Registers a charger identity at a station. The password is hashed before
/// it is stored; hashing is slow, so this runs it on a blocking thread when
/// called from async code (see [`credentials`]).
pub async fn create_charger<S: StationStore + ChargerRegistry + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    station_id: Uuid,
    input: ChargerInput,
    hash: impl AsyncFnOnce(String) -> Result<String>,
) -> Result<Charger> {
    validate_identity("chargePointId", &input.charge_point_id)?;
    let profile = SecurityProfile::try_from(input.security_profile)
        .map_err(|m| Error::validation("securityProfile", m))?;
    let password_hash = match (profile.uses_password(), input.password) {
        (true, Some(p)) => {
            credentials::validate_password("password", &p)?;
            Some(hash(p).await?)
        }
        (true, None) => {
            return Err(Error::validation(
                "password",
                format!("is required for security profile {profile}"),
            ));
        }
        (false, Some(_)) => {
            return Err(Error::validation(
                "password",
                format!("is not used by security profile {profile}; leave it out"),
            ));
        }
        (false, None) => None,
    };
    if store.station(station_id).await?.is_none() {
        return Err(Error::not_found("station", station_id));
    }
    let charger = Charger {
        id: Uuid::new_v4(),
        station_id,
        charge_point_id: input.charge_point_id,
        security_profile: profile,
        password_hash,
        ocpp_version: None,
        vendor: None,
        model: None,
        firmware_version: None,
        online: false,
        last_seen_at: None,
        created_at: clock.now(),
        admission: None,
        previous_credentials: None,
        pending_credentials: None,
    };
    store.insert_charger(&charger).await?;
    Ok(charger)
}

/// Validates and stores a connector of a charger at the station; it starts
/// OFFLINE until its charger reports a status.
pub async fn create_connector<S: StationStore + ChargerRegistry + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    station_id: Uuid,
    input: ConnectorInput,
) -> Result<Connector> {
    let connector_id = positive_i32("connectorId", input.connector_id)?;
    let evse_id = match input.evse_id {
        Some(e) => positive_i32("evseId", e)?,
        None => connector_id,
    };
    let connector_type = required_text("connectorType", &input.connector_type, 32)?;
    let connector_number = input
        .connector_number
        .as_deref()
        .map(|n| required_text("connectorNumber", n, 16))
        .transpose()?;
    check_power(input.power_kw)?;
    if store.station(station_id).await?.is_none() {
        return Err(Error::not_found("station", station_id));
    }
    let charger = store
        .charger_by_identity(&input.charge_point_id)
        .await?
        .filter(|c| c.station_id == station_id)
        .ok_or_else(|| {
            Error::validation(
                "chargePointId",
                format!(
                    "no charger {:?} at station {station_id}",
                    input.charge_point_id
                ),
            )
        })?;
    store
        .insert_connector(&NewConnector {
            id: Uuid::new_v4(),
            station_id,
            charger_id: charger.id,
            evse_id,
            ocpp_connector_id: connector_id,
            connector_number,
            connector_type,
            power_kw: input.power_kw,
            created_at: clock.now(),
        })
        .await
}

/// OCPP-J identity rules: 1 to 48 characters, one URL path segment, no `:`
/// (it would break Basic auth's `user:password`).
pub fn validate_identity(field: &str, id: &str) -> Result<()> {
    let n = id.chars().count();
    if n == 0 || n > MAX_IDENTITY_CHARS {
        return Err(Error::validation(
            field,
            format!("must be 1 to {MAX_IDENTITY_CHARS} characters, got {n}"),
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| matches!(c, ':' | '/' | '?' | '#' | '%') || c.is_whitespace() || c.is_control())
    {
        return Err(Error::validation(field, format!("must not contain {c:?}")));
    }
    Ok(())
}

fn required_text(field: &str, value: &str, max_chars: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    if v.chars().count() > max_chars {
        return Err(Error::validation(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(v.to_owned())
}

fn check_coordinate(field: &str, v: f64, bound: f64) -> Result<()> {
    if v.is_finite() && (-bound..=bound).contains(&v) {
        Ok(())
    } else {
        Err(Error::validation(
            field,
            format!("must be between -{bound} and {bound}"),
        ))
    }
}

fn check_power(kw: f64) -> Result<()> {
    if kw.is_finite() && kw > 0.0 && kw <= 1000.0 {
        Ok(())
    } else {
        Err(Error::validation(
            "powerKw",
            "must be greater than 0 and at most 1000",
        ))
    }
}

fn positive_i32(field: &str, v: i64) -> Result<i32> {
    i32::try_from(v)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| Error::validation(field, "must be a positive 32-bit integer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_rules() {
        assert!(validate_identity("id", "CP-001").is_ok());
        assert!(validate_identity("id", &"x".repeat(48)).is_ok());
        assert!(validate_identity("id", &"x".repeat(49)).is_err());
        assert!(validate_identity("id", "").is_err());
        for bad in ["cp:1", "cp/1", "cp 1", "cp%201"] {
            assert!(validate_identity("id", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn coordinates_and_numbers() {
        assert!(check_coordinate("latitude", 90.0, 90.0).is_ok());
        assert!(check_coordinate("latitude", 90.01, 90.0).is_err());
        assert!(check_coordinate("latitude", f64::NAN, 90.0).is_err());
        assert!(positive_i32("connectorId", 0).is_err());
        assert!(positive_i32("connectorId", i64::from(i32::MAX) + 1).is_err());
        assert_eq!(positive_i32("connectorId", 2).unwrap(), 2);
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(required_text("name", "  A  ", 10).unwrap(), "A");
        assert!(required_text("name", "   ", 10).is_err());
        assert!(required_text("name", "abcdefghijk", 10).is_err());
    }
}
