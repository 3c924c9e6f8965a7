//! OCPI 2.3.0 Bookings, evgate as the CPO: partners see each published
//! connector as a BookingLocation with a calendar of free time, and book
//! it with a BookingRequest. A booking is made exactly as an app's is — a
//! hold through the same atomic hold store, confirmed into the same ledger,
//! the charger reserved for the partner's token — so an OCPI booking and
//! an app booking can never overlap, and the no-show worker, ReserveNow
//! and CancelReservation treat both alike. Changes are pushed to the
//! partner's Bookings receiver (PUT) from the booking core's events.

mod json;
mod request;

use std::collections::HashMap;

use booking::Error;
use booking::model::{Booking, Connector};
use booking::service::{Caller, HoldRequest};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::Ocpi;
use crate::error::{OcpiError, Result};
use crate::partner::{Partner, PartnerState};
use crate::push::{Push, PushModule};
use request::BookingRequest;

pub use json::reservation_status;

/// What OCPI keeps of a booking a partner made, beside evgate's booking.
#[derive(Debug, Clone, PartialEq)]
pub struct OcpiBooking {
    /// evgate's booking (the OCPI Booking's id).
    pub booking_id: Uuid,
    /// The partner that made it.
    pub partner_id: Uuid,
    /// The partner's id for it.
    pub request_id: String,
    /// The partner's reference.
    pub authorization_reference: String,
    /// The BookingTokens it named.
    pub tokens: Value,
    /// Every request with its verdict (BookingRequestStatus objects).
    pub requests: Value,
    /// The partner's Cancellation, when it cancelled.
    pub canceled: Option<Value>,
    /// When it was made (UTC).
    pub created_at: DateTime<Utc>,
    /// When a request last changed it (UTC).
    pub updated_at: DateTime<Utc>,
}

/// Calendars are offered in steps of this many minutes.
const INCREMENT: i64 = 15;

impl Ocpi {
    fn owner(partner: &Partner) -> Caller {
        Caller {
            user_id: partner.booking_user(),
            admin: false,
        }
    }

    /// A partner's BookingRequest: a new booking, or a cancellation of one
    /// it made (same `request_id`, `canceled` set). Changes are declined
    /// (the terms say `change_not_allowed`). The Booking, as OCPI shows it.
    pub(crate) async fn request_booking(&self, partner: &Partner, body: &[u8]) -> Result<Value> {
        let party = &self.settings()?.party;
        let rules = self.bookings.rules();
        let req = BookingRequest::read(body, partner)?;
        let now = self.clock.now();
        let owner = Self::owner(partner);
        if let Some(mut row) = self
            .store
            .ocpi_booking_by_request(partner.id, &req.request_id)
            .await?
        {
            let mut booking = self.bookings.booking(owner, row.booking_id).await?;
            let verdict = match &req.canceled {
                Some(c) => match self.bookings.cancel(owner, booking.id).await {
                    Ok(cancelled) => {
                        booking = cancelled;
                        row.canceled = Some(serde_json::json!({
                            "cancellation_reason": c.get("cancellation_reason").cloned()
                                .unwrap_or_else(|| "NO_CANCELED".into()),
                            "who_canceled": "EMSP",
                        }));
                        "ACCEPTED"
                    }
                    Err(Error::InvalidState(_)) => "DECLINED",
                    Err(e) => return Err(e.into()),
                },
                None => "DECLINED",
            };
            if let Some(list) = row.requests.as_array_mut() {
                list.push(json::request_status(verdict, &req, now));
            }
            row.updated_at = now;
            self.store.update_ocpi_booking(&row).await?;
            return Ok(json::booking(party, &rules, &row, &booking));
        }
        if req.canceled.is_some() {
            return Err(OcpiError::InvalidParameters(format!(
                "no booking with request_id {} to cancel",
                req.request_id
            )));
        }
        let candidates = self.candidates(&req).await?;
        for connector in &candidates {
            let hold = HoldRequest {
                station_id: connector.station_id,
                connector_id: connector.id,
                start_ts: req.start,
                end_ts: req.end,
                id_tag: Some(req.token_uid.clone()),
            };
            // Uncapped: a partner books for many drivers at once, and its
            // holds are confirmed at once.
            let uncapped = Caller {
                admin: true,
                ..owner
            };
            let hold = match self.bookings.create_hold(uncapped, hold).await {
                Ok(h) => h,
                Err(Error::Overlap | Error::ConnectorUnavailable(_)) => continue,
                Err(Error::Validation { field, message }) => {
                    return Err(OcpiError::InvalidParameters(format!("{field}: {message}")));
                }
                Err(e) => return Err(e.into()),
            };
            let payment = format!("ocpi:{}", req.authorization_reference);
            let (booking, _) = self.bookings.confirm(owner, &hold.token, &payment).await?;
            let row = OcpiBooking {
                booking_id: booking.id,
                partner_id: partner.id,
                request_id: req.request_id.clone(),
                authorization_reference: req.authorization_reference.clone(),
                tokens: req.tokens.clone(),
                requests: Value::Array(vec![json::request_status("ACCEPTED", &req, now)]),
                canceled: None,
                created_at: now,
                updated_at: now,
            };
            if let Err(e) = self.store.insert_ocpi_booking(&row).await {
                // The same request_id raced in twice for different slots:
                // the one not recorded is given back.
                let _ = self.bookings.cancel(owner, booking.id).await;
                return Err(match e {
                    Error::Conflict(_) => OcpiError::InvalidParameters(format!(
                        "request_id {} is in use",
                        req.request_id
                    )),
                    other => other.into(),
                });
            }
            tracing::info!(partner = %partner.id, booking.id = %booking.id, request = %req.request_id, "OCPI booking made");
            return Ok(json::booking(party, &rules, &row, &booking));
        }
        Ok(json::rejected(party, &rules, &req, now))
    }

