//! The relay protocol between instances, as it reads on Redis: requests on
//! the owner's `evgate:commands:<instance>` channel, replies on the caller's
//! `evgate:replies:<instance>`. The JSON is the one earlier builds spoke
//! (`op` and `args`; `ok`, `value`, `kind`, `message`), so a cluster keeps
//! relaying through a rolling upgrade. A message that does not read as
//! these types is refused whole: nothing is taken from it with a default.

use booking::charger_control::{Refusal, ReserveRequest};
use chrono::{DateTime, Utc};
use csms::commands::CommandError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// What one instance asks the instance holding a charger's socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub(crate) enum ToOwner {
    /// The charger reconnected to the sender: close the older socket here.
    /// Nobody waits for an answer.
    Close {
        #[serde(rename = "chargePointId")]
        charge_point_id: String,
    },
    Reserve(Call<ReserveArgs>),
    Cancel(Call<CancelArgs>),
    Command(Call<CommandArgs>),
    /// The owner's journal of the charger (builds before the journal refuse
    /// it as unreadable, so the caller hears `invalid` at once).
    Journal(Call<JournalArgs>),
}

/// A request that waits for a [`Reply`] on the sender's channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Call<A> {
    pub id: Uuid,
    /// The sender's instance id: where the reply goes.
    pub from: String,
    pub charge_point_id: String,
    pub args: A,
}

/// The sender of a request that did not read whole: enough to refuse it
/// at once rather than let the caller wait out its deadline.
#[derive(Debug, Deserialize)]
pub(crate) struct Sender {
    pub id: Uuid,
    pub from: String,
}

/// ReserveNow, as [`ReserveRequest`] without the charger (the call names it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReserveArgs {
    pub evse_id: i32,
    pub connector_id: i32,
    pub connector_type: String,
    pub reservation_id: i32,
    pub id_tag: String,
    pub expires_at: DateTime<Utc>,
    /// Absent from an earlier build's wire: nothing is announced then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl ReserveArgs {
    pub(crate) fn of(request: &ReserveRequest) -> Self {
        Self {
            evse_id: request.evse_id,
            connector_id: request.connector_id,
            connector_type: request.connector_type.clone(),
            reservation_id: request.reservation_id,
            id_tag: request.id_tag.clone(),
            expires_at: request.expires_at,
            slot: request.slot,
        }
    }

    pub(crate) fn into_request(self, charge_point_id: String) -> ReserveRequest {
        ReserveRequest {
            charge_point_id,
            evse_id: self.evse_id,
            connector_id: self.connector_id,
            connector_type: self.connector_type,
            reservation_id: self.reservation_id,
            id_tag: self.id_tag,
            expires_at: self.expires_at,
            slot: self.slot,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelArgs {
    pub reservation_id: i32,
}

/// An operator command: the OCPP action and its payload, checked by the
/// owner against the charger's version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CommandArgs {
    pub action: String,
    pub payload: Value,
}

/// Which frames of a charger's journal to read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct JournalArgs {
    pub limit: usize,
    pub action: Option<String>,
}

/// The owner's answer to a [`Call`], by its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "WireReply", into = "WireReply")]
pub(crate) struct Reply {
    pub id: Uuid,
    /// The command's answer (none for a reservation), or why it failed.
    pub outcome: Result<Option<Value>, Failure>,
}

/// Why a relayed call failed, as the owner saw it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub kind: Kind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    Occupied,
    Faulted,
    Unavailable,
    Rejected,
    CallError,
    Timeout,
    Offline,
    Invalid,
    Busy,
    Charger,
}

/// A reply as it reads on the wire: `ok` decides which fields must be there.
#[derive(Serialize, Deserialize)]
struct WireReply {
    id: Uuid,
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl TryFrom<WireReply> for Reply {
    type Error = &'static str;

    fn try_from(w: WireReply) -> Result<Self, Self::Error> {
        let outcome = if w.ok {
            Ok(w.value)
        } else {
            Err(Failure {
                kind: w.kind.ok_or("a failed reply without its kind")?,
                message: w.message.ok_or("a failed reply without its message")?,
            })
        };
        Ok(Self { id: w.id, outcome })
    }
}

impl From<Reply> for WireReply {
    fn from(r: Reply) -> Self {
        match r.outcome {
            Ok(value) => Self {
                id: r.id,
                ok: true,
                value,
                kind: None,
                message: None,
            },
            Err(f) => Self {
                id: r.id,
                ok: false,
                value: None,
                kind: Some(f.kind),
                message: Some(f.message),
            },
        }
    }
}

impl Failure {
    fn bare(kind: Kind) -> Self {
        Self {
            kind,
            message: String::new(),
        }
    }

