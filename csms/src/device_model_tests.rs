//! Report assembly, part decoding and request splitting, without sockets
//! or a database.

#![allow(non_snake_case)]

use super::*;

const CP: &str = "CP-1";

/// Writes a part as the writer does: plan, then mark stored.
fn arrive(a: &mut Assembly, request: i32, seq: i32, tbc: bool) -> Option<Plan> {
    let plan = a.plan(CP, request, seq, tbc)?;
    a.stored(CP, request, seq, tbc);
    Some(plan)
}

#[test]
fn TC_B_07_a_full_report_in_order_replaces_once_at_its_last_part() {
    let mut a = Assembly::default();
    a.requested(CP, 7, ReportKind::Full);
    let p0 = arrive(&mut a, 7, 0, true).unwrap();
    let p1 = arrive(&mut a, 7, 1, true).unwrap();
    assert!(!p0.replace_others && !p1.replace_others);
    assert!(!a.is_complete(CP, 7));
    let p2 = arrive(&mut a, 7, 2, false).unwrap();
    assert!(p2.replace_others, "the last missing part replaces the rest");
    assert_eq!(p0.run, p2.run, "one run for every part of the report");
    assert!(a.is_complete(CP, 7));
}

#[test]
fn TC_B_07_parts_out_of_order_complete_when_the_gap_fills() {
    let mut a = Assembly::default();
    a.requested(CP, 8, ReportKind::Full);
    // The last part first, then 0, then the missing 1.
    assert!(!arrive(&mut a, 8, 2, false).unwrap().replace_others);
    assert!(!arrive(&mut a, 8, 0, true).unwrap().replace_others);
    assert!(!a.is_complete(CP, 8));
    assert!(arrive(&mut a, 8, 1, true).unwrap().replace_others);
    assert!(a.is_complete(CP, 8));
}

#[test]
fn TC_B_07_a_repeated_part_is_skipped_and_never_replaces_twice() {
    let mut a = Assembly::default();
    a.requested(CP, 9, ReportKind::Full);
    arrive(&mut a, 9, 0, true).unwrap();
    assert_eq!(arrive(&mut a, 9, 0, true), None, "repeat skipped");
    assert!(arrive(&mut a, 9, 1, false).unwrap().replace_others);
    assert_eq!(arrive(&mut a, 9, 1, false), None);
    assert_eq!(arrive(&mut a, 9, 0, true), None);
}

#[test]
fn a_part_whose_write_failed_is_written_again_when_repeated() {
    let mut a = Assembly::default();
    a.requested(CP, 3, ReportKind::Full);
    // Planned but never marked stored (the database was away).
    assert!(a.plan(CP, 3, 0, false).unwrap().replace_others);
    assert!(!a.is_complete(CP, 3));
    let again = a.plan(CP, 3, 0, false).unwrap();
    assert!(again.replace_others);
}

#[test]
fn TC_B_08_a_partial_report_never_replaces() {
    let mut a = Assembly::default();
    a.requested(CP, 4, ReportKind::Partial);
    assert!(!arrive(&mut a, 4, 0, false).unwrap().replace_others);
    assert!(a.is_complete(CP, 4));
    // A report evgate never asked for (or forgot) only upserts.
    assert!(!arrive(&mut a, 99, 0, false).unwrap().replace_others);
}

#[test]
fn a_request_id_used_again_starts_a_new_run() {
    let mut a = Assembly::default();
    a.requested(CP, 1, ReportKind::Full);
    let first = arrive(&mut a, 1, 0, false).unwrap();
    assert!(first.replace_others);
    a.requested(CP, 1, ReportKind::Full);
    let second = arrive(&mut a, 1, 0, false).unwrap();
    assert!(second.replace_others, "the same seqNo is a new part now");
    assert_ne!(first.run, second.run);
}

#[test]
fn reports_of_different_chargers_do_not_mix() {
    let mut a = Assembly::default();
    a.requested(CP, 1, ReportKind::Full);
    a.requested("CP-2", 1, ReportKind::Full);
    arrive(&mut a, 1, 0, true).unwrap();
    let other = a.plan("CP-2", 1, 1, false).unwrap();
    assert!(!other.replace_others, "CP-2 lacks its own part 0");
}

