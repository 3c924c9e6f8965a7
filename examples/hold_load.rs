//! Open-loop load for holds: `POST /v1/bookings/holds` at a fixed rate, each
//! request a new one-minute slot (connectors in turn, then the next minute),
//! latency measured from each request's scheduled send time. Prints the
//! holds made, refusals by status, p50, p99 and max.
//! `bench/hold-bench.sh` sets up a server and runs it.
//!
//!   hold_load URL TOKEN STATION CONNECTOR[,CONNECTOR…] FIRST_SLOT_EPOCH RATE SECONDS

#[path = "support/open_loop.rs"]
mod open_loop;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 8 {
        eprintln!("usage: hold_load URL TOKEN STATION CONNECTORS FIRST_SLOT_EPOCH RATE SECONDS");
        std::process::exit(2);
    }
    let (base, token, station) = (&args[1], &args[2], &args[3]);
    let connectors: Vec<&str> = args[4].split(',').collect();
    let first = DateTime::<Utc>::from_timestamp(args[5].parse()?, 0).ok_or("FIRST_SLOT_EPOCH")?;
    let rate: u64 = args[6].parse()?;
    let seconds: u64 = args[7].parse()?;
    let client = open_loop::client()?;
    let url = format!("{base}/v1/bookings/holds");
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    open_loop::run("/v1/bookings/holds", rate, seconds, |i| {
        let n = connectors.len() as u64;
        let start = first + TimeDelta::minutes(i64::try_from(i / n).unwrap_or(i64::MAX));
        let body = serde_json::json!({
            "stationId": station,
            "connectorId": connectors[(i % n) as usize],
            "startTs": at(start),
            "endTs": at(start + TimeDelta::minutes(1)),
        });
        client.post(&url).bearer_auth(token).json(&body)
    })
    .await
}
