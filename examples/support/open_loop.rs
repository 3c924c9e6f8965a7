//! Open-loop load shared by the load examples: requests sent at a fixed
//! rate, each one's latency counted from its scheduled send time (so a
//! stalled server cannot hide its queue), answers other than 2xx counted by
//! status.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// Sends `rate` × `seconds` requests, the `i`-th built by `request(i)` at
/// its scheduled time, and prints one line: ok count, other answers by
/// status, achieved rate, p50/p99/max of the successful ones. With
/// `OPEN_LOOP_TIMELINE` set, also the worst latency per second of sending,
/// to tell a stall from a steady queue.
pub(crate) async fn run(
    label: &str,
    rate: u64,
    seconds: u64,
    request: impl Fn(u64) -> reqwest::RequestBuilder,
) -> Result<(), Box<dyn std::error::Error>> {
    let latencies = Arc::new(Mutex::new(Vec::with_capacity((rate * seconds) as usize)));
    let refused = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let period = Duration::from_nanos(1_000_000_000 / rate);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..rate * seconds {
        let scheduled = start + period * u32::try_from(i)?;
        tokio::time::sleep_until(scheduled.into()).await;
        let (latencies, refused) = (latencies.clone(), refused.clone());
        let request = request(i);
        tasks.push(tokio::spawn(async move {
            let outcome = match request.send().await {
                Ok(r) if r.status().is_success() => {
                    let _ = r.bytes().await;
                    latencies.lock().await.push((scheduled.elapsed(), i / rate));
                    return;
                }
                Ok(r) => r.status().as_u16().to_string(),
                Err(_) => "transport".to_owned(),
            };
            *refused.lock().await.entry(outcome).or_default() += 1;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let sent = latencies.lock().await.clone();
    if std::env::var_os("OPEN_LOOP_TIMELINE").is_some() {
        let mut worst = BTreeMap::<u64, Duration>::new();
        for (latency, second) in &sent {
            let w = worst.entry(*second).or_default();
            *w = (*w).max(*latency);
        }
        let line: Vec<String> = worst
            .values()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
            .collect();
        println!("{label}: worst ms per second sent: {}", line.join(" "));
    }
    let mut l: Vec<Duration> = sent.into_iter().map(|(latency, _)| latency).collect();
    l.sort();
    let pct = |p: f64| l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    let refused = refused.lock().await;
    let errors: u64 = refused.values().sum();
    let by_status: Vec<String> = refused.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    println!(
        "{label}: {} ok, {errors} errors{}, achieved {:.0}/s; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        l.len(),
        if by_status.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_status.join(", "))
        },
        l.len() as f64 / start.elapsed().as_secs_f64(),
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(l.last()),
    );
    Ok(())
}

/// A client that keeps enough connections for an open loop's backlog.
pub(crate) fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
}
