//! OCPP 1.6J, as a charger speaks it.

use serde_json::{Value, json};

use super::{
    Answer, Charger, Followup, Outgoing, cancel_reservation, change_availability, parse_time,
    remote_stop, reserve, text, timestamp, trigger, unlock,
};
use crate::model::{ConnectorState, Event, Reservation, StopReason};

pub(super) fn boot() -> Outgoing {
    Outgoing::new(
        "BootNotification",
        json!({"chargePointVendor": "evgate-sim", "chargePointModel": "Sim-16",
               "firmwareVersion": env!("CARGO_PKG_VERSION")}),
    )
}

pub(super) fn authorize(id_tag: &str) -> Outgoing {
    Outgoing::new("Authorize", json!({ "idTag": id_tag }))
}

fn status_name(state: ConnectorState) -> &'static str {
    match state {
        ConnectorState::Available => "Available",
        ConnectorState::Preparing => "Preparing",
        ConnectorState::Charging => "Charging",
        ConnectorState::SuspendedEV => "SuspendedEV",
        ConnectorState::Finishing => "Finishing",
        ConnectorState::Reserved => "Reserved",
        ConnectorState::Unavailable => "Unavailable",
        ConnectorState::Faulted => "Faulted",
    }
}

fn reason_name(reason: StopReason) -> &'static str {
    match reason {
        StopReason::Local => "Local",
        StopReason::Remote => "Remote",
        StopReason::EVDisconnected => "EVDisconnected",
        StopReason::DeAuthorized => "DeAuthorized",
        StopReason::Reboot => "Reboot",
    }
}

fn meter_value(c: &Charger<'_>, wh: f64) -> Value {
    json!([{ "timestamp": timestamp(c.now, c.misbehaviour), "sampledValue": [{
        "value": format!("{wh:.0}"), "measurand": "Energy.Active.Import.Register", "unit": "Wh",
    }]}])
}

pub(super) fn report(c: &mut Charger<'_>, event: &Event) -> Vec<Outgoing> {
    let m = c.misbehaviour;
    match event {
        Event::Status {
            state: ConnectorState::Reserved,
            ..
        } if m.never_send_reserved => vec![],
        Event::Status { connector, state } => {
            let error = if *state == ConnectorState::Faulted {
                "OtherError"
            } else {
                "NoError"
            };
            vec![Outgoing::new(
                "StatusNotification",
                json!({"connectorId": connector, "errorCode": error, "status": status_name(*state),
                       "timestamp": timestamp(c.now, m)}),
            )]
        }
        Event::Started {
            connector,
            transaction,
        } => {
            let mut payload = json!({
                "connectorId": connector, "idTag": transaction.id_tag,
                "meterStart": transaction.meter_start_wh.round() as i64,
                "timestamp": timestamp(transaction.started_at, m),
            });
            if let (Some(id), false) = (transaction.reservation_id, m.omit_reservation_id) {
                payload["reservationId"] = json!(id);
            }
            vec![Outgoing::of_transaction(
                "StartTransaction",
                payload,
                transaction.local,
            )]
        }
        Event::Ended {
            transaction,
            meter_stop_wh,
            reason,
            at,
            ..
        } => {
            let payload = json!({
                // Filled in with the CSMS's id when sent.
                "transactionId": 0, "idTag": transaction.id_tag,
                "meterStop": meter_stop_wh.round() as i64, "timestamp": timestamp(*at, m),
                "reason": reason_name(*reason),
            });
            vec![Outgoing::of_transaction(
                "StopTransaction",
                payload,
                transaction.local,
            )]
        }
        // 1.6 has no message for it: the CSMS runs its own expiry.
        Event::ReservationExpired { .. } => vec![],
    }
}

pub(super) fn meter(c: &mut Charger<'_>, connector: u32) -> Option<Outgoing> {
    let conn = c.hardware.connector(connector)?;
    let local = conn.transaction.as_ref()?.local;
    let payload = json!({"connectorId": connector, "transactionId": 0,
                         "meterValue": meter_value(c, conn.meter_wh)});
    Some(Outgoing::of_transaction("MeterValues", payload, local))
}

pub(super) fn answered(c: &mut Charger<'_>, sent: &Outgoing, answer: &Value) -> Vec<Event> {
    let mut events = Vec::new();
    if sent.action == "StartTransaction"
        && let Some(local) = sent.transaction
    {
        if let Some(id) = answer["transactionId"].as_i64() {
            c.memory.csms_ids.insert(local, id);
        }
        if answer["idTagInfo"]["status"] != "Accepted"
            && let Some(n) = c.hardware.connector_of(local)
        {
            c.hardware
                .stop(n, StopReason::DeAuthorized, c.now, &mut events);
        }
    }
    events
}

fn local_of(c: &Charger<'_>, csms_id: i64) -> Option<u64> {
    c.memory
        .csms_ids
        .iter()
        .find(|(_, id)| **id == csms_id)
        .map(|(local, _)| *local)
}

