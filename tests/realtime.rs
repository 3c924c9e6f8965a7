//! Socket.IO for apps, with the npm `socket.io-client` 4.8.4 against the
//! real binary, over websocket and over polling upgrading to websocket:
//! station updates from a real OCPP charger and from a vendor webhook reach
//! the station's subscribers and nobody else; unsubscribe stops them;
//! unauthenticated clients are refused; a user's booking_update reaches that
//! user alone; and across two instances sharing PostgreSQL and Redis.
//! Needs Node (`npm install` in tests/peers) and Python's `ocpp`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DurationRound, TimeDelta, Utc};
use common::charger::Charger;
use common::process::{Api, Running, token};
use serde_json::{Value, json};

/// One app: `tests/peers/sio_client.js` as a child process.
struct App {
    child: Child,
    lines: mpsc::Receiver<Value>,
    stashed: Vec<Value>,
}

impl App {
    /// Connects; `Err(message)` when the server refused the connection.
    fn connect(base: &str, token: &str, transport: &str) -> Result<App, String> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/sio_client.js");
        let mut child = Command::new("node")
            .args([script, base, token, transport])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(serde_json::from_str(&line).unwrap());
            }
        });
        let mut app = App {
            child,
            lines,
            stashed: vec![],
        };
        let first = app.next(|v| v.get("connected").is_some() || v.get("connect_error").is_some());
        match first.get("connect_error") {
            Some(e) => Err(e.as_str().unwrap().to_owned()),
            None => {
                assert!(first["connected"]["socketId"].is_string(), "{first}");
                assert!(first["connected"]["timestamp"].is_string(), "{first}");
                Ok(app)
            }
        }
    }

    fn next(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        self.try_next(&want, Duration::from_secs(10))
            .expect("an expected line from the Socket.IO client")
    }

    fn try_next(&mut self, want: &impl Fn(&Value) -> bool, wait: Duration) -> Option<Value> {
        if let Some(i) = self.stashed.iter().position(want) {
            return Some(self.stashed.remove(i));
        }
        let deadline = std::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let v = self.lines.recv_timeout(left).ok()?;
            if want(&v) {
                return Some(v);
            }
            self.stashed.push(v);
        }
    }

    fn command(&mut self, line: &str) -> Value {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        self.next(|v| v.get("ack").is_some() || v.get("ack_error").is_some())["ack"].clone()
    }

    fn subscribe(&mut self, station: &str) {
        let ack = self.command(&format!("sub {station}"));
        assert_eq!(ack["success"], true, "{ack}");
    }

    /// The next `station_update` of `type`, if one comes within a second.
    fn update(&mut self, kind: &str) -> Option<Value> {
        let want = |v: &Value| v["event"] == "station_update" && v["data"]["type"] == kind;
        self.try_next(&want, Duration::from_secs(3))
            .map(|v| v["data"].clone())
    }

    fn event(&mut self, name: &str, wait: Duration) -> Option<Value> {
        self.try_next(&|v: &Value| v["event"] == name, wait)
            .map(|v| v["data"].clone())
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Site {
    server: Running,
    admin: Api,
    env: Vec<(&'static str, String)>,
    dir: tempfile::TempDir,
}

impl Site {
    fn start(extra: &[(&'static str, String)]) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![("JWT_SECRET", common::TEST_SECRET.to_owned())];
        env.extend_from_slice(extra);
        let server = Running::start(dir.path(), &pairs(&env));
        let admin = Api::new(
            &server,
            token(
                dir.path(),
                &pairs(&env),
                &["--user", "1", "--role", "admin"],
            ),
        );
        Site {
            server,
            admin,
            env,
            dir,
        }
    }

    fn token(&self, user: i64) -> String {
        token(
            self.dir.path(),
            &pairs(&self.env),
            &["--user", &user.to_string(), "--role", "user"],
        )
    }

    fn app(&self, user: i64, transport: &str) -> App {
        App::connect(&self.server.base, &self.token(user), transport).unwrap()
    }

    /// A vendor and one connector of `station` it reports for.
    async fn vendor_connector(&self, station: &str) -> (String, String, String) {
        self.admin.charger(station, "VENDOR-CP", 0, None).await;
        let connector = self.admin.connector(station, "VENDOR-CP", 1).await;
        let (_, v) = self
            .admin
            .post("/v1/admin/vendors", json!({"name": "acme"}))
            .await;
        let (id, secret) = (
            v["data"]["id"].as_str().unwrap().to_owned(),
            v["data"]["secret"].as_str().unwrap().to_owned(),
        );
        let (code, _) = self
            .admin
            .send(
                "PUT",
                &format!("/v1/admin/connectors/{connector}/vendor"),
                Some(json!({"vendorId": id, "vendorConnectorId": "V-1"})),
            )
            .await;
        assert_eq!(code, 200);
        (id, secret, connector)
    }
}

fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn webhook(base: &str, vendor: &str, secret: &str, body: Value) {
    let ts = Utc::now().timestamp();
    let body = body.to_string();
    let sig = webhooks::signature::sign(secret.as_bytes(), ts, body.as_bytes());
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/vendor/webhooks/connector-status"))
        .header("content-type", "application/json")
        .header("x-evgate-vendor", vendor)
        .header("x-evgate-timestamp", ts.to_string())
        .header("x-evgate-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

async fn updates_reach_subscribers_only(transport: &str) {
    let site = Site::start(&[("OCPP_OFFLINE_GRACE_SECONDS", "1".to_owned())]);
    let (a, b) = (site.admin.station().await, site.admin.station().await);
    site.admin.charger(&a, "CP-1", 0, None).await;
    let ocpp_connector = site.admin.connector(&a, "CP-1", 1).await;
    let (vendor, secret, vendor_connector) = site.vendor_connector(&a).await;
    let mut here = site.app(7, transport);
    let mut elsewhere = site.app(8, transport);
    if transport == "polling" {
        assert_eq!(
            here.next(|v| v.get("upgraded").is_some())["upgraded"],
            "websocket"
        );
    }
    here.subscribe(&a);
    elsewhere.subscribe(&b);
    // A real charger boots and reports its connectors Available.
    let url = format!("{}/ocpp/CP-1", site.server.ocpp);
    let charger = tokio::task::spawn_blocking(move || Charger::start(&url, "1.6", "Accepted"))
        .await
        .unwrap();
    let update = tokio::task::block_in_place(|| here.update("connector_status_update")).unwrap();
    assert_eq!(update["stationId"], a);
    assert_eq!(update["data"]["connectorId"], ocpp_connector);
    assert_eq!(update["data"]["status"], "AVAILABLE");
    assert!(update["data"]["updatedAt"].is_string());
    webhook(
        &site.server.base,
        &vendor,
        &secret,
        json!({"vendorConnectorId": "V-1", "status": "OCCUPIED"}),
    )
    .await;
    let update = tokio::task::block_in_place(|| {
        here.try_next(
            &|v: &Value| v["data"]["data"]["connectorId"] == vendor_connector.as_str(),
            Duration::from_secs(5),
        )
    })
    .unwrap();
    assert_eq!(update["data"]["data"]["status"], "OCCUPIED");
    assert!(
        tokio::task::block_in_place(
            || elsewhere.event("station_update", Duration::from_millis(500))
        )
        .is_none()
    );
    // The charger goes away: past the grace its connector is OFFLINE, with
    // the status it had kept for display.
    drop(charger);
    let offline = tokio::task::block_in_place(|| {
        here.try_next(
            &|v: &Value| {
                v["data"]["data"]["connectorId"] == ocpp_connector.as_str()
                    && v["data"]["data"]["status"] == "OFFLINE"
            },
            Duration::from_secs(10),
        )
    })
    .expect("an OFFLINE update");
    assert_eq!(offline["data"]["data"]["lastKnownStatus"], "AVAILABLE");
    assert!(offline["data"]["data"]["updatedAt"].is_string());
    // Unsubscribed: nothing more.
    let ack = tokio::task::block_in_place(|| here.command(&format!("unsub {a}")));
    assert_eq!(ack["success"], true);
    webhook(
        &site.server.base,
        &vendor,
        &secret,
        json!({"vendorConnectorId": "V-1", "status": "AVAILABLE"}),
    )
    .await;
    assert!(
        tokio::task::block_in_place(|| here.event("station_update", Duration::from_secs(1)))
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node and Python peers; run by .ci/run"]
async fn updates_reach_subscribers_only_over_websocket() {
    updates_reach_subscribers_only("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node and Python peers; run by .ci/run"]
async fn updates_reach_subscribers_only_over_polling_upgraded() {
    updates_reach_subscribers_only("polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node; run by .ci/run"]
async fn unauthenticated_clients_are_refused_and_bad_subscriptions_answered() {
    let site = Site::start(&[]);
    let base = site.server.base.clone();
    for (token, transport) in [
        ("-", "websocket"),
        ("not-a-jwt", "websocket"),
        ("-", "polling"),
    ] {
        let refused = tokio::task::block_in_place(|| App::connect(&base, token, transport).err());
        let message = refused.expect("refused");
        assert!(message.starts_with("UNAUTHORIZED"), "{message}");
    }
    // The token as a header works too (polling, as a browser would send it).
    let header = format!("header:{}", site.token(5));
    let mut app = tokio::task::block_in_place(|| App::connect(&base, &header, "polling")).unwrap();
    let unknown =
        tokio::task::block_in_place(|| app.command(&format!("sub {}", uuid::Uuid::new_v4())));
    assert_eq!(unknown["error"]["code"], "NOT_FOUND", "{unknown}");
    let malformed =
        tokio::task::block_in_place(|| app.command(r#"raw subscribe_station "just a string""#));
    assert_eq!(
        malformed["error"]["code"], "VALIDATION_ERROR",
        "{malformed}"
    );
    let malformed =
        tokio::task::block_in_place(|| app.command(r#"raw subscribe_station {"stationId": 12.5}"#));
    assert_eq!(malformed["success"], false, "{malformed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node and Python peers; run by .ci/run"]
async fn a_users_booking_updates_reach_that_user_alone() {
    let site = Site::start(&[]);
    let station = site.admin.station().await;
    let (vendor, secret, connector) = site.vendor_connector(&station).await;
    webhook(
        &site.server.base,
        &vendor,
        &secret,
        json!({"vendorConnectorId": "V-1", "status": "AVAILABLE"}),
    )
    .await;
    let path = format!("/v1/stations/{station}");
    common::eventually(
        "the connector AVAILABLE",
        Duration::from_secs(10),
        async || {
            let c = site.admin.get(&path).await["data"]["connectors"][0].clone();
            if c["status"] == "AVAILABLE" {
                Ok(())
            } else {
                Err(c)
            }
        },
    )
    .await;
    let mut alice = tokio::task::block_in_place(|| site.app(100, "websocket"));
    let mut bob = tokio::task::block_in_place(|| site.app(200, "websocket"));
    tokio::task::block_in_place(|| bob.subscribe(&station));
    let user = Api::new(&site.server, site.token(100));
    let start = Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap() + TimeDelta::hours(3);
    let (code, hold) = user
        .post(
            "/v1/bookings/holds",
            json!({"stationId": station, "connectorId": connector,
            "startTs": start.to_rfc3339(), "endTs": (start + TimeDelta::hours(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(code, 201, "{hold}");
    let (code, _) = user
        .post(
            "/v1/bookings/confirm",
            json!({"holdToken": hold["data"]["token"], "paymentId": "pay_a"}),
        )
        .await;
    assert_eq!(code, 201);
    let mine =
        tokio::task::block_in_place(|| alice.event("booking_update", Duration::from_secs(5)))
            .unwrap();
    assert_eq!(
        (mine["status"].as_str(), mine["paymentId"].as_str()),
        (Some("CONFIRMED"), Some("pay_a"))
    );
    // Bob sees the slot taken, not who took it, and never Alice's booking.
    let seen = tokio::task::block_in_place(|| bob.update("booking_confirmed")).unwrap();
    assert!(
        !seen.to_string().contains("pay_a") && !seen.to_string().contains("\"100\""),
        "{seen}"
    );
    assert!(
        tokio::task::block_in_place(|| bob.event("booking_update", Duration::from_millis(500)))
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node, PostgreSQL and Redis; run by .ci/run"]
async fn an_update_caused_on_one_instance_reaches_a_client_on_another() {
    let db = common::fresh_pg_database().await;
    let shared = [("DATABASE_URL", db), ("REDIS_URL", common::redis_url())];
    let one = Site::start(&shared);
    let two = Site::start(&shared);
    let station = one.admin.station().await;
    let (vendor, secret, connector) = one.vendor_connector(&station).await;
    let mut app = tokio::task::block_in_place(|| two.app(9, "websocket"));
    tokio::task::block_in_place(|| app.subscribe(&station));
    webhook(
        &one.server.base,
        &vendor,
        &secret,
        json!({"connectorId": connector, "status": "OCCUPIED"}),
    )
    .await;
    let update = tokio::task::block_in_place(|| app.update("connector_status_update")).unwrap();
    assert_eq!(update["data"]["connectorId"], connector);
    assert_eq!(update["data"]["status"], "OCCUPIED");
    // Exactly once, though both instances hear Redis.
    assert!(
        tokio::task::block_in_place(|| app.event("station_update", Duration::from_millis(500)))
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node; run by .ci/run"]
async fn limits_subscriptions_per_socket_and_message_size() {
    let site = Site::start(&[]);
    let mut stations = Vec::new();
    for _ in 0..=evgate_api::realtime::MAX_SUBSCRIPTIONS {
        stations.push(site.admin.station().await);
    }
    let mut app = tokio::task::block_in_place(|| site.app(3, "websocket"));
    for s in &stations[..evgate_api::realtime::MAX_SUBSCRIPTIONS] {
        tokio::task::block_in_place(|| app.subscribe(s));
    }
    let last = stations.last().unwrap();
    let refused = tokio::task::block_in_place(|| app.command(&format!("sub {last}")));
    assert_eq!(refused["error"]["code"], "LIMIT_EXCEEDED", "{refused}");
    // Subscribing again to one it holds is fine; freeing one makes room.
    let again = tokio::task::block_in_place(|| app.command(&format!("sub {}", stations[0])));
    assert_eq!(again["success"], true);
    tokio::task::block_in_place(|| app.command(&format!("unsub {}", stations[0])));
    tokio::task::block_in_place(|| app.subscribe(last));
    // A message over the limit closes that client's connection, and only its.
    let mut other = tokio::task::block_in_place(|| site.app(4, "websocket"));
    let big = evgate_api::realtime::MAX_PAYLOAD_BYTES as usize + 1024;
    let stdin = app.child.stdin.as_mut().unwrap();
    writeln!(stdin, "big {big}").unwrap();
    stdin.flush().unwrap();
    let gone = tokio::task::block_in_place(|| {
        app.try_next(
            &|v: &Value| v.get("disconnected").is_some(),
            Duration::from_secs(5),
        )
    });
    assert!(
        gone.is_some(),
        "the oversized message closed the connection"
    );
    tokio::task::block_in_place(|| other.subscribe(last));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node, PostgreSQL and redis-server; run by .ci/run"]
async fn updates_across_instances_resume_after_redis_restarts() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = common::redis::PrivateRedis::start(port);
    let db = common::fresh_pg_database().await;
    let shared = [("DATABASE_URL", db), ("REDIS_URL", redis.url())];
    let one = Site::start(&shared);
    let two = Site::start(&shared);
    let station = one.admin.station().await;
    let (vendor, secret, connector) = one.vendor_connector(&station).await;
    let mut app = tokio::task::block_in_place(|| two.app(9, "websocket"));
    tokio::task::block_in_place(|| app.subscribe(&station));
    let report = |status: &str| json!({"connectorId": connector, "status": status});
    webhook(&one.server.base, &vendor, &secret, report("OCCUPIED")).await;
    let first = tokio::task::block_in_place(|| app.update("connector_status_update")).unwrap();
    assert_eq!(first["data"]["status"], "OCCUPIED");
    // Redis goes away and comes back on the same port. Down for a second of
    // real time, in the two evgate processes: their first resubscribe
    // (after 0.5 s) fails.
    drop(redis);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let redis = common::redis::PrivateRedis::start(port);
    // Both instances back on the realtime channel, after their backoff.
    common::eventually(
        "two subscribers again",
        Duration::from_secs(30),
        async || match redis.subscribers("evgate:realtime").await {
            Ok(2) => Ok(()),
            seen => Err(format!("{seen:?}")),
        },
    )
    .await;
    webhook(&one.server.base, &vendor, &secret, report("AVAILABLE")).await;
    let update = tokio::task::block_in_place(|| {
        app.try_next(
            &|v: &Value| v["data"]["data"]["status"] == "AVAILABLE",
            Duration::from_secs(10),
        )
    })
    .expect("updates flow again once Redis is back");
    assert_eq!(update["data"]["data"]["connectorId"], connector);
}
