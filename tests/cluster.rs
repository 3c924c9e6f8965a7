//! Cluster mode, first part: two evgate processes sharing PostgreSQL and
//! Redis, a real OCPP 1.6 charger (PyPI `ocpp`) connected to instance A, and
//! commands issued on instance B — an operator command, and a hold inside
//! the lead window whose ReserveNow must reach the charger — routed to A and
//! answered there. A charger connected nowhere, or held by an instance that
//! has died, is a 409 as on one node.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chrono::{DurationRound, TimeDelta, Utc};
use common::charger::Charger;
use common::process::{Api, Running, token};
use serde_json::{Value, json};

struct Node {
    server: Running,
    admin: Api,
    user: Api,
    _dir: tempfile::TempDir,
}

fn node(env: &[(&str, &str)]) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), env);
    let admin = Api::new(
        &server,
        token(dir.path(), env, &["--user", "1", "--role", "admin"]),
    );
    let user = Api::new(
        &server,
        token(dir.path(), env, &["--user", "5", "--role", "user"]),
    );
    Node {
        server,
        admin,
        user,
        _dir: dir,
    }
}

async fn command(node: &Node, cp: &str, action: &str, payload: Value) -> (u16, Value) {
    node.admin
        .post(
            &format!("/v1/admin/chargers/{cp}/commands"),
            json!({"action": action, "payload": payload}),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL, Redis and Python ocpp; run by .ci/run"]
async fn commands_and_reservations_reach_a_charger_on_another_instance() {
    let db = common::fresh_pg_database().await;
    let redis = common::redis_url();
    let env = |name: &'static str| {
        vec![
            ("JWT_SECRET", common::TEST_SECRET),
            ("DATABASE_URL", db.as_str()),
            ("REDIS_URL", redis.as_str()),
            ("INSTANCE_ID", name),
            ("OCPP_OFFLINE_GRACE_SECONDS", "1"),
        ]
    };
    let a = node(&env("node-a"));
    let b = node(&env("node-b"));
    // Identities unique to this run: ownership keys live in the shared Redis.
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (here, nowhere) = (
        format!("CPA-{}", &suffix[..8]),
        format!("CPN-{}", &suffix[..8]),
    );
    let station = a.admin.station().await;
    a.admin.charger(&station, &here, 0, None).await;
    a.admin.charger(&station, &nowhere, 0, None).await;
    let connector = a.admin.connector(&station, &here, 1).await;
    let url = format!("{}/ocpp/{here}", a.server.ocpp);
    let mut charger = Charger::start(&url, "1.6", "Accepted");

    // Through B, once A has announced the charger (within its 2 s refresh).
    let mut answer = (0, Value::Null);
    for _ in 0..50 {
        answer = command(
            &b,
            &here,
            "TriggerMessage",
            json!({"requestedMessage": "Heartbeat"}),
        )
        .await;
        if answer.0 != 409 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(answer.1["data"]["response"]["status"], "Accepted");
    assert_eq!(charger.received()["action"], "TriggerMessage");
    // A payload the charger's version does not allow is refused on A, and
    // B says so as it would for its own charger.
    let (code, bad) = command(
        &b,
        &here,
        "TriggerMessage",
        json!({"requestedMessage": "Nope"}),
    )
    .await;
    assert_eq!(code, 400, "{bad}");

    // A hold made through B inside the lead window: ReserveNow reaches the
    // charger on A, and its answer decides the hold.
    let start = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap() + TimeDelta::minutes(10);
    let (code, hold) = b
        .user
        .post(
            "/v1/bookings/holds",
            json!({"stationId": station, "connectorId": connector,
                "startTs": start.to_rfc3339(), "endTs": (start + TimeDelta::hours(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(code, 201, "{hold}");
    assert_eq!(hold["data"]["reservedOnCharger"], true);
    let asked = charger.received();
    assert_eq!(asked["action"], "ReserveNow", "{asked}");
    assert_eq!(asked["payload"]["connectorId"], 1);

    // Connected nowhere: 409, as on one node.
    let (code, offline) = command(
        &b,
        &nowhere,
        "TriggerMessage",
        json!({"requestedMessage": "Heartbeat"}),
    )
    .await;
    assert_eq!(
        (code, offline["error"]["code"].as_str()),
        (409, Some("CHARGER_OFFLINE"))
    );

    // The charger reconnects to B (newest wins across instances): A closes
    // its old socket, commands through A now reach it on B, and its
    // connectors do not go OFFLINE when A's socket ends.
    let url_b = format!("{}/ocpp/{here}", b.server.ocpp);
    let mut moved = Charger::start(&url_b, "1.6", "Accepted");
    let mut answer = (0, Value::Null);
    for _ in 0..50 {
        answer = command(
            &a,
            &here,
            "TriggerMessage",
            json!({"requestedMessage": "Heartbeat"}),
        )
        .await;
        if answer.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(moved.received()["action"], "TriggerMessage");
    tokio::time::sleep(Duration::from_millis(2500)).await; // past the 1 s grace
    let seen = a.admin.get(&format!("/v1/stations/{station}")).await;
    let status = seen["data"]["connectors"][0]["status"].clone();
    assert!(status.is_string() && status != "OFFLINE", "{seen}");
    drop(charger);

    // B dies with the charger on it: A answers 409 at once, though B's
    // ownership lease has not run out.
    let before = std::time::Instant::now();
    drop(moved);
    b.server.terminate();
    let (code, gone) = command(
        &a,
        &here,
        "TriggerMessage",
        json!({"requestedMessage": "Heartbeat"}),
    )
    .await;
    assert_eq!(
        (code, gone["error"]["code"].as_str()),
        (409, Some("CHARGER_OFFLINE")),
        "{gone}"
    );
    assert!(
        before.elapsed() < Duration::from_secs(5),
        "no hang: {:?}",
        before.elapsed()
    );
}
