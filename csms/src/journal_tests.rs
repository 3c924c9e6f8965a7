#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
        .unwrap()
        .to_utc()
}

#[test]
fn a_call_and_its_answer_are_kept_newest_first_with_the_round_trip() {
    let journals = Journals::new(10, 1 << 20);
    let journal = journals.open("CP", 1).unwrap();
    let t0 = Instant::now();
    journal.record(Direction::Out, r#"[2,"7","ReserveNow",{"id":1}]"#, at(), t0);
    journal.record(
        Direction::In,
        r#"[3,"7",{"status":"Accepted"}]"#,
        at(),
        t0 + std::time::Duration::from_millis(40),
    );
    let read = journals.read("CP", 10, None).unwrap();
    assert_eq!(read[0]["messageType"], "CALLRESULT");
    assert_eq!(
        read[0]["action"], "ReserveNow",
        "a result takes its CALL's action"
    );
    assert_eq!(read[0]["direction"], "in");
    assert_eq!(read[0]["payload"], json!({"status": "Accepted"}));
    assert_eq!(read[0]["latencyMs"], 40.0);
    assert_eq!(read[1]["messageType"], "CALL");
    assert_eq!(read[1]["uniqueId"], "7");
    assert_eq!(read[1]["latencyMs"], Value::Null);
    assert_eq!(
        journals
            .read("CP", 1, None)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(journals.read("nobody", 10, None).is_none());
}

#[test]
fn an_answer_in_the_same_direction_is_not_a_round_trip() {
    let journals = Journals::new(10, 1 << 20);
    let journal = journals.open("CP", 1).unwrap();
    let now = Instant::now();
    journal.record(Direction::In, r#"[2,"1","Heartbeat",{}]"#, at(), now);
    journal.record(Direction::In, r#"[3,"1",{}]"#, at(), now);
    let read = journals.read("CP", 10, None).unwrap();
    assert_eq!(read[0]["latencyMs"], Value::Null);
    assert_eq!(read[0]["action"], Value::Null);
}

#[test]
fn filtering_by_action_keeps_calls_and_their_answers() {
    let journals = Journals::new(10, 1 << 20);
    let journal = journals.open("CP", 1).unwrap();
    let now = Instant::now();
    journal.record(Direction::In, r#"[2,"1","Heartbeat",{}]"#, at(), now);
    journal.record(Direction::Out, r#"[3,"1",{"currentTime":"x"}]"#, at(), now);
    journal.record(
        Direction::In,
        r#"[2,"2","StatusNotification",{}]"#,
        at(),
        now,
    );
    journal.record(Direction::Out, r#"[3,"2",{}]"#, at(), now);
    let read = journals.read("CP", 10, Some("Heartbeat")).unwrap();
    let types: Vec<_> = read
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["messageType"].clone())
        .collect();
    assert_eq!(types, [json!("CALLRESULT"), json!("CALL")]);
}

#[test]
fn passwords_never_reach_the_journal() {
    let journals = Journals::new(10, 1 << 20);
    let journal = journals.open("CP", 1).unwrap();
    let now = Instant::now();
    let frames = [
        r#"[2,"1","ChangeConfiguration",{"key":"AuthorizationKey","value":"s3cret-16-chars!!"}]"#,
        r#"[2,"2","SetVariables",{"setVariableData":[{"attributeValue":"s3cret-16-chars!!","component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}}]}]"#,
        r#"[2,"3","SetNetworkProfile",{"configurationSlot":1,"connectionData":{"basicAuthPassword":"s3cret-16-chars!!"}}]"#,
        r#"[2,"4","DataTransfer",{"vendorId":"x","data":"{\"Password\": \"s3cret-16-chars!!\"}"]"#,
    ];
    for frame in frames {
        journal.record(Direction::Out, frame, at(), now);
    }
    let read = journals.read("CP", 10, None).unwrap().to_string();
    assert!(!read.contains("s3cret"), "{read}");
    assert_eq!(
        journals
            .read("CP", 10, None)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // A harmless configuration change is kept as it was.
    journal.record(
        Direction::Out,
        r#"[2,"5","ChangeConfiguration",{"key":"HeartbeatInterval","value":"60"}]"#,
        at(),
        now,
    );
    assert_eq!(
        journals.read("CP", 1, None).unwrap()[0]["payload"]["value"],
        "60"
    );
}

#[test]
fn each_journal_keeps_its_last_frames_and_all_stay_within_the_budget() {
    let journals = Journals::new(3, 1 << 20);
    let journal = journals.open("CP", 1).unwrap();
    let now = Instant::now();
    for i in 0..5 {
        journal.record(
            Direction::In,
            &format!(r#"[2,"{i}","Heartbeat",{{}}]"#),
            at(),
            now,
        );
    }
    let ids: Vec<_> = journals
        .read("CP", 10, None)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uniqueId"].clone())
        .collect();
    assert_eq!(ids, [json!("4"), json!("3"), json!("2")]);

    // A budget for about four entries in all: a second charger's frames
    // push out its own oldest, never past the budget.
    let frame = r#"[2,"1","Heartbeat",{}]"#;
    let size = std::mem::size_of::<Entry>() + frame.len();
    let tight = Journals::new(100, size * 4);
    let a = tight.open("A", 1).unwrap();
    let b = tight.open("B", 1).unwrap();
    for _ in 0..3 {
        a.record(Direction::In, frame, at(), now);
    }
    for _ in 0..10 {
        b.record(Direction::In, frame, at(), now);
        assert!(tight.bytes() <= size * 4);
    }
    assert_eq!(
        tight
            .read("A", 100, None)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        tight
            .read("B", 100, None)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_departed_chargers_journal_is_kept_until_enough_others_leave() {
    let journals = Journals::new(5, 1 << 24);
    let now = Instant::now();
    let first = journals.open("CP-0", 1).unwrap();
    first.record(Direction::In, r#"[2,"1","Heartbeat",{}]"#, at(), now);
    journals.depart("CP-0", &first, 1);
    assert!(
        journals.read("CP-0", 5, None).is_some(),
        "readable after it left"
    );
    for i in 1..=MAX_DEPARTED {
        let id = format!("CP-{i}");
        let j = journals.open(&id, 1).unwrap();
        j.record(Direction::In, r#"[2,"1","Heartbeat",{}]"#, at(), now);
        journals.depart(&id, &j, 1);
    }
    assert!(
        journals.read("CP-0", 5, None).is_none(),
        "the oldest departed one went"
    );
    assert!(journals.read("CP-1", 5, None).is_some());
    // A charger that came back is not dropped for having left once.
    let back = journals.open("CP-1", 2).unwrap();
    journals.depart("CP-extra", &journals.open("CP-extra", 1).unwrap(), 1);
    assert!(journals.read("CP-1", 5, None).is_some());
    // The replaced connection leaving does not mark the newer one's away.
    journals.depart("CP-1", &back, 1);
    assert!(!lock(&back.ring).departed);
}

#[test]
fn journals_off_open_nothing() {
    assert!(Journals::new(0, 1 << 20).open("CP", 1).is_none());
}
