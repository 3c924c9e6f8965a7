//! A fleet: many simulated chargers ramped up over a period, driven by a
//! scenario for a duration, then shut down and reported on.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::{Instant, sleep, sleep_until};

use crate::charger::{self, ChargerConfig, ChargerHandle, Command};
use crate::dialect::Version;
use crate::metrics::{Metrics, Report};
use crate::scenario::Scenario;

/// Which OCPP version each charger speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    /// Every charger speaks this version.
    All(Version),
    /// Even-numbered chargers 1.6, odd ones 2.0.1.
    Mixed,
}

impl std::str::FromStr for Versions {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mixed" => Ok(Versions::Mixed),
            v => v
                .parse()
                .map(Versions::All)
                .map_err(|_| format!("version must be 1.6, 2.0.1 or mixed, got {s:?}")),
        }
    }
}

impl Versions {
    /// The version of the fleet's charger `i` (counted from 0).
    pub fn of(self, i: usize) -> Version {
        match self {
            Versions::All(v) => v,
            Versions::Mixed if i.is_multiple_of(2) => Version::V16,
            Versions::Mixed => Version::V201,
        }
    }
}

/// One `evgate-sim run`: how many chargers, where they connect, for how long
/// and doing what.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// `ws://host:9000/ocpp` (each charger appends its identity).
    pub url: String,
    /// How many chargers.
    pub chargers: usize,
    /// Which OCPP version each speaks.
    pub versions: Versions,
    /// Identity prefix: charger `i` is `{prefix}{i:05}`.
    pub prefix: String,
    /// How many loopback source addresses (127.0.0.1..) to spread over; 0
    /// lets the system choose.
    pub sources: u8,
    /// Chargers start evenly spread over this period.
    pub ramp: Duration,
    /// How long the run lasts, ramp included.
    pub duration: Duration,
    /// What the chargers do once connected.
    pub scenario: Scenario,
    /// Seeds every charger's jitter and the busy-day randomness: the same seed
    /// gives the same choices.
    pub seed: u64,
    /// The template every charger is made from (identity and URL are
    /// filled in).
    pub template: ChargerConfig,
    /// Id tags busy-day sessions use.
    pub id_tags: Vec<String>,
}

impl Fleet {
    /// The identity of charger `i` (from 0): the prefix, then `i` in five
    /// digits.
    pub fn identity(&self, i: usize) -> String {
        format!("{}{i:05}", self.prefix)
    }

    fn source(&self, i: usize) -> Option<IpAddr> {
        (self.sources > 0).then(|| {
            let last = 1 + (i % usize::from(self.sources)) as u8;
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
        })
    }

    fn config(&self, i: usize) -> ChargerConfig {
        let identity = self.identity(i);
        ChargerConfig {
            url: format!("{}/{identity}", self.url.trim_end_matches('/')),
            identity,
            version: self.versions.of(i),
            source: self.source(i),
            seed: self.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ..self.template.clone()
        }
    }
}

/// Runs the fleet; `on_tick` is called about once a second (progress).
pub async fn run(fleet: Fleet, metrics: Arc<Metrics>, mut on_tick: impl FnMut(&Metrics)) -> Report {
    let started = Instant::now();
    let end = started + fleet.duration;
    let mut handles: Vec<ChargerHandle> = Vec::with_capacity(fleet.chargers);
    let spacing = if fleet.chargers > 1 {
        fleet.ramp / (fleet.chargers as u32)
    } else {
        Duration::ZERO
    };
    let mut tick = Instant::now() + Duration::from_secs(1);
    for i in 0..fleet.chargers {
        handles.push(charger::spawn(fleet.config(i), metrics.clone(), None));
        if !spacing.is_zero() {
            sleep_until(started + spacing * (i as u32 + 1)).await;
        }
        if Instant::now() >= tick {
            on_tick(&metrics);
            tick = Instant::now() + Duration::from_secs(1);
        }
    }
    let drivers = drive(&fleet, &handles, started);
    let ticker = async {
        loop {
            on_tick(&metrics);
            sleep(Duration::from_secs(1)).await;
        }
    };
    tokio::select! {
        () = drivers => sleep_until(end).await,
        () = sleep_until(end) => {}
        () = ticker => {}
    }
    on_tick(&metrics);
    for h in &handles {
        let _ = h.commands.send(Command::Shutdown).await;
    }
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(5), h.task).await;
    }
    metrics.report(started.elapsed())
}

/// Runs the scenario's part: until its last step (or forever, for ones
/// that go on until the run ends).
async fn drive(fleet: &Fleet, handles: &[ChargerHandle], started: Instant) {
    match &fleet.scenario {
        Scenario::Idle => std::future::pending().await,
        Scenario::ReconnectStorm { at } => {
            sleep_until(started + *at).await;
            for h in handles {
                let _ = h.commands.try_send(Command::GoOffline(Duration::ZERO));
            }
            std::future::pending().await
        }
        Scenario::Script(steps) => {
            for step in steps {
                sleep_until(started + step.at).await;
                let Ok(command) = step.command() else {
                    continue;
                };
                let Ok(targets) = step.targets(handles.len()) else {
                    continue;
                };
                for h in &handles[targets] {
                    let _ = h.commands.send(command.clone()).await;
                }
            }
            std::future::pending().await
        }
        Scenario::BusyDay { gap, session } => {
            let drivers = handles.iter().enumerate().map(|(i, h)| {
                let mut rng = StdRng::seed_from_u64(fleet.seed ^ ((i as u64) << 20) ^ 0xB05);
                let commands = h.commands.clone();
                let connectors = fleet.template.connectors.max(1);
                let tags = if fleet.id_tags.is_empty() {
                    vec!["SIM-TAG".to_owned()]
                } else {
                    fleet.id_tags.clone()
                };
                let (gap, session) = (*gap, *session);
                async move {
                    loop {
                        sleep(rng.random_range(gap.0..=gap.1)).await;
                        let connector = rng.random_range(1..=connectors);
                        let id_tag = tags[rng.random_range(0..tags.len())].clone();
                        if commands
                            .send(Command::Start { connector, id_tag })
                            .await
                            .is_err()
                        {
                            return;
                        }
                        sleep(rng.random_range(session.0..=session.1)).await;
                        if commands.send(Command::Stop { connector }).await.is_err() {
                            return;
                        }
                    }
                }
            });
            futures_util::future::join_all(drivers).await;
        }
    }
}
