//! The gateway in process, wired exactly as the binary wires it
//! (`App::build`, `Listeners::bind`, `App::serve`): ports read from the
//! bound listeners, not from logs; shutdown closes the chargers and waits
//! for every task it started.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use clap::Parser;
use evgate::app::{App, Listeners};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SECRET: &str = "app-test-secret-app-test-secret!!";

/// A gateway serving in this process, built from command-line `args`.
struct Gateway {
    http: String,
    ocpp: String,
    /// `/metrics` alone, when `--metrics-addr` was given.
    metrics: Option<String>,
    admin: String,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), evgate::app::StartError>>,
    _dir: tempfile::TempDir,
}

async fn start(args: &[&str]) -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("evgate.db").display());
    let mut argv = vec![
        "evgate",
        "--database-url",
        &database,
        "--http-addr",
        "127.0.0.1:0",
        "--ocpp-addr",
        "127.0.0.1:0",
        "--jwt-secret",
        SECRET,
    ];
    argv.extend_from_slice(args);
    let cli = evgate::config::Cli::try_parse_from(argv).unwrap();
    let app = App::build(&cli.config).await.unwrap();
    let listeners = Listeners::bind(&cli.config).await.unwrap();
    let http = format!("http://{}", listeners.http.local_addr().unwrap());
    let ocpp = format!("ws://{}/ocpp", listeners.ocpp.local_addr().unwrap());
    let metrics = listeners
        .metrics
        .as_ref()
        .map(|l| format!("http://{}/metrics", l.local_addr().unwrap()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.serve(listeners, async {
        let _ = stopped.await;
    }));
    let keys = evgate_api::jwt::JwtKeys::hs256(SECRET.as_bytes());
    let now = chrono::Utc::now().timestamp();
    let admin = keys
        .issue(
            1,
            evgate::config::Role::Admin,
            Duration::from_secs(600),
            now,
        )
        .unwrap();
    Gateway {
        http,
        ocpp,
        metrics,
        admin,
        stop,
        serving,
        _dir: dir,
    }
}

impl Gateway {
    /// An operator provisions a station with a charger (profile 0) through the API.
    async fn provision(&self, charge_point_id: &str) {
        self.provision_with(charge_point_id, None).await;
    }