pub(super) fn answer(c: &mut Charger<'_>, action: &str, p: &Value) -> Answer {
    match action {
        "ReserveNow" => {
            let (Some(id), Some(tag), Some(expires)) = (
                p["reservationId"].as_i64(),
                text(p, "idTag"),
                parse_time(text(p, "expiryDate")),
            ) else {
                return Answer::error(
                    "FormationViolation",
                    "reservationId, idTag and expiryDate are required",
                );
            };
            let connector = p["connectorId"]
                .as_u64()
                .filter(|n| *n > 0)
                .map(|n| n as u32);
            let reservation = Reservation {
                id,
                id_tag: tag.to_owned(),
                expires_at: expires,
            };
            reserve(c, connector, reservation)
        }
        "CancelReservation" => cancel_reservation(c, p),
        "RemoteStartTransaction" => {
            let Some(tag) = text(p, "idTag") else {
                return Answer::error("OccurenceConstraintViolation", "idTag is required");
            };
            let connector = p["connectorId"].as_u64().map_or(1, |n| n as u32);
            let free = c
                .hardware
                .connector(connector)
                .is_some_and(|x| x.transaction.is_none());
            let mut answer =
                Answer::ok(json!({ "status": if free { "Accepted" } else { "Rejected" } }));
            if free {
                answer.followups.push(Followup::Start {
                    connector,
                    id_tag: tag.to_owned(),
                });
            }
            answer
        }
        "RemoteStopTransaction" => {
            let local = p["transactionId"].as_i64().and_then(|id| local_of(c, id));
            remote_stop(c, local)
        }
        "Reset" => Answer {
            followups: vec![Followup::Reboot],
            ..Answer::ok(json!({ "status": "Accepted" }))
        },
        "ChangeAvailability" => {
            let operative = text(p, "type") == Some("Operative");
            let n = p["connectorId"].as_u64().unwrap_or(0) as u32;
            change_availability(c, n, operative)
        }
        "TriggerMessage" => {
            let message = text(p, "requestedMessage").unwrap_or_default();
            let connector = p["connectorId"].as_u64().map(|n| n as u32);
            trigger(
                message,
                &[
                    "BootNotification",
                    "Heartbeat",
                    "StatusNotification",
                    "MeterValues",
                ],
                connector,
            )
        }
        "UnlockConnector" => {
            let n = p["connectorId"].as_u64().unwrap_or(0) as u32;
            unlock(c, n, "NotSupported")
        }
        "GetConfiguration" => {
            let wanted: Option<Vec<&str>> = p["key"]
                .as_array()
                .map(|k| k.iter().filter_map(Value::as_str).collect());
            let known: Vec<Value> = c
                .memory
                .config
                .iter()
                .filter(|(k, _)| wanted.as_ref().is_none_or(|w| w.contains(&k.as_str())))
                .filter(|(k, _)| k.as_str() != "AuthorizationKey")
                .map(|(k, v)| json!({"key": k, "readonly": false, "value": v}))
                .collect();
            let unknown: Vec<&str> = wanted
                .unwrap_or_default()
                .into_iter()
                .filter(|k| !c.memory.config.contains_key(*k) || *k == "AuthorizationKey")
                .collect();
            Answer::ok(json!({ "configurationKey": known, "unknownKey": unknown }))
        }
        "ChangeConfiguration" => {
            let (Some(key), Some(value)) = (text(p, "key"), text(p, "value")) else {
                return Answer::error("FormationViolation", "key and value are required");
            };
            if !c.memory.config.contains_key(key) {
                return Answer::ok(json!({ "status": "NotSupported" }));
            }
            c.memory.config.insert(key.to_owned(), value.to_owned());
            let mut answer = Answer::ok(json!({ "status": "Accepted" }));
            if key == "AuthorizationKey" {
                answer
                    .followups
                    .push(Followup::NewPassword(value.to_owned()));
            }
            answer
        }
        "ClearCache" => Answer::ok(json!({ "status": "Accepted" })),
        "UpdateFirmware" => super::maintenance::update_firmware_16(p),
        "SignedUpdateFirmware" => super::maintenance::update_firmware(
            p,
            "SignedFirmwareStatusNotification",
            "OccurenceConstraintViolation",
        ),
        "GetDiagnostics" => super::maintenance::get_diagnostics(p),
        "GetLog" => super::maintenance::get_log(p, "OccurenceConstraintViolation"),
        "SetChargingProfile" => {
            super::set_charging_profile(c, p["connectorId"].as_u64(), &p["csChargingProfiles"])
        }
        "ClearChargingProfile" => Answer::ok(json!({ "status": c.hardware.profiles.clear(p) })),
        "GetCompositeSchedule" => {
            let (Some(n), Some(duration)) = (p["connectorId"].as_u64(), p["duration"].as_i64())
            else {
                return Answer::error(
                    "FormationViolation",
                    "connectorId and duration are required",
                );
            };
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            match super::composite(c, n, duration) {
                Some(mut schedule) => {
                    let start = c.now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    schedule["startSchedule"] = json!(start);
                    Answer::ok(json!({ "status": "Accepted", "connectorId": n,
                        "scheduleStart": start, "chargingSchedule": schedule }))
                }
                None => Answer::ok(json!({ "status": "Rejected" })),
            }
        }
        "DataTransfer" => Answer::ok(json!({ "status": "UnknownVendorId" })),
        other => Answer::error("NotImplemented", format!("{other} is not supported")),
    }
}
