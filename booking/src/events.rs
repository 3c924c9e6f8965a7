//! What the booking core tells the world: one event per change that apps
//! watch. The realtime layer fans them out; station events carry no personal
//! data (no user ids, id tags or payment ids) — only `BookingChanged` names
//! its user, and is meant for that user alone.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::holds::Hold;
use crate::model::{Booking, ConnectorStatus};
use crate::sync::lock;

/// A change apps may watch, about one station; published after the store has
/// it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A slot was held while its driver pays: it is offered to no one else.
    HoldCreated {
        /// The station of the connector.
        station_id: Uuid,
        /// The connector held.
        connector_id: Uuid,
        /// Start of the held slot (UTC).
        start_ts: DateTime<Utc>,
        /// End of the held slot, exclusive (UTC).
        end_ts: DateTime<Utc>,
    },
    /// An expired hold was swept; unless it was confirmed into a booking, its
    /// slot is free again.
    HoldReleased {
        /// The station of the connector.
        station_id: Uuid,
        /// The connector that was held.
        connector_id: Uuid,
        /// Start of the slot (UTC).
        start_ts: DateTime<Utc>,
        /// End of the slot, exclusive (UTC).
        end_ts: DateTime<Utc>,
    },
    /// A booking's status changed (confirmed, cancelled, no-show, active, completed).
    BookingChanged {
        /// The booking as it is now; it names its user, so only that user hears
        /// it.
        booking: Booking,
    },
    /// Live energy of the session on a connector.
    MeterUpdate {
        /// The station of the connector.
        station_id: Uuid,
        /// The connector charging.
        connector_id: Uuid,
        /// Energy delivered in the session so far, in kWh.
        energy_kwh: f64,
        /// When the meter was read, as reported (UTC).
        at: DateTime<Utc>,
    },
    /// A connector's live status changed: a charger's or vendor's report, or
    /// its charger went offline.
    ConnectorStatusChanged {
        /// The station of the connector.
        station_id: Uuid,
        /// The connector whose status changed.
        connector_id: Uuid,
        /// Its new status.
        status: ConnectorStatus,
        /// The time the status holds from: the report's time, not its arrival
        /// (UTC).
        updated_at: DateTime<Utc>,
        /// While OFFLINE: the status the connector had before, for display.
        last_known_status: Option<ConnectorStatus>,
    },
    /// Charging began on a connector (OCPP transaction or vendor session).
    SessionStarted {
        /// The station of the connector.
        station_id: Uuid,
        /// The connector charging.
        connector_id: Uuid,
        /// evgate's id for the new session.
        session_id: Uuid,
        /// When charging began, as reported (UTC).
        started_at: DateTime<Utc>,
    },
    /// Charging ended on a connector.
    SessionEnded {
        /// The station of the connector.
        station_id: Uuid,
        /// The connector that was charging.
        connector_id: Uuid,
        /// The session that ended.
        session_id: Uuid,
        /// When charging ended, as reported (UTC).
        ended_at: DateTime<Utc>,
        /// Energy delivered in the whole session, in kWh, when known.
        energy_kwh: Option<f64>,
    },
}

impl Event {
    /// The [`Event::HoldCreated`] announcing `hold`.
    pub fn hold_created(hold: &Hold) -> Self {
        Event::HoldCreated {
            station_id: hold.station_id,
            connector_id: hold.connector_id,
            start_ts: hold.start_ts,
            end_ts: hold.end_ts,
        }
    }

    /// The [`Event::HoldReleased`] announcing that `hold` is gone.
    pub fn hold_released(hold: &Hold) -> Self {
        Event::HoldReleased {
            station_id: hold.station_id,
            connector_id: hold.connector_id,
            start_ts: hold.start_ts,
            end_ts: hold.end_ts,
        }
    }

    /// The station the event is about: where the realtime layer routes it, and
    /// whose cached reads it makes stale.
    pub fn station_id(&self) -> Uuid {
        match self {
            Event::HoldCreated { station_id, .. }
            | Event::HoldReleased { station_id, .. }
            | Event::MeterUpdate { station_id, .. }
            | Event::ConnectorStatusChanged { station_id, .. }
            | Event::SessionStarted { station_id, .. }
            | Event::SessionEnded { station_id, .. } => *station_id,
            Event::BookingChanged { booking } => booking.station_id,
        }
    }
}

/// Where events go. Publishing never blocks and never fails the change that
/// caused it: events are notifications, the store is the truth.
pub trait EventSink: Send + Sync + std::fmt::Debug + 'static {
    /// Hands the event on; must neither block nor fail.
    fn publish(&self, event: Event);
}

/// Keeps every event; for tests.
#[derive(Debug, Default)]
pub struct RecordedEvents {
    events: std::sync::Mutex<Vec<Event>>,
}

impl RecordedEvents {
    /// Drains the events recorded so far, oldest first.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *lock(&self.events))
    }
}

impl EventSink for RecordedEvents {
    fn publish(&self, event: Event) {
        lock(&self.events).push(event);
    }
}
