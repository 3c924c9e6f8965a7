//! Charging profiles per charger: what evgate set and the charger accepted
//! is remembered (SetChargingProfile Accepted), forgotten when cleared
//! (ClearChargingProfile Accepted or Unknown), and re-sent after every
//! accepted BootNotification — a charger that rebooted may have lost them,
//! and setting a profile again with the same id only replaces it. Only the
//! profiles that outlive transactions are re-sent (ChargePointMax /
//! ChargingStationMax, TxDefault); TxProfiles end with their transaction.
//! What a 2.0.1 charger reports (ReportChargingProfiles) is kept apart, as
//! REPORTED, and replaced at the next GetChargingProfiles.

use std::sync::Arc;

use booking::model::{ChargingProfile, OcppVersion, ProfileFilter, ProfileOrigin, ProfilePurpose};
use booking::{Clock, Store};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::commands::{self, CommandError};
use crate::registry::Registry;

/// A profile out of a SetChargingProfile payload (either version): who set
/// it follows from its id (power-cap ids are evgate's).
pub fn profile_of(
    version: OcppVersion,
    sent: &Value,
    charger_id: Uuid,
    now: DateTime<Utc>,
) -> Option<ChargingProfile> {
    let (evse, profile, id) = match version {
        OcppVersion::V16 => (
            &sent["connectorId"],
            &sent["csChargingProfiles"],
            "chargingProfileId",
        ),
        OcppVersion::V201 => (&sent["evseId"], &sent["chargingProfile"], "id"),
    };
    let profile_id = i32::try_from(profile[id].as_i64()?).ok()?;
    let purpose = ProfilePurpose::from_ocpp(profile["chargingProfilePurpose"].as_str()?)?;
    let origin = if purpose == ProfilePurpose::Tx && profile_id >= crate::power_cap::PROFILE_IDS {
        ProfileOrigin::PowerCap
    } else {
        ProfileOrigin::Operator
    };
    Some(ChargingProfile {
        charger_id,
        profile_id,
        origin,
        evse_id: i32::try_from(evse.as_i64()?).ok()?,
        purpose,
        stack_level: i32::try_from(profile["stackLevel"].as_i64()?).ok()?,
        profile: profile.clone(),
        updated_at: now,
    })
}

/// Which remembered profiles a ClearChargingProfile payload clears.
pub fn clear_filter(version: OcppVersion, sent: &Value) -> ProfileFilter {
    let int = |v: &Value| v.as_i64().and_then(|n| i32::try_from(n).ok());
    let purpose = |v: &Value| v.as_str().and_then(ProfilePurpose::from_ocpp);
    match version {
        OcppVersion::V16 => match int(&sent["id"]) {
            Some(id) => ProfileFilter {
                profile_id: Some(id),
                ..ProfileFilter::default()
            },
            None => ProfileFilter {
                profile_id: None,
                evse_id: int(&sent["connectorId"]),
                purpose: purpose(&sent["chargingProfilePurpose"]),
                stack_level: int(&sent["stackLevel"]),
            },
        },
        OcppVersion::V201 => {
            let c = &sent["chargingProfileCriteria"];
            ProfileFilter {
                profile_id: int(&sent["chargingProfileId"]),
                evse_id: int(&c["evseId"]),
                purpose: purpose(&c["chargingProfilePurpose"]),
                stack_level: int(&c["stackLevel"]),
            }
        }
    }
}

/// SetChargingProfile putting a remembered profile back, checked against
/// the charger's version (a charger that changed version gets none).
pub fn resend(version: OcppVersion, p: &ChargingProfile) -> Result<Value, CommandError> {
    let payload = match version {
        OcppVersion::V16 => json!({ "connectorId": p.evse_id, "csChargingProfiles": p.profile }),
        OcppVersion::V201 => json!({ "evseId": p.evse_id, "chargingProfile": p.profile }),
    };
    commands::validate(version, "SetChargingProfile", payload).map(|(_, p)| p)
}

