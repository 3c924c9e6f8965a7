//! Live EVSE status pushed to every registered partner's Locations
//! receiver (`PATCH …/{country_code}/{party_id}/{location_id}/{evse_uid}`),
//! from the same events that feed Socket.IO.
//!
//! Nothing is lost while a partner is down: each status change is queued
//! in the database per partner and EVSE, a newer status replacing an
//! undelivered older one (the partner wants where the EVSE is now, not
//! every step), and the pusher retries with backoff until the partner
//! acknowledges. One pusher runs in a cluster (a lease).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use booking::events::Event;
use booking::model::Connector;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::Ocpi;
use crate::envelope::timestamp;
use crate::locations::{Party, evse_status};
use crate::partner::{Partner, PartnerState};

/// Which module a push belongs to, and so where and how it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushModule {
    /// An EVSE's status: `PATCH {locations}/{cc}/{party}/{location}/{evse}`.
    Locations,
    /// A Booking: `PUT {bookings}/{cc}/{party}/{booking}` (2.3.0).
    Bookings,
    /// A Session: `PUT {sessions}/{cc}/{party}/{session}`.
    Sessions,
    /// A CDR: `POST {cdrs}`.
    Cdrs,
}

impl PushModule {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Locations => "locations",
            Self::Bookings => "bookings",
            Self::Sessions => "sessions",
            Self::Cdrs => "cdrs",
        }
    }
}

impl std::str::FromStr for PushModule {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "locations" => Ok(Self::Locations),
            "bookings" => Ok(Self::Bookings),
            "sessions" => Ok(Self::Sessions),
            "cdrs" => Ok(Self::Cdrs),
            other => Err(format!("unknown OCPI push module {other:?}")),
        }
    }
}

/// A state owed to a partner.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    /// The partner.
    pub partner_id: Uuid,
    /// What kind of object.
    pub module: PushModule,
    /// The object: the EVSE (connector) or the Booking.
    pub object_id: Uuid,
    /// Its Location (station).
    pub location_id: Uuid,
    /// The body: for an EVSE `status` and `last_updated`, for a Booking
    /// the whole object.
    pub body: Value,
    /// The state's time; a delivery removes the row only if it still
    /// holds this one.
    pub last_updated: DateTime<Utc>,
    /// Failed deliveries so far.
    pub attempts: i32,
    /// When it is tried next.
    pub next_attempt: DateTime<Utc>,
}

/// What one partner is owed (for operators).
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    /// The partner.
    pub partner_id: Uuid,
    /// Pushes waiting.
    pub waiting: i64,
    /// The earliest next attempt among them.
    pub next_attempt: DateTime<Utc>,
    /// The most failed attempts one of them has had.
    pub attempts: i32,
    /// The error of the one tried most.
    pub last_error: Option<String>,
}

/// How long after the `attempts`-th failure a push is tried again: 5 s,
/// doubling, at most an hour.
pub fn backoff(attempts: i32) -> TimeDelta {
    let doublings = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    TimeDelta::seconds(5i64.saturating_mul(1 << doublings).min(3600))
}

/// OCPI push attempts, by `module` and `outcome` (`delivered`, `failed`).
pub const PUSH_ATTEMPTS: &str = "evgate_ocpi_push_attempts_total";

/// Events taken per batch: a reconnect storm's statuses become a few
/// queue writes, not one each.
const BATCH: usize = 512;

/// Pushes taken per delivery round.
const ROUND: u32 = 200;

/// The lease's length; renewed every round.
const LEASE: TimeDelta = TimeDelta::seconds(15);

fn push_for(partner: &Partner, connector: &Connector, now: DateTime<Utc>) -> Push {
    Push {
        partner_id: partner.id,
        module: PushModule::Locations,
        object_id: connector.id,
        location_id: connector.station_id,
        body: json!({
            "status": evse_status(connector.status),
            "last_updated": timestamp(connector.status_updated_at),
        }),
        last_updated: connector.status_updated_at,
        attempts: 0,
        next_attempt: now,
    }
}

impl Ocpi {
    /// Registered partners that take pushes of `module`.
    async fn push_targets(&self, module: PushModule) -> booking::Result<Vec<Partner>> {
        Ok(self
            .store
            .partners()
            .await?
            .into_iter()
            .filter(|p| {
                p.state == PartnerState::Registered
                    && p.endpoint(module.as_str(), "RECEIVER").is_some()
            })
            .collect())
    }

