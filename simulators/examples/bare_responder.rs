//! The bare limit the OCPP benchmarks compare evgate with: a WebSocket
//! server that answers BootNotification and Heartbeat from memory (any
//! other CALL gets `{}`), with evgate's socket settings (1 KiB read
//! buffer, frames written at once) and no store, no auth, no registry.
//!
//! cargo run --release -p simulators --example bare_responder -- ADDR
//!
//! Prints `LISTENING <addr>` once bound.
// The handshake callback's error type is tungstenite's, large by design.
#![allow(clippy::expect_used, clippy::result_large_err)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The CALLRESULT for one frame, if it is a CALL.
fn answer(text: &str) -> Option<String> {
    let frame: Value = serde_json::from_str(text).ok()?;
    if frame.get(0)?.as_i64()? != 2 {
        return None;
    }
    let id = frame.get(1)?;
    let payload = match frame.get(2)?.as_str()? {
        "BootNotification" => json!({"status": "Accepted", "currentTime": now(), "interval": 300}),
        "Heartbeat" => json!({"currentTime": now()}),
        _ => json!({}),
    };
    Some(json!([3, id, payload]).to_string())
}

async fn serve(stream: TcpStream) {
    let config = WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0);
    let echo_protocol = |req: &Request, mut resp: Response| {
        let offered = req
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .and_then(|v| v.parse().ok());
        if let Some(protocol) = offered {
            resp.headers_mut()
                .insert("Sec-WebSocket-Protocol", protocol);
        }
        Ok(resp)
    };
    let Ok(mut ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, echo_protocol, Some(config)).await
    else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Text(text) = message
            && let Some(reply) = answer(&text)
            && ws.send(Message::text(reply)).await.is_err()
        {
            return;
        }
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await.expect("bind");
    println!("LISTENING {}", listener.local_addr().expect("address"));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve(stream));
    }
}
