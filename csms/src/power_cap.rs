//! Station power caps: the load management operators ask for most. A
//! station's cap (`PUT /v1/admin/stations/{id}/power-limit`) is divided
//! equally among its charging OCPP sessions, and each charger gets a
//! TxProfile for its transaction with its share, in watts. The division is
//! done again whenever a session starts or ends, and when the cap changes.
//!
//! Shares are whole watts, rounded down, with the remainder handed out one
//! watt at a time to the earliest sessions: they sum to the cap exactly and
//! never above it. Vendor sessions are not counted (evgate cannot limit
//! them). The profile's id is [`PROFILE_IDS`] plus the connector (1.6) or
//! EVSE (2.0.1), so a new share replaces the last on the charger.

use std::sync::Arc;

use booking::events::Event;
use booking::model::{
    ChargingSession, OcppVersion, ProfileFilter, ProfilePurpose, StationPowerLimit, TransactionKey,
};
use booking::{Clock, Store};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use uuid::Uuid;

pub use crate::commands::SendCommand;
use crate::commands::{self, CommandError};

/// Power-cap profile ids start here (plus the connector or EVSE number);
/// operators' own profiles should stay below.
pub const PROFILE_IDS: i32 = 900_000;

/// The stack level of power-cap TxProfiles.
pub const STACK_LEVEL: i32 = 0;

/// `cap_w` divided among `sessions`: whole watts, equal but for the
/// remainder, which goes one watt each to the first sessions.
pub fn shares(cap_w: i64, sessions: usize) -> Vec<i64> {
    let Ok(n) = i64::try_from(sessions) else {
        return Vec::new();
    };
    if n == 0 || cap_w <= 0 {
        return vec![0; sessions];
    }
    let (each, rest) = (cap_w / n, cap_w % n);
    (0..n).map(|i| each + i64::from(i < rest)).collect()
}

/// One OCPP session charging at a capped station.
#[derive(Debug, Clone, PartialEq)]
pub struct Charging {
    /// The charger's identity.
    pub charge_point_id: String,
    /// Its OCPP version, from the transaction.
    pub version: OcppVersion,
    /// 1.6 `connectorId` or 2.0.1 `evseId`.
    pub connector: i32,
    /// The transaction's id on the charger.
    pub transaction: String,
    /// When it started: earlier sessions get the remainder's watts first.
    pub started_at: DateTime<Utc>,
}

/// SetChargingProfile limiting one transaction to `limit_w`, in the
/// charger's version (checked against its schema).
pub fn tx_profile(c: &Charging, limit_w: i64) -> Result<Value, CommandError> {
    let id = PROFILE_IDS + c.connector;
    let periods = json!([{ "startPeriod": 0, "limit": limit_w }]);
    let payload = match c.version {
        OcppVersion::V16 => {
            let tx: i32 = c.transaction.parse().map_err(|_| {
                CommandError::Invalid(format!("1.6 transaction id {:?}", c.transaction))
            })?;
            json!({"connectorId": c.connector, "csChargingProfiles": {
                "chargingProfileId": id, "transactionId": tx, "stackLevel": STACK_LEVEL,
                "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
                "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": periods},
            }})
        }
        OcppVersion::V201 => json!({"evseId": c.connector, "chargingProfile": {
            "id": id, "transactionId": c.transaction, "stackLevel": STACK_LEVEL,
            "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
            "chargingSchedule": [{"id": id, "chargingRateUnit": "W",
                "chargingSchedulePeriod": periods}],
        }}),
    };
    commands::validate(c.version, "SetChargingProfile", payload).map(|(_, p)| p)
}

/// ClearChargingProfile of the power-cap profile on one connector/EVSE.
pub fn clear_profile(version: OcppVersion, connector: i32) -> Result<Value, CommandError> {
    crate::smart_charging::clear_profile(version, PROFILE_IDS + connector)
}

/// What one charger was told.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The session it charges.
    pub session: Charging,
    /// Its share, in watts (0 when the cap was lifted).
    pub limit_w: i64,
    /// The charger's `status`, or why it gave none.
    pub outcome: String,
}