#[test]
fn a_huge_last_seq_no_costs_nothing_and_never_completes() {
    let mut a = Assembly::default();
    a.requested(CP, 5, ReportKind::Full);
    arrive(&mut a, 5, 0, true).unwrap();
    assert!(!arrive(&mut a, 5, i32::MAX, false).unwrap().replace_others);
    assert!(!arrive(&mut a, 5, -1, false).unwrap().replace_others);
}

#[test]
fn the_assembly_is_bounded() {
    let mut a = Assembly::default();
    for i in 0..(Assembly::MAX as i32 + 50) {
        a.requested(CP, i, ReportKind::Partial);
    }
    assert_eq!(a.reports.len(), Assembly::MAX);
    assert!(
        !a.reports.contains_key(&(CP.to_owned(), 0)),
        "oldest forgotten"
    );
}

#[test]
fn report_kinds_follow_the_request() {
    let full = json!({"requestId": 1, "reportBase": "FullInventory"});
    let config = json!({"requestId": 1, "reportBase": "ConfigurationInventory"});
    let summary = json!({"requestId": 1, "reportBase": "SummaryInventory"});
    assert_eq!(report_kind("GetBaseReport", &full), ReportKind::Full);
    assert_eq!(report_kind("GetBaseReport", &config), ReportKind::Full);
    assert_eq!(report_kind("GetBaseReport", &summary), ReportKind::Partial);
    assert_eq!(
        report_kind("GetReport", &json!({"requestId": 2})),
        ReportKind::Partial
    );
}

#[test]
fn notify_report_parts_are_decoded_with_their_keys() {
    let part = read_part(json!({
        "requestId": 4, "seqNo": 1, "tbc": true, "generatedAt": "2026-12-03T10:00:00Z",
        "reportData": [{
            "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 2}},
            "variable": {"name": "AvailabilityState"},
            "variableAttribute": [{"type": "Actual", "value": "Available", "mutability": "ReadOnly"}],
            "variableCharacteristics": {"dataType": "OptionList", "supportsMonitoring": true,
                                        "valuesList": "Available,Occupied"}
        }, {
            "component": {"name": "DeviceDataCtrlr"},
            "variable": {"name": "ItemsPerMessage", "instance": "GetVariables"},
            "variableAttribute": [{"value": "2"}]
        }]
    }))
    .unwrap();
    assert_eq!((part.request_id, part.seq_no, part.tbc), (4, 1, true));
    let c = &part.variables[0];
    assert_eq!(c.key.evse_id, Some(1));
    assert_eq!(c.key.connector_id, Some(2));
    assert_eq!(c.value("Actual"), Some("Available"));
    assert_eq!(
        c.characteristics.as_ref().unwrap()["dataType"],
        "OptionList"
    );
    assert_eq!(
        part.variables[1].value("Actual"),
        Some("2"),
        "type defaults to Actual"
    );
    // tbc defaults to false; reportData may be absent.
    let last =
        read_part(json!({"requestId": 4, "seqNo": 2, "generatedAt": "2026-12-03T10:00:00Z"}))
            .unwrap();
    assert!(!last.tbc && last.variables.is_empty());
}

#[test]
fn malformed_notify_reports_get_the_201_callerror_codes() {
    let at = "2026-12-03T10:00:00Z";
    assert!(matches!(
        read_part(json!({"seqNo": 0, "generatedAt": at})),
        Err(RpcError::OccurrenceConstraint(_))
    ));
    assert!(matches!(
        read_part(json!({"requestId": "x", "seqNo": 0, "generatedAt": at})),
        Err(RpcError::TypeConstraint(_))
    ));
    let no_attribute = json!({"requestId": 1, "seqNo": 0, "generatedAt": at, "reportData": [{
        "component": {"name": "A"}, "variable": {"name": "B"}, "variableAttribute": []}]});
    assert!(matches!(
        read_part(no_attribute),
        Err(RpcError::OccurrenceConstraint(_))
    ));
}

#[test]
fn row_keys_ignore_case_and_tell_instances_and_evses_apart() {
    let key = |c: &str, evse: Option<i32>, v: &str, vi: Option<&str>| VariableKey {
        component: c.into(),
        component_instance: None,
        evse_id: evse,
        connector_id: None,
        variable: v.into(),
        variable_instance: vi.map(Into::into),
    };
    assert_eq!(
        key("EVSE", Some(1), "Power", None).row_key(),
        key("evse", Some(1), "power", None).row_key()
    );
    assert_ne!(
        key("EVSE", Some(1), "Power", None).row_key(),
        key("EVSE", Some(2), "Power", None).row_key()
    );
    assert_ne!(
        key("D", None, "ItemsPerMessage", Some("GetVariables")).row_key(),
        key("D", None, "ItemsPerMessage", Some("SetVariables")).row_key()
    );
}

