//! The one update path: connector status and charging sessions, whether a
//! charger reported them over OCPP or a vendor cloud through a webhook. The
//! CSMS and the webhooks map their messages to these calls; the same
//! real-world sequence therefore leaves the same rows and the same events.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::BookingService;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::model::{
    Booking, BookingStatus, ChargingSession, Connector, ConnectorStatus, SessionStatus,
    TransactionKey,
};
use crate::store::{ReservationVoid, SessionEnd, SessionEnded, StatusChange};

/// A charging session that began on a connector.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionStart {
    /// The connector charging.
    pub connector_id: Uuid,
    /// How the charger or vendor names the session; a replayed start with the
    /// same key is recognised.
    pub transaction: TransactionKey,
    /// The id tag that started it, when reported.
    pub id_tag: Option<String>,
    /// OCPP `reservationId` the transaction claims, if any.
    pub reservation_id: Option<i32>,
    /// A vendor may name the booking outright.
    pub booking_id: Option<Uuid>,
    /// When charging began, as reported (UTC).
    pub started_at: DateTime<Utc>,
    /// Energy register at the start, in Wh.
    pub meter_start_wh: Option<f64>,
}

/// How a session on a charger ended.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionStop {
    /// The charger it ran on; transaction keys are unique per charger.
    pub charger_id: Uuid,
    /// The session's key, as its start named it.
    pub transaction: TransactionKey,
    /// When charging ended, as reported (UTC).
    pub ended_at: DateTime<Utc>,
    /// Energy register at the end, in Wh.
    pub meter_stop_wh: Option<f64>,
    /// When the reporter states it; otherwise derived from the meter.
    pub energy_kwh: Option<f64>,
    /// What it cost, when a vendor says so, in its currency.
    pub cost_amount: Option<f64>,
    /// Why it stopped, as reported.
    pub reason: Option<String>,
}

/// A driver may start charging up to this long before the booked start.
const EARLY_ARRIVAL: TimeDelta = TimeDelta::minutes(15);

impl BookingService {
    /// Records a connector's status as of `at`; a report older than the one
    /// on record changes nothing (`None`). Faulted or Unavailable on a
    /// connector the charger had reserved voids that reservation on our
    /// side too, and the booking's owner is told.
    pub async fn apply_connector_status(
        &self,
        connector_id: Uuid,
        status: ConnectorStatus,
        at: DateTime<Utc>,
    ) -> Result<Option<Connector>> {
        let void = matches!(
            status,
            ConnectorStatus::Faulted | ConnectorStatus::Maintenance
        )
        .then(|| {
            let now = self.clock.now();
            ReservationVoid {
                now,
                until: now + self.rules.reservation_lead + self.rules.max_duration,
            }
        });
        let Some(StatusChange { connector, voided }) = self
            .stations
            .set_connector_status(connector_id, status, at, void)
            .await?
        else {
            return Ok(None);
        };
        self.emit(Event::ConnectorStatusChanged {
            station_id: connector.station_id,
            connector_id,
            status,
            updated_at: connector.status_updated_at,
            last_known_status: connector.last_known_status,
        })
        .await;
        for booking in voided {
            tracing::info!(booking.id = %booking.id, connector.id = %connector.id,
                "connector faulted or unavailable: hardware reservation void");
            self.emit(Event::BookingChanged { booking }).await;
        }
        Ok(Some(connector))
    }

    /// The charger stayed away past the grace period: its connectors are
    /// OFFLINE (their last status kept for display) and apps are told.
    pub async fn charger_offline(&self, charger_id: Uuid, at: DateTime<Utc>) -> Result<usize> {
        let changed = self.stations.mark_charger_offline(charger_id, at).await?;
        for c in &changed {
            self.emit(Event::ConnectorStatusChanged {
                station_id: c.station_id,
                connector_id: c.id,
                status: ConnectorStatus::Offline,
                updated_at: c.status_updated_at,
                last_known_status: c.last_known_status,
            })
            .await;
        }
        Ok(changed.len())
    }

    /// The charger dropped a reservation on its own (2.0.1
    /// ReservationStatusUpdate Expired/Removed): the booking no longer holds
    /// the connector on the hardware, and its owner is told. `false` when no
    /// booking had that reservation.
    pub async fn reservation_ended_on_charger(
        &self,
        charger_id: Uuid,
        reservation_id: i32,
    ) -> Result<bool> {
        let Some(booking) = self
            .ledger
            .booking_by_reservation(charger_id, reservation_id)
            .await?
            .filter(|b| b.reserved_on_charger)
        else {
            return Ok(false);
        };
        self.ledger
            .set_reserved_on_charger(booking.id, false, self.clock.now())
            .await?;
        let booking = Booking {
            reserved_on_charger: false,
            ..booking
        };
        self.emit(Event::BookingChanged { booking }).await;
        Ok(true)
    }

