//! One simulated charger's life: connect (with backoff and jitter), boot,
//! report statuses, heartbeat, answer every CSMS command through its
//! dialect, run transactions the scenario asks for — and, like a real
//! charger, keep transaction messages while offline and replay them after
//! the next boot. One task per charger; no thread of its own. This file is
//! the task (connections, backoff, timers); `exchange` is what goes over
//! one connection.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;

use crate::dialect::{Memory, Outgoing, Version};
use crate::metrics::Metrics;
use crate::misbehaviour::Misbehaviour;
use crate::model::Hardware;
use crate::transport::{self, Security, Socket};

mod exchange;

/// Exponential backoff with jitter between connection attempts.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The longest first wait; each further failure doubles it.
    pub initial: Duration,
    /// The cap on the doubled wait, before jitter.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The wait before attempt `failures + 1`: doubling from `initial` up
    /// to `max`, then a random point in its upper half, so a fleet that
    /// lost its gateway does not come back in lockstep.
    pub fn delay(&self, failures: u32, rng: &mut impl Rng) -> Duration {
        let exp = self
            .initial
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
            .min(self.max);
        exp.mul_f64(rng.random_range(0.5..=1.0))
    }
}

/// How one simulated charger is set up: who it is, where it connects, what
/// hardware it has and how it (mis)behaves.
#[derive(Debug, Clone)]
pub struct ChargerConfig {
    /// Its charge point identity: the last path segment of `url`, and the
    /// Basic-auth user name.
    pub identity: String,
    /// The CSMS URL including the identity (`ws://host:9000/ocpp/CP-1`).
    pub url: String,
    /// Other URLs of the same gateway (more instances), tried in turn after
    /// a failed attempt — what a charger behind a balancer experiences when
    /// the instance it was on dies.
    pub fallback_urls: Vec<String>,
    /// The OCPP version it speaks.
    pub version: Version,
    /// How many connectors it has, numbered from 1 (2.0.1: EVSEs of one
    /// connector each).
    pub connectors: u32,
    /// Charging power per connector, W.
    pub power_w: f64,
    /// Basic-auth password and TLS settings (security profiles 1 to 3).
    pub security: Security,
    /// Local address to connect from.
    pub source: Option<IpAddr>,
    /// Overrides the interval the boot answer gives.
    pub heartbeat: Option<Duration>,
    /// How often a running transaction reports its meter.
    pub meter_interval: Duration,
    /// How long a call waits for the CSMS's answer.
    pub call_timeout: Duration,
    /// The waits between failed or lost connections.
    pub backoff: Backoff,
    /// Which deviations from OCPP it commits; none by default.
    pub misbehaviour: Misbehaviour,
    /// Seeds the charger's jitter (and its transaction id prefix).
    pub seed: u64,
}

impl ChargerConfig {
    /// A plain profile-0 charger with 2 connectors at 11 kW.
    pub fn new(identity: &str, base_url: &str, version: Version) -> Self {
        Self {
            identity: identity.to_owned(),
            url: format!("{}/{identity}", base_url.trim_end_matches('/')),
            fallback_urls: Vec::new(),
            version,
            connectors: 2,
            power_w: 11_000.0,
            security: Security::default(),
            source: None,
            heartbeat: None,
            meter_interval: Duration::from_secs(60),
            call_timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            misbehaviour: Misbehaviour::default(),
            seed: 0,
        }
    }
}

/// What a scenario (or a test) asks of the charger.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A driver plugs in on `connector` and presents `id_tag`.
    Start {
        /// The connector number, from 1.
        connector: u32,
        /// The id tag the driver presents.
        id_tag: String,
    },
    /// The driver ends the session on `connector` and unplugs.
    Stop {
        /// The connector number, from 1.
        connector: u32,
    },
    /// The car stops drawing power.
    Suspend {
        /// The connector number, from 1.
        connector: u32,
    },
    /// The connector faults; a transaction on it is not ended.
    Fault {
        /// The connector number, from 1.
        connector: u32,
    },
    /// A Faulted connector recovers and becomes Available.
    Recover {
        /// The connector number, from 1.
        connector: u32,
    },
    /// The charger asks the CSMS to authorize a tag; dropped while offline.
    Authorize {
        /// The id tag presented.
        id_tag: String,
    },
    /// Drop the connection and stay away this long; sessions go on and
    /// their messages wait for the next boot.
    GoOffline(Duration),
    /// Stop for good: the connection closes and the task ends.
    Shutdown,
}

