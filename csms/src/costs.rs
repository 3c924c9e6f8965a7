//! What an OCPP session costs under its connector's tariff (OCPP 2.0.1
//! block I): the running cost in TransactionEvent answers (`totalCost`) and
//! in CostUpdated calls while charging, the final cost at the end — kept on
//! the session for both versions.
//!
//! Time is priced by what the car did: minutes Charging, and minutes
//! plugged in but not charging (2.0.1 `chargingState`, 1.6 StatusNotification
//! Charging vs SuspendedEV/SuspendedEVSE/Finishing). Those minutes are
//! counted in memory on the instance holding the charger: a transaction that
//! outlives a restart, or whose charger never says its state, is priced as
//! charging from its start (or from the last state evgate heard).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use booking::Clock;
use booking::events::Event;
use booking::model::{ChargingSession, OcppVersion, TransactionKey};
use booking::store::{SessionLog, StationStore, TariffStore};
use booking::sync::lock;
use booking::tariffs::{Cost, Tariff, Usage};
use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::registry::Registry;

/// Transactions whose minutes are counted at most; the oldest go first.
const MAX_CLOCKS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct ChargingClock {
    /// When evgate first heard the car's state.
    first: DateTime<Utc>,
    charging: bool,
    since: DateTime<Utc>,
    charging_secs: f64,
    idle_secs: f64,
}

impl ChargingClock {
    fn until(&self, now: DateTime<Utc>) -> (f64, f64) {
        let open = (now - self.since).num_milliseconds().max(0) as f64 / 1000.0;
        if self.charging {
            (self.charging_secs + open, self.idle_secs)
        } else {
            (self.charging_secs, self.idle_secs + open)
        }
    }
}

/// Minutes charging and idle per transaction, keyed by charger and
/// transaction.
#[derive(Debug, Clone, Default)]
pub struct ChargingClocks {
    clocks: Arc<Mutex<HashMap<(Uuid, TransactionKey), ChargingClock>>>,
}

impl ChargingClocks {
    /// The car is charging (`true`) or not from `at` on. The first word
    /// about a transaction starts its clock; an older word changes nothing.
    pub fn state(&self, charger: Uuid, tx: &TransactionKey, charging: bool, at: DateTime<Utc>) {
        let mut clocks = lock(&self.clocks);
        if let Some(clock) = clocks.get_mut(&(charger, tx.clone())) {
            if at < clock.since || clock.charging == charging {
                return;
            }
            let (c, i) = clock.until(at);
            *clock = ChargingClock {
                first: clock.first,
                charging,
                since: at,
                charging_secs: c,
                idle_secs: i,
            };
            return;
        }
        if clocks.len() >= MAX_CLOCKS
            && let Some(oldest) = clocks
                .iter()
                .min_by_key(|(_, c)| c.since)
                .map(|(k, _)| k.clone())
        {
            clocks.remove(&oldest);
        }
        clocks.insert(
            (charger, tx.clone()),
            ChargingClock {
                first: at,
                charging,
                since: at,
                charging_secs: 0.0,
                idle_secs: 0.0,
            },
        );
    }

    /// Minutes charging and idle of `session` until `now`; all charging
    /// since the start when evgate heard no state.
    pub fn minutes(&self, session: &ChargingSession, now: DateTime<Utc>) -> (f64, f64) {
        let clock = lock(&self.clocks)
            .get(&(session.charger_id, session.transaction.clone()))
            .copied();
        let (c, i) = match clock {
            Some(clock) => {
                // Time before the first word counts as charging.
                let before =
                    (clock.first - session.started_at).num_milliseconds().max(0) as f64 / 1000.0;
                let (c, i) = clock.until(now);
                (c + before, i)
            }
            None => (
                (now - session.started_at).num_milliseconds().max(0) as f64 / 1000.0,
                0.0,
            ),
        };
        (c / 60.0, i / 60.0)
    }

    /// Whether the car is charging now, as last heard (charging when evgate
    /// heard nothing).
    pub fn charging_now(&self, session: &ChargingSession) -> bool {
        lock(&self.clocks)
            .get(&(session.charger_id, session.transaction.clone()))
            .is_none_or(|c| c.charging)
    }

