//! Transactions started before their EVSE is known. A 2.0.1 station whose
//! TxStartPoint is `Authorized` or `ParkingBayOccupied` sends
//! `TransactionEvent` Started without `evse` (no cable yet); the EVSE comes
//! with a later event (TC_E_12). What the Started event said is kept here
//! until then, so the session opens on the right connector with the
//! driver's token, start time and meter reading.
//!
//! In memory, per instance: a restart in between loses the Started event's
//! facts, and the session opens from the first event naming the EVSE.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use booking::sync::lock;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

/// Starts kept at most; beyond it the oldest are forgotten.
const MOST: usize = 10_000;
/// A start whose EVSE never came is forgotten after this long.
const KEEP: TimeDelta = TimeDelta::hours(24);

/// What a Started event without `evse` said.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingStart {
    /// The driver's token, when the event carried one.
    pub id_tag: Option<String>,
    /// The reservation the transaction fulfils, if any.
    pub reservation_id: Option<i32>,
    /// When the transaction started (the event's timestamp).
    pub started_at: DateTime<Utc>,
    /// The energy register at the start, when sent.
    pub meter_start_wh: Option<f64>,
}

/// Started transactions waiting for their EVSE, by charger and transaction id.
#[derive(Debug, Clone, Default)]
pub struct PendingStarts(Arc<Mutex<HashMap<(Uuid, String), PendingStart>>>);

impl PendingStarts {
    /// Keeps `start` until the transaction's EVSE is known; the first start
    /// of a transaction wins (a replayed Started changes nothing).
    pub fn remember(
        &self,
        charger: Uuid,
        transaction_id: &str,
        start: PendingStart,
        now: DateTime<Utc>,
    ) {
        let mut starts = lock(&self.0);
        if starts.len() >= MOST {
            starts.retain(|_, s| now - s.started_at < KEEP);
            if starts.len() >= MOST
                && let Some(oldest) = starts
                    .iter()
                    .min_by_key(|(_, s)| s.started_at)
                    .map(|(k, _)| k.clone())
            {
                starts.remove(&oldest);
            }
        }
        starts
            .entry((charger, transaction_id.to_owned()))
            .or_insert(start);
    }

    /// The start of this transaction, if it was waiting: it is handed out once.
    pub fn take(&self, charger: Uuid, transaction_id: &str) -> Option<PendingStart> {
        lock(&self.0).remove(&(charger, transaction_id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn start(minute: i64) -> PendingStart {
        PendingStart {
            id_tag: Some("TAG".into()),
            reservation_id: None,
            started_at: DateTime::UNIX_EPOCH + TimeDelta::minutes(minute),
            meter_start_wh: Some(1.0),
        }
    }

    #[test]
    fn the_first_start_is_kept_and_handed_out_once() {
        let pending = PendingStarts::default();
        let cp = Uuid::new_v4();
        let now = DateTime::UNIX_EPOCH;
        pending.remember(cp, "tx", start(1), now);
        pending.remember(cp, "tx", start(2), now);
        assert_eq!(
            pending.take(Uuid::new_v4(), "tx"),
            None,
            "another charger's"
        );
        assert_eq!(pending.take(cp, "tx"), Some(start(1)));
        assert_eq!(pending.take(cp, "tx"), None);
    }

    #[test]
    fn it_stays_bounded() {
        let pending = PendingStarts::default();
        let cp = Uuid::new_v4();
        let now = DateTime::UNIX_EPOCH + TimeDelta::hours(48);
        for n in 0..MOST + 5 {
            let minute = i64::try_from(n).unwrap();
            pending.remember(cp, &n.to_string(), start(24 * 60 + minute), now);
        }
        assert!(lock(&pending.0).len() <= MOST);
        assert!(
            pending.take(cp, &(MOST + 4).to_string()).is_some(),
            "the newest is kept"
        );
    }
}
