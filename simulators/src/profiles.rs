//! The charger's charging profiles (1.6 Smart Charging, 2.0.1 block K):
//! what the CSMS set with SetChargingProfile, until ClearChargingProfile,
//! and the limit each connector applies because of them — the lowest of
//! the charger-wide maximum and the connector's transaction profile (or,
//! without one, its default), each at its highest stack level and first
//! period. Both versions' payloads are read by the same code.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// One profile as the charger keeps it.
#[derive(Debug, Clone, PartialEq)]
struct Profile {
    connector: u32,
    purpose: String,
    stack_level: i64,
    unit: String,
    limit: f64,
    body: Value,
}

/// The profiles a charger holds, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profiles {
    by_id: BTreeMap<i64, Profile>,
}

/// A limit a connector applies: the value and its unit (`W` or `A`).
pub type Limit = (f64, String);

impl Profiles {
    /// SetChargingProfile for `connector` (1.6 connectorId, 2.0.1 evseId;
    /// 0 is the whole charger) with the profile as sent: the answer's
    /// status. A TxProfile for a connector without a transaction, or on
    /// connector 0, is Rejected, as the specifications ask.
    pub fn set(&mut self, connector: u32, profile: &Value, charging: bool) -> &'static str {
        let id = profile["chargingProfileId"]
            .as_i64()
            .or_else(|| profile["id"].as_i64());
        let schedule = match &profile["chargingSchedule"] {
            Value::Array(schedules) => schedules.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        let (Some(id), Some(purpose), Some(stack_level), Some(unit), Some(limit)) = (
            id,
            profile["chargingProfilePurpose"].as_str(),
            profile["stackLevel"].as_i64(),
            schedule["chargingRateUnit"].as_str(),
            schedule["chargingSchedulePeriod"][0]["limit"].as_f64(),
        ) else {
            return "Rejected";
        };
        if purpose == "TxProfile" && (connector == 0 || !charging) {
            return "Rejected";
        }
        let profile = Profile {
            connector,
            purpose: purpose.to_owned(),
            stack_level,
            unit: unit.to_owned(),
            limit,
            body: profile.clone(),
        };
        self.by_id.insert(id, profile);
        "Accepted"
    }

