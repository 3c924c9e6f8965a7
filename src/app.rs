//! Wiring: [`App::build`] opens the stores, connects Redis and builds the
//! services; [`Listeners::bind`] binds; [`App::serve`] serves until the
//! shutdown signal, then drains and waits for every task it started.

use std::future::Future;
use std::sync::Arc;

use booking::SystemClock;
use booking::cache::{LocalVersions, StationVersions};
use booking::holds::{HoldStore, InProcessHolds};
use booking::refunds::RefundOutbox;
use booking::service::{BookingService, Ports};
use tokio::net::TcpListener;

use crate::config::{Config, ConfigError, CorsOrigins};
use crate::keys::{KeySource, jwt_keys};
use evgate_api::realtime::EventBus;
use evgate_cluster::{FailoverVersions, Redis, RedisHolds, RedisVersions, SharedState};
use evgate_store::PgHolds;

/// Namespace of evgate's keys in Redis.
const REDIS_PREFIX: &str = "evgate:";
use evgate_api::AppState;

/// Why the server could not start (after configuration was accepted).
/// Why the gateway did not start (or stopped serving); `main` turns a
/// `Config` error into exit code 2, the rest into 1.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting that parsed but makes no sense.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] evgate_store::OpenError),
    /// A listener's port is taken or not ours to bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Redis did not answer at start.
    #[error("cannot connect to REDIS_URL: {0}")]
    Redis(redis::RedisError),
    /// Cluster mode's PostgreSQL hold authority could not be opened.
    #[error("cannot open the hold store on DATABASE_URL: {0}")]
    HoldStore(sqlx::Error),
    /// An accept loop failed.
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// The ports instances share: holds and station versions, in process, in
/// Redis, or (Redis on PostgreSQL) holds in PostgreSQL and versions in Redis
/// with PostgreSQL standing in while it is down.
struct SharedPorts {
    holds: Arc<dyn HoldStore>,
    versions: Arc<dyn StationVersions>,
    /// Whether Redis answers, when PostgreSQL can stand in for it.
    shared: Option<Arc<SharedState>>,
}

async fn shared_ports(
    config: &Config,
    redis: Option<&Redis>,
    prefix: &str,
) -> Result<SharedPorts, StartError> {
    let Some(redis) = redis else {
        return Ok(SharedPorts {
            holds: Arc::new(InProcessHolds::new()),
            versions: Arc::new(LocalVersions::default()),
            shared: None,
        });
    };
    let conn = redis.conn.clone();
    tracing::info!("Redis connected: holds and cache versions shared by all instances");
    let redis_versions = RedisVersions::new(conn.clone(), prefix);
    if !matches!(
        evgate_store::Backend::of_url(&config.database_url),
        Ok(evgate_store::Backend::Postgres)
    ) {
        return Ok(SharedPorts {
            holds: Arc::new(RedisHolds::new(conn.clone(), prefix)),
            versions: Arc::new(redis_versions),
            shared: None,
        });
    }
    // PostgreSQL decides every hold beside the bookings, in one round trip
    // (an exclusion constraint and an advisory-locked cap make it atomic), so
    // holds do not depend on Redis at all.
    let pg = PgHolds::connect(&config.database_url)
        .await
        .map_err(StartError::HoldStore)?;
    let state = SharedState::new(conn);
    Ok(SharedPorts {
        holds: Arc::new(pg),
        versions: Arc::new(FailoverVersions::new(redis_versions, state.clone())),
        shared: Some(state),
    })
}

