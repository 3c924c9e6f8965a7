//! Prometheus metrics: the process-wide recorder, the booking counters
//! read off the event bus (so the booking core stays free of them), and
//! the gauges read from the store when `/metrics` is scraped. The OCPP,
//! HTTP, Socket.IO and cluster series are recorded where they happen
//! (`csms::metrics`, `evgate_api`, `evgate_cluster`); every name starts
//! with `evgate_`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use booking::events::Event;
use booking::store::Tallies;
use evgate_api::realtime::EventBus;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use webhooks::{InboxState, VendorWebhooks};

/// Latency buckets (seconds) for every `_seconds` histogram: 1 ms to 30 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histograms are folded (the exporter keeps raw samples until then).
const UPKEEP: Duration = Duration::from_secs(5);

/// The process's recorder. The `metrics` facade has one global recorder, so
/// several gateways in one process (tests) share it: their counters add up.
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("seconds".into()), BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let handle = match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder was installed first (a test harness):
                // this one renders only what it records itself.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            };
            describe();
            handle
        })
        .clone()
}

fn describe() {
    csms::metrics::describe();
    evgate_api::describe_metrics();
    evgate_cluster::describe_metrics();
    metrics::describe_gauge!(CONNECTORS, "Connectors by status, as stored");
    metrics::describe_gauge!(
        INBOX_PENDING,
        "Vendor webhooks accepted and not yet applied"
    );
    metrics::describe_gauge!(REFUNDS_PENDING, "Refunds waiting in the outbox");
    metrics::describe_gauge!(
        OCPI_WAITING,
        "OCPI pushes owed to each roaming partner and not yet acknowledged"
    );
    metrics::describe_counter!(
        ocpi::PUSH_ATTEMPTS,
        "OCPI push attempts to roaming partners, by module and outcome"
    );
    metrics::describe_gauge!(
        REDIS_UP,
        "1 while Redis answers, 0 while the cluster runs degraded on PostgreSQL alone"
    );
    metrics::describe_counter!(HOLDS, "Holds by what happened to them (created, released)");
    metrics::describe_counter!(BOOKINGS, "Booking transitions, by the status entered");
    metrics::describe_counter!(SESSIONS, "Charging sessions started and ended");
    metrics::describe_counter!(
        STATUS_CHANGES,
        "Connector status changes, by the status entered"
    );
    metrics::describe_counter!(REFUND_DELIVERIES, "Refund delivery attempts, by outcome");
}

const CONNECTORS: &str = "evgate_connectors";
const INBOX_PENDING: &str = "evgate_webhook_inbox_pending";
const REFUNDS_PENDING: &str = "evgate_refunds_pending";
const OCPI_WAITING: &str = "evgate_ocpi_pushes_waiting";
const REDIS_UP: &str = "evgate_redis_up";
const HOLDS: &str = "evgate_holds_total";
const BOOKINGS: &str = "evgate_booking_transitions_total";
const SESSIONS: &str = "evgate_sessions_total";
const STATUS_CHANGES: &str = "evgate_connector_status_changes_total";
/// Refund delivery attempts by outcome (`delivered`, `failed`).
pub const REFUND_DELIVERIES: &str = "evgate_refund_deliveries_total";

/// What a scrape reads besides the recorder.
#[derive(Clone, Debug)]
pub struct Scrape {
    /// The recorder's handle.
    pub handle: PrometheusHandle,
    /// Network-wide counts.
    pub tallies: Arc<dyn Tallies>,
    /// The webhook inbox.
    pub webhooks: VendorWebhooks,
    /// Redis, in cluster mode.
    pub shared: Option<Arc<evgate_cluster::SharedState>>,
    /// OCPI partners and what they are owed.
    pub ocpi: ocpi::Ocpi,
}

/// `GET /metrics`: the text exposition format. A gauge the store cannot
/// give right now keeps its last value (the failure is logged).
pub async fn render(State(scrape): State<Scrape>) -> impl IntoResponse {
    refresh_gauges(&scrape).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        scrape.handle.render(),
    )
}

async fn refresh_gauges(scrape: &Scrape) {
    match scrape.tallies.connectors_by_status().await {
        Ok(counts) => {
            for status in booking::model::ConnectorStatus::ALL {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!(CONNECTORS, "status" => status.as_str()).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count connectors"),
    }
    if scrape.ocpi.settings.is_some() {
        match (
            scrape.ocpi.store.partners().await,
            scrape.ocpi.store.push_backlog().await,
        ) {
            (Ok(partners), Ok(backlog)) => {
                for p in partners {
                    let waiting = backlog
                        .iter()
                        .find(|b| b.partner_id == p.id)
                        .map_or(0, |b| b.waiting);
                    metrics::gauge!(OCPI_WAITING, "partner" => p.name).set(waiting as f64);
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "metrics: cannot count OCPI pushes");
            }
        }
    }
    match scrape.tallies.refunds_pending().await {
        Ok(n) => metrics::gauge!(REFUNDS_PENDING).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count pending refunds"),
    }
    let first = booking::model::Page {
        limit: 1,
        offset: 0,
    };
    match scrape
        .webhooks
        .entries(Some(InboxState::Pending), first)
        .await
    {
        Ok((_, n)) => metrics::gauge!(INBOX_PENDING).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count the webhook inbox"),
    }
    if let Some(shared) = &scrape.shared {
        let up = if shared.probe().await { 1.0 } else { 0.0 };
        metrics::gauge!(REDIS_UP).set(up);
    }
}

/// Starts the tasks metrics need: booking counters from the event bus,
/// and the exporter's upkeep. The caller owns them.
pub fn spawn(events: &EventBus, handle: PrometheusHandle) -> Vec<JoinHandle<()>> {
    let mut rx = events.subscribe();
    let counting = tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(event) => count(&event),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "metrics: fell behind the event bus")
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    let upkeep = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(UPKEEP);
        loop {
            ticks.tick().await;
            handle.run_upkeep();
        }
    });
    vec![counting, upkeep]
}

/// The counter an event moves.
fn count(event: &Event) {
    match event {
        Event::HoldCreated { .. } => {
            metrics::counter!(HOLDS, "event" => "created").increment(1);
        }
        Event::HoldReleased { .. } => {
            metrics::counter!(HOLDS, "event" => "released").increment(1);
        }
        Event::BookingChanged { booking } => {
            metrics::counter!(BOOKINGS, "status" => booking.status.as_str()).increment(1);
        }
        Event::SessionStarted { .. } => {
            metrics::counter!(SESSIONS, "event" => "started").increment(1);
        }
        Event::SessionEnded { .. } => {
            metrics::counter!(SESSIONS, "event" => "ended").increment(1);
        }
        Event::ConnectorStatusChanged { status, .. } => {
            metrics::counter!(STATUS_CHANGES, "status" => status.as_str()).increment(1);
        }
        _ => {}
    }
}
