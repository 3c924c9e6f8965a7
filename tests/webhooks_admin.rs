//! The webhook inbox as operators see it when something is wrong (issue
//! #15): an entry whose stored report no build can read is listed, shown,
//! refused for retry and discarded — never a 500 — and `/ready` reports an
//! applier whose rounds fail or stop. How webhooks are accepted is in
//! `tests/webhooks.rs`, how the inbox is applied in `tests/webhooks_apply.rs`.
//! Time is the manual clock; the inbox is applied with `process_due()`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::TestApp;
use common::vendors::{count, drain, inbox, post, site, sql, status};
use serde_json::{Value, json};

/// Accepts a meter update from vendor 0 and rewrites its stored reading to
/// `null` behind the app's back, as an earlier build could store it;
/// returns the entry's id.
async fn poisoned_entry(app: &TestApp, site: &common::vendors::Site) -> String {
    let (code, accepted) = post(
        app,
        &site.vendors[0],
        "meter-update",
        &json!({"vendorSessionId": "poisoned", "meterReading": 1.5}),
    )
    .await;
    assert_eq!(code, 202, "{accepted}");
    sql(
        app,
        "update webhook_inbox set payload = replace(payload, '1500.0', 'null') \
         where kind = 'meter-update'",
    )
    .await;
    accepted["data"]["id"].as_str().unwrap().to_owned()
}

fn assert_unreadable(entry: &Value, state: &str) {
    assert_eq!(entry["state"], state, "{entry}");
    assert_eq!(entry["kind"], "meter-update", "{entry}");
    assert_eq!(entry["unreadable"], true, "{entry}");
    assert_eq!(entry["report"], Value::Null, "{entry}");
    let raw = entry["rawReport"].as_str().unwrap();
    assert!(
        raw.contains("poisoned") && raw.contains("null"),
        "the report as stored: {entry}"
    );
    assert!(entry["readError"].as_str().is_some(), "{entry}");
}

fn assert_error(answer: &(u16, Value), status: u16, code: &str) {
    let (s, body) = answer;
    assert_eq!(
        (*s, &body["success"], &body["error"]["code"]),
        (status, &json!(false), &json!(code)),
        "{body}"
    );
    assert!(body["error"]["message"].as_str().is_some(), "{body}");
}

