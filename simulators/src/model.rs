//! The simulated charger's hardware, version-neutral and free of I/O: its
//! connectors' state machine, reservations that expire on their own,
//! transactions and meters. Time is passed in, so every rule is tested
//! without sleeping. Each change returns the [`Event`]s a real charger would
//! report; the version dialects turn them into OCPP messages.
//!
//! Just over 600 lines on purpose: the state machine and the tests of its
//! rules, at the bottom, read together.

use chrono::{DateTime, TimeDelta, Utc};

/// A connector's state, named as OCPP 1.6 names them (2.0.1 maps them to
/// its own connector statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorState {
    /// Free: no car, no reservation.
    Available,
    /// A driver is there; the transaction is starting.
    Preparing,
    /// Energy flows; the meter advances at the connector's power.
    Charging,
    /// A transaction runs but the car draws no power; the meter stands still.
    SuspendedEV,
    /// The transaction ended; the car is not yet unplugged.
    Finishing,
    /// Held for one reservation's id tag.
    Reserved,
    /// Out of service (ChangeAvailability Inoperative).
    Unavailable,
    /// Broken: takes no reservation or start until it recovers.
    Faulted,
}

/// A reservation the CSMS made with ReserveNow, held by one connector until it
/// is used, cancelled or expires.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    /// The CSMS's reservation id; a ReserveNow with the same id replaces it.
    pub id: i64,
    /// The only id tag that may start on the reserved connector.
    pub id_tag: String,
    /// When the charger drops it by itself, UTC.
    pub expires_at: DateTime<Utc>,
}

/// A charging session as the charger keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// The charger's own number for it; 2.0.1 sends it as the transaction
    /// id, 1.6 waits for the CSMS's.
    pub local: u64,
    /// The id tag that started it.
    pub id_tag: String,
    /// When it started, UTC.
    pub started_at: DateTime<Utc>,
    /// The connector's energy register at the start, Wh.
    pub meter_start_wh: f64,
    /// The reservation it used, when the connector was reserved for its tag.
    pub reservation_id: Option<i64>,
}

/// One connector of the simulated charger (2.0.1: an EVSE with one connector).
#[derive(Debug, Clone, PartialEq)]
pub struct Connector {
    /// Its current status.
    pub state: ConnectorState,
    /// The reservation holding it, if any.
    pub reservation: Option<Reservation>,
    /// The transaction running on it, if any.
    pub transaction: Option<Transaction>,
    /// The energy register, Wh.
    pub meter_wh: f64,
    /// Charging power while Charging, W.
    pub power_w: f64,
    /// Set by ChangeAvailability Inoperative; takes effect when idle.
    pub inoperative: bool,
}

/// Why a transaction ended (1.6 reason names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The driver stopped it at the charger.
    Local,
    /// The CSMS stopped it (remote stop, or unlock).
    Remote,
    /// The car was unplugged.
    EVDisconnected,
    /// The CSMS refused the id tag when the transaction started.
    DeAuthorized,
    /// The charger rebooted (Reset).
    Reboot,
}

/// What the charger reports after a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A connector's status changed.
    Status {
        /// The connector number, from 1.
        connector: u32,
        /// Its new state.
        state: ConnectorState,
    },
    /// A transaction started.
    Started {
        /// The connector number, from 1.
        connector: u32,
        /// The transaction as it started.
        transaction: Transaction,
    },
    /// A transaction ended.
    Ended {
        /// The connector number, from 1.
        connector: u32,
        /// The transaction as it started.
        transaction: Transaction,
        /// The energy register at the end, Wh.
        meter_stop_wh: f64,
        /// Why it ended.
        reason: StopReason,
        /// When it ended, UTC.
        at: DateTime<Utc>,
    },
    /// A reservation ran out on the charger (2.0.1 tells the CSMS).
    ReservationExpired {
        /// The connector it held, from 1.
        connector: u32,
        /// The CSMS's reservation id.
        reservation_id: i64,
    },
}

