//! OCPP-J frames as the simulated charger reads and writes them. Written
//! independently of evgate's own codec, so the two check each other.

use serde_json::{Value, json};

/// One OCPP-J message, in either direction.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A request, `[2, id, action, payload]`.
    Call {
        /// Message id, chosen by the sender; the answer carries it back.
        id: String,
        /// The OCPP action, e.g. `ReserveNow`.
        action: String,
        /// The request payload (`null` when the frame had none).
        payload: Value,
    },
    /// A successful answer, `[3, id, payload]`.
    Result {
        /// The id of the CALL it answers.
        id: String,
        /// The response payload.
        payload: Value,
    },
    /// A failed answer, `[4, id, code, description, details]`; details are not
    /// kept and go out as `{}`.
    Error {
        /// The id of the CALL it answers.
        id: String,
        /// The error code, e.g. `NotImplemented` (empty when missing).
        code: String,
        /// Free text (empty when missing).
        description: String,
    },
}

impl Frame {
    /// Reads a frame, leniently: only the message type and id are required; ids
    /// are not length-checked.
    pub fn parse(text: &str) -> Result<Frame, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let items = v.as_array().ok_or("not an array")?;
        let id = items
            .get(1)
            .and_then(Value::as_str)
            .ok_or("no message id")?
            .to_owned();
        match items.first().and_then(Value::as_u64) {
            Some(2) => Ok(Frame::Call {
                id,
                action: items
                    .get(2)
                    .and_then(Value::as_str)
                    .ok_or("no action")?
                    .to_owned(),
                payload: items.get(3).cloned().unwrap_or(Value::Null),
            }),
            Some(3) => Ok(Frame::Result {
                id,
                payload: items.get(2).cloned().unwrap_or(Value::Null),
            }),
            Some(4) => Ok(Frame::Error {
                id,
                code: items
                    .get(2)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                description: items
                    .get(3)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }),
            _ => Err("unknown message type".into()),
        }
    }

    /// The frame as the JSON text sent on the socket.
    pub fn encode(&self) -> String {
        match self {
            Frame::Call {
                id,
                action,
                payload,
            } => json!([2, id, action, payload]),
            Frame::Result { id, payload } => json!([3, id, payload]),
            Frame::Error {
                id,
                code,
                description,
            } => json!([4, id, code, description, {}]),
        }
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        for f in [
            Frame::Call {
                id: "1".into(),
                action: "Heartbeat".into(),
                payload: json!({}),
            },
            Frame::Result {
                id: "1".into(),
                payload: json!({"currentTime": "x"}),
            },
            Frame::Error {
                id: "9".into(),
                code: "NotImplemented".into(),
                description: "no".into(),
            },
        ] {
            assert_eq!(Frame::parse(&f.encode()).unwrap(), f);
        }
        assert!(Frame::parse("[5,\"1\"]").is_err());
        assert!(Frame::parse("{").is_err());
    }
}
