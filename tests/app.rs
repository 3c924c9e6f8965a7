//! The gateway in process, wired exactly as the binary wires it
//! (`App::build`, `Listeners::bind`, `App::serve`): ports read from the
//! bound listeners, not from logs; shutdown closes the chargers and waits
//! for every task it started.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use clap::Parser;
use evgate::app::{App, Listeners};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SECRET: &str = "app-test-secret-app-test-secret!!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_then_shuts_down_closing_its_chargers_and_its_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("evgate.db").display());
    let cli = evgate::config::Cli::try_parse_from([
        "evgate",
        "--database-url",
        &database,
        "--http-addr",
        "127.0.0.1:0",
        "--ocpp-addr",
        "127.0.0.1:0",
        "--jwt-secret",
        SECRET,
    ])
    .unwrap();
    let app = App::build(&cli.config).await.unwrap();
    let listeners = Listeners::bind(&cli.config).await.unwrap();
    let http = format!("http://{}", listeners.http.local_addr().unwrap());
    let ocpp = format!("ws://{}/ocpp", listeners.ocpp.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.serve(listeners, async {
        let _ = stopped.await;
    }));

    // An operator provisions a charger through the API.
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
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| {
        client
            .post(format!("{http}{path}"))
            .bearer_auth(&admin)
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
        json!({"chargePointId": "CP-APP", "securityProfile": 0}),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), 201);

    // The charger connects and boots.
    let mut request = format!("{ocpp}/CP-APP").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
    let (mut charger, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let boot =
        json!([2, "b1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]);
    charger.send(Message::text(boot.to_string())).await.unwrap();
    let answer = loop {
        if let Message::Text(t) = charger.next().await.unwrap().unwrap() {
            break serde_json::from_str::<Value>(&t).unwrap();
        }
    };
    assert_eq!(answer[2]["status"], "Accepted", "{answer}");

    // Shutdown: the charger is told to close, and serve returns once every
    // connection and background task has ended.
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
