//! Where both OCPP versions meet the booking core: the one mapping from
//! OCPP's vocabulary to the domain's, and the calls both versions make.
//! Per-version handlers decode their messages and call these.

use crate::admission::RegistrationStatus;
use booking::authorization::Authorization;
use booking::charger_control::Refusal;
use booking::iso;
use booking::model::{Charger, ConnectorStatus, OcppVersion, TransactionKey};
use booking::store::{BootFollowUps, BootInfo};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::context::Context;
use crate::rpc::RpcError;

/// A handler's answer to a CALL: the payload to send, and what the answer
/// means for the connection (so the session never reads the payload back).
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// The CALLRESULT payload.
    pub payload: Value,
    /// A BootNotification answered with this registration status.
    pub booted: Option<RegistrationStatus>,
    /// A call to the same charger, sent after this answer (CertificateSigned
    /// after an accepted SignCertificate).
    pub then: Option<FollowUp>,
}

/// A CSMS-initiated call a handler asks for, queued behind the charger's
/// other calls once its answer is out; the outcome is logged.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUp {
    /// The action, e.g. `CertificateSigned`.
    pub action: &'static str,
    /// The request payload.
    pub payload: Value,
}

impl From<Value> for Handled {
    fn from(payload: Value) -> Self {
        Self {
            payload,
            booted: None,
            then: None,
        }
    }
}

/// Answers one CALL with the handler table of the charger's version.
pub async fn handle(ctx: &Context, action: &str, payload: Value) -> Result<Handled, RpcError> {
    match ctx.version {
        booking::model::OcppVersion::V16 => crate::v16::dispatch(ctx, action, payload).await,
        booking::model::OcppVersion::V201 => crate::v201::dispatch(ctx, action, payload).await,
    }
}

/// DESIGN.md's table: OCPP 1.6 and 2.0.1 connector statuses → evgate's.
pub fn connector_status(ocpp: &str) -> Option<ConnectorStatus> {
    Some(match ocpp {
        "Available" => ConnectorStatus::Available,
        "Preparing" | "Charging" | "SuspendedEV" | "SuspendedEVSE" | "Finishing" | "Occupied" => {
            ConnectorStatus::Occupied
        }
        "Reserved" => ConnectorStatus::Reserved,
        "Unavailable" => ConnectorStatus::Maintenance,
        "Faulted" => ConnectorStatus::Faulted,
        _ => return None,
    })
}

/// ReserveNow answers: Accepted, Faulted, Occupied, Rejected, Unavailable — the same words in 2.0.1.
pub fn refusal_of(status: &str) -> Result<(), Refusal> {
    match status {
        "Accepted" => Ok(()),
        "Occupied" => Err(Refusal::Occupied),
        "Faulted" => Err(Refusal::Faulted),
        "Unavailable" => Err(Refusal::Unavailable),
        _ => Err(Refusal::Rejected),
    }
}

/// The wire text of a serialisable OCPP enum value.
pub fn wire<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A booking-core failure as the charger sees it: logged in full here, answered
/// with a generic InternalError so no internals go on the wire.
pub fn internal(e: booking::Error) -> RpcError {
    tracing::error!(error = %e, "handling an OCPP message failed");
    RpcError::Internal("the central system could not process the message".into())
}

/// Records the boot and answers it, with the admission policy's status:
/// both versions answer with the same fields (`status`, `currentTime`,
/// `interval`: the heartbeat interval when Accepted; otherwise when to
/// boot again, `OCPP_BOOT_RETRY_INTERVAL_SECONDS`).
pub async fn boot(ctx: &Context, info: BootInfo) -> Result<Handled, RpcError> {
    let store = &ctx.deps.store;
    // Read again: the operator may have decided since the socket opened.
    let default = ctx.deps.config.admission;
    let status = match store
        .charger_at_boot(ctx.charger.id)
        .await
        .map_err(internal)?
    {
        Some((charger, follow_ups)) => {
            ctx.deps
                .presence
                .record(ctx.presence(Some(info)))
                .await
                .map_err(internal)?;
            let status = RegistrationStatus::for_charger(&charger, default);
            if status == RegistrationStatus::Accepted {
                after_boot(ctx, &charger, follow_ups);
            }
            status
        }
        // Let in unassigned (OCPP_AUTO_REGISTER): remembered, never admitted.
        None => {
            store
                .record_unassigned_charger(&ctx.charger.charge_point_id, &info, ctx.now())
                .await
                .map_err(internal)?;
            RegistrationStatus::Pending
        }
    };
    let payload = serde_json::json!({
        "status": status.as_str(),
        "currentTime": iso(ctx.now()),
        "interval": match status {
            RegistrationStatus::Accepted => ctx.deps.config.heartbeat_interval,
            RegistrationStatus::Pending | RegistrationStatus::Rejected => {
                ctx.deps.config.boot_retry_interval
            }
        }
        .as_secs(),
    });
    Ok(Handled {
        payload,
        booted: Some(status),
        then: None,
    })
}