/// The gateway, built from its configuration: stores open, Redis
/// connected, every service constructed; nothing listening and no
/// background task of its own started yet.
pub struct App {
    /// The HTTP API's state (the services, the clock, the keys).
    pub state: AppState,
    /// The database behind every storage port.
    pub database: Arc<dyn evgate_store::Database>,
    /// The OCPP central system, served on the listeners.
    pub csms: csms::Csms,
    /// What the booking core publishes, for the realtime fan-out.
    pub events: EventBus,
    cors: CorsOrigins,
    ocpp_tls: Option<csms::tls::Acceptor>,
    /// Announces bookings on chargers' screens; follows `events` once served.
    displays: csms::display::Displays,
    /// Tells charging 2.0.1 chargers their running cost; follows `events`.
    cost_updates: csms::costs::CostUpdates,
    /// Puts bookings' tags on chargers' local lists; follows `events`.
    local_lists: csms::local_list::LocalLists,
    /// Shares stations' power caps as sessions start and end; follows `events`.
    power_cap: csms::power_cap::PowerCap,
    redis: Option<Redis>,
    refunds: Option<RefundOutbox>,
    no_show_interval: std::time::Duration,
    http_limits: crate::serve::ConnectionLimits,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

/// What tests put in place of the real thing; the binary overrides nothing.
#[derive(Debug, Default)]
pub struct Overrides {
    /// A clock the test moves, instead of the system clock.
    pub clock: Option<Arc<dyn booking::Clock>>,
    /// Chargers as the booking core reserves them, instead of OCPP.
    pub charger_control: Option<Arc<dyn booking::charger_control::ChargerControl>>,
    /// Where this instance's keys live in Redis, instead of `evgate:`.
    pub redis_prefix: Option<String>,
    /// DataTransfer vendor handlers, instead of [`vendor_extensions`].
    pub vendor_extensions: Option<csms::data_transfer::VendorExtensions>,
}

/// The DataTransfer vendor handlers the binary registers at start: where a
/// deployment adds its own (`.with("com.example", handler)`, a
/// [`csms::data_transfer::VendorHandler`]). Ships evgate's `org.evgate`
/// `Ping` echo; any other vendor is answered `UnknownVendorId`.
pub fn vendor_extensions() -> csms::data_transfer::VendorExtensions {
    csms::data_transfer::VendorExtensions::builtin()
}

/// The sockets the gateway serves on, bound before it starts so a caller
/// (a test, a supervisor) can read the addresses.
#[derive(Debug)]
pub struct Listeners {
    /// REST and Socket.IO (`PORT`).
    pub http: TcpListener,
    /// `ws://` OCPP (`OCPP_PORT`).
    pub ocpp: TcpListener,
    /// `wss://`, when `OCPP_TLS_CERT` is set.
    pub ocpp_tls: Option<TcpListener>,
    /// `/metrics` alone, when `METRICS_ADDR` is set.
    pub metrics: Option<TcpListener>,
}

impl Listeners {
    /// Binds the configured addresses (port 0 picks a free port).
    pub async fn bind(config: &Config) -> Result<Self, StartError> {
        let bind = |addr: std::net::SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })
        };
        let ocpp_tls = if config.ocpp_tls_cert.is_some() {
            Some(bind(config.ocpp_tls_addr).await?)
        } else {
            None
        };
        let metrics = match config.metrics_addr {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        Ok(Self {
            http: bind(config.http_addr).await?,
            ocpp: bind(config.ocpp_addr).await?,
            ocpp_tls,
            metrics,
        })
    }
}

/// Runs the gateway until `shutdown` resolves.
pub async fn serve(
    mut config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let wanted = config.ocpp_max_connections;
    let open_files = fit_connections_to_open_files(&mut config);
    let app = App::build(&config).await?;
    // Said once the configuration has passed: a bad one is one line.
    if let Some(open_files) = open_files {
        if config.ocpp_max_connections < wanted {
            tracing::warn!(
                open_files,
                wanted,
                limit = config.ocpp_max_connections,
                "OCPP_MAX_CONNECTIONS lowered to fit the open-file limit; raise the limit \
                 (ulimit -n, systemd LimitNOFILE, docker --ulimit nofile) to keep it"
            );
        } else {
            tracing::info!(open_files, "open-file limit");
        }
    }
    let listeners = Listeners::bind(&config).await?;
    app.serve(listeners, shutdown).await
}

/// Raises the open-file limit and lowers `OCPP_MAX_CONNECTIONS` to fit
/// under it (see [`crate::open_files`]); the limit in force, if readable.
fn fit_connections_to_open_files(config: &mut Config) -> Option<u64> {
    let open_files = crate::open_files::raise_to_hard_limit()?;
    config.ocpp_max_connections = crate::open_files::charger_limit_that_fits(
        config.ocpp_max_connections,
        config.http_max_connections,
        open_files,
    );
    Some(open_files)
}

