//! What the fleet does once connected: `idle` (boot, statuses, heartbeats),
//! `busy-day` (sessions start and stop at random, from the seed),
//! `reconnect-storm` (every charger drops at once, halfway through, and
//! comes back), or steps read from a TOML file:
//!
//! ```toml
//! [[step]]
//! at = "5s"            # after the start of the run
//! action = "start"     # start | stop | suspend | fault | recover | authorize | offline
//! chargers = "0-9"     # "all", "3", or "a-b" (fleet indices)
//! connector = 1
//! id_tag = "RFID-1"    # start, authorize
//! duration = "30s"     # offline
//! ```

use std::time::Duration;

use serde::Deserialize;

use crate::charger::Command;

/// What the fleet does once connected (`--scenario`).
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// Boot, statuses and heartbeats; nothing else.
    Idle,
    /// Every charger starts and stops sessions at random (from the seed), on
    /// random connectors with random id tags.
    BusyDay {
        /// Idle time between a charger's sessions, uniformly in this range.
        gap: (Duration, Duration),
        /// Session length, uniformly in this range.
        session: (Duration, Duration),
    },
    /// Every charger drops its connection at once and reconnects straight away.
    ReconnectStorm {
        /// When every charger drops (after the start of the run).
        at: Duration,
    },
    /// Steps read from a TOML file, in time order.
    Script(Vec<Step>),
}

/// One step of a scenario script: a command sent to some chargers at a given
/// time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// When, after the start of the run.
    #[serde(with = "humantime_serde_compat")]
    pub at: Duration,
    /// `start`, `stop`, `suspend`, `fault`, `recover`, `authorize` or
    /// `offline`.
    pub action: String,
    /// Which chargers, by fleet index: `all` (the default), `N`, or `A-B`
    /// inclusive.
    #[serde(default = "all")]
    pub chargers: String,
    /// The connector number, from 1; 1 by default.
    #[serde(default = "one")]
    pub connector: u32,
    /// The id tag, for `start` and `authorize`.
    pub id_tag: Option<String>,
    /// How long to stay away, for `offline`.
    #[serde(default, with = "humantime_serde_compat::option")]
    pub duration: Option<Duration>,
}

fn all() -> String {
    "all".into()
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptFile {
    step: Vec<Step>,
}

/// Durations in scenario files are written as `30s`, `5m`, `1h 30m`.
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(serde::de::Error::custom)
    }

    pub(super) mod option {
        use super::*;

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Duration>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

impl Scenario {
    /// `idle`, `busy-day`, `reconnect-storm`, or a path to a TOML script.
    /// `duration` places the storm halfway through the run.
    pub fn parse(name: &str, duration: Duration) -> Result<Self, String> {
        match name {
            "idle" => Ok(Scenario::Idle),
            "busy-day" => Ok(Scenario::BusyDay {
                gap: (Duration::from_secs(5), Duration::from_secs(60)),
                session: (Duration::from_secs(20), Duration::from_secs(120)),
            }),
            "reconnect-storm" => Ok(Scenario::ReconnectStorm { at: duration / 2 }),
            path => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!("scenario {path:?} is not idle, busy-day, reconnect-storm or a readable file: {e}")
                })?;
                Self::script(&text).map_err(|e| format!("scenario {path}: {e}"))
            }
        }
    }

    /// A scenario script's steps, checked.
    pub fn script(text: &str) -> Result<Self, String> {
        let file: ScriptFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for (i, step) in file.step.iter().enumerate() {
            step.command().map_err(|e| format!("step {}: {e}", i + 1))?;
            step.targets(1)
                .map_err(|e| format!("step {}: {e}", i + 1))?;
        }
        let mut steps = file.step;
        steps.sort_by_key(|s| s.at);
        Ok(Scenario::Script(steps))
    }
}

impl Step {
    /// The command this step sends to each of its chargers.
    pub fn command(&self) -> Result<Command, String> {
        let connector = self.connector;
        let tag = || {
            self.id_tag
                .clone()
                .ok_or_else(|| format!("{} needs id_tag", self.action))
        };
        Ok(match self.action.as_str() {
            "start" => Command::Start {
                connector,
                id_tag: tag()?,
            },
            "stop" => Command::Stop { connector },
            "suspend" => Command::Suspend { connector },
            "fault" => Command::Fault { connector },
            "recover" => Command::Recover { connector },
            "authorize" => Command::Authorize { id_tag: tag()? },
            "offline" => Command::GoOffline(self.duration.ok_or("offline needs duration")?),
            other => return Err(format!("unknown action {other:?}")),
        })
    }

    /// The fleet indices this step addresses, in a fleet of `n`.
    pub fn targets(&self, n: usize) -> Result<std::ops::Range<usize>, String> {
        let bad = || format!("chargers must be all, N or A-B, got {:?}", self.chargers);
        let range = match self.chargers.as_str() {
            "all" => 0..n,
            one if !one.contains('-') => {
                let i: usize = one.parse().map_err(|_| bad())?;
                i..i + 1
            }
            span => {
                let (a, b) = span.split_once('-').ok_or_else(bad)?;
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                a..b + 1
            }
        };
        Ok(range.start.min(n)..range.end.min(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse_and_bad_steps_are_named() {
        let s = Scenario::script(
            r#"
            [[step]]
            at = "10s"
            action = "stop"
            chargers = "0-2"

            [[step]]
            at = "1s"
            action = "start"
            id_tag = "T"
            connector = 2

            [[step]]
            at = "20s"
            action = "offline"
            duration = "5s"
            "#,
        )
        .unwrap();
        let Scenario::Script(steps) = s else { panic!() };
        assert_eq!(steps[0].at, Duration::from_secs(1), "sorted by time");
        assert_eq!(
            steps[0].command().unwrap(),
            Command::Start {
                connector: 2,
                id_tag: "T".into()
            }
        );
        assert_eq!(steps[1].targets(10).unwrap(), 0..3);
        assert_eq!(steps[2].targets(4).unwrap(), 0..4);
        assert_eq!(
            steps[2].command().unwrap(),
            Command::GoOffline(Duration::from_secs(5))
        );
        let err = Scenario::script("[[step]]\nat = \"1s\"\naction = \"start\"\n").unwrap_err();
        assert!(err.contains("step 1") && err.contains("id_tag"), "{err}");
        assert!(Scenario::script("[[step]]\nat = \"soon\"\naction = \"stop\"\n").is_err());
        assert!(Scenario::parse("no-such-scenario.toml", Duration::from_secs(1)).is_err());
    }
}
