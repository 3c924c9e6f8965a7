//! Holds: a slot kept for one user for a few minutes while they pay. The
//! hold store is a port with an in-process adapter (here) and a Redis one
//! (`RedisHolds` in the cluster crate); one test suite runs against both.
//!
//! Expiry is judged against the `now` the caller passes, never the store's
//! own clock, so tests move time instead of sleeping.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::sync::lock;

/// A slot held for a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    /// `hold_` followed by 128 random bits; the only handle on the hold.
    pub token: String,
    /// The driver it is held for; only they can confirm it.
    pub user_id: i64,
    /// The station of the connector.
    pub station_id: Uuid,
    /// The connector held.
    pub connector_id: Uuid,
    /// Start of the slot, on a whole minute (UTC).
    pub start_ts: DateTime<Utc>,
    /// End of the slot, exclusive (UTC).
    pub end_ts: DateTime<Utc>,
    /// When the hold lapses unless confirmed: its creation plus the hold TTL
    /// (UTC).
    pub expires_at: DateTime<Utc>,
    /// The id tag the booking will carry; the charger reservation names it.
    pub id_tag: String,
    /// Set when the slot starts inside the lead window: the reservation id
    /// sent to the charger with ReserveNow at hold time.
    pub reservation_id: Option<i32>,
}

impl Hold {
    /// Whether the hold still claims its slot at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }

    /// Whether the held slot intersects `[start, end)`.
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.start_ts < end && start < self.end_ts
    }
}

/// What became of a hold asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Stored: the slot is the user's until the hold expires.
    Stored,
    /// A live hold on the connector overlaps it (or the token exists).
    SlotTaken,
    /// The user already has as many live holds as the cap allows.
    UserAtLimit,
    /// A booking taking the slot overlaps it; only a store that
    /// [sees bookings](HoldStore::sees_bookings) says so.
    Booked,
}

