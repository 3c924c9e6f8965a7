//! The booking service: availability, holds, confirmation, cancellation and
//! the workers that expire holds, reserve connectors ahead of a booking and
//! record no-shows. Plain code over the ports; time comes from the clock.

mod availability;
mod bookings;
mod holding;
mod workers;

use std::sync::Arc;

use chrono::TimeDelta;
use rand::RngCore;

use crate::charger_control::ChargerControl;
use crate::clock::Clock;
use crate::events::EventSink;
use crate::holds::HoldStore;
use crate::store::Store;

pub use availability::{Availability, Slot};
pub use holding::HoldRequest;

/// The tunable rules, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingRules {
    pub hold_ttl: TimeDelta,
    pub no_show_grace: TimeDelta,
    pub max_duration: TimeDelta,
    /// How long before its start a booking is reserved on the charger.
    pub reservation_lead: TimeDelta,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self {
            hold_ttl: TimeDelta::seconds(600),
            no_show_grace: TimeDelta::minutes(15),
            max_duration: TimeDelta::minutes(240),
            reservation_lead: TimeDelta::minutes(15),
        }
    }
}

/// Who is asking: a user sees and changes only their own bookings, an
/// admin all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: i64,
    pub admin: bool,
}

/// The ports the service works through.
#[derive(Debug, Clone)]
pub struct BookingService {
    store: Arc<dyn Store>,
    holds: Arc<dyn HoldStore>,
    chargers: Arc<dyn ChargerControl>,
    events: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    rules: BookingRules,
}

impl BookingService {
    pub fn new(
        store: Arc<dyn Store>,
        holds: Arc<dyn HoldStore>,
        chargers: Arc<dyn ChargerControl>,
        events: Arc<dyn EventSink>,
        clock: Arc<dyn Clock>,
        rules: BookingRules,
    ) -> Self {
        Self {
            store,
            holds,
            chargers,
            events,
            clock,
            rules,
        }
    }

    pub fn rules(&self) -> BookingRules {
        self.rules
    }
}

/// `hold_` and 128 random bits in hex.
fn new_hold_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("hold_{hex}")
}

/// An OCPP idTag (at most 20 characters): `EV` and 18 characters of
/// Crockford base32, 90 random bits, easy to read off a screen.
fn new_id_tag() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    let body: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect();
    format!("EV{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_id_tags_have_their_shape() {
        let t = new_hold_token();
        assert!(t.starts_with("hold_") && t.len() == 5 + 32, "{t}");
        assert_ne!(t, new_hold_token());
        let tag = new_id_tag();
        assert_eq!(tag.len(), 20);
        assert!(tag.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
