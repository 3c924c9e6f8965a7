//! A charge point: the box on the wall that speaks OCPP, identified by its
//! charge point identity.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::status::text_enum;

text_enum!(
    /// The OCPP version a charger last connected with (its WebSocket subprotocol).
    OcppVersion {
        V16 => "ocpp1.6",
        V201 => "ocpp2.0.1",
    }
);

text_enum!(
    /// Whether the operator admits a charger: how its BootNotification is
    /// answered. Until it is accepted a charger may only boot.
    ChargerAdmission {
        Accepted => "ACCEPTED",
        Pending => "PENDING",
        Rejected => "REJECTED",
    }
);

/// OCPP security profile: 0 none, 1 Basic auth over ws, 2 Basic auth over
/// TLS, 3 TLS with a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct SecurityProfile(u8);

impl SecurityProfile {
    pub const NONE: Self = Self(0);
    pub const BASIC: Self = Self(1);
    pub const TLS_BASIC: Self = Self(2);
    pub const TLS_CLIENT_CERT: Self = Self(3);

    pub fn get(self) -> u8 {
        self.0
    }

    /// Profiles 1 and 2 authenticate with a password; 0 and 3 do not.
    pub fn uses_password(self) -> bool {
        matches!(self.0, 1 | 2)
    }
}

impl TryFrom<u8> for SecurityProfile {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        if v <= 3 {
            Ok(Self(v))
        } else {
            Err(format!("security profile must be 0 to 3, got {v}"))
        }
    }
}

impl From<SecurityProfile> for u8 {
    fn from(p: SecurityProfile) -> u8 {
        p.0
    }
}

impl fmt::Display for SecurityProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for SecurityProfile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse::<u8>()
            .map_err(|_| format!("security profile must be 0 to 3, got {s:?}"))?
            .try_into()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Charger {
    pub id: Uuid,
    pub station_id: Uuid,
    /// The identity in the charger's OCPP URL (`/ocpp/{chargePointId}`).
    pub charge_point_id: String,
    pub security_profile: SecurityProfile,
    /// argon2 PHC string; only for profiles 1 and 2.
    pub password_hash: Option<String>,
    pub ocpp_version: Option<OcppVersion>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub firmware_version: Option<String>,
    pub online: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The operator's decision for this charger; `None` follows the
    /// default policy (`OCPP_DEFAULT_ADMISSION`).
    pub admission: Option<ChargerAdmission>,
    /// The credentials replaced by the last rotation, still accepted until the
    /// charger connects with the new ones or their time runs out.
    pub previous_credentials: Option<PreviousCredentials>,
    /// A rotation asked for while the charger was away, applied at its next
    /// connection. Sealed: only the gateway's credential key opens it.
    pub pending_credentials: Option<String>,
}

/// A charger's credentials before its last rotation: a charger that accepted
/// a new password may still be connecting with the old one (it applies the
/// change at its next reboot, or the change crossed a reconnect).
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousCredentials {
    pub security_profile: SecurityProfile,
    pub password_hash: Option<String>,
    pub until: DateTime<Utc>,
}

impl Charger {
    /// The previous credentials, if they are still accepted at `now`.
    pub fn previous_credentials_at(&self, now: DateTime<Utc>) -> Option<&PreviousCredentials> {
        self.previous_credentials.as_ref().filter(|p| now < p.until)
    }
}

/// A charger that connected with an identity no operator registered
/// (`OCPP_AUTO_REGISTER`): what it said about itself, waiting for an
/// operator to place it at a station.
#[derive(Debug, Clone, PartialEq)]
pub struct UnassignedCharger {
    pub charge_point_id: String,
    pub ocpp_version: Option<OcppVersion>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub firmware_version: Option<String>,
    pub serial_number: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}
