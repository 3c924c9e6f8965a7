//! OCPP 1.6J and 2.0.1 as a charger speaks them: what the hardware's
//! [`Event`]s become, and how each command evgate sends is answered.

mod device_model;
pub mod local_list;
mod maintenance;
mod v16;
mod v201;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::misbehaviour::Misbehaviour;
use crate::model::{Event, Hardware};

/// The OCPP version a simulated charger speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// OCPP 1.6J, subprotocol `ocpp1.6`.
    V16,
    /// OCPP 2.0.1, subprotocol `ocpp2.0.1`.
    V201,
}

impl Version {
    /// The WebSocket subprotocol it asks for in the handshake.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Version::V16 => "ocpp1.6",
            Version::V201 => "ocpp2.0.1",
        }
    }
}

impl std::str::FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "1.6" | "ocpp1.6" => Ok(Version::V16),
            "2.0.1" | "ocpp2.0.1" => Ok(Version::V201),
            _ => Err(format!("version must be 1.6 or 2.0.1, got {s:?}")),
        }
    }
}

/// A call the charger sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The OCPP action, e.g. `StatusNotification`.
    pub action: &'static str,
    /// The request payload; a 1.6 transaction message gets its `transactionId`
    /// only when sent ([`Version::finish`]).
    pub payload: Value,
    /// The charger's own transaction number, when the call belongs to a
    /// transaction: such calls wait in the offline queue, and 1.6 ones get
    /// the CSMS's transaction id when they are sent.
    pub transaction: Option<u64>,
}

impl Outgoing {
    fn new(action: &'static str, payload: Value) -> Self {
        Self {
            action,
            payload,
            transaction: None,
        }
    }

    fn of_transaction(action: &'static str, payload: Value, transaction: u64) -> Self {
        Self {
            action,
            payload,
            transaction: Some(transaction),
        }
    }
}

/// What the charger does after answering a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Followup {
    /// Reset: the charger reboots and boots again.
    Reboot,
    /// TriggerMessage: send this message now.
    Trigger {
        /// The message asked for, e.g. `StatusNotification`.
        message: String,
        /// The connector (2.0.1: EVSE) it concerns; `None` for all of them.
        connector: Option<u32>,
    },
    /// Remote start: a driver is assumed at the connector with this tag.
    Start {
        /// The connector (2.0.1: EVSE) to start on.
        connector: u32,
        /// The id tag the CSMS started it for.
        id_tag: String,
    },
    /// Remote stop or unlock of this transaction.
    Stop {
        /// The charger's own number for the transaction
        /// ([`crate::model::Transaction::local`]).
        transaction: u64,
    },
    /// A new Basic-auth password, used from the next connection (the
    /// charger reconnects with it).
    NewPassword(String),
    /// Send these calls, in order (a report asked for).
    Send(Vec<Outgoing>),
}

/// The answer to one CSMS call.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The CALLRESULT payload, or a CALLERROR code and description.
    pub result: Result<Value, (&'static str, String)>,
    /// What the command changed on the hardware, reported once the answer is
    /// out.
    pub events: Vec<Event>,
    /// What the charger does once the answer is out.
    pub followups: Vec<Followup>,
}

impl Answer {
    fn ok(payload: Value) -> Self {
        Self {
            result: Ok(payload),
            events: Vec::new(),
            followups: Vec::new(),
        }
    }

    fn error(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            result: Err((code, description.into())),
            events: Vec::new(),
            followups: Vec::new(),
        }
    }
}

/// What a charger remembers beside its hardware: its configuration,
/// the CSMS's ids for its transactions, and 2.0.1 sequence numbers.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// 1.6 configuration keys; 2.0.1 `Component.Variable`.
    pub config: BTreeMap<String, String>,
    /// 1.6: the CSMS's transactionId for each of the charger's transactions.
    pub csms_ids: HashMap<u64, i64>,
    /// 2.0.1: the next seqNo of each transaction.
    pub seq: HashMap<u64, u32>,
    /// Makes 2.0.1 transaction ids unique across restarts of the simulator.
    pub transaction_prefix: String,
    /// The local authorization list the CSMS sent.
    pub local_list: local_list::LocalAuthList,
}

