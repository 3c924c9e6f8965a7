//! Wiring: open the store, build the state, bind, serve until a shutdown
//! signal, then drain.

use std::future::Future;
use std::sync::Arc;

use booking::SystemClock;
use booking::cache::{LocalVersions, StationVersions};
use booking::holds::{HoldStore, InProcessHolds};
use booking::refunds::RefundOutbox;
use booking::service::{BookingService, Ports};
use tokio::net::TcpListener;

use crate::auth::{JwtKeys, KeySource};
use crate::config::{Config, ConfigError};
use crate::events::EventBus;
use evgate_cluster::{
    FailoverHolds, FailoverVersions, Redis, RedisHolds, RedisVersions, SharedState,
};
use evgate_store::PgHolds;

/// Namespace of evgate's keys in Redis.
const REDIS_PREFIX: &str = "evgate:";
use crate::http::{self, AppState};

/// Why the server could not start (after configuration was accepted).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] evgate_store::OpenError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot connect to REDIS_URL: {0}")]
    Redis(redis::RedisError),
    #[error("cannot open the hold store on DATABASE_URL: {0}")]
    HoldStore(sqlx::Error),
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// The ports instances share: holds and station versions, in process, in
/// Redis, or (Redis on PostgreSQL) in Redis with PostgreSQL behind it.
struct SharedPorts {
    holds: Arc<dyn HoldStore>,
    versions: Arc<dyn StationVersions>,
    /// Whether Redis answers, when PostgreSQL can stand in for it.
    shared: Option<Arc<SharedState>>,
}

async fn shared_ports(config: &Config, redis: Option<&Redis>) -> Result<SharedPorts, StartError> {
    let Some(redis) = redis else {
        return Ok(SharedPorts {
            holds: Arc::new(InProcessHolds::new()),
            versions: Arc::new(LocalVersions::default()),
            shared: None,
        });
    };
    let conn = redis.conn.clone();
    tracing::info!("Redis connected: holds and cache versions shared by all instances");
    let redis_holds = RedisHolds::new(conn.clone(), REDIS_PREFIX);
    let redis_versions = RedisVersions::new(conn.clone(), REDIS_PREFIX);
    if !matches!(
        evgate_store::Backend::of_url(&config.database_url),
        Ok(evgate_store::Backend::Postgres)
    ) {
        return Ok(SharedPorts {
            holds: Arc::new(redis_holds),
            versions: Arc::new(redis_versions),
            shared: None,
        });
    }
    // PostgreSQL sees every hold, and takes over when Redis is down.
    let pg = PgHolds::connect(&config.database_url)
        .await
        .map_err(StartError::HoldStore)?;
    let state = SharedState::new(conn);
    Ok(SharedPorts {
        holds: Arc::new(FailoverHolds {
            redis: redis_holds,
            pg,
            state: state.clone(),
        }),
        versions: Arc::new(FailoverVersions::new(redis_versions, state.clone())),
        shared: Some(state),
    })
}

