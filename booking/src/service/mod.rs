//! The booking service: availability, holds, confirmation, cancellation and
//! the workers that expire holds, reserve connectors ahead of a booking and
//! record no-shows. Plain code over the ports; time comes from the clock.

mod availability;
mod bookings;
mod holding;
mod updates;
mod workers;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use uuid::Uuid;

use crate::cache::{StationVersions, TtlCache};
use crate::catalog::{self, SharedStation};
use crate::charger_control::ChargerControl;
use crate::clock::Clock;
use crate::error::Result;
use crate::events::{Event, EventSink};
use crate::holds::HoldStore;
use crate::store::{BookingLedger, ChargerRegistry, SessionLog, StationStore};

pub use availability::{Availability, Slot};
pub use holding::HoldRequest;
pub use updates::{SessionStart, SessionStop};

/// The tunable rules, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingRules {
    /// How long a hold lasts unconfirmed (default 10 minutes).
    pub hold_ttl: TimeDelta,
    /// How long after its start a booking waits for a session before it is a
    /// no-show; the charger reservation expires then too (default 15 minutes).
    pub no_show_grace: TimeDelta,
    /// Longest bookable slot (default 4 hours).
    pub max_duration: TimeDelta,
    /// How long before its start a booking is reserved on the charger.
    pub reservation_lead: TimeDelta,
    /// How far ahead a slot may start: the availability window, so nobody
    /// books inventory years ahead.
    pub horizon: TimeDelta,
    /// Live (unconfirmed, unexpired) holds one user may have at once
    /// (`None`: no cap); admins are not capped.
    pub max_live_holds_per_user: Option<u32>,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self {
            hold_ttl: TimeDelta::seconds(600),
            no_show_grace: TimeDelta::minutes(15),
            max_duration: TimeDelta::minutes(240),
            reservation_lead: TimeDelta::minutes(15),
            horizon: TimeDelta::days(7),
            max_live_holds_per_user: Some(3),
        }
    }
}

/// Who is asking: a user sees and changes only their own bookings, an
/// admin all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The authenticated user.
    pub user_id: i64,
    /// Whether they may see and change everyone's bookings.
    pub admin: bool,
}

/// The ports the service works through.
#[derive(Debug, Clone)]
pub struct Ports {
    /// Stations and connectors, with their live status.
    pub stations: Arc<dyn StationStore>,
    /// Registered chargers; hands out OCPP reservation ids.
    pub registry: Arc<dyn ChargerRegistry>,
    /// The bookings, moved through their life by conditional writes.
    pub ledger: Arc<dyn BookingLedger>,
    /// Charging sessions, and the bookings they fulfil.
    pub sessions: Arc<dyn SessionLog>,
    /// Slots held while drivers pay: in process, or in Redis.
    pub holds: Arc<dyn HoldStore>,
    /// ReserveNow and CancelReservation on the chargers.
    pub chargers: Arc<dyn ChargerControl>,
    /// Where changes go out to apps.
    pub events: Arc<dyn EventSink>,
    /// Where "now" comes from; a manual clock in tests.
    pub clock: Arc<dyn Clock>,
    /// Station versions, which keep the read caches exact.
    pub versions: Arc<dyn StationVersions>,
}

/// Entries each read cache keeps at most.
const CACHE_ENTRIES: usize = 10_000;

#[derive(Debug)]
struct Caches {
    stations: TtlCache<(Uuid, u64), Arc<SharedStation>>,
    availability: TtlCache<AvailabilityKey, Arc<Availability>>,
}

/// station, version, first slot start, window end, slot minutes
type AvailabilityKey = (Uuid, u64, DateTime<Utc>, DateTime<Utc>, i64);

/// The booking service; cheap to clone (ports and caches are shared).
#[derive(Debug, Clone)]
pub struct BookingService {
    stations: Arc<dyn StationStore>,
    registry: Arc<dyn ChargerRegistry>,
    ledger: Arc<dyn BookingLedger>,
    sessions: Arc<dyn SessionLog>,
    holds: Arc<dyn HoldStore>,
    chargers: Arc<dyn ChargerControl>,
    events: Arc<dyn EventSink>,
    clock: Arc<dyn Clock>,
    versions: Arc<dyn StationVersions>,
    caches: Arc<Caches>,
    rules: BookingRules,
}

impl BookingService {
    /// The service over `ports`, with empty caches.
    pub fn new(ports: Ports, rules: BookingRules) -> Self {
        Self {
            stations: ports.stations,
            registry: ports.registry,
            ledger: ports.ledger,
            sessions: ports.sessions,
            holds: ports.holds,
            chargers: ports.chargers,
            events: ports.events,
            clock: ports.clock,
            versions: ports.versions,
            caches: Arc::new(Caches {
                stations: TtlCache::new(CACHE_ENTRIES),
                availability: TtlCache::new(CACHE_ENTRIES),
            }),
            rules,
        }
    }

    /// The rules it runs with.
    pub fn rules(&self) -> BookingRules {
        self.rules
    }

    /// Publishes a change, first making every cached read of its station
    /// stale. A failed bump is logged: the caches' TTLs still bound staleness.
    async fn emit(&self, event: Event) {
        self.invalidate_station(event.station_id()).await;
        self.events.publish(event);
    }

    /// Marks everything cached about a station stale (e.g. after an admin
    /// added a connector).
    pub async fn invalidate_station(&self, station_id: Uuid) {
        if let Err(e) = self.versions.bump(station_id).await {
            tracing::warn!(station.id = %station_id, error = %e, "cannot invalidate cached reads");
        }
    }

    /// Whether the state shared between instances (cache versions; in
    /// cluster mode, Redis) answers: part of readiness.
    pub async fn shared_state_ok(&self) -> Result<()> {
        self.versions.version(Uuid::nil()).await.map(|_| ())
    }

    /// A station with its connectors' live status, cached for 600 s per
    /// station version and shared (with its encoded response, once an edge
    /// made it).
    pub async fn station(&self, id: Uuid) -> Result<Arc<SharedStation>> {
        let now = self.clock.now();
        let version = self.versions.version(id).await?;
        if let Some(shared) = self.caches.stations.get(&(id, version), now) {
            return Ok(shared);
        }
        let shared = Arc::new(SharedStation::from(
            catalog::station(&*self.stations, id).await?,
        ));
        self.caches
            .stations
            .insert((id, version), shared.clone(), now + STATION_TTL, now);
        Ok(shared)
    }
}

/// The seed's cache lifetimes.
const STATION_TTL: TimeDelta = TimeDelta::seconds(600);
const AVAILABILITY_TTL: TimeDelta = TimeDelta::seconds(60);

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
