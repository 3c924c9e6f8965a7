//! OCPP 2.0.1, as a charging station speaks it (EVSE n, connector 1).

use serde_json::{Value, json};

use super::{
    Answer, Charger, Followup, Outgoing, cancel_reservation, change_availability, parse_time,
    remote_stop, reserve, text, timestamp, trigger, unlock,
};
use crate::model::{ConnectorState, Event, Reservation, StopReason};

pub(super) fn boot() -> Outgoing {
    Outgoing::new(
        "BootNotification",
        json!({"reason": "PowerUp", "chargingStation": {"vendorName": "evgate-sim",
               "model": "Sim-201", "firmwareVersion": env!("CARGO_PKG_VERSION")}}),
    )
}

pub(super) fn authorize(id_tag: &str) -> Outgoing {
    Outgoing::new(
        "Authorize",
        json!({ "idToken": { "idToken": id_tag, "type": "ISO14443" } }),
    )
}

fn connector_status(state: ConnectorState) -> &'static str {
    match state {
        ConnectorState::Available => "Available",
        ConnectorState::Reserved => "Reserved",
        ConnectorState::Unavailable => "Unavailable",
        ConnectorState::Faulted => "Faulted",
        ConnectorState::Preparing
        | ConnectorState::Charging
        | ConnectorState::SuspendedEV
        | ConnectorState::Finishing => "Occupied",
    }
}

fn stopped_reason(reason: StopReason) -> &'static str {
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
        "value": (wh * 1000.0).round() / 1000.0, "measurand": "Energy.Active.Import.Register",
    }]}])
}

fn next_seq(c: &mut Charger<'_>, local: u64) -> u32 {
    let seq = c.memory.seq.entry(local).or_insert(0);
    let n = *seq;
    *seq += 1;
    n
}

pub(super) fn report(c: &mut Charger<'_>, event: &Event) -> Vec<Outgoing> {
    let m = c.misbehaviour;
    match event {
        Event::Status {
            state: ConnectorState::Reserved,
            ..
        } if m.never_send_reserved => vec![],
        // Finishing and Preparing read as Occupied: one report per change of the 2.0.1 status.
        Event::Status {
            state:
                ConnectorState::Finishing | ConnectorState::SuspendedEV | ConnectorState::Charging,
            ..
        } => vec![],
        Event::Status { connector, state } => vec![Outgoing::new(
            "StatusNotification",
            json!({"timestamp": timestamp(c.now, m), "connectorStatus": connector_status(*state),
                   "evseId": connector, "connectorId": 1}),
        )],
        Event::Started {
            connector,
            transaction,
        } => {
            let seq = next_seq(c, transaction.local);
            let mut payload = json!({
                "eventType": "Started", "timestamp": timestamp(transaction.started_at, m),
                "triggerReason": "Authorized", "seqNo": seq,
                "transactionInfo": { "transactionId": c.memory.transaction_id(transaction.local),
                                     "chargingState": "Charging" },
                "evse": { "id": connector, "connectorId": 1 },
                "idToken": { "idToken": transaction.id_tag, "type": "ISO14443" },
                "meterValue": meter_value(c, transaction.meter_start_wh),
            });
            if let (Some(id), false) = (transaction.reservation_id, m.omit_reservation_id) {
                payload["reservationId"] = json!(id);
            }
            vec![Outgoing::of_transaction(
                "TransactionEvent",
                payload,
                transaction.local,
            )]
        }
        Event::Ended {
            connector,
            transaction,
            meter_stop_wh,
            reason,
            at,
        } => {
            let seq = next_seq(c, transaction.local);
            let trigger = match reason {
                StopReason::Remote => "RemoteStop",
                StopReason::DeAuthorized => "Deauthorized",
                StopReason::EVDisconnected => "EVCommunicationLost",
                _ => "StopAuthorized",
            };
            let payload = json!({
                "eventType": "Ended", "timestamp": timestamp(*at, m), "triggerReason": trigger,
                "seqNo": seq,
                "transactionInfo": { "transactionId": c.memory.transaction_id(transaction.local),
                                     "stoppedReason": stopped_reason(*reason) },
                "evse": { "id": connector, "connectorId": 1 },
                "meterValue": meter_value(c, *meter_stop_wh),
            });
            vec![Outgoing::of_transaction(
                "TransactionEvent",
                payload,
                transaction.local,
            )]
        }
        Event::ReservationExpired { reservation_id, .. } => vec![Outgoing::new(
            "ReservationStatusUpdate",
            json!({ "reservationId": reservation_id, "reservationUpdateStatus": "Expired" }),
        )],
    }
}

