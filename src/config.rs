//! Configuration: every setting by environment variable or CLI flag (the
//! flag wins). A bad setting is reported in one line naming it, and the
//! process exits with code 2.
//!
//! Over 600 lines on purpose: every setting is one documented field of one
//! clap struct (its flag, variable, default and range together), and the
//! checks clap cannot express and the conversions into each crate's
//! settings sit beside them; split, a setting would be read in two places.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
pub use evgate_api::CorsOrigins;
pub use evgate_api::jwt::Role;

/// OCPP-native charge-point gateway with a booking service
#[derive(Debug, Parser)]
#[command(name = "evgate", version)]
pub struct Cli {
    /// Every setting (flags or environment variables).
    #[command(flatten)]
    pub config: Config,
    /// What to do; serving is the default.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Print a JWT signed with the configured secret, for development and tests.
    Token(TokenArgs),
    /// Run the gateway with simulated chargers on a sample site and an admin
    /// operator, in a fresh temporary database: the console to look at in
    /// a minute.
    Demo,
    /// Manage the operator console's accounts.
    #[command(subcommand)]
    Operator(OperatorCommand),
}

/// `evgate operator …`.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add an operator account; prints a generated password once unless
    /// `--password-stdin` gives one.
    Add(OperatorArgs),
    /// Set a new password for an operator (their sessions end); prints a
    /// generated one unless `--password-stdin` gives one.
    SetPassword(OperatorArgs),
}

/// An operator command's arguments.
#[derive(Debug, Args)]
pub struct OperatorArgs {
    /// The name they sign in with.
    pub name: String,
    /// `admin` (sees and changes) or `viewer` (sees only); for `add`.
    #[arg(long, default_value = "viewer")]
    pub role: booking::operators::OperatorRole,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `evgate token`'s arguments.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// User id (`sub`).
    #[arg(long)]
    pub user: i64,
    /// `user` or `admin`.
    #[arg(long, default_value = "user")]
    pub role: Role,
    /// Lifetime, e.g. `30m`, `1h`, `7d`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
}

/// What a charger with no admission of its own hears at boot (`OCPP_ADMISSION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Admission {
    /// Admitted at once.
    Accepted,
    /// Held until an operator admits it.
    Pending,
    /// Refused.
    Rejected,
}

