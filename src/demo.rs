//! `evgate demo`: the gateway with a sample site of simulated chargers, for
//! a newcomer to watch in the console within a minute. Everything is in
//! this process and in a fresh SQLite database in a temporary directory;
//! the chargers are evgate-sim's (two OCPP 1.6, two OCPP 2.0.1, two
//! connectors each), starting and stopping sessions at random. An admin
//! operator and an app user's token are printed once.

use std::net::SocketAddr;
use std::time::Duration;

use booking::operators::{OperatorRole, new_operator};
use evgate_api::jwt::Role;

use crate::app::{self, App, Listeners, StartError};
use crate::config::Config;

/// Chargers on the sample site.
const CHARGERS: &str = "4";

/// Why the demo stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The gateway would not start (a bad setting is one of these).
    #[error(transparent)]
    Start(#[from] StartError),
    /// Setting up the sample site failed.
    #[error("{0}")]
    Setup(String),
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(mut config: Config) -> Result<(), DemoError> {
    let dir = std::env::temp_dir().join(format!("evgate-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| {
        DemoError::Setup(format!(
            "cannot create the demo's directory {}: {e}",
            dir.display()
        ))
    })?;
    config.database_url = format!("sqlite:{}/demo.db?mode=rwc", dir.display());
    config.redis_url = None;
    if config.jwt_secret.is_none() {
        config.jwt_secret = Some(secret(32));
    }
    let app = App::build(&config).await?;
    let password = secret(18);
    let operator = tokio::task::spawn_blocking({
        let password = password.clone();
        move || new_operator("admin", OperatorRole::Admin, &password, chrono::Utc::now())
    })
    .await
    .map_err(|e| DemoError::Setup(e.to_string()))?
    .map_err(|e| DemoError::Setup(e.to_string()))?;
    app.database
        .add_operator(&operator)
        .await
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let now = chrono::Utc::now().timestamp();
    let day = Duration::from_secs(24 * 3600);
    let issue = |user, role| {
        app.state
            .jwt
            .issue(user, role, day, now)
            .map_err(|e| DemoError::Setup(e.to_string()))
    };
    let (admin_token, user_token) = (issue(1, Role::Admin)?, issue(42, Role::User)?);
    let listeners = Listeners::bind(&config).await?;
    let http = local(listeners.http.local_addr().map_err(StartError::Serve)?);
    let ocpp = local(listeners.ocpp.local_addr().map_err(StartError::Serve)?);
    let server = tokio::spawn(app.serve(listeners, app::shutdown_signal()));

    // The simulated chargers provision the site through the admin API, then
    // connect; in their own runtime, as `evgate-sim` runs them.
    let sim_args = [
        "evgate-sim".to_owned(),
        "run".into(),
        "--url".into(),
        format!("ws://{ocpp}/ocpp"),
        "--chargers".into(),
        CHARGERS.into(),
        "--connectors".into(),
        "2".into(),
        "--version".into(),
        "mixed".into(),
        "--ramp".into(),
        "4s".into(),
        "--duration".into(),
        "7d".into(),
        "--scenario".into(),
        "busy-day".into(),
        "--provision".into(),
        "--api".into(),
        format!("http://{http}"),
        "--admin-token".into(),
        admin_token,
        "--prefix".into(),
        "DEMO-".into(),
        "--quiet".into(),
    ];
    std::thread::spawn(move || simulators::cli::main_with(sim_args));

    println!(
        "\nevgate demo: a gateway with {CHARGERS} simulated chargers (OCPP 1.6 and 2.0.1) on the \
         station \"evgate-sim DEMO-\"; they boot in a few seconds and start and stop sessions \
         at random.\n\n\
         \x20 Console   http://{http}/console\n\
         \x20           sign in as  admin  with password  {password}  (shown once)\n\
         \x20 API docs  http://{http}/docs\n\
         \x20 OCPP      ws://{ocpp}/ocpp/{{chargePointId}}  (the chargers are DEMO-00000 … DEMO-0000{last})\n\n\
         \x20 An app user's token (user 42, valid 24 h), to hold a slot as an app would:\n\
         \x20   export TOKEN={user_token}\n\
         \x20   curl -s -H \"Authorization: Bearer $TOKEN\" http://{http}/v1/stations\n\
         \x20 then POST /v1/bookings/holds and /v1/bookings/confirm (README, \"Try it\"), and watch\n\
         \x20 ReserveNow reach the charger in the console's OCPP messages.\n\n\
         \x20 Data: {dir} (a fresh database, removed at the end). Ctrl-C stops.\n",
        last = CHARGERS.parse::<u8>().unwrap_or(1).saturating_sub(1),
        dir = dir.display(),
    );
    let stopped = server.await;
    // A demo leaves nothing behind.
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot remove the demo's directory");
    }
    match stopped {
        Ok(result) => Ok(result?),
        Err(e) => Err(DemoError::Setup(format!("the gateway task failed: {e}"))),
    }
}

/// A listening address as a browser on this machine reaches it.
fn local(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}

/// A random URL-safe secret of `bytes` bytes.
fn secret(bytes: usize) -> String {
    booking::secrets::random_token(bytes)
}