    /// Queues the current status of these stations' connectors (only the
    /// published ones) for every partner that takes pushes.
    pub async fn queue_stations(
        &self,
        stations: &HashSet<Uuid>,
        only: Option<&HashSet<Uuid>>,
    ) -> booking::Result<usize> {
        if self.settings.is_none() || stations.is_empty() {
            return Ok(0);
        }
        let targets = self.push_targets(PushModule::Locations).await?;
        if targets.is_empty() {
            return Ok(0);
        }
        let published: Vec<Uuid> = self
            .store
            .published_locations()
            .await?
            .iter()
            .map(|(s, _)| s.id)
            .filter(|id| stations.contains(id))
            .collect();
        let connectors = self.core.connectors_of_stations(&published).await?;
        let now = self.clock.now();
        let pushes: Vec<Push> = connectors
            .iter()
            .filter(|c| only.is_none_or(|ids| ids.contains(&c.id)))
            .flat_map(|c| targets.iter().map(move |p| push_for(p, c, now)))
            .collect();
        self.store.queue_pushes(&pushes).await?;
        if !pushes.is_empty() {
            self.wake.notify_one();
        }
        Ok(pushes.len())
    }

    /// Follows the booking core's events and queues a push for every
    /// connector status change; runs until the bus closes. A lagging
    /// receiver re-queues every published station (nothing is skipped).
    pub async fn follow(self, mut events: broadcast::Receiver<Event>) {
        loop {
            let mut stations = HashSet::new();
            let mut connectors = HashSet::new();
            let mut everything = false;
            let mut bookings = Vec::new();
            let mut sessions = Changes::default();
            match events.recv().await {
                Ok(e) => take(
                    e,
                    &mut stations,
                    &mut connectors,
                    &mut bookings,
                    &mut sessions,
                ),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "OCPI: missed events; re-queueing every Location"
                    );
                    everything = true;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
            while stations.len() < BATCH {
                match events.try_recv() {
                    Ok(e) => take(
                        e,
                        &mut stations,
                        &mut connectors,
                        &mut bookings,
                        &mut sessions,
                    ),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => everything = true,
                    Err(_) => break,
                }
            }
            let result = if everything {
                match self.store.published_locations().await {
                    Ok(all) => {
                        let ids = all.iter().map(|(s, _)| s.id).collect();
                        self.queue_stations(&ids, None).await
                    }
                    Err(e) => Err(e),
                }
            } else {
                self.queue_stations(&stations, Some(&connectors)).await
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "OCPI: could not queue Location pushes");
            }
            for booking in &bookings {
                if let Err(e) = self.queue_booking(booking).await {
                    tracing::warn!(error = %e, booking.id = %booking.id, "OCPI: could not queue a Booking push");
                }
            }
            if let Err(e) = self.queue_sessions(sessions).await {
                tracing::warn!(error = %e, "OCPI: could not queue Session pushes");
            }
        }
    }

    /// Runs the pusher until the task is dropped: a round whenever a push
    /// is queued here, and every second for what other instances queued or
    /// what waits for a retry.
    pub async fn run_pusher(self) {
        let owner = Uuid::new_v4();
        loop {
            if let Err(e) = self.deliver_due(owner).await {
                tracing::warn!(error = %e, "OCPI: push round failed");
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), self.wake.notified()).await;
        }
    }

    /// One delivery round, if this instance holds the pusher's lease: every
    /// due push sent (a few partners' at once), each acknowledged or
    /// rescheduled. The number delivered.
    pub async fn deliver_due(&self, owner: Uuid) -> booking::Result<usize> {
        let Some(settings) = &self.settings else {
            return Ok(0);
        };
        let now = self.clock.now();
        if !self
            .store
            .lease("ocpi-push", owner, now, now + LEASE)
            .await?
        {
            return Ok(0);
        }
        let due = self.store.due_pushes(now, ROUND).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let partners: HashMap<Uuid, Partner> = self
            .store
            .partners()
            .await?
            .into_iter()
            .filter(|p| p.state == PartnerState::Registered)
            .map(|p| (p.id, p))
            .collect();
        let party = &settings.party;
        let sends = due
            .iter()
            .map(|push| self.send(partners.get(&push.partner_id), party, push));
        let results = futures_util::future::join_all(sends).await;
        let mut delivered = 0;
        for (push, result) in due.iter().zip(results) {
            let outcome = if result.is_ok() {
                "delivered"
            } else {
                "failed"
            };
            metrics::counter!(PUSH_ATTEMPTS, "module" => push.module.as_str(), "outcome" => outcome)
                .increment(1);
            match result {
                Ok(()) => {
                    self.store.push_delivered(push).await?;
                    delivered += 1;
                }
                Err(error) => {
                    let attempts = push.attempts + 1;
                    tracing::info!(partner = %push.partner_id, module = push.module.as_str(), object = %push.object_id, attempts, %error, "OCPI: push failed; will retry");
                    let next = self.clock.now() + backoff(attempts);
                    self.store.push_failed(push, next, &error).await?;
                }
            }
        }
        Ok(delivered)
    }

    async fn send(
        &self,
        partner: Option<&Partner>,
        party: &Party,
        push: &Push,
    ) -> Result<(), String> {
        // Unregistered or gone: nothing is owed any more.
        let Some(partner) = partner else {
            return Ok(());
        };
        let (Some(base), Some(token)) = (
            partner.endpoint(push.module.as_str(), "RECEIVER"),
            partner.their_token.as_deref(),
        ) else {
            return Ok(());
        };
        let root = format!(
            "{}/{}/{}",
            base.trim_end_matches('/'),
            party.country_code,
            party.party_id
        );
        let (method, url) = match push.module {
            PushModule::Locations => (
                "PATCH",
                format!("{root}/{}/{}", push.location_id, push.object_id),
            ),
            PushModule::Bookings | PushModule::Sessions => {
                ("PUT", format!("{root}/{}", push.object_id))
            }
            PushModule::Cdrs => ("POST", base.trim_end_matches('/').to_owned()),
        };
        self.api
            .call(method, &url, token, party, Some(&push.body))
            .await
            .map(|_| ())
    }
}