    /// Records a started session, once per transaction (a replay returns the
    /// session already recorded). The booking it fulfils — named by the
    /// vendor, found by the reservation id, or by the booking's id tag on
    /// the reserved connector around its start — becomes ACTIVE.
    pub async fn session_started(&self, start: SessionStart) -> Result<ChargingSession> {
        let connector = self
            .stations
            .connector(start.connector_id)
            .await?
            .ok_or_else(|| Error::not_found("connector", start.connector_id))?;
        if let Some(known) = self
            .sessions
            .session_by_transaction(connector.charger_id, &start.transaction)
            .await?
        {
            return Ok(known);
        }
        let booking = self.booking_for(&connector, &start).await?;
        let session = ChargingSession {
            id: Uuid::new_v4(),
            booking_id: booking.as_ref().map(|b| b.id),
            connector_id: connector.id,
            charger_id: connector.charger_id,
            transaction: start.transaction.clone(),
            id_tag: start.id_tag.clone(),
            started_at: start.started_at,
            ended_at: None,
            meter_start_wh: start.meter_start_wh,
            meter_stop_wh: None,
            energy_kwh: None,
            cost_amount: None,
            status: SessionStatus::Charging,
            stop_reason: None,
        };
        let started = match self
            .sessions
            .start_session(&session, self.clock.now())
            .await
        {
            Ok(started) => started,
            // The same start, reported twice at once: the first one stands.
            Err(Error::Conflict(_)) => {
                return self
                    .sessions
                    .session_by_transaction(connector.charger_id, &start.transaction)
                    .await?
                    .ok_or_else(|| Error::Internal("session vanished after a conflict".into()));
            }
            Err(e) => return Err(e),
        };
        // Charging changes no cached read: published without a bump.
        self.events.publish(Event::SessionStarted {
            station_id: connector.station_id,
            connector_id: connector.id,
            session_id: session.id,
            started_at: session.started_at,
        });
        if let Some(booking) = started.booking {
            self.emit(Event::BookingChanged { booking }).await;
        }
        Ok(started.session)
    }

    async fn booking_for(
        &self,
        connector: &Connector,
        start: &SessionStart,
    ) -> Result<Option<Booking>> {
        let on_this_connector =
            |b: &Booking| b.connector_id == connector.id && b.status == BookingStatus::Confirmed;
        if let Some(id) = start.booking_id {
            return Ok(self.ledger.booking(id).await?.filter(on_this_connector));
        }
        if let Some(reservation_id) = start.reservation_id
            && let Some(b) = self
                .ledger
                .booking_by_reservation(connector.charger_id, reservation_id)
                .await?
                .filter(on_this_connector)
        {
            return Ok(Some(b));
        }
        // Firmware that omits reservationId: the booking's id tag on its
        // connector, between a little before its start and the no-show cutoff.
        match &start.id_tag {
            Some(tag) => {
                self.ledger
                    .confirmed_booking_for_id_tag(
                        connector.id,
                        tag,
                        start.started_at - self.rules.no_show_grace,
                        start.started_at + EARLY_ARRIVAL,
                    )
                    .await
            }
            None => Ok(None),
        }
    }

    /// A meter reading (Wh, the energy register) during a session: the
    /// session's energy so far, published as a meter update. Readings for
    /// unknown or ended sessions change nothing (`None`).
    pub async fn meter_sample(
        &self,
        charger_id: Uuid,
        transaction: &TransactionKey,
        meter_wh: f64,
        at: DateTime<Utc>,
    ) -> Result<Option<ChargingSession>> {
        let Some(session) = self
            .sessions
            .record_meter(charger_id, transaction, meter_wh, at)
            .await?
        else {
            return Ok(None);
        };
        if let (Some(energy_kwh), Some(connector)) = (
            session.energy_kwh,
            self.stations.connector(session.connector_id).await?,
        ) {
            // A meter update changes no cached read: publish without a bump.
            self.events.publish(Event::MeterUpdate {
                station_id: connector.station_id,
                connector_id: connector.id,
                energy_kwh,
                at,
            });
        }
        Ok(Some(session))
    }

    /// Ends a session; a retried end changes nothing and returns `None`, as
    /// does an unknown transaction (the caller still acknowledges it). The
    /// booking the session fulfilled becomes COMPLETED.
    pub async fn session_ended(&self, stop: SessionStop) -> Result<Option<ChargingSession>> {
        let Some(session) = self
            .sessions
            .session_by_transaction(stop.charger_id, &stop.transaction)
            .await?
        else {
            return Ok(None);
        };
        let energy_kwh = stop.energy_kwh.or_else(|| {
            let (from, to) = (session.meter_start_wh?, stop.meter_stop_wh?);
            Some(((to - from) / 1000.0).max(0.0))
        });
        let Some(SessionEnded {
            session: ended,
            booking: completed,
        }) = self
            .sessions
            .end_session(
                &SessionEnd {
                    session_id: session.id,
                    ended_at: stop.ended_at,
                    meter_stop_wh: stop.meter_stop_wh,
                    energy_kwh,
                    cost_amount: stop.cost_amount,
                    status: SessionStatus::Completed,
                    stop_reason: stop.reason,
                },
                self.clock.now(),
            )
            .await?
        else {
            return Ok(None);
        };
        if let Some(connector) = self.stations.connector(ended.connector_id).await? {
            self.events.publish(Event::SessionEnded {
                station_id: connector.station_id,
                connector_id: connector.id,
                session_id: ended.id,
                ended_at: stop.ended_at,
                energy_kwh: ended.energy_kwh,
            });
        }
        if let Some(booking) = completed {
            self.emit(Event::BookingChanged { booking }).await;
        }
        Ok(Some(ended))
    }
}