    /// A request the owner could not read.
    pub(crate) fn unreadable(why: impl std::fmt::Display) -> Self {
        Self {
            kind: Kind::Invalid,
            message: format!("unreadable relay request: {why}"),
        }
    }

    pub(crate) fn into_refusal(self) -> Refusal {
        match self.kind {
            Kind::Occupied => Refusal::Occupied,
            Kind::Faulted => Refusal::Faulted,
            Kind::Unavailable => Refusal::Unavailable,
            Kind::Rejected => Refusal::Rejected,
            Kind::Timeout => Refusal::Timeout,
            Kind::Offline => Refusal::Offline,
            // Kinds only commands produce, or the charger's own error.
            Kind::CallError | Kind::Invalid | Kind::Busy | Kind::Charger => {
                Refusal::CallError(self.message)
            }
        }
    }

    pub(crate) fn into_command_error(self) -> CommandError {
        match self.kind {
            Kind::Invalid => CommandError::Invalid(self.message),
            Kind::Offline => CommandError::Offline,
            Kind::Timeout => CommandError::Timeout,
            Kind::Busy => CommandError::Busy,
            // Kinds only reservations produce, or the charger's own error.
            Kind::Charger
            | Kind::CallError
            | Kind::Occupied
            | Kind::Faulted
            | Kind::Unavailable
            | Kind::Rejected => CommandError::Relayed(self.message),
        }
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Occupied => Self::bare(Kind::Occupied),
            Refusal::Faulted => Self::bare(Kind::Faulted),
            Refusal::Unavailable => Self::bare(Kind::Unavailable),
            Refusal::Rejected => Self::bare(Kind::Rejected),
            Refusal::CallError(message) => Self {
                kind: Kind::CallError,
                message,
            },
            Refusal::Timeout => Self::bare(Kind::Timeout),
            Refusal::Offline => Self::bare(Kind::Offline),
        }
    }
}