/// How a ReserveNow is answered (1.6 names; 2.0.1 has the same set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// The connector is now Reserved.
    Accepted,
    /// In use or reserved; with no connector named, none is free.
    Occupied,
    /// The connector is Faulted.
    Faulted,
    /// The connector is out of service.
    Unavailable,
    /// There is no such connector.
    Rejected,
}

/// Why a start was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The connector number does not exist.
    NoSuchConnector,
    /// The connector is reserved for another id tag.
    ReservedForAnother,
    /// Its state takes no start (Faulted, Unavailable, …).
    NotAvailable(ConnectorState),
    /// A transaction already runs on the connector.
    Busy,
}

/// The simulated charger's hardware: its connectors, numbered from 1.
#[derive(Debug, Clone)]
pub struct Hardware {
    /// The connectors; connector `n` is at index `n - 1`.
    pub connectors: Vec<Connector>,
    /// What the screen shows (2.0.1 display messages).
    pub screen: crate::screen::Screen,
    /// The charging profiles the CSMS set.
    pub profiles: crate::profiles::Profiles,
    next_transaction: u64,
}

impl Hardware {
    /// `n` connectors, numbered 1..=n (2.0.1: EVSE n, connector 1),
    /// each charging at `power_w`.
    pub fn new(n: u32, power_w: f64) -> Self {
        let connector = Connector {
            state: ConnectorState::Available,
            reservation: None,
            transaction: None,
            meter_wh: 0.0,
            power_w,
            inoperative: false,
        };
        Self {
            connectors: vec![connector; n as usize],
            screen: crate::screen::Screen::default(),
            profiles: crate::profiles::Profiles::default(),
            next_transaction: 1,
        }
    }

    /// Connector `n` (from 1); `None` when there is no such connector.
    pub fn connector(&self, n: u32) -> Option<&Connector> {
        n.checked_sub(1)
            .and_then(|i| self.connectors.get(i as usize))
    }

    fn connector_mut(&mut self, n: u32) -> Option<&mut Connector> {
        n.checked_sub(1)
            .and_then(|i| self.connectors.get_mut(i as usize))
    }

    /// Every connector's current state, as reported after a boot.
    pub fn statuses(&self) -> Vec<Event> {
        (1..=self.connectors.len() as u32)
            .map(|n| Event::Status {
                connector: n,
                state: self.connectors[n as usize - 1].state,
            })
            .collect()
    }

    fn set(&mut self, n: u32, state: ConnectorState, events: &mut Vec<Event>) {
        if let Some(c) = self.connector_mut(n)
            && c.state != state
        {
            c.state = state;
            events.push(Event::Status {
                connector: n,
                state,
            });
        }
    }

    /// ReserveNow. `connector` `None` (1.6 connector 0, 2.0.1 no EVSE)
    /// reserves the first free connector. The same reservation id again
    /// replaces the earlier one.
    pub fn reserve(
        &mut self,
        connector: Option<u32>,
        reservation: Reservation,
        events: &mut Vec<Event>,
    ) -> ReserveOutcome {
        self.drop_reservation(reservation.id, events);
        let n = match connector {
            Some(n) => n,
            None => match self
                .connectors
                .iter()
                .position(|c| c.state == ConnectorState::Available && !c.inoperative)
            {
                Some(i) => i as u32 + 1,
                None => return ReserveOutcome::Occupied,
            },
        };
        let Some(c) = self.connector(n) else {
            return ReserveOutcome::Rejected;
        };
        let outcome = match c.state {
            ConnectorState::Available => ReserveOutcome::Accepted,
            ConnectorState::Faulted => ReserveOutcome::Faulted,
            ConnectorState::Unavailable => ReserveOutcome::Unavailable,
            _ => ReserveOutcome::Occupied,
        };
        if outcome == ReserveOutcome::Accepted {
            if let Some(c) = self.connector_mut(n) {
                c.reservation = Some(reservation);
            }
            self.set(n, ConnectorState::Reserved, events);
        }
        outcome
    }