/// What an accepted boot sets going in the background, only where the
/// charger's row said there is something to do: a charger that rebooted may
/// have lost its local list or the profiles evgate set, and the operator may
/// want a fresh 2.0.1 device model after every boot.
fn after_boot(ctx: &Context, charger: &Charger, follow_ups: BootFollowUps) {
    let cp = &ctx.charger.charge_point_id;
    if follow_ups.local_list_version > 0 {
        ctx.deps.local_lists.after_boot(charger, ctx.version);
    }
    if follow_ups.charging_profiles {
        ctx.deps
            .smart_charging
            .after_boot(ctx.charger.id, cp, ctx.version);
    }
    if follow_ups.refresh_device_model && ctx.version == OcppVersion::V201 {
        ctx.deps.device_model.after_boot(cp);
    }
}

/// Heartbeat in either version: last seen, and the time. Answered without
/// waiting for the store: last-seen goes out with the next presence group.
pub async fn heartbeat(ctx: &Context) -> Result<Value, RpcError> {
    heard_from(ctx);
    Ok(serde_json::json!({ "currentTime": iso(ctx.now()) }))
}

/// The charger is alive (a heartbeat, a status of the charger itself).
pub fn heard_from(ctx: &Context) {
    ctx.deps.presence.heard(ctx.presence(None));
}

/// A status report for EVSE/connector; an unknown connector is logged and
/// acknowledged, never an error to the charger.
pub async fn status(
    ctx: &Context,
    evse_id: i32,
    connector_id: i32,
    ocpp_status: &str,
    at: DateTime<Utc>,
) -> Result<(), RpcError> {
    let Some(status) = connector_status(ocpp_status) else {
        return Err(RpcError::PropertyConstraint(format!(
            "unknown status {ocpp_status:?}"
        )));
    };
    match ctx
        .connector_at(evse_id, connector_id)
        .await
        .map_err(internal)?
    {
        Some(connector) => {
            // 1.6 says whether the car charges only here (2.0.1 in
            // TransactionEvent): it prices the session's minutes.
            if ctx.version == booking::model::OcppVersion::V16
                && let Some(charging) = crate::costs::is_charging(ocpp_status)
                && let Some(session) = ctx
                    .deps
                    .store
                    .open_session_on(connector)
                    .await
                    .map_err(internal)?
            {
                ctx.deps
                    .charging_clocks
                    .state(ctx.charger.id, &session.transaction, charging, at);
            }
            ctx.deps
                .bookings
                .apply_connector_status(connector, status, at)
                .await
                .map_err(internal)?;
        }
        None => tracing::info!(
            charger.id = %ctx.charger.charge_point_id, evse.id = evse_id, connector.id = connector_id,
            status = ocpp_status, "status for a connector evgate does not know; recorded in the log only"
        ),
    }
    Ok(())
}