pub(super) fn meter(c: &mut Charger<'_>, connector: u32) -> Option<Outgoing> {
    let conn = c.hardware.connector(connector)?;
    let (local, wh) = (conn.transaction.as_ref()?.local, conn.meter_wh);
    let seq = next_seq(c, local);
    let payload = json!({
        "eventType": "Updated", "timestamp": timestamp(c.now, c.misbehaviour),
        "triggerReason": "MeterValuePeriodic", "seqNo": seq,
        "transactionInfo": { "transactionId": c.memory.transaction_id(local) },
        "evse": { "id": connector, "connectorId": 1 },
        "meterValue": meter_value(c, wh),
    });
    Some(Outgoing::of_transaction("TransactionEvent", payload, local))
}

pub(super) fn answered(c: &mut Charger<'_>, sent: &Outgoing, answer: &Value) -> Vec<Event> {
    let mut events = Vec::new();
    let refused = answer["idTokenInfo"]["status"]
        .as_str()
        .is_some_and(|s| s != "Accepted");
    if sent.action == "TransactionEvent"
        && sent.payload["eventType"] == "Started"
        && refused
        && let Some(n) = sent.transaction.and_then(|l| c.hardware.connector_of(l))
    {
        c.hardware
            .stop(n, StopReason::DeAuthorized, c.now, &mut events);
    }
    events
}

/// `{component, variable}` as this charger's configuration key.
fn variable_key(item: &Value) -> Option<String> {
    super::device_model::key_of(item)
}

/// Refuses a GetVariables/SetVariables with more items than this charger's
/// `ItemsPerMessage` allows, with OccurrenceConstraintViolation as a station may
/// (TC_B_08): evgate must split.
fn too_many(c: &Charger<'_>, action: &str, items: usize) -> Option<Answer> {
    let max = super::device_model::limit(c, &format!("DeviceDataCtrlr.ItemsPerMessage:{action}"));
    (max > 0 && items > max).then(|| {
        Answer::error(
            "OccurrenceConstraintViolation",
            format!("{items} items; ItemsPerMessage{action} is {max}"),
        )
    })
}

