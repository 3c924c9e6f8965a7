//! OCPP 1.6J and 2.0.1 as a charger speaks them: what the hardware's
//! [`Event`]s become, and how each command evgate sends is answered.

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
    V16,
    V201,
}

impl Version {
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
    pub action: &'static str,
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
        message: String,
        connector: Option<u32>,
    },
    /// Remote start: a driver is assumed at the connector with this tag.
    Start { connector: u32, id_tag: String },
    /// Remote stop or unlock of this transaction.
    Stop { transaction: u64 },
    /// A new Basic-auth password, used from the next connection (the
    /// charger reconnects with it).
    NewPassword(String),
}

/// The answer to one CSMS call.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The CALLRESULT payload, or a CALLERROR code and description.
    pub result: Result<Value, (&'static str, String)>,
    pub events: Vec<Event>,
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
}

impl Memory {
    pub fn new(version: Version, transaction_prefix: String) -> Self {
        let keys: &[(&str, &str)] = match version {
            Version::V16 => &[
                ("HeartbeatInterval", "300"),
                ("MeterValueSampleInterval", "60"),
                ("ConnectionTimeOut", "60"),
                ("AuthorizationCacheEnabled", "true"),
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
            ],
        };
        Self {
            config: keys
                .iter()
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
    pub hardware: &'a mut Hardware,
    pub memory: &'a mut Memory,
    pub misbehaviour: &'a Misbehaviour,
    pub now: DateTime<Utc>,
}

impl Version {
    pub fn boot(self) -> Outgoing {
        match self {
            Version::V16 => v16::boot(),
            Version::V201 => v201::boot(),
        }
    }

    pub fn heartbeat(self) -> Outgoing {
        Outgoing::new("Heartbeat", serde_json::json!({}))
    }

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

    /// Whether a call must wait in the offline queue rather than be dropped.
    pub fn queued_offline(self, call: &Outgoing) -> bool {
        call.transaction.is_some()
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

/// A string field of a payload.
fn text<'a>(payload: &'a Value, field: &str) -> Option<&'a str> {
    payload.get(field).and_then(Value::as_str)
}

fn parse_time(raw: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
