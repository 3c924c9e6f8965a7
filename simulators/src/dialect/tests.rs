//! The dialects' rules, without a socket: what a reservation, a stop or a
//! misbehaviour switch puts on the wire in each version, and how commands
//! are answered.

use chrono::TimeDelta;
use serde_json::json;

use super::*;

fn charger(version: Version) -> (Hardware, Memory) {
    (Hardware::new(2, 11_000.0), Memory::new(version, "T".into()))
}

fn ctx<'a>(hw: &'a mut Hardware, mem: &'a mut Memory, m: &'a Misbehaviour) -> Charger<'a> {
    Charger {
        hardware: hw,
        memory: mem,
        misbehaviour: m,
        now: now(),
    }
}

fn reports(version: Version, c: &mut Charger<'_>, events: &[Event]) -> Vec<Outgoing> {
    events.iter().flat_map(|e| version.report(c, e)).collect()
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn run(
    version: Version,
    hw: &mut Hardware,
    mem: &mut Memory,
    m: &Misbehaviour,
    action: &str,
    payload: Value,
) -> (Answer, Vec<Outgoing>) {
    let mut c = Charger {
        hardware: hw,
        memory: mem,
        misbehaviour: m,
        now: now(),
    };
    let answer = version.answer(&mut c, action, &payload);
    let calls = reports(version, &mut c, &answer.events);
    (answer, calls)
}

fn reserve_16() -> Value {
    let expiry = (now() + TimeDelta::minutes(30)).to_rfc3339();
    json!({"connectorId": 1, "expiryDate": expiry, "idTag": "EV1", "reservationId": 42})
}

#[test]
fn a_16_reservation_is_reported_and_its_start_carries_the_id() {
    let (mut hw, mut mem) = charger(Version::V16);
    let m = Misbehaviour::default();
    let (answer, calls) = run(
        Version::V16,
        &mut hw,
        &mut mem,
        &m,
        "ReserveNow",
        reserve_16(),
    );
    assert_eq!(answer.result, Ok(json!({"status": "Accepted"})));
    assert_eq!(calls[0].payload["status"], "Reserved");
    let mut events = Vec::new();
    hw.start(1, "EV1", now(), &mut events).unwrap();
    let mut c = ctx(&mut hw, &mut mem, &m);
    let start: Vec<_> = reports(Version::V16, &mut c, &events);
    let start = start
        .iter()
        .find(|o| o.action == "StartTransaction")
        .unwrap();
    assert_eq!(start.payload["reservationId"], 42);
    assert!(start.payload["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn misbehaviour_switches_change_what_is_sent_and_answered() {
    let (mut hw, mut mem) = charger(Version::V16);
    let m = Misbehaviour {
        omit_reservation_id: true,
        never_send_reserved: true,
        naive_timestamps: true,
        reserve_answer: Some("Occupied".into()),
        ..Misbehaviour::default()
    };
    let (answer, calls) = run(
        Version::V16,
        &mut hw,
        &mut mem,
        &m,
        "ReserveNow",
        reserve_16(),
    );
    assert_eq!(answer.result, Ok(json!({"status": "Occupied"})));
    assert!(calls.is_empty(), "no Reserved status: {calls:?}");
    let mut events = Vec::new();
    hw.start(1, "EV1", now(), &mut events).unwrap();
    let mut c = ctx(&mut hw, &mut mem, &m);
    let calls: Vec<_> = reports(Version::V16, &mut c, &events);
    let start = calls
        .iter()
        .find(|o| o.action == "StartTransaction")
        .unwrap();
    assert!(start.payload.get("reservationId").is_none());
    assert_eq!(start.payload["timestamp"], "2027-01-15T08:00:00");
}

#[test]
fn the_16_stop_gets_the_csms_transaction_id_and_remote_stop_finds_it() {
    let (mut hw, mut mem) = charger(Version::V16);
    let m = Misbehaviour::default();
    let mut events = Vec::new();
    let tx = hw.start(2, "EV1", now(), &mut events).unwrap();
    let mut c = ctx(&mut hw, &mut mem, &m);
    let calls: Vec<_> = reports(Version::V16, &mut c, &events);
    let start = calls
        .iter()
        .find(|o| o.action == "StartTransaction")
        .unwrap();
    let accepted = json!({"transactionId": 777, "idTagInfo": {"status": "Accepted"}});
    assert!(Version::V16.answered(&mut c, start, &accepted).is_empty());
    let (answer, calls) = run(
        Version::V16,
        &mut hw,
        &mut mem,
        &m,
        "RemoteStopTransaction",
        json!({"transactionId": 777}),
    );
    assert_eq!(answer.result, Ok(json!({"status": "Accepted"})));
    assert_eq!(
        answer.followups,
        [Followup::Stop {
            transaction: tx.local
        }]
    );
    assert!(calls.is_empty());
    let mut events = Vec::new();
    hw.stop(2, crate::model::StopReason::Remote, now(), &mut events);
    let mut c = ctx(&mut hw, &mut mem, &m);
    let mut stop = events
        .iter()
        .flat_map(|e| Version::V16.report(&mut c, e))
        .find(|o| o.action == "StopTransaction")
        .unwrap();
    Version::V16.finish(&mem, &mut stop);
    assert_eq!(stop.payload["transactionId"], 777);
    assert_eq!(stop.payload["reason"], "Remote");
}

#[test]
fn a_refused_start_is_stopped_as_deauthorized() {
    for version in [Version::V16, Version::V201] {
        let (mut hw, mut mem) = charger(version);
        let m = Misbehaviour::default();
        let mut events = Vec::new();
        hw.start(1, "NOBODY", now(), &mut events).unwrap();
        let mut c = ctx(&mut hw, &mut mem, &m);
        let calls: Vec<_> = reports(version, &mut c, &events);
        let start = calls.iter().find(|o| o.transaction.is_some()).unwrap();
        let refused = json!({"transactionId": 1, "idTagInfo": {"status": "Invalid"},
                             "idTokenInfo": {"status": "Invalid"}});
        let events = version.answered(&mut c, start, &refused);
        assert!(
            matches!(
                events[0],
                Event::Ended {
                    reason: crate::model::StopReason::DeAuthorized,
                    ..
                }
            ),
            "{version:?}"
        );
    }
}

#[test]
fn passwords_are_taken_but_never_shown() {
    let (mut hw, mut mem) = charger(Version::V16);
    let m = Misbehaviour::default();
    let (answer, _) = run(
        Version::V16,
        &mut hw,
        &mut mem,
        &m,
        "ChangeConfiguration",
        json!({"key": "AuthorizationKey", "value": "0123456789abcdef"}),
    );
    assert_eq!(
        answer.followups,
        [Followup::NewPassword("0123456789abcdef".into())]
    );
    let (answer, _) = run(
        Version::V16,
        &mut hw,
        &mut mem,
        &m,
        "GetConfiguration",
        json!({"key": ["AuthorizationKey", "HeartbeatInterval"]}),
    );
    let body = answer.result.unwrap();
    assert_eq!(body["unknownKey"], json!(["AuthorizationKey"]));
    assert_eq!(body["configurationKey"][0]["key"], "HeartbeatInterval");

    let (mut hw, mut mem) = charger(Version::V201);
    let set = json!({"setVariableData": [{"attributeValue": "fedcba9876543210",
        "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}},
        {"attributeValue": "1", "component": {"name": "Nope"}, "variable": {"name": "Nope"}}]});
    let (answer, _) = run(Version::V201, &mut hw, &mut mem, &m, "SetVariables", set);
    let body = answer.result.unwrap();
    assert_eq!(body["setVariableResult"][0]["attributeStatus"], "Accepted");
    assert_eq!(
        body["setVariableResult"][1]["attributeStatus"],
        "UnknownVariable"
    );
    assert_eq!(
        answer.followups,
        [Followup::NewPassword("fedcba9876543210".into())]
    );
}

#[test]
fn a_201_reservation_expiring_is_reported_and_unknown_actions_are_not_implemented() {
    let (mut hw, mut mem) = charger(Version::V201);
    let m = Misbehaviour::default();
    let mut events = Vec::new();
    hw.expire_reservations(now(), &mut events);
    assert!(events.is_empty());
    let expiry = (now() - TimeDelta::minutes(1)).to_rfc3339();
    let (answer, calls) = run(
        Version::V201,
        &mut hw,
        &mut mem,
        &m,
        "ReserveNow",
        json!({"id": 5, "expiryDateTime": expiry, "idToken": {"idToken": "A", "type": "Central"}, "evseId": 2}),
    );
    assert_eq!(answer.result, Ok(json!({"status": "Accepted"})));
    assert_eq!(calls[0].payload["connectorStatus"], "Reserved");
    assert_eq!(calls[0].payload["evseId"], 2);
    hw.expire_reservations(now(), &mut events);
    let mut c = ctx(&mut hw, &mut mem, &m);
    let calls: Vec<_> = reports(Version::V201, &mut c, &events);
    let update = calls
        .iter()
        .find(|o| o.action == "ReservationStatusUpdate")
        .unwrap();
    assert_eq!(
        update.payload,
        json!({"reservationId": 5, "reservationUpdateStatus": "Expired"})
    );
    let (answer, _) = run(
        Version::V201,
        &mut hw,
        &mut mem,
        &m,
        "CertificateSigned",
        json!({}),
    );
    assert!(matches!(answer.result, Err(("NotImplemented", _))));
}

#[test]
fn firmware_and_logs_are_answered_then_reported_in_both_versions() {
    let m = Misbehaviour::default();
    let sent = |answer: &Answer| -> Vec<(String, Value)> {
        match answer.followups.as_slice() {
            [Followup::Send(calls)] => calls
                .iter()
                .map(|c| (c.action.to_owned(), c.payload.clone()))
                .collect(),
            other => panic!("{other:?}"),
        }
    };
    let (mut hw, mut mem) = charger(Version::V16);
    let firmware = json!({"location": "https://fw/a.bin", "retrieveDate": "2030-01-01T00:00:00Z"});
    let (answer, _) = run(
        Version::V16,
        &mut hw,
        &mut mem,
        &m,
        "UpdateFirmware",
        firmware,
    );
    assert_eq!(answer.result, Ok(json!({})));
    let calls = sent(&answer);
    assert_eq!(calls.len(), 4);
    assert_eq!(
        calls[3],
        (
            "FirmwareStatusNotification".into(),
            json!({"status": "Installed"})
        )
    );
    let (answer, _) = run(
        Version::V16,
        &mut hw,
        &mut mem,
        &m,
        "GetDiagnostics",
        json!({}),
    );
    assert!(answer.result.is_err());
    let signed = json!({"requestId": 5, "firmware": {"location": "https://fw/a.bin",
        "retrieveDateTime": "2030-01-01T00:00:00Z", "signingCertificate": "PEM", "signature": "s"}});
    let (answer, _) = run(
        Version::V16,
        &mut hw,
        &mut mem,
        &m,
        "SignedUpdateFirmware",
        signed.clone(),
    );
    assert!(sent(&answer).contains(&(
        "SignedFirmwareStatusNotification".into(),
        json!({"status": "SignatureVerified", "requestId": 5})
    )));
    let (mut hw, mut mem) = charger(Version::V201);
    let (answer, _) = run(
        Version::V201,
        &mut hw,
        &mut mem,
        &m,
        "UpdateFirmware",
        signed,
    );
    assert_eq!(answer.result, Ok(json!({"status": "Accepted"})));
    assert_eq!(sent(&answer)[0].0, "FirmwareStatusNotification");
    let log = json!({"logType": "DiagnosticsLog", "requestId": 6, "log": {"remoteLocation": "https://gw/up/"}});
    let (answer, _) = run(Version::V201, &mut hw, &mut mem, &m, "GetLog", log);
    assert_eq!(
        sent(&answer).last().unwrap(),
        &(
            "LogStatusNotification".into(),
            json!({"status": "Uploaded", "requestId": 6})
        )
    );
}

#[test]
fn both_versions_answer_charging_profiles_and_composite_schedules() {
    let m = Misbehaviour::default();
    for version in [Version::V16, Version::V201] {
        let (mut hw, mut mem) = charger(version);
        let (connector, profile, clear, schedule) = match version {
            Version::V16 => (
                "connectorId",
                "csChargingProfiles",
                json!({"id": 7}),
                json!({"connectorId": 1, "duration": 600}),
            ),
            Version::V201 => (
                "evseId",
                "chargingProfile",
                json!({"chargingProfileId": 7}),
                json!({"evseId": 1, "duration": 600}),
            ),
        };
        let (refused, _) = run(
            version,
            &mut hw,
            &mut mem,
            &m,
            "GetCompositeSchedule",
            schedule.clone(),
        );
        assert_eq!(
            refused.result.unwrap()["status"],
            "Rejected",
            "{version:?}: nothing set"
        );
        let max = json!({"chargingProfileId": 7, "id": 7, "stackLevel": 0,
            "chargingProfilePurpose": "ChargePointMaxProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 22000.0}]}});
        let set = json!({ connector: 0, profile: max });
        let (answer, _) = run(version, &mut hw, &mut mem, &m, "SetChargingProfile", set);
        assert_eq!(answer.result.unwrap()["status"], "Accepted", "{version:?}");
        let (answer, _) = run(
            version,
            &mut hw,
            &mut mem,
            &m,
            "GetCompositeSchedule",
            schedule,
        );
        let answer = answer.result.unwrap();
        assert_eq!(answer["status"], "Accepted", "{version:?}");
        let periods = match version {
            Version::V16 => &answer["chargingSchedule"]["chargingSchedulePeriod"],
            Version::V201 => &answer["schedule"]["chargingSchedulePeriod"],
        };
        assert_eq!(periods[0]["limit"], 22000.0, "{version:?}: {answer}");
        let tx = json!({ connector: 1, profile: {"chargingProfileId": 8, "id": 8, "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7000.0}]}}});
        let (answer, _) = run(version, &mut hw, &mut mem, &m, "SetChargingProfile", tx);
        assert_eq!(
            answer.result.unwrap()["status"],
            "Rejected",
            "{version:?}: no transaction"
        );
        let (answer, _) = run(
            version,
            &mut hw,
            &mut mem,
            &m,
            "ClearChargingProfile",
            clear.clone(),
        );
        assert_eq!(answer.result.unwrap()["status"], "Accepted");
        let (answer, _) = run(
            version,
            &mut hw,
            &mut mem,
            &m,
            "ClearChargingProfile",
            clear,
        );
        assert_eq!(answer.result.unwrap()["status"], "Unknown");
    }
}
