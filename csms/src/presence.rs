//! Charger presence written in groups. Every connect, boot, heartbeat and
//! disconnect used to be a write of its own, and on SQLite's one writer a
//! reconnect storm queued every call behind them. Here facts about a
//! charger merge in memory (the later wins) and are written many chargers
//! to a transaction:
//!
//! - [`PresenceWriter::heard`] (a heartbeat, the charger's own status)
//!   returns at once; the fact goes out with the next group, at the latest
//!   after one flush period. A crash loses at most that much of last-seen.
//! - [`PresenceWriter::record`] (connect, boot, disconnect) waits for the
//!   commit of the group holding it. Whoever finds the writer free writes
//!   everything queued, its own fact and everyone else's (group commit), so
//!   a thousand boots at once are a handful of transactions.
//!
//! A group that fails goes back in the queue under anything newer, so
//! nothing is lost while the database is away; its waiters get the error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use booking::store::{ChargerPresence, PresenceUpdate};
use tokio::sync::oneshot;
use uuid::Uuid;

type Outcome = Result<(), String>;

/// The presence facts of every connection of this instance on their way to
/// the store. Cheap to clone: clones share one queue.
#[derive(Debug, Clone)]
pub struct PresenceWriter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn ChargerPresence>,
    queue: Mutex<Queue>,
    /// Held while a group is written: one group at a time, in order.
    writing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Queue {
    updates: HashMap<Uuid, PresenceUpdate>,
    waiters: Vec<oneshot::Sender<Outcome>>,
}

impl Queue {
    fn merge(&mut self, update: PresenceUpdate) {
        match self.updates.get_mut(&update.charger_id) {
            Some(queued) => queued.merge(update),
            None => {
                self.updates.insert(update.charger_id, update);
            }
        }
    }
}

impl PresenceWriter {
    /// A writer into `store`. Facts only [`heard`](Self::heard) wait for a
    /// [`record`](Self::record) or a flush: spawn [`run`](Self::run) to flush
    /// them periodically.
    pub fn new(store: Arc<dyn ChargerPresence>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                queue: Mutex::default(),
                writing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Queues a fact that may wait for the next group.
    pub fn heard(&self, update: PresenceUpdate) {
        // The nil id is a charger nobody registered: no row to update.
        if !update.charger_id.is_nil() {
            self.queue().merge(update);
        }
    }

    /// Queues a fact and returns once it is committed (or its group failed).
    pub async fn record(&self, update: PresenceUpdate) -> booking::Result<()> {
        if update.charger_id.is_nil() {
            return Ok(());
        }
        let (tx, mut rx) = oneshot::channel();
        {
            let mut queue = self.queue();
            queue.merge(update);
            queue.waiters.push(tx);
        }
        let _writing = self.inner.writing.lock().await;
        // An earlier writer may have taken this fact in its group.
        if let Ok(outcome) = rx.try_recv() {
            return outcome.map_err(booking::Error::Unavailable);
        }
        self.write_group().await;
        rx.await
            .unwrap_or_else(|_| Err("the presence writer went away".to_owned()))
            .map_err(booking::Error::Unavailable)
    }

    /// Writes whatever is queued now.
    pub async fn flush(&self) {
        let _writing = self.inner.writing.lock().await;
        self.write_group().await;
    }

    /// Flushes every `period` until dropped: how heard-only facts reach the
    /// store when no connect or boot carries them.
    pub async fn run(self, period: Duration) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.flush().await;
        }
    }

    /// Writes the queue as one group. The caller holds `writing`.
    async fn write_group(&self) {
        let (updates, waiters) = {
            let mut queue = self.queue();
            (
                std::mem::take(&mut queue.updates),
                std::mem::take(&mut queue.waiters),
            )
        };
        if updates.is_empty() {
            for waiter in waiters {
                let _ = waiter.send(Ok(()));
            }
            return;
        }
        let batch: Vec<PresenceUpdate> = updates.into_values().collect();
        let outcome = match self.inner.store.record_presence(&batch).await {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, chargers = batch.len(),
                    "cannot record charger presence; kept for the next write");
                let mut queue = self.queue();
                for mut older in batch {
                    if let Some(newer) = queue.updates.remove(&older.charger_id) {
                        older.merge(newer);
                    }
                    queue.updates.insert(older.charger_id, older);
                }
                Err(e.to_string())
            }
        };
        for waiter in waiters {
            let _ = waiter.send(outcome.clone());
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // The queue is consistent after every statement; a panic elsewhere
        // while it was held leaves nothing half-done.
        self.inner
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[path = "presence_tests.rs"]
mod tests;
