//! Which chargers are connected, and how to reach each one's connection
//! task. The newest authenticated connection of an identity wins: the older
//! one is told to close, and since entries are keyed by a per-connection id,
//! the old socket's clean-up can never remove the new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use booking::model::{Charger, OcppVersion};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::journal::{ChargerJournal, Journals};
use crate::rpc::RpcError;
use booking::sync::lock;

/// A CSMS-initiated CALL waiting for its connection task.
#[derive(Debug)]
pub struct OutboundCall {
    /// The OCPP action, e.g. `ReserveNow`.
    pub action: &'static str,
    /// The request payload, sent as it is.
    pub payload: Value,
    /// For a TriggerMessage, the action it asks the charger to send: a
    /// charger not yet accepted may send that one message.
    pub triggers: Option<String>,
    /// Where the outcome goes: the CALLRESULT payload, or why there is none.
    pub reply: oneshot::Sender<Result<Value, CallFailure>>,
}

impl OutboundCall {
    /// A call of `action`; for a TriggerMessage, also notes the
    /// `requestedMessage` it asks for.
    pub fn new(
        action: &'static str,
        payload: Value,
        reply: oneshot::Sender<Result<Value, CallFailure>>,
    ) -> Self {
        // `requestedMessage` in both versions.
        let triggers = (action == "TriggerMessage")
            .then(|| payload.get("requestedMessage").and_then(Value::as_str))
            .flatten()
            .map(str::to_owned);
        Self {
            action,
            payload,
            triggers,
            reply,
        }
    }
}

/// Why a CSMS-initiated call got no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallFailure {
    /// The charger answered with a CALLERROR.
    #[error("the charger answered with an error: {0}")]
    Error(RpcError),
    /// No answer within `CsmsConfig::call_timeout`.
    #[error("the charger did not answer in time")]
    Timeout,
    /// Not connected here, or the connection went away before an answer.
    #[error("the charger is not connected")]
    Offline,
    /// The charger's queue of outbound calls (16) is full.
    #[error("the charger's command queue is full")]
    Busy,
}

#[derive(Debug)]
struct Entry {
    connection: u64,
    version: OcppVersion,
    /// Boxed: the channel allocates its first block of slots up front,
    /// and every idle connection carries it.
    calls: mpsc::Sender<Box<OutboundCall>>,
    close: Option<oneshot::Sender<()>>,
}

/// The chargers connected to this instance, by charge point identity, with the
/// channels to their connection tasks. One entry per identity: the newest
/// connection wins.
#[derive(Debug)]
pub struct Registry {
    next: AtomicU64,
    entries: Mutex<HashMap<String, Entry>>,
    /// Identities as they connect, for whoever must know at once (cluster
    /// ownership).
    connects: tokio::sync::broadcast::Sender<Connected>,
    /// What the chargers said and were told, while they are here.
    journals: Journals,
}

impl Default for Registry {
    /// A registry with journals of the default size.
    fn default() -> Self {
        Self::new(Journals::new(
            crate::journal::DEFAULT_SIZE,
            crate::journal::DEFAULT_BUDGET,
        ))
    }
}

/// A charger that has just connected here.
#[derive(Debug, Clone)]
pub struct Connected {
    /// Its row, as the handshake read it.
    pub charger: Charger,
    /// The OCPP version it connected with.
    pub version: OcppVersion,
}

/// What a new connection holds: its id, and the receivers its task reads.
#[derive(Debug)]
pub struct Registration {
    /// This connection's id, unique in the process; [`Registry::unregister`]
    /// takes it so a stale clean-up removes nothing.
    pub connection: u64,
    /// CSMS-initiated calls for this charger, in order; at most 16 wait.
    pub calls: mpsc::Receiver<Box<OutboundCall>>,
    /// Fires when the connection must close: replaced by a newer one (here or
    /// on another instance), or shutdown.
    pub close: oneshot::Receiver<()>,
    /// Where the connection journals its frames (`None`: journals off).
    pub journal: Option<Arc<ChargerJournal>>,
    /// The queue of `calls`, for calls the connection asks of its own
    /// charger (a handler's [`crate::domain::FollowUp`]); weak, so the
    /// queue still closes when the registry lets go.
    pub own_calls: mpsc::WeakSender<Box<OutboundCall>>,
}

/// Outbound calls queued per charger at most; more is "busy".
const QUEUE: usize = 16;

impl Registry {
    /// An empty registry keeping `journals`.
    pub fn new(journals: Journals) -> Self {
        Self {
            next: AtomicU64::default(),
            entries: Mutex::default(),
            connects: tokio::sync::broadcast::channel(1024).0,
            journals,
        }
    }

    /// The chargers' message journals on this instance.
    pub fn journals(&self) -> &Journals {
        &self.journals
    }

