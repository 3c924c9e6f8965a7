//! How this instance's inbox applier is doing, for readiness: every round
//! (see `VendorWebhooks::process_due`) records whether it completed or
//! failed, on the booking core's clock, and `/ready` reads it.

use std::sync::Mutex;

use booking::sync::lock;
use chrono::{DateTime, TimeDelta, Utc};

/// The applier counts as stalled when no round has completed for this long
/// while an entry has been due at least as long. A working applier
/// completes a round at least every poll (half a second), whether or not
/// it holds the inbox lease.
pub const STALL_AFTER: TimeDelta = TimeDelta::seconds(60);

/// What readiness reports about the applier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplierHealth {
    /// Its last round completed; or none did lately, but nothing has been
    /// waiting for one that long.
    Ok,
    /// Its last round failed: the store, not an entry (an entry that
    /// cannot apply is dead-lettered, and the round goes on).
    Failing {
        /// When the rounds began failing (the first failure since the
        /// last round that completed).
        since: DateTime<Utc>,
        /// The last failure.
        error: String,
    },
    /// No round completed for [`STALL_AFTER`] although an entry has been
    /// due that long: the worker is stuck or gone.
    Stalled {
        /// The last completed round, `None` when no round ever completed.
        last_round: Option<DateTime<Utc>>,
        /// When the longest-due pending entry became due.
        due_since: DateTime<Utc>,
    },
}

/// The record each round leaves; shared by the clones of one
/// `VendorWebhooks`.
#[derive(Debug)]
pub(crate) struct Rounds(Mutex<Last>);

#[derive(Debug)]
struct Last {
    /// When the applier was created: the reference while no round completed.
    created: DateTime<Utc>,
    completed: Option<DateTime<Utc>>,
    failing: Option<(DateTime<Utc>, String)>,
}

impl Rounds {
    pub(crate) fn new(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(Last {
            created: now,
            completed: None,
            failing: None,
        }))
    }

    pub(crate) fn completed(&self, now: DateTime<Utc>) {
        let mut last = lock(&self.0);
        last.completed = Some(now);
        last.failing = None;
    }

    pub(crate) fn failed(&self, now: DateTime<Utc>, error: String) {
        let mut last = lock(&self.0);
        let since = last.failing.as_ref().map_or(now, |(since, _)| *since);
        last.failing = Some((since, error));
    }

    /// [`ApplierHealth::Failing`] when the last round failed.
    pub(crate) fn failing(&self) -> Option<ApplierHealth> {
        let last = lock(&self.0);
        last.failing
            .as_ref()
            .map(|(since, error)| ApplierHealth::Failing {
                since: *since,
                error: error.clone(),
            })
    }

    /// The last completed round (`None`: none yet), and since when the
    /// applier has gone without one: that round, or its creation.
    pub(crate) fn last_completed(&self) -> (Option<DateTime<Utc>>, DateTime<Utc>) {
        let last = lock(&self.0);
        (last.completed, last.completed.unwrap_or(last.created))
    }
}
