//! Firmware updates and log (diagnostics) uploads a charger was asked for,
//! and the statuses it reported about them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Which of a charger's two maintenance tracks a request or status is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaintenanceKind {
    /// UpdateFirmware, SignedUpdateFirmware and their status notifications.
    Firmware,
    /// GetDiagnostics, GetLog and their status notifications.
    Log,
}

impl MaintenanceKind {
    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MaintenanceKind::Firmware => "FIRMWARE",
            MaintenanceKind::Log => "LOG",
        }
    }
}

impl std::str::FromStr for MaintenanceKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "FIRMWARE" => Ok(MaintenanceKind::Firmware),
            "LOG" => Ok(MaintenanceKind::Log),
            other => Err(format!("unknown maintenance kind {other:?}")),
        }
    }
}

/// A request evgate sent (or is about to send) to a charger.
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceRequest {
    /// The charger asked.
    pub charger_id: Uuid,
    /// The id evgate gave the request, unique per charger (sent as
    /// `requestId` where the message has one).
    pub request_id: i32,
    /// Firmware or log.
    pub kind: MaintenanceKind,
    /// The OCPP action sent (`UpdateFirmware`, `GetLog`, …).
    pub action: String,
    /// Where the firmware comes from, or where the log goes.
    pub location: String,
    /// The secret in an upload location on evgate itself: what lets the
    /// charger deliver its file for this request only.
    pub upload_token: Option<String>,
    /// The charger's answer, in its words (`Accepted`, `Rejected`, …), or
    /// why none came; `None` until it answers.
    pub answer: Option<String>,
    /// When evgate asked (UTC).
    pub requested_at: DateTime<Utc>,
}

/// A status a charger reported (FirmwareStatusNotification and its kin).
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceStatus {
    /// The charger reporting.
    pub charger_id: Uuid,
    /// Firmware or log.
    pub kind: MaintenanceKind,
    /// The OCPP status word as sent (`Downloading`, `Uploaded`, …).
    pub status: String,
    /// The request it is about, when the message carries one (1.6 core
    /// messages do not).
    pub request_id: Option<i32>,
    /// When evgate heard it (UTC).
    pub reported_at: DateTime<Utc>,
}
