//! The app-facing edge's Prometheus series: HTTP requests by route template
//! (never the raw path, so labels stay bounded), and Socket.IO clients and
//! pushes.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// HTTP requests by method, route template and status.
pub(crate) const HTTP_REQUESTS: &str = "evgate_http_requests_total";
/// HTTP request latency by method and route template, in seconds.
pub(crate) const HTTP_SECONDS: &str = "evgate_http_request_duration_seconds";
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
    metrics::describe_gauge!(SOCKETS, "Socket.IO clients connected to this instance");
    metrics::describe_counter!(PUSHES, "Socket.IO emits to rooms, by event");
}

/// Counts and times every request, labelled by the route that matched
/// (`unmatched` for a 404 of the fallback).
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_SECONDS, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
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
