//! Load probe for the OCPP listener (the seed of `evgate-sim`): registers
//! and connects N idle OCPP 1.6 chargers, each booting once, then has them
//! send heartbeats at a total rate for a while and reports the round trips.
//!
//! cargo run --release -p simulators --example idle_fleet -- \
//!     HTTP_BASE OCPP_BASE ADMIN_TOKEN COUNT RATE_PER_S SECONDS
//!
//! `RATE_PER_S` `closed`: every charger sends its next heartbeat as soon as
//! the last is answered (a closed loop: the server's throughput limit).
//! `HTTP_BASE` `-`: no registration (a server that takes any identity, such
//! as `bare_responder`).
//!
//! Connections are spread over 127.0.0.1–127.0.0.16 as source addresses, so
//! 10,000 of them stay clear of the ephemeral-port limit. Prints `IDLE` when
//! all are connected and booted, waits for a line on stdin (the caller
//! measures the gateway then), runs the heartbeat phase and prints one JSON
//! report line.
#![allow(clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn register(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    count: usize,
    prefix: &str,
) -> String {
    let station: Value = http
        .post(format!("{base}/v1/admin/stations"))
        .bearer_auth(token)
        .json(&json!({"name": "Idle fleet", "latitude": 1.5, "longitude": 1.5}))
        .send()
        .await
        .expect("create station")
        .json()
        .await
        .expect("station json");
    let station = station["data"]["id"]
        .as_str()
        .expect("station id")
        .to_owned();
    let gate = Arc::new(Semaphore::new(32));
    let mut tasks = Vec::new();
    for i in 0..count {
        let (http, base, token, station, gate) = (
            http.clone(),
            base.to_owned(),
            token.to_owned(),
            station.clone(),
            gate.clone(),
        );
        let id = format!("{prefix}{i}");
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            let status = http
                .post(format!("{base}/v1/admin/stations/{station}/chargers"))
                .bearer_auth(&token)
                .json(&json!({"chargePointId": id, "securityProfile": 0}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            assert_eq!(status, 201, "register {id}");
        }));
    }
    for t in tasks {
        t.await.expect("register task");
    }
    station
}

async fn connect(ocpp: &str, id: &str, source: Ipv4Addr) -> Result<Ws, String> {
    let url = format!("{ocpp}/ocpp/{id}");
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "ocpp1.6".parse().map_err(|_| "header")?,
    );
    let host: SocketAddr = ocpp
        .trim_start_matches("ws://")
        .parse()
        .map_err(|e| format!("{e}"))?;
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(IpAddr::V4(source), 0))
        .map_err(|e| e.to_string())?;
    let stream = socket.connect(host).await.map_err(|e| e.to_string())?;
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream)
        .await
        .map_err(|e| e.to_string())?;
    ws.send(Message::text(json!([2, "boot", "BootNotification", {"chargePointVendor": "Fleet", "chargePointModel": "Idle"}]).to_string()))
        .await
        .map_err(|e| e.to_string())?;
    answer(&mut ws).await?;
    Ok(ws)
}

/// The next CALLRESULT/CALLERROR (pings are answered by the library).
async fn answer(ws: &mut Ws) -> Result<Value, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).map_err(|e| e.to_string())?;
                if v[0] != 2 {
                    return Ok(v);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed".into()),
        }
    }
}

fn percentile(sorted: &[u128], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, http_base, ocpp_base, token, count, rate, seconds] = &args[..] else {
        eprintln!("usage: idle_fleet HTTP_BASE OCPP_BASE ADMIN_TOKEN COUNT RATE_PER_S SECONDS");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("COUNT");
    // None: a closed loop.
    let rate: Option<f64> = (rate != "closed").then(|| rate.parse().expect("RATE_PER_S"));
    let seconds: u64 = seconds.parse().expect("SECONDS");
    let http = reqwest::Client::new();
    let prefix = format!("IDLE-{}-", std::process::id());
    let t0 = Instant::now();
    if http_base != "-" {
        register(&http, http_base, token, count, &prefix).await;
    }
    let registered = t0.elapsed();

    let t1 = Instant::now();
    let gate = Arc::new(Semaphore::new(256));
    let mut tasks = Vec::new();
    for i in 0..count {
        let (ocpp, gate) = (ocpp_base.clone(), gate.clone());
        let id = format!("{prefix}{i}");
        let source = Ipv4Addr::new(127, 0, 0, 1 + (i % 16) as u8);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            connect(&ocpp, &id, source).await
        }));
    }
    let mut sockets = Vec::new();
    let mut failed = 0;
    for t in tasks {
        match t.await.expect("connect task") {
            Ok(ws) => sockets.push(ws),
            Err(e) => {
                failed += 1;
                if failed <= 3 {
                    eprintln!("connect failed: {e}");
                }
            }
        }
    }
    let connected_in = t1.elapsed();
    println!("IDLE {} connected, {failed} failed", sockets.len());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);

    // Heartbeats: each charger sends one every n / rate seconds, staggered
    // (or, in a closed loop, one as soon as the last is answered).
    let n = sockets.len().max(1);
    let period = rate.map_or(Duration::ZERO, |rate| {
        Duration::from_secs_f64(n as f64 / rate)
    });
    let rtts = Arc::new(Mutex::new(Vec::<u128>::new()));
    let errors = Arc::new(Mutex::new(0u64));
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (i, mut ws) in sockets.into_iter().enumerate() {
        let (rtts, errors) = (rtts.clone(), errors.clone());
        let offset = period.mul_f64(i as f64 / n as f64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            let mut next = Instant::now();
            let mut k = 0u64;
            while next < end {
                tokio::time::sleep_until(next.into()).await;
                let sent = Instant::now();
                k += 1;
                let frame = json!([2, format!("hb{k}"), "Heartbeat", {}]).to_string();
                let ok =
                    ws.send(Message::text(frame)).await.is_ok() && answer(&mut ws).await.is_ok();
                if ok {
                    rtts.lock().expect("rtts").push(sent.elapsed().as_micros());
                } else {
                    *errors.lock().expect("errors") += 1;
                }
                next = if period.is_zero() {
                    Instant::now()
                } else {
                    next + period
                };
            }
            ws
        }));
    }
    let mut kept = Vec::new();
    for t in tasks {
        kept.push(t.await.expect("heartbeat task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut rtts = rtts.lock().expect("rtts").clone();
    rtts.sort_unstable();
    let report = json!({
        "chargers": count,
        "connected": kept.len(),
        "failed": failed,
        "register_s": registered.as_secs_f64(),
        "connect_s": connected_in.as_secs_f64(),
        "heartbeats": rtts.len(),
        "heartbeat_errors": *errors.lock().expect("errors"),
        "rate_per_s": rate,
        "answered_per_s": rtts.len() as f64 / elapsed,
        "rtt_ms": {"p50": percentile(&rtts, 0.50), "p99": percentile(&rtts, 0.99), "max": percentile(&rtts, 1.0)},
    });
    println!("{report}");
}