/// What the charger saw, for tests and scripted scenarios.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A connection opened (1 for the first).
    Connected(u32),
    /// The boot was answered with this status.
    Booted(String),
    /// A connection ended: lost, closed by the CSMS, or left on purpose.
    Disconnected,
    /// A connection attempt failed.
    ConnectFailed(String),
    /// The screen changed (2.0.1 display messages): each message's text.
    Screen(Vec<String>),
    /// The charging limits changed (SetChargingProfile, ClearChargingProfile):
    /// each limited connector's limit, `"1: 7333 W"`.
    Limits(Vec<String>),
    /// The CSMS called us.
    Received {
        /// The CSMS's action, e.g. `ReserveNow`.
        action: String,
        /// Its request payload.
        payload: Value,
    },
    /// The CSMS answered one of our calls.
    Answered {
        /// The action of our call.
        action: String,
        /// The CSMS's CALLRESULT payload.
        payload: Value,
    },
    /// The CSMS answered one of our calls with a CALLERROR.
    CallError {
        /// The action of our call.
        action: String,
        /// The CALLERROR code the CSMS sent.
        code: String,
    },
    /// The hardware refused a start.
    StartRefused {
        /// The connector number, from 1.
        connector: u32,
        /// The hardware's refusal, debug-printed (e.g. `ReservedForAnother`).
        why: String,
    },
}

/// A running charger.
#[derive(Debug)]
pub struct ChargerHandle {
    /// Where [`Command`]s go; at most 16 wait.
    pub commands: mpsc::Sender<Command>,
    /// The charger's task: it ends on [`Command::Shutdown`] or once every
    /// command sender is dropped.
    pub task: JoinHandle<()>,
}

/// Starts the charger's task.
pub fn spawn(
    config: ChargerConfig,
    metrics: Arc<Metrics>,
    notices: Option<mpsc::UnboundedSender<Notice>>,
) -> ChargerHandle {
    let (commands, rx) = mpsc::channel(16);
    let task = tokio::spawn(Sim::new(config, metrics, notices).run(rx));
    ChargerHandle { commands, task }
}

/// How a connection ended.
enum End {
    Shutdown,
    /// Lost (or closed by the CSMS): reconnect after a backoff.
    Lost,
    /// Stay away this long, then reconnect.
    Away(Duration),
    /// Reconnect at once (new password, reboot).
    Reconnect,
}

struct InFlight {
    id: String,
    call: Outgoing,
    sent: Instant,
}

struct Sim {
    config: ChargerConfig,
    hardware: Hardware,
    memory: Memory,
    metrics: Arc<Metrics>,
    notices: Option<mpsc::UnboundedSender<Notice>>,
    rng: StdRng,
    password: Option<String>,
    /// Calls waiting to be sent (transaction messages survive disconnects).
    queue: VecDeque<Outgoing>,
    in_flight: VecDeque<InFlight>,
    next_id: u64,
    online: bool,
    booted: bool,
    heartbeat: Duration,
    connections: u32,
    /// When the charger first tried to connect, until its first boot.
    first_attempt: Option<Instant>,
    last_advance: Instant,
    /// Set by a Reset: reconnect (boot again) shortly after answering.
    reboot_requested: bool,
    /// Set by a new password: reconnect with it once the answer is out.
    reconnect_requested: bool,
    /// Misbehaviour: a malformed frame goes out after this boot.
    malformed_pending: bool,
    /// When the last connection was lost, until the next boot.
    lost_at: Option<Instant>,
    /// Answered Pending or Rejected: the next BootNotification waits until
    /// then (the interval the CSMS gave), unless the CSMS triggers one.
    boot_not_before: Option<Instant>,
}

impl Sim {
    fn new(
        config: ChargerConfig,
        metrics: Arc<Metrics>,
        notices: Option<mpsc::UnboundedSender<Notice>>,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let prefix = format!("{}-{:08x}", config.identity, rng.random::<u32>());
        Self {
            hardware: Hardware::new(config.connectors, config.power_w),
            memory: Memory::new(config.version, prefix),
            password: config.security.password.clone(),
            heartbeat: config.heartbeat.unwrap_or(Duration::from_secs(300)),
            config,
            metrics,
            notices,
            rng,
            queue: VecDeque::new(),
            in_flight: VecDeque::new(),
            next_id: 1,
            online: false,
            booted: false,
            connections: 0,
            first_attempt: None,
            last_advance: Instant::now(),
            reboot_requested: false,
            reconnect_requested: false,
            malformed_pending: false,
            boot_not_before: None,
            lost_at: None,
        }
    }

