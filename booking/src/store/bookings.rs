//! Bookings: the ledger of drivers' claims on connectors.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::model::{Booking, BookingStatus, Page};

/// The refund a closing transition owes, completed from the booking's row
/// (its payment id) inside the same transaction. Its reason is recorded as
/// the booking's cancel reason too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundDraft {
    /// The refund's id in the outbox.
    pub id: Uuid,
    /// Why it is owed: `NO_SHOW` or a charger refusal code.
    pub reason: String,
}

/// The bookings, and the conditional writes that move each through its life
/// exactly once.
#[async_trait]
pub trait BookingLedger: Send + Sync + std::fmt::Debug + 'static {
    /// Fails with `Overlap` when a CONFIRMED/ACTIVE booking would overlap
    /// another on the same connector, `Conflict` on a reused hold token.
    async fn insert_booking(&self, booking: &Booking) -> Result<()>;
    /// A booking by id, whoever it belongs to.
    async fn booking(&self, id: Uuid) -> Result<Option<Booking>>;
    /// The booking confirmed from this hold, if any.
    async fn booking_by_hold_token(&self, token: &str) -> Result<Option<Booking>>;
    /// A user's bookings (everyone's with `None`), newest first, optionally
    /// of one status, and how many match in all.
    async fn bookings_of(
        &self,
        user_id: Option<i64>,
        status: Option<BookingStatus>,
        page: Page,
    ) -> Result<(Vec<Booking>, u64)>;
    /// Moves a booking to `to` only if its status is one of `from`: the
    /// conditional write that makes each transition happen once, whichever
    /// worker or instance tries it. `None` when the booking is unknown or
    /// was not in `from`; `Overlap` when `to` would collide.
    async fn transition_booking(
        &self,
        id: Uuid,
        from: &[BookingStatus],
        to: BookingStatus,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Booking>>;
    /// [`transition_booking`](Self::transition_booking) that also owes the
    /// driver a refund (a no-show, a booking the charger would not take):
    /// the transition and the refund outbox entry commit together or not at
    /// all. A booking that has a refund already keeps it.
    async fn transition_with_refund(
        &self,
        id: Uuid,
        from: &[BookingStatus],
        to: BookingStatus,
        refund: &RefundDraft,
        now: DateTime<Utc>,
    ) -> Result<Option<Booking>>;
    /// Gives a CONFIRMED booking without one the reservation id it will be
    /// reserved under on the charger. `false` when another worker got there
    /// first (or the booking is no longer CONFIRMED).
    async fn claim_reservation(&self, booking_id: Uuid, reservation_id: i32) -> Result<bool>;
    /// Records whether the charger holds the booking's reservation.
    async fn set_reserved_on_charger(
        &self,
        booking_id: Uuid,
        reserved: bool,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// CONFIRMED bookings with no reservation id yet that start at or before
    /// `starts_by` and have not ended by `now`, soonest first.
    async fn bookings_due_for_reservation(
        &self,
        starts_by: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>>;
    /// The booking reserved on this charger under `reservation_id`.
    async fn booking_by_reservation(
        &self,
        charger_id: Uuid,
        reservation_id: i32,
    ) -> Result<Option<Booking>>;
    /// The CONFIRMED booking on this connector for this id tag whose start
    /// lies in `[earliest_start, latest_start]`.
    async fn confirmed_booking_for_id_tag(
        &self,
        connector_id: Uuid,
        id_tag: &str,
        earliest_start: DateTime<Utc>,
        latest_start: DateTime<Utc>,
    ) -> Result<Option<Booking>>;
    /// CONFIRMED bookings that started at or before `started_by`, oldest first.
    async fn confirmed_bookings_started_by(
        &self,
        started_by: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Booking>>;
    /// Bookings with one of `statuses` on these connectors that intersect
    /// `[from, to)`, ordered by start.
    async fn bookings_in_window(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        statuses: &[BookingStatus],
    ) -> Result<Vec<Booking>>;
    /// Whether a CONFIRMED or ACTIVE booking carries this id tag.
    async fn id_tag_has_live_booking(&self, id_tag: &str) -> Result<bool>;
}
