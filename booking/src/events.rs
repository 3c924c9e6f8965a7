//! What the booking core tells the world: one event per change that apps
//! watch. The realtime layer fans them out; station events carry no personal
//! data (no user ids, id tags or payment ids) — only `BookingChanged` names
//! its user, and is meant for that user alone.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::holds::Hold;
use crate::model::{Booking, ConnectorStatus};
use crate::sync::lock;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    HoldCreated {
        station_id: Uuid,
        connector_id: Uuid,
        start_ts: DateTime<Utc>,
        end_ts: DateTime<Utc>,
    },
    HoldReleased {
        station_id: Uuid,
        connector_id: Uuid,
        start_ts: DateTime<Utc>,
        end_ts: DateTime<Utc>,
    },
    /// A booking's status changed (confirmed, cancelled, no-show, active, completed).
    BookingChanged { booking: Booking },
    /// Live energy of the session on a connector.
    MeterUpdate {
        station_id: Uuid,
        connector_id: Uuid,
        energy_kwh: f64,
        at: DateTime<Utc>,
    },
    ConnectorStatusChanged {
        station_id: Uuid,
        connector_id: Uuid,
        status: ConnectorStatus,
        updated_at: DateTime<Utc>,
        /// While OFFLINE: the status the connector had before, for display.
        last_known_status: Option<ConnectorStatus>,
    },
    /// Charging began on a connector (OCPP transaction or vendor session).
    SessionStarted {
        station_id: Uuid,
        connector_id: Uuid,
        session_id: Uuid,
        started_at: DateTime<Utc>,
    },
    /// Charging ended on a connector.
    SessionEnded {
        station_id: Uuid,
        connector_id: Uuid,
        session_id: Uuid,
        ended_at: DateTime<Utc>,
        energy_kwh: Option<f64>,
    },
}

impl Event {
    pub fn hold_created(hold: &Hold) -> Self {
        Event::HoldCreated {
            station_id: hold.station_id,
            connector_id: hold.connector_id,
            start_ts: hold.start_ts,
            end_ts: hold.end_ts,
        }
    }

    pub fn hold_released(hold: &Hold) -> Self {
        Event::HoldReleased {
            station_id: hold.station_id,
            connector_id: hold.connector_id,
            start_ts: hold.start_ts,
            end_ts: hold.end_ts,
        }
    }

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
    fn publish(&self, event: Event);
}

/// Keeps every event; for tests.
#[derive(Debug, Default)]
pub struct RecordedEvents {
    events: std::sync::Mutex<Vec<Event>>,
}

impl RecordedEvents {
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *lock(&self.events))
    }
}

impl EventSink for RecordedEvents {
    fn publish(&self, event: Event) {
        lock(&self.events).push(event);
    }
}
