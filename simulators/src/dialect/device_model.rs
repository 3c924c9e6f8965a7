//! The 2.0.1 simulated charger's device model (B06–B08): the controllers a
//! station reports (DeviceDataCtrlr, OCPPCommCtrlr, SecurityCtrlr,
//! AuthCtrlr, AuthCacheCtrlr, TxCtrlr, SampledDataCtrlr, ReservationCtrlr,
//! DisplayMessageCtrlr) with their values from [`super::Memory::config`], and
//! one EVSE and Connector component per connector whose AvailabilityState
//! is the hardware's. GetBaseReport/GetReport answer with it in NotifyReport
//! parts of `ItemsPerMessage:GetReport` entries (seqNo 0…n, tbc until the
//! last); GetVariables reads the same entries; GetVariables and
//! SetVariables with more items than `ItemsPerMessage` allows are refused,
//! as a real station may.

use serde_json::{Value, json};

use super::{Charger, Outgoing, timestamp};
use crate::model::ConnectorState;

/// One variable of the model.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    pub component: &'static str,
    /// `(evse, connector)` of EVSE- and connector-level components.
    pub evse: Option<(u32, Option<u32>)>,
    pub variable: &'static str,
    pub instance: Option<&'static str>,
    /// `None` for a WriteOnly variable (a password).
    pub value: Option<String>,
    pub mutability: &'static str,
    pub data_type: &'static str,
    pub unit: Option<&'static str>,
    pub values_list: Option<&'static str>,
}

/// The controllers: (component, variable, instance, mutability, dataType,
/// unit, valuesList). Values come from the charger's configuration
/// (`Component.Variable` or `Component.Variable:Instance`).
type Row = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const CONTROLLERS: &[Row] = &[
    (
        "DeviceDataCtrlr",
        "ItemsPerMessage",
        Some("GetReport"),
        "ReadOnly",
        "integer",
        None,
        None,
    ),
    (
        "DeviceDataCtrlr",
        "ItemsPerMessage",
        Some("GetVariables"),
        "ReadOnly",
        "integer",
        None,
        None,
    ),
    (
        "DeviceDataCtrlr",
        "ItemsPerMessage",
        Some("SetVariables"),
        "ReadOnly",
        "integer",
        None,
        None,
    ),
    (
        "DeviceDataCtrlr",
        "BytesPerMessage",
        Some("GetReport"),
        "ReadOnly",
        "integer",
        None,
        None,
    ),
    (
        "DeviceDataCtrlr",
        "BytesPerMessage",
        Some("GetVariables"),
        "ReadOnly",
        "integer",
        None,
        None,
    ),
    (
        "DeviceDataCtrlr",
        "BytesPerMessage",
        Some("SetVariables"),
        "ReadOnly",
        "integer",
        None,
        None,
    ),
    (
        "OCPPCommCtrlr",
        "HeartbeatInterval",
        None,
        "ReadWrite",
        "integer",
        Some("s"),
        None,
    ),
    (
        "OCPPCommCtrlr",
        "NetworkConfigurationPriority",
        None,
        "ReadWrite",
        "SequenceList",
        None,
        None,
    ),
    (
        "OCPPCommCtrlr",
        "MessageTimeout",
        Some("Default"),
        "ReadOnly",
        "integer",
        Some("s"),
        None,
    ),
    (
        "OCPPCommCtrlr",
        "RetryBackOffRepeatTimes",
        None,
        "ReadWrite",
        "integer",
        None,
        None,
    ),
    (
        "SecurityCtrlr",
        "SecurityProfile",
        None,
        "ReadOnly",
        "integer",
        None,
        None,
    ),
    (
        "SecurityCtrlr",
        "BasicAuthPassword",
        None,
        "WriteOnly",
        "string",
        None,
        None,
    ),
    (
        "SecurityCtrlr",
        "OrganizationName",
        None,
        "ReadWrite",
        "string",
        None,
        None,
    ),
    (
        "AuthCtrlr",
        "Enabled",
        None,
        "ReadWrite",
        "boolean",
        None,
        None,
    ),
    (
        "AuthCtrlr",
        "AuthorizeRemoteStart",
        None,
        "ReadWrite",
        "boolean",
        None,
        None,
    ),
    (
        "AuthCacheCtrlr",
        "Enabled",
        None,
        "ReadWrite",
        "boolean",
        None,
        None,
    ),
    (
        "TxCtrlr",
        "EVConnectionTimeOut",
        None,
        "ReadWrite",
        "integer",
        Some("s"),
        None,
    ),
    (
        "TxCtrlr",
        "TxStartPoint",
        None,
        "ReadWrite",
        "MemberList",
        None,
        Some("EVConnected,Authorized,PowerPathClosed,EnergyTransfer"),
    ),
    (
        "TxCtrlr",
        "TxStopPoint",
        None,
        "ReadWrite",
        "MemberList",
        None,
        Some("EVConnected,Authorized,PowerPathClosed,EnergyTransfer"),
    ),
    (
        "TxCtrlr",
        "StopTxOnEVSideDisconnect",
        None,
        "ReadOnly",
        "boolean",
        None,
        None,
    ),
    (
        "SampledDataCtrlr",
        "TxUpdatedInterval",
        None,
        "ReadWrite",
        "integer",
        Some("s"),
        None,
    ),
    (
        "ReservationCtrlr",
        "Enabled",
        None,
        "ReadOnly",
        "boolean",
        None,
        None,
    ),
    (
        "ReservationCtrlr",
        "NonEvseSpecific",
        None,
        "ReadOnly",
        "boolean",
        None,
        None,
    ),
    (
        "DisplayMessageCtrlr",
        "Enabled",
        None,
        "ReadWrite",
        "boolean",
        None,
        None,
    ),
    (
        "DisplayMessageCtrlr",
        "Language",
        None,
        "ReadWrite",
        "OptionList",
        None,
        Some("en,de,fr,hi"),
    ),
    (
        "DisplayMessageCtrlr",
        "PersonalMessageSize",
        None,
        "ReadOnly",
        "integer",
        None,
        None,
    ),
];

