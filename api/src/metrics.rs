//! The app-facing edge's Prometheus series: HTTP requests by route template
//! (never the raw path, so labels stay bounded), and Socket.IO clients and
//! pushes.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// HTTP requests by method, route template and status.
pub(crate) const HTTP_REQUESTS: &str = "evgate_http_requests_total";
/// HTTP request latency by method and route template, in seconds.
pub(crate) const HTTP_SECONDS: &str = "evgate_http_request_duration_seconds";
/// Requests refused by a rate limit, by which limit.
pub(crate) const RATE_LIMITED: &str = "evgate_http_rate_limited_total";
/// Socket.IO clients connected to this instance.
pub(crate) const SOCKETS: &str = "evgate_socketio_clients";
/// Socket.IO emits to rooms, by event.
pub(crate) const PUSHES: &str = "evgate_socketio_pushes_total";

/// Registers the series' help texts with the installed recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, route template and status"
    );
    metrics::describe_histogram!(
        HTTP_SECONDS,
        metrics::Unit::Seconds,
        "HTTP request latency by method and route template (webhook acknowledgements are the /v1/webhooks routes)"
    );
    metrics::describe_counter!(
        RATE_LIMITED,
        "HTTP requests refused with 429 by a rate limit: source (per address), webhooks_source, holds_user, vendor"
    );
    metrics::describe_gauge!(SOCKETS, "Socket.IO clients connected to this instance");
    metrics::describe_counter!(PUSHES, "Socket.IO emits to rooms, by event");
}

/// Counts a request refused by the rate limit `limit` (a fixed name).
pub(crate) fn rate_limited(limit: &'static str) {
    metrics::counter!(RATE_LIMITED, "limit" => limit).increment(1);
}

/// Counts and times every request, labelled by the route that matched
/// (`unmatched` for a 404 of the fallback).
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| intern(p.as_str()));
    tracing::Span::current().record("http.route", route);
    let response = next.run(req).await;
    let status = status_label(response.status().as_u16());
    let (count, time) = handles(method, route, status);
    count.increment(1);
    time.record(started.elapsed().as_secs_f64());
    response
}

/// The series of one (method, route, status), looked up once: the
/// recorder's own lookup builds a key (a label list) every time.
fn handles(
    method: &'static str,
    route: &'static str,
    status: &'static str,
) -> (metrics::Counter, metrics::Histogram) {
    type Handles =
        HashMap<(&'static str, &'static str, &'static str), (metrics::Counter, metrics::Histogram)>;
    static HANDLES: OnceLock<RwLock<Handles>> = OnceLock::new();
    let all = HANDLES.get_or_init(RwLock::default);
    let key = (method, route, status);
    if let Some(found) = all.read().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return found.clone();
    }
    let made = (
        metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route, "status" => status),
        metrics::histogram!(HTTP_SECONDS, "method" => method, "route" => route),
    );
    all.write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, made.clone());
    made
}

/// A route template as a `'static` label: labels that borrow nothing are
/// built without allocating on every request. The set is the router's
/// routes, so what is kept is bounded.
fn intern(route: &str) -> &'static str {
    static ROUTES: OnceLock<Mutex<HashMap<Box<str>, &'static str>>> = OnceLock::new();
    let mut routes = booking::sync::lock(ROUTES.get_or_init(Mutex::default));
    if let Some(known) = routes.get(route) {
        return known;
    }
    let kept: &'static str = Box::leak(route.into());
    routes.insert(route.into(), kept);
    kept
}

/// The status code as a `'static` label (100–599; anything else `other`).
fn status_label(code: u16) -> &'static str {
    static CODES: OnceLock<Vec<&'static str>> = OnceLock::new();
    let codes = CODES.get_or_init(|| {
        (100..600u16)
            .map(|c| &*Box::leak(c.to_string().into_boxed_str()))
            .collect()
    });
    code.checked_sub(100)
        .and_then(|i| codes.get(usize::from(i)))
        .copied()
        .unwrap_or("other")
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
