//! Who is signed in: the session cookie, its CSRF token, the sign-in
//! throttle.
//!
//! The cookie carries a random 256-bit token; the store keeps its SHA-256
//! and the session's CSRF token. Every form posts the CSRF token back
//! (checked in constant time), the cookie is HttpOnly, SameSite=Strict, and
//! Secure when the request came over TLS (an `X-Forwarded-Proto: https`
//! proxy). Before sign-in, the form's token is a double-submit cookie.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use booking::operators::{ConsoleSession, Operator, OperatorRole};
use booking::rate::{Limiter, Rate, source_key};

use super::failure::Failure;
use crate::{ApiError, AppState};

/// The signed-in session's cookie.
pub(super) const SESSION_COOKIE: &str = "evgate_console";
/// The sign-in form's double-submit CSRF cookie.
pub(super) const SIGN_IN_COOKIE: &str = "evgate_console_sign_in";
/// How long a session lasts, used or not: a working day and a bit.
pub(super) const SESSION_HOURS: i64 = 12;

/// A browser with a live session, and whose it is.
#[derive(Debug, Clone)]
pub(super) struct Signed {
    pub(super) operator: Operator,
    pub(super) session: ConsoleSession,
}

impl Signed {
    /// The CSRF token a form of this session must post back.
    pub(super) fn csrf(&self) -> &str {
        &self.session.csrf_token
    }

    /// Refuses a form that does not carry this session's CSRF token.
    pub(super) fn check_csrf(&self, posted: &str) -> Result<(), Failure> {
        if same(posted, &self.session.csrf_token) {
            Ok(())
        } else {
            Err(Failure::forbidden(
                "the form's CSRF token is missing or not this session's: reload the page and try again",
            ))
        }
    }

    /// Refuses a change by a viewer.
    pub(super) fn check_admin(&self) -> Result<(), Failure> {
        match self.operator.role {
            OperatorRole::Admin => Ok(()),
            OperatorRole::Viewer => Err(Failure::forbidden(
                "viewers see everything and change nothing: ask an admin",
            )),
        }
    }

    /// A change's CSRF token and role, checked together.
    pub(super) fn may_change(&self, posted_csrf: &str) -> Result<(), Failure> {
        self.check_csrf(posted_csrf)?;
        self.check_admin()
    }

    pub(super) fn is_admin(&self) -> bool {
        self.operator.role == OperatorRole::Admin
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(Failure::SignIn)?;
        let (session, operator) = state
            .operators
            .console_session(&token_hash(token), state.clock.now())
            .await?
            .ok_or(Failure::SignIn)?;
        Ok(Signed { operator, session })
    }
}

/// A fresh random token (256 bits, URL-safe base64).
pub(super) fn new_token() -> String {
    booking::secrets::random_token(32)
}

/// What the store keeps of a session token.
pub(super) fn token_hash(token: &str) -> String {
    booking::secrets::sha256_hex(token)
}

/// Constant-time equality of two tokens.
pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of one cookie of the request.
pub(super) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` for a console cookie: HttpOnly, SameSite=Strict, scoped to
/// the console, Secure when the request came over TLS. `max_age` 0 deletes.
pub(super) fn set_cookie(
    request: &HeaderMap,
    name: &str,
    value: &str,
    max_age_seconds: i64,
) -> (header::HeaderName, HeaderValue) {
    let secure = request
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let cookie = format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{}",
        if secure { "; Secure" } else { "" }
    );
    // Tokens are base64url: always a valid header value.
    let value = HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static(""));
    (header::SET_COOKIE, value)
}

/// Sign-in attempts allowed per operator name and per source address,
/// successful or not: enough for a typo or two, far too few for guessing.
#[derive(Debug)]
pub struct SignInThrottle {
    per_name: Limiter<String>,
    per_source: Limiter<IpAddr>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self {
            per_name: Limiter::new(Rate::per_minute(5)),
            per_source: Limiter::new(Rate::per_minute(20)),
        }
    }
}

impl SignInThrottle {
    /// Counts an attempt; 429 with `Retry-After` beyond either limit.
    pub(super) fn attempt(&self, name: &str, source: Option<IpAddr>) -> Result<(), ApiError> {
        let limited = |wait: booking::rate::RetryAfter| ApiError::RateLimited {
            message: format!(
                "too many sign-in attempts; try again in {} s",
                wait.seconds()
            ),
            retry_after: wait.seconds(),
        };
        if let Some(ip) = source {
            self.per_source.check(&ip).map_err(limited)?;
        }
        // Names are at most 64 characters: a longer one is keyed by its
        // start, so a flood of huge names cannot grow the limiter's keys.
        let key: String = name.chars().take(64).collect::<String>().to_lowercase();
        self.per_name.check(&key).map_err(limited)
    }
}

/// The client's address (behind a trusted proxy, the one it names), when
/// the request came over a socket.
#[derive(Debug, Clone, Copy)]
pub(super) struct Source(pub(super) Option<IpAddr>);

impl FromRequestParts<AppState> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(Source(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| {
                    source_key(state.limits.trusted().client(addr.ip(), forwarded))
                }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("evgate_console_sign_in=abc; evgate_console=xyz"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, SIGN_IN_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "other"), None);
    }

    #[test]
    fn tokens_are_fresh_and_stored_only_as_hashes() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
        assert!(!same(&a, &a[1..]));
    }

    #[test]
    fn the_cookie_is_secure_only_over_tls() {
        let mut headers = HeaderMap::new();
        let (_, plain) = set_cookie(&headers, SESSION_COOKIE, "t", 60);
        assert!(!plain.to_str().unwrap_or_default().contains("Secure"));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let (_, tls) = set_cookie(&headers, SESSION_COOKIE, "t", 60);
        let tls = tls.to_str().unwrap_or_default().to_owned();
        assert!(
            tls.contains("; Secure") && tls.contains("HttpOnly") && tls.contains("SameSite=Strict")
        );
    }

    #[test]
    fn sign_in_attempts_are_throttled_per_name_whatever_the_case() {
        let throttle = SignInThrottle::default();
        for _ in 0..5 {
            assert!(throttle.attempt("Ana", None).is_ok());
        }
        assert!(matches!(
            throttle.attempt("ana", None),
            Err(ApiError::RateLimited { .. })
        ));
        assert!(throttle.attempt("bo", None).is_ok());
    }
}