    /// Removes a reservation (CancelReservation, or replaced); whether it existed.
    fn drop_reservation(&mut self, id: i64, events: &mut Vec<Event>) -> bool {
        let Some(i) = self
            .connectors
            .iter()
            .position(|c| c.reservation.as_ref().is_some_and(|r| r.id == id))
        else {
            return false;
        };
        self.connectors[i].reservation = None;
        if self.connectors[i].state == ConnectorState::Reserved {
            self.set(i as u32 + 1, ConnectorState::Available, events);
        }
        true
    }

    /// CancelReservation: whether the charger knew the reservation.
    pub fn cancel_reservation(&mut self, id: i64, events: &mut Vec<Event>) -> bool {
        self.drop_reservation(id, events)
    }

    /// Ends reservations whose time has come, as the charger does itself.
    pub fn expire_reservations(&mut self, now: DateTime<Utc>, events: &mut Vec<Event>) {
        let expired: Vec<(u32, i64)> = self
            .connectors
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                c.reservation
                    .as_ref()
                    .filter(|r| r.expires_at <= now)
                    .map(|r| (i as u32 + 1, r.id))
            })
            .collect();
        for (connector, id) in expired {
            self.drop_reservation(id, events);
            events.push(Event::ReservationExpired {
                connector,
                reservation_id: id,
            });
        }
    }

    /// The earliest reservation expiry, for the charger's timer.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.connectors
            .iter()
            .filter_map(|c| c.reservation.as_ref().map(|r| r.expires_at))
            .min()
    }

    /// A driver plugs in and presents `id_tag`; the transaction starts
    /// (Preparing, then Charging) unless the connector cannot take it.
    pub fn start(
        &mut self,
        n: u32,
        id_tag: &str,
        now: DateTime<Utc>,
        events: &mut Vec<Event>,
    ) -> Result<Transaction, Refusal> {
        let c = self.connector(n).ok_or(Refusal::NoSuchConnector)?;
        if c.transaction.is_some() {
            return Err(Refusal::Busy);
        }
        if let Some(r) = &c.reservation
            && r.id_tag != id_tag
        {
            return Err(Refusal::ReservedForAnother);
        }
        match c.state {
            ConnectorState::Available | ConnectorState::Reserved | ConnectorState::Preparing => {}
            other => return Err(Refusal::NotAvailable(other)),
        }
        let reservation_id = c.reservation.as_ref().map(|r| r.id);
        let transaction = Transaction {
            local: self.next_transaction,
            id_tag: id_tag.to_owned(),
            started_at: now,
            meter_start_wh: c.meter_wh,
            reservation_id,
        };
        self.next_transaction += 1;
        self.set(n, ConnectorState::Preparing, events);
        if let Some(c) = self.connector_mut(n) {
            c.reservation = None;
            c.transaction = Some(transaction.clone());
        }
        events.push(Event::Started {
            connector: n,
            transaction: transaction.clone(),
        });
        self.set(n, ConnectorState::Charging, events);
        Ok(transaction)
    }

    /// The meters advance by what each charging connector delivered.
    pub fn advance(&mut self, elapsed: TimeDelta) {
        let hours = elapsed.num_milliseconds() as f64 / 3_600_000.0;
        for c in &mut self.connectors {
            if c.state == ConnectorState::Charging {
                c.meter_wh += c.power_w * hours;
            }
        }
    }

    /// The car stops drawing power (battery full).
    pub fn suspend(&mut self, n: u32, events: &mut Vec<Event>) {
        if self
            .connector(n)
            .is_some_and(|c| c.state == ConnectorState::Charging)
        {
            self.set(n, ConnectorState::SuspendedEV, events);
        }
    }

    /// Ends the transaction on `n`, if any: Finishing, then (unplugged)
    /// Available — or Unavailable if it was made inoperative meanwhile.
    pub fn stop(
        &mut self,
        n: u32,
        reason: StopReason,
        now: DateTime<Utc>,
        events: &mut Vec<Event>,
    ) -> Option<Transaction> {
        let c = self.connector_mut(n)?;
        let transaction = c.transaction.take()?;
        let meter_stop_wh = c.meter_wh;
        self.profiles.transaction_ended(n);
        let c = self.connector_mut(n)?;
        let idle = if c.inoperative {
            ConnectorState::Unavailable
        } else {
            ConnectorState::Available
        };
        events.push(Event::Ended {
            connector: n,
            transaction: transaction.clone(),
            meter_stop_wh,
            reason,
            at: now,
        });
        self.set(n, ConnectorState::Finishing, events);
        self.set(n, idle, events);
        Some(transaction)
    }

    /// The connector with this transaction.
    pub fn connector_of(&self, local: u64) -> Option<u32> {
        self.connectors
            .iter()
            .position(|c| c.transaction.as_ref().is_some_and(|t| t.local == local))
            .map(|i| i as u32 + 1)
    }

    /// ChangeAvailability: `true` when applied now, `false` when scheduled
    /// for the end of a running transaction. `None` for no such connector.
    /// Connector 0 is the whole charger.
    pub fn set_operative(
        &mut self,
        n: u32,
        operative: bool,
        events: &mut Vec<Event>,
    ) -> Option<bool> {
        let targets: Vec<u32> = if n == 0 {
            (1..=self.connectors.len() as u32).collect()
        } else {
            self.connector(n)?;
            vec![n]
        };
        let mut now = true;
        for t in targets {
            let c = self.connector_mut(t)?;
            c.inoperative = !operative;
            if c.transaction.is_some() {
                now = false;
                continue;
            }
            let state = c.state;
            match (operative, state) {
                (false, ConnectorState::Faulted) => {}
                (false, _) => self.set(t, ConnectorState::Unavailable, events),
                (true, ConnectorState::Unavailable) => {
                    self.set(t, ConnectorState::Available, events)
                }
                _ => {}
            }
        }
        Some(now)
    }

    /// Connector `n` faults; a transaction on it is not ended.
    pub fn fault(&mut self, n: u32, events: &mut Vec<Event>) {
        self.set(n, ConnectorState::Faulted, events);
    }

    /// A Faulted connector `n` becomes Available again.
    pub fn recover(&mut self, n: u32, events: &mut Vec<Event>) {
        if self
            .connector(n)
            .is_some_and(|c| c.state == ConnectorState::Faulted)
        {
            self.set(n, ConnectorState::Available, events);
        }
    }

    /// A reboot ends every transaction; reservations are kept (they live
    /// in the charger's memory of its bookings), statuses are re-sent at boot.
    pub fn reboot(&mut self, now: DateTime<Utc>, events: &mut Vec<Event>) {
        for n in 1..=self.connectors.len() as u32 {
            self.stop(n, StopReason::Reboot, now, events);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(min)
    }

    fn reservation(id: i64, tag: &str, expires: i64) -> Reservation {
        Reservation {
            id,
            id_tag: tag.into(),
            expires_at: at(expires),
        }
    }

    #[test]
    fn a_reserved_connector_refuses_other_tags_and_takes_its_own() {
        let mut hw = Hardware::new(2, 11_000.0);
        let mut ev = Vec::new();
        assert_eq!(
            hw.reserve(Some(1), reservation(7, "ALICE", 30), &mut ev),
            ReserveOutcome::Accepted
        );
        assert_eq!(
            ev,
            [Event::Status {
                connector: 1,
                state: ConnectorState::Reserved
            }]
        );
        assert_eq!(
            hw.start(1, "BOB", at(1), &mut ev),
            Err(Refusal::ReservedForAnother)
        );
        let tx = hw.start(1, "ALICE", at(2), &mut ev).unwrap();
        assert_eq!(tx.reservation_id, Some(7));
        assert_eq!(hw.connector(1).unwrap().state, ConnectorState::Charging);
        assert!(hw.connector(1).unwrap().reservation.is_none());
        // A second reservation on a busy connector is Occupied.
        assert_eq!(
            hw.reserve(Some(1), reservation(8, "CAROL", 30), &mut ev),
            ReserveOutcome::Occupied
        );
    }

    #[test]
    fn reservations_expire_on_their_own() {
        let mut hw = Hardware::new(1, 11_000.0);
        let mut ev = Vec::new();
        hw.reserve(Some(1), reservation(3, "A", 10), &mut ev);
        assert_eq!(hw.next_expiry(), Some(at(10)));
        ev.clear();
        hw.expire_reservations(at(9), &mut ev);
        assert!(ev.is_empty());
        hw.expire_reservations(at(10), &mut ev);
        assert_eq!(
            ev,
            [
                Event::Status {
                    connector: 1,
                    state: ConnectorState::Available
                },
                Event::ReservationExpired {
                    connector: 1,
                    reservation_id: 3
                }
            ]
        );
        assert_eq!(hw.next_expiry(), None);
    }

    #[test]
    fn connector_zero_reserves_the_first_free_one_and_cancel_frees_it() {
        let mut hw = Hardware::new(2, 11_000.0);
        let mut ev = Vec::new();
        hw.start(1, "X", at(0), &mut ev).unwrap();
        assert_eq!(
            hw.reserve(None, reservation(1, "A", 10), &mut ev),
            ReserveOutcome::Accepted
        );
        assert_eq!(hw.connector(2).unwrap().state, ConnectorState::Reserved);
        assert!(hw.cancel_reservation(1, &mut ev));
        assert!(!hw.cancel_reservation(1, &mut ev));
        assert_eq!(hw.connector(2).unwrap().state, ConnectorState::Available);
    }

    #[test]
    fn meters_advance_with_power_only_while_charging() {
        let mut hw = Hardware::new(2, 10_000.0);
        let mut ev = Vec::new();
        hw.start(1, "X", at(0), &mut ev).unwrap();
        hw.advance(TimeDelta::minutes(30));
        assert_eq!(hw.connector(1).unwrap().meter_wh, 5_000.0);
        assert_eq!(hw.connector(2).unwrap().meter_wh, 0.0);
        hw.suspend(1, &mut ev);
        hw.advance(TimeDelta::minutes(30));
        assert_eq!(hw.connector(1).unwrap().meter_wh, 5_000.0);
        ev.clear();
        let tx = hw.stop(1, StopReason::Local, at(60), &mut ev).unwrap();
        assert_eq!(tx.meter_start_wh, 0.0);
        assert!(matches!(ev[0], Event::Ended { meter_stop_wh, .. } if meter_stop_wh == 5_000.0));
        let states: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                Event::Status { state, .. } => Some(*state),
                _ => None,
            })
            .collect();
        assert_eq!(
            states,
            [ConnectorState::Finishing, ConnectorState::Available]
        );
    }

    #[test]
    fn unavailability_waits_for_the_running_transaction() {
        let mut hw = Hardware::new(1, 1.0);
        let mut ev = Vec::new();
        hw.start(1, "X", at(0), &mut ev).unwrap();
        assert_eq!(hw.set_operative(1, false, &mut ev), Some(false));
        assert_eq!(hw.connector(1).unwrap().state, ConnectorState::Charging);
        hw.stop(1, StopReason::Local, at(1), &mut ev);
        assert_eq!(hw.connector(1).unwrap().state, ConnectorState::Unavailable);
        assert_eq!(
            hw.reserve(Some(1), reservation(1, "A", 5), &mut ev),
            ReserveOutcome::Unavailable
        );
        assert_eq!(hw.set_operative(0, true, &mut ev), Some(true));
        assert_eq!(hw.connector(1).unwrap().state, ConnectorState::Available);
        hw.fault(1, &mut ev);
        assert_eq!(
            hw.reserve(Some(1), reservation(1, "A", 5), &mut ev),
            ReserveOutcome::Faulted
        );
        assert_eq!(hw.set_operative(9, true, &mut ev), None);
    }
}