    /// The transaction ended: its minutes are no longer needed.
    pub fn forget(&self, charger: Uuid, tx: &TransactionKey) {
        lock(&self.clocks).remove(&(charger, tx.clone()));
    }
}

/// What the car did, in either version's words: charging or not.
pub fn is_charging(ocpp_state: &str) -> Option<bool> {
    match ocpp_state {
        "Charging" => Some(true),
        "SuspendedEV" | "SuspendedEVSE" | "EVConnected" | "Idle" | "Finishing" => Some(false),
        _ => None,
    }
}

/// The cost of `session` until `now` under `tariff`, with `energy_kwh`
/// delivered.
pub fn cost_of(
    tariff: &Tariff,
    clocks: &ChargingClocks,
    session: &ChargingSession,
    energy_kwh: f64,
    now: DateTime<Utc>,
) -> Cost {
    let (charging_minutes, idle_minutes) = clocks.minutes(session, now);
    tariff.cost(Usage {
        energy_kwh,
        charging_minutes,
        idle_minutes,
    })
}

/// Tells chargers connected here what their sessions cost, riding on their
/// meter updates, at most once per `interval` per session: CostUpdated on
/// 2.0.1; on 1.6, for chargers that declare `CustomDisplayCostAndPrice`,
/// the California Pricing RunningCost and, at the end, FinalCost
/// ([`crate::california`]).
#[derive(Debug, Clone)]
pub struct CostUpdates {
    /// The chargers connected here.
    pub registry: Arc<Registry>,
    /// Sessions, connectors and tariffs.
    pub store: Arc<dyn booking::Store>,
    /// Minutes charging and idle.
    pub clocks: ChargingClocks,
    /// For the throttle and the cost's time.
    pub clock: Arc<dyn Clock>,
    /// `TARIFF_COST_UPDATE_INTERVAL_SECONDS`; zero: never.
    pub interval: chrono::TimeDelta,
}

/// A charging session on a charger connected here, with its tariff.
struct Priced {
    charge_point_id: String,
    version: OcppVersion,
    session: ChargingSession,
    tariff: Tariff,
}

/// Whether a charger takes cost messages, and when it was asked.
type Asked = (bool, DateTime<Utc>);

/// Which 1.6 chargers take cost messages, asked once per hour each.
#[derive(Debug, Default, Clone)]
struct Support {
    known: Arc<Mutex<HashMap<String, Asked>>>,
}

