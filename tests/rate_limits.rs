//! Rate limits against the real binary (issue #15, finding 4): per source
//! address on the HTTP API, per vendor on webhooks, per source address on
//! charger handshakes, and per charger on OCPP messages. Each limit is set
//! low through its RATE_LIMIT_* variable so a handful of requests reach it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::process::{Api, Running, token};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

async fn get(server: &Running, path: &str) -> reqwest::Response {
    reqwest::get(server.url(path)).await.unwrap()
}

/// A 429 with Retry-After and the envelope's RATE_LIMITED.
async fn assert_rate_limited(response: reqwest::Response) {
    assert_eq!(response.status(), 429);
    let wait = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(wait, "1", "a per-second limit is back within a second");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "RATE_LIMITED", "{body}");
}

#[tokio::test]
async fn an_address_past_its_http_rate_gets_429_and_webhooks_count_apart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &[("RATE_LIMIT_HTTP_PER_SOURCE", "5")]);
    for _ in 0..5 {
        assert_eq!(get(&server, "/health").await.status(), 200);
    }
    assert_rate_limited(get(&server, "/v1/stations").await).await;
    // Vendor webhooks have a limit of their own: an unsigned one is still
    // judged (401), not refused for the app traffic's sake.
    let webhook = reqwest::Client::new()
        .post(server.url("/v1/vendor/webhooks/connector-status"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 401);
    // Waiting out the Retry-After is enough.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(get(&server, "/health").await.status(), 200);
}

#[tokio::test]
async fn a_vendor_past_its_webhook_rate_gets_429_and_bad_signatures_are_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("RATE_LIMIT_WEBHOOKS_PER_VENDOR", "3"),
        ("RATE_LIMIT_WEBHOOKS_PER_SOURCE", "8"),
    ];
    let server = Running::start(dir.path(), &env);
    let admin = Api::new(
        &server,
        token(dir.path(), &[], &["--user", "1", "--role", "admin"]),
    );
    let station = admin.station().await;
    admin.charger(&station, "CP-1", 0, None).await;
    let connector = admin.connector(&station, "CP-1", 1).await;
    let (status, vendor) = admin
        .post("/v1/admin/vendors", json!({"name": "Acme"}))
        .await;
    assert_eq!(status, 201, "{vendor}");
    let (id, secret) = (
        vendor["data"]["id"].as_str().unwrap().to_owned(),
        vendor["data"]["secret"].as_str().unwrap().to_owned(),
    );
    let (status, assigned) = admin
        .send(
            "PUT",
            &format!("/v1/admin/connectors/{connector}/vendor"),
            Some(json!({"vendorId": id, "vendorConnectorId": "acme-1"})),
        )
        .await;
    assert_eq!(status, 200, "{assigned}");

    let http = reqwest::Client::new();
    let post = |n: u32, secret: &str| {
        let body = json!({"connectorId": connector, "status": "AVAILABLE", "metadata": {"n": n}})
            .to_string();
        let ts = chrono::Utc::now().timestamp();
        let sig = webhooks::signature::sign(secret.as_bytes(), ts, body.as_bytes());
        http.post(server.url("/v1/vendor/webhooks/connector-status"))
            .header("content-type", "application/json")
            .header("x-evgate-vendor", &id)
            .header("x-evgate-timestamp", ts.to_string())
            .header("x-evgate-signature", sig)
            .body(body)
            .send()
    };
    for n in 0..3 {
        assert_eq!(post(n, &secret).await.unwrap().status(), 202);
    }
    assert_rate_limited(post(3, &secret).await.unwrap()).await;
    // Forged signatures do not spend the vendor's allowance (they are
    // refused before it is counted) but do spend the address's: 4 requests
    // so far, 4 more refused as forged, then 429.
    for n in 10..14 {
        assert_eq!(post(n, "not-the-secret").await.unwrap().status(), 401);
    }
    assert_rate_limited(post(14, "not-the-secret").await.unwrap()).await;
}

/// A charger handshake written by hand; the status line of the answer.
async fn handshake_status(server: &Running, identity: &str) -> String {
    let url = format!("{}/ocpp/{identity}", server.ocpp);
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16().to_string(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let wait = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            format!(
                "{}{}",
                response.status().as_u16(),
                wait.map(|w| format!(" retry-after {w}"))
                    .unwrap_or_default()
            )
        }
        Err(e) => panic!("handshake failed: {e}"),
    }
}