    fn notice(&self, notice: Notice) {
        if let Some(tx) = &self.notices {
            let _ = tx.send(notice);
        }
    }

    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut failures = 0;
        let mut target = 0;
        self.first_attempt = Some(Instant::now());
        loop {
            let security = Security {
                password: self.password.clone(),
                tls: self.config.security.tls.clone(),
            };
            let c = &self.config;
            let url = match target {
                0 => &c.url,
                n => &c.fallback_urls[n - 1],
            };
            let attempt = transport::connect(
                url,
                &c.identity,
                c.version.subprotocol(),
                &security,
                c.source,
            )
            .await;
            let end = match attempt {
                Err(e) => {
                    failures += 1;
                    target = (target + 1) % (1 + self.config.fallback_urls.len());
                    self.metrics.connect_failed(&e.kind());
                    self.notice(Notice::ConnectFailed(e.to_string()));
                    End::Away(self.config.backoff.delay(failures, &mut self.rng))
                }
                Ok(ws) => {
                    failures = 0;
                    self.session(ws, &mut commands).await
                }
            };
            let away = match end {
                End::Shutdown => return,
                End::Reconnect => Duration::ZERO,
                End::Away(d) => d,
                End::Lost => {
                    failures += 1;
                    self.config.backoff.delay(failures, &mut self.rng)
                }
            };
            if !self.offline(away, &mut commands).await {
                return;
            }
        }
    }

    /// Away from the CSMS for `duration`: commands still act on the
    /// hardware; `false` on shutdown.
    async fn offline(
        &mut self,
        duration: Duration,
        commands: &mut mpsc::Receiver<Command>,
    ) -> bool {
        let until = Instant::now() + duration;
        loop {
            tokio::select! {
                () = sleep_until(until) => return true,
                command = commands.recv() => match command {
                    None | Some(Command::Shutdown) => return false,
                    Some(Command::GoOffline(_)) => {}
                    Some(other) => self.command(other),
                },
            }
        }
    }

    /// One connection, until it ends.
    async fn session(&mut self, mut ws: Socket, commands: &mut mpsc::Receiver<Command>) -> End {
        self.connections += 1;
        self.online = true;
        self.booted = false;
        self.in_flight.clear();
        self.notice(Notice::Connected(self.connections));
        // Only transaction messages outlive a connection.
        self.queue.retain(|c| c.transaction.is_some());
        self.boot_not_before = None;
        self.queue.push_front(self.config.version.boot());
        let end = self.connected(&mut ws, commands).await;
        self.online = false;
        if self.booted {
            self.metrics.disconnected();
            self.lost_at = Some(Instant::now());
        }
        self.booted = false;
        self.notice(Notice::Disconnected);
        // Unanswered transaction messages are sent again after the next boot.
        for f in self.in_flight.drain(..).rev() {
            if f.call.transaction.is_some() {
                self.queue.push_front(f.call);
            }
        }
        if !matches!(end, End::Lost) {
            let _ = ws.close(None).await;
        }
        end
    }

    async fn connected(&mut self, ws: &mut Socket, commands: &mut mpsc::Receiver<Command>) -> End {
        let mut heartbeat = Instant::now() + self.heartbeat;
        let mut meter = Instant::now() + self.config.meter_interval;
        let mut reboot_at: Option<Instant> = None;
        let far = || Instant::now() + Duration::from_secs(86_400);
        loop {
            if let Err(end) = self.pump(ws).await {
                return end;
            }
            let expiry = self.hardware.next_expiry().map_or_else(far, |at| {
                let wait = (at - Utc::now()).to_std().unwrap_or_default();
                Instant::now() + wait
            });
            let timeout = self
                .in_flight
                .front()
                .map_or_else(far, |f| f.sent + self.config.call_timeout);
            tokio::select! {
                incoming = ws.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if let Some(end) = self.incoming(ws, &text).await {
                            return end;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return End::Lost,
                    Some(Ok(_)) => {}
                },
                command = commands.recv() => match command {
                    None | Some(Command::Shutdown) => return End::Shutdown,
                    Some(Command::GoOffline(d)) => return End::Away(d),
                    Some(other) => self.command(other),
                },
                () = sleep_until(heartbeat), if self.booted => {
                    heartbeat = Instant::now() + self.heartbeat;
                    if self.queue.is_empty() {
                        self.queue.push_back(self.config.version.heartbeat());
                    }
                }
                () = sleep_until(meter), if self.booted => {
                    meter = Instant::now() + self.config.meter_interval;
                    self.advance();
                    for n in 1..=self.config.connectors {
                        let v = self.config.version;
                        if let Some(call) = v.meter(&mut self.ctx(), n) {
                            self.queue.push_back(call);
                        }
                    }
                }
                () = sleep_until(expiry) => {
                    let mut events = Vec::new();
                    self.hardware.expire_reservations(Utc::now(), &mut events);
                    self.report(events);
                }
                () = sleep_until(timeout), if !self.in_flight.is_empty() => {
                    if let Some(f) = self.in_flight.pop_front() {
                        self.metrics.error(&format!("timeout: {}", f.call.action));
                        if f.call.transaction.is_some() {
                            self.queue.push_front(f.call);
                        }
                    }
                }
                () = sleep_until(self.boot_not_before.unwrap_or_else(far)), if self.boot_not_before.is_some() => {
                    // Time to boot again: the pump sends it.
                    self.boot_not_before = None;
                }
                () = sleep_until(reboot_at.unwrap_or_else(far)), if reboot_at.is_some() => {
                    return End::Reconnect;
                }
            }
            if self.reboot_requested {
                self.reboot_requested = false;
                reboot_at = Some(Instant::now() + Duration::from_millis(500));
            }
            if self.reconnect_requested {
                self.reconnect_requested = false;
                return End::Reconnect;
            }
            if self.malformed_pending {
                self.malformed_pending = false;
                if ws.send(Message::text("[2, \"sim\", ")).await.is_err() {
                    return End::Lost;
                }
            }
        }
    }
}
