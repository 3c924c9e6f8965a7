//! What a charger shows on its screen: messages an operator set, messages
//! evgate set to announce a booking, and messages the charger reported.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Who put a message on a charger's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayOrigin {
    /// An operator, through the admin API.
    Operator,
    /// evgate, announcing a booking on the reserved connector.
    Booking,
    /// The charger reported it (NotifyDisplayMessages) without evgate
    /// having set it.
    Reported,
}

impl DisplayOrigin {
    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DisplayOrigin::Operator => "OPERATOR",
            DisplayOrigin::Booking => "BOOKING",
            DisplayOrigin::Reported => "REPORTED",
        }
    }
}

impl std::str::FromStr for DisplayOrigin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "OPERATOR" => DisplayOrigin::Operator,
            "BOOKING" => DisplayOrigin::Booking,
            "REPORTED" => DisplayOrigin::Reported,
            other => return Err(format!("unknown display message origin {other:?}")),
        })
    }
}

/// One message on one charger's screen, as the charger accepted it.
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayMessage {
    /// The charger showing it.
    pub charger_id: Uuid,
    /// The message's id on that charger (OCPP `MessageInfoType.id`).
    pub message_id: i32,
    /// Who set it.
    pub origin: DisplayOrigin,
    /// The message as the charger knows it (priority, state, schedule,
    /// content, display, transaction), in the charger's own words: the
    /// booking core never reads inside it.
    pub info: serde_json::Value,
    /// When evgate last learned it (UTC).
    pub updated_at: DateTime<Utc>,
}