#[tokio::test]
async fn an_address_opening_charger_connections_too_fast_gets_429() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(
        dir.path(),
        &[("RATE_LIMIT_OCPP_HANDSHAKES_PER_SOURCE", "3")],
    );
    for _ in 0..3 {
        assert_eq!(handshake_status(&server, "CP-NOBODY").await, "404");
    }
    assert_eq!(
        handshake_status(&server, "CP-NOBODY").await,
        "429 retry-after 1"
    );
    // The HTTP API is not affected, and the address gets back in.
    assert_eq!(get(&server, "/health").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(handshake_status(&server, "CP-NOBODY").await, "404");
}

#[tokio::test]
async fn a_charger_flooding_messages_gets_generic_errors_then_close_1008() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &[("RATE_LIMIT_OCPP_MESSAGES_PER_CHARGER", "5")]);
    let admin = Api::new(
        &server,
        token(dir.path(), &[], &["--user", "1", "--role", "admin"]),
    );
    let station = admin.station().await;
    admin.charger(&station, "CP-1", 0, None).await;

    let mut request = format!("{}/ocpp/CP-1", server.ocpp)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    // Thirty heartbeats without waiting for an answer.
    for n in 0..30 {
        let frame = format!(r#"[2,"hb-{n}","Heartbeat",{{}}]"#);
        if ws.send(Message::text(frame)).await.is_err() {
            break;
        }
    }
    let (mut answered, mut refused) = (0, 0);
    let close = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(message)) = ws.next().await {
            match message {
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    match frame[0].as_u64() {
                        Some(3) => answered += 1,
                        Some(4) => {
                            assert_eq!(frame[2], "GenericError", "{frame}");
                            refused += 1;
                        }
                        _ => panic!("unexpected {frame}"),
                    }
                }
                Message::Close(frame) => return frame,
                _ => {}
            }
        }
        None
    })
    .await
    .expect("closed within 10 s")
    .expect("a Close frame");
    assert_eq!(close.code, CloseCode::Policy);
    assert_eq!(close.reason.as_str(), "message rate exceeded");
    assert_eq!(answered, 5, "the burst is served");
    assert_eq!(refused, 5, "a second's worth refused before the close");
}

/// Behind a trusted proxy (TRUSTED_PROXIES) every client shares the
/// proxy's address: the per-address limits count the client its
/// X-Forwarded-For names instead — for the HTTP API and for charger
/// handshakes — and nobody else's header is believed.
#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_limited_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_HTTP_PER_SOURCE", "2"),
        ("RATE_LIMIT_OCPP_HANDSHAKES_PER_SOURCE", "1"),
    ];
    let server = Running::start(dir.path(), &env);
    let http = reqwest::Client::new();
    let from = |client: &'static str| {
        http.get(server.url("/health"))
            .header("x-forwarded-for", format!("203.0.113.50, {client}"))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(from("198.51.100.1").await.unwrap().status(), 200);
    }
    assert_rate_limited(from("198.51.100.1").await.unwrap()).await;
    assert_eq!(
        from("198.51.100.2").await.unwrap().status(),
        200,
        "another client"
    );

    let knock = async |client: &str| {
        let url = format!("{}/ocpp/CP-NOBODY", server.ocpp);
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
        headers.insert("X-Forwarded-For", client.parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
            other => panic!(
                "expected a refusal, got {:?}",
                other.map(|(_, r)| r.status())
            ),
        }
    };
    assert_eq!(knock("198.51.100.7").await, 404);
    assert_eq!(knock("198.51.100.7").await, 429);
    assert_eq!(
        knock("198.51.100.8").await,
        404,
        "another charger's address"
    );
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_header_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &[("RATE_LIMIT_HTTP_PER_SOURCE", "2")]);
    let http = reqwest::Client::new();
    for client in ["198.51.100.1", "198.51.100.2"] {
        let resp = http
            .get(server.url("/health"))
            .header("x-forwarded-for", client)
            .send()
            .await;
        assert_eq!(resp.unwrap().status(), 200);
    }
    let spoofed = http
        .get(server.url("/health"))
        .header("x-forwarded-for", "198.51.100.3")
        .send();
    assert_rate_limited(spoofed.await.unwrap()).await;
}
