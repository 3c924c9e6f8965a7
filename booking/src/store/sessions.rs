//! Charging sessions, and the booking each one fulfils.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::model::{Booking, ChargingSession, SessionStatus, TransactionKey};

/// How a session ended, as the store records it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEnd {
    /// The session that ended.
    pub session_id: Uuid,
    /// When charging ended, as reported (UTC).
    pub ended_at: DateTime<Utc>,
    /// Energy register at the end, in Wh.
    pub meter_stop_wh: Option<f64>,
    /// Energy delivered in all, in kWh: as reported, or from the meter
    /// readings.
    pub energy_kwh: Option<f64>,
    /// What it cost, when a vendor reports one.
    pub cost_amount: Option<f64>,
    /// Its final status.
    pub status: SessionStatus,
    /// Why it stopped, as reported.
    pub stop_reason: Option<String>,
}

/// A recorded start, and the booking it made ACTIVE.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionStarted {
    /// The session as recorded.
    pub session: ChargingSession,
    /// The booking it moved to ACTIVE, if any.
    pub booking: Option<Booking>,
}

/// A recorded end, and the booking it made COMPLETED.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEnded {
    /// The session as ended.
    pub session: ChargingSession,
    /// The booking it moved to COMPLETED, if any.
    pub booking: Option<Booking>,
}

/// Charging sessions, and the bookings they make ACTIVE and COMPLETED.
#[async_trait]
pub trait SessionLog: Send + Sync + std::fmt::Debug + 'static {
    /// Records a session and moves the booking it fulfils (`session.booking_id`)
    /// from CONFIRMED to ACTIVE, in one transaction. Fails with `Conflict`
    /// (writing nothing) when the charger already has a session with this
    /// transaction key.
    async fn start_session(
        &self,
        session: &ChargingSession,
        now: DateTime<Utc>,
    ) -> Result<SessionStarted>;
    /// Ends a session that has not ended yet and moves its booking from
    /// ACTIVE to COMPLETED, in one transaction; `None` when it already has
    /// ended (a retried end is counted once) or is unknown.
    async fn end_session(
        &self,
        end: &SessionEnd,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionEnded>>;
    /// Records a live meter reading (Wh) on an open session: its energy so
    /// far. `None` when no open session has this key.
    async fn record_meter(
        &self,
        charger_id: Uuid,
        key: &TransactionKey,
        meter_wh: f64,
        at: DateTime<Utc>,
    ) -> Result<Option<ChargingSession>>;
    /// The session still open on a connector, if any.
    async fn open_session_on(&self, connector_id: Uuid) -> Result<Option<ChargingSession>>;
    /// A session by evgate's id.
    async fn session(&self, id: Uuid) -> Result<Option<ChargingSession>>;
    /// The (latest) session that fulfilled a booking, if any.
    async fn session_of_booking(&self, booking_id: Uuid) -> Result<Option<ChargingSession>>;
    /// The session that started on this connector at `started_at` with this
    /// meter reading (how a replayed OCPP 1.6 StartTransaction is recognised).
    async fn session_started_at(
        &self,
        connector_id: Uuid,
        started_at: DateTime<Utc>,
        meter_start_wh: f64,
    ) -> Result<Option<ChargingSession>>;
    /// The session this charger knows by this key, open or ended.
    async fn session_by_transaction(
        &self,
        charger_id: Uuid,
        key: &TransactionKey,
    ) -> Result<Option<ChargingSession>>;
}