impl App {
    /// Validates the configuration, opens the stores, connects Redis and
    /// builds every service.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        Self::build_with(config, Overrides::default()).await
    }

    /// [`App::build`] with parts replaced (tests).
    pub async fn build_with(config: &Config, overrides: Overrides) -> Result<Self, StartError> {
        config.validate()?;
        // Before anything records: series looked up early keep their handles.
        crate::metrics::recorder();
        let cors = config.cors_origins()?;
        let ocpp_tls = config.ocpp_tls()?;
        let certificates = config.ocpp_ca()?;
        let (keys, source) = jwt_keys(config)?;
        match &source {
            KeySource::Secret => tracing::info!("JWT: HS256 with JWT_SECRET"),
            KeySource::PublicKeyFile(p) => {
                tracing::info!(path = %p.display(), "JWT: RS256 with a public key")
            }
            KeySource::DevelopmentSecret { path, created } => tracing::warn!(
                path = %path.display(),
                created,
                "JWT: no JWT_SECRET set; using a development secret kept beside the database \
                 (`evgate token` signs with it). Set JWT_SECRET in production."
            ),
        }
        let database = evgate_store::open(&config.database_url).await?;
        let store: Arc<dyn booking::Store> = database.clone();
        tracing::info!(database = %redact(&config.database_url), "store open, migrations applied");
        let clock = overrides
            .clock
            .unwrap_or_else(|| Arc::new(SystemClock) as Arc<dyn booking::Clock>);
        let registry = Arc::new(csms::Registry::new(csms::journal::Journals::new(
            usize::try_from(config.ocpp_journal_size).unwrap_or(usize::MAX),
            usize::try_from(config.ocpp_journal_max_mb << 20).unwrap_or(usize::MAX),
        )));
        let csms_config = config.csms();
        let charging_clocks = csms::costs::ChargingClocks::default();
        let cost_updates = csms::costs::CostUpdates {
            registry: registry.clone(),
            store: store.clone(),
            clocks: charging_clocks.clone(),
            clock: clock.clone(),
            interval: config.cost_update_interval(),
        };
        let displays = csms::display::Displays {
            registry: registry.clone(),
            store: store.clone(),
            clock: clock.clone(),
            announcements: config.announcements(),
            device_model: database.clone(),
        };
        let device_model = csms::DeviceModel::new(
            database.clone(),
            store.clone(),
            registry.clone(),
            clock.clone(),
        );
        let local_lists = csms::local_list::LocalLists::new(
            store.clone(),
            clock.clone(),
            registry.clone(),
            config.booking_local_list,
        );
        let smart_charging = csms::smart_charging::SmartCharging::new(
            registry.clone(),
            store.clone(),
            clock.clone(),
        );
        let local_chargers = csms::OcppChargers {
            registry: registry.clone(),
            displays: displays.clone(),
            device_model: device_model.clone(),
            smart_charging: smart_charging.clone(),
        };
        let redis = match &config.redis_url {
            Some(url) => Some(Redis::connect(url).await.map_err(StartError::Redis)?),
            None => None,
        };
        let chargers = match &redis {
            Some(redis) => {
                let instance = config
                    .instance_id
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                tracing::info!(instance = %instance, "cluster: commands reach chargers on any instance");
                let deadline = csms_config.call_timeout + std::time::Duration::from_secs(2);
                evgate_cluster::Chargers::clustered(local_chargers, redis, instance, deadline)
            }
            None => evgate_cluster::Chargers::local(local_chargers),
        };
        let SharedPorts {
            holds,
            versions,
            shared,
        } = shared_ports(
            config,
            redis.as_ref(),
            overrides.redis_prefix.as_deref().unwrap_or(REDIS_PREFIX),
        )
        .await?;
        let charger_control = overrides
            .charger_control
            .unwrap_or_else(|| Arc::new(chargers.clone()));
        let events = EventBus::default();
        let bookings = BookingService::new(
            Ports {
                stations: store.clone(),
                registry: store.clone(),
                ledger: store.clone(),
                sessions: store.clone(),
                holds,
                chargers: charger_control,
                events: Arc::new(events.clone()),
                clock: clock.clone(),
                versions,
            },
            config.booking_rules(),
        );
        let refunds = refund_outbox(config, &store, &clock)?;
        let webhooks = webhooks::VendorWebhooks::new(
            webhooks::WebhookPorts {
                store: database.clone(),
                stations: store.clone(),
                ledger: store.clone(),
                bookings: bookings.clone(),
                clock: clock.clone(),
            },
            config.webhook_max_attempts,
        )
        .limit_per_vendor(config.webhooks_per_vendor());
        let ocpi = ocpi::Ocpi::new(
            database.clone(),
            store.clone(),
            Arc::new(crate::roaming::RoamingChargers(chargers.clone())),
            Arc::new(ocpi::HttpPartners::new(std::time::Duration::from_secs(10))),
            clock.clone(),
            bookings.clone(),
            config.ocpi()?,
        );
        let csms = csms::Csms::new(
            csms::Deps {
                store: store.clone(),
                bookings: bookings.clone(),
                clock: clock.clone(),
                config: csms_config,
                elsewhere: Arc::new(chargers.clone()),
                presence: csms::PresenceWriter::new(store.clone()),
                pending_starts: csms::PendingStarts::default(),
                charging_clocks: charging_clocks.clone(),
                device_model,
                local_lists: local_lists.clone(),
                vendor_extensions: overrides
                    .vendor_extensions
                    .unwrap_or_else(vendor_extensions),
                certificates: certificates.clone(),
                smart_charging,
                remote_authorizer: Arc::new(ocpi.clone()),
            },
            registry,
        );
        let jwt = Arc::new(keys);
        let sealer = config
            .credential_key
            .as_deref()
            .map(str::as_bytes)
            .or(jwt.shared_secret())
            .map(|secret| Arc::new(evgate_operator::Sealer::from_secret(secret)));
        if sealer.is_none() {
            tracing::warn!(
                "no CREDENTIAL_KEY: credential changes for offline chargers will be refused"
            );
        }
        let rotation = evgate_operator::CredentialRotation {
            store: store.clone(),
            chargers: chargers.clone(),
            clock: clock.clone(),
            sealer,
            settings: config.rotation(),
            passwords: csms.passwords.clone(),
        };
        let power_cap = csms::power_cap::PowerCap {
            store: store.clone(),
            chargers: Arc::new(chargers.clone()),
            clock: clock.clone(),
        };
        let state = AppState::from(evgate_api::Services {
            store,
            clock,
            jwt,
            bookings,
            chargers,
            webhooks,
            rotation,
            shared,
            limits: evgate_api::limits::RateLimits::new(config.rate_limits()),
            device_model: database.clone(),
            local_lists: local_lists.clone(),
            certificates,
            uploads: config.uploads(),
            operators: database.clone(),
            views: database.clone(),
            site: database.clone(),
            sign_in_throttle: Default::default(),
            ocpi,
        });
        Ok(Self {
            state,
            database,
            csms,
            events,
            cors,
            ocpp_tls,
            displays,
            cost_updates,
            local_lists,
            power_cap,
            redis,
            refunds,
            no_show_interval: config.no_show_interval(),
            http_limits: config.http_limits(),
        })
    }

    /// The REST API alone (no Socket.IO), for driving in process.
    pub fn router(&self) -> axum::Router {
        evgate_api::router(self.state.clone(), &self.cors)
    }

    /// Serves HTTP, Socket.IO and OCPP on `listeners` and runs the
    /// background work until `shutdown` resolves; then stops taking
    /// requests, closes the charger connections and waits for every task
    /// it started.
    pub async fn serve(
        self,
        listeners: Listeners,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let Self {
            state,
            database: _,
            csms,
            events,
            cors,
            ocpp_tls,
            displays,
            cost_updates,
            local_lists,
            power_cap,
            redis,
            refunds,
            no_show_interval,
            http_limits,
        } = self;
        // Background loops: owned here, stopped at the end.
        let mut background = crate::workers::spawn(
            state.bookings.clone(),
            no_show_interval,
            refunds,
            state.webhooks.clone(),
        );
        if let Some(redis) = &redis {
            // Before the listeners: a charger that connects is claimed, and
            // commands relayed for it from other instances are served.
            background.adopt(
                state
                    .chargers
                    .join(redis)
                    .await
                    .map_err(StartError::Redis)?,
            );
        }
        let (stop_ocpp, ocpp_stopped) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let mut ocpp = tokio::task::JoinSet::new();
        let ocpp_addr = listeners.ocpp.local_addr().map_err(StartError::Serve)?;
        ocpp.spawn(csms::serve(
            listeners.ocpp,
            csms.clone(),
            stopped(ocpp_stopped.clone()),
        ));
        if let (Some(acceptor), Some(listener)) = (ocpp_tls, listeners.ocpp_tls) {
            let addr = listener.local_addr().map_err(StartError::Serve)?;
            tracing::info!(ocpp.tls_addr = %addr, "OCPP over TLS listening on wss://{addr}/ocpp/{{chargePointId}}");
            ocpp.spawn(csms::serve_tls(
                listener,
                acceptor,
                csms.clone(),
                stopped(ocpp_stopped),
            ));
        }
        tracing::info!(ocpp.addr = %ocpp_addr, "OCPP listening on ws://{ocpp_addr}/ocpp/{{chargePointId}}");
        let (realtime, io) = evgate_api::realtime::layer(evgate_api::realtime::Realtime {
            jwt: state.jwt.clone(),
            store: state.store.clone(),
        });
        let relay = evgate_api::realtime::spawn_relay(&events, io, redis.as_ref())
            .await
            .map_err(StartError::Redis)?;
        if redis.is_some() {
            tracing::info!("Socket.IO: updates shared across instances through Redis");
        }
        background.adopt(relay);
        let handle = crate::metrics::recorder();
        background.adopt(crate::metrics::spawn(&events, handle.clone()));
        background.adopt(vec![
            tokio::spawn(displays.follow(events.subscribe())),
            tokio::spawn(cost_updates.follow(events.subscribe())),
            tokio::spawn(local_lists.follow(events.subscribe(), Arc::new(state.chargers.clone()))),
            tokio::spawn(power_cap.follow(events.subscribe())),
            tokio::spawn(state.ocpi.clone().follow(events.subscribe())),
            tokio::spawn(state.ocpi.clone().run_pusher()),
        ]);
        let scrape = crate::metrics::Scrape {
            handle,
            tallies: state.store.clone(),
            webhooks: state.webhooks.clone(),
            shared: state.shared.clone(),
            ocpi: state.ocpi.clone(),
        };
        let metrics_route = axum::Router::new()
            .route("/metrics", axum::routing::get(crate::metrics::render))
            .with_state(scrape);
        let rotation = state.rotation.clone();
        let mut api = evgate_api::with_realtime(state, &cors, Some(realtime));
        match listeners.metrics {
            Some(listener) => {
                let addr = listener.local_addr().map_err(StartError::Serve)?;
                tracing::info!(metrics.addr = %addr, "metrics on http://{addr}/metrics");
                background.adopt(vec![tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, metrics_route).await {
                        tracing::error!(error = %e, "metrics listener failed");
                    }
                })]);
            }
            None => api = metrics_route.merge(api),
        }
        background.adopt(vec![
            evgate_operator::credentials::apply_on_connect(rotation, &csms.registry),
            tokio::spawn(
                csms.deps
                    .presence
                    .clone()
                    .run(csms.deps.config.presence_flush),
            ),
        ]);
        let addr = listeners.http.local_addr().map_err(StartError::Serve)?;
        tracing::info!(http.addr = %addr, "HTTP API listening on http://{addr}");
        crate::serve::serve(listeners.http, api, http_limits, shutdown).await;
        // The OCPP listeners stop accepting, close their connections and
        // wait for them (bounded); then the background loops stop.
        let _ = stop_ocpp.send(true);
        while ocpp.join_next().await.is_some() {}
        // Last-seen times still in memory reach the store before the end.
        csms.deps.presence.flush().await;
        background.stop().await;
        tracing::info!("shut down cleanly");
        Ok(())
    }
}