/// Sessions that changed in a batch: by id, or by the connector a meter
/// sample came from.
#[derive(Debug, Default)]
struct Changes {
    ids: HashSet<Uuid>,
    metered: HashSet<Uuid>,
}

impl Ocpi {
    async fn queue_sessions(&self, changes: Changes) -> booking::Result<()> {
        if changes.ids.is_empty() && changes.metered.is_empty() {
            return Ok(());
        }
        // Most charges are nobody's in OCPI: one read of the partners per
        // batch spares the per-session reads when no partner takes them.
        let takers = self.store.partners().await?.into_iter().any(|p| {
            p.state == PartnerState::Registered
                && (p.endpoint("sessions", "RECEIVER").is_some()
                    || p.endpoint("cdrs", "RECEIVER").is_some())
        });
        if !takers {
            return Ok(());
        }
        let mut ids = changes.ids;
        for connector in changes.metered {
            if let Some(open) = self.core.open_session_on(connector).await? {
                ids.insert(open.id);
            }
        }
        for id in ids {
            self.queue_session(id).await?;
        }
        Ok(())
    }
}

fn take(
    event: Event,
    stations: &mut HashSet<Uuid>,
    connectors: &mut HashSet<Uuid>,
    bookings: &mut Vec<booking::model::Booking>,
    sessions: &mut Changes,
) {
    match event {
        Event::SessionStarted { session_id, .. } | Event::SessionEnded { session_id, .. } => {
            sessions.ids.insert(session_id);
        }
        Event::MeterUpdate { connector_id, .. } => {
            sessions.metered.insert(connector_id);
        }
        Event::ConnectorStatusChanged {
            station_id,
            connector_id,
            ..
        } => {
            stations.insert(station_id);
            connectors.insert(connector_id);
        }
        // Only partners' bookings (negative users) concern OCPI.
        Event::BookingChanged { booking } if booking.user_id < 0 => bookings.push(booking),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(backoff(1), TimeDelta::seconds(5));
        assert_eq!(backoff(2), TimeDelta::seconds(10));
        assert_eq!(backoff(5), TimeDelta::seconds(80));
        assert_eq!(backoff(11), TimeDelta::seconds(3600));
        assert_eq!(backoff(1000), TimeDelta::seconds(3600));
    }
}