impl From<CommandError> for Failure {
    fn from(e: CommandError) -> Self {
        let kind = match &e {
            CommandError::Invalid(_) => Kind::Invalid,
            CommandError::Offline => Kind::Offline,
            CommandError::Timeout => Kind::Timeout,
            CommandError::Busy => Kind::Busy,
            CommandError::Charger(_) | CommandError::Relayed(_) => Kind::Charger,
        };
        let message = match e {
            CommandError::Invalid(m) | CommandError::Relayed(m) => m,
            CommandError::Charger(rpc) => rpc.to_string(),
            other => other.to_string(),
        };
        Self { kind, message }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn round_trip<T: Serialize + serde::de::DeserializeOwned>(t: &T) -> T {
        serde_json::from_str(&serde_json::to_string(t).unwrap()).unwrap()
    }

    #[test]
    fn every_refusal_survives_the_trip() {
        for r in [
            Refusal::Occupied,
            Refusal::Faulted,
            Refusal::Unavailable,
            Refusal::Rejected,
            Refusal::CallError("NotSupported: no".into()),
            Refusal::Timeout,
            Refusal::Offline,
        ] {
            let reply = Reply {
                id: Uuid::new_v4(),
                outcome: Err(r.clone().into()),
            };
            let back = round_trip(&reply).outcome.unwrap_err().into_refusal();
            assert_eq!(back, r);
        }
    }

    #[test]
    fn command_answers_survive_the_trip() {
        let id = Uuid::new_v4();
        let ok = Reply {
            id,
            outcome: Ok(Some(json!({"status": "Accepted"}))),
        };
        assert_eq!(round_trip(&ok), ok);
        for (error, expect) in [
            (CommandError::Invalid("bad".into()), "Invalid"),
            (CommandError::Offline, "Offline"),
            (CommandError::Timeout, "Timeout"),
            (CommandError::Busy, "Busy"),
            (CommandError::Relayed("NotSupported".into()), "Relayed"),
        ] {
            let reply = Reply {
                id,
                outcome: Err(error.into()),
            };
            let back = round_trip(&reply).outcome.unwrap_err().into_command_error();
            assert!(format!("{back:?}").starts_with(expect), "{back:?}");
        }
    }

    /// The JSON earlier builds sent and expect: a cluster in a rolling
    /// upgrade relays both ways.
    #[test]
    fn the_wire_is_the_earlier_builds_wire() {
        let id = Uuid::new_v4();
        let now = chrono::Utc::now();
        let old = json!({
            "id": id, "from": "i1", "op": "reserve", "chargePointId": "CP",
            "args": {"evseId": 1, "connectorId": 2, "connectorType": "CCS",
                     "reservationId": 7, "idTag": "T", "expiresAt": now.to_rfc3339()},
        });
        let ToOwner::Reserve(call) = serde_json::from_value(old.clone()).unwrap() else {
            panic!("not a reserve");
        };
        let request = call.args.clone().into_request(call.charge_point_id.clone());
        assert_eq!(
            (
                request.evse_id,
                request.connector_id,
                request.reservation_id
            ),
            (1, 2, 7)
        );
        assert_eq!(request.expires_at, now);
        assert_eq!(request.slot, None, "an earlier build sends no slot");
        let with_slot = ReserveArgs::of(&ReserveRequest {
            slot: Some((now, now + chrono::TimeDelta::hours(1))),
            ..request.clone()
        });
        let back: ReserveArgs =
            serde_json::from_value(serde_json::to_value(&with_slot).unwrap()).unwrap();
        assert_eq!(back, with_slot, "this build's slot survives the trip");
        assert_eq!(
            serde_json::to_value(ToOwner::Reserve(call)).unwrap()["args"]["idTag"],
            "T"
        );
        let close: ToOwner =
            serde_json::from_value(json!({"op": "close", "chargePointId": "CP"})).unwrap();
        assert_eq!(
            close,
            ToOwner::Close {
                charge_point_id: "CP".into()
            }
        );
        let refused: Reply = serde_json::from_value(
            json!({"id": id, "ok": false, "kind": "occupied", "message": ""}),
        )
        .unwrap();
        assert_eq!(refused.outcome.unwrap_err().kind, Kind::Occupied);
        let done: Reply = serde_json::from_value(json!({"id": id, "ok": true})).unwrap();
        assert_eq!(done.outcome, Ok(None));
        assert_eq!(
            serde_json::to_value(&done).unwrap(),
            json!({"id": id, "ok": true})
        );
    }

    /// rust-ocpp turns on serde_json's arbitrary precision, under which a
    /// float inside a tagged enum fails to read (STACK.md): a charging
    /// limit must still cross.
    #[test]
    fn floats_in_a_command_and_its_answer_cross() {
        let call = ToOwner::Command(Call {
            id: Uuid::new_v4(),
            from: "i1".into(),
            charge_point_id: "CP".into(),
            args: CommandArgs {
                action: "SetChargingProfile".into(),
                payload: json!({"limit": 7.5, "minChargingRate": 0.1}),
            },
        });
        assert_eq!(round_trip(&call), call);
        let reply = Reply {
            id: Uuid::new_v4(),
            outcome: Ok(Some(json!({"energy": 1.25}))),
        };
        assert_eq!(round_trip(&reply), reply);
    }

    #[test]
    fn a_malformed_message_is_refused_whole() {
        let id = Uuid::new_v4();
        for bad in [
            // A reservation without its id tag; a cancel with a string id.
            json!({"id": id, "from": "i1", "op": "reserve", "chargePointId": "CP",
                   "args": {"evseId": 1, "connectorId": 2, "connectorType": "CCS",
                            "reservationId": 7, "expiresAt": "2026-12-02T10:00:00Z"}}),
            json!({"id": id, "from": "i1", "op": "cancel", "chargePointId": "CP",
                   "args": {"reservationId": "7"}}),
            json!({"id": id, "from": "i1", "op": "explode", "chargePointId": "CP", "args": {}}),
            json!({"op": "close"}),
        ] {
            assert!(serde_json::from_value::<ToOwner>(bad).is_err());
        }
        for bad in [
            json!({"id": id, "ok": false, "message": "x"}),
            json!({"id": id, "ok": false, "kind": "exploded", "message": "x"}),
            json!({"id": "not-a-uuid", "ok": true}),
        ] {
            assert!(serde_json::from_value::<Reply>(bad).is_err());
        }
    }
}
