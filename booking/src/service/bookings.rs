//! Reading and cancelling bookings. A user sees only their own (someone
//! else's is "not found", not "forbidden", so ids leak nothing); an admin
//! sees all.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{BookingService, Caller};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::holds::Hold;
use crate::model::{Booking, BookingStatus, Page};

impl BookingService {
    /// One booking, if `caller` may see it (their own, or any for an admin);
    /// otherwise `NotFound`.
    pub async fn booking(&self, caller: Caller, id: Uuid) -> Result<Booking> {
        self.ledger
            .booking(id)
            .await?
            .filter(|b| caller.admin || b.user_id == caller.user_id)
            .ok_or_else(|| Error::not_found("booking", id))
    }

    /// A page of the caller's bookings (everyone's for an admin), newest first,
    /// optionally of one status, and how many match.
    pub async fn bookings(
        &self,
        caller: Caller,
        status: Option<BookingStatus>,
        page: Page,
    ) -> Result<(Vec<Booking>, u64)> {
        let owner = (!caller.admin).then_some(caller.user_id);
        self.ledger.bookings_of(owner, status, page).await
    }

    /// What claims time on these connectors in `[from, to)`: bookings of
    /// every status (for an operator's timeline, no-shows and cancellations
    /// too) and live holds, each ordered by start.
    pub async fn claims_between(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<(Vec<Booking>, Vec<Hold>)> {
        const EVERY: [BookingStatus; 6] = [
            BookingStatus::Pending,
            BookingStatus::Confirmed,
            BookingStatus::Active,
            BookingStatus::Completed,
            BookingStatus::NoShow,
            BookingStatus::Cancelled,
        ];
        let bookings = self
            .ledger
            .bookings_in_window(connector_ids, from, to, &EVERY)
            .await?;
        let mut holds = self
            .holds
            .live_holds(connector_ids, from, to, self.clock.now())
            .await?;
        holds.sort_by_key(|h| h.start_ts);
        Ok((bookings, holds))
    }

    /// Cancels a PENDING or CONFIRMED booking and frees the charger's
    /// reservation. Cancelling a cancelled booking returns it unchanged; an
    /// ACTIVE, COMPLETED or NO_SHOW one cannot be cancelled.
    pub async fn cancel(&self, caller: Caller, id: Uuid) -> Result<Booking> {
        let booking = self.booking(caller, id).await?;
        if booking.status == BookingStatus::Cancelled {
            return Ok(booking);
        }
        let cancelled = self
            .ledger
            .transition_booking(
                id,
                &[BookingStatus::Pending, BookingStatus::Confirmed],
                BookingStatus::Cancelled,
                Some("USER_CANCELLED"),
                self.clock.now(),
            )
            .await?;
        let Some(cancelled) = cancelled else {
            // Its status changed under us (or was never cancellable).
            let now = self.booking(caller, id).await?;
            return match now.status {
                BookingStatus::Cancelled => Ok(now),
                other => Err(Error::InvalidState(format!(
                    "a booking that is {other} can no longer be cancelled"
                ))),
            };
        };
        self.release_on_charger(&cancelled).await;
        self.emit(Event::BookingChanged {
            booking: cancelled.clone(),
        })
        .await;
        Ok(cancelled)
    }

    /// Sends CancelReservation for a booking the charger holds. A charger
    /// that does not answer keeps the reservation only until its expiry
    /// (start + grace), so a failure is logged, not retried blindly.
    pub(super) async fn release_on_charger(&self, booking: &Booking) {
        let Some(reservation_id) = booking
            .reservation_id
            .filter(|_| booking.reserved_on_charger)
        else {
            return;
        };
        if let Err(e) = self
            .cancel_reservation(booking.connector_id, reservation_id)
            .await
        {
            tracing::warn!(
                booking.id = %booking.id,
                reservation.id = reservation_id,
                error = %e,
                "CancelReservation failed; the charger drops it at its expiry"
            );
        }
        if let Err(e) = self
            .ledger
            .set_reserved_on_charger(booking.id, false, self.clock.now())
            .await
        {
            tracing::warn!(booking.id = %booking.id, error = %e, "cannot record the released reservation");
        }
    }

    pub(super) async fn cancel_reservation(
        &self,
        connector_id: Uuid,
        reservation_id: i32,
    ) -> Result<()> {
        let connector = self
            .stations
            .connector(connector_id)
            .await?
            .ok_or_else(|| Error::not_found("connector", connector_id))?;
        let charger = self
            .registry
            .charger(connector.charger_id)
            .await?
            .ok_or_else(|| Error::not_found("charger", connector.charger_id))?;
        self.chargers
            .cancel_reservation(&charger.charge_point_id, reservation_id)
            .await
            .map_err(|r| Error::ConnectorUnavailable(r.to_string()))
    }
}