    /// The connectors a request may take, in order: the EVSE it named, or
    /// every connector of the Location (2003 for an unknown or unpublished
    /// one).
    async fn candidates(&self, req: &BookingRequest) -> Result<Vec<Connector>> {
        let unknown =
            || OcpiError::UnknownLocation(format!("Location {} not found", req.location_id));
        let station: Uuid = req.location_id.parse().map_err(|_| unknown())?;
        self.store
            .published_location(station)
            .await?
            .ok_or_else(unknown)?;
        let connectors = self.core.connectors_of_stations(&[station]).await?;
        Ok(match &req.evse_uid {
            Some(uid) => vec![
                connectors
                    .into_iter()
                    .find(|c| c.id.to_string() == *uid)
                    .ok_or_else(|| OcpiError::UnknownLocation(format!("EVSE {uid} not found")))?,
            ],
            None => connectors,
        })
    }

    /// A partner's bookings as OCPI Bookings, with their last change,
    /// oldest first.
    pub(crate) async fn partner_bookings(
        &self,
        partner: &Partner,
    ) -> Result<Vec<(DateTime<Utc>, Value)>> {
        let party = &self.settings()?.party;
        let rules = self.bookings.rules();
        let owner = Self::owner(partner);
        let mut out = Vec::new();
        for row in self.store.ocpi_bookings_of(partner.id).await? {
            let b = self.bookings.booking(owner, row.booking_id).await?;
            out.push((
                b.updated_at.max(row.updated_at),
                json::booking(party, &rules, &row, &b),
            ));
        }
        Ok(out)
    }

    /// One of a partner's bookings (2000 / 404 for any other id).
    pub(crate) async fn partner_booking(&self, partner: &Partner, id: &str) -> Result<Value> {
        let unknown = || OcpiError::UnknownObject(format!("Booking {id} not found"));
        let id: Uuid = id.parse().map_err(|_| unknown())?;
        let row = self
            .store
            .ocpi_booking(id)
            .await?
            .filter(|r| r.partner_id == partner.id)
            .ok_or_else(unknown)?;
        let b = self.bookings.booking(Self::owner(partner), id).await?;
        let party = &self.settings()?.party;
        Ok(json::booking(party, &self.bookings.rules(), &row, &b))
    }

    /// Every published connector as a BookingLocation with its free time
    /// in `[from, to)` (at most 7 days), with its Location's last change.
    pub(crate) async fn booking_locations(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        only: Option<Uuid>,
    ) -> Result<Vec<(DateTime<Utc>, Value)>> {
        let party = &self.settings()?.party;
        let rules = self.bookings.rules();
        let now = self.clock.now();
        let from = from.unwrap_or(now).max(now);
        let to = to.unwrap_or(from + TimeDelta::days(1));
        if to <= from || to - from > TimeDelta::days(7) {
            return Err(OcpiError::InvalidParameters(
                "timeslot_to must be after timeslot_from (and now), at most 7 days on".into(),
            ));
        }
        let published = self.store.published_locations().await?;
        let ids: Vec<Uuid> = published.iter().map(|(s, _)| s.id).collect();
        let connectors = self.core.connectors_of_stations(&ids).await?;
        let mut by_station: HashMap<Uuid, Vec<&Connector>> = HashMap::new();
        for c in connectors
            .iter()
            .filter(|c| only.is_none_or(|id| id == c.id))
        {
            by_station.entry(c.station_id).or_default().push(c);
        }
        let mut out = Vec::new();
        for (station, details) in &published {
            let Some(cs) = by_station.get(&station.id) else {
                continue;
            };
            let free = self
                .bookings
                .availability(station.id, from, to, Some(INCREMENT))
                .await?;
            let changed = crate::locations::last_updated(station, details, cs);
            for c in cs {
                let slots: Vec<_> = free
                    .slots
                    .iter()
                    .filter(|s| s.connector_id == c.id)
                    .collect();
                let value =
                    json::booking_location(party, &rules, c, &slots, (from, to), INCREMENT, now);
                out.push((changed, value));
            }
        }
        Ok(out)
    }

    /// Queues a booking's new state for the partner that made it (nothing
    /// for an app's booking).
    pub(crate) async fn queue_booking(&self, booking: &Booking) -> booking::Result<()> {
        let Some(settings) = &self.settings else {
            return Ok(());
        };
        if booking.user_id >= 0 {
            return Ok(());
        }
        let Some(row) = self.store.ocpi_booking(booking.id).await? else {
            return Ok(());
        };
        let Some(partner) = self.store.partner(row.partner_id).await? else {
            return Ok(());
        };
        if partner.state != PartnerState::Registered
            || partner.endpoint("bookings", "RECEIVER").is_none()
        {
            return Ok(());
        }
        let body = json::booking(&settings.party, &self.bookings.rules(), &row, booking);
        let push = Push {
            partner_id: partner.id,
            module: PushModule::Bookings,
            object_id: booking.id,
            location_id: booking.station_id,
            body,
            last_updated: booking.updated_at.max(row.updated_at),
            attempts: 0,
            next_attempt: self.clock.now(),
        };
        self.store.queue_pushes(&[push]).await?;
        self.wake.notify_one();
        Ok(())
    }
}
