//! The charger's screen (OCPP 2.0.1 display messages): what the CSMS put
//! there with SetDisplayMessage, until it is cleared or its end time passes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Messages a 2.0.1 charger holds at most (`DisplayMessageCtrlr.DisplayMessages`).
pub const CAPACITY: usize = 16;

/// The messages on the screen, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Screen {
    messages: BTreeMap<i64, Value>,
}

impl Screen {
    /// SetDisplayMessage: the answer's status. A message of a known id
    /// replaces it; a full screen or a message without text is Rejected.
    pub fn set(&mut self, info: &Value) -> &'static str {
        let (Some(id), Some(_)) = (info["id"].as_i64(), info["message"]["content"].as_str()) else {
            return "Rejected";
        };
        if !self.messages.contains_key(&id) && self.messages.len() >= CAPACITY {
            return "Rejected";
        }
        self.messages.insert(id, info.clone());
        "Accepted"
    }

    /// ClearDisplayMessage: Accepted, or Unknown when there is no such message.
    pub fn clear(&mut self, id: i64) -> &'static str {
        if self.messages.remove(&id).is_some() {
            "Accepted"
        } else {
            "Unknown"
        }
    }

    /// Drops messages whose end time has passed.
    pub fn expire(&mut self, now: DateTime<Utc>) {
        self.messages.retain(|_, m| {
            m["endDateTime"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_none_or(|end| end > now)
        });
    }

    /// The messages GetDisplayMessages asks for (`ids` empty: all).
    pub fn infos(&self, ids: &[i64]) -> Vec<Value> {
        self.messages
            .iter()
            .filter(|(id, _)| ids.is_empty() || ids.contains(id))
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// What a driver reads: each message's text, by id.
    pub fn lines(&self) -> Vec<String> {
        self.messages
            .values()
            .filter_map(|m| m["message"]["content"].as_str().map(str::to_owned))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn message(id: i64, text: &str, end: Option<&str>) -> Value {
        let mut m = json!({"id": id, "priority": "NormalCycle", "message": {"format": "UTF8", "content": text}});
        if let Some(end) = end {
            m["endDateTime"] = json!(end);
        }
        m
    }

    #[test]
    fn messages_are_set_replaced_cleared_and_expire() {
        let mut screen = Screen::default();
        assert_eq!(screen.set(&message(2, "Welcome", None)), "Accepted");
        assert_eq!(
            screen.set(&message(
                1,
                "Reserved 14:00–15:00",
                Some("2030-01-01T14:15:00Z")
            )),
            "Accepted"
        );
        assert_eq!(screen.set(&json!({"id": 3})), "Rejected");
        assert_eq!(screen.lines(), ["Reserved 14:00–15:00", "Welcome"]);
        assert_eq!(screen.set(&message(2, "Hello", None)), "Accepted");
        assert_eq!(screen.infos(&[2]).len(), 1);
        screen.expire(
            DateTime::parse_from_rfc3339("2030-01-01T14:15:00Z")
                .unwrap()
                .to_utc(),
        );
        assert_eq!(screen.lines(), ["Hello"]);
        assert_eq!(screen.clear(2), "Accepted");
        assert_eq!(screen.clear(2), "Unknown");
        for id in 0..CAPACITY as i64 {
            assert_eq!(screen.set(&message(id, "x", None)), "Accepted");
        }
        assert_eq!(screen.set(&message(99, "one too many", None)), "Rejected");
    }
}