    /// A station with `charge_point_id` (security profile 1 with `password`
    /// when given, else 0) and its connector 1.
    async fn provision_with(&self, charge_point_id: &str, password: Option<&str>) {
        let client = reqwest::Client::new();
        let post = |path: String, body: Value| {
            client
                .post(format!("{}{path}", self.http))
                .bearer_auth(&self.admin)
                .json(&body)
                .send()
        };
        let station: Value = post(
            "/v1/admin/stations".into(),
            json!({"name": "In process", "latitude": 1.0, "longitude": 2.0}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let station = station["data"]["id"].as_str().unwrap().to_owned();
        let created = post(
            format!("/v1/admin/stations/{station}/chargers"),
            match password {
                Some(p) => {
                    json!({"chargePointId": charge_point_id, "securityProfile": 1, "password": p})
                }
                None => json!({"chargePointId": charge_point_id, "securityProfile": 0}),
            },
        )
        .await
        .unwrap();
        assert_eq!(created.status(), 201);
        let connector = post(
            format!("/v1/admin/stations/{station}/connectors"),
            json!({"chargePointId": charge_point_id, "connectorId": 1,
                   "connectorType": "CCS", "powerKw": 50}),
        )
        .await
        .unwrap();
        assert_eq!(connector.status(), 201);
    }

    /// A WebSocket client speaking `protocol` as `charge_point_id`.
    async fn connect(&self, charge_point_id: &str, protocol: &str) -> Charger {
        self.connect_with(charge_point_id, protocol, None).await
    }

    /// [`Gateway::connect`] with Basic auth when a password is given.
    async fn connect_with(
        &self,
        charge_point_id: &str,
        protocol: &str,
        password: Option<&str>,
    ) -> Charger {
        let mut request = format!("{}/{charge_point_id}", self.ocpp)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        if let Some(p) = password {
            use base64::Engine;
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{charge_point_id}:{p}"));
            request
                .headers_mut()
                .insert("Authorization", format!("Basic {basic}").parse().unwrap());
        }
        tokio_tungstenite::connect_async(request).await.unwrap().0
    }
}

type Charger =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Sends a CALL and reads the next text frame (its answer).
async fn call(charger: &mut Charger, frame: Value) -> Value {
    charger
        .send(Message::text(frame.to_string()))
        .await
        .unwrap();
    loop {
        if let Message::Text(t) = charger.next().await.unwrap().unwrap() {
            return serde_json::from_str::<Value>(&t).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_then_shuts_down_closing_its_chargers_and_its_tasks() {
    let gateway = start(&[]).await;
    let client = reqwest::Client::new();
    gateway.provision("CP-APP").await;

    // The charger connects and boots.
    let mut charger = gateway.connect("CP-APP", "ocpp1.6").await;
    let boot =
        json!([2, "b1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]);
    let answer = call(&mut charger, boot).await;
    assert_eq!(answer[2]["status"], "Accepted", "{answer}");

    // Shutdown: the charger is told to close, and serve returns once every
    // connection and background task has ended.
    let Gateway {
        http,
        stop,
        serving,
        _dir,
        ..
    } = gateway;
    stop.send(()).unwrap();
    // A Close frame, not a dropped socket: the charger knows to reconnect.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match charger.next().await {
                Some(Ok(Message::Close(_))) => return true,
                None | Some(Err(_)) => return false,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true), "the charger was not closed cleanly");
    let served = tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("serve returned")
        .unwrap();
    assert!(served.is_ok(), "{served:?}");
    assert!(
        client.get(format!("{http}/health")).send().await.is_err(),
        "the HTTP port still answers after shutdown"
    );
}

/// The value of the series `name{labels}` (labels as rendered, sorted), or
/// 0 when the scrape does not have it yet.
fn sample(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_a_charger_session_and_the_api() {
    let gateway = start(&[]).await;
    let client = reqwest::Client::new();
    let scrape = || async {
        let response = client
            .get(format!("{}/metrics", gateway.http))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        response.text().await.unwrap()
    };
    // The recorder is the process's and the other tests here run at the same
    // time: counters they also move are checked for at least this test's
    // share; series only this test touches, exactly.
    let before = scrape().await;
    gateway.provision("CP-METRICS").await;
    let mut charger = gateway.connect("CP-METRICS", "ocpp2.0.1").await;
    let boot = json!([2, "b1", "BootNotification", {
        "reason": "PowerUp",
        "chargingStation": {"model": "M", "vendorName": "V"}
    }]);
    assert_eq!(call(&mut charger, boot).await[2]["status"], "Accepted");
    let heartbeat = json!([2, "h1", "Heartbeat", {}]);
    assert_eq!(call(&mut charger, heartbeat.clone()).await[0], 3);
    let status = json!([2, "s1", "StatusNotification", {
        "timestamp": "2026-12-02T10:00:00Z", "connectorStatus": "Available", "evseId": 1, "connectorId": 1
    }]);
    assert_eq!(call(&mut charger, status).await[0], 3);
    let unknown = json!([2, "u1", "NoSuchAction", {}]);
    assert_eq!(call(&mut charger, unknown).await[0], 4);
    let after = scrape().await;

    let moved = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(
        sample(
            &after,
            r#"evgate_ocpp_chargers_connected{version="ocpp2.0.1",profile="0"}"#
        ),
        1.0,
        "{after}"
    );
    assert!(
        moved(
            r#"evgate_ocpp_calls_total{direction="in",action="BootNotification",outcome="answered"}"#
        ) >= 1.0,
        "{after}"
    );
    assert!(
        moved(r#"evgate_ocpp_calls_total{direction="in",action="Heartbeat",outcome="answered"}"#)
            >= 1.0
    );
    assert_eq!(
        moved(r#"evgate_ocpp_calls_total{direction="in",action="other",outcome="NotImplemented"}"#),
        1.0,
        "an unknown action is counted under `other`, not under its own name"
    );
    assert!(
        !after.contains("NoSuchAction"),
        "charger-chosen text became a label"
    );
    assert!(
        sample(&after, r#"evgate_connectors{status="AVAILABLE"}"#) >= 1.0,
        "{after}"
    );
    assert!(
        moved(
            r#"evgate_http_requests_total{method="POST",route="/v1/admin/stations/{id}/connectors",status="201"}"#
        ) >= 1.0,
        "requests are labelled by route template, not path: {after}"
    );
    assert!(after.contains(
        "evgate_ocpp_handler_duration_seconds_bucket{action=\"Heartbeat\",le=\"0.001\"}"
    ));
    assert!(after.contains("# HELP evgate_ocpp_chargers_connected"));

    // The charger leaves: the gauge follows.
    charger.close(None).await.unwrap();
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let now = scrape().await;
            let connected = sample(
                &now,
                r#"evgate_ocpp_chargers_connected{version="ocpp2.0.1",profile="0"}"#,
            );
            if connected == 0.0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(gone.is_ok(), "the connected gauge kept the charger");
    gateway.stop.send(()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_metrics_address_the_api_port_does_not_serve_metrics() {
    let gateway = start(&["--metrics-addr", "127.0.0.1:0"]).await;
    let client = reqwest::Client::new();
    let internal = gateway.metrics.clone().unwrap();
    let scraped = client.get(&internal).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.unwrap().contains("evgate_connectors"));
    let public = client
        .get(format!("{}/metrics", gateway.http))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);
    gateway.stop.send(()).unwrap();
}

/// Debian's Prometheus scrapes a gateway with a charger connected: the
/// target is up with no scrape error, `promtool` finds nothing wrong with
/// the exposition, and a query returns the connected-charger gauge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Debian prometheus package (installed by .ci/run)"]
async fn a_prometheus_server_scrapes_the_gateway_and_queries_the_charger_gauge() {
    let gateway = start(&["--metrics-addr", "127.0.0.1:0"]).await;
    let target = gateway.metrics.clone().unwrap();
    gateway.provision("CP-PROM").await;
    let mut charger = gateway.connect("CP-PROM", "ocpp1.6").await;
    let boot =
        json!([2, "b1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]);
    assert_eq!(call(&mut charger, boot).await[2]["status"], "Accepted");

    let client = reqwest::Client::new();
    let exposition = client
        .get(&target)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus)");
    std::io::Write::write_all(&mut promtool.stdin.take().unwrap(), &exposition).unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let host = target
        .trim_start_matches("http://")
        .trim_end_matches("/metrics");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: evgate\n    \
             static_configs:\n      - targets: ['{host}']\n"
        ),
    )
    .unwrap();
    let web = format!("127.0.0.1:{}", common::redis::free_port());
    let mut prometheus = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus (Debian package)");
    let api = format!("http://{web}/api/v1");
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let Ok(response) = client
                .get(format!("{api}/query"))
                .query(&[(
                    "query",
                    "evgate_ocpp_chargers_connected{version=\"ocpp1.6\"}",
                )])
                .send()
                .await
            else {
                continue;
            };
            let Ok(answer) = response.json::<Value>().await else {
                continue;
            };
            if let Some(sample) = answer["data"]["result"].as_array().and_then(|r| r.first()) {
                return sample.clone();
            }
        }
    })
    .await;
    let targets: Value = client
        .get(format!("{api}/targets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    let sample = found.expect("Prometheus never returned the charger gauge");
    assert_eq!(sample["value"][1], "1", "{sample}");
    assert_eq!(sample["metric"]["profile"], "0", "{sample}");
    let target = &targets["data"]["activeTargets"][0];
    assert_eq!(target["health"], "up", "{targets}");
    assert_eq!(target["lastError"], "", "{targets}");
    gateway.stop.send(()).unwrap();
}

/// Reads the next text frame the charger receives.
async fn next_frame(charger: &mut Charger) -> Value {
    loop {
        if let Message::Text(t) = charger.next().await.unwrap().unwrap() {
            return serde_json::from_str::<Value>(&t).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_shows_what_the_charger_said_and_was_told_without_passwords() {
    let gateway = start(&[]).await;
    let old = "journal-old-password-0123";
    gateway.provision_with("CP-JOURNAL", Some(old)).await;
    let mut charger = gateway
        .connect_with("CP-JOURNAL", "ocpp2.0.1", Some(old))
        .await;
    let boot = json!([2, "b1", "BootNotification", {
        "reason": "PowerUp",
        "chargingStation": {"model": "M", "vendorName": "V"}
    }]);
    assert_eq!(call(&mut charger, boot).await[2]["status"], "Accepted");
    let status = json!([2, "s1", "StatusNotification", {
        "timestamp": "2026-12-02T10:00:00Z", "connectorStatus": "Available", "evseId": 1, "connectorId": 1
    }]);
    call(&mut charger, status).await;

    // An operator rotates the charger's password (SetVariables
    // SecurityCtrlr.BasicAuthPassword); the charger answers it.
    let client = reqwest::Client::new();
    let secret = "journal-secret-0123456789";
    let command = client
        .put(format!(
            "{}/v1/admin/chargers/CP-JOURNAL/credentials",
            gateway.http
        ))
        .bearer_auth(&gateway.admin)
        .json(&json!({"password": secret}))
        .send();
    let answering = async {
        let asked = next_frame(&mut charger).await;
        assert_eq!(asked[2], "SetVariables");
        let answer = json!([3, asked[1], {"setVariableResult": [{
            "attributeStatus": "Accepted",
            "component": {"name": "SecurityCtrlr"},
            "variable": {"name": "BasicAuthPassword"}
        }]}]);
        charger
            .send(Message::text(answer.to_string()))
            .await
            .unwrap();
    };
    let (commanded, ()) = tokio::join!(command, answering);
    assert_eq!(commanded.unwrap().status(), 200);

    let get = |path: String| {
        client
            .get(format!("{}{path}", gateway.http))
            .bearer_auth(&gateway.admin)
            .send()
    };
    let read = get("/v1/admin/chargers/CP-JOURNAL/messages".into())
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let text = read.text().await.unwrap();
    assert!(
        !text.contains(secret),
        "a password reached the journal: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    let frames = body["data"]["messages"].as_array().unwrap();
    let shape: Vec<(String, String, String)> = frames
        .iter()
        .map(|f| {
            (
                f["direction"].as_str().unwrap().to_owned(),
                f["messageType"].as_str().unwrap().to_owned(),
                f["action"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("in", "CALLRESULT", "SetVariables"),
        ("out", "CALL", "SetVariables"),
        ("out", "CALLRESULT", "StatusNotification"),
        ("in", "CALL", "StatusNotification"),
        ("out", "CALLRESULT", "BootNotification"),
        ("in", "CALL", "BootNotification"),
    ]
    .map(|(d, t, a)| (d.to_owned(), t.to_owned(), a.to_owned()));
    assert_eq!(shape, expected, "{body}");
    assert!(
        frames[0]["latencyMs"].as_f64().unwrap() >= 0.0,
        "{}",
        frames[0]
    );
    assert_eq!(
        frames[1]["payload"]["setVariableData"][0]["attributeValue"],
        "***"
    );
    assert_eq!(frames[5]["payload"]["reason"], "PowerUp");

    // Filtered, limited, downloaded.
    let booted: Value =
        get("/v1/admin/chargers/CP-JOURNAL/messages?action=BootNotification&limit=1".into())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let booted = booted["data"]["messages"].as_array().unwrap();
    assert_eq!(booted.len(), 1);
    assert_eq!(booted[0]["messageType"], "CALLRESULT");
    let download = get("/v1/admin/chargers/CP-JOURNAL/messages.jsonl".into())
        .await
        .unwrap();
    assert_eq!(download.headers()["content-type"], "application/x-ndjson");
    let lines = download.text().await.unwrap();
    assert!(!lines.contains(secret));
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["action"], "BootNotification",
        "oldest first in the file"
    );
    assert_eq!(lines.lines().count(), 6);

    // The caller's mistakes and unknown chargers get the envelope.
    let bad = get("/v1/admin/chargers/CP-JOURNAL/messages?limit=0".into())
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let unknown = get("/v1/admin/chargers/CP-NOBODY/messages".into())
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    gateway.stop.send(()).unwrap();
}
