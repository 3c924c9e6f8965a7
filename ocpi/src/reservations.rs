//! RESERVE_NOW and CANCEL_RESERVATION (OCPI commands) over the booking
//! service: a reservation is a booking from the next whole minute to its
//! `expiry_date`, made through the same hold store as an app's and
//! reserved on the charger for the partner's token, so it can never
//! overlap another claim. It is kept as the partner's booking under the
//! request id `reserve:{reservation_id}`.

use booking::Error;
use booking::service::{Caller, HoldRequest};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::Ocpi;
use crate::bookings::OcpiBooking;
use crate::commands::{response, text};
use crate::envelope::parse_timestamp;
use crate::error::{OcpiError, Result};
use crate::partner::Partner;

fn request_id(reservation_id: &str) -> String {
    format!("reserve:{reservation_id}")
}

/// What a RESERVE_NOW asks for, checked.
struct Reservation {
    id: String,
    token: Value,
    uid: String,
    station: uuid::Uuid,
    evse: Option<String>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    reference: String,
}

impl Ocpi {
    fn read_reservation(&self, req: &Value) -> Result<Reservation> {
        let id = text(req, "reservation_id")?;
        if id.chars().count() > 36 {
            return Err(OcpiError::InvalidParameters(
                "reservation_id must be at most 36 characters".into(),
            ));
        }
        let token = req
            .get("token")
            .filter(|t| t.is_object())
            .cloned()
            .ok_or_else(|| OcpiError::InvalidParameters("token is required".into()))?;
        let uid = text(&token, "uid")?.to_owned();
        let location = text(req, "location_id")?;
        let station = location
            .parse()
            .map_err(|_| OcpiError::UnknownLocation(format!("Location {location} not found")))?;
        let expiry = parse_timestamp(text(req, "expiry_date")?)
            .ok_or_else(|| OcpiError::InvalidParameters("expiry_date is not a DateTime".into()))?;
        let now = self.clock.now();
        let minute = TimeDelta::minutes(1);
        let start = now
            .duration_trunc(minute)
            .map_err(|e| OcpiError::Internal(e.to_string()))?
            + minute;
        let end = expiry
            .duration_round_up(minute)
            .map_err(|e| OcpiError::Internal(e.to_string()))?;
        if end <= start {
            return Err(OcpiError::InvalidParameters(
                "expiry_date must be more than a minute ahead".into(),
            ));
        }
        Ok(Reservation {
            id: id.to_owned(),
            token,
            uid,
            station,
            evse: req
                .get("evse_uid")
                .and_then(Value::as_str)
                .map(str::to_owned),
            start,
            end: end.min(start + self.bookings.rules().max_duration),
            reference: req
                .get("authorization_reference")
                .and_then(Value::as_str)
                .unwrap_or(id)
                .chars()
                .take(36)
                .collect(),
        })
    }

    /// RESERVE_NOW: checked at once (2003 for an unknown Location); the
    /// booking is made after the answer and its outcome posted.
    pub(crate) async fn reserve_now(
        &self,
        partner: &Partner,
        req: &Value,
        response_url: &str,
    ) -> Result<Value> {
        let r = self.read_reservation(req)?;
        self.store
            .published_location(r.station)
            .await?
            .ok_or_else(|| {
                OcpiError::UnknownLocation(format!("Location {} not found", r.station))
            })?;
        let ocpi = self.clone();
        let (partner, url) = (partner.clone(), response_url.to_owned());
        tokio::spawn(async move {
            let (result, message) = match ocpi.reserve(&partner, &r).await {
                Ok(outcome) => outcome,
                Err(e) => ("FAILED", Some(e.to_string())),
            };
            ocpi.post_result(&partner, &url, result, message).await;
        });
        Ok(response("ACCEPTED", None))
    }

    async fn reserve(
        &self,
        partner: &Partner,
        r: &Reservation,
    ) -> Result<(&'static str, Option<String>)> {
        let owner = Caller {
            user_id: partner.booking_user(),
            admin: false,
        };
        // The same reservation id again replaces the reservation.
        if let Some(old) = self
            .store
            .ocpi_booking_by_request(partner.id, &request_id(&r.id))
            .await?
        {
            match self.bookings.cancel(owner, old.booking_id).await {
                Ok(_) | Err(Error::InvalidState(_)) => {}
                Err(e) => return Err(e.into()),
            }
            self.store.delete_ocpi_booking(old.booking_id).await?;
        }
        let connectors = self.core.connectors_of_stations(&[r.station]).await?;
        let mut outcome = (
            "EVSE_OCCUPIED",
            Some("no EVSE is free until expiry_date".to_owned()),
        );
        for c in connectors
            .iter()
            .filter(|c| r.evse.as_ref().is_none_or(|uid| c.id.to_string() == *uid))
        {
            let hold = HoldRequest {
                station_id: r.station,
                connector_id: c.id,
                start_ts: r.start,
                end_ts: r.end,
                id_tag: Some(r.uid.clone()),
            };
            let uncapped = Caller {
                admin: true,
                ..owner
            };
            let hold = match self.bookings.create_hold(uncapped, hold).await {
                Ok(h) => h,
                Err(Error::Overlap) => continue,
                Err(Error::ConnectorUnavailable(why)) => {
                    outcome = ("EVSE_INOPERATIVE", Some(why));
                    continue;
                }
                Err(Error::Validation { field, message }) => {
                    return Ok(("REJECTED", Some(format!("{field}: {message}"))));
                }
                Err(e) => return Err(e.into()),
            };
            let payment = format!("ocpi:{}", r.reference);
            let (booking, _) = self.bookings.confirm(owner, &hold.token, &payment).await?;
            let now = self.clock.now();
            self.store
                .insert_ocpi_booking(&OcpiBooking {
                    booking_id: booking.id,
                    partner_id: partner.id,
                    request_id: request_id(&r.id),
                    authorization_reference: r.reference.clone(),
                    tokens: json!([r.token]),
                    requests: json!([]),
                    canceled: None,
                    created_at: now,
                    updated_at: now,
                })
                .await?;
            return Ok(("ACCEPTED", None));
        }
        Ok(outcome)
    }

    /// CANCEL_RESERVATION: UNKNOWN_RESERVATION at once for an id this
    /// partner never reserved; otherwise cancelled after the answer (the
    /// charger's reservation with it).
    pub(crate) async fn cancel_reservation(
        &self,
        partner: &Partner,
        req: &Value,
        response_url: &str,
    ) -> Result<Value> {
        let id = text(req, "reservation_id")?;
        let Some(row) = self
            .store
            .ocpi_booking_by_request(partner.id, &request_id(id))
            .await?
        else {
            return Ok(response(
                "UNKNOWN_RESERVATION",
                Some(&format!("no reservation {id}")),
            ));
        };
        let ocpi = self.clone();
        let (partner, url) = (partner.clone(), response_url.to_owned());
        tokio::spawn(async move {
            let owner = Caller {
                user_id: partner.booking_user(),
                admin: false,
            };
            let (result, message) = match ocpi.bookings.cancel(owner, row.booking_id).await {
                Ok(_) => ("ACCEPTED", None),
                Err(Error::InvalidState(m)) => ("REJECTED", Some(m)),
                Err(e) => ("FAILED", Some(e.to_string())),
            };
            ocpi.post_result(&partner, &url, result, message).await;
        });
        Ok(response("ACCEPTED", None))
    }
}