/// The configuration a fresh 2.0.1 simulator starts with beyond the keys
/// the rest of it uses (see `Memory::new`).
pub(super) const DEFAULTS: &[(&str, &str)] = &[
    ("DeviceDataCtrlr.ItemsPerMessage:GetReport", "10"),
    ("DeviceDataCtrlr.ItemsPerMessage:GetVariables", "8"),
    ("DeviceDataCtrlr.ItemsPerMessage:SetVariables", "8"),
    ("DeviceDataCtrlr.BytesPerMessage:GetReport", "65000"),
    ("DeviceDataCtrlr.BytesPerMessage:GetVariables", "65000"),
    ("DeviceDataCtrlr.BytesPerMessage:SetVariables", "65000"),
    ("OCPPCommCtrlr.MessageTimeout:Default", "30"),
    ("OCPPCommCtrlr.RetryBackOffRepeatTimes", "3"),
    ("SecurityCtrlr.OrganizationName", "evgate-sim"),
    ("AuthCtrlr.Enabled", "true"),
    ("AuthCtrlr.AuthorizeRemoteStart", "false"),
    ("TxCtrlr.EVConnectionTimeOut", "60"),
    ("TxCtrlr.TxStartPoint", "PowerPathClosed"),
    ("TxCtrlr.TxStopPoint", "EVConnected"),
    ("TxCtrlr.StopTxOnEVSideDisconnect", "true"),
    ("ReservationCtrlr.Enabled", "true"),
    ("ReservationCtrlr.NonEvseSpecific", "true"),
    ("DisplayMessageCtrlr.Enabled", "true"),
    ("DisplayMessageCtrlr.Language", "en"),
    ("DisplayMessageCtrlr.PersonalMessageSize", "255"),
];

