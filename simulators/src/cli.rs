//! The `evgate-sim` command line: a fleet of simulated OCPP chargers
//! against a gateway. The binary is `main_with(std::env::args())`.
//!
//! ```sh
//! evgate-sim run --url ws://127.0.0.1:9000/ocpp --chargers 1000 --connectors 2 \
//!     --version mixed --ramp 30s --duration 5m --scenario busy-day --seed 7 \
//!     --provision --api http://127.0.0.1:7103 --admin-token "$TOKEN" --json report.json
//! ```
//!
//! Exit codes: 0 when errors stayed within `--max-errors`, 1 when they did
//! not, 2 for bad arguments or a failed provisioning.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::charger::{Backoff, ChargerConfig};
use crate::fleet::{self, Fleet, Versions};
use crate::metrics::Metrics;
use crate::misbehaviour::Misbehaviour;
use crate::provision::{self, Plan};
use crate::scenario::Scenario;
use crate::transport::{Security, tls_config};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Parser)]
#[command(
    name = "evgate-sim",
    version,
    about = "Simulated OCPP 1.6J / 2.0.1 charger fleets"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Connects a fleet and runs a scenario.
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The gateway's OCPP endpoint; each charger appends `/IDENTITY`.
    #[arg(long, default_value = "ws://127.0.0.1:9000/ocpp")]
    url: String,
    #[arg(long, default_value_t = 10)]
    chargers: usize,
    #[arg(long, default_value_t = 2)]
    connectors: u32,
    /// 1.6, 2.0.1 or mixed (even chargers 1.6, odd ones 2.0.1).
    #[arg(long, default_value = "1.6")]
    version: Versions,
    /// Spread the connections over this long.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    ramp: Duration,
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// idle, busy-day, reconnect-storm, or a TOML scenario file.
    #[arg(long, default_value = "idle")]
    scenario: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Charger identities are PREFIX00000, PREFIX00001, …
    #[arg(long, default_value = "SIM-")]
    prefix: String,
    /// Heartbeat period; default: what the gateway says at boot.
    #[arg(long, value_parser = humantime::parse_duration)]
    heartbeat: Option<Duration>,
    /// How often a running session reports its meter.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    meter_interval: Duration,
    /// Charging power per connector, kW.
    #[arg(long, default_value_t = 11.0)]
    power_kw: f64,
    /// Security profile the chargers use (0–3).
    #[arg(long, default_value_t = 0)]
    security_profile: u8,
    /// Basic-auth password (profiles 1 and 2), the same for every charger.
    #[arg(long, env = "EVGATE_SIM_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// CA certificate (PEM) the gateway's TLS certificate is checked against.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Client certificate chain and key (PEM) for profile 3.
    #[arg(long, requires = "client_key")]
    client_cert: Option<PathBuf>,
    #[arg(long, requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// Loopback source addresses to spread connections over (127.0.0.1..N);
    /// 0 lets the system choose.
    #[arg(long, default_value_t = 16)]
    sources: u8,
    /// Misbehaviour switches (repeatable): omit-reservation-id,
    /// never-send-reserved, reserve-answer=STATUS, answer-late=DURATION,
    /// never-answer, pipeline, malformed-frame, naive-timestamps.
    #[arg(long = "misbehave")]
    misbehave: Vec<String>,
    /// Create the station, chargers, connectors and id tags first.
    #[arg(long, requires = "admin_token")]
    provision: bool,
    /// The gateway's HTTP API, for --provision.
    #[arg(long, default_value = "http://127.0.0.1:7103")]
    api: String,
    #[arg(long, env = "EVGATE_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Id tags busy-day sessions use (provisioned as Accepted).
    #[arg(
        long,
        default_value = "SIM-TAG-1,SIM-TAG-2,SIM-TAG-3",
        value_delimiter = ','
    )]
    id_tags: Vec<String>,
    /// Write the report as JSON to this file (`-` for standard output).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Exit 1 when more errors than this occurred.
    #[arg(long, default_value_t = 0)]
    max_errors: u64,
    /// No live progress line (it is also off when stderr is not a terminal).
    #[arg(long)]
    quiet: bool,
}

/// Exit codes.
pub const OK: u8 = 0;
/// More errors than `--max-errors` occurred.
pub const TOO_MANY_ERRORS: u8 = 1;
/// Bad arguments, an unreadable file or failed provisioning.
pub const BAD_USE: u8 = 2;

fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("evgate-sim: {message}");
    BAD_USE
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn security(args: &RunArgs) -> Result<Security, String> {
    if args.security_profile > 3 {
        return Err(format!(
            "--security-profile must be 0 to 3, got {}",
            args.security_profile
        ));
    }
    let needs_password = matches!(args.security_profile, 1 | 2);
    if needs_password != args.password.is_some() {
        return Err(format!(
            "security profile {} {} a --password",
            args.security_profile,
            if needs_password { "needs" } else { "takes no" }
        ));
    }
    let tls = match &args.ca_file {
        None if args.url.starts_with("wss://") => return Err("wss:// needs --ca-file".into()),
        None => None,
        Some(ca) => {
            let ca = read(ca)?;
            let client = match (&args.client_cert, &args.client_key) {
                (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
                _ => None,
            };
            Some(tls_config(
                &ca,
                client.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())),
            )?)
        }
    };
    Ok(Security {
        password: args.password.clone(),
        tls,
    })
}

async fn run(args: RunArgs) -> u8 {
    if !(args.url.starts_with("ws://") || args.url.starts_with("wss://")) {
        return fail(format!(
            "--url must start with ws:// or wss:// (got {:?})",
            args.url
        ));
    }
    if args.chargers == 0 || args.connectors == 0 {
        return fail("--chargers and --connectors must be at least 1");
    }
    let security = match security(&args) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let misbehaviour = match Misbehaviour::parse(&args.misbehave) {
        Ok(m) => m,
        Err(e) => return fail(format!("--misbehave: {e}")),
    };
    let scenario = match Scenario::parse(&args.scenario, args.duration) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut template = ChargerConfig::new("", &args.url, args.version.of(0));
    template.connectors = args.connectors;
    template.power_w = args.power_kw * 1000.0;
    template.security = security;
    template.heartbeat = args.heartbeat;
    template.meter_interval = args.meter_interval;
    template.backoff = Backoff::default();
    template.misbehaviour = misbehaviour;
    let fleet = Fleet {
        url: args.url.clone(),
        chargers: args.chargers,
        versions: args.version,
        prefix: args.prefix.clone(),
        sources: args.sources,
        ramp: args.ramp,
        duration: args.duration,
        scenario,
        seed: args.seed,
        template,
        id_tags: args.id_tags.clone(),
    };
    if args.provision {
        let plan = Plan {
            api: args.api.clone(),
            token: args.admin_token.clone().unwrap_or_default(),
            station_name: format!("evgate-sim {}", args.prefix),
            chargers: (0..args.chargers)
                .map(|i| (fleet.identity(i), args.version.of(i)))
                .collect(),
            connectors: args.connectors,
            power_kw: args.power_kw,
            security_profile: args.security_profile,
            password: args.password.clone(),
            id_tags: args.id_tags.clone(),
        };
        let started = std::time::Instant::now();
        match provision::provision(plan).await {
            Ok(station) => eprintln!(
                "evgate-sim: provisioned station {station} with {} chargers in {:.1} s",
                args.chargers,
                started.elapsed().as_secs_f64()
            ),
            Err(e) => return fail(format!("provisioning failed: {e}")),
        }
    }

    let metrics = Arc::new(Metrics::default());
    let progress =
        (!args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            let bar = ProgressBar::new(args.chargers as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:30}] {pos}/{len} connected  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
    let mut last_sent = 0;
    let report = fleet::run(fleet, metrics.clone(), |m| {
        if let Some(bar) = &progress {
            let sent = m.sent.load(Ordering::Relaxed);
            bar.set_position(m.connected.load(Ordering::Relaxed).max(0) as u64);
            bar.set_message(format!(
                "{} msg/s  {} errors",
                sent - last_sent,
                m.error_count()
            ));
            last_sent = sent;
        }
    })
    .await;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    print!("{report}");
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        let written = if path.as_os_str() == "-" {
            println!("{json}");
            Ok(())
        } else {
            std::fs::write(path, json)
        };
        if let Err(e) = written {
            return fail(format!("cannot write {}: {e}", path.display()));
        }
    }
    let errors: u64 = report.errors.values().sum();
    if errors > args.max_errors {
        eprintln!(
            "evgate-sim: {errors} errors, more than --max-errors {}",
            args.max_errors
        );
        return TOO_MANY_ERRORS;
    }
    OK
}

/// Parses `args` (the program name first) and runs; the exit code.
pub fn main_with<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            let text = e.to_string();
            let line = text
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            return fail(line);
        }
        Err(e) => {
            let _ = e.print();
            return OK;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    match cli.command {
        Cmd::Run(args) => runtime.block_on(run(args)),
    }
}
