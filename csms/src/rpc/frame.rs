//! OCPP-J frames: `[2, id, action, payload]` CALL, `[3, id, payload]`
//! CALLRESULT, `[4, id, code, description, details]` CALLERROR. Parsing is
//! a pure function of the text; a malformed frame is a value saying what to
//! answer, and whether there is a message id to answer to.

use serde_json::{Value, json};

use super::RpcError;

/// OCPP-J: message ids are strings of at most 36 characters.
pub const MAX_MESSAGE_ID_CHARS: usize = 36;

/// One OCPP-J message, in either direction.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A request, `[2, id, action, payload]`, from the charger or from us.
    Call {
        /// Message id, 1 to 36 characters, chosen by the sender; the answer
        /// carries it back.
        id: String,
        /// The OCPP action, e.g. `BootNotification`.
        action: String,
        /// The request; always a JSON object.
        payload: Value,
    },
    /// A successful answer, `[3, id, payload]`.
    CallResult {
        /// The id of the CALL it answers.
        id: String,
        /// The response.
        payload: Value,
    },
    /// A failed answer, `[4, id, code, description, details]`.
    CallError {
        /// The id of the CALL it answers.
        id: String,
        /// The error code as sent; its spelling depends on the version (see
        /// [`RpcError::code`]).
        code: String,
        /// Free text; we send at most 255 characters.
        description: String,
        /// A JSON object of extra detail; `{}` when the sender gave none.
        details: Value,
    },
}

/// A frame that could not be read: answer `error` to `id` when an id could
/// be read (and the frame was a CALL), otherwise count it as garbage.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameError {
    /// The message id to answer to; `None` when none could be read or no answer
    /// is due.
    pub id: Option<String>,
    /// What to answer with, or why the frame counts as garbage.
    pub error: RpcError,
}

impl FrameError {
    fn new(id: Option<String>, error: RpcError) -> Self {
        Self { id, error }
    }
}

