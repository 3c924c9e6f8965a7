//! The charger's local authorization list (1.6 SendLocalList /
//! GetLocalListVersion, 2.0.1 D01/D02): kept by version, full and
//! differential updates applied as the specifications say, and read when a
//! driver starts while the charger is offline.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Answer, Version, parse_time};

/// The list as the charger holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalAuthList {
    /// 0: no list.
    pub version: i64,
    /// Each tag's status and expiry.
    pub entries: BTreeMap<String, (String, Option<DateTime<Utc>>)>,
}

impl LocalAuthList {
    /// Whether a driver presenting `id_tag` may start offline: listed,
    /// Accepted and not expired. With no list the charger lets anyone
    /// start offline (and the CSMS judges the replayed transaction).
    pub fn allows(&self, id_tag: &str, now: DateTime<Utc>) -> bool {
        if self.version == 0 {
            return true;
        }
        self.entries
            .get(id_tag)
            .is_some_and(|(status, until)| status == "Accepted" && until.is_none_or(|u| u > now))
    }

    /// Applies a SendLocalList; its status.
    fn apply(&mut self, version: Version, p: &Value) -> &'static str {
        let (version_field, tag_of, info_field, expiry_field): (
            _,
            fn(&Value) -> Option<&str>,
            _,
            _,
        ) = match version {
            Version::V16 => (
                "listVersion",
                |e| e["idTag"].as_str(),
                "idTagInfo",
                "expiryDate",
            ),
            Version::V201 => (
                "versionNumber",
                |e| e["idToken"]["idToken"].as_str(),
                "idTokenInfo",
                "cacheExpiryDateTime",
            ),
        };
        let Some(list_version) = p[version_field].as_i64() else {
            return "Failed";
        };
        let items = p["localAuthorizationList"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut next = if p["updateType"] == "Full" {
            Self::default()
        } else {
            self.clone()
        };
        for item in &items {
            let Some(tag) = tag_of(item) else {
                return "Failed";
            };
            let info = &item[info_field];
            if info.is_null() {
                next.entries.remove(tag);
            } else {
                let status = info["status"].as_str().unwrap_or("Invalid").to_owned();
                let until = parse_time(info[expiry_field].as_str());
                next.entries.insert(tag.to_owned(), (status, until));
            }
        }
        next.version = list_version;
        *self = next;
        "Accepted"
    }
}

/// Answers the list's calls; `None` for any other action.
pub(super) fn answer(
    version: Version,
    list: &mut LocalAuthList,
    action: &str,
    p: &Value,
) -> Option<Answer> {
    Some(match (action, version) {
        ("SendLocalList", _) => Answer::ok(json!({ "status": list.apply(version, p) })),
        ("GetLocalListVersion", Version::V16) => Answer::ok(json!({ "listVersion": list.version })),
        ("GetLocalListVersion", Version::V201) => {
            Answer::ok(json!({ "versionNumber": list.version }))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(h: u32) -> DateTime<Utc> {
        format!("2030-01-01T{h:02}:00:00Z").parse().unwrap()
    }

    #[test]
    fn full_then_differential_updates_decide_offline_starts() {
        let mut list = LocalAuthList::default();
        assert!(list.allows("ANYONE", at(1)), "no list: anyone");
        let full = json!({"listVersion": 1, "updateType": "Full", "localAuthorizationList": [
            {"idTag": "A", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "B", "idTagInfo": {"status": "Accepted", "expiryDate": "2030-01-01T10:00:00Z"}},
            {"idTag": "X", "idTagInfo": {"status": "Blocked"}}]});
        assert_eq!(list.apply(Version::V16, &full), "Accepted");
        assert!(list.allows("A", at(1)));
        assert!(
            list.allows("B", at(9)) && !list.allows("B", at(11)),
            "until its expiry"
        );
        assert!(!list.allows("X", at(1)) && !list.allows("ANYONE", at(1)));
        let diff = json!({"versionNumber": 2, "updateType": "Differential", "localAuthorizationList": [
            {"idToken": {"idToken": "A", "type": "ISO14443"}},
            {"idToken": {"idToken": "C", "type": "Central"}, "idTokenInfo": {"status": "Accepted"}}]});
        assert_eq!(list.apply(Version::V201, &diff), "Accepted");
        assert_eq!(list.version, 2);
        assert!(!list.allows("A", at(1)) && list.allows("C", at(1)) && list.allows("B", at(1)));
        let answer = answer(Version::V201, &mut list, "GetLocalListVersion", &json!({})).unwrap();
        assert_eq!(answer.result.unwrap(), json!({"versionNumber": 2}));
    }
}