/// The last Energy.Active.Import.Register reading in a `meterValue` array,
/// in Wh. 1.6 sends values as strings with `unit`, 2.0.1 as numbers with
/// `unitOfMeasure.unit`; the measurand defaults to the energy register.
pub fn energy_register_wh(meter_values: &Value) -> Option<f64> {
    meter_values
        .as_array()?
        .iter()
        .flat_map(|mv| {
            mv.get("sampledValue")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|sv| {
            sv.get("measurand")
                .and_then(Value::as_str)
                .is_none_or(|m| m == "Energy.Active.Import.Register")
        })
        .filter_map(|sv| {
            let raw = sv.get("value")?;
            let v = raw.as_f64().or_else(|| raw.as_str()?.trim().parse().ok())?;
            let unit = sv
                .get("unit")
                .or_else(|| sv.pointer("/unitOfMeasure/unit"))
                .and_then(Value::as_str);
            let wh = if unit == Some("kWh") { v * 1000.0 } else { v };
            // NaN, negative or past any real meter: the charger's mistake,
            // acknowledged but not recorded.
            (0.0..=booking::model::MAX_ENERGY_WH)
                .contains(&wh)
                .then_some(wh)
        })
        .next_back()
}

/// A meter reading for the session on a connector: the transaction the
/// charger named, or else the session open there.
pub async fn meter_values(
    ctx: &Context,
    evse_id: i32,
    connector_id: i32,
    transaction: Option<TransactionKey>,
    meter_values: &Value,
) -> Result<(), RpcError> {
    let Some(wh) = energy_register_wh(meter_values) else {
        return Ok(());
    };
    let key = match transaction {
        Some(key) => Some(key),
        None => {
            match ctx
                .connector_at(evse_id, connector_id)
                .await
                .map_err(internal)?
            {
                Some(connector) => ctx
                    .deps
                    .store
                    .open_session_on(connector)
                    .await
                    .map_err(internal)?
                    .map(|s| s.transaction),
                None => None,
            }
        }
    };
    if let Some(key) = key {
        ctx.deps
            .bookings
            .meter_sample(ctx.charger.id, &key, wh, ctx.now())
            .await
            .map_err(internal)?;
    }
    Ok(())
}

/// An id tag within its version's length: 1.6 `CiString20Type`, 2.0.1
/// `IdTokenType.idToken` (36).
pub fn id_tag_within_limits(ctx: &Context, id_tag: &str) -> Result<(), RpcError> {
    let max = match ctx.version {
        booking::model::OcppVersion::V16 => 20,
        booking::model::OcppVersion::V201 => 36,
    };
    if id_tag.chars().count() > max {
        return Err(RpcError::PropertyConstraint(format!(
            "the id tag is longer than {max} characters"
        )));
    }
    Ok(())
}

/// An id tag's verdict now: an operator-registered tag's own status (Expired
/// past its expiry) and group, else Accepted for a live booking's tag, else
/// Invalid; a roaming partner's verdict first where it has one. Each
/// version words it in its own idTagInfo/idTokenInfo.
pub async fn authorize(ctx: &Context, id_tag: &str) -> Result<Authorization, RpcError> {
    booking::authorization::authorize_online(
        &*ctx.deps.store,
        &*ctx.deps.remote_authorizer,
        id_tag,
        ctx.charger.station_id,
        ctx.now(),
    )
    .await
    .map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_vocabularies_map_as_the_design_says() {
        use ConnectorStatus::*;
        for (ocpp, ours) in [
            ("Available", Available),
            ("Preparing", Occupied),
            ("Charging", Occupied),
            ("SuspendedEV", Occupied),
            ("SuspendedEVSE", Occupied),
            ("Finishing", Occupied),
            ("Occupied", Occupied),
            ("Reserved", Reserved),
            ("Unavailable", Maintenance),
            ("Faulted", Faulted),
        ] {
            assert_eq!(connector_status(ocpp), Some(ours), "{ocpp}");
        }
        assert_eq!(connector_status("Dancing"), None);
    }

    #[test]
    fn the_energy_register_is_read_in_both_versions_shapes() {
        let v16 = serde_json::json!([{"timestamp": "t", "sampledValue": [
            {"value": "230", "measurand": "Voltage"}, {"value": "1234.5"}]}]);
        assert_eq!(energy_register_wh(&v16), Some(1234.5));
        let v201 = serde_json::json!([{"timestamp": "t", "sampledValue": [
            {"value": 2.5, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}}]}]);
        assert_eq!(energy_register_wh(&v201), Some(2500.0));
        assert_eq!(energy_register_wh(&serde_json::json!([])), None);
        for bad in ["1e308", "NaN", "-5", "inf"] {
            let v16 = serde_json::json!([{"sampledValue": [{"value": bad, "unit": "kWh"}]}]);
            assert_eq!(energy_register_wh(&v16), None, "{bad}");
        }
    }
}