impl Frame {
    /// Reads one text frame: an array whose message id is a string of 1 to 36
    /// characters, and a CALL's payload an object.
    pub fn parse(text: &str) -> Result<Frame, FrameError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| FrameError::new(None, RpcError::RpcFramework(format!("not JSON: {e}"))))?;
        let Value::Array(items) = value else {
            return Err(FrameError::new(
                None,
                RpcError::RpcFramework("a frame is a JSON array".into()),
            ));
        };
        let kind = items.first().and_then(Value::as_u64);
        let id = match items.get(1) {
            Some(Value::String(id))
                if !id.is_empty() && id.chars().count() <= MAX_MESSAGE_ID_CHARS =>
            {
                id.clone()
            }
            _ => {
                return Err(FrameError::new(
                    None,
                    RpcError::RpcFramework(
                        "message id must be a string of 1 to 36 characters".into(),
                    ),
                ));
            }
        };
        match kind {
            Some(2) => {
                let Some(Value::String(action)) = items.get(2) else {
                    return Err(FrameError::new(
                        Some(id),
                        RpcError::RpcFramework("CALL without an action".into()),
                    ));
                };
                match items.get(3) {
                    Some(payload @ Value::Object(_)) if items.len() == 4 => Ok(Frame::Call {
                        id,
                        action: action.clone(),
                        payload: payload.clone(),
                    }),
                    _ => Err(FrameError::new(
                        Some(id),
                        RpcError::Format("a CALL payload is a JSON object".into()),
                    )),
                }
            }
            Some(3) => match items.get(2) {
                Some(payload) if items.len() == 3 => Ok(Frame::CallResult {
                    id,
                    payload: payload.clone(),
                }),
                _ => Err(FrameError::new(
                    None,
                    RpcError::RpcFramework("malformed CALLRESULT".into()),
                )),
            },
            Some(4) => {
                let code = items.get(2).and_then(Value::as_str);
                let description = items.get(3).and_then(Value::as_str).unwrap_or_default();
                match code {
                    Some(code) => Ok(Frame::CallError {
                        id,
                        code: code.to_owned(),
                        description: description.to_owned(),
                        details: items.get(4).cloned().unwrap_or_else(|| json!({})),
                    }),
                    None => Err(FrameError::new(
                        None,
                        RpcError::RpcFramework("malformed CALLERROR".into()),
                    )),
                }
            }
            _ => Err(FrameError::new(
                Some(id),
                RpcError::MessageTypeNotSupported("message type must be 2, 3 or 4".into()),
            )),
        }
    }

    /// The frame as the JSON text sent on the socket.
    pub fn encode(&self) -> String {
        let value = match self {
            Frame::Call {
                id,
                action,
                payload,
            } => json!([2, id, action, payload]),
            Frame::CallResult { id, payload } => json!([3, id, payload]),
            Frame::CallError {
                id,
                code,
                description,
                details,
            } => json!([4, id, code, description, details]),
        };
        value.to_string()
    }

    /// The CALLERROR answering a CALL with `id`, spelled for `version`.
    pub fn error(id: &str, error: &RpcError, version: booking::model::OcppVersion) -> Frame {
        Frame::CallError {
            id: id.to_owned(),
            code: error.code(version).to_owned(),
            description: error.description().chars().take(255).collect(),
            details: json!({}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_three_frame_kinds() {
        assert_eq!(
            Frame::parse(r#"[2,"19223201","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#).unwrap(),
            Frame::Call {
                id: "19223201".into(),
                action: "BootNotification".into(),
                payload: json!({"chargePointVendor":"V","chargePointModel":"M"}),
            }
        );
        assert_eq!(
            Frame::parse(r#"[3,"a",{"status":"Accepted"}]"#).unwrap(),
            Frame::CallResult {
                id: "a".into(),
                payload: json!({"status":"Accepted"})
            }
        );
        let e = Frame::parse(r#"[4,"a","NotImplemented","no",{}]"#).unwrap();
        assert!(matches!(e, Frame::CallError { ref code, .. } if code == "NotImplemented"));
    }

    #[test]
    fn malformed_frames_say_what_to_answer() {
        let no_object = Frame::parse(r#"[2,"id1","Heartbeat",[]]"#).unwrap_err();
        assert_eq!(no_object.id.as_deref(), Some("id1"));
        assert!(matches!(no_object.error, RpcError::Format(_)));
        let null_payload = Frame::parse(r#"[2,"id1","Heartbeat",null]"#).unwrap_err();
        assert!(matches!(null_payload.error, RpcError::Format(_)));
        let kind = Frame::parse(r#"[7,"id2",{}]"#).unwrap_err();
        assert_eq!(kind.id.as_deref(), Some("id2"));
        assert!(matches!(kind.error, RpcError::MessageTypeNotSupported(_)));
        for garbage in ["hello", "{}", "[]", "[2]", r#"[2,5,"Heartbeat",{}]"#] {
            assert_eq!(Frame::parse(garbage).unwrap_err().id, None, "{garbage}");
        }
        let long = format!(r#"[2,"{}","Heartbeat",{{}}]"#, "x".repeat(37));
        assert_eq!(Frame::parse(&long).unwrap_err().id, None);
    }

    #[test]
    fn errors_are_spelled_per_version() {
        use booking::model::OcppVersion::*;
        let err = RpcError::Format("bad".into());
        let v16 = Frame::error("m1", &err, V16).encode();
        let v201 = Frame::error("m1", &err, V201).encode();
        assert_eq!(v16, r#"[4,"m1","FormationViolation","bad",{}]"#);
        assert_eq!(v201, r#"[4,"m1","FormatViolation","bad",{}]"#);
    }

    proptest! {
        /// Whatever arrives, parsing answers (never panics), and a frame we
        /// encode reads back as itself.
        #[test]
        fn never_panics(text in ".{0,200}") {
            let _ = Frame::parse(&text);
        }

        #[test]
        fn round_trips(id in "[a-zA-Z0-9-]{1,36}", action in "[A-Za-z]{1,30}", n in 0i64..1000) {
            let call = Frame::Call { id, action, payload: json!({"n": n}) };
            prop_assert_eq!(Frame::parse(&call.encode()).unwrap(), call);
        }
    }
}