/// A charger-wide limit or a transactions' default, in words both versions
/// share: what `PUT /v1/admin/chargers/{id}/charging-profiles/{profileId}`
/// takes.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileSpec {
    /// The profile's id on the charger.
    pub id: i32,
    /// 1.6 connector or 2.0.1 EVSE; 0 is the whole charger.
    pub evse_id: i32,
    /// StationMax or TxDefault (a TxProfile needs its transaction: send it
    /// as a command).
    pub purpose: ProfilePurpose,
    /// Its stack level.
    pub stack_level: i32,
    /// `W` or `A`.
    pub unit: String,
    /// (seconds from `start`, limit), the first at 0.
    pub periods: Vec<(i32, f64)>,
    /// When the schedule starts (an Absolute profile).
    pub start: DateTime<Utc>,
}

/// SetChargingProfile for `spec` in the charger's version, checked against
/// its schema.
pub fn set_profile(version: OcppVersion, spec: &ProfileSpec) -> Result<Value, CommandError> {
    let purpose = match (spec.purpose, version) {
        (ProfilePurpose::StationMax, OcppVersion::V16) => "ChargePointMaxProfile",
        (ProfilePurpose::StationMax, OcppVersion::V201) => "ChargingStationMaxProfile",
        (ProfilePurpose::TxDefault, _) => "TxDefaultProfile",
        (other, _) => {
            return Err(CommandError::Invalid(format!(
                "purpose {}: only STATION_MAX and TX_DEFAULT are set this way",
                other.as_str()
            )));
        }
    };
    let periods: Vec<Value> = spec
        .periods
        .iter()
        .map(|(start, limit)| json!({ "startPeriod": start, "limit": limit }))
        .collect();
    let start = booking::iso(spec.start);
    let payload = match version {
        OcppVersion::V16 => json!({"connectorId": spec.evse_id, "csChargingProfiles": {
            "chargingProfileId": spec.id, "stackLevel": spec.stack_level,
            "chargingProfilePurpose": purpose, "chargingProfileKind": "Absolute",
            "chargingSchedule": {"startSchedule": start, "chargingRateUnit": spec.unit,
                "chargingSchedulePeriod": periods},
        }}),
        OcppVersion::V201 => json!({"evseId": spec.evse_id, "chargingProfile": {
            "id": spec.id, "stackLevel": spec.stack_level,
            "chargingProfilePurpose": purpose, "chargingProfileKind": "Absolute",
            "chargingSchedule": [{"id": spec.id, "startSchedule": start,
                "chargingRateUnit": spec.unit, "chargingSchedulePeriod": periods}],
        }}),
    };
    commands::validate(version, "SetChargingProfile", payload).map(|(_, p)| p)
}

/// ClearChargingProfile of one profile by id.
pub fn clear_profile(version: OcppVersion, id: i32) -> Result<Value, CommandError> {
    let payload = match version {
        OcppVersion::V16 => json!({ "id": id }),
        OcppVersion::V201 => json!({ "chargingProfileId": id }),
    };
    commands::validate(version, "ClearChargingProfile", payload).map(|(_, p)| p)
}

/// GetCompositeSchedule for a connector/EVSE (0: the whole charger).
pub fn composite_schedule(
    version: OcppVersion,
    connector: i32,
    duration: i32,
    unit: Option<&str>,
) -> Result<Value, CommandError> {
    let mut payload = match version {
        OcppVersion::V16 => json!({ "connectorId": connector, "duration": duration }),
        OcppVersion::V201 => json!({ "evseId": connector, "duration": duration }),
    };
    if let Some(unit) = unit {
        payload["chargingRateUnit"] = json!(unit);
    }
    commands::validate(version, "GetCompositeSchedule", payload).map(|(_, p)| p)
}

fn status(answer: &Value) -> Option<&str> {
    answer.get("status").and_then(Value::as_str)
}

#[derive(Debug)]
struct Inner {
    registry: Arc<Registry>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

/// Remembers chargers' profiles and puts them back after a boot.
#[derive(Debug, Clone, Default)]
pub struct SmartCharging {
    inner: Option<Arc<Inner>>,
}

impl SmartCharging {
    /// Profiles kept in `store`, re-sent through `registry`.
    pub fn new(registry: Arc<Registry>, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Some(Arc::new(Inner {
                registry,
                store,
                clock,
            })),
        }
    }

