//! Connector status reports written in groups. A reconnect storm brings
//! every charger's StatusNotifications at once; written one statement each,
//! they queued behind SQLite's one writer for seconds. Here each report
//! still waits for its own row to be written (ordering and "never lost"
//! hold: the charger's answer follows the commit), but the reports queued
//! while the writer was busy go together, in one statement.
//!
//! No timer: a group is whatever queued during the previous group's write,
//! so a lone report is written at once.

use booking::Result;
use booking::model::{Connector, ConnectorStatus};
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// The most reports in one statement (three parameters each: well under
/// both servers' parameter limits).
pub(crate) const MAX_GROUP: usize = 256;

/// One report: a connector's status as of `at`.
#[derive(Debug)]
pub(crate) struct StatusWrite {
    pub(crate) id: Uuid,
    pub(crate) status: ConnectorStatus,
    pub(crate) at: DateTime<Utc>,
    /// The connector as written, or `None` when the row holds a newer
    /// report (or no longer exists).
    pub(crate) reply: oneshot::Sender<Result<Option<Connector>>>,
}

/// Where reports queue for the writer task of one store.
#[derive(Debug, Clone)]
pub(crate) struct StatusGroups(mpsc::Sender<StatusWrite>);

/// The writer task's end of the queue.
#[derive(Debug)]
pub(crate) struct StatusQueue {
    queue: mpsc::Receiver<StatusWrite>,
    /// A report left out of the last group because its connector was in it
    /// already: it goes first in the next one.
    carried: Option<StatusWrite>,
}

impl StatusGroups {
    /// A queue and its receiving end; the caller spawns the writer task.
    pub(crate) fn new() -> (Self, StatusQueue) {
        let (tx, queue) = mpsc::channel(4 * MAX_GROUP);
        (
            Self(tx),
            StatusQueue {
                queue,
                carried: None,
            },
        )
    }

    /// Queues a report and waits until it is written.
    pub(crate) async fn write(
        &self,
        id: Uuid,
        status: ConnectorStatus,
        at: DateTime<Utc>,
    ) -> Result<Option<Connector>> {
        let (reply, written) = oneshot::channel();
        let gone = || booking::Error::Internal("the status writer has stopped".into());
        self.0
            .send(StatusWrite {
                id,
                status,
                at,
                reply,
            })
            .await
            .map_err(|_| gone())?;
        written.await.map_err(|_| gone())?
    }
}

impl StatusQueue {
    /// The next group: the first report (waiting for one), then whatever
    /// else is queued, up to [`MAX_GROUP`], one report per connector — a
    /// second report for a connector waits for the next group, so the
    /// two are applied in order. `None` once every sender is gone.
    pub(crate) async fn next_group(&mut self) -> Option<Vec<StatusWrite>> {
        let first = match self.carried.take() {
            Some(write) => write,
            None => self.queue.recv().await?,
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            let Ok(next) = self.queue.try_recv() else {
                break;
            };
            if group.iter().any(|w| w.id == next.id) {
                self.carried = Some(next);
                break;
            }
            group.push(next);
        }
        Some(group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(groups: &StatusGroups, id: Uuid) -> oneshot::Receiver<Result<Option<Connector>>> {
        let (reply, rx) = oneshot::channel();
        groups
            .0
            .try_send(StatusWrite {
                id,
                status: ConnectorStatus::Available,
                at: Utc::now(),
                reply,
            })
            .unwrap();
        rx
    }

    #[tokio::test]
    async fn what_queued_goes_together_one_report_per_connector() {
        let (groups, mut queue) = StatusGroups::new();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let _replies = [a, b, a, b].map(|id| report(&groups, id));
        let ids = |g: Vec<StatusWrite>| g.iter().map(|w| w.id).collect::<Vec<_>>();
        assert_eq!(ids(queue.next_group().await.unwrap()), [a, b]);
        assert_eq!(ids(queue.next_group().await.unwrap()), [a, b]);
        drop(groups);
        assert!(queue.next_group().await.is_none());
    }

    #[tokio::test]
    async fn a_group_stops_at_its_limit() {
        let (groups, mut queue) = StatusGroups::new();
        let _replies: Vec<_> = (0..MAX_GROUP + 3)
            .map(|_| report(&groups, Uuid::new_v4()))
            .collect();
        assert_eq!(queue.next_group().await.unwrap().len(), MAX_GROUP);
        assert_eq!(queue.next_group().await.unwrap().len(), 3);
    }
}
