//! Open-loop load for the vendor webhooks: signed connector-status posts at
//! a fixed rate, latency measured from each request's scheduled send time
//! (so a stalled server cannot hide its queue). Prints count, errors, p50,
//! p99 and max. `bench/webhook-bench.sh` sets up a server and runs it.
//!
//!   webhook_load URL VENDOR_ID SECRET CONNECTOR[,CONNECTOR…] RATE SECONDS [PATH]
//!
//! With PATH `/health` it sends plain GETs instead: the baseline.

#[path = "support/open_loop.rs"]
mod open_loop;

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
    let client = open_loop::client()?;
    let url = format!("{base}{path}");
    open_loop::run(&path, rate, seconds, |i| {
        if path == "/health" {
            return client.get(&url);
        }
        let statuses = ["AVAILABLE", "OCCUPIED"];
        // Each report with its own time: the same body signed in the same
        // second would be one delivery (a replay), not a report.
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
            .post(&url)
            .header("content-type", "application/json")
            .header("x-evgate-vendor", &vendor)
            .header("x-evgate-timestamp", ts.to_string())
            .header("x-evgate-signature", sig)
            .body(body)
    })
    .await
}