    /// Remembers nothing, re-sends nothing (tests that do not need it).
    pub fn none() -> Self {
        Self::default()
    }

    /// Before a GetChargingProfiles goes out: what the charger reported
    /// last time is forgotten, so the coming report is the whole truth.
    pub async fn before_command(&self, charge_point_id: &str, action: &str) {
        let Some(inner) = &self.inner else { return };
        if action != "GetChargingProfiles" {
            return;
        }
        if let Ok(Some(charger)) = inner.store.charger_by_identity(charge_point_id).await
            && let Err(e) = inner.store.forget_reported_profiles(charger.id).await
        {
            tracing::warn!(charger.id = %charge_point_id, error = %e, "cannot forget reported profiles");
        }
    }

    /// After a SetChargingProfile or ClearChargingProfile was answered:
    /// remembers what the charger now holds.
    pub async fn after_command(
        &self,
        charge_point_id: &str,
        version: OcppVersion,
        action: &str,
        sent: &Value,
        answer: &Value,
    ) {
        let Some(inner) = &self.inner else { return };
        let outcome = match (action, status(answer)) {
            ("SetChargingProfile", Some("Accepted")) => {
                let Ok(Some(charger)) = inner.store.charger_by_identity(charge_point_id).await
                else {
                    return;
                };
                let Some(profile) = profile_of(version, sent, charger.id, inner.clock.now()) else {
                    return;
                };
                inner.store.save_charging_profile(&profile).await
            }
            ("ClearChargingProfile", Some("Accepted" | "Unknown")) => {
                let Ok(Some(charger)) = inner.store.charger_by_identity(charge_point_id).await
                else {
                    return;
                };
                let filter = clear_filter(version, sent);
                inner
                    .store
                    .remove_charging_profiles(charger.id, &filter)
                    .await
                    .map(drop)
            }
            _ => return,
        };
        if let Err(e) = outcome {
            tracing::warn!(charger.id = %charge_point_id, error = %e, "cannot remember a charging profile change");
        }
    }