    /// Registers a connection for `identity`, closing any older one.
    pub fn register(&self, identity: &str, version: OcppVersion) -> Registration {
        let connection = self.next.fetch_add(1, Ordering::Relaxed);
        let (calls_tx, calls) = mpsc::channel(QUEUE);
        let own_calls = calls_tx.downgrade();
        let (close_tx, close) = oneshot::channel();
        let old = self.lock().insert(
            identity.to_owned(),
            Entry {
                connection,
                version,
                calls: calls_tx,
                close: Some(close_tx),
            },
        );
        if let Some(mut old) = old
            && let Some(close) = old.close.take()
        {
            tracing::info!(
                charger.id = identity,
                "a newer connection replaces this charger's socket"
            );
            let _ = close.send(());
        }
        Registration {
            connection,
            calls,
            close,
            journal: self.journals.open(identity, connection),
            own_calls,
        }
    }

    /// Chargers as they connect here, with their row as the handshake read it.
    pub fn connects(&self) -> tokio::sync::broadcast::Receiver<Connected> {
        self.connects.subscribe()
    }

    /// Tells the `connects()` listeners that a charger's session started.
    pub fn announce(&self, charger: &Charger, version: OcppVersion) {
        // Nobody listening (one instance) is fine.
        let _ = self.connects.send(Connected {
            charger: charger.clone(),
            version,
        });
    }

    /// Closes this charger's socket here (a newer one lives elsewhere);
    /// `false` when it is not connected here.
    pub fn close(&self, identity: &str) -> bool {
        let mut entries = self.lock();
        match entries.get_mut(identity).and_then(|e| e.close.take()) {
            Some(close) => close.send(()).is_ok(),
            None => false,
        }
    }

    /// Removes the entry if it still belongs to `connection`; `true` when it did.
    pub fn unregister(&self, identity: &str, connection: u64) -> bool {
        let mut entries = self.lock();
        if entries
            .get(identity)
            .is_some_and(|e| e.connection == connection)
        {
            entries.remove(identity);
            true
        } else {
            false
        }
    }

    /// Tells every connection to close (shutdown): chargers see a clean
    /// close and reconnect, to another instance if there is one.
    pub fn close_all(&self) -> usize {
        let mut entries = self.lock();
        let mut told = 0;
        for entry in entries.values_mut() {
            if let Some(close) = entry.close.take() {
                told += usize::from(close.send(()).is_ok());
            }
        }
        told
    }

    /// The identities of the chargers connected here.
    pub fn identities(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// How many chargers hold a connection right now.
    pub fn connected(&self) -> usize {
        self.lock().len()
    }

    /// Whether `identity` has a connection here.
    pub fn is_connected(&self, identity: &str) -> bool {
        self.lock().contains_key(identity)
    }

    /// The OCPP version `identity` is connected with here; `None` when it is
    /// not connected here.
    pub fn version(&self, identity: &str) -> Option<OcppVersion> {
        self.lock().get(identity).map(|e| e.version)
    }

    /// Queues a CALL for the charger and waits for its result.
    pub async fn call(
        &self,
        identity: &str,
        action: &'static str,
        payload: Value,
    ) -> Result<Value, CallFailure> {
        let sender = self
            .lock()
            .get(identity)
            .map(|e| e.calls.clone())
            .ok_or(CallFailure::Offline)?;
        let (reply, answer) = oneshot::channel();
        sender
            .try_send(Box::new(OutboundCall::new(action, payload, reply)))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => CallFailure::Busy,
                mpsc::error::TrySendError::Closed(_) => CallFailure::Offline,
            })?;
        // The connection task enforces the call timeout; a dropped reply
        // means the socket went away.
        answer.await.unwrap_or(Err(CallFailure::Offline))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        lock(&self.entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_newest_connection_wins_and_the_old_cleanup_is_harmless() {
        let registry = Registry::default();
        let first = registry.register("CP-1", OcppVersion::V16);
        let second = registry.register("CP-1", OcppVersion::V201);
        assert!(
            first.close.await.is_ok(),
            "the old connection is told to close"
        );
        assert!(
            !registry.unregister("CP-1", first.connection),
            "old cleanup removes nothing"
        );
        assert_eq!(registry.version("CP-1"), Some(OcppVersion::V201));
        assert!(registry.unregister("CP-1", second.connection));
        assert!(!registry.is_connected("CP-1"));
    }

    #[tokio::test]
    async fn close_all_tells_every_connection() {
        let registry = Registry::default();
        let a = registry.register("CP-A", OcppVersion::V16);
        let b = registry.register("CP-B", OcppVersion::V201);
        assert_eq!(registry.close_all(), 2);
        assert!(a.close.await.is_ok() && b.close.await.is_ok());
        assert_eq!(registry.close_all(), 0, "told once");
    }

    #[tokio::test]
    async fn calls_to_absent_or_gone_chargers_fail_as_offline() {
        let registry = Registry::default();
        assert_eq!(
            registry.call("nobody", "Reset", Value::Null).await,
            Err(CallFailure::Offline)
        );
        let reg = registry.register("CP-2", OcppVersion::V16);
        drop(reg);
        assert_eq!(
            registry.call("CP-2", "Reset", Value::Null).await,
            Err(CallFailure::Offline)
        );
    }
}
