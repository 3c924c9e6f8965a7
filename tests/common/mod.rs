//! Fixtures shared by the integration tests: fresh stores on both backends.
#![allow(dead_code, unreachable_pub)]

pub mod bookings;
pub mod certs;
pub mod charger;
pub mod emsp;
pub mod process;
pub mod redis;
pub mod vendors;

use std::sync::Arc;

use booking::Store;

/// A new, empty PostgreSQL database (named `evgate_test_…`; `.ci/run` drops
/// them) and its URL; a SQLite file in a temporary directory.
pub use evgate_store::test_util::{fresh_pg_url as fresh_pg_database, fresh_sqlite_url};

/// Polls `probe` (every 50 ms) until it returns `Ok`, and gives that
/// value back; once `within` has passed, panics naming `what` and the last
/// `Err`, what was seen instead. Runs on tokio's clock, so paused time
/// works too.
pub async fn eventually<T, E: std::fmt::Display>(
    what: &str,
    within: std::time::Duration,
    mut probe: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match probe().await {
            Ok(found) => return found,
            Err(seen) if tokio::time::Instant::now() >= deadline => {
                panic!("{what}: not within {within:?}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
}

pub fn redis_url() -> String {
    std::env::var("EVGATE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A store of the named backend, plus whatever must live as long as it.
pub async fn store(
    backend: &str,
) -> (
    Arc<dyn Store>,
    evgate_store::test_util::Scratch<Arc<dyn evgate_store::Database>>,
) {
    let scratch = evgate_store::test_util::database(backend).await;
    (scratch.store.clone(), scratch)
}

/// The HTTP API over a fresh SQLite store, driven in process with
/// `Router::oneshot`.
pub struct TestApp {
    pub router: axum::Router,
    pub keys: Arc<evgate_api::jwt::JwtKeys>,
    pub store: Arc<dyn Store>,
    pub bookings: booking::service::BookingService,
    /// Starts twenty minutes into the current hour; tests move it.
    pub clock: Arc<booking::ManualClock>,
    pub events: evgate_api::realtime::EventBus,
    /// At most 3 attempts before the dead letter.
    pub webhooks: webhooks::VendorWebhooks,
    pub database_url: String,
    /// The same database as `store`, behind every port.
    pub database: Arc<dyn evgate_store::Database>,
    /// OCPI, as CPO NO/EVG.
    pub ocpi: ocpi::Ocpi,
    _dir: tempfile::TempDir,
}

pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret!";

impl TestApp {
    pub async fn new() -> Self {
        Self::with_cors(&evgate::config::CorsOrigins::Any).await
    }

    pub async fn with_cors(cors: &evgate::config::CorsOrigins) -> Self {
        Self::build("sqlite", cors, None).await
    }

    /// `backend`: "sqlite" (in-process holds and versions) or "cluster"
    /// (PostgreSQL, Redis holds and versions); `chargers` defaults to none
    /// connected.
    pub async fn on(
        backend: &str,
        chargers: Option<Arc<dyn booking::charger_control::ChargerControl>>,
    ) -> Self {
        Self::build(backend, &evgate::config::CorsOrigins::Any, chargers).await
    }

    async fn build(
        backend: &str,
        cors: &evgate::config::CorsOrigins,
        chargers: Option<Arc<dyn booking::charger_control::ChargerControl>>,
    ) -> Self {
        use clap::Parser;
        let (url, dir) = fresh_sqlite_url();
        let mut config = evgate::config::Cli::try_parse_from(["evgate"])
            .expect("defaults parse")
            .config;
        config.jwt_secret = Some(TEST_SECRET.to_owned());
        config.webhook_max_attempts = 3;
        config.ocpi_country_code = Some("NO".to_owned());
        config.ocpi_party_id = Some("EVG".to_owned());
        config.ocpp_credential_grace_seconds = 3600;
        config.cors_origin = match cors {
            evgate::config::CorsOrigins::Any => "*".to_owned(),
            evgate::config::CorsOrigins::List(origins) => origins.join(","),
        };
        let mut redis_prefix = None;
        match backend {
            "sqlite" => {
                config.database_url = url;
                config.redis_url = None;
            }
            "cluster" => {
                config.database_url = fresh_pg_database().await;
                config.redis_url = Some(redis_url());
                redis_prefix = Some(format!("evgate-test:{}:", uuid::Uuid::new_v4().simple()));
            }
            other => panic!("unknown backend {other}"),
        }
        // Twenty minutes into the current hour, whenever the tests run: where
        // "the next hour" falls relative to the lead window is then the same.
        let start =
            chrono::DurationRound::duration_trunc(chrono::Utc::now(), chrono::TimeDelta::hours(1))
                .expect("truncate to the hour")
                + chrono::TimeDelta::minutes(20);
        let clock = Arc::new(booking::ManualClock::new(start));
        let app = evgate::app::App::build_with(
            &config,
            evgate::app::Overrides {
                clock: Some(clock.clone()),
                charger_control: Some(
                    chargers
                        .unwrap_or_else(|| Arc::new(booking::charger_control::NoChargersConnected)),
                ),
                redis_prefix,
                ..Default::default()
            },
        )
        .await
        .expect("the gateway builds");
        // No worker runs: tests apply the inbox with `webhooks.process_due()`.
        Self {
            router: app.router(),
            keys: app.state.jwt.clone(),
            store: app.state.store.clone(),
            bookings: app.state.bookings.clone(),
            clock,
            events: app.events.clone(),
            webhooks: app.state.webhooks.clone(),
            database_url: config.database_url,
            database: app.database.clone(),
            ocpi: app.state.ocpi.clone(),
            _dir: dir,
        }
    }

    pub fn token(&self, user: i64, role: evgate::config::Role) -> String {
        let now = chrono::Utc::now().timestamp();
        self.keys
            .issue(user, role, std::time::Duration::from_secs(600), now)
            .expect("issue token")
    }

    pub fn admin(&self) -> String {
        self.token(1, evgate::config::Role::Admin)
    }

    pub fn user(&self) -> String {
        self.token(42, evgate::config::Role::User)
    }

    /// Sends a request; `body` is sent verbatim as JSON when given.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let mut req = axum::http::Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(axum::body::Body::from(b.to_owned())),
            None => req.body(axum::body::Body::empty()),
        }
        .expect("request");
        self.raw(req).await
    }

    pub async fn raw(
        &self,
        req: axum::http::Request<axum::body::Body>,
    ) -> (u16, serde_json::Value) {
        use tower::ServiceExt;
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "non-JSON body for {status}: {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        (status, json)
    }
}

/// Runs each named `async fn name(backend: &str)` twice: on SQLite with
/// in-process holds (`embedded::name`), and on PostgreSQL with Redis
/// (`cluster::name`, ignored unless `--ignored`, which `.ci/run` passes).
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name("sqlite").await;
                }
            )+
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL and Redis; run by .ci/run"]
                async fn $name() {
                    super::$name("cluster").await;
                }
            )+
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_backends;