/// Which TLS implementation serves `wss://` (`OCPP_TLS_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsBackend {
    /// TLS 1.2 and 1.3 with ECDHE suites only (the default).
    Rustls,
    /// The same, plus the static-RSA suites OCPP 2.0.1 A00.FR.318 lists
    /// (`TLS_RSA_WITH_AES_128_GCM_SHA256`, `…_256_GCM_SHA384`), for
    /// chargers that offer nothing else.
    Openssl,
}

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For people at a terminal.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Settings shared by every subcommand. Value names are the environment
/// variables, so an error message names the setting either way.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// `sqlite://path` (embedded, created on first start) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        default_value = "sqlite://evgate.db",
        global = true
    )]
    pub database_url: String,

    /// `redis://…`; without it holds, caches and events stay in process.
    #[arg(long, env = "REDIS_URL", value_name = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,

    /// This instance's name in the cluster (chargers it holds are
    /// announced under it); generated at start when unset.
    #[arg(long, env = "INSTANCE_ID", value_name = "INSTANCE_ID", global = true)]
    pub instance_id: Option<String>,

    /// REST and Socket.IO listen address.
    #[arg(
        long,
        env = "HTTP_ADDR",
        value_name = "HTTP_ADDR",
        default_value = "0.0.0.0:7103",
        global = true
    )]
    pub http_addr: SocketAddr,

    /// OCPP WebSocket listen address.
    #[arg(
        long,
        env = "OCPP_ADDR",
        value_name = "OCPP_ADDR",
        default_value = "0.0.0.0:9000",
        global = true
    )]
    pub ocpp_addr: SocketAddr,

    /// Where Prometheus scrapes `/metrics`. Unset: on the HTTP port beside
    /// the API; set (e.g. `127.0.0.1:9100`): only there, so it can stay
    /// internal.
    #[arg(long, env = "METRICS_ADDR", value_name = "METRICS_ADDR", global = true)]
    pub metrics_addr: Option<SocketAddr>,

    /// OCPP over TLS (`wss://`), served when OCPP_TLS_CERT and OCPP_TLS_KEY are set.
    #[arg(
        long,
        env = "OCPP_TLS_ADDR",
        value_name = "OCPP_TLS_ADDR",
        default_value = "0.0.0.0:9443",
        global = true
    )]
    pub ocpp_tls_addr: SocketAddr,

    /// PEM certificate chain of the OCPP TLS listener.
    #[arg(
        long,
        env = "OCPP_TLS_CERT",
        value_name = "OCPP_TLS_CERT",
        global = true
    )]
    pub ocpp_tls_cert: Option<PathBuf>,

    /// PEM private key of the OCPP TLS listener.
    #[arg(long, env = "OCPP_TLS_KEY", value_name = "OCPP_TLS_KEY", global = true)]
    pub ocpp_tls_key: Option<PathBuf>,

    /// PEM CA that signs chargers' client certificates (security profile 3).
    #[arg(
        long,
        env = "OCPP_TLS_CLIENT_CA",
        value_name = "OCPP_TLS_CLIENT_CA",
        global = true
    )]
    pub ocpp_tls_client_ca: Option<PathBuf>,

    /// PEM CA certificate that signs chargers' certificates (SignCertificate);
    /// without it CSRs are answered Rejected. Needs OCPP_CA_KEY_FILE.
    #[arg(
        long,
        env = "OCPP_CA_CERT_FILE",
        value_name = "OCPP_CA_CERT_FILE",
        global = true
    )]
    pub ocpp_ca_cert_file: Option<PathBuf>,

    /// PKCS#8 PEM private key of OCPP_CA_CERT_FILE (held in memory only).
    #[arg(
        long,
        env = "OCPP_CA_KEY_FILE",
        value_name = "OCPP_CA_KEY_FILE",
        global = true
    )]
    pub ocpp_ca_key_file: Option<PathBuf>,

    /// When set, a charger's CSR must name this organization (O), as
    /// 2.0.1's `SecurityCtrlr.OrganizationName` says.
    #[arg(
        long,
        env = "OCPP_CA_ORGANIZATION",
        value_name = "OCPP_CA_ORGANIZATION",
        global = true
    )]
    pub ocpp_ca_organization: Option<String>,

    /// The TLS implementation of the OCPP TLS listener: `rustls`, or
    /// `openssl` to also accept chargers that only offer the static-RSA
    /// suites of OCPP 2.0.1 A00.FR.318 (needs an RSA certificate for them).
    #[arg(
        long,
        env = "OCPP_TLS_BACKEND",
        value_name = "OCPP_TLS_BACKEND",
        value_enum,
        default_value = "rustls",
        global = true
    )]
    pub ocpp_tls_backend: TlsBackend,

    /// HS256 secret (at least 32 characters). Without it and without
    /// JWT_PUBLIC_KEY_FILE, an embedded (SQLite) setup generates one and keeps
    /// it beside the database.
    #[arg(
        long,
        env = "JWT_SECRET",
        value_name = "JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<String>,

    /// PEM RSA public key: verify RS256 tokens issued elsewhere instead of HS256.
    #[arg(
        long,
        env = "JWT_PUBLIC_KEY_FILE",
        value_name = "JWT_PUBLIC_KEY_FILE",
        global = true
    )]
    pub jwt_public_key_file: Option<PathBuf>,

    /// How long a slot hold lives before it must be confirmed.
    #[arg(long, env = "BOOKING_HOLD_TTL_SECONDS", value_name = "BOOKING_HOLD_TTL_SECONDS",
          default_value_t = 600, value_parser = clap::value_parser!(u64).range(10..=86_400), global = true)]
    pub booking_hold_ttl_seconds: u64,

    /// How late a driver may arrive before the booking is a no-show.
    #[arg(long, env = "BOOKING_NO_SHOW_GRACE_PERIOD_MINUTES", value_name = "BOOKING_NO_SHOW_GRACE_PERIOD_MINUTES",
          default_value_t = 15, value_parser = clap::value_parser!(u64).range(0..=1440), global = true)]
    pub booking_no_show_grace_period_minutes: u64,

    /// How often the no-show worker runs.
    #[arg(long, env = "NO_SHOW_WORKER_INTERVAL_MS", value_name = "NO_SHOW_WORKER_INTERVAL_MS",
          default_value_t = 300_000, value_parser = clap::value_parser!(u64).range(100..=86_400_000), global = true)]
    pub no_show_worker_interval_ms: u64,

    /// Heartbeat interval told to chargers at boot.
    #[arg(long, env = "OCPP_HEARTBEAT_INTERVAL_SECONDS", value_name = "OCPP_HEARTBEAT_INTERVAL_SECONDS",
          default_value_t = 300, value_parser = clap::value_parser!(u64).range(10..=86_400), global = true)]
    pub ocpp_heartbeat_interval_seconds: u64,

    /// When a charger answered Pending or Rejected at boot should boot again.
    #[arg(long, env = "OCPP_BOOT_RETRY_INTERVAL_SECONDS", value_name = "OCPP_BOOT_RETRY_INTERVAL_SECONDS",
          default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub ocpp_boot_retry_interval_seconds: u64,

    /// How long a command to a charger (ReserveNow, …) waits for its answer.
    #[arg(long, env = "OCPP_CALL_TIMEOUT_SECONDS", value_name = "OCPP_CALL_TIMEOUT_SECONDS",
          default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    pub ocpp_call_timeout_seconds: u64,

    /// How long a charger may be away before its connectors show OFFLINE.
    #[arg(long, env = "OCPP_OFFLINE_GRACE_SECONDS", value_name = "OCPP_OFFLINE_GRACE_SECONDS",
          default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400), global = true)]
    pub ocpp_offline_grace_seconds: u64,

    /// Charger connections open at once (handshakes included); beyond it
    /// a handshake is answered 503 with Retry-After.
    #[arg(long, env = "OCPP_MAX_CONNECTIONS", value_name = "OCPP_MAX_CONNECTIONS",
          default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000), global = true)]
    pub ocpp_max_connections: u64,

    /// Frames kept per charger in the OCPP message journal (both directions;
    /// 0 turns the journal off).
    #[arg(long, env = "OCPP_JOURNAL_SIZE", value_name = "OCPP_JOURNAL_SIZE",
          default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=100_000), global = true)]
    pub ocpp_journal_size: u64,

    /// Memory all journals of this instance may hold together, in MiB; a
    /// charger over it forgets its own oldest frames first.
    #[arg(long, env = "OCPP_JOURNAL_MAX_MB", value_name = "OCPP_JOURNAL_MAX_MB",
          default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65_536), global = true)]
    pub ocpp_journal_max_mb: u64,

    /// HTTP connections open at once (kept separate from the chargers'):
    /// beyond it a client is answered 503 with Retry-After and closed.
    #[arg(long, env = "HTTP_MAX_CONNECTIONS", value_name = "HTTP_MAX_CONNECTIONS",
          default_value_t = 4_096, value_parser = clap::value_parser!(u64).range(1..=1_000_000), global = true)]
    pub http_max_connections: u64,

    /// Seconds a client has to send a request head (and to send the next
    /// one on a kept-alive connection) before the connection is closed.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_SECONDS", value_name = "HTTP_HEADER_TIMEOUT_SECONDS",
          default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600), global = true)]
    pub http_header_timeout_seconds: u64,

    /// Requests per second one source address may make on every HTTP route
    /// but the vendor webhooks (IPv6: per /64); beyond it 429 with
    /// Retry-After. 0 turns it off.
    #[arg(long, env = "RATE_LIMIT_HTTP_PER_SOURCE", value_name = "RATE_LIMIT_HTTP_PER_SOURCE",
          default_value_t = 200, value_parser = clap::value_parser!(u32), global = true)]
    pub rate_limit_http_per_source: u32,

    /// Vendor webhook requests per second from one source address, signed
    /// or not (a bad-signature flood stops here). 0 turns it off.
    #[arg(long, env = "RATE_LIMIT_WEBHOOKS_PER_SOURCE", value_name = "RATE_LIMIT_WEBHOOKS_PER_SOURCE",
          default_value_t = 1_000, value_parser = clap::value_parser!(u32), global = true)]
    pub rate_limit_webhooks_per_source: u32,

    /// Authenticated webhook deliveries per second per vendor. 0 turns it off.
    #[arg(long, env = "RATE_LIMIT_WEBHOOKS_PER_VENDOR", value_name = "RATE_LIMIT_WEBHOOKS_PER_VENDOR",
          default_value_t = 1_000, value_parser = clap::value_parser!(u32), global = true)]
    pub rate_limit_webhooks_per_vendor: u32,

    /// Reverse proxies (addresses or CIDR blocks, comma-separated) whose
    /// X-Forwarded-For names the client, for the per-address limits of the
    /// HTTP API and the charger handshakes. Empty: no proxy is believed.
    #[arg(
        long,
        env = "TRUSTED_PROXIES",
        value_name = "TRUSTED_PROXIES",
        default_value = "",
        global = true
    )]
    pub trusted_proxies: String,

    /// Holds one user may ask for per minute. 0 turns it off.
    #[arg(long, env = "RATE_LIMIT_HOLDS_PER_USER", value_name = "RATE_LIMIT_HOLDS_PER_USER",
          default_value_t = 30, value_parser = clap::value_parser!(u32), global = true)]
    pub rate_limit_holds_per_user: u32,

    /// Charger connection attempts per second from one source address
    /// (refused with 429 before the handshake). 0 turns it off.
    #[arg(long, env = "RATE_LIMIT_OCPP_HANDSHAKES_PER_SOURCE", value_name = "RATE_LIMIT_OCPP_HANDSHAKES_PER_SOURCE",
          default_value_t = 100, value_parser = clap::value_parser!(u32), global = true)]
    pub rate_limit_ocpp_handshakes_per_source: u32,

    /// Messages per second one charger may send: beyond it its CALLs get a
    /// CALLERROR (GenericError), and a charger that sends a second's worth
    /// more without waiting is closed (1008). 0 turns it off.
    #[arg(long, env = "RATE_LIMIT_OCPP_MESSAGES_PER_CHARGER", value_name = "RATE_LIMIT_OCPP_MESSAGES_PER_CHARGER",
          default_value_t = 50, value_parser = clap::value_parser!(u32), global = true)]
    pub rate_limit_ocpp_messages_per_charger: u32,

    /// How BootNotifications are answered: Accepted, or Pending/Rejected to
    /// admit chargers deliberately (they may only boot until accepted).
    #[arg(
        long,
        env = "OCPP_DEFAULT_ADMISSION",
        value_name = "OCPP_DEFAULT_ADMISSION",
        value_enum,
        default_value = "accepted",
        global = true
    )]
    pub ocpp_default_admission: Admission,

    /// Let chargers with an identity nobody registered connect: they are
    /// listed at GET /v1/admin/chargers/unassigned and held Pending (they
    /// may only boot) until an operator creates them at a station.
    #[arg(long, env = "OCPP_AUTO_REGISTER", value_name = "OCPP_AUTO_REGISTER",
        default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub ocpp_auto_register: bool,

    /// How many days ahead a slot may be held (the availability window).
    #[arg(long, env = "BOOKING_HORIZON_DAYS", value_name = "BOOKING_HORIZON_DAYS",
          default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=365), global = true)]
    pub booking_horizon_days: u64,

    /// Unconfirmed holds one user may have at once (admins are not
    /// capped); beyond it 409 HOLD_LIMIT_REACHED. 0 turns the cap off.
    #[arg(long, env = "BOOKING_MAX_LIVE_HOLDS_PER_USER", value_name = "BOOKING_MAX_LIVE_HOLDS_PER_USER",
          default_value_t = 3, value_parser = clap::value_parser!(u32), global = true)]
    pub booking_max_live_holds_per_user: u32,

    /// Announce a booking on the reserved OCPP 2.0.1 charger's screen
    /// ("Reserved 14:00–15:00", SetDisplayMessage), taken down when the
    /// booking is fulfilled, cancelled or a no-show.
    #[arg(long, env = "BOOKING_DISPLAY_MESSAGES", value_name = "BOOKING_DISPLAY_MESSAGES",
        default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub booking_display_messages: bool,

    /// Put a confirmed booking's id tag on its charger's local
    /// authorization list until the booking's end (SendLocalList), so its
    /// driver can start while the charger is offline; taken off when the
    /// booking completes, is cancelled or is a no-show.
    #[arg(long, env = "BOOKING_LOCAL_LIST", value_name = "BOOKING_LOCAL_LIST",
        default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub booking_local_list: bool,

    /// The IANA time zone booking announcements write their slot in
    /// (e.g. Europe/Amsterdam); UTC says so on the screen.
    #[arg(long, env = "BOOKING_DISPLAY_TIME_ZONE", value_name = "BOOKING_DISPLAY_TIME_ZONE",
        default_value = "UTC", value_parser = csms::display::time_zone, global = true)]
    pub booking_display_time_zone: csms::display::Tz,

    /// How often a charging 2.0.1 charger is told its running cost
    /// (CostUpdated, riding on its meter values); 0: never (it still hears
    /// the cost in each TransactionEvent answer).
    #[arg(long, env = "TARIFF_COST_UPDATE_INTERVAL_SECONDS", value_name = "TARIFF_COST_UPDATE_INTERVAL_SECONDS",
        default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400), global = true)]
    pub tariff_cost_update_interval_seconds: u64,

    /// Longest booking allowed.
    #[arg(long, env = "BOOKING_MAX_DURATION_MINUTES", value_name = "BOOKING_MAX_DURATION_MINUTES",
          default_value_t = 240, value_parser = clap::value_parser!(u64).range(5..=1440), global = true)]
    pub booking_max_duration_minutes: u64,

    /// How long before its start a booking is reserved on the charger (ReserveNow).
    #[arg(long, env = "RESERVATION_LEAD_MINUTES", value_name = "RESERVATION_LEAD_MINUTES",
          default_value_t = 15, value_parser = clap::value_parser!(u64).range(0..=1440), global = true)]
    pub reservation_lead_minutes: u64,

    /// Where refunds are POSTed (the payment side); unset keeps them in the
    /// outbox table.
    #[arg(
        long,
        env = "PAYMENT_WEBHOOK_URL",
        value_name = "PAYMENT_WEBHOOK_URL",
        global = true
    )]
    pub payment_webhook_url: Option<String>,

    /// Key (at least 32 characters) sealing credential changes queued for
    /// offline chargers; defaults to the JWT HS256 secret. Every instance
    /// needs the same one.
    #[arg(
        long,
        env = "CREDENTIAL_KEY",
        value_name = "CREDENTIAL_KEY",
        hide_env_values = true,
        global = true
    )]
    pub credential_key: Option<String>,

    /// How long a charger's old password keeps working after it accepted a
    /// new one, if it does not reconnect with the new one sooner.
    #[arg(
        long,
        env = "OCPP_CREDENTIAL_GRACE_SECONDS",
        value_name = "OCPP_CREDENTIAL_GRACE_SECONDS",
        default_value_t = 86_400,
        global = true
    )]
    pub ocpp_credential_grace_seconds: u64,

    /// Where chargers reach this gateway over ws:// (e.g.
    /// ws://gw.example.com:9000/ocpp), told to a 2.0.1 charger moved to
    /// security profile 0 or 1.
    #[arg(
        long,
        env = "OCPP_PUBLIC_URL",
        value_name = "OCPP_PUBLIC_URL",
        global = true
    )]
    pub ocpp_public_url: Option<String>,

    /// Where chargers' diagnostics and log uploads are kept. Default: an
    /// `uploads` directory beside the SQLite database (`./uploads` with
    /// PostgreSQL or an in-memory database).
    #[arg(
        long,
        env = "OCPP_UPLOAD_DIR",
        value_name = "OCPP_UPLOAD_DIR",
        global = true
    )]
    pub ocpp_upload_dir: Option<PathBuf>,

    /// The largest upload a charger may deliver, in MB (answered 413 beyond).
    #[arg(long, env = "OCPP_UPLOAD_MAX_MB", value_name = "OCPP_UPLOAD_MAX_MB",
          default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=4_096), global = true)]
    pub ocpp_upload_max_mb: u64,

    /// Where chargers reach evgate's HTTP listener (`http(s)://host:port`):
    /// the base of the upload locations in GetDiagnostics/GetLog. Unset: the
    /// host the admin's request named.
    #[arg(
        long,
        env = "OCPP_UPLOAD_BASE_URL",
        value_name = "OCPP_UPLOAD_BASE_URL",
        global = true
    )]
    pub ocpp_upload_base_url: Option<String>,

    /// The same for wss:// (security profiles 2 and 3).
    #[arg(
        long,
        env = "OCPP_PUBLIC_TLS_URL",
        value_name = "OCPP_PUBLIC_TLS_URL",
        global = true
    )]
    pub ocpp_public_tls_url: Option<String>,

    /// Signs refund POSTs (HMAC-SHA256) when set.
    #[arg(
        long,
        env = "PAYMENT_WEBHOOK_SECRET",
        value_name = "PAYMENT_WEBHOOK_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub payment_webhook_secret: Option<String>,

    /// Delivery attempts before a refund is marked FAILED.
    #[arg(long, env = "REFUND_MAX_ATTEMPTS", value_name = "REFUND_MAX_ATTEMPTS",
          default_value_t = 10, value_parser = clap::value_parser!(i32).range(1..=100), global = true)]
    pub refund_max_attempts: i32,

    /// Attempts at applying a vendor webhook (transient failures, retried
    /// with exponential backoff) before it is dead-lettered.
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", value_name = "WEBHOOK_MAX_ATTEMPTS",
          default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100), global = true)]
    pub webhook_max_attempts: u32,

    /// Allowed browser origins: `*` or a comma-separated list.
    #[arg(
        long,
        env = "CORS_ORIGIN",
        value_name = "CORS_ORIGIN",
        default_value = "*",
        global = true
    )]
    pub cors_origin: String,

    /// `text` for people, `json` for log pipelines.
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_name = "LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// OCPI: this CPO's ISO 3166-1 alpha-2 country code. OCPI is served
    /// at `/ocpi/versions` once it and OCPI_PARTY_ID are set.
    #[arg(
        long,
        env = "OCPI_COUNTRY_CODE",
        value_name = "OCPI_COUNTRY_CODE",
        global = true
    )]
    pub ocpi_country_code: Option<String>,

    /// OCPI: this CPO's party id (three capital letters or digits).
    #[arg(
        long,
        env = "OCPI_PARTY_ID",
        value_name = "OCPI_PARTY_ID",
        global = true
    )]
    pub ocpi_party_id: Option<String>,

    /// OCPI: the name partners show for this CPO.
    #[arg(
        long,
        env = "OCPI_BUSINESS_NAME",
        value_name = "OCPI_BUSINESS_NAME",
        default_value = "evgate",
        global = true
    )]
    pub ocpi_business_name: String,

    /// OCPI: the public base URL partners reach this gateway at
    /// (`https://cpo.example.com`); unset, each request's host is used.
    #[arg(
        long,
        env = "OCPI_BASE_URL",
        value_name = "OCPI_BASE_URL",
        global = true
    )]
    pub ocpi_base_url: Option<String>,
}

