//! Open-loop load for the vendor webhooks: signed connector-status posts at
//! a fixed rate, latency measured from each request's scheduled send time
//! (so a stalled server cannot hide its queue). Prints count, errors, p50,
//! p99 and max. `bench/webhook-bench.sh` sets up a server and runs it.
//!
//!   webhook_load URL VENDOR_ID SECRET CONNECTOR[,CONNECTOR…] RATE SECONDS [PATH]
//!
//! With PATH `/health` it sends plain GETs instead: the baseline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 7 {
        eprintln!("usage: webhook_load URL VENDOR_ID SECRET CONNECTORS RATE SECONDS [PATH]");
        std::process::exit(2);
    }
    let (base, vendor, secret) = (args[1].clone(), args[2].clone(), args[3].clone());
    let connectors: Vec<String> = args[4].split(',').map(str::to_owned).collect();
    let rate: u64 = args[5].parse()?;
    let seconds: u64 = args[6].parse()?;
    let path = args
        .get(7)
        .cloned()
        .unwrap_or_else(|| "/v1/vendor/webhooks/connector-status".into());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;
    let latencies = Arc::new(Mutex::new(Vec::with_capacity((rate * seconds) as usize)));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let period = Duration::from_nanos(1_000_000_000 / rate);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..rate * seconds {
        let scheduled = start + period * u32::try_from(i)?;
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, latencies, errors) = (client.clone(), latencies.clone(), errors.clone());
        let url = format!("{base}{path}");
        let request = if path == "/health" {
            client.get(url)
        } else {
            let statuses = ["AVAILABLE", "OCCUPIED"];
            // Each report with its own time: the same body signed in the
            // same second would be one delivery (a replay), not a report.
            let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let body = serde_json::json!({
                "connectorId": connectors[i as usize % connectors.len()],
                "status": statuses[(i as usize / connectors.len()) % 2],
                "timestamp": at,
            })
            .to_string();
            let ts = chrono::Utc::now().timestamp();
            let sig = webhooks::signature::sign(secret.as_bytes(), ts, body.as_bytes());
            client
                .post(url)
                .header("content-type", "application/json")
                .header("x-evgate-vendor", &vendor)
                .header("x-evgate-timestamp", ts.to_string())
                .header("x-evgate-signature", sig)
                .body(body)
        };
        tasks.push(tokio::spawn(async move {
            match request.send().await {
                Ok(r) if r.status().is_success() => {
                    let _ = r.bytes().await;
                    latencies.lock().await.push(scheduled.elapsed());
                }
                _ => {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut l = latencies.lock().await.clone();
    l.sort();
    let pct = |p: f64| l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    println!(
        "{path}: {} ok, {} errors, achieved {:.0}/s; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        l.len(),
        errors.load(std::sync::atomic::Ordering::Relaxed),
        l.len() as f64 / start.elapsed().as_secs_f64(),
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(l.last()),
    );
    Ok(())
}
