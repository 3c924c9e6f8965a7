//! Cluster mode, first part: two evgate processes sharing PostgreSQL and
//! Redis, a real OCPP 1.6 charger (PyPI `ocpp`) connected to instance A, and
//! commands issued on instance B — an operator command, and a hold inside
//! the lead window whose ReserveNow must reach the charger — routed to A and
//! answered there. A charger connected nowhere, or held by an instance that
//! has died, is a 409 as on one node.
//!
//! Over 600 lines on purpose: three long stories across processes, each
//! read top to bottom, over the `Node` fixture below.

#![allow(clippy::unwrap_used, clippy::expect_used)]

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
    // One user races dozens of holds here: the per-user hold rate and
    // live-hold cap (tested in tests/bookings.rs) would refuse most.
    let env = [
        env,
        &[
            ("RATE_LIMIT_HOLDS_PER_USER", "0"),
            ("BOOKING_MAX_LIVE_HOLDS_PER_USER", "0"),
        ],
    ]
    .concat();
    let env = env.as_slice();
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

/// Asks `node` to have the charger send a Heartbeat (TriggerMessage), again
/// and again for up to 10 s until `done` holds for the HTTP status (the
/// charger's ownership is announced within the 2 s refresh).
async fn trigger_heartbeat_until(
    node: &Node,
    cp: &str,
    done: impl Fn(u16) -> bool,
) -> (u16, Value) {
    let trigger = json!({"requestedMessage": "Heartbeat"});
    common::eventually(
        "the TriggerMessage answered as wanted",
        Duration::from_secs(10),
        async || {
            let answer = command(node, cp, "TriggerMessage", trigger.clone()).await;
            if done(answer.0) {
                Ok(answer)
            } else {
                Err(format!("{} {}", answer.0, answer.1))
            }
        },
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
    let answer = trigger_heartbeat_until(&b, &here, |status| status != 409).await;
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

    // The charger's message journal, kept on A, read through B: its boot,
    // its statuses, and the ReserveNow with the charger's answer.
    let journal = b
        .admin
        .get(&format!("/v1/admin/chargers/{here}/messages?limit=1000"))
        .await;
    let frames = journal["data"]["messages"].as_array().unwrap();
    let has = |direction: &str, kind: &str, action: &str| {
        frames.iter().any(|f| {
            f["direction"] == direction && f["messageType"] == kind && f["action"] == action
        })
    };
    assert!(has("in", "CALL", "BootNotification"), "{journal}");
    assert!(has("out", "CALLRESULT", "BootNotification"), "{journal}");
    assert!(has("in", "CALL", "StatusNotification"), "{journal}");
    assert!(has("out", "CALL", "ReserveNow"), "{journal}");
    assert!(has("in", "CALLRESULT", "ReserveNow"), "{journal}");

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
    let answer = trigger_heartbeat_until(&a, &here, |status| status == 200).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(moved.received()["action"], "TriggerMessage");
    // Past the 1 s grace: nothing to wait for, the point is that nothing
    // happens (real time, in the two evgate processes).
    tokio::time::sleep(Duration::from_millis(2500)).await;
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

/// Makes `n` holds on one slot at once, alternating between the two
/// instances; returns how many succeeded (the rest must be 409).
async fn race(a: &Node, b: &Node, body: &Value, n: usize) -> usize {
    let requests = (0..n).map(|i| {
        let node = if i % 2 == 0 { a } else { b };
        node.user.post("/v1/bookings/holds", body.clone())
    });
    let answers = futures_util::future::join_all(requests).await;
    for (status, answer) in &answers {
        assert!(*status == 201 || *status == 409, "{status}: {answer}");
    }
    answers.iter().filter(|(s, _)| *s == 201).count()
}

async fn ready(node: &Node) -> Value {
    node.admin.get("/ready").await["data"]["sharedState"].clone()
}

/// Redis stopped mid-run, with two instances: reads and holds go on from
/// PostgreSQL; 50-way races on one slot across both instances have exactly
/// one winner before the outage, during it and after Redis returns; a hold
/// made on either side of the switch still keeps its slot on the other;
/// `/ready` says `degraded`, then `ok`, with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and redis-server; run by .ci/run"]
async fn with_redis_down_holds_and_reads_fall_back_to_postgres() {
    let port = common::redis::free_port();
    let redis = common::redis::PrivateRedis::start(port);
    let db = common::fresh_pg_database().await;
    let redis_url = redis.url();
    let env = |name: &'static str| {
        vec![
            ("JWT_SECRET", common::TEST_SECRET),
            ("DATABASE_URL", db.as_str()),
            ("REDIS_URL", redis_url.as_str()),
            ("INSTANCE_ID", name),
        ]
    };
    let a = node(&env("fail-a"));
    let b = node(&env("fail-b"));
    let station = a.admin.station().await;
    a.admin.charger(&station, "SIM-F", 0, None).await;
    let connector = a.admin.connector(&station, "SIM-F", 1).await;
    let config = simulators::charger::ChargerConfig::new(
        "SIM-F",
        &format!("{}/ocpp", a.server.ocpp),
        simulators::dialect::Version::V16,
    );
    let metrics = std::sync::Arc::new(simulators::metrics::Metrics::default());
    let _charger = simulators::charger::spawn(config, metrics, None);
    common::eventually(
        "the connector AVAILABLE",
        Duration::from_secs(10),
        async || {
            let s = b.admin.get(&format!("/v1/stations/{station}")).await;
            let status = &s["data"]["connectors"][0]["status"];
            if status == "AVAILABLE" {
                Ok(())
            } else {
                Err(status.clone())
            }
        },
    )
    .await;
    // Slots hours ahead: outside the lead window, holds touch only the stores.
    let slot = |hours: i64| {
        let start =
            Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap() + TimeDelta::hours(hours);
        json!({"stationId": station, "connectorId": connector,
               "startTs": start.to_rfc3339(), "endTs": (start + TimeDelta::hours(1)).to_rfc3339()})
    };
    assert_eq!(ready(&a).await, "ok");
    assert_eq!(race(&a, &b, &slot(3), 50).await, 1, "before the outage");

    drop(redis);
    let s = b.admin.get(&format!("/v1/stations/{station}")).await;
    assert_eq!(s["data"]["id"], station.as_str(), "reads go on: {s}");
    let (status, _) = a
        .user
        .send("GET", &format!("/v1/stations/{station}/availability"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(ready(&a).await, "degraded");
    assert_eq!(race(&a, &b, &slot(5), 50).await, 1, "during the outage");
    let (status, _) = b.user.post("/v1/bookings/holds", slot(3)).await;
    assert_eq!(
        status, 409,
        "the hold made before the outage still keeps its slot"
    );

    let _redis = common::redis::PrivateRedis::start(port);
    for node in [&a, &b] {
        let back = async || match ready(node).await {
            state if state == "ok" => Ok(()),
            state => Err(state),
        };
        common::eventually(
            "back to normal without a restart",
            Duration::from_secs(15),
            back,
        )
        .await;
    }
    let (status, _) = a.user.post("/v1/bookings/holds", slot(5)).await;
    assert_eq!(
        status, 409,
        "the hold made during the outage still keeps its slot"
    );
    assert_eq!(race(&a, &b, &slot(7), 50).await, 1, "after Redis returned");
}

/// The payment provider's side (a stand-in: the real one cannot run here):
/// every refund POST it receives, by paymentId.
#[derive(Default)]
struct Payments {
    received: std::sync::Mutex<Vec<String>>,
}

async fn payment_side(payments: std::sync::Arc<Payments>) -> String {
    let app = axum::Router::new().route(
        "/refunds",
        axum::routing::post(move |body: String| {
            let payments = payments.clone();
            async move {
                let v: Value = serde_json::from_str(&body).unwrap_or_default();
                let id = v["paymentId"].as_str().unwrap_or_default().to_owned();
                payments.received.lock().unwrap().push(id);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/refunds")
}

/// A vendor webhook, signed, posted to `node`.
async fn webhook(node: &Node, vendor: &(String, String), kind: &str, body: Value) -> u16 {
    let body = body.to_string();
    let ts = Utc::now().timestamp();
    let sig = webhooks::signature::sign(vendor.1.as_bytes(), ts, body.as_bytes());
    reqwest::Client::new()
        .post(node.server.url(&format!("/v1/vendor/webhooks/{kind}")))
        .header("content-type", "application/json")
        .header("x-evgate-vendor", &vendor.0)
        .header("x-evgate-timestamp", ts.to_string())
        .header("x-evgate-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Three instances run every worker; one is killed (SIGKILL) while work is
/// due. Its charger reconnects to another instance and is reached there;
/// the vendor-webhook inbox is applied exactly once per entry, the no-show
/// worker records each missed booking once, each refund reaches the
/// payment provider once, and the lead-window scheduler reserves a booking
/// on its charger once: nothing lost, nothing doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis; run by .ci/run (waits for the next whole minute)"]
async fn workers_finish_exactly_once_when_an_instance_dies() {
    let payments = std::sync::Arc::new(Payments::default());
    let refunds_url = payment_side(payments.clone()).await;
    let db = common::fresh_pg_database().await;
    let redis = common::redis_url();
    let env = |name: &'static str| {
        vec![
            ("JWT_SECRET", common::TEST_SECRET),
            ("DATABASE_URL", db.as_str()),
            ("REDIS_URL", redis.as_str()),
            ("INSTANCE_ID", name),
            ("PAYMENT_WEBHOOK_URL", refunds_url.as_str()),
            ("BOOKING_NO_SHOW_GRACE_PERIOD_MINUTES", "0"),
            ("NO_SHOW_WORKER_INTERVAL_MS", "500"),
            ("RESERVATION_LEAD_MINUTES", "1"),
        ]
    };
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let (a, b, c) = (
        node(&env("kill-a")),
        node(&env("kill-b")),
        node(&env("kill-c")),
    );
    let station = a.admin.station().await;
    let cp = format!("VEN-{suffix}");
    a.admin.charger(&station, &cp, 0, None).await;
    let (_, v) = a
        .admin
        .post("/v1/admin/vendors", json!({"name": "Acme"}))
        .await;
    let vendor = (
        v["data"]["id"].as_str().unwrap().to_owned(),
        v["data"]["secret"].as_str().unwrap().to_owned(),
    );
    let mut connectors = Vec::new();
    for n in 1..=7 {
        let id = a.admin.connector(&station, &cp, n).await;
        let body = json!({"vendorId": vendor.0, "vendorConnectorId": format!("V-{n}")});
        let (status, _) = a
            .admin
            .send(
                "PUT",
                &format!("/v1/admin/connectors/{id}/vendor"),
                Some(body),
            )
            .await;
        assert_eq!(status, 200);
        connectors.push(id);
    }
    let nodes = [&a, &b, &c];
    for (i, id) in connectors.iter().enumerate() {
        let status = json!({"connectorId": id, "status": "AVAILABLE"});
        assert_eq!(
            webhook(nodes[i % 3], &vendor, "connector-status", status).await,
            202
        );
    }
    common::eventually(
        "the inbox applied the statuses",
        Duration::from_secs(15),
        async || {
            let s = b.admin.get(&format!("/v1/stations/{station}")).await;
            let connectors = &s["data"]["connectors"];
            let all = connectors
                .as_array()
                .is_some_and(|cs| cs.iter().all(|c| c["status"] == "AVAILABLE"));
            if all { Ok(()) } else { Err(connectors.clone()) }
        },
    )
    .await;

    // Six bookings from the next whole minute (at least 10 s away), which
    // nobody will turn up for.
    let mut start =
        Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap() + TimeDelta::minutes(1);
    if start - Utc::now() < TimeDelta::seconds(10) {
        start += TimeDelta::minutes(1);
    }
    let mut bookings = Vec::new();
    for (i, id) in connectors.iter().take(6).enumerate() {
        let via = [&b, &c][i % 2];
        let body = json!({"stationId": station, "connectorId": id, "startTs": start.to_rfc3339(),
                          "endTs": (start + TimeDelta::hours(1)).to_rfc3339()});
        let (status, hold) = via.user.post("/v1/bookings/holds", body).await;
        assert_eq!(status, 201, "{hold}");
        let token = hold["data"]["token"].as_str().unwrap();
        let body = json!({"holdToken": token, "paymentId": format!("pay-{suffix}-{i}")});
        let (status, booking) = via.user.post("/v1/bookings/confirm", body).await;
        assert_eq!(status, 201, "{booking}");
        bookings.push(booking["data"]["id"].as_str().unwrap().to_owned());
    }

    // One more booking, on an OCPP charger held by B, a minute later: it
    // enters the (1-minute) lead window after it is made, so the
    // lead-window scheduler — running on all three instances — reserves it.
    let reserved_cp = format!("SIM-R-{suffix}");
    a.admin.charger(&station, &reserved_cp, 0, None).await;
    let reserved_connector = a.admin.connector(&station, &reserved_cp, 1).await;
    let mut config = simulators::charger::ChargerConfig::new(
        &reserved_cp,
        &format!("{}/ocpp", b.server.ocpp),
        simulators::dialect::Version::V16,
    );
    config.connectors = 1;
    let (tx, mut reserved_notices) = tokio::sync::mpsc::unbounded_channel();
    let metrics = std::sync::Arc::new(simulators::metrics::Metrics::default());
    let _reserved_charger = simulators::charger::spawn(config, metrics, Some(tx));
    let later = start + TimeDelta::minutes(1);
    let body = json!({"stationId": station, "connectorId": reserved_connector, "startTs": later.to_rfc3339(),
                      "endTs": (later + TimeDelta::hours(1)).to_rfc3339()});
    // Refused until the charger has reported its connector.
    let hold = common::eventually("a hold", Duration::from_secs(15), async || {
        match c.user.post("/v1/bookings/holds", body.clone()).await {
            (201, hold) => Ok(hold),
            (status, refused) => Err(format!("{status} {refused}")),
        }
    })
    .await;
    assert_eq!(
        hold["data"]["reservedOnCharger"], false,
        "not yet in the lead window"
    );
    let body = json!({"holdToken": hold["data"]["token"], "paymentId": format!("pay-{suffix}-r")});
    let (status, booking) = c.user.post("/v1/bookings/confirm", body).await;
    assert_eq!(status, 201, "{booking}");
    let reserved_booking = booking["data"]["id"].as_str().unwrap().to_owned();

    // A charger on A, which (like any charger behind the balancer) finds
    // another instance when A is gone.
    let moving = format!("SIM-K-{suffix}");
    a.admin.charger(&station, &moving, 0, None).await;
    let mut config = simulators::charger::ChargerConfig::new(
        &moving,
        &format!("{}/ocpp", a.server.ocpp),
        simulators::dialect::Version::V201,
    );
    config.fallback_urls = vec![format!("{}/ocpp/{moving}", b.server.ocpp)];
    config.backoff.initial = Duration::from_millis(200);
    let (tx, mut notices) = tokio::sync::mpsc::unbounded_channel();
    let metrics = std::sync::Arc::new(simulators::metrics::Metrics::default());
    let _charger = simulators::charger::spawn(config, metrics, Some(tx));
    let mut boots = 0;
    let mut wait_boot = async || {
        while let Some(n) = tokio::time::timeout(Duration::from_secs(20), notices.recv())
            .await
            .unwrap()
        {
            if n == simulators::charger::Notice::Booted("Accepted".into()) {
                boots += 1;
                return boots;
            }
        }
        boots
    };
    assert_eq!(wait_boot().await, 1, "on A");

    // A dies without a word, maybe holding the inbox lease; the others
    // keep accepting webhooks: 30 status reports for connector 7.
    drop(a);
    assert_eq!(wait_boot().await, 2, "the charger came back, on B");
    let answer = trigger_heartbeat_until(&c, &moving, |status| status == 200).await;
    assert_eq!(
        answer.0, 200,
        "a command through C reaches it on B: {}",
        answer.1
    );
    for i in 0..30 {
        let status = if i % 2 == 0 { "OCCUPIED" } else { "AVAILABLE" };
        // Each with its own time: the same body signed in the same second
        // would be one delivery (a replay), not a new report.
        let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body = json!({"connectorId": connectors[6], "status": status, "timestamp": at});
        assert_eq!(
            webhook([&b, &c][i % 2], &vendor, "connector-status", body).await,
            202
        );
    }
    let inbox = |state: &'static str| {
        let b = &b;
        async move {
            b.admin
                .get(&format!("/v1/admin/webhooks?state={state}"))
                .await["data"]["total"]
                .clone()
        }
    };
    let applied = async || match inbox("done").await {
        done if done == 37 => Ok(()),
        done => Err(done),
    };
    common::eventually(
        "every webhook applied, after the lease moved",
        Duration::from_secs(30),
        applied,
    )
    .await;
    assert_eq!(inbox("pending").await, 0);
    assert_eq!(inbox("dead").await, 0);
    let s = c.admin.get(&format!("/v1/stations/{station}")).await;
    assert_eq!(
        s["data"]["connectors"][6]["status"], "AVAILABLE",
        "the last report wins: {s}"
    );

    // The no-shows, recorded once each, and one refund per payment.
    let wait = (start - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(20);
    let paths: Vec<String> = bookings
        .iter()
        .map(|id| format!("/v1/bookings/{id}"))
        .collect();
    common::eventually("no-shows, refunded", wait, async || {
        let statuses = futures_util::future::join_all(paths.iter().map(|p| c.user.get(p))).await;
        let all = statuses.iter().all(|b| b["data"]["status"] == "NO_SHOW");
        let refunded = payments.received.lock().unwrap().len() >= bookings.len();
        if all && refunded {
            Ok(())
        } else {
            Err(format!("{statuses:?}"))
        }
    })
    .await;
    // The scheduler reserved the later booking once, three instances or not.
    let path = format!("/v1/bookings/{reserved_booking}");
    common::eventually(
        "reserved on the charger",
        Duration::from_secs(30),
        async || {
            let b = c.user.get(&path).await;
            if b["data"]["reservedOnCharger"] == true {
                Ok(())
            } else {
                Err(b)
            }
        },
    )
    .await;
    // Another scheduler pass everywhere: nothing to wait for, the point is
    // that no second ReserveNow comes (real time, in three processes).
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut reserve_nows = 0;
    while let Ok(n) = reserved_notices.try_recv() {
        if matches!(n, simulators::charger::Notice::Received { ref action, .. } if action == "ReserveNow")
        {
            reserve_nows += 1;
        }
    }
    assert_eq!(reserve_nows, 1, "one ReserveNow for one booking");

    let mut received = payments.received.lock().unwrap().clone();
    received.sort();
    let mut expected: Vec<String> = (0..6).map(|i| format!("pay-{suffix}-{i}")).collect();
    expected.sort();
    assert_eq!(received, expected, "each refund delivered once");
}
