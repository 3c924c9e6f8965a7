//! The in-process event bus: the booking core publishes, subscribers (the
//! realtime layer, tests) receive. A slow subscriber lags and loses old
//! events rather than slowing the publisher.

use booking::events::{Event, EventSink};
use tokio::sync::broadcast;

/// Events buffered per subscriber before a slow one starts losing them.
const CAPACITY: usize = 4096;

/// A broadcast channel of booking-core events; clones share it.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl EventBus {
    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

impl EventSink for EventBus {
    fn publish(&self, event: Event) {
        // No subscriber is not an error: nobody is watching yet.
        let _ = self.tx.send(event);
    }
}