/// `Component.Variable`, with `[evse]` or `[evse.connector]` after the
/// component and `:instance` after the variable when they are given: the
/// charger's configuration key of a variable.
pub(super) fn key(
    component: &str,
    evse: Option<(u32, Option<u32>)>,
    variable: &str,
    instance: Option<&str>,
) -> String {
    let place = match evse {
        Some((e, Some(c))) => format!("[{e}.{c}]"),
        Some((e, None)) => format!("[{e}]"),
        None => String::new(),
    };
    let instance = instance.map(|i| format!(":{i}")).unwrap_or_default();
    format!("{component}{place}.{variable}{instance}")
}

/// The key of a request's `{component, variable}`.
pub(super) fn key_of(item: &Value) -> Option<String> {
    let evse = item["component"]["evse"]["id"].as_u64().map(|e| {
        (
            e as u32,
            item["component"]["evse"]["connectorId"]
                .as_u64()
                .map(|c| c as u32),
        )
    });
    Some(key(
        item["component"]["name"].as_str()?,
        evse,
        item["variable"]["name"].as_str()?,
        item["variable"]["instance"].as_str(),
    ))
}

fn availability(state: ConnectorState) -> &'static str {
    match state {
        ConnectorState::Available => "Available",
        ConnectorState::Reserved => "Reserved",
        ConnectorState::Unavailable => "Unavailable",
        ConnectorState::Faulted => "Faulted",
        _ => "Occupied",
    }
}

/// Every variable, controllers first, then each EVSE and its connector.
pub(super) fn entries(c: &Charger<'_>) -> Vec<Entry> {
    let mut out: Vec<Entry> = CONTROLLERS
        .iter()
        .map(
            |&(component, variable, instance, mutability, data_type, unit, values_list)| {
                let value = (mutability != "WriteOnly")
                    .then(|| {
                        c.memory
                            .config
                            .get(&key(component, None, variable, instance))
                            .cloned()
                    })
                    .flatten();
                Entry {
                    component,
                    evse: None,
                    variable,
                    instance,
                    value: value.or_else(|| (mutability != "WriteOnly").then(String::new)),
                    mutability,
                    data_type,
                    unit,
                    values_list,
                }
            },
        )
        .collect();
    for (i, conn) in c.hardware.connectors.iter().enumerate() {
        let n = i as u32 + 1;
        let state = availability(conn.state);
        let list = Some("Available,Occupied,Reserved,Unavailable,Faulted");
        let at = |evse, variable, value: String, mutability, data_type, unit, values_list| Entry {
            component: if matches!(evse, Some((_, Some(_)))) {
                "Connector"
            } else {
                "EVSE"
            },
            evse,
            variable,
            instance: None,
            value: Some(value),
            mutability,
            data_type,
            unit,
            values_list,
        };
        out.push(at(
            Some((n, None)),
            "AvailabilityState",
            state.into(),
            "ReadOnly",
            "OptionList",
            None,
            list,
        ));
        out.push(at(
            Some((n, None)),
            "Power",
            "22000".into(),
            "ReadOnly",
            "decimal",
            Some("W"),
            None,
        ));
        out.push(at(
            Some((n, Some(1))),
            "AvailabilityState",
            state.into(),
            "ReadOnly",
            "OptionList",
            None,
            list,
        ));
        out.push(at(
            Some((n, Some(1))),
            "ConnectorType",
            "cType2".into(),
            "ReadOnly",
            "string",
            None,
            None,
        ));
    }
    out
}

