//! Closed status vocabularies with their one textual form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares a status enum whose variants map one-to-one to fixed strings,
/// with `as_str`, `Display` and `FromStr` agreeing with serde.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} {other:?}; expected one of {}",
                        stringify!($name),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// A connector's live status, as apps see it (the seed's vocabulary).
    ConnectorStatus {
        Available => "AVAILABLE",
        Occupied => "OCCUPIED",
        Reserved => "RESERVED",
        Maintenance => "MAINTENANCE",
        Offline => "OFFLINE",
        Faulted => "FAULTED",
    }
);

text_enum!(
    /// Where a booking is in its life.
    BookingStatus {
        Pending => "PENDING",
        Confirmed => "CONFIRMED",
        Cancelled => "CANCELLED",
        NoShow => "NO_SHOW",
        Completed => "COMPLETED",
        Active => "ACTIVE",
    }
);

impl BookingStatus {
    /// A live claim on the connector's time: no two may overlap.
    pub fn holds_the_connector(self) -> bool {
        matches!(self, BookingStatus::Confirmed | BookingStatus::Active)
    }
}

text_enum!(
    /// Where a charging session is in its life.
    SessionStatus {
        Starting => "STARTING",
        Charging => "CHARGING",
        Stopping => "STOPPING",
        Completed => "COMPLETED",
        Failed => "FAILED",
        Cancelled => "CANCELLED",
    }
);

text_enum!(
    /// Authorization status of an id tag (OCPP's vocabulary, shared by both versions).
    IdTagStatus {
        Accepted => "Accepted",
        Blocked => "Blocked",
        Expired => "Expired",
        Invalid => "Invalid",
    }
);

text_enum!(
    /// Delivery state of a refund request in the outbox.
    RefundState {
        Pending => "PENDING",
        Sent => "SENT",
        Failed => "FAILED",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip_through_str_and_serde() {
        for s in BookingStatus::ALL {
            assert_eq!(s.as_str().parse::<BookingStatus>().unwrap(), *s);
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<BookingStatus>(&json).unwrap(), *s);
        }
        assert_eq!(BookingStatus::NoShow.as_str(), "NO_SHOW");
        assert!("no_show".parse::<BookingStatus>().is_err());
    }

    #[test]
    fn only_confirmed_and_active_hold_the_connector() {
        let holding: Vec<_> = BookingStatus::ALL
            .iter()
            .filter(|s| s.holds_the_connector())
            .collect();
        assert_eq!(holding, [&BookingStatus::Confirmed, &BookingStatus::Active]);
    }
}
