//! What goes over one connection: the calls the charger sends (the boot
//! first, then one at a time unless pipelining), the CSMS's calls answered
//! through the dialect and what follows from them, the CSMS's answers
//! settled; and the hardware's events turned into calls.

use std::time::Duration;

use chrono::Utc;
use futures_util::SinkExt;
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{Command, End, InFlight, Notice, Sim};
use crate::dialect::{self, Followup, Outgoing};
use crate::frame::Frame;
use crate::model::{Event, StopReason};
use crate::transport::Socket;

impl Sim {
    pub(super) fn ctx(&mut self) -> dialect::Charger<'_> {
        dialect::Charger {
            hardware: &mut self.hardware,
            memory: &mut self.memory,
            misbehaviour: &self.config.misbehaviour,
            now: Utc::now(),
        }
    }

    /// Meters advance by the time since they last did.
    pub(super) fn advance(&mut self) {
        let now = Instant::now();
        let elapsed = now - self.last_advance;
        self.last_advance = now;
        self.hardware
            .advance(chrono::TimeDelta::from_std(elapsed).unwrap_or_default());
    }

    /// Turns events into calls: queued while connected; while offline only
    /// transaction messages are kept (statuses are re-sent after boot).
    pub(super) fn report(&mut self, events: Vec<Event>) {
        let version = self.config.version;
        for event in &events {
            for call in version.report(&mut self.ctx(), event) {
                if self.online || call.transaction.is_some() {
                    self.queue.push_back(call);
                }
            }
        }
    }

    pub(super) fn command(&mut self, command: Command) {
        self.advance();
        let now = Utc::now();
        let mut events = Vec::new();
        match command {
            Command::Start { connector, id_tag } => {
                // Offline, only the local list can say yes.
                if !self.online && !self.memory.local_list.allows(&id_tag, now) {
                    self.notice(Notice::StartRefused {
                        connector,
                        why: "NotInLocalList".into(),
                    });
                } else if let Err(why) = self.hardware.start(connector, &id_tag, now, &mut events) {
                    self.notice(Notice::StartRefused {
                        connector,
                        why: format!("{why:?}"),
                    });
                }
            }
            Command::Stop { connector } => {
                self.hardware
                    .stop(connector, StopReason::Local, now, &mut events);
            }
            Command::Suspend { connector } => self.hardware.suspend(connector, &mut events),
            Command::Fault { connector } => self.hardware.fault(connector, &mut events),
            Command::Recover { connector } => self.hardware.recover(connector, &mut events),
            Command::Authorize { id_tag } => {
                if self.online {
                    let call = self.config.version.authorize(&id_tag);
                    self.queue.push_back(call);
                }
            }
            Command::GoOffline(_) | Command::Shutdown => {}
        }
        self.report(events);
    }

    /// Sends what may go now: the boot first; nothing else until it is
    /// accepted; one call at a time unless pipelining.
    pub(super) async fn pump(&mut self, ws: &mut Socket) -> Result<(), End> {
        loop {
            let may_send = self.in_flight.is_empty() || self.config.misbehaviour.pipeline;
            let next_is_boot = self
                .queue
                .front()
                .is_some_and(|c| c.action == "BootNotification");
            if !may_send || !(self.booted || next_is_boot) {
                return Ok(());
            }
            if next_is_boot && !self.in_flight.is_empty() {
                return Ok(());
            }
            if next_is_boot && self.boot_not_before.is_some_and(|at| at > Instant::now()) {
                return Ok(());
            }
            let Some(mut call) = self.queue.pop_front() else {
                return Ok(());
            };
            self.config.version.finish(&self.memory, &mut call);
            let id = self.next_id.to_string();
            self.next_id += 1;
            let frame = Frame::Call {
                id: id.clone(),
                action: call.action.to_owned(),
                payload: call.payload.clone(),
            };
            if ws.send(Message::text(frame.encode())).await.is_err() {
                if call.transaction.is_some() {
                    self.queue.push_front(call);
                }
                return Err(End::Lost);
            }
            self.metrics.call_sent(call.action);
            self.in_flight.push_back(InFlight {
                id,
                call,
                sent: Instant::now(),
            });
        }
    }

    /// A frame from the CSMS; `Some` ends the connection.
    pub(super) async fn incoming(&mut self, ws: &mut Socket, text: &str) -> Option<End> {
        let frame = match Frame::parse(text) {
            Ok(f) => f,
            Err(e) => {
                self.metrics
                    .error(&format!("malformed frame from CSMS: {e}"));
                return None;
            }
        };
        match frame {
            Frame::Call {
                id,
                action,
                payload,
            } => self.answer(ws, id, action, payload).await,
            Frame::Result { id, payload } => {
                self.settle(&id, Ok(payload));
                None
            }
            Frame::Error { id, code, .. } => {
                self.settle(&id, Err(code));
                None
            }
        }
    }

    async fn answer(
        &mut self,
        ws: &mut Socket,
        id: String,
        action: String,
        payload: Value,
    ) -> Option<End> {
        self.notice(Notice::Received {
            action: action.clone(),
            payload: payload.clone(),
        });
        self.advance();
        let m = &self.config.misbehaviour;
        if m.never_answer {
            return None;
        }
        if let Some(delay) = m.answer_delay {
            tokio::time::sleep(delay).await;
        }
        let version = self.config.version;
        let answer = version.answer(&mut self.ctx(), &action, &payload);
        let reply = match answer.result {
            Ok(payload) => Frame::Result { id, payload },
            Err((code, description)) => Frame::Error {
                id,
                code: code.to_owned(),
                description,
            },
        };
        if ws.send(Message::text(reply.encode())).await.is_err() {
            return Some(End::Lost);
        }
        self.report(answer.events);
        if matches!(action.as_str(), "SetDisplayMessage" | "ClearDisplayMessage") {
            let lines = self.hardware.screen.lines();
            tracing::info!(charger = %self.config.identity, screen = ?lines, "the screen shows");
            self.notice(Notice::Screen(lines));
        }
        if matches!(
            action.as_str(),
            "SetChargingProfile" | "ClearChargingProfile"
        ) {
            let connectors: Vec<(u32, bool)> = (1..=self.config.connectors)
                .map(|n| {
                    let charging = self
                        .hardware
                        .connector(n)
                        .is_some_and(|c| c.transaction.is_some());
                    (n, charging)
                })
                .collect();
            let lines = self.hardware.profiles.lines(&connectors);
            tracing::info!(charger = %self.config.identity, limits = ?lines, "the charger applies");
            self.notice(Notice::Limits(lines));
        }
        for followup in answer.followups {
            self.follow(followup);
        }
        None
    }

    fn follow(&mut self, followup: Followup) {
        let version = self.config.version;
        let now = Utc::now();
        let mut events = Vec::new();
        match followup {
            Followup::Reboot => {
                self.hardware.reboot(now, &mut events);
                self.reboot_requested = true;
            }
            Followup::Send(calls) => self.queue.extend(calls),
            Followup::NewPassword(password) => {
                self.password = Some(password);
                self.reconnect_requested = true;
            }
            Followup::Start { connector, id_tag } => {
                self.command(Command::Start { connector, id_tag });
            }
            Followup::Stop { transaction } => {
                if let Some(n) = self.hardware.connector_of(transaction) {
                    self.advance();
                    self.hardware.stop(n, StopReason::Remote, now, &mut events);
                }
            }
            Followup::Trigger { message, connector } => {
                let targets: Vec<u32> = match connector {
                    Some(n) => vec![n],
                    None => (1..=self.config.connectors).collect(),
                };
                match message.as_str() {
                    "BootNotification" => {
                        // Triggered: at once, whatever interval was given.
                        self.boot_not_before = None;
                        if self
                            .queue
                            .front()
                            .is_none_or(|c| c.action != "BootNotification")
                        {
                            self.queue.push_front(version.boot());
                        }
                    }
                    "Heartbeat" => self.queue.push_back(version.heartbeat()),
                    "StatusNotification" => {
                        events.extend(self.hardware.statuses().into_iter().filter(
                            |e| matches!(e, Event::Status { connector, .. } if targets.contains(connector)),
                        ));
                    }
                    _ => {
                        for n in targets {
                            if let Some(call) = version.meter(&mut self.ctx(), n) {
                                self.queue.push_back(call);
                            }
                        }
                    }
                }
            }
        }
        self.report(events);
    }

    /// The CSMS answered one of our calls.
    fn settle(&mut self, id: &str, result: Result<Value, String>) {
        let Some(i) = self.in_flight.iter().position(|f| f.id == id) else {
            self.metrics.error("answer to no call");
            return;
        };
        let Some(f) = self.in_flight.remove(i) else {
            return;
        };
        self.metrics.answered(f.sent.elapsed());
        let action = f.call.action.to_owned();
        match result {
            Err(code) => {
                self.metrics.error(&format!("CALLERROR {code} to {action}"));
                self.notice(Notice::CallError { action, code });
            }
            Ok(payload) => {
                if action == "BootNotification" {
                    self.booted(&payload);
                }
                let version = self.config.version;
                let events = version.answered(&mut self.ctx(), &f.call, &payload);
                self.report(events);
                self.notice(Notice::Answered { action, payload });
            }
        }
    }

    fn booted(&mut self, answer: &Value) {
        let status = answer["status"].as_str().unwrap_or_default().to_owned();
        let interval = answer["interval"].as_u64().filter(|s| *s > 0);
        self.notice(Notice::Booted(status.clone()));
        if status != "Accepted" {
            // Ask again after the interval (or when the CSMS triggers it).
            let wait = Duration::from_secs(interval.unwrap_or(10));
            self.boot_not_before = Some(Instant::now() + wait);
            self.queue.push_front(self.config.version.boot());
            return;
        }
        self.boot_not_before = None;
        if !self.booted {
            let since = self.first_attempt.take().map(|t| t.elapsed());
            self.metrics.connected(since);
            if let Some(lost) = self.lost_at.take() {
                self.metrics.reconnected(lost.elapsed());
            }
        }
        self.booted = true;
        if self.config.heartbeat.is_none()
            && let Some(s) = interval
        {
            self.heartbeat = Duration::from_secs(s);
        }
        // Statuses first, then whatever waited (transaction messages).
        let version = self.config.version;
        let statuses: Vec<Outgoing> = self
            .hardware
            .statuses()
            .iter()
            .flat_map(|e| version.report(&mut self.ctx(), e))
            .collect();
        for call in statuses.into_iter().rev() {
            self.queue.push_front(call);
        }
        if self.config.misbehaviour.malformed_frame {
            self.malformed_pending = true;
        }
    }
}
