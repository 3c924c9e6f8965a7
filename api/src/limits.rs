//! Request rate limits at the HTTP edge: per source address on every route
//! (vendor webhooks under a limit of their own: a vendor's cloud posts for
//! a whole fleet from a few addresses), and per user on hold creation.
//! Beyond a limit: 429 `RATE_LIMITED` with `Retry-After` and the envelope.
//! Per vendor, the webhook service limits authenticated deliveries itself.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use booking::rate::{Limiter, Rate, TrustedProxies, source_key};

use crate::AppState;
use crate::error::ApiError;

/// The rates, from the `RATE_LIMIT_*` settings (a count of 0 turns one off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateSettings {
    /// Requests per source address on every route but vendor webhooks.
    pub per_source: Rate,
    /// Vendor webhook requests per source address, signed or not.
    pub webhooks_per_source: Rate,
    /// Holds a user may ask for.
    pub holds_per_user: Rate,
    /// Proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    pub trusted: TrustedProxies,
}

impl RateSettings {
    /// No limits (tests and benchmarks that say so).
    pub fn off() -> Self {
        Self {
            per_source: Rate::off(),
            webhooks_per_source: Rate::off(),
            holds_per_user: Rate::off(),
            trusted: TrustedProxies::default(),
        }
    }
}

/// The limiters' state, one per instance.
#[derive(Debug)]
pub struct RateLimits {
    per_source: Limiter<IpAddr>,
    webhooks_per_source: Limiter<IpAddr>,
    holds_per_user: Limiter<i64>,
    trusted: TrustedProxies,
}

impl RateLimits {
    /// Limiters enforcing `settings`.
    pub fn new(settings: RateSettings) -> Self {
        Self {
            per_source: Limiter::new(settings.per_source),
            webhooks_per_source: Limiter::new(settings.webhooks_per_source),
            holds_per_user: Limiter::new(settings.holds_per_user),
            trusted: settings.trusted,
        }
    }

    /// Proxies whose `X-Forwarded-For` names the client.
    pub(crate) fn trusted(&self) -> &TrustedProxies {
        &self.trusted
    }

    /// Counts a hold request of `user`.
    pub(crate) fn hold_by(&self, user: i64) -> Result<(), ApiError> {
        self.holds_per_user.check(&user).map_err(|wait| {
            crate::metrics::rate_limited("holds_user");
            ApiError::RateLimited {
                message: "too many holds asked for; try again later".into(),
                retry_after: wait.seconds(),
            }
        })
    }
}

/// Longest request target served (path and query).
const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header bytes (names and values) a request may carry.
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Middleware: a request target, headers or declared body over evgate's
/// bounds get 414, 431 or 413 in the envelope before any handler runs.
/// (Heads beyond hyper's own buffer, about 400 KiB, are refused by hyper
/// itself, without the envelope.)
pub(crate) async fn request_bounds(request: Request, next: Next) -> Response {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return ApiError::UriTooLong(format!(
            "the request target has {uri} bytes; at most {MAX_URI_BYTES} are served"
        ))
        .into_response();
    }
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers > MAX_HEADER_BYTES {
        return ApiError::HeadersTooLarge(format!(
            "the request headers have {headers} bytes; at most {MAX_HEADER_BYTES} are served"
        ))
        .into_response();
    }
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // An upload location takes files up to its own limit (`crate::uploads`).
    let upload = request
        .uri()
        .path()
        .starts_with(crate::uploads::UPLOAD_PREFIX);
    if !upload && declared.is_some_and(|n| n > crate::MAX_BODY_BYTES as u64) {
        return ApiError::PayloadTooLarge(format!(
            "request bodies may have at most {} bytes",
            crate::MAX_BODY_BYTES
        ))
        .into_response();
    }
    next.run(request).await
}

/// Middleware: counts the request against its source address (behind a
/// trusted proxy, the client its `X-Forwarded-For` names). Requests with no
/// known peer (a router driven in process) are not limited.
pub(crate) async fn per_source(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| source_key(state.limits.trusted.client(addr.ip(), forwarded)));
    if let Some(ip) = peer {
        let (limiter, name) = if request.uri().path().starts_with("/v1/vendor/webhooks/") {
            (&state.limits.webhooks_per_source, "webhooks_source")
        } else {
            (&state.limits.per_source, "source")
        };
        if let Err(wait) = limiter.check(&ip) {
            crate::metrics::rate_limited(name);
            return ApiError::RateLimited {
                message: format!("too many requests from {ip}; slow down"),
                retry_after: wait.seconds(),
            }
            .into_response();
        }
    }
    next.run(request).await
}