/// A setting that parsed but makes no sense; names the setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid {setting}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub setting: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

impl ConfigError {
    /// An error about `setting`.
    pub fn new(setting: &'static str, message: impl Into<String>) -> Self {
        Self {
            setting,
            message: message.into(),
        }
    }
}

impl Config {
    /// The checks clap cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        evgate_store::Backend::of_url(&self.database_url)
            .map_err(|e| ConfigError::new("DATABASE_URL", e.to_string()))?;
        if let Some(url) = &self.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(ConfigError::new(
                "REDIS_URL",
                format!("must start with redis:// or rediss:// (got {url:?})"),
            ));
        }
        if let Some(url) = &self.payment_webhook_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::new(
                "PAYMENT_WEBHOOK_URL",
                format!("must start with http:// or https:// (got {url:?})"),
            ));
        }
        self.cors_origins()?;
        self.trusted_proxies()?;
        self.ocpi()?;
        if let Some(key) = &self.credential_key
            && key.chars().count() < 32
        {
            return Err(ConfigError::new(
                "CREDENTIAL_KEY",
                "must be at least 32 characters",
            ));
        }
        if let Some(url) = &self.ocpp_upload_base_url
            && let Err(e) = csms::maintenance::check_location(url).and_then(|()| upload_scheme(url))
        {
            return Err(ConfigError::new("OCPP_UPLOAD_BASE_URL", e));
        }
        for (setting, url, scheme) in [
            ("OCPP_PUBLIC_URL", &self.ocpp_public_url, "ws://"),
            ("OCPP_PUBLIC_TLS_URL", &self.ocpp_public_tls_url, "wss://"),
        ] {
            if let Some(url) = url
                && !url.starts_with(scheme)
            {
                return Err(ConfigError::new(
                    setting,
                    format!("must start with {scheme} (got {url:?})"),
                ));
            }
        }
        if let Some(secret) = &self.jwt_secret
            && secret.chars().count() < 32
        {
            return Err(ConfigError::new(
                "JWT_SECRET",
                "must be at least 32 characters",
            ));
        }
        match (&self.ocpp_tls_cert, &self.ocpp_tls_key) {
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "OCPP_TLS_KEY",
                    "is required with OCPP_TLS_CERT",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "OCPP_TLS_CERT",
                    "is required with OCPP_TLS_KEY",
                ));
            }
            (None, None) if self.ocpp_tls_client_ca.is_some() => {
                return Err(ConfigError::new(
                    "OCPP_TLS_CLIENT_CA",
                    "needs OCPP_TLS_CERT and OCPP_TLS_KEY",
                ));
            }
            (None, None) if self.ocpp_tls_backend != TlsBackend::Rustls => {
                return Err(ConfigError::new(
                    "OCPP_TLS_BACKEND",
                    "needs OCPP_TLS_CERT and OCPP_TLS_KEY",
                ));
            }
            _ => {}
        }
        match (&self.ocpp_ca_cert_file, &self.ocpp_ca_key_file) {
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "OCPP_CA_KEY_FILE",
                    "is required with OCPP_CA_CERT_FILE",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "OCPP_CA_CERT_FILE",
                    "is required with OCPP_CA_KEY_FILE",
                ));
            }
            _ => {}
        }
        if self.http_addr == self.ocpp_addr && self.http_addr.port() != 0 {
            return Err(ConfigError::new("OCPP_ADDR", "must differ from HTTP_ADDR"));
        }
        Ok(())
    }

    /// `CORS_ORIGIN` read: `*` or a list of origins.
    pub fn cors_origins(&self) -> Result<CorsOrigins, ConfigError> {
        let raw = self.cors_origin.trim();
        if raw == "*" {
            return Ok(CorsOrigins::Any);
        }
        let origins: Vec<String> = raw
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() {
            return Err(ConfigError::new(
                "CORS_ORIGIN",
                "must be * or a list of origins",
            ));
        }
        for o in &origins {
            let ok = (o.starts_with("http://") || o.starts_with("https://"))
                && o.parse::<axum::http::HeaderValue>().is_ok()
                && !o["https://".len().min(o.len())..].contains('/');
            if !ok {
                return Err(ConfigError::new(
                    "CORS_ORIGIN",
                    format!("{o:?} is not an origin like https://app.example.com"),
                ));
            }
        }
        Ok(CorsOrigins::List(origins))
    }

    /// The HTTP listener's connection rules.
    pub fn http_limits(&self) -> crate::serve::ConnectionLimits {
        crate::serve::ConnectionLimits {
            header_timeout: Duration::from_secs(self.http_header_timeout_seconds),
            max_connections: usize::try_from(self.http_max_connections).unwrap_or(usize::MAX),
        }
    }

    /// `TRUSTED_PROXIES` read.
    pub fn trusted_proxies(&self) -> Result<booking::rate::TrustedProxies, ConfigError> {
        booking::rate::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| ConfigError::new("TRUSTED_PROXIES", e))
    }

    /// The HTTP edge's rate limits.
    pub fn rate_limits(&self) -> evgate_api::limits::RateSettings {
        use booking::rate::Rate;
        evgate_api::limits::RateSettings {
            per_source: Rate::per_second(self.rate_limit_http_per_source),
            webhooks_per_source: Rate::per_second(self.rate_limit_webhooks_per_source),
            holds_per_user: Rate::per_minute(self.rate_limit_holds_per_user),
            trusted: self.trusted_proxies().unwrap_or_default(),
        }
    }

    /// Authenticated webhook deliveries one vendor may make.
    pub fn webhooks_per_vendor(&self) -> booking::rate::Rate {
        booking::rate::Rate::per_second(self.rate_limit_webhooks_per_vendor)
    }

    /// The booking core's rules these settings describe.
    pub fn booking_rules(&self) -> booking::service::BookingRules {
        let minutes = |m: u64| chrono::TimeDelta::minutes(i64::try_from(m).unwrap_or(i64::MAX));
        booking::service::BookingRules {
            hold_ttl: chrono::TimeDelta::seconds(
                i64::try_from(self.booking_hold_ttl_seconds).unwrap_or(i64::MAX),
            ),
            no_show_grace: minutes(self.booking_no_show_grace_period_minutes),
            max_duration: minutes(self.booking_max_duration_minutes),
            horizon: chrono::TimeDelta::days(
                i64::try_from(self.booking_horizon_days).unwrap_or(365),
            ),
            reservation_lead: minutes(self.reservation_lead_minutes),
            max_live_holds_per_user: Some(self.booking_max_live_holds_per_user)
                .filter(|&cap| cap > 0),
        }
    }

    /// How often CostUpdated goes to a charging 2.0.1 charger.
    pub fn cost_update_interval(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(
            i64::try_from(self.tariff_cost_update_interval_seconds).unwrap_or(i64::MAX),
        )
    }

    /// How bookings are announced on chargers' screens.
    pub fn announcements(&self) -> csms::display::Announcements {
        csms::display::Announcements {
            enabled: self.booking_display_messages,
            time_zone: self.booking_display_time_zone,
        }
    }

    /// The OCPP server's settings.
    pub fn csms(&self) -> csms::CsmsConfig {
        csms::CsmsConfig {
            heartbeat_interval: Duration::from_secs(self.ocpp_heartbeat_interval_seconds),
            boot_retry_interval: Duration::from_secs(self.ocpp_boot_retry_interval_seconds),
            call_timeout: Duration::from_secs(self.ocpp_call_timeout_seconds),
            offline_grace: Duration::from_secs(self.ocpp_offline_grace_seconds),
            auto_register: self.ocpp_auto_register,
            max_connections: usize::try_from(self.ocpp_max_connections).unwrap_or(usize::MAX),
            handshakes_per_source: booking::rate::Rate::per_second(
                self.rate_limit_ocpp_handshakes_per_source,
            ),
            messages_per_charger: booking::rate::Rate::per_second(
                self.rate_limit_ocpp_messages_per_charger,
            ),
            trusted_proxies: self.trusted_proxies().unwrap_or_default(),
            admission: match self.ocpp_default_admission {
                Admission::Accepted => csms::admission::RegistrationStatus::Accepted,
                Admission::Pending => csms::admission::RegistrationStatus::Pending,
                Admission::Rejected => csms::admission::RegistrationStatus::Rejected,
            },
            ..csms::CsmsConfig::default()
        }
    }

    /// The OCPP TLS acceptor of `OCPP_TLS_BACKEND`, when OCPP_TLS_CERT/KEY
    /// are set.
    pub fn ocpp_tls(&self) -> Result<Option<csms::tls::Acceptor>, ConfigError> {
        let (Some(cert), Some(key)) = (&self.ocpp_tls_cert, &self.ocpp_tls_key) else {
            return Ok(None);
        };
        let read = |setting: &'static str, path: &PathBuf| {
            std::fs::read(path).map_err(|e| {
                ConfigError::new(setting, format!("cannot read {}: {e}", path.display()))
            })
        };
        let cert_pem = read("OCPP_TLS_CERT", cert)?;
        let key_pem = read("OCPP_TLS_KEY", key)?;
        let ca_pem = self
            .ocpp_tls_client_ca
            .as_ref()
            .map(|p| read("OCPP_TLS_CLIENT_CA", p))
            .transpose()?;
        let backend = match self.ocpp_tls_backend {
            TlsBackend::Rustls => csms::tls::Backend::Rustls,
            TlsBackend::Openssl => csms::tls::Backend::OpenSsl,
        };
        csms::tls::build(backend, &cert_pem, &key_pem, ca_pem.as_deref())
            .map(Some)
            .map_err(|e| {
                let setting = if e.starts_with("backend") {
                    "OCPP_TLS_BACKEND"
                } else if e.starts_with("client CA") {
                    "OCPP_TLS_CLIENT_CA"
                } else if e.starts_with("key") {
                    "OCPP_TLS_KEY"
                } else {
                    "OCPP_TLS_CERT"
                };
                ConfigError::new(setting, e)
            })
    }

    /// The certificate authority for charger certificates, when
    /// OCPP_CA_CERT_FILE/KEY_FILE are set. Errors never quote the key.
    pub fn ocpp_ca(&self) -> Result<csms::certificates::Certificates, ConfigError> {
        let (Some(cert), Some(key)) = (&self.ocpp_ca_cert_file, &self.ocpp_ca_key_file) else {
            return Ok(csms::certificates::Certificates::default());
        };
        let read = |setting: &'static str, path: &PathBuf| {
            std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(setting, format!("cannot read {}: {e}", path.display()))
            })
        };
        let cert_pem = read("OCPP_CA_CERT_FILE", cert)?;
        let key_pem = read("OCPP_CA_KEY_FILE", key)?;
        let ca = csms::certificates::CertificateAuthority::from_pem(
            &cert_pem,
            &key_pem,
            self.ocpp_ca_organization.clone(),
        )
        .map_err(|e| {
            let setting = if e.0.contains("key") {
                "OCPP_CA_KEY_FILE"
            } else {
                "OCPP_CA_CERT_FILE"
            };
            ConfigError::new(setting, e.0)
        })?;
        Ok(csms::certificates::Certificates::new(Some(ca)))
    }

    /// What credential rotation is checked against.
    pub fn rotation(&self) -> evgate_operator::credentials::RotationSettings {
        evgate_operator::credentials::RotationSettings {
            grace: chrono::TimeDelta::seconds(
                i64::try_from(self.ocpp_credential_grace_seconds).unwrap_or(i64::MAX),
            ),
            urls: csms::credentials::PublicUrls {
                plain: self.ocpp_public_url.clone(),
                tls: self.ocpp_public_tls_url.clone(),
            },
            tls: self.ocpp_tls_cert.is_some(),
            client_certificates: self.ocpp_tls_client_ca.is_some(),
        }
    }

    /// evgate's OCPI identity; `None` when OCPI is not configured.
    pub fn ocpi(&self) -> Result<Option<ocpi::OcpiSettings>, ConfigError> {
        let (country_code, party_id) = match (&self.ocpi_country_code, &self.ocpi_party_id) {
            (None, None) => return Ok(None),
            (Some(c), Some(p)) => (c.clone(), p.clone()),
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "OCPI_COUNTRY_CODE",
                    "must be set with OCPI_PARTY_ID",
                ));
            }
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "OCPI_PARTY_ID",
                    "must be set with OCPI_COUNTRY_CODE",
                ));
            }
        };
        if !(country_code.len() == 2 && country_code.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(ConfigError::new(
                "OCPI_COUNTRY_CODE",
                format!("must be two capital letters (got {country_code:?})"),
            ));
        }
        if !(party_id.len() == 3
            && party_id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        {
            return Err(ConfigError::new(
                "OCPI_PARTY_ID",
                format!("must be three capital letters or digits (got {party_id:?})"),
            ));
        }
        let name = self.ocpi_business_name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ConfigError::new(
                "OCPI_BUSINESS_NAME",
                "must be 1 to 100 characters",
            ));
        }
        if let Some(url) = &self.ocpi_base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::new(
                "OCPI_BASE_URL",
                format!("must start with https:// or http:// (got {url:?})"),
            ));
        }
        Ok(Some(ocpi::OcpiSettings {
            party: ocpi::Party {
                country_code,
                party_id,
            },
            business_name: name.to_owned(),
            base_url: self
                .ocpi_base_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_owned()),
        }))
    }

    /// Where chargers' uploads go and how big they may be.
    pub fn uploads(&self) -> evgate_api::uploads::UploadSettings {
        let dir = self.ocpp_upload_dir.clone().unwrap_or_else(|| {
            crate::keys::sqlite_file(&self.database_url)
                .and_then(|db| db.parent().map(|d| d.join("uploads")))
                .unwrap_or_else(|| PathBuf::from("uploads"))
        });
        evgate_api::uploads::UploadSettings {
            dir,
            max_bytes: self.ocpp_upload_max_mb << 20,
            base_url: self.ocpp_upload_base_url.clone(),
        }
    }

    /// How often the no-show worker looks for missed bookings.
    pub fn no_show_interval(&self) -> Duration {
        Duration::from_millis(self.no_show_worker_interval_ms)
    }
}

