//! The group-commit rules, against a store that records each batch (and
//! can be held, or made to fail): what is written, in how many
//! transactions, and that nothing is lost when a write fails.

use super::*;
use booking::model::OcppVersion;
use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

#[derive(Debug, Default)]
struct Recorded {
    batches: Mutex<Vec<Vec<PresenceUpdate>>>,
    /// Writes fail while this is above zero (one per write).
    failures: Mutex<u32>,
    /// When set, each write first takes a permit.
    gate: Option<Semaphore>,
}

#[async_trait::async_trait]
impl ChargerPresence for Recorded {
    async fn record_presence(&self, batch: &[PresenceUpdate]) -> booking::Result<()> {
        if let Some(gate) = &self.gate {
            gate.acquire().await.map(|p| p.forget()).ok();
        }
        {
            let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
            if *failures > 0 {
                *failures -= 1;
                return Err(booking::Error::Unavailable("database away".into()));
            }
        }
        let mut sorted = batch.to_vec();
        sorted.sort_by_key(|u| u.seen_at);
        self.batches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sorted);
        Ok(())
    }
}

impl Recorded {
    fn batches(&self) -> Vec<Vec<PresenceUpdate>> {
        self.batches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn fact(charger: u128, online: bool, secs: i64) -> PresenceUpdate {
    PresenceUpdate {
        charger_id: Uuid::from_u128(charger),
        online,
        version: Some(OcppVersion::V16),
        seen_at: at(secs),
        boot: None,
    }
}

#[tokio::test]
async fn heartbeats_wait_for_the_next_group_and_merge_into_one_row() {
    let store = Arc::new(Recorded::default());
    let writer = PresenceWriter::new(store.clone());
    for secs in 1..=100 {
        writer.heard(fact(1, true, secs));
    }
    writer.heard(fact(0, true, 5)); // nobody's charger: never written
    assert!(store.batches().is_empty(), "heard facts do not write");
    writer.flush().await;
    assert_eq!(store.batches(), [vec![fact(1, true, 100)]]);
    writer.flush().await;
    assert_eq!(store.batches().len(), 1, "an empty queue writes nothing");
}

#[tokio::test]
async fn a_recorded_fact_is_committed_before_record_returns() {
    let store = Arc::new(Recorded::default());
    let writer = PresenceWriter::new(store.clone());
    writer.heard(fact(2, true, 1));
    writer.record(fact(1, false, 2)).await.expect("written");
    assert_eq!(
        store.batches(),
        [vec![fact(2, true, 1), fact(1, false, 2)]],
        "the heard fact rode along"
    );
    writer
        .record(fact(Uuid::nil().as_u128(), true, 3))
        .await
        .expect("an unregistered charger has nothing to wait for");
    assert_eq!(store.batches().len(), 1);
}

#[tokio::test]
async fn facts_arriving_during_a_write_share_the_next_transaction() {
    let store = Arc::new(Recorded {
        gate: Some(Semaphore::new(0)),
        ..Recorded::default()
    });
    let writer = PresenceWriter::new(store.clone());
    let first = tokio::spawn({
        let writer = writer.clone();
        async move { writer.record(fact(0xfff, true, 0)).await }
    });
    tokio::task::yield_now().await;
    let boots: Vec<_> = (1..=50)
        .map(|n| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.record(fact(n, true, n as i64)).await })
        })
        .collect();
    tokio::task::yield_now().await;
    let gate = store.gate.as_ref().expect("gated");
    gate.add_permits(10);
    first.await.expect("joined").expect("written");
    for boot in boots {
        boot.await.expect("joined").expect("written");
    }
    let sizes: Vec<usize> = store.batches().iter().map(Vec::len).collect();
    assert_eq!(sizes, [1, 50], "51 facts, two transactions");
}

#[tokio::test]
async fn a_failed_group_is_kept_and_written_with_newer_facts() {
    let store = Arc::new(Recorded {
        failures: Mutex::new(1),
        ..Recorded::default()
    });
    let writer = PresenceWriter::new(store.clone());
    let mut boot = fact(1, true, 1);
    boot.boot = Some(booking::store::BootInfo::default());
    let failed = writer.record(boot.clone()).await;
    assert!(
        matches!(failed, Err(booking::Error::Unavailable(_))),
        "{failed:?}"
    );
    writer.heard(fact(1, true, 9));
    writer.flush().await;
    let mut merged = boot;
    merged.seen_at = at(9);
    assert_eq!(
        store.batches(),
        [vec![merged]],
        "the boot survived the failed write, with the newer last-seen"
    );
}