/// Runs the gateway until `shutdown` resolves.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    config.validate()?;
    let cors = config.cors_origins()?;
    let ocpp_tls = config.ocpp_tls()?;
    let (keys, source) = JwtKeys::from_config(&config)?;
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
    let clock: Arc<dyn booking::Clock> = Arc::new(SystemClock);
    let registry = Arc::new(csms::Registry::default());
    let csms_config = config.csms();
    let local_chargers = csms::OcppChargers {
        registry: registry.clone(),
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
                .await
                .map_err(StartError::Redis)?
        }
        None => evgate_cluster::Chargers::local(local_chargers),
    };
    let SharedPorts {
        holds,
        versions,
        shared,
    } = shared_ports(&config, redis.as_ref()).await?;
    let events = EventBus::default();
    let bookings = BookingService::new(
        Ports {
            stations: store.clone(),
            registry: store.clone(),
            ledger: store.clone(),
            sessions: store.clone(),
            holds,
            chargers: Arc::new(chargers.clone()),
            events: Arc::new(events.clone()),
            clock: clock.clone(),
            versions,
        },
        config.booking_rules(),
    );
    let refunds = match &config.payment_webhook_url {
        Some(url) => {
            let gateway =
                crate::refunds::HttpRefunds::new(url, config.payment_webhook_secret.as_deref())
                    .map_err(|e| {
                        StartError::Config(ConfigError::new("PAYMENT_WEBHOOK_URL", e.to_string()))
                    })?;
            tracing::info!(url = %url, "refunds are delivered to PAYMENT_WEBHOOK_URL");
            Some(RefundOutbox {
                store: store.clone(),
                gateway: Arc::new(gateway),
                clock: clock.clone(),
                max_attempts: config.refund_max_attempts,
            })
        }
        None => {
            tracing::info!("PAYMENT_WEBHOOK_URL unset: refunds wait in the refund_requests table");
            None
        }
    };
    let webhooks = webhooks::VendorWebhooks::new(
        webhooks::WebhookPorts {
            store: database,
            stations: store.clone(),
            ledger: store.clone(),
            bookings: bookings.clone(),
            clock: clock.clone(),
        },
        config.webhook_max_attempts,
    );
    let _workers = crate::workers::spawn(
        bookings.clone(),
        config.no_show_interval(),
        refunds,
        webhooks.clone(),
    );
    let ocpp_listener = TcpListener::bind(config.ocpp_addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.ocpp_addr,
            source,
        })?;
    let ocpp_addr = ocpp_listener.local_addr().map_err(StartError::Serve)?;
    let csms = csms::Csms::new(
        csms::Deps {
            store: store.clone(),
            bookings: bookings.clone(),
            clock: clock.clone(),
            config: csms_config,
            elsewhere: Arc::new(chargers.clone()),
        },
        registry.clone(),
    );
    let csms_registry = registry;
    let (stop_ocpp, ocpp_stopped) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let mut ocpp = vec![tokio::spawn(csms::serve(
        ocpp_listener,
        csms.clone(),
        stopped(ocpp_stopped.clone()),
    ))];
    if let Some(acceptor) = ocpp_tls {
        let listener = TcpListener::bind(config.ocpp_tls_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.ocpp_tls_addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(StartError::Serve)?;
        tracing::info!(ocpp.tls_addr = %addr, "OCPP over TLS listening on wss://{addr}/ocpp/{{chargePointId}}");
        ocpp.push(tokio::spawn(csms::serve_tls(
            listener,
            acceptor,
            csms,
            stopped(ocpp_stopped),
        )));
    }
    tracing::info!(ocpp.addr = %ocpp_addr, "OCPP listening on ws://{ocpp_addr}/ocpp/{{chargePointId}}");
    let jwt = Arc::new(keys);
    let (realtime, io) = crate::realtime::layer(crate::realtime::Realtime {
        jwt: jwt.clone(),
        store: store.clone(),
    });
    let _relay = crate::realtime::spawn_relay(&events, io, redis.as_ref())
        .await
        .map_err(StartError::Redis)?;
    if config.redis_url.is_some() {
        tracing::info!("Socket.IO: updates shared across instances through Redis");
    }
    let sealer = config
        .credential_key
        .as_deref()
        .map(str::as_bytes)
        .or(jwt.shared_secret())
        .map(|secret| Arc::new(crate::operator::Sealer::from_secret(secret)));
    if sealer.is_none() {
        tracing::warn!(
            "no CREDENTIAL_KEY: credential changes for offline chargers will be refused"
        );
    }
    let rotation = crate::operator::CredentialRotation {
        store: store.clone(),
        chargers: chargers.clone(),
        clock: clock.clone(),
        sealer,
        settings: config.rotation(),
    };
    let _apply_queued =
        crate::operator::credentials::apply_on_connect(rotation.clone(), &csms_registry);
    let state = AppState {
        store,
        clock,
        jwt,
        bookings,
        chargers,
        webhooks,
        rotation,
        shared,
    };
    let listener = TcpListener::bind(config.http_addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.http_addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    tracing::info!(http.addr = %addr, "HTTP API listening on http://{addr}");
    axum::serve(listener, http::with_realtime(state, &cors, Some(realtime)))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(StartError::Serve)?;
    let closed = csms_registry.close_all();
    if closed > 0 {
        // Let the connections send their Close frames before the runtime
        // goes away with them.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while csms_registry.connected() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tracing::info!(chargers = closed, "closed charger connections");
    }
    let _ = stop_ocpp.send(true);
    for listener in ocpp {
        let _ = listener.await;
    }
    tracing::info!("shut down cleanly");
    Ok(())
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
