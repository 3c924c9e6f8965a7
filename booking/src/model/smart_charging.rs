//! Smart charging as evgate keeps it: the charging profiles it set on each
//! charger (and the charger accepted), the profiles and external limits a
//! 2.0.1 charger reported, and the power cap an operator put on a station.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a charging profile is for, in both versions' words (1.6's
/// ChargePointMaxProfile is 2.0.1's ChargingStationMaxProfile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfilePurpose {
    /// The whole charger's limit.
    StationMax,
    /// The default for transactions that have no profile of their own.
    TxDefault,
    /// One transaction's limit; the charger drops it when it ends.
    Tx,
    /// 2.0.1: a limit set by something other than the CSMS (reported only).
    ExternalConstraints,
}

impl ProfilePurpose {
    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfilePurpose::StationMax => "STATION_MAX",
            ProfilePurpose::TxDefault => "TX_DEFAULT",
            ProfilePurpose::Tx => "TX",
            ProfilePurpose::ExternalConstraints => "EXTERNAL_CONSTRAINTS",
        }
    }

    /// From an OCPP `chargingProfilePurpose` of either version.
    pub fn from_ocpp(purpose: &str) -> Option<Self> {
        Some(match purpose {
            "ChargePointMaxProfile" | "ChargingStationMaxProfile" => ProfilePurpose::StationMax,
            "TxDefaultProfile" => ProfilePurpose::TxDefault,
            "TxProfile" => ProfilePurpose::Tx,
            "ChargingStationExternalConstraints" => ProfilePurpose::ExternalConstraints,
            _ => return None,
        })
    }

    /// Whether a charger keeps it beyond one transaction: what evgate
    /// re-sends after a boot.
    pub fn outlives_transactions(self) -> bool {
        matches!(self, ProfilePurpose::StationMax | ProfilePurpose::TxDefault)
    }
}

impl std::str::FromStr for ProfilePurpose {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "STATION_MAX" => ProfilePurpose::StationMax,
            "TX_DEFAULT" => ProfilePurpose::TxDefault,
            "TX" => ProfilePurpose::Tx,
            "EXTERNAL_CONSTRAINTS" => ProfilePurpose::ExternalConstraints,
            other => return Err(format!("unknown charging profile purpose {other:?}")),
        })
    }
}

/// Who put a charging profile on a charger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileOrigin {
    /// An operator (the admin API or a SetChargingProfile command).
    Operator,
    /// evgate, sharing a station's power cap among its sessions.
    PowerCap,
    /// The charger reported it (2.0.1 ReportChargingProfiles).
    Reported,
}

impl ProfileOrigin {
    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileOrigin::Operator => "OPERATOR",
            ProfileOrigin::PowerCap => "POWER_CAP",
            ProfileOrigin::Reported => "REPORTED",
        }
    }
}

impl std::str::FromStr for ProfileOrigin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "OPERATOR" => ProfileOrigin::Operator,
            "POWER_CAP" => ProfileOrigin::PowerCap,
            "REPORTED" => ProfileOrigin::Reported,
            other => return Err(format!("unknown charging profile origin {other:?}")),
        })
    }
}

/// One charging profile on one charger, as evgate set it (and the charger
/// accepted) or as the charger reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargingProfile {
    /// The charger holding it.
    pub charger_id: Uuid,
    /// Its id on that charger (1.6 `chargingProfileId`, 2.0.1 `id`).
    pub profile_id: i32,
    /// Who set it.
    pub origin: ProfileOrigin,
    /// 1.6 `connectorId` or 2.0.1 `evseId`; 0 is the whole charger.
    pub evse_id: i32,
    /// What it is for.
    pub purpose: ProfilePurpose,
    /// Its stack level.
    pub stack_level: i32,
    /// The profile as sent (1.6 `csChargingProfiles`, 2.0.1
    /// `chargingProfile`), in the charger's version: re-sent as it is.
    pub profile: serde_json::Value,
    /// When evgate last set or learned it (UTC).
    pub updated_at: DateTime<Utc>,
}

/// Which of the profiles evgate set a ClearChargingProfile removes: every
/// given field must match (none given: all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfileFilter {
    /// This id only.
    pub profile_id: Option<i32>,
    /// On this connector/EVSE only.
    pub evse_id: Option<i32>,
    /// Of this purpose only.
    pub purpose: Option<ProfilePurpose>,
    /// At this stack level only.
    pub stack_level: Option<i32>,
}

/// A limit a 2.0.1 charger reported from a source other than the CSMS
/// (NotifyChargingLimit), until it reports it cleared.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalChargingLimit {
    /// The charger reporting it.
    pub charger_id: Uuid,
    /// `EMS`, `Other`, `SO` or `CSO`.
    pub source: String,
    /// The EVSE it applies to; 0 is the whole charger.
    pub evse_id: i32,
    /// The NotifyChargingLimit payload as reported.
    pub limit: serde_json::Value,
    /// When it was reported (UTC).
    pub updated_at: DateTime<Utc>,
}

/// A station's power cap, shared by its charging sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct StationPowerLimit {
    /// The station.
    pub station_id: Uuid,
    /// The cap, in watts.
    pub max_w: i64,
    /// When an operator set it (UTC).
    pub updated_at: DateTime<Utc>,
}