    /// After an accepted boot of a charger evgate keeps profiles for: sends
    /// it the ones evgate set that outlive transactions, in the background
    /// (the boot answer does not wait).
    pub fn after_boot(&self, charger_id: Uuid, charge_point_id: &str, version: OcppVersion) {
        let Some(inner) = self.inner.clone() else {
            return;
        };
        let cp = charge_point_id.to_owned();
        tokio::spawn(async move {
            let profiles = match inner.store.charging_profiles(charger_id).await {
                Ok(profiles) => profiles,
                Err(e) => {
                    tracing::warn!(charger.id = %cp, error = %e, "cannot read charging profiles");
                    return;
                }
            };
            let kept = profiles.iter().filter(|p| {
                p.origin != ProfileOrigin::Reported && p.purpose.outlives_transactions()
            });
            for profile in kept {
                let answer = match resend(version, profile) {
                    Ok(payload) => inner
                        .registry
                        .call(&cp, "SetChargingProfile", payload)
                        .await
                        .map_err(|e| format!("{e:?}")),
                    Err(e) => Err(e.to_string()),
                };
                tracing::info!(charger.id = %cp, profile.id = profile.profile_id,
                    answer = ?answer, "charging profile re-sent after boot");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2030-01-01T10:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn profiles_are_read_from_either_versions_set_charging_profile() {
        let v16 = json!({"connectorId": 0, "csChargingProfiles": {"chargingProfileId": 3,
            "stackLevel": 1, "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Absolute", "chargingSchedule": {"chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 22000.0}]}}});
        let id = Uuid::new_v4();
        let p = profile_of(OcppVersion::V16, &v16, id, now()).unwrap();
        assert_eq!((p.profile_id, p.evse_id, p.stack_level), (3, 0, 1));
        assert_eq!(
            (p.purpose, p.origin),
            (ProfilePurpose::StationMax, ProfileOrigin::Operator)
        );
        assert_eq!(p.profile, v16["csChargingProfiles"]);
        assert_eq!(
            resend(OcppVersion::V16, &p).unwrap(),
            commands::validate(OcppVersion::V16, "SetChargingProfile", v16)
                .unwrap()
                .1
        );
        assert!(
            resend(OcppVersion::V201, &p).is_err(),
            "a 1.6 profile is no 2.0.1 profile"
        );

        let cap = crate::power_cap::Charging {
            charge_point_id: "CP".into(),
            version: OcppVersion::V201,
            connector: 1,
            transaction: "tx".into(),
            started_at: now(),
        };
        let v201 = crate::power_cap::tx_profile(&cap, 7000).unwrap();
        let p = profile_of(OcppVersion::V201, &v201, id, now()).unwrap();
        assert_eq!(
            (p.purpose, p.origin),
            (ProfilePurpose::Tx, ProfileOrigin::PowerCap)
        );
        assert!(
            !p.purpose.outlives_transactions(),
            "not re-sent after a boot"
        );
        assert!(profile_of(OcppVersion::V201, &json!({}), id, now()).is_none());
    }

    #[test]
    fn operator_profiles_are_built_in_the_chargers_version() {
        let spec = ProfileSpec {
            id: 7,
            evse_id: 0,
            purpose: ProfilePurpose::StationMax,
            stack_level: 2,
            unit: "W".into(),
            periods: vec![(0, 22000.0), (3600, 11000.5)],
            start: now(),
        };
        let v16 = set_profile(OcppVersion::V16, &spec).unwrap();
        let p = &v16["csChargingProfiles"];
        assert_eq!(p["chargingProfilePurpose"], "ChargePointMaxProfile");
        assert_eq!(
            p["chargingSchedule"]["startSchedule"],
            "2030-01-01T10:00:00Z"
        );
        assert_eq!(
            p["chargingSchedule"]["chargingSchedulePeriod"][1]["limit"].as_f64(),
            Some(11000.5)
        );
        let v201 = set_profile(OcppVersion::V201, &spec).unwrap();
        assert_eq!(
            v201["chargingProfile"]["chargingProfilePurpose"],
            "ChargingStationMaxProfile"
        );
        let back = profile_of(OcppVersion::V201, &v201, Uuid::new_v4(), now()).unwrap();
        assert_eq!(
            (back.profile_id, back.stack_level, back.purpose),
            (7, 2, ProfilePurpose::StationMax)
        );
        let amps = ProfileSpec {
            unit: "kW".into(),
            ..spec.clone()
        };
        assert!(set_profile(OcppVersion::V16, &amps).is_err(), "W or A only");
        let tx = ProfileSpec {
            purpose: ProfilePurpose::Tx,
            ..spec
        };
        assert!(set_profile(OcppVersion::V201, &tx).is_err());
        assert_eq!(
            clear_profile(OcppVersion::V201, 7).unwrap(),
            json!({"chargingProfileId": 7})
        );
        assert_eq!(
            composite_schedule(OcppVersion::V16, 1, 600, Some("W")).unwrap(),
            json!({"connectorId": 1, "duration": 600, "chargingRateUnit": "W"})
        );
        assert!(composite_schedule(OcppVersion::V201, 1, 600, Some("kW")).is_err());
    }

    #[test]
    fn clears_name_an_id_or_criteria() {
        let by_id = clear_filter(OcppVersion::V16, &json!({"id": 3, "connectorId": 1}));
        assert_eq!(
            by_id,
            ProfileFilter {
                profile_id: Some(3),
                ..ProfileFilter::default()
            }
        );
        let criteria = clear_filter(
            OcppVersion::V16,
            &json!({"connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2}),
        );
        assert_eq!(
            criteria,
            ProfileFilter {
                profile_id: None,
                evse_id: Some(1),
                purpose: Some(ProfilePurpose::TxDefault),
                stack_level: Some(2)
            }
        );
        let v201 = clear_filter(
            OcppVersion::V201,
            &json!({"chargingProfileCriteria": {"chargingProfilePurpose": "ChargingStationMaxProfile"}}),
        );
        assert_eq!(v201.purpose, Some(ProfilePurpose::StationMax));
        assert_eq!(
            clear_filter(OcppVersion::V201, &json!({})),
            ProfileFilter::default()
        );
    }
}
