//! Holding a slot and confirming it into a booking.

use chrono::{DateTime, Timelike, Utc};
use uuid::Uuid;

use super::{BookingService, Caller, new_hold_token, new_id_tag};
use crate::charger_control::ReserveRequest;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::holds::{Claim, Hold};
use crate::model::{Booking, BookingStatus, ConnectorStatus};

/// What an app asks to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRequest {
    /// The station; it must own the connector.
    pub station_id: Uuid,
    /// The connector to hold.
    pub connector_id: Uuid,
    /// Slot start: a whole minute, not in the past, within the booking horizon
    /// (UTC).
    pub start_ts: DateTime<Utc>,
    /// Slot end, exclusive: a whole minute, at most the longest booking after
    /// the start (UTC).
    pub end_ts: DateTime<Utc>,
    /// The token the driver will present at the charger (a roaming
    /// partner's card), which the charger's reservation is made for;
    /// `None`: evgate makes one up for the app to show. At most 20
    /// printable ASCII characters (OCPP 1.6's idTag).
    pub id_tag: Option<String>,
}

fn whole_minute(field: &str, t: DateTime<Utc>) -> Result<()> {
    if t.second() == 0 && t.nanosecond() == 0 {
        Ok(())
    } else {
        Err(Error::validation(field, "must be on a whole minute"))
    }
}

impl BookingService {
    /// Holds a slot for `caller`. The hold store's atomic check-and-set
    /// claims the slot against other holds first; the booked intervals are
    /// checked after that (by the store itself, in the same round trip, when
    /// it sees bookings), so a booking confirmed concurrently (inserted
    /// before its hold is released) is always seen. A slot starting inside
    /// the reservation lead window is reserved on the charger at once, and
    /// the charger's answer decides.
    pub async fn create_hold(&self, caller: Caller, req: HoldRequest) -> Result<Hold> {
        let now = self.clock.now();
        whole_minute("startTs", req.start_ts)?;
        whole_minute("endTs", req.end_ts)?;
        if req.end_ts <= req.start_ts {
            return Err(Error::validation("endTs", "must be after startTs"));
        }
        if let Some(tag) = &req.id_tag
            && (tag.is_empty() || tag.len() > 20 || !tag.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(Error::validation(
                "idTag",
                "must be 1 to 20 printable ASCII characters",
            ));
        }
        if req.start_ts < now {
            return Err(Error::validation("startTs", "must not be in the past"));
        }
        if req.start_ts > now + self.rules.horizon {
            return Err(Error::validation(
                "startTs",
                format!(
                    "may be at most {} days ahead",
                    self.rules.horizon.num_days()
                ),
            ));
        }
        if req.end_ts - req.start_ts > self.rules.max_duration {
            return Err(Error::validation(
                "endTs",
                format!(
                    "a booking may last at most {} minutes",
                    self.rules.max_duration.num_minutes()
                ),
            ));
        }
        // A connector of the station proves the station exists; only a
        // mismatch needs the station looked up, to tell 404 from 400. Not
        // from the station read cache: every hold changes the station's
        // version, so on a busy station the cache would miss and read more.
        let connector = match self.stations.connector(req.connector_id).await? {
            Some(c) if c.station_id == req.station_id => c,
            _ if self.stations.station(req.station_id).await?.is_none() => {
                return Err(Error::not_found("station", req.station_id));
            }
            _ => {
                return Err(Error::validation(
                    "connectorId",
                    format!("is not a connector of station {}", req.station_id),
                ));
            }
        };
        if matches!(
            connector.status,
            ConnectorStatus::Faulted | ConnectorStatus::Maintenance | ConnectorStatus::Offline
        ) {
            return Err(Error::ConnectorUnavailable(format!(
                "the connector is {}",
                connector.status
            )));
        }
        // A vendor-managed charger is not ours to send ReserveNow.
        let reserve_now =
            connector.vendor_id.is_none() && req.start_ts - now <= self.rules.reservation_lead;
        let reservation_id = if reserve_now {
            Some(
                self.registry
                    .next_reservation_id(connector.charger_id)
                    .await?,
            )
        } else {
            None
        };
        let hold = Hold {
            token: new_hold_token(),
            user_id: caller.user_id,
            station_id: req.station_id,
            connector_id: req.connector_id,
            start_ts: req.start_ts,
            end_ts: req.end_ts,
            expires_at: now + self.rules.hold_ttl,
            id_tag: req.id_tag.clone().unwrap_or_else(new_id_tag),
            reservation_id,
        };
        let cap = self.rules.max_live_holds_per_user.filter(|_| !caller.admin);
        match self.holds.try_hold(&hold, cap, now).await? {
            Claim::Stored => {}
            Claim::SlotTaken | Claim::Booked => return Err(Error::Overlap),
            Claim::UserAtLimit => return Err(Error::TooManyHolds(cap.unwrap_or_default())),
        }
        if !self.holds.sees_bookings() {
            self.refuse_if_booked(&hold).await?;
        }
        if let Some(reservation_id) = reservation_id {
            let charger = match self.registry.charger(connector.charger_id).await {
                Ok(Some(c)) => c,
                Ok(None) => {
                    self.holds.release(&hold.token).await?;
                    return Err(Error::Internal(format!(
                        "connector {} has no charger",
                        connector.id
                    )));
                }
                Err(e) => {
                    self.holds.release(&hold.token).await?;
                    return Err(e);
                }
            };
            let request = ReserveRequest {
                charge_point_id: charger.charge_point_id,
                evse_id: connector.evse_id,
                connector_id: connector.ocpp_connector_id,
                connector_type: connector.connector_type.clone(),
                reservation_id,
                id_tag: hold.id_tag.clone(),
                expires_at: hold.start_ts + self.rules.no_show_grace,
                slot: Some((hold.start_ts, hold.end_ts)),
            };
            if let Err(refusal) = self.chargers.reserve_now(&request).await {
                self.holds.release(&hold.token).await?;
                return Err(Error::ConnectorUnavailable(format!(
                    "the charger did not reserve the connector: {refusal}"
                )));
            }
        }
        self.emit(Event::hold_created(&hold)).await;
        Ok(hold)
    }