impl Memory {
    /// The memory of a fresh charger: the version's default configuration
    /// (heartbeat 300 s, profile 0, …), and `transaction_prefix` for its 2.0.1
    /// transaction ids.
    pub fn new(version: Version, transaction_prefix: String) -> Self {
        let keys: &[(&str, &str)] = match version {
            Version::V16 => &[
                ("HeartbeatInterval", "300"),
                ("MeterValueSampleInterval", "60"),
                ("ConnectionTimeOut", "60"),
                ("AuthorizationCacheEnabled", "true"),
                ("LocalAuthListEnabled", "true"),
                ("SendLocalListMaxLength", "100"),
                ("SecurityProfile", "0"),
                ("AuthorizationKey", ""),
            ],
            Version::V201 => &[
                ("OCPPCommCtrlr.HeartbeatInterval", "300"),
                ("SampledDataCtrlr.TxUpdatedInterval", "60"),
                ("SecurityCtrlr.SecurityProfile", "0"),
                ("SecurityCtrlr.BasicAuthPassword", ""),
                ("OCPPCommCtrlr.NetworkConfigurationPriority", "0"),
                ("AuthCacheCtrlr.Enabled", "true"),
                ("LocalAuthListCtrlr.Enabled", "true"),
                ("LocalAuthListCtrlr.ItemsPerMessage", "100"),
            ],
        };
        // 2.0.1: the rest of the device model it reports (GetBaseReport).
        let model: &[(&str, &str)] = match version {
            Version::V16 => &[],
            Version::V201 => device_model::DEFAULTS,
        };
        Self {
            config: keys
                .iter()
                .chain(model)
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            transaction_prefix,
            ..Self::default()
        }
    }

    /// The 2.0.1 transaction id of the charger's transaction `local`.
    pub fn transaction_id(&self, local: u64) -> String {
        format!("{}-{local}", self.transaction_prefix)
    }

    /// The charger's transaction with this 2.0.1 id.
    fn local_of(&self, id: &str) -> Option<u64> {
        id.strip_prefix(&self.transaction_prefix)?
            .strip_prefix('-')?
            .parse()
            .ok()
    }
}