fn report_data(e: &Entry) -> Value {
    let mut component = json!({ "name": e.component });
    if let Some((evse, connector)) = e.evse {
        component["evse"] = json!({ "id": evse });
        if let Some(c) = connector {
            component["evse"]["connectorId"] = json!(c);
        }
    }
    let mut variable = json!({ "name": e.variable });
    if let Some(i) = e.instance {
        variable["instance"] = json!(i);
    }
    let mut attribute = json!({ "type": "Actual", "mutability": e.mutability,
                                "persistent": true, "constant": e.mutability == "ReadOnly" });
    if let Some(v) = &e.value {
        attribute["value"] = json!(v);
    }
    let mut characteristics = json!({ "dataType": e.data_type, "supportsMonitoring": false });
    if let Some(u) = e.unit {
        characteristics["unit"] = json!(u);
    }
    if let Some(l) = e.values_list {
        characteristics["valuesList"] = json!(l);
    }
    json!({ "component": component, "variable": variable, "variableAttribute": [attribute],
            "variableCharacteristics": characteristics })
}

/// The configuration value of `name` as a count, 0 when absent or not a number.
pub(super) fn limit(c: &Charger<'_>, name: &str) -> usize {
    c.memory
        .config
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The report for a GetBaseReport (`reportBase`) or GetReport
/// (`componentVariable` filters, by component and optionally variable):
/// its parts, empty when nothing matches.
pub(super) fn report(c: &Charger<'_>, request_id: i64, payload: &Value) -> Vec<Outgoing> {
    let all = entries(c);
    let chosen: Vec<&Entry> = match payload["reportBase"].as_str() {
        Some("ConfigurationInventory") => {
            all.iter().filter(|e| e.mutability != "ReadOnly").collect()
        }
        Some("SummaryInventory") => all
            .iter()
            .filter(|e| e.variable == "AvailabilityState")
            .collect(),
        Some(_) => all.iter().collect(),
        None => {
            let wanted = payload["componentVariable"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            all.iter()
                .filter(|e| {
                    wanted.is_empty()
                        || wanted.iter().any(|w| {
                            w["component"]["name"].as_str() == Some(e.component)
                                && w["variable"]["name"]
                                    .as_str()
                                    .is_none_or(|v| v == e.variable)
                        })
                })
                .collect()
        }
    };
    let per_part = limit(c, "DeviceDataCtrlr.ItemsPerMessage:GetReport").max(1);
    let chunks: Vec<&[&Entry]> = chosen.chunks(per_part).collect();
    let parts = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(seq, chunk)| {
            let mut payload = json!({
                "requestId": request_id, "seqNo": seq,
                "generatedAt": timestamp(c.now, c.misbehaviour),
                "reportData": chunk.iter().map(|e| report_data(e)).collect::<Vec<_>>(),
            });
            if seq + 1 < parts {
                payload["tbc"] = json!(true);
            }
            Outgoing::new("NotifyReport", payload)
        })
        .collect()
}

/// The Actual value of the variable a GetVariables item names, from the
/// same entries a report carries (WriteOnly ones have none).
pub(super) fn value_of(c: &Charger<'_>, item: &Value) -> Option<String> {
    let wanted = key_of(item)?.to_lowercase();
    entries(c)
        .into_iter()
        .find(|e| key(e.component, e.evse, e.variable, e.instance).to_lowercase() == wanted)
        .and_then(|e| e.value)
}

#[cfg(test)]
mod tests {
    use super::super::{Answer, Followup, Memory, Version};
    use super::*;
    use crate::misbehaviour::Misbehaviour;
    use crate::model::Hardware;

    fn answer(action: &str, payload: Value) -> Answer {
        let mut hw = Hardware::new(2, 11_000.0);
        let mut mem = Memory::new(Version::V201, "T".into());
        let m = Misbehaviour::default();
        let mut c = Charger {
            hardware: &mut hw,
            memory: &mut mem,
            misbehaviour: &m,
            now: chrono::Utc::now(),
        };
        Version::V201.answer(&mut c, action, &payload)
    }

    fn parts(answer: &Answer) -> Vec<Value> {
        match answer.followups.as_slice() {
            [Followup::Send(calls)] => calls.iter().map(|c| c.payload.clone()).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_full_inventory_comes_in_parts_with_tbc_until_the_last() {
        let a = answer(
            "GetBaseReport",
            json!({"requestId": 7, "reportBase": "FullInventory"}),
        );
        assert_eq!(a.result, Ok(json!({"status": "Accepted"})));
        let parts = parts(&a);
        assert!(parts.len() >= 3, "{}", parts.len());
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p["requestId"], 7);
            assert_eq!(p["seqNo"], i);
            assert_eq!(p["tbc"].as_bool().unwrap_or(false), i + 1 < parts.len());
            assert!(p["reportData"].as_array().unwrap().len() <= 10);
        }
        let all: Vec<&Value> = parts
            .iter()
            .flat_map(|p| p["reportData"].as_array().unwrap())
            .collect();
        let names: Vec<String> = all
            .iter()
            .map(|d| {
                format!(
                    "{}.{}",
                    d["component"]["name"].as_str().unwrap(),
                    d["variable"]["name"].as_str().unwrap()
                )
            })
            .collect();
        for wanted in [
            "DeviceDataCtrlr.ItemsPerMessage",
            "OCPPCommCtrlr.HeartbeatInterval",
            "SecurityCtrlr.SecurityProfile",
            "AuthCtrlr.Enabled",
            "TxCtrlr.TxStartPoint",
            "ReservationCtrlr.Enabled",
            "DisplayMessageCtrlr.Language",
            "EVSE.AvailabilityState",
            "Connector.AvailabilityState",
        ] {
            assert!(names.iter().any(|n| n == wanted), "{wanted} missing");
        }
        let password = all
            .iter()
            .find(|d| d["variable"]["name"] == "BasicAuthPassword")
            .unwrap();
        assert!(
            password["variableAttribute"][0].get("value").is_none(),
            "WriteOnly: no value"
        );
        let connector = all
            .iter()
            .find(|d| d["component"]["name"] == "Connector")
            .unwrap();
        assert_eq!(
            connector["component"]["evse"],
            json!({"id": 1, "connectorId": 1})
        );
    }

    #[test]
    fn get_variables_reads_the_reported_model_and_refuses_too_many_items() {
        let item = |c: Value, v: Value| json!({"component": c, "variable": v});
        let a = answer(
            "GetVariables",
            json!({"getVariableData": [
                item(json!({"name": "DeviceDataCtrlr"}), json!({"name": "ItemsPerMessage", "instance": "GetVariables"})),
                item(json!({"name": "EVSE", "evse": {"id": 2}}), json!({"name": "AvailabilityState"})),
                item(json!({"name": "Nope"}), json!({"name": "Nothing"})),
            ]}),
        );
        let results = a.result.unwrap()["getVariableResult"].clone();
        assert_eq!(results[0]["attributeValue"], "8");
        assert_eq!(results[1]["attributeValue"], "Available");
        assert_eq!(results[2]["attributeStatus"], "UnknownVariable");
        let nine: Vec<Value> = (0..9)
            .map(|_| item(json!({"name": "AuthCtrlr"}), json!({"name": "Enabled"})))
            .collect();
        let refused = answer("GetVariables", json!({"getVariableData": nine}));
        assert_eq!(
            refused.result.unwrap_err().0,
            "OccurrenceConstraintViolation"
        );
    }

    #[test]
    fn a_report_of_nothing_is_an_empty_result_set() {
        let a = answer(
            "GetReport",
            json!({"requestId": 3, "componentVariable": [
            {"component": {"name": "NoSuchCtrlr"}}]}),
        );
        assert_eq!(a.result, Ok(json!({"status": "EmptyResultSet"})));
        let a = answer(
            "GetReport",
            json!({"requestId": 3, "componentVariable": [
            {"component": {"name": "TxCtrlr"}}]}),
        );
        let parts = parts(&a);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0]["reportData"].as_array().unwrap().len(), 4);
    }
}