/// List, get and retry answer normally for a row no build can read, and a
/// readable row beside it keeps its shape; the operator discards the dead
/// one, and the audit log keeps what it held.
async fn an_unreadable_entry_is_listed_refused_for_retry_and_discarded(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 2).await;
    let admin = app.admin();
    let id = poisoned_entry(&app, &site).await;
    let path = format!("/v1/admin/webhooks/{id}");
    // Before the applier has seen it: listed as it is, PENDING.
    let (code, e) = app.send("GET", &path, Some(&admin), None).await;
    assert_eq!(code, 200, "{e}");
    assert_unreadable(&e["data"], "PENDING");
    assert_error(
        &app.send("POST", &format!("{path}/retry"), Some(&admin), None)
            .await,
        409,
        "INVALID_STATE",
    );
    let (code, _) = post(
        &app,
        &site.vendors[1],
        "connector-status",
        &status(&site.connectors[1], "FAULTED"),
    )
    .await;
    assert_eq!(code, 202);
    drain(&app).await;

    // The list: the dead one with its raw report, the applied one as ever.
    let (code, list) = app
        .send("GET", "/v1/admin/webhooks", Some(&admin), None)
        .await;
    assert_eq!(code, 200, "{list}");
    let entries = list["data"]["webhooks"].as_array().unwrap();
    assert_eq!((entries.len(), &list["data"]["total"]), (2, &json!(2)));
    let dead = entries.iter().find(|e| e["id"] == id.as_str()).unwrap();
    assert_unreadable(dead, "DEAD");
    assert!(
        dead["lastError"]
            .as_str()
            .unwrap()
            .starts_with("unreadable stored report"),
        "{dead}"
    );
    let done = entries.iter().find(|e| e["id"] != id.as_str()).unwrap();
    assert_eq!(
        (
            &done["state"],
            &done["unreadable"],
            &done["report"]["status"]
        ),
        (&json!("DONE"), &json!(false), &json!("FAULTED")),
        "{done}"
    );
    assert!(done.get("rawReport").is_none(), "{done}");
    assert_eq!(inbox(&app, "dead").await.len(), 1);
    let (code, e) = app.send("GET", &path, Some(&admin), None).await;
    assert_eq!(code, 200, "{e}");
    assert_unreadable(&e["data"], "DEAD");

    // Retry is refused, saying why, and leaves it dead.
    let answer = app
        .send("POST", &format!("{path}/retry"), Some(&admin), None)
        .await;
    assert_error(&answer, 409, "WEBHOOK_UNREADABLE");
    assert!(
        answer.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be read"),
        "{}",
        answer.1
    );
    let (_, e) = app.send("GET", &path, Some(&admin), None).await;
    assert_eq!(
        (&e["data"]["state"], &e["data"]["attempts"]),
        (&json!("DEAD"), &json!(0)),
        "not requeued: {e}"
    );

    // Only a dead entry can be discarded; this one is, and is audited.
    let done_path = format!("/v1/admin/webhooks/{}", done["id"].as_str().unwrap());
    assert_error(
        &app.send("DELETE", &done_path, Some(&admin), None).await,
        409,
        "INVALID_STATE",
    );
    assert_error(
        &app.send("DELETE", &path, Some(&app.user()), None).await,
        403,
        "FORBIDDEN",
    );
    let (code, gone) = app.send("DELETE", &path, Some(&admin), None).await;
    assert_eq!(code, 200, "{gone}");
    assert_unreadable(&gone["data"], "DEAD");
    assert_error(
        &app.send("GET", &path, Some(&admin), None).await,
        404,
        "NOT_FOUND",
    );
    assert_error(
        &app.send("DELETE", &path, Some(&admin), None).await,
        404,
        "NOT_FOUND",
    );
    let (code, audit) = app
        .send(
            "GET",
            &format!("/v1/admin/audit?target={id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(code, 200, "{audit}");
    let entry = &audit["data"]["entries"][0];
    assert_eq!(
        (&entry["action"], &entry["actor"], &entry["outcome"]),
        (&json!("webhook.discard"), &json!("1"), &json!("DISCARDED")),
        "{audit}"
    );
    assert_eq!(entry["details"]["rawReport"], gone["data"]["rawReport"]);
    assert_eq!(
        count(&app, "select count(*) from webhook_inbox").await,
        1,
        "the applied entry stays"
    );
}

async fn ready(app: &TestApp) -> (u16, Value) {
    app.send("GET", "/ready", None, None).await
}

fn assert_not_ready(answer: &(u16, Value), check: &str) {
    assert_error(answer, 503, "SERVICE_UNAVAILABLE");
    assert_eq!(answer.1["error"]["check"], check, "{}", answer.1);
}

/// A round that fails on the store (the inbox table gone) makes `/ready`
/// 503 naming the applier; the next round that completes makes it 200.
async fn ready_reports_an_applier_whose_rounds_fail(backend: &str) {
    let app = TestApp::on(backend, None).await;
    assert_eq!(ready(&app).await.0, 200);
    sql(
        &app,
        "ALTER TABLE webhook_inbox RENAME TO webhook_inbox_away",
    )
    .await;
    assert!(app.webhooks.process_due().await.is_err());
    let answer = ready(&app).await;
    assert_not_ready(&answer, "webhookApplier");
    assert!(
        answer.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("webhook applier"),
        "{}",
        answer.1
    );
    sql(
        &app,
        "ALTER TABLE webhook_inbox_away RENAME TO webhook_inbox",
    )
    .await;
    app.webhooks.process_due().await.unwrap();
    let (code, body) = ready(&app).await;
    assert_eq!(
        (code, &body["data"]["webhookApplier"]),
        (200, &json!("ok")),
        "{body}"
    );
}

/// No round for a minute while a webhook has been due that long: the
/// applier is stuck or gone, and `/ready` says so. A webhook just accepted,
/// or an idle inbox, is not a stall.
async fn ready_reports_an_applier_that_stopped_while_webhooks_are_due(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 1).await;
    app.clock.advance(TimeDelta::minutes(5));
    assert_eq!(ready(&app).await.0, 200, "an idle inbox needs no rounds");
    let (code, _) = post(
        &app,
        &site.vendors[0],
        "connector-status",
        &status(&site.connectors[0], "OCCUPIED"),
    )
    .await;
    assert_eq!(code, 202);
    app.clock.advance(TimeDelta::seconds(30));
    assert_eq!(ready(&app).await.0, 200, "due for 30 s only");
    app.clock.advance(TimeDelta::seconds(31));
    let answer = ready(&app).await;
    assert_not_ready(&answer, "webhookApplier");
    assert!(
        answer.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no round"),
        "{}",
        answer.1
    );
    drain(&app).await;
    assert_eq!(ready(&app).await.0, 200);
}

common::on_both_backends!(
    an_unreadable_entry_is_listed_refused_for_retry_and_discarded,
    ready_reports_an_applier_whose_rounds_fail,
    ready_reports_an_applier_that_stopped_while_webhooks_are_due,
);