fn refund_outbox(
    config: &Config,
    store: &Arc<dyn booking::Store>,
    clock: &Arc<dyn booking::Clock>,
) -> Result<Option<RefundOutbox>, StartError> {
    let Some(url) = &config.payment_webhook_url else {
        tracing::info!("PAYMENT_WEBHOOK_URL unset: refunds wait in the refund_requests table");
        return Ok(None);
    };
    let gateway = crate::refunds::HttpRefunds::new(url, config.payment_webhook_secret.as_deref())
        .map_err(|e| {
        StartError::Config(ConfigError::new("PAYMENT_WEBHOOK_URL", e.to_string()))
    })?;
    tracing::info!(url = %url, "refunds are delivered to PAYMENT_WEBHOOK_URL");
    Ok(Some(RefundOutbox {
        store: store.clone(),
        gateway: Arc::new(gateway),
        clock: clock.clone(),
        max_attempts: config.refund_max_attempts,
    }))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}

/// A database URL fit for logs: no password.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            redact("postgres://evgate:s3cret@db:5432/ev"),
            "postgres://evgate:***@db:5432/ev"
        );
        assert_eq!(redact("postgres://db/ev"), "postgres://db/ev");
        assert_eq!(redact("sqlite://evgate.db"), "sqlite://evgate.db");
    }
}