/// Divides stations' caps and tells the chargers.
#[derive(Debug, Clone)]
pub struct PowerCap {
    /// Caps, connectors and open sessions.
    pub store: Arc<dyn Store>,
    /// How the profiles reach the chargers.
    pub chargers: Arc<dyn SendCommand>,
    /// For `updated_at`.
    pub clock: Arc<dyn Clock>,
}

impl PowerCap {
    /// Sets a station's cap and shares it among the sessions charging now.
    pub async fn set(&self, station_id: Uuid, max_w: i64) -> booking::Result<Vec<Sent>> {
        let limit = StationPowerLimit {
            station_id,
            max_w,
            updated_at: self.clock.now(),
        };
        self.store.set_station_power_limit(&limit).await?;
        self.rebalance(station_id).await
    }

    /// Lifts a station's cap and clears the profiles it put on chargers;
    /// `None` when it had none.
    pub async fn lift(&self, station_id: Uuid) -> booking::Result<Option<Vec<Sent>>> {
        if !self.store.remove_station_power_limit(station_id).await? {
            return Ok(None);
        }
        let mut sent = Vec::new();
        for session in self.charging(station_id).await? {
            let outcome = match clear_profile(session.version, session.connector) {
                Ok(payload) => {
                    self.send(&session.charge_point_id, "ClearChargingProfile", payload)
                        .await
                }
                Err(e) => e.to_string(),
            };
            sent.push(Sent {
                session,
                limit_w: 0,
                outcome,
            });
        }
        Ok(Some(sent))
    }

    /// Shares the station's cap (if any) among its charging sessions and
    /// sends each charger its TxProfile, all at once.
    pub async fn rebalance(&self, station_id: Uuid) -> booking::Result<Vec<Sent>> {
        let Some(cap) = self.store.station_power_limit(station_id).await? else {
            return Ok(Vec::new());
        };
        let sessions = self.charging(station_id).await?;
        let shares = shares(cap.max_w, sessions.len());
        let calls = sessions
            .into_iter()
            .zip(shares)
            .map(|(session, limit_w)| async move {
                let outcome = match tx_profile(&session, limit_w) {
                    Ok(payload) => {
                        self.send(&session.charge_point_id, "SetChargingProfile", payload)
                            .await
                    }
                    Err(e) => e.to_string(),
                };
                tracing::info!(charger.id = %session.charge_point_id, station.id = %station_id,
                limit_w, outcome = %outcome, "power cap share sent");
                Sent {
                    session,
                    limit_w,
                    outcome,
                }
            });
        Ok(futures_util::future::join_all(calls).await)
    }

    async fn send(&self, cp: &str, action: &str, payload: Value) -> String {
        match self.chargers.command(cp, action, payload).await {
            Ok(answer) => answer["status"].as_str().unwrap_or("?").to_owned(),
            Err(e) => e.to_string(),
        }
    }

    /// The station's OCPP sessions charging now, earliest first.
    pub async fn charging(&self, station_id: Uuid) -> booking::Result<Vec<Charging>> {
        let connectors = self.store.connectors_of_stations(&[station_id]).await?;
        let mut charging = Vec::new();
        for connector in connectors {
            let Some(session) = self.store.open_session_on(connector.id).await? else {
                continue;
            };
            let TransactionKey::Ocpp(version, transaction) = session.transaction else {
                continue;
            };
            let Some(charger) = self.store.charger(connector.charger_id).await? else {
                continue;
            };
            charging.push(Charging {
                charge_point_id: charger.charge_point_id,
                version,
                connector: match version {
                    OcppVersion::V16 => connector.ocpp_connector_id,
                    OcppVersion::V201 => connector.evse_id,
                },
                transaction,
                started_at: session.started_at,
            });
        }
        charging.sort_by(|a, b| {
            (a.started_at, &a.charge_point_id, a.connector).cmp(&(
                b.started_at,
                &b.charge_point_id,
                b.connector,
            ))
        });
        Ok(charging)
    }

