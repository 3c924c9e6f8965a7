//! The `evgate` binary: parse the configuration, start logging, run.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use evgate::app::{self, StartError};
use evgate::config::{Cli, Command, Config, LogFormat, TokenArgs, one_line};
use evgate::keys::jwt_keys;

/// jemalloc, not glibc's malloc: after a 10,000-charger reconnect storm
/// glibc kept every page of its peak (its per-thread arenas do not shrink),
/// jemalloc's background threads give the storm's garbage back within
/// seconds (28% of the peak once the fleet left, against 100%; BENCHMARKS.md),
/// for about 0.5 KiB more per idle connection.
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Exit code for a configuration the process cannot run with.
const BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("evgate: {}", one_line(&e).trim_start_matches("error: "));
            return ExitCode::from(BAD_CONFIG);
        }
    };
    match cli.command {
        Some(Command::Token(args)) => token(&cli.config, &args),
        Some(Command::Operator(command)) => {
            if let Err(e) = cli.config.validate() {
                eprintln!("evgate: {e}");
                return ExitCode::from(BAD_CONFIG);
            }
            match tokio::runtime::Runtime::new() {
                Ok(rt) => rt.block_on(evgate::operators::run(&cli.config, command)),
                Err(e) => {
                    eprintln!("evgate: cannot start the async runtime: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        None | Some(Command::Serve) => serve(cli.config),
        Some(Command::Demo) => demo(cli.config),
    }
}

fn serve(config: Config) -> ExitCode {
    init_tracing(config.log_format, "info,tower_http=info,sqlx=warn");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("evgate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::serve(config, app::shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(StartError::Config(e)) => {
            eprintln!("evgate: {e}");
            ExitCode::from(BAD_CONFIG)
        }
        Err(e) => {
            tracing::error!(error = %e, "evgate stopped");
            eprintln!("evgate: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `evgate demo`: the gateway, simulated chargers and an operator; quieter
/// logs (warnings) unless `RUST_LOG` says otherwise, so the banner stays
/// readable.
fn demo(config: Config) -> ExitCode {
    init_tracing(config.log_format, "warn");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("evgate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(evgate::demo::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(evgate::demo::DemoError::Start(StartError::Config(e))) => {
            eprintln!("evgate: {e}");
            ExitCode::from(BAD_CONFIG)
        }
        Err(e) => {
            eprintln!("evgate: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `evgate token`: prints a token signed the way the server verifies.
fn token(config: &Config, args: &TokenArgs) -> ExitCode {
    if let Err(e) = config.validate() {
        eprintln!("evgate: {e}");
        return ExitCode::from(BAD_CONFIG);
    }
    let keys = match jwt_keys(config) {
        Ok((keys, _)) => keys,
        Err(e) => {
            eprintln!("evgate: {e}");
            return ExitCode::from(BAD_CONFIG);
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    match keys.issue(args.user, args.role, args.ttl, now) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("evgate: {e}");
            ExitCode::from(BAD_CONFIG)
        }
    }
}

/// Logging to stderr; `default_filter` unless `RUST_LOG` is set.
fn init_tracing(format: LogFormat, default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    // A panic (in a connection task, say: the process lives on) is one log
    // line an operator's collector sees, not raw text beside the JSON.
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        tracing::error!(panic = %info, thread = thread.name().unwrap_or("unnamed"), "panicked");
    }));
}