pub(super) fn answer(c: &mut Charger<'_>, action: &str, p: &Value) -> Answer {
    match action {
        "ReserveNow" => {
            let (Some(id), Some(tag), Some(expires)) = (
                p["id"].as_i64(),
                p["idToken"]["idToken"].as_str(),
                parse_time(text(p, "expiryDateTime")),
            ) else {
                return Answer::error(
                    "FormatViolation",
                    "id, idToken and expiryDateTime are required",
                );
            };
            let evse = p["evseId"].as_u64().filter(|n| *n > 0).map(|n| n as u32);
            let reservation = Reservation {
                id,
                id_tag: tag.to_owned(),
                expires_at: expires,
            };
            reserve(c, evse, reservation)
        }
        "CancelReservation" => cancel_reservation(c, p),
        "SetDisplayMessage" => {
            c.hardware.screen.expire(chrono::Utc::now());
            Answer::ok(json!({ "status": c.hardware.screen.set(&p["message"]) }))
        }
        "ClearDisplayMessage" => {
            let Some(id) = p["id"].as_i64() else {
                return Answer::error("OccurrenceConstraintViolation", "id is required");
            };
            Answer::ok(json!({ "status": c.hardware.screen.clear(id) }))
        }
        "GetDisplayMessages" => {
            let Some(request_id) = p["requestId"].as_i64() else {
                return Answer::error("OccurrenceConstraintViolation", "requestId is required");
            };
            c.hardware.screen.expire(chrono::Utc::now());
            let ids: Vec<i64> = p["id"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_i64)
                .collect();
            let infos = c.hardware.screen.infos(&ids);
            if infos.is_empty() {
                return Answer::ok(json!({ "status": "Unknown" }));
            }
            let notify = Outgoing::new(
                "NotifyDisplayMessages",
                json!({ "requestId": request_id, "messageInfo": infos }),
            );
            Answer {
                followups: vec![Followup::Send(vec![notify])],
                ..Answer::ok(json!({ "status": "Accepted" }))
            }
        }
        "RequestStartTransaction" => {
            let Some(tag) = p["idToken"]["idToken"].as_str() else {
                return Answer::error("OccurrenceConstraintViolation", "idToken is required");
            };
            let evse = p["evseId"].as_u64().map_or(1, |n| n as u32);
            let free = c
                .hardware
                .connector(evse)
                .is_some_and(|x| x.transaction.is_none());
            let mut answer =
                Answer::ok(json!({ "status": if free { "Accepted" } else { "Rejected" } }));
            if free {
                answer.followups.push(Followup::Start {
                    connector: evse,
                    id_tag: tag.to_owned(),
                });
            }
            answer
        }
        "RequestStopTransaction" => {
            let local = text(p, "transactionId").and_then(|id| c.memory.local_of(id));
            remote_stop(c, local)
        }
        "Reset" => Answer {
            followups: vec![Followup::Reboot],
            ..Answer::ok(json!({ "status": "Accepted" }))
        },
        "ChangeAvailability" => {
            let operative = text(p, "operationalStatus") == Some("Operative");
            let n = p["evse"]["id"].as_u64().unwrap_or(0) as u32;
            change_availability(c, n, operative)
        }
        "TriggerMessage" => {
            let message = text(p, "requestedMessage").unwrap_or_default();
            let connector = p["evse"]["id"].as_u64().map(|n| n as u32);
            trigger(
                message,
                &[
                    "BootNotification",
                    "Heartbeat",
                    "StatusNotification",
                    "MeterValues",
                    "TransactionEvent",
                ],
                connector,
            )
        }
        "UnlockConnector" => {
            let n = p["evseId"].as_u64().unwrap_or(0) as u32;
            unlock(c, n, "UnknownConnector")
        }
        "GetBaseReport" | "GetReport" => {
            let Some(request_id) = p["requestId"].as_i64() else {
                return Answer::error("OccurrenceConstraintViolation", "requestId is required");
            };
            let parts = super::device_model::report(c, request_id, p);
            if parts.is_empty() {
                return Answer::ok(json!({ "status": "EmptyResultSet" }));
            }
            Answer {
                followups: vec![Followup::Send(parts)],
                ..Answer::ok(json!({ "status": "Accepted" }))
            }
        }
        "GetVariables" => {
            let items = p["getVariableData"].as_array().cloned().unwrap_or_default();
            if let Some(refused) = too_many(c, "GetVariables", items.len()) {
                return refused;
            }
            let results: Vec<Value> = items.iter().map(|item| {
                let key = variable_key(item).unwrap_or_default();
                let value = super::device_model::value_of(c, item)
                    .or_else(|| c.memory.config.get(&key).cloned())
                    .filter(|_| key != "SecurityCtrlr.BasicAuthPassword");
                let mut r = json!({ "attributeStatus": if value.is_some() { "Accepted" } else { "UnknownVariable" },
                                    "component": item["component"], "variable": item["variable"] });
                if let Some(v) = value {
                    r["attributeValue"] = json!(v);
                }
                r
            }).collect();
            Answer::ok(json!({ "getVariableResult": results }))
        }
        "SetVariables" => {
            let items = p["setVariableData"].as_array().cloned().unwrap_or_default();
            if let Some(refused) = too_many(c, "SetVariables", items.len()) {
                return refused;
            }
            let mut followups = Vec::new();
            let results: Vec<Value> = items
                .iter()
                .map(|item| {
                    let key = variable_key(item).unwrap_or_default();
                    let value = item["attributeValue"].as_str().unwrap_or_default();
                    let known = c.memory.config.contains_key(&key);
                    if known {
                        c.memory.config.insert(key.clone(), value.to_owned());
                        if key == "SecurityCtrlr.BasicAuthPassword" {
                            followups.push(Followup::NewPassword(value.to_owned()));
                        }
                    }
                    json!({ "attributeStatus": if known { "Accepted" } else { "UnknownVariable" },
                        "component": item["component"], "variable": item["variable"] })
                })
                .collect();
            Answer {
                followups,
                ..Answer::ok(json!({ "setVariableResult": results }))
            }
        }
        "SetNetworkProfile" => Answer::ok(json!({ "status": "Accepted" })),
        "UpdateFirmware" => super::maintenance::update_firmware(
            p,
            "FirmwareStatusNotification",
            "OccurrenceConstraintViolation",
        ),
        "GetLog" => super::maintenance::get_log(p, "OccurrenceConstraintViolation"),
        "ClearCache" => Answer::ok(json!({ "status": "Accepted" })),
        "SetChargingProfile" => {
            super::set_charging_profile(c, p["evseId"].as_u64(), &p["chargingProfile"])
        }
        "ClearChargingProfile" => Answer::ok(json!({ "status": c.hardware.profiles.clear(p) })),
        "GetCompositeSchedule" => {
            let (Some(n), Some(duration)) = (p["evseId"].as_u64(), p["duration"].as_i64()) else {
                return Answer::error(
                    "OccurrenceConstraintViolation",
                    "evseId and duration are required",
                );
            };
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            match super::composite(c, n, duration) {
                Some(mut schedule) => {
                    schedule["evseId"] = json!(n);
                    schedule["scheduleStart"] =
                        json!(c.now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                    Answer::ok(json!({ "status": "Accepted", "schedule": schedule }))
                }
                None => Answer::ok(json!({ "status": "Rejected" })),
            }
        }
        "DataTransfer" => Answer::ok(json!({ "status": "UnknownVendorId" })),
        other => Answer::error("NotImplemented", format!("{other} is not supported")),
    }
}