impl CostUpdates {
    /// Follows meter updates and session ends until the bus closes.
    pub async fn follow(self, mut events: broadcast::Receiver<Event>) {
        if self.interval <= chrono::TimeDelta::zero() {
            return;
        }
        let support = Support::default();
        let mut last_sent: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
        loop {
            let (connector_id, energy_kwh) = match events.recv().await {
                Ok(Event::MeterUpdate {
                    connector_id,
                    energy_kwh,
                    ..
                }) => (connector_id, energy_kwh),
                Ok(Event::SessionEnded { session_id, .. }) => {
                    last_sent.remove(&session_id);
                    self.final_cost(&support, session_id).await;
                    continue;
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let now = self.clock.now();
            let Some(p) = self.charging_here(connector_id).await else {
                continue;
            };
            if last_sent
                .get(&p.session.id)
                .is_some_and(|at| now - *at < self.interval)
            {
                continue;
            }
            let TransactionKey::Ocpp(_, tx) = &p.session.transaction else {
                continue;
            };
            let cost = cost_of(&p.tariff, &self.clocks, &p.session, energy_kwh, now);
            let (action, payload) = match p.version {
                OcppVersion::V201 => (
                    "CostUpdated",
                    serde_json::json!({ "totalCost": cost.total, "transactionId": tx }),
                ),
                OcppVersion::V16 => {
                    if !self.supports(&support, &p.charge_point_id, now) {
                        continue;
                    }
                    let meter_wh = p.session.meter_start_wh.unwrap_or(0.0) + energy_kwh * 1000.0;
                    let charging = self.clocks.charging_now(&p.session);
                    let tx = tx.parse().unwrap_or_default();
                    let payload = crate::california::running_cost(
                        tx, now, meter_wh, cost.total, charging, &p.tariff,
                    );
                    ("DataTransfer", payload)
                }
            };
            last_sent.insert(p.session.id, now);
            self.send(p.charge_point_id, action, payload);
        }
    }

    fn send(&self, cp: String, action: &'static str, payload: serde_json::Value) {
        let registry = self.registry.clone();
        tokio::spawn(async move {
            if let Err(e) = registry.call(&cp, action, payload).await {
                tracing::info!(charger.id = %cp, ocpp.action = action, error = ?e,
                    "a cost message was not delivered");
            }
        });
    }

    /// Whether a 1.6 charger takes cost messages; asked in the background
    /// the first time (and hourly), so the first update is skipped.
    fn supports(&self, support: &Support, cp: &str, now: DateTime<Utc>) -> bool {
        let known = lock(&support.known).get(cp).copied();
        if let Some((yes, asked)) = known
            && now - asked < chrono::TimeDelta::hours(1)
        {
            return yes;
        }
        lock(&support.known).insert(cp.to_owned(), (false, now));
        let (registry, support, cp) = (self.registry.clone(), support.clone(), cp.to_owned());
        tokio::spawn(async move {
            let query = crate::california::support_query();
            let yes = match registry.call(&cp, "GetConfiguration", query).await {
                Ok(answer) => crate::california::supported(&answer),
                Err(_) => false,
            };
            lock(&support.known).insert(cp, (yes, now));
        });
        false
    }

    /// FinalCost to a 1.6 charger that takes cost messages, once its
    /// session ended with a cost.
    async fn final_cost(&self, support: &Support, session_id: Uuid) {
        let Ok(Some(session)) = SessionLog::session(&*self.store, session_id).await else {
            return;
        };
        let (Some(cost), TransactionKey::Ocpp(OcppVersion::V16, tx)) =
            (session.cost_amount, &session.transaction)
        else {
            return;
        };
        let Ok(Some(charger)) = self.store.charger(session.charger_id).await else {
            return;
        };
        let cp = charger.charge_point_id;
        let known = lock(&support.known).get(&cp).is_some_and(|(yes, _)| *yes);
        let tariff = TariffStore::tariff_for_connector(&*self.store, session.connector_id).await;
        if !known || self.registry.version(&cp) != Some(OcppVersion::V16) {
            return;
        }
        let currency = tariff
            .ok()
            .flatten()
            .map(|t| t.currency)
            .unwrap_or_default();
        let energy = session.energy_kwh.unwrap_or(0.0);
        let payload =
            crate::california::final_cost(tx.parse().unwrap_or_default(), cost, energy, &currency);
        self.send(cp, "DataTransfer", payload);
    }

    /// The charger connected here, its open session on the connector and
    /// the tariff it charges by.
    async fn charging_here(&self, connector_id: Uuid) -> Option<Priced> {
        let connector = StationStore::connector(&*self.store, connector_id)
            .await
            .ok()??;
        let charger = self.store.charger(connector.charger_id).await.ok()??;
        let version = self.registry.version(&charger.charge_point_id)?;
        let session = SessionLog::open_session_on(&*self.store, connector_id)
            .await
            .ok()??;
        let tariff = TariffStore::tariff_for_connector(&*self.store, connector_id)
            .await
            .ok()??;
        Some(Priced {
            charge_point_id: charger.charge_point_id,
            version,
            session,
            tariff,
        })
    }
}

/// The session's cost so far under its connector's tariff, if it has one.
pub async fn running_cost(
    ctx: &crate::context::Context,
    key: &TransactionKey,
) -> Result<Option<f64>, crate::rpc::RpcError> {
    let Some((session, tariff)) = priced(ctx, key).await? else {
        return Ok(None);
    };
    let energy = session.energy_kwh.unwrap_or(0.0);
    let cost = cost_of(
        &tariff,
        &ctx.deps.charging_clocks,
        &session,
        energy,
        ctx.now(),
    );
    Ok(Some(cost.total))
}

/// The final cost at `ended_at`, from the Ended event's meter reading when
/// it has one.
pub async fn final_cost(
    ctx: &crate::context::Context,
    key: &TransactionKey,
    meter_stop_wh: Option<f64>,
    ended_at: chrono::DateTime<chrono::Utc>,
) -> Result<Option<f64>, crate::rpc::RpcError> {
    let Some((session, tariff)) = priced(ctx, key).await? else {
        return Ok(None);
    };
    let energy = match (session.meter_start_wh, meter_stop_wh) {
        (Some(from), Some(to)) => ((to - from) / 1000.0).max(0.0),
        _ => session.energy_kwh.unwrap_or(0.0),
    };
    let cost = cost_of(
        &tariff,
        &ctx.deps.charging_clocks,
        &session,
        energy,
        ended_at,
    );
    Ok(Some(cost.total))
}

/// The open session of a transaction and the tariff of its connector.
async fn priced(
    ctx: &crate::context::Context,
    key: &TransactionKey,
) -> Result<Option<(booking::model::ChargingSession, booking::tariffs::Tariff)>, crate::rpc::RpcError>
{
    let store = &ctx.deps.store;
    let Some(session) = store
        .session_by_transaction(ctx.charger.id, key)
        .await
        .map_err(crate::domain::internal)?
        .filter(|s| s.ended_at.is_none())
    else {
        return Ok(None);
    };
    let tariff = store
        .tariff_for_connector(session.connector_id)
        .await
        .map_err(crate::domain::internal)?;
    Ok(tariff.map(|t| (session, t)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use booking::model::SessionStatus;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + chrono::TimeDelta::minutes(min)
    }

    fn session() -> ChargingSession {
        ChargingSession {
            id: Uuid::nil(),
            booking_id: None,
            connector_id: Uuid::nil(),
            charger_id: Uuid::nil(),
            transaction: TransactionKey::Ocpp(OcppVersion::V201, "tx".into()),
            id_tag: None,
            started_at: at(0),
            ended_at: None,
            meter_start_wh: Some(0.0),
            meter_stop_wh: None,
            energy_kwh: None,
            cost_amount: None,
            status: SessionStatus::Charging,
            stop_reason: None,
        }
    }

    #[test]
    fn minutes_are_split_by_what_the_car_did() {
        let clocks = ChargingClocks::default();
        let s = session();
        assert_eq!(
            clocks.minutes(&s, at(30)),
            (30.0, 0.0),
            "no word: all charging"
        );
        clocks.state(s.charger_id, &s.transaction, true, at(0));
        clocks.state(s.charger_id, &s.transaction, false, at(40));
        clocks.state(s.charger_id, &s.transaction, false, at(45)); // no change
        clocks.state(s.charger_id, &s.transaction, true, at(20)); // older: ignored
        assert_eq!(clocks.minutes(&s, at(55)), (40.0, 15.0));
        clocks.state(s.charger_id, &s.transaction, true, at(55));
        assert_eq!(clocks.minutes(&s, at(60)), (45.0, 15.0));
        clocks.forget(s.charger_id, &s.transaction);
        assert_eq!(clocks.minutes(&s, at(60)), (60.0, 0.0));
    }

    #[test]
    fn time_before_the_first_word_counts_as_charging() {
        let clocks = ChargingClocks::default();
        let s = session();
        clocks.state(s.charger_id, &s.transaction, false, at(10));
        assert_eq!(clocks.minutes(&s, at(25)), (10.0, 15.0));
    }

    #[test]
    fn both_vocabularies_say_whether_the_car_charges() {
        assert_eq!(is_charging("Charging"), Some(true));
        for idle in [
            "SuspendedEV",
            "SuspendedEVSE",
            "EVConnected",
            "Idle",
            "Finishing",
        ] {
            assert_eq!(is_charging(idle), Some(false), "{idle}");
        }
        assert_eq!(is_charging("Available"), None);
    }
}
