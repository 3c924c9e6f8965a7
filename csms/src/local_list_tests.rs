#![allow(clippy::unwrap_used)]
use booking::model::{ListEntry, ListSync};
use serde_json::json;

use super::*;
use crate::commands::validate;

fn entry(tag: &str, reservation: Option<i32>) -> ListEntry {
    ListEntry {
        id_tag: tag.into(),
        changed_in: 1,
        removed: false,
        reservation_id: reservation,
        until: None,
    }
}

fn accepted() -> Authorization {
    Authorization {
        status: IdTagStatus::Accepted,
        expires_at: Some("2030-01-01T12:00:00Z".parse().unwrap()),
        group: Some("FLEET".into()),
    }
}

#[test]
fn updates_pass_each_versions_schema_and_are_cut_to_the_chargers_size() {
    for version in [OcppVersion::V16, OcppVersion::V201] {
        let op = entry("CARD-1", None);
        let booked = entry("BK-1", Some(4));
        let items = vec![
            authorization_data(version, "CARD-1", Some(&op), Some(&accepted())),
            authorization_data(version, "BK-1", Some(&booked), Some(&accepted())),
            authorization_data(version, "GONE", None, None),
        ];
        let parts = send_local_list(version, 7, true, items, Some(2));
        assert_eq!(parts.len(), 2, "{parts:?}");
        for (i, part) in parts.iter().enumerate() {
            let (action, sent) = validate(version, "SendLocalList", part.clone()).unwrap();
            assert_eq!(action, "SendLocalList");
            assert_eq!(
                sent["localAuthorizationList"].as_array().map(Vec::len),
                part["localAuthorizationList"].as_array().map(Vec::len),
                "nothing lost in the typed round trip"
            );
            let kind = if i == 0 { "Full" } else { "Differential" };
            assert_eq!(part["updateType"], kind);
        }
        assert!(validate(version, "GetLocalListVersion", json!({})).is_ok());
        let empty = send_local_list(version, 8, true, Vec::new(), None);
        assert_eq!(empty.len(), 1, "an empty full list clears the charger's");
        assert!(validate(version, "SendLocalList", empty[0].clone()).is_ok());
    }
}

#[test]
fn entries_say_the_verdict_in_each_versions_words() {
    let op = entry("CARD-1", None);
    let v16 = authorization_data(OcppVersion::V16, "CARD-1", Some(&op), Some(&accepted()));
    assert_eq!(
        v16,
        json!({"idTag": "CARD-1", "idTagInfo": {"status": "Accepted",
            "expiryDate": "2030-01-01T12:00:00.000Z", "parentIdTag": "FLEET"}})
    );
    let booked = entry("BK-1", Some(4));
    let v201 = authorization_data(OcppVersion::V201, "BK-1", Some(&booked), Some(&accepted()));
    assert_eq!(
        v201["idToken"],
        json!({"idToken": "BK-1", "type": "Central"})
    );
    assert_eq!(
        v201["idTokenInfo"]["cacheExpiryDateTime"],
        "2030-01-01T12:00:00.000Z"
    );
    assert_eq!(
        v201["idTokenInfo"]["groupIdToken"],
        json!({"idToken": "FLEET", "type": "Central"})
    );
    // A deletion carries no info.
    let gone = authorization_data(OcppVersion::V201, "GONE", None, None);
    assert!(gone.get("idTokenInfo").is_none());
    assert!(!fits(OcppVersion::V16, "A-TAG-LONGER-THAN-20-CHARS"));
    assert!(fits(OcppVersion::V201, "A-TAG-LONGER-THAN-20-CHARS"));
}

#[test]
fn settings_and_versions_are_read_from_either_versions_answer() {
    for version in [OcppVersion::V16, OcppVersion::V201] {
        for (action, query) in settings_queries(version) {
            assert!(validate(version, action, query).is_ok(), "{action}");
        }
    }
    let mut sync = ListSync::default();
    read_settings(
        OcppVersion::V16,
        &json!({"configurationKey": [
            {"key": "LocalAuthListEnabled", "readonly": false, "value": "true"},
            {"key": "AuthorizationCacheEnabled", "readonly": false, "value": "FALSE"},
            {"key": "SendLocalListMaxLength", "readonly": true, "value": "25"}],
            "unknownKey": []}),
        &mut sync,
    );
    assert_eq!(
        (sync.list_enabled, sync.cache_enabled, sync.max_items),
        (Some(true), Some(false), Some(25))
    );
    let mut sync = ListSync::default();
    read_settings(
        OcppVersion::V201,
        &json!({"getVariableResult": [
            {"attributeStatus": "Accepted", "attributeValue": "false",
             "component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Enabled"}},
            {"attributeStatus": "UnknownVariable",
             "component": {"name": "AuthCacheCtrlr"}, "variable": {"name": "Enabled"}},
            {"attributeStatus": "Accepted", "attributeValue": "100",
             "component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "ItemsPerMessage"}}]}),
        &mut sync,
    );
    assert_eq!(
        (sync.list_enabled, sync.cache_enabled, sync.max_items),
        (Some(false), None, Some(100))
    );
    assert_eq!(
        reported_version(OcppVersion::V16, &json!({"listVersion": 3})),
        Some(3)
    );
    assert_eq!(
        reported_version(OcppVersion::V16, &json!({"listVersion": -1})),
        None
    );
    assert_eq!(
        reported_version(OcppVersion::V201, &json!({"versionNumber": 0})),
        Some(0)
    );
}
