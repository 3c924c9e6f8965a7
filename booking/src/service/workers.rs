//! The background work of the booking service, as plain functions of "now"
//! that a scheduler calls on a timer (and tests call with a manual clock).
//! Every state change is a conditional write, so with several workers or
//! instances each item is processed once.

use uuid::Uuid;

use super::BookingService;
use crate::charger_control::{Refusal, ReserveRequest};
use crate::error::Result;
use crate::events::Event;
use crate::model::{Booking, BookingStatus};
use crate::store::RefundDraft;

/// Items one pass handles at most; the next pass takes the rest.
const BATCH: u32 = 100;

/// A hold is swept this long after it expired, so a confirm that read it
/// just before expiry finishes before its reservation is cancelled.
const SWEEP_DELAY: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

impl BookingService {
    /// Removes expired holds and cancels the charger reservations they made.
    pub async fn expire_holds(&self) -> Result<usize> {
        let expired = self
            .holds
            .take_expired(self.clock.now() - SWEEP_DELAY, BATCH as usize)
            .await?;
        for hold in &expired {
            // A confirmed hold's reservation belongs to its booking now.
            if let Some(reservation_id) = hold.reservation_id
                && self
                    .ledger
                    .booking_by_hold_token(&hold.token)
                    .await?
                    .is_none()
                && let Err(e) = self
                    .cancel_reservation(hold.connector_id, reservation_id)
                    .await
            {
                tracing::warn!(reservation.id = reservation_id, error = %e,
                    "CancelReservation for an expired hold failed");
            }
            self.emit(Event::hold_released(hold)).await;
        }
        Ok(expired.len())
    }

    /// Reserves on the charger every confirmed booking that entered the lead
    /// window. A charger that refuses (or cannot be reached) cancels the
    /// booking with a typed reason and a refund request.
    pub async fn reserve_due_bookings(&self) -> Result<usize> {
        let now = self.clock.now();
        let due = self
            .ledger
            .bookings_due_for_reservation(now + self.rules.reservation_lead, now, BATCH)
            .await?;
        let mut reserved = 0;
        for booking in due {
            match self.reserve_booking(&booking).await {
                Ok(true) => reserved += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(booking.id = %booking.id, error = %e, "reservation failed")
                }
            }
        }
        Ok(reserved)
    }

    async fn reserve_booking(&self, booking: &Booking) -> Result<bool> {
        let Some(connector) = self.stations.connector(booking.connector_id).await? else {
            return Ok(false);
        };
        let Some(charger) = self.registry.charger(connector.charger_id).await? else {
            return Ok(false);
        };
        let reservation_id = self.registry.next_reservation_id(charger.id).await?;
        if !self
            .ledger
            .claim_reservation(booking.id, reservation_id)
            .await?
        {
            return Ok(false); // another worker has it
        }
        let request = ReserveRequest {
            charge_point_id: charger.charge_point_id,
            evse_id: connector.evse_id,
            connector_id: connector.ocpp_connector_id,
            connector_type: connector.connector_type,
            reservation_id,
            id_tag: booking.id_tag.clone().unwrap_or_default(),
            expires_at: booking.start_ts + self.rules.no_show_grace,
            slot: Some((booking.start_ts, booking.end_ts)),
        };
        match self.chargers.reserve_now(&request).await {
            Ok(()) => {
                self.ledger
                    .set_reserved_on_charger(booking.id, true, self.clock.now())
                    .await?;
                Ok(true)
            }
            Err(refusal) => {
                self.cancel_for(booking.id, &refusal).await?;
                Ok(false)
            }
        }
    }

    /// Cancels a confirmed booking the charger would not take, and owes
    /// the driver a refund.
    async fn cancel_for(&self, booking_id: Uuid, refusal: &Refusal) -> Result<()> {
        let cancelled = self
            .ledger
            .transition_with_refund(
                booking_id,
                &[BookingStatus::Confirmed],
                BookingStatus::Cancelled,
                &refund(refusal.reason_code()),
                self.clock.now(),
            )
            .await?;
        if let Some(booking) = cancelled {
            tracing::info!(booking.id = %booking.id, reason = refusal.reason_code(),
                "booking cancelled: the charger did not reserve the connector");
            self.emit(Event::BookingChanged { booking }).await;
        }
        Ok(())
    }

    /// CONFIRMED bookings whose start plus the grace period passed without a
    /// session become NO_SHOW: the charger's reservation is cancelled and a
    /// refund is owed.
    pub async fn record_no_shows(&self) -> Result<usize> {
        let now = self.clock.now();
        let late = self
            .ledger
            .confirmed_bookings_started_by(now - self.rules.no_show_grace, BATCH)
            .await?;
        let mut recorded = 0;
        for candidate in late {
            let Some(booking) = self
                .ledger
                .transition_with_refund(
                    candidate.id,
                    &[BookingStatus::Confirmed],
                    BookingStatus::NoShow,
                    &refund("NO_SHOW"),
                    now,
                )
                .await?
            else {
                continue; // another worker, or the driver arrived
            };
            recorded += 1;
            self.release_on_charger(&booking).await;
            self.emit(Event::BookingChanged { booking }).await;
        }
        Ok(recorded)
    }
}

/// The refund a closing transition owes; its reason is also the booking's
/// cancel reason.
fn refund(reason: &str) -> RefundDraft {
    RefundDraft {
        id: Uuid::new_v4(),
        reason: reason.to_owned(),
    }
}