    /// Turns a live hold into a CONFIRMED booking and releases the hold.
    /// Idempotent: confirming the same token again returns the same booking
    /// (`false` in the second field).
    pub async fn confirm(
        &self,
        caller: Caller,
        token: &str,
        payment_id: &str,
    ) -> Result<(Booking, bool)> {
        let payment_id = payment_id.trim();
        if payment_id.is_empty() || payment_id.chars().count() > 200 {
            return Err(Error::validation(
                "paymentId",
                "must be 1 to 200 characters",
            ));
        }
        let now = self.clock.now();
        let Some(hold) = self.holds.get(token).await? else {
            return self.already_confirmed(caller, token).await;
        };
        if hold.user_id != caller.user_id {
            return Err(Error::not_found("hold", token));
        }
        if !hold.is_live(now) {
            return Err(Error::HoldExpired);
        }
        let booking = Booking {
            id: Uuid::new_v4(),
            user_id: hold.user_id,
            station_id: hold.station_id,
            connector_id: hold.connector_id,
            start_ts: hold.start_ts,
            end_ts: hold.end_ts,
            status: BookingStatus::Confirmed,
            hold_token: Some(hold.token.clone()),
            payment_id: Some(payment_id.to_owned()),
            vendor_booking_id: None,
            reservation_id: hold.reservation_id,
            reserved_on_charger: hold.reservation_id.is_some(),
            cancel_reason: None,
            id_tag: Some(hold.id_tag.clone()),
            created_at: now,
            updated_at: now,
        };
        match self.ledger.insert_booking(&booking).await {
            Ok(()) => {}
            // A concurrent confirm of the same token won: answer with its booking.
            Err(Error::Conflict(_)) => return self.already_confirmed(caller, token).await,
            Err(e) => return Err(e),
        }
        // The booking now holds the slot (and any charger reservation); it
        // is the commit point. A hold that cannot be released now only
        // lingers until it expires: the sweep sees its booking and leaves
        // the reservation alone.
        if let Err(e) = self.holds.release(token).await {
            tracing::warn!(booking.id = %booking.id, error = %e,
                "confirmed, but the hold could not be released; it will expire");
        }
        self.emit(Event::BookingChanged {
            booking: booking.clone(),
        })
        .await;
        Ok((booking, true))
    }

    /// Releases `hold` and refuses it when a booking takes its slot. Asked
    /// after the hold is stored, so a booking confirmed concurrently (it is
    /// inserted before its own hold is released) is always seen.
    async fn refuse_if_booked(&self, hold: &Hold) -> Result<()> {
        let booked = self
            .ledger
            .bookings_in_window(
                &[hold.connector_id],
                hold.start_ts,
                hold.end_ts,
                &BookingStatus::TAKING_THE_SLOT,
            )
            .await;
        let refusal = match booked {
            Ok(b) if b.is_empty() => return Ok(()),
            Ok(_) => Error::Overlap,
            Err(e) => e,
        };
        self.holds.release(&hold.token).await?;
        Err(refusal)
    }

    async fn already_confirmed(&self, caller: Caller, token: &str) -> Result<(Booking, bool)> {
        match self.ledger.booking_by_hold_token(token).await? {
            Some(b) if b.user_id == caller.user_id => Ok((b, false)),
            _ => Err(Error::not_found("hold", token)),
        }
    }
}
