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
        /// OCPP 1.6 (OCPP-J).
        V16 => "ocpp1.6",
        /// OCPP 2.0.1.
        V201 => "ocpp2.0.1",
    }
);

text_enum!(
    /// Whether the operator admits a charger: how its BootNotification is
    /// answered. Until it is accepted a charger may only boot.
    ChargerAdmission {
        /// Admitted: the charger may send any message.
        Accepted => "ACCEPTED",
        /// Known, not yet admitted: it may only boot again until the operator
        /// decides.
        Pending => "PENDING",
        /// Refused: it may only boot again, after the interval it is given.
        Rejected => "REJECTED",
    }
);

/// OCPP security profile: 0 none, 1 Basic auth over ws, 2 Basic auth over
/// TLS, 3 TLS with a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct SecurityProfile(u8);

impl SecurityProfile {
    /// Profile 0: the charger does not authenticate.
    pub const NONE: Self = Self(0);
    /// Profile 1: HTTP Basic auth over an unencrypted WebSocket.
    pub const BASIC: Self = Self(1);
    /// Profile 2: HTTP Basic auth over TLS.
    pub const TLS_BASIC: Self = Self(2);
    /// Profile 3: TLS with a client certificate; no password.
    pub const TLS_CLIENT_CERT: Self = Self(3);

    /// The profile's number, 0 to 3.
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

/// A registered charge point: the box evgate speaks OCPP with, standing at one
/// station.
#[derive(Debug, Clone, PartialEq)]
pub struct Charger {
    /// evgate's id for it; its connectors refer to it.
    pub id: Uuid,
    /// The station it stands at.
    pub station_id: Uuid,
    /// The identity in the charger's OCPP URL (`/ocpp/{chargePointId}`).
    pub charge_point_id: String,
    /// How it must authenticate when it connects.
    pub security_profile: SecurityProfile,
    /// argon2 PHC string; only for profiles 1 and 2.
    pub password_hash: Option<String>,
    /// The OCPP version of its latest connection; `None` before the first.
    pub ocpp_version: Option<OcppVersion>,
    /// Vendor name from its latest BootNotification.
    pub vendor: Option<String>,
    /// Model from its latest BootNotification.
    pub model: Option<String>,
    /// Firmware version from its latest BootNotification.
    pub firmware_version: Option<String>,
    /// Whether it was connected to an evgate instance when its presence was
    /// last recorded.
    pub online: bool,
    /// When it was last heard from (UTC); `None` before its first connection.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When an operator registered it (UTC).
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
    /// The profile before the rotation.
    pub security_profile: SecurityProfile,
    /// The argon2 PHC string before the rotation; `None` for profiles 0 and 3.
    pub password_hash: Option<String>,
    /// When the old credentials stop being accepted (UTC).
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
    /// The identity it connected with.
    pub charge_point_id: String,
    /// The OCPP version it connected with.
    pub ocpp_version: Option<OcppVersion>,
    /// Vendor name from its BootNotification.
    pub vendor: Option<String>,
    /// Model from its BootNotification.
    pub model: Option<String>,
    /// Firmware version from its BootNotification.
    pub firmware_version: Option<String>,
    /// Serial number from its BootNotification.
    pub serial_number: Option<String>,
    /// When it first connected (UTC).
    pub first_seen_at: DateTime<Utc>,
    /// When it last connected (UTC).
    pub last_seen_at: DateTime<Utc>,
}