/// How the charger writes a time.
pub fn timestamp(at: DateTime<Utc>, m: &Misbehaviour) -> String {
    if m.naive_timestamps {
        at.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        at.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// Everything a dialect needs to turn events into calls or answer one.
#[derive(Debug)]
pub struct Charger<'a> {
    /// Its connectors, reservations, transactions and meters.
    pub hardware: &'a mut Hardware,
    /// Its configuration and transaction bookkeeping.
    pub memory: &'a mut Memory,
    /// Which deviations from OCPP it commits.
    pub misbehaviour: &'a Misbehaviour,
    /// The time its calls are stamped with, UTC.
    pub now: DateTime<Utc>,
}

impl Version {
    /// The BootNotification, sent first on every connection (vendor
    /// `evgate-sim`).
    pub fn boot(self) -> Outgoing {
        match self {
            Version::V16 => v16::boot(),
            Version::V201 => v201::boot(),
        }
    }

    /// A Heartbeat: the same empty request in both versions.
    pub fn heartbeat(self) -> Outgoing {
        Outgoing::new("Heartbeat", serde_json::json!({}))
    }

    /// An Authorize of `id_tag` (2.0.1: an idToken of type ISO14443).
    pub fn authorize(self, id_tag: &str) -> Outgoing {
        match self {
            Version::V16 => v16::authorize(id_tag),
            Version::V201 => v201::authorize(id_tag),
        }
    }

    /// The calls that report `event`.
    pub fn report(self, c: &mut Charger<'_>, event: &Event) -> Vec<Outgoing> {
        match self {
            Version::V16 => v16::report(c, event),
            Version::V201 => v201::report(c, event),
        }
    }

    /// A meter reading of the transaction on `connector`, if one runs.
    pub fn meter(self, c: &mut Charger<'_>, connector: u32) -> Option<Outgoing> {
        match self {
            Version::V16 => v16::meter(c, connector),
            Version::V201 => v201::meter(c, connector),
        }
    }

    /// Answers a CSMS call.
    pub fn answer(self, c: &mut Charger<'_>, action: &str, payload: &Value) -> Answer {
        if let Some(answer) = local_list::answer(self, &mut c.memory.local_list, action, payload) {
            return answer;
        }
        let mut answer = match self {
            Version::V16 => v16::answer(c, action, payload),
            Version::V201 => v201::answer(c, action, payload),
        };
        if action == "ReserveNow"
            && let (Some(forced), Ok(body)) = (&c.misbehaviour.reserve_answer, &mut answer.result)
        {
            body["status"] = Value::String(forced.clone());
        }
        answer
    }

    /// What the CSMS's answer to one of our calls changes: 1.6 transaction
    /// ids, and transactions the CSMS refused (stopped as DeAuthorized).
    pub fn answered(self, c: &mut Charger<'_>, sent: &Outgoing, answer: &Value) -> Vec<Event> {
        match self {
            Version::V16 => v16::answered(c, sent, answer),
            Version::V201 => v201::answered(c, sent, answer),
        }
    }

    /// Just before sending: a 1.6 call about a transaction gets the CSMS's
    /// id for it (known by then: calls go one at a time, in order).
    pub fn finish(self, memory: &Memory, call: &mut Outgoing) {
        if self == Version::V16
            && call.action != "StartTransaction"
            && let Some(local) = call.transaction
            && let Some(id) = memory.csms_ids.get(&local)
        {
            call.payload["transactionId"] = Value::from(*id);
        }
    }
}

/// ReserveNow on the hardware; both versions name the outcomes alike.
fn reserve(
    c: &mut Charger<'_>,
    connector: Option<u32>,
    reservation: crate::model::Reservation,
) -> Answer {
    use crate::model::ReserveOutcome;
    let mut events = Vec::new();
    let status = match c.hardware.reserve(connector, reservation, &mut events) {
        ReserveOutcome::Accepted => "Accepted",
        ReserveOutcome::Occupied => "Occupied",
        ReserveOutcome::Faulted => "Faulted",
        ReserveOutcome::Unavailable => "Unavailable",
        ReserveOutcome::Rejected => "Rejected",
    };
    Answer {
        events,
        ..Answer::ok(serde_json::json!({ "status": status }))
    }
}

/// CancelReservation (the same payload in both versions).
fn cancel_reservation(c: &mut Charger<'_>, payload: &Value) -> Answer {
    let mut events = Vec::new();
    let known = payload["reservationId"]
        .as_i64()
        .is_some_and(|id| c.hardware.cancel_reservation(id, &mut events));
    Answer {
        events,
        ..Answer::ok(serde_json::json!({ "status": if known { "Accepted" } else { "Rejected" } }))
    }
}

/// ChangeAvailability of connector (EVSE) `n`, 0 for the whole charger.
fn change_availability(c: &mut Charger<'_>, n: u32, operative: bool) -> Answer {
    let mut events = Vec::new();
    let status = match c.hardware.set_operative(n, operative, &mut events) {
        Some(true) => "Accepted",
        Some(false) => "Scheduled",
        None => "Rejected",
    };
    Answer {
        events,
        ..Answer::ok(serde_json::json!({ "status": status }))
    }
}

/// Remote stop of the charger's transaction `local`, if it still runs.
fn remote_stop(c: &Charger<'_>, local: Option<u64>) -> Answer {
    let running = local.filter(|l| c.hardware.connector_of(*l).is_some());
    let mut answer = Answer::ok(
        serde_json::json!({ "status": if running.is_some() { "Accepted" } else { "Rejected" } }),
    );
    answer
        .followups
        .extend(running.map(|transaction| Followup::Stop { transaction }));
    answer
}

/// TriggerMessage: accepted for the messages this charger can send.
fn trigger(message: &str, supported: &[&str], connector: Option<u32>) -> Answer {
    let ok = supported.contains(&message);
    let mut answer =
        Answer::ok(serde_json::json!({ "status": if ok { "Accepted" } else { "NotImplemented" } }));
    if ok {
        answer.followups.push(Followup::Trigger {
            message: message.to_owned(),
            connector,
        });
    }
    answer
}

/// UnlockConnector of connector (EVSE) `n`: a session on it ends.
fn unlock(c: &Charger<'_>, n: u32, unknown_status: &str) -> Answer {
    let Some(conn) = c.hardware.connector(n) else {
        return Answer::ok(serde_json::json!({ "status": unknown_status }));
    };
    let mut answer = Answer::ok(serde_json::json!({ "status": "Unlocked" }));
    answer
        .followups
        .extend(conn.transaction.as_ref().map(|t| Followup::Stop {
            transaction: t.local,
        }));
    answer
}

/// A string field of a payload.
/// SetChargingProfile in either version: `connector` is 1.6 connectorId
/// or 2.0.1 evseId, `profile` the profile as sent.
fn set_charging_profile(c: &mut Charger<'_>, connector: Option<u64>, profile: &Value) -> Answer {
    let Some(n) = connector.and_then(|n| u32::try_from(n).ok()) else {
        return Answer::error(
            "OccurrenceConstraintViolation",
            "the connector/EVSE is required",
        );
    };
    if n > 0 && c.hardware.connector(n).is_none() {
        return Answer::ok(serde_json::json!({ "status": "Rejected" }));
    }
    let charging = c
        .hardware
        .connector(n)
        .is_some_and(|x| x.transaction.is_some());
    Answer::ok(serde_json::json!({ "status": c.hardware.profiles.set(n, profile, charging) }))
}

/// The limit `n` applies now (`None`: unlimited), and its schedule.
fn composite(c: &Charger<'_>, n: u32, duration: i64) -> Option<Value> {
    let charging = c
        .hardware
        .connector(n)
        .is_some_and(|x| x.transaction.is_some());
    c.hardware.profiles.composite(n, charging, duration)
}

fn text<'a>(payload: &'a Value, field: &str) -> Option<&'a str> {
    payload.get(field).and_then(Value::as_str)
}

fn parse_time(raw: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests;
