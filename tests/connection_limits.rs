//! The listeners' connection and handshake rules, against the real binary
//! (issue #15, findings 3 and 7): a client that never finishes its request
//! head is closed after HTTP_HEADER_TIMEOUT_SECONDS, connections past
//! HTTP_MAX_CONNECTIONS / OCPP_MAX_CONNECTIONS are answered 503 with
//! Retry-After, a flooded HTTP port does not stop the OCPP one, and a
//! charger handshake with another WebSocket version or a dot segment in its
//! path is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::process::Running;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_start_matches("ws://")
        .to_owned()
}

/// Everything the server sends until it closes (or `within` passes:
/// `None`).
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&got).into_owned())
}

/// Opens `slots` silent connections to `addr`, then one more: the held
/// connections and what the one past the cap was answered before its close.
async fn one_past(addr: &str, slots: usize) -> (Vec<TcpStream>, String) {
    let mut held = Vec::new();
    for _ in 0..slots {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // Let the server accept them before the next one knocks: a fixed wait,
    // since from out here a connection the server has accepted looks the
    // same as one still in its backlog.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut past = TcpStream::connect(addr).await.unwrap();
    let answer = until_closed(&mut past, Duration::from_secs(5))
        .await
        .expect("answered and closed");
    (held, answer)
}

/// A charger's upgrade request for `path`, written by hand; the answer.
async fn handshake(server: &Running, path: &str, ws_version: &str) -> String {
    let mut ocpp = TcpStream::connect(addr(&server.ocpp)).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: evgate\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: {ws_version}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
    );
    ocpp.write_all(request.as_bytes()).await.unwrap();
    // A refusal closes; an accepted charger's socket stays open.
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let mut buf = [0u8; 1024];
        while let Ok(n @ 1..) = ocpp.read(&mut buf).await {
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn handshakes_with_another_websocket_version_or_a_dot_segment_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &[]);
    let admin = common::process::Api::new(
        &server,
        common::process::token(dir.path(), &[], &["--user", "1", "--role", "admin"]),
    );
    let station = admin.station().await;
    admin.charger(&station, "CP-0", 0, None).await;
    assert!(
        handshake(&server, "/ocpp/CP-0", "13")
            .await
            .starts_with("HTTP/1.1 101"),
        "the charger itself is let in"
    );
    let old = handshake(&server, "/ocpp/CP-0", "8").await;
    assert!(old.starts_with("HTTP/1.1 426"), "{old}");
    assert!(old.contains("Sec-WebSocket-Version: 13"), "{old}");
    for dotted in ["/ocpp/../CP-0", "/ocpp/%2e%2e/CP-0", "/x/./CP-0"] {
        let answer = handshake(&server, dotted, "13").await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{dotted}: {answer}");
        assert!(answer.contains("dot segments"), "{dotted}: {answer}");
    }
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &[("HTTP_HEADER_TIMEOUT_SECONDS", "1")]);
    let http = addr(&server.base);

    // Half a request head, then silence.
    let mut partial = TcpStream::connect(&http).await.unwrap();
    partial
        .write_all(b"GET /health HTTP/1.1\r\nHost: evgate\r\n")
        .await
        .unwrap();
    // A head trickled a byte at a time, never finished in time.
    let mut trickle = TcpStream::connect(&http).await.unwrap();
    let started = Instant::now();
    let trickling = tokio::spawn(async move {
        for byte in b"GET /health HTTP/1.1\r\nX-Slow: ".iter().cycle().take(40) {
            if trickle.write_all(&[*byte]).await.is_err() {
                return started.elapsed();
            }
            // The trickle's pace is the point: real time, on purpose.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        started.elapsed()
    });
    assert!(
        until_closed(&mut partial, Duration::from_secs(5))
            .await
            .is_some(),
        "the half-open connection was closed"
    );
    let trickled_for = trickling.await.unwrap();
    assert!(
        trickled_for < Duration::from_secs(3),
        "the trickling client was cut off after the timeout, not after {trickled_for:?}"
    );
    // A whole request still works.
    let health = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn http_connections_past_the_cap_get_503_and_ocpp_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &[("HTTP_MAX_CONNECTIONS", "3")]);
    let (held, answer) = one_past(&addr(&server.base), 3).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");

    // The OCPP listener still answers a handshake (an unknown identity: 404).
    let answer = handshake(&server, "/ocpp/CP-NOBODY", "13").await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");

    // Slots free up as the held connections go.
    drop(held);
    common::eventually(
        "a free slot",
        Duration::from_secs(10),
        async || match reqwest::get(server.url("/health")).await.unwrap().status() {
            reqwest::StatusCode::OK => Ok(()),
            other => Err(other),
        },
    )
    .await;
}

#[tokio::test]
async fn charger_connections_past_ocpp_max_connections_get_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &[("OCPP_MAX_CONNECTIONS", "2")]);
    // Two handshakes in progress hold both slots.
    let (_held, answer) = one_past(&addr(&server.ocpp), 2).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 5"), "{answer}");
    // The HTTP API is not affected.
    let health = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(health.status(), 200);
}

/// OCPP_MAX_CONNECTIONS counts the ws:// and wss:// listeners together:
/// each connection is an open file, and the limit is what fits under the
/// process's open-file limit.
#[tokio::test]
async fn the_charger_limit_holds_for_ws_and_wss_together() {
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key_pair.serialize_pem()).unwrap();
    let server = Running::start(
        dir.path(),
        &[
            ("OCPP_MAX_CONNECTIONS", "2"),
            ("OCPP_TLS_ADDR", "127.0.0.1:0"),
            ("OCPP_TLS_CERT", cert_path.to_str().unwrap()),
            ("OCPP_TLS_KEY", key_path.to_str().unwrap()),
        ],
    );
    // Two handshakes in progress on ws:// hold both slots…
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(addr(&server.ocpp)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // …so one more on wss:// is refused before its TLS handshake.
    let tls = server.ocpp_tls.as_deref().expect("the wss:// listener");
    let mut past = TcpStream::connect(tls).await.unwrap();
    let answer = until_closed(&mut past, Duration::from_secs(5))
        .await
        .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    drop(held);
}