/// Where holds live while their drivers pay: in process, or in Redis when
/// instances share the work.
#[async_trait]
pub trait HoldStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores `hold` unless a live hold on the same connector overlaps it,
    /// or its user already has `max_live_per_user` live holds; atomically,
    /// so of two racing overlapping holds at most one is stored, and racing
    /// holds of one user never pass the cap. When both refusals apply,
    /// either may be reported.
    async fn try_hold(
        &self,
        hold: &Hold,
        max_live_per_user: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Claim>;
    /// Whether `try_hold` also refuses a slot that a booking in
    /// [`BookingStatus::TAKING_THE_SLOT`] overlaps (`Claim::Booked`),
    /// checked after the claim is stored and in the same step, so the caller
    /// need not ask the ledger. Only a store kept beside the ledger can: in
    /// cluster mode that saves a database round trip per hold.
    ///
    /// [`BookingStatus::TAKING_THE_SLOT`]: crate::model::BookingStatus::TAKING_THE_SLOT
    fn sees_bookings(&self) -> bool {
        false
    }
    /// The hold with this token, live or expired but not yet swept.
    async fn get(&self, token: &str) -> Result<Option<Hold>>;
    /// Removes the hold; returns it if it was there.
    async fn release(&self, token: &str) -> Result<Option<Hold>>;
    /// Live holds on these connectors that intersect `[from, to)`.
    async fn live_holds(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Hold>>;
    /// Removes and returns up to `limit` holds that expired at or before
    /// `expired_by`. Each hold is handed to exactly one caller, however many
    /// workers sweep at once.
    async fn take_expired(&self, expired_by: DateTime<Utc>, limit: usize) -> Result<Vec<Hold>>;
}

/// The embedded hold store. Per connector, holds are kept ordered by start;
/// since no hold is longer than the longest seen so far, only those starting
/// within that span before a slot can overlap it, so a check reads a handful
/// of entries however many holds a connector has. One mutex, never held
/// across an await.
#[derive(Debug, Default)]
pub struct InProcessHolds {
    inner: Mutex<Holds>,
}

#[derive(Debug, Default)]
struct Holds {
    by_token: HashMap<String, Hold>,
    /// connector → (start, token)
    by_connector: HashMap<Uuid, BTreeSet<(DateTime<Utc>, String)>>,
    /// (expires_at, token): the sweep pops from the front.
    expiry: BTreeSet<(DateTime<Utc>, String)>,
    /// user → (expires_at, token): the per-user cap counts the live ones.
    by_user: HashMap<i64, BTreeSet<(DateTime<Utc>, String)>>,
    /// The longest hold ever stored; bounds the overlap scan.
    longest: chrono::TimeDelta,
}

impl Holds {
    fn remove(&mut self, token: &str) -> Option<Hold> {
        let hold = self.by_token.remove(token)?;
        if let Some(starts) = self.by_connector.get_mut(&hold.connector_id) {
            starts.remove(&(hold.start_ts, hold.token.clone()));
            if starts.is_empty() {
                self.by_connector.remove(&hold.connector_id);
            }
        }
        self.expiry.remove(&(hold.expires_at, hold.token.clone()));
        if let Some(held) = self.by_user.get_mut(&hold.user_id) {
            held.remove(&(hold.expires_at, hold.token.clone()));
            if held.is_empty() {
                self.by_user.remove(&hold.user_id);
            }
        }
        Some(hold)
    }

    /// Holds on `connector` that intersect `[from, to)`, live or not.
    fn overlapping(
        &self,
        connector: &Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = &Hold> {
        let low = (from - self.longest, String::new());
        let high = (to, String::new());
        self.by_connector
            .get(connector)
            .into_iter()
            .flat_map(move |starts| starts.range(low.clone()..high.clone()))
            .filter_map(|(_, t)| self.by_token.get(t))
            .filter(move |h| h.overlaps(from, to))
    }
}

impl InProcessHolds {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Holds> {
        lock(&self.inner)
    }
}

#[async_trait]
impl HoldStore for InProcessHolds {
    async fn try_hold(
        &self,
        hold: &Hold,
        max_live_per_user: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Claim> {
        let mut holds = self.lock();
        let clash = holds
            .overlapping(&hold.connector_id, hold.start_ts, hold.end_ts)
            .any(|h| h.is_live(now));
        if clash || holds.by_token.contains_key(&hold.token) {
            return Ok(Claim::SlotTaken);
        }
        if let Some(cap) = max_live_per_user {
            let live = holds.by_user.get(&hold.user_id).map_or(0, |held| {
                held.range((now, String::new())..)
                    .filter(|(at, _)| *at > now)
                    .count()
            });
            if live >= usize::try_from(cap).unwrap_or(usize::MAX) {
                return Ok(Claim::UserAtLimit);
            }
        }
        holds
            .by_user
            .entry(hold.user_id)
            .or_default()
            .insert((hold.expires_at, hold.token.clone()));
        holds.longest = holds.longest.max(hold.end_ts - hold.start_ts);
        holds
            .by_connector
            .entry(hold.connector_id)
            .or_default()
            .insert((hold.start_ts, hold.token.clone()));
        holds.expiry.insert((hold.expires_at, hold.token.clone()));
        holds.by_token.insert(hold.token.clone(), hold.clone());
        Ok(Claim::Stored)
    }

    async fn get(&self, token: &str) -> Result<Option<Hold>> {
        Ok(self.lock().by_token.get(token).cloned())
    }

    async fn release(&self, token: &str) -> Result<Option<Hold>> {
        Ok(self.lock().remove(token))
    }

    async fn live_holds(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Hold>> {
        let holds = self.lock();
        Ok(connector_ids
            .iter()
            .flat_map(|c| holds.overlapping(c, from, to))
            .filter(|h| h.is_live(now))
            .cloned()
            .collect())
    }

    async fn take_expired(&self, expired_by: DateTime<Utc>, limit: usize) -> Result<Vec<Hold>> {
        let mut holds = self.lock();
        let due: Vec<String> = holds
            .expiry
            .iter()
            .take_while(|(at, _)| *at <= expired_by)
            .take(limit)
            .map(|(_, t)| t.clone())
            .collect();
        Ok(due.iter().filter_map(|t| holds.remove(t)).collect())
    }
}