fn stored(variable: &str, instance: Option<&str>, value: &str) -> StoredVariable {
    StoredVariable {
        reported: ReportedVariable {
            key: VariableKey {
                component: "DeviceDataCtrlr".into(),
                component_instance: None,
                evse_id: None,
                connector_id: None,
                variable: variable.into(),
                variable_instance: instance.map(Into::into),
            },
            attributes: json!([{"type": "Actual", "value": value}]),
            characteristics: None,
        },
        request_id: 1,
        updated_at: Utc::now(),
    }
}

#[test]
fn limits_are_read_in_both_spellings() {
    let rows = [
        stored("ItemsPerMessage", Some("GetVariables"), "2"),
        stored("BytesPerMessage", Some("GetVariables"), "4000"),
        stored("ItemsPerMessageSetVariables", None, "3"),
        stored("ItemsPerMessage", Some("GetReport"), "10"),
    ];
    assert_eq!(
        limits_of(&rows, "GetVariables"),
        Limits {
            items: Some(2),
            bytes: Some(4000)
        }
    );
    assert_eq!(limits_of(&rows, "SetVariables").items, Some(3));
    assert_eq!(limits_of(&[], "GetVariables"), Limits::default());
    let zero = [stored("ItemsPerMessage", Some("GetVariables"), "0")];
    assert_eq!(
        limits_of(&zero, "GetVariables").items,
        None,
        "0 is no limit"
    );
}

fn get_variables(n: usize) -> Value {
    let items: Vec<Value> = (0..n)
        .map(|i| json!({"component": {"name": "C"}, "variable": {"name": format!("V{i}")}}))
        .collect();
    json!({ "getVariableData": items })
}

#[test]
fn TC_B_08_five_items_at_two_per_message_are_three_calls_in_order() {
    let limits = Limits {
        items: Some(2),
        bytes: None,
    };
    let calls = split(&get_variables(5), "getVariableData", limits);
    let sizes: Vec<usize> = calls
        .iter()
        .map(|c| c["getVariableData"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [2, 2, 1]);
    let names: Vec<&str> = calls
        .iter()
        .flat_map(|c| c["getVariableData"].as_array().unwrap())
        .map(|i| i["variable"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["V0", "V1", "V2", "V3", "V4"]);
    let answers: Vec<Value> = calls
        .iter()
        .map(|c| {
            let results: Vec<Value> = c["getVariableData"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| json!({"attributeStatus": "Accepted", "variable": i["variable"]}))
                .collect();
            json!({ "getVariableResult": results })
        })
        .collect();
    let merged = merge(answers, "getVariableResult");
    let names: Vec<&str> = merged["getVariableResult"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["variable"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["V0", "V1", "V2", "V3", "V4"],
        "answers in request order"
    );
}

#[test]
fn TC_B_12_unknown_limits_or_few_items_are_one_call() {
    let payload = get_variables(5);
    let one = split(&payload, "getVariableData", Limits::default());
    assert_eq!(one.len(), 1);
    assert_eq!(one[0], payload);
    let roomy = Limits {
        items: Some(5),
        bytes: Some(100_000),
    };
    assert_eq!(split(&payload, "getVariableData", roomy), [payload]);
}

#[test]
fn TC_B_13_the_byte_limit_splits_and_each_call_fits() {
    let payload = get_variables(20);
    let max = 400;
    let limits = Limits {
        items: None,
        bytes: Some(max),
    };
    let calls = split(&payload, "getVariableData", limits);
    assert!(calls.len() > 1);
    let total: usize = calls
        .iter()
        .map(|c| c["getVariableData"].as_array().unwrap().len())
        .sum();
    assert_eq!(total, 20);
    for c in &calls {
        assert!(c.to_string().len() + FRAME_OVERHEAD <= max, "{c}");
    }
    // One item over the limit still goes, alone.
    let tiny = Limits {
        items: None,
        bytes: Some(10),
    };
    assert_eq!(split(&get_variables(3), "getVariableData", tiny).len(), 3);
}

#[test]
fn new_request_ids_are_positive() {
    for _ in 0..1000 {
        assert!(new_request_id() > 0);
    }
}