    /// Forgets the TxProfiles of an ended session: the charger dropped them.
    async fn forget_tx_profiles(&self, session: &ChargingSession) -> booking::Result<()> {
        let TransactionKey::Ocpp(version, _) = &session.transaction else {
            return Ok(());
        };
        let Some(connector) = self.store.connector(session.connector_id).await? else {
            return Ok(());
        };
        let evse = match version {
            OcppVersion::V16 => connector.ocpp_connector_id,
            OcppVersion::V201 => connector.evse_id,
        };
        let filter = ProfileFilter {
            evse_id: Some(evse),
            purpose: Some(ProfilePurpose::Tx),
            ..ProfileFilter::default()
        };
        self.store
            .remove_charging_profiles(session.charger_id, &filter)
            .await
            .map(drop)
    }

    /// Shares caps again as sessions start and end.
    pub async fn follow(self, mut events: broadcast::Receiver<Event>) {
        loop {
            let (station_id, ended) = match events.recv().await {
                Ok(Event::SessionStarted { station_id, .. }) => (station_id, None),
                Ok(Event::SessionEnded {
                    station_id,
                    session_id,
                    ..
                }) => (station_id, Some(session_id)),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "power cap: missed session events; shares are recomputed at the next one"
                    );
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let this = self.clone();
            tokio::spawn(async move {
                if let Some(id) = ended
                    && let Ok(Some(session)) = this.store.session(id).await
                    && let Err(e) = this.forget_tx_profiles(&session).await
                {
                    tracing::warn!(session.id = %id, error = %e, "cannot forget an ended session's profiles");
                }
                if let Err(e) = this.rebalance(station_id).await {
                    tracing::warn!(station.id = %station_id, error = %e, "cannot share the station's power cap");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn shares_sum_to_the_cap_and_never_above() {
        assert_eq!(shares(22_000, 3), [7334, 7333, 7333]);
        assert_eq!(shares(22_000, 1), [22_000]);
        assert_eq!(shares(11_000, 2), [5500, 5500]);
        assert_eq!(shares(2, 3), [1, 1, 0]);
        assert!(shares(22_000, 0).is_empty());
        assert_eq!(shares(0, 2), [0, 0]);
        for cap in [1, 7, 999, 22_000, 150_001] {
            for n in 1..12 {
                let s = shares(cap, n);
                assert_eq!(s.iter().sum::<i64>(), cap, "{cap} W among {n}");
                let (lo, hi) = (s.iter().min().unwrap(), s.iter().max().unwrap());
                assert!(hi - lo <= 1, "equal but for a watt: {s:?}");
            }
        }
    }

    fn charging(version: OcppVersion, transaction: &str) -> Charging {
        Charging {
            charge_point_id: "CP".into(),
            version,
            connector: 2,
            transaction: transaction.into(),
            started_at: Utc::now(),
        }
    }

    #[test]
    fn tx_profiles_are_valid_in_each_version() {
        let v16 = tx_profile(&charging(OcppVersion::V16, "41"), 7333).unwrap();
        assert_eq!(v16["connectorId"], 2);
        let p = &v16["csChargingProfiles"];
        assert_eq!(p["chargingProfileId"], PROFILE_IDS + 2);
        assert_eq!(p["transactionId"], 41);
        assert_eq!(p["chargingProfilePurpose"], "TxProfile");
        assert_eq!(p["chargingSchedule"]["chargingRateUnit"], "W");
        assert_eq!(
            p["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"].as_f64(),
            Some(7333.0)
        );
        let v201 = tx_profile(&charging(OcppVersion::V201, "tx-9"), 7334).unwrap();
        assert_eq!(v201["evseId"], 2);
        let p = &v201["chargingProfile"];
        assert_eq!(p["transactionId"], "tx-9");
        assert_eq!(p["id"], PROFILE_IDS + 2);
        assert_eq!(
            p["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"].as_f64(),
            Some(7334.0)
        );
        assert!(
            tx_profile(&charging(OcppVersion::V16, "tx-9"), 1).is_err(),
            "1.6 transaction ids are integers"
        );
        assert_eq!(
            clear_profile(OcppVersion::V16, 2).unwrap(),
            json!({"id": PROFILE_IDS + 2})
        );
        assert_eq!(
            clear_profile(OcppVersion::V201, 1).unwrap(),
            json!({"chargingProfileId": PROFILE_IDS + 1})
        );
    }
}