fn upload_scheme(url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!("must start with http:// or https:// (got {url:?})"))
    }
}

/// Renders a clap error as one line: clap's own text, minus the usage hints.
pub fn one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let head = text.split("\n\n").next().unwrap_or(&text);
    head.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("evgate").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_match_the_seed() {
        let cli = parse(&[]).unwrap();
        let c = cli.config;
        assert_eq!(c.booking_hold_ttl_seconds, 600);
        assert_eq!(c.booking_no_show_grace_period_minutes, 15);
        assert_eq!(c.no_show_worker_interval_ms, 300_000);
        assert_eq!(c.http_addr.port(), 7103);
        assert_eq!(c.ocpp_addr.port(), 9000);
        assert_eq!(c.cors_origins().unwrap(), CorsOrigins::Any);
    }

    #[test]
    fn uploads_live_beside_the_database_unless_told_otherwise() {
        let mut c = parse(&[]).unwrap().config;
        let uploads = c.uploads();
        assert_eq!(uploads.dir, PathBuf::from("uploads"));
        assert_eq!(uploads.max_bytes, 50 << 20);
        c.database_url = "sqlite:///var/lib/evgate/e.db?mode=rwc".into();
        assert_eq!(c.uploads().dir, PathBuf::from("/var/lib/evgate/uploads"));
        c.ocpp_upload_dir = Some("/srv/logs".into());
        assert_eq!(c.uploads().dir, PathBuf::from("/srv/logs"));
        for bad in ["gw.example:7103", "ftp://gw.example", "http://"] {
            c.ocpp_upload_base_url = Some(bad.into());
            assert_eq!(
                c.validate().unwrap_err().setting,
                "OCPP_UPLOAD_BASE_URL",
                "{bad}"
            );
        }
        c.ocpp_upload_base_url = Some("https://gw.example:7103".into());
        assert!(c.validate().is_ok());
        assert!(parse(&["--ocpp-upload-max-mb", "0"]).is_err());
    }

    #[test]
    fn a_bad_number_is_one_line_naming_the_setting() {
        let err = parse(&["--booking-hold-ttl-seconds", "ten"]).unwrap_err();
        let line = one_line(&err);
        assert!(line.contains("BOOKING_HOLD_TTL_SECONDS"), "{line}");
        assert!(!line.contains('\n'));
        let err = parse(&["token"]).unwrap_err();
        assert!(one_line(&err).contains("--user"), "{}", one_line(&err));
    }

    #[test]
    fn semantic_checks_name_the_setting() {
        let mut c = parse(&[]).unwrap().config;
        c.database_url = "mysql://x".into();
        assert_eq!(c.validate().unwrap_err().setting, "DATABASE_URL");
        let mut c = parse(&[]).unwrap().config;
        c.jwt_secret = Some("short".into());
        assert_eq!(c.validate().unwrap_err().setting, "JWT_SECRET");
        let mut c = parse(&[]).unwrap().config;
        c.trusted_proxies = "10.0.0.0/8, haproxy".into();
        assert_eq!(c.validate().unwrap_err().setting, "TRUSTED_PROXIES");
        let mut c = parse(&[]).unwrap().config;
        c.cors_origin = "https://a.example.com, ftp://b".into();
        assert_eq!(c.validate().unwrap_err().setting, "CORS_ORIGIN");
        c.cors_origin = "https://a.example.com, http://localhost:3000/".into();
        assert_eq!(
            c.cors_origins().unwrap(),
            CorsOrigins::List(vec![
                "https://a.example.com".into(),
                "http://localhost:3000".into()
            ])
        );
    }
}