    /// ClearChargingProfile (either version's fields): Accepted when it
    /// removed any, else Unknown.
    pub fn clear(&mut self, p: &Value) -> &'static str {
        let criteria = &p["chargingProfileCriteria"];
        let id = p["id"].as_i64().or_else(|| p["chargingProfileId"].as_i64());
        let connector = p["connectorId"]
            .as_u64()
            .or_else(|| criteria["evseId"].as_u64());
        let purpose = p["chargingProfilePurpose"]
            .as_str()
            .or_else(|| criteria["chargingProfilePurpose"].as_str());
        let stack = p["stackLevel"]
            .as_i64()
            .or_else(|| criteria["stackLevel"].as_i64());
        let before = self.by_id.len();
        self.by_id.retain(|pid, prof| {
            let matches = match id {
                Some(id) => *pid == id,
                None => {
                    connector.is_none_or(|c| u64::from(prof.connector) == c)
                        && purpose.is_none_or(|x| prof.purpose == x)
                        && stack.is_none_or(|s| prof.stack_level == s)
                }
            };
            !matches
        });
        if self.by_id.len() < before {
            "Accepted"
        } else {
            "Unknown"
        }
    }

    /// Drops a connector's transaction profiles: its transaction ended.
    pub fn transaction_ended(&mut self, connector: u32) {
        self.by_id
            .retain(|_, p| !(p.connector == connector && p.purpose == "TxProfile"));
    }

    fn top(&self, connector: u32, purpose: &str) -> Option<&Profile> {
        self.by_id
            .values()
            .filter(|p| p.connector == connector && p.purpose == purpose)
            .max_by_key(|p| p.stack_level)
    }

    /// The limit `connector` applies now, if any profile limits it.
    pub fn applied(&self, connector: u32, charging: bool) -> Option<Limit> {
        let station = ["ChargePointMaxProfile", "ChargingStationMaxProfile"]
            .iter()
            .find_map(|purpose| self.top(0, purpose));
        let tx = charging
            .then(|| self.top(connector, "TxProfile"))
            .flatten()
            .or_else(|| self.top(connector, "TxDefaultProfile"))
            .or_else(|| self.top(0, "TxDefaultProfile"));
        [station, tx]
            .into_iter()
            .flatten()
            .filter(|p| tx.is_none_or(|t| t.unit == p.unit))
            .min_by(|a, b| a.limit.total_cmp(&b.limit))
            .map(|p| (p.limit, p.unit.clone()))
    }

    /// GetCompositeSchedule's schedule for `connector` over `duration`
    /// seconds: one period at the applied limit, or `None` without one.
    pub fn composite(&self, connector: u32, charging: bool, duration: i64) -> Option<Value> {
        let (limit, unit) = self.applied(connector, charging)?;
        Some(json!({
            "duration": duration,
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": [{ "startPeriod": 0, "limit": limit }],
        }))
    }

    /// What an operator reads: each connector's limit (`1: 7333 W`).
    pub fn lines(&self, connectors: &[(u32, bool)]) -> Vec<String> {
        connectors
            .iter()
            .filter_map(|(n, charging)| {
                let (limit, unit) = self.applied(*n, *charging)?;
                Some(format!("{n}: {limit} {unit}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v16(id: i64, purpose: &str, limit: f64) -> Value {
        json!({"chargingProfileId": id, "stackLevel": 0, "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Relative", "chargingSchedule": {"chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}})
    }

    fn v201(id: i64, purpose: &str, limit: f64) -> Value {
        json!({"id": id, "stackLevel": 0, "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Relative", "chargingSchedule": [{"id": 1,
            "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}]})
    }

    #[test]
    fn the_lowest_of_the_station_maximum_and_the_transactions_limit_applies() {
        let mut p = Profiles::default();
        assert_eq!(p.applied(1, true), None);
        assert_eq!(
            p.set(1, &v16(900_001, "TxProfile", 7333.0), false),
            "Rejected"
        );
        assert_eq!(
            p.set(1, &v16(900_001, "TxProfile", 7333.0), true),
            "Accepted"
        );
        assert_eq!(p.applied(1, true), Some((7333.0, "W".into())));
        assert_eq!(
            p.set(0, &v16(1, "ChargePointMaxProfile", 5000.0), false),
            "Accepted"
        );
        assert_eq!(p.applied(1, true), Some((5000.0, "W".into())));
        assert_eq!(
            p.lines(&[(1, true), (2, false)]),
            ["1: 5000 W", "2: 5000 W"]
        );
        assert_eq!(p.clear(&json!({"id": 1})), "Accepted");
        assert_eq!(p.clear(&json!({"id": 1})), "Unknown");
        p.transaction_ended(1);
        assert_eq!(p.applied(1, true), None);
        assert_eq!(p.set(0, &json!({"id": 3}), false), "Rejected");
    }

    #[test]
    fn both_versions_are_read_and_cleared_by_criteria() {
        let mut p = Profiles::default();
        assert_eq!(
            p.set(2, &v201(900_002, "TxProfile", 11000.0), true),
            "Accepted"
        );
        assert_eq!(
            p.set(0, &v201(4, "TxDefaultProfile", 16000.0), false),
            "Accepted"
        );
        assert_eq!(p.applied(1, false), Some((16000.0, "W".into())));
        assert_eq!(
            p.composite(2, true, 600).unwrap()["chargingSchedulePeriod"][0]["limit"],
            11000.0
        );
        let criteria =
            json!({"chargingProfileCriteria": {"chargingProfilePurpose": "TxDefaultProfile"}});
        assert_eq!(p.clear(&criteria), "Accepted");
        assert_eq!(p.applied(1, false), None);
        assert!(p.composite(1, false, 600).is_none());
    }
}
