//! Closed status vocabularies with their one textual form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares a status enum whose variants map one-to-one to fixed strings,
/// with `as_str`, `Display` and `FromStr` agreeing with serde.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The one textual form, as in JSON and the database.
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
        /// Free: a driver may plug in, and it offers slots.
        Available => "AVAILABLE",
        /// In use: a vehicle is plugged in or charging (OCPP Preparing to
        /// Finishing).
        Occupied => "OCCUPIED",
        /// The charger holds it for a reservation.
        Reserved => "RESERVED",
        /// Out of service (OCPP Unavailable); offers no slots.
        Maintenance => "MAINTENANCE",
        /// Its charger stayed away past the grace period; offers no slots.
        Offline => "OFFLINE",
        /// The charger reports a fault; offers no slots.
        Faulted => "FAULTED",
    }
);

text_enum!(
    /// Where a booking is in its life.
    BookingStatus {
        /// Kept from the seed's vocabulary (not yet paid); evgate keeps unpaid
        /// slots as holds, so creates none.
        Pending => "PENDING",
        /// Paid: claims its slot until a session starts, it is cancelled, or it
        /// is a no-show.
        Confirmed => "CONFIRMED",
        /// Cancelled by its driver, or because the charger would not reserve
        /// the connector.
        Cancelled => "CANCELLED",
        /// No session started by its start plus the no-show grace; a refund is
        /// owed.
        NoShow => "NO_SHOW",
        /// The session that fulfilled it has ended.
        Completed => "COMPLETED",
        /// A session fulfilling it is charging.
        Active => "ACTIVE",
    }
);

impl BookingStatus {
    /// Bookings in these states keep their slot from being held or offered.
    pub const TAKING_THE_SLOT: [BookingStatus; 3] = [
        BookingStatus::Pending,
        BookingStatus::Confirmed,
        BookingStatus::Active,
    ];

    /// A live claim on the connector's time: no two may overlap.
    pub fn holds_the_connector(self) -> bool {
        matches!(self, BookingStatus::Confirmed | BookingStatus::Active)
    }
}

text_enum!(
    /// Where a charging session is in its life.
    SessionStatus {
        /// Kept from the seed's vocabulary; evgate records sessions as CHARGING
        /// from the start, so never writes it.
        Starting => "STARTING",
        /// Open: started and not yet ended.
        Charging => "CHARGING",
        /// Kept from the seed's vocabulary; evgate ends a session in one step,
        /// so never writes it.
        Stopping => "STOPPING",
        /// Ended; its energy is final.
        Completed => "COMPLETED",
        /// Kept from the seed's vocabulary; evgate does not write it today.
        Failed => "FAILED",
        /// Kept from the seed's vocabulary; evgate does not write it today.
        Cancelled => "CANCELLED",
    }
);

text_enum!(
    /// Authorization status of an id tag (OCPP's vocabulary, shared by both versions).
    IdTagStatus {
        /// May charge.
        Accepted => "Accepted",
        /// Barred by the operator.
        Blocked => "Blocked",
        /// Past its expiry date.
        Expired => "Expired",
        /// Unknown to evgate, or otherwise not valid.
        Invalid => "Invalid",
    }
);

text_enum!(
    /// Delivery state of a refund request in the outbox.
    RefundState {
        /// Waiting to be sent: new, or due again after a failed attempt.
        Pending => "PENDING",
        /// The payment side accepted it.
        Sent => "SENT",
        /// Given up after the last allowed attempt; for an operator to look at.
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
