//! Each charger-initiated OCPP handler of both versions, called through its
//! version's dispatch table with no socket: a `csms::Context` over a fresh
//! SQLite store and a manual clock. What each answers, what it records, and
//! the CALLERROR code a bad payload earns in that version.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use booking::Clock;
use booking::model::{Charger, ConnectorStatus, OcppVersion};
use booking::provisioning::{self, ChargerInput, ConnectorInput, StationInput};
use chrono::{DateTime, TimeDelta, Utc};
use common::TestApp;
use csms::context::Context;
use csms::rpc::RpcError;
use serde_json::{Value, json};

struct Bench {
    app: TestApp,
    ctx: Context,
    charger: Charger,
}

/// A station with charger `CP-H` (two connectors; 2.0.1: EVSEs 1 and 2),
/// and the context of a session of `version` on it.
async fn bench(version: OcppVersion) -> Bench {
    let app = TestApp::new().await;
    let (store, clock) = (&*app.store, &*app.clock);
    let station = provisioning::create_station(
        store,
        clock,
        StationInput {
            name: "Bench".into(),
            latitude: 1.0,
            longitude: 1.0,
            address: None,
        },
    )
    .await
    .unwrap();
    let input = ChargerInput {
        charge_point_id: "CP-H".into(),
        security_profile: 0,
        password: None,
    };
    let charger = provisioning::create_charger(store, clock, station.id, input, async |p| Ok(p))
        .await
        .unwrap();
    for n in 1..=2 {
        let connector_id = if version == OcppVersion::V16 { n } else { 1 };
        let input = ConnectorInput {
            charge_point_id: "CP-H".into(),
            evse_id: Some(n),
            connector_id,
            connector_number: None,
            connector_type: "CCS".into(),
            power_kw: 22.0,
        };
        provisioning::create_connector(store, clock, station.id, input)
            .await
            .unwrap();
    }
    let ctx = Context {
        charger: charger.clone(),
        version,
        connectors: Default::default(),
        deps: csms::Deps {
            store: app.store.clone(),
            bookings: app.bookings.clone(),
            clock: app.clock.clone(),
            config: csms::CsmsConfig::default(),
            elsewhere: Arc::new(csms::OnlyHere),
            presence: csms::PresenceWriter::new(app.store.clone()),
            pending_starts: csms::PendingStarts::default(),
            charging_clocks: Default::default(),
            device_model: csms::DeviceModel::none(),
            vendor_extensions: csms::data_transfer::VendorExtensions::builtin(),
            local_lists: csms::local_list::LocalLists::none(),
            certificates: Default::default(),
            smart_charging: csms::smart_charging::SmartCharging::none(),
            remote_authorizer: std::sync::Arc::new(booking::authorization::NoRemote),
        },
    };
    Bench { app, ctx, charger }
}

impl Bench {
    async fn call(&self, action: &str, payload: Value) -> Result<Value, RpcError> {
        csms::domain::handle(&self.ctx, action, payload)
            .await
            .map(|handled| handled.payload)
    }

    async fn ok(&self, action: &str, payload: Value) -> Value {
        self.call(action, payload)
            .await
            .unwrap_or_else(|e| panic!("{action}: {e}"))
    }

    /// The CALLERROR code this version sends for `payload`.
    async fn refused(&self, action: &str, payload: Value) -> &'static str {
        self.call(action, payload)
            .await
            .expect_err(action)
            .code(self.ctx.version)
    }

    fn now(&self) -> DateTime<Utc> {
        self.app.clock.now()
    }

    async fn statuses(&self) -> Vec<ConnectorStatus> {
        let mut connectors = self
            .app
            .store
            .connectors_of_charger(self.charger.id)
            .await
            .unwrap();
        connectors.sort_by_key(|c| c.evse_id);
        connectors.iter().map(|c| c.status).collect()
    }

    async fn register_tag(&self, tag: &str, status: &str, expiry: Option<DateTime<Utc>>) {
        self.register_member(tag, status, expiry, None).await;
    }

    async fn register_member(
        &self,
        tag: &str,
        status: &str,
        expiry: Option<DateTime<Utc>>,
        group: Option<&str>,
    ) {
        let tag = booking::model::IdTag {
            id_tag: tag.into(),
            status: status.parse().unwrap(),
            expiry_date: expiry,
            parent_id_tag: group.map(str::to_owned),
            user_id: None,
        };
        self.app
            .store
            .upsert_id_tag(&tag, self.now())
            .await
            .unwrap();
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

#[tokio::test]
async fn v16_boot_heartbeat_and_status() {
    let b = bench(OcppVersion::V16).await;
    let boot = b
        .ok(
            "BootNotification",
            json!({"chargePointVendor": "ACME", "chargePointModel": "W1", "firmwareVersion": "9"}),
        )
        .await;
    assert_eq!(boot["status"], "Accepted");
    assert_eq!(boot["interval"], 300);
    let stored = b.app.store.charger(b.charger.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.vendor.as_deref(),
            stored.model.as_deref(),
            stored.firmware_version.as_deref()
        ),
        (Some("ACME"), Some("W1"), Some("9"))
    );
    assert_eq!(
        b.refused("BootNotification", json!({"chargePointVendor": "ACME"}))
            .await,
        "OccurenceConstraintViolation",
        "1.6 spells it as the specification does"
    );

    let beat = b.ok("Heartbeat", json!({})).await;
    assert_eq!(
        DateTime::parse_from_rfc3339(beat["currentTime"].as_str().unwrap()).unwrap(),
        b.now(),
        "the gateway's (injected) clock"
    );

    let at = ts(b.now());
    let status = |n: i64, s: &str| json!({"connectorId": n, "errorCode": "NoError", "status": s, "timestamp": at});
    b.ok("StatusNotification", status(1, "Available")).await;
    b.ok("StatusNotification", status(2, "Faulted")).await;
    assert_eq!(
        b.statuses().await,
        [ConnectorStatus::Available, ConnectorStatus::Faulted]
    );
    // Connector 0 is the charger itself; an unknown connector is answered too.
    assert_eq!(
        b.ok("StatusNotification", status(0, "Available")).await,
        json!({})
    );
    assert_eq!(
        b.ok("StatusNotification", status(7, "Available")).await,
        json!({})
    );
    assert_eq!(
        b.refused("StatusNotification", status(1, "Sideways")).await,
        "PropertyConstraintViolation"
    );
}

#[tokio::test]
async fn v16_authorize_start_meter_stop() {
    let b = bench(OcppVersion::V16).await;
    b.register_tag("GOOD", "Accepted", None).await;
    b.register_tag("GONE", "Accepted", Some(b.now() - TimeDelta::hours(1)))
        .await;
    b.register_tag("STOP", "Blocked", None).await;
    for (tag, want) in [
        ("GOOD", "Accepted"),
        ("GONE", "Expired"),
        ("STOP", "Blocked"),
        ("WHO", "Invalid"),
    ] {
        let answer = b.ok("Authorize", json!({"idTag": tag})).await;
        assert_eq!(answer["idTagInfo"]["status"], want, "{tag}");
    }
    // CiString20Type: 20 characters at most.
    assert_eq!(
        b.ok("Authorize", json!({"idTag": "T".repeat(20)})).await["idTagInfo"]["status"],
        "Invalid"
    );
    assert_eq!(
        b.refused("Authorize", json!({"idTag": "T".repeat(21)}))
            .await,
        "PropertyConstraintViolation"
    );

    let start =
        json!({"connectorId": 1, "idTag": "GOOD", "meterStart": 1000, "timestamp": ts(b.now())});
    let first = b.ok("StartTransaction", start.clone()).await;
    let id = first["transactionId"].as_i64().unwrap();
    assert_eq!(first["idTagInfo"]["status"], "Accepted");
    assert_eq!(
        b.ok("StartTransaction", start).await["transactionId"],
        id,
        "a replayed start gets the same id"
    );
    let meter = json!({"connectorId": 1, "transactionId": id, "meterValue": [{"timestamp": ts(b.now()),
        "sampledValue": [{"value": "4000", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]});
    assert_eq!(b.ok("MeterValues", meter).await, json!({}));

    let later = b.now() + TimeDelta::minutes(30);
    let stop = json!({"transactionId": id, "idTag": "GOOD", "meterStop": 6000, "timestamp": ts(later), "reason": "Local"});
    assert_eq!(
        b.ok("StopTransaction", stop).await["idTagInfo"]["status"],
        "Accepted"
    );
    let session = b
        .app
        .store
        .session_by_transaction(
            b.charger.id,
            &booking::model::TransactionKey::Ocpp(OcppVersion::V16, id.to_string()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.energy_kwh, Some(5.0));
    assert_eq!(session.stop_reason.as_deref(), Some("Local"));
    // A stop for a transaction nobody knows is still answered.
    let unknown = json!({"transactionId": 999_999, "meterStop": 1, "timestamp": ts(later)});
    assert!(b.ok("StopTransaction", unknown).await.is_object());
    assert_eq!(
        b.refused("StartTransaction", json!({"connectorId": "one"}))
            .await,
        "TypeConstraintViolation"
    );
}

impl Bench {
    /// A tariff on the bench's station: 0.50 fee, 0.40/kWh, 0.02/min
    /// charging, 0.10/min idle, 20 % tax.
    async fn priced(&self) {
        let tariff = booking::tariffs::Tariff {
            id: uuid::Uuid::new_v4(),
            name: "Bench".into(),
            currency: "EUR".into(),
            price_per_kwh: 0.40,
            price_per_minute_charging: 0.02,
            price_per_minute_idle: 0.10,
            session_fee: 0.50,
            tax_rate_percent: 20.0,
            created_at: self.now(),
        };
        let store = &self.app.store;
        store.insert_tariff(&tariff).await.unwrap();
        let station = self.charger.station_id;
        let scope = booking::tariffs::TariffScope::Station(station);
        store
            .assign_tariff(scope, Some(tariff.id), self.now())
            .await
            .unwrap();
    }

    async fn session_cost(&self, key: booking::model::TransactionKey) -> Option<f64> {
        let store = &self.app.store;
        let session = store.session_by_transaction(self.charger.id, &key).await;
        session.unwrap().unwrap().cost_amount
    }
}

/// The running cost in each TransactionEvent Updated answer, the final one
/// in Ended's (TC_I_02), equal to the tariff applied to the metered energy
/// and the minutes charging and idle (fixed clock), and kept on the session.
#[tokio::test]
#[allow(non_snake_case)]
async fn TC_I_02_v201_running_and_final_cost_follow_the_tariff() {
    let b = bench(OcppVersion::V201).await;
    b.priced().await;
    let t0 = b.now();
    let event = |kind: &str, seq: u32, wh: f64, minutes: i64, state: &str| {
        let at = ts(t0 + TimeDelta::minutes(minutes));
        json!({"eventType": kind, "timestamp": at, "triggerReason": "MeterValuePeriodic", "seqNo": seq,
               "transactionInfo": {"transactionId": "tx-cost", "chargingState": state},
               "evse": {"id": 1, "connectorId": 1},
               "meterValue": [{"timestamp": at, "sampledValue": [{"value": wh}]}]})
    };
    let started = b
        .ok(
            "TransactionEvent",
            event("Started", 0, 1000.0, 0, "Charging"),
        )
        .await;
    assert!(started.get("totalCost").is_none(), "{started}");
    b.app.clock.advance(TimeDelta::minutes(30));
    let running = b
        .ok(
            "TransactionEvent",
            event("Updated", 1, 11_000.0, 30, "SuspendedEV"),
        )
        .await;
    // 0.50 + 10 kWh × 0.40 + 30 min × 0.02 = 5.10; × 1.2 = 6.12
    assert_eq!(running["totalCost"], 6.12, "{running}");
    let ended = b
        .ok(
            "TransactionEvent",
            event("Ended", 2, 11_000.0, 40, "EVConnected"),
        )
        .await;
    // + 10 min idle × 0.10 = 6.10; × 1.2 = 7.32
    assert_eq!(ended["totalCost"], 7.32, "{ended}");
    let key = booking::model::TransactionKey::Ocpp(OcppVersion::V201, "tx-cost".into());
    assert_eq!(b.session_cost(key).await, Some(7.32));
}

/// No tariff: no `totalCost` (absence is not "free"), nothing stored.
#[tokio::test]
async fn v201_without_a_tariff_no_cost_is_said() {
    let b = bench(OcppVersion::V201).await;
    let event = |kind: &str, seq: u32| {
        json!({"eventType": kind, "timestamp": ts(b.now()), "triggerReason": "Authorized", "seqNo": seq,
               "transactionInfo": {"transactionId": "tx-free"}, "evse": {"id": 1, "connectorId": 1}})
    };
    b.ok("TransactionEvent", event("Started", 0)).await;
    let ended = b.ok("TransactionEvent", event("Ended", 1)).await;
    assert!(ended.get("totalCost").is_none(), "{ended}");
    let key = booking::model::TransactionKey::Ocpp(OcppVersion::V201, "tx-free".into());
    assert_eq!(b.session_cost(key).await, None);
}

/// 1.6: the final cost is kept on the session, the minutes split by the
/// connector's Charging and SuspendedEV statuses.
#[tokio::test]
async fn v16_the_final_cost_follows_the_tariff_and_the_statuses() {
    let b = bench(OcppVersion::V16).await;
    b.priced().await;
    let t0 = b.now();
    let at = |m: i64| ts(t0 + TimeDelta::minutes(m));
    let start = json!({"connectorId": 1, "idTag": "ANY", "meterStart": 2000, "timestamp": at(0)});
    let id = b.ok("StartTransaction", start).await["transactionId"]
        .as_i64()
        .unwrap();
    let status = |s: &str, m: i64| json!({"connectorId": 1, "errorCode": "NoError", "status": s, "timestamp": at(m)});
    b.ok("StatusNotification", status("Charging", 1)).await;
    b.ok("StatusNotification", status("SuspendedEV", 21)).await;
    let stop = json!({"transactionId": id, "meterStop": 7000, "timestamp": at(31)});
    b.ok("StopTransaction", stop).await;
    // 0.50 + 5 kWh × 0.40 + 21 min × 0.02 + 10 min × 0.10 = 3.92; × 1.2 = 4.704
    let key = booking::model::TransactionKey::Ocpp(OcppVersion::V16, id.to_string());
    assert_eq!(b.session_cost(key).await, Some(4.70));
}

/// 1.6 idTagInfo carries `expiryDate` and `parentIdTag`: the charger lets a
/// tag with the same parent stop a transaction another member started.
#[tokio::test]
async fn v16_id_tag_info_names_the_group_and_the_expiry() {
    let b = bench(OcppVersion::V16).await;
    let expiry = b.now() + TimeDelta::days(30);
    b.register_member("ALICE", "Accepted", Some(expiry), Some("FLEET-1"))
        .await;
    b.register_member("BOB", "Accepted", None, Some("FLEET-1"))
        .await;
    b.register_member("LONG", "Accepted", None, Some(&"G".repeat(21)))
        .await;
    let alice = b.ok("Authorize", json!({"idTag": "ALICE"})).await;
    assert_eq!(alice["idTagInfo"]["parentIdTag"], "FLEET-1");
    let said = alice["idTagInfo"]["expiryDate"].as_str().unwrap();
    assert_eq!(
        DateTime::parse_from_rfc3339(said).unwrap().timestamp(),
        expiry.timestamp()
    );
    let start =
        json!({"connectorId": 1, "idTag": "ALICE", "meterStart": 0, "timestamp": ts(b.now())});
    let started = b.ok("StartTransaction", start).await;
    assert_eq!(started["idTagInfo"]["parentIdTag"], "FLEET-1");
    let id = started["transactionId"].as_i64().unwrap();
    let stop =
        json!({"transactionId": id, "idTag": "BOB", "meterStop": 10, "timestamp": ts(b.now())});
    let stopped = b.ok("StopTransaction", stop).await;
    assert_eq!(stopped["idTagInfo"]["status"], "Accepted");
    assert_eq!(stopped["idTagInfo"]["parentIdTag"], "FLEET-1", "same group");
    let long = b.ok("Authorize", json!({"idTag": "LONG"})).await;
    assert_eq!(long["idTagInfo"]["status"], "Accepted");
    assert!(
        long["idTagInfo"].get("parentIdTag").is_none(),
        "a group longer than CiString20 is not said in 1.6"
    );
    let none = b.ok("Authorize", json!({"idTag": "WHO"})).await;
    assert_eq!(none["idTagInfo"], json!({"status": "Invalid"}));
}

/// C09: Authorize and TransactionEvent answers carry the token's
/// `groupIdToken`, so the station lets another member of the group stop the
/// transaction (TC_C_39), and a token of no group carries none.
#[tokio::test]
#[allow(non_snake_case)]
async fn TC_C_39_a_group_member_is_told_its_group_id_token() {
    let b = bench(OcppVersion::V201).await;
    b.register_member("ALICE", "Accepted", None, Some("FLEET-1"))
        .await;
    b.register_member("BOB", "Accepted", None, Some("FLEET-1"))
        .await;
    b.register_tag("CAROL", "Accepted", None).await;
    let authorize = |tag: &str| json!({"idToken": {"idToken": tag, "type": "ISO14443"}});
    let group = json!({"idToken": "FLEET-1", "type": "Central"});
    for tag in ["ALICE", "BOB"] {
        let info = &b.ok("Authorize", authorize(tag)).await["idTokenInfo"];
        assert_eq!(info["status"], "Accepted", "{tag}");
        assert_eq!(info["groupIdToken"], group, "{tag}");
    }
    let carol = b.ok("Authorize", authorize("CAROL")).await;
    assert!(carol["idTokenInfo"].get("groupIdToken").is_none());

    let event = |kind: &str, seq: u32, tag: &str, trigger: &str| {
        json!({"eventType": kind, "timestamp": ts(b.now()), "triggerReason": trigger, "seqNo": seq,
               "transactionInfo": {"transactionId": "tx-g", "stoppedReason": "Local"},
               "evse": {"id": 1, "connectorId": 1}, "idToken": {"idToken": tag, "type": "ISO14443"}})
    };
    let started = b
        .ok(
            "TransactionEvent",
            event("Started", 0, "ALICE", "Authorized"),
        )
        .await;
    assert_eq!(started["idTokenInfo"]["groupIdToken"], group);
    let ended = b
        .ok(
            "TransactionEvent",
            event("Ended", 1, "BOB", "StopAuthorized"),
        )
        .await;
    assert_eq!(ended["idTokenInfo"]["groupIdToken"], group);
}

/// C16: a token of the master-pass group is Accepted with that group as its
/// `groupIdToken` — the station compares it with `AuthCtrlr.MasterPassGroupId`
/// and stops every transaction — and the Ended event it causes closes the
/// session with reason MasterPass (TC_C_47, TC_C_48, TC_C_49).
#[tokio::test]
#[allow(non_snake_case)]
async fn TC_C_47_to_C_49_a_master_pass_token_ends_the_transactions() {
    let b = bench(OcppVersion::V201).await;
    b.register_tag("DRIVER", "Accepted", None).await;
    b.register_member("SERVICE-7", "Accepted", None, Some("MASTERPASS"))
        .await;
    let info = &b
        .ok(
            "Authorize",
            json!({"idToken": {"idToken": "SERVICE-7", "type": "ISO14443"}}),
        )
        .await["idTokenInfo"];
    assert_eq!(info["status"], "Accepted");
    assert_eq!(
        info["groupIdToken"],
        json!({"idToken": "MASTERPASS", "type": "Central"})
    );
    for (n, tx) in [(1, "tx-m1"), (2, "tx-m2")] {
        let start = json!({"eventType": "Started", "timestamp": ts(b.now()), "triggerReason": "Authorized",
            "seqNo": 0, "transactionInfo": {"transactionId": tx},
            "evse": {"id": n, "connectorId": 1}, "idToken": {"idToken": "DRIVER", "type": "ISO14443"}});
        b.ok("TransactionEvent", start).await;
        let end = json!({"eventType": "Ended", "timestamp": ts(b.now()), "triggerReason": "StopAuthorized",
            "seqNo": 1, "transactionInfo": {"transactionId": tx, "stoppedReason": "MasterPass"},
            "idToken": {"idToken": "SERVICE-7", "type": "ISO14443"}});
        let answer = b.ok("TransactionEvent", end).await;
        assert_eq!(
            answer["idTokenInfo"]["groupIdToken"]["idToken"],
            "MASTERPASS"
        );
        let key = booking::model::TransactionKey::Ocpp(OcppVersion::V201, tx.into());
        let session = b
            .app
            .store
            .session_by_transaction(b.charger.id, &key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(session.stop_reason.as_deref(), Some("MasterPass"), "{tx}");
        assert!(session.ended_at.is_some(), "{tx}");
    }
}

#[tokio::test]
async fn v16_acknowledgements_and_unknown_actions() {
    let b = bench(OcppVersion::V16).await;
    let answer = b
        .ok("DataTransfer", json!({"vendorId": "com.example"}))
        .await;
    assert_eq!(answer["status"], "UnknownVendorId");
    assert_eq!(
        b.ok("FirmwareStatusNotification", json!({"status": "Installed"}))
            .await,
        json!({})
    );
    assert_eq!(
        b.ok(
            "DiagnosticsStatusNotification",
            json!({"status": "Uploaded"})
        )
        .await,
        json!({})
    );
    let event = json!({"type": "StartupOfTheDevice", "timestamp": ts(b.now())});
    assert_eq!(b.ok("SecurityEventNotification", event).await, json!({}));
    let csr = json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----"});
    assert_eq!(b.ok("SignCertificate", csr).await["status"], "Rejected");
    assert_eq!(b.refused("Teleport", json!({})).await, "NotImplemented");
}

#[tokio::test]
async fn v201_boot_status_and_authorize() {
    let b = bench(OcppVersion::V201).await;
    let boot =
        json!({"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "W2"}});
    assert_eq!(b.ok("BootNotification", boot).await["status"], "Accepted");
    assert_eq!(
        b.refused("BootNotification", json!({"reason": "PowerUp"}))
            .await,
        "OccurrenceConstraintViolation",
        "2.0.1 spells it correctly"
    );
    let status = |evse: i64, s: &str| json!({"timestamp": ts(b.now()), "connectorStatus": s, "evseId": evse, "connectorId": 1});
    b.ok("StatusNotification", status(1, "Available")).await;
    b.ok("StatusNotification", status(2, "Occupied")).await;
    assert_eq!(
        b.statuses().await,
        [ConnectorStatus::Available, ConnectorStatus::Occupied]
    );
    b.register_tag("STOP", "Blocked", None).await;
    let authorize = |tag: &str| json!({"idToken": {"idToken": tag, "type": "ISO14443"}});
    assert_eq!(
        b.ok("Authorize", authorize("STOP")).await["idTokenInfo"]["status"],
        "Blocked"
    );
    assert_eq!(
        b.ok("Authorize", authorize("WHO")).await["idTokenInfo"]["status"],
        "Invalid"
    );
    assert_eq!(
        b.refused("Authorize", authorize(&"T".repeat(37))).await,
        "PropertyConstraintViolation",
        "idToken: 36 characters at most"
    );
}

#[tokio::test]
async fn v201_transaction_events_from_seq_no_zero() {
    let b = bench(OcppVersion::V201).await;
    b.register_tag("GOOD", "Accepted", None).await;
    let event = |kind: &str, seq: u32, wh: f64, at: DateTime<Utc>| {
        json!({"eventType": kind, "timestamp": ts(at), "triggerReason": "Authorized", "seqNo": seq,
               "transactionInfo": {"transactionId": "tx-1", "stoppedReason": "Local"},
               "evse": {"id": 1, "connectorId": 1}, "idToken": {"idToken": "GOOD", "type": "ISO14443"},
               "meterValue": [{"timestamp": ts(at), "sampledValue": [{"value": wh}]}]})
    };
    let started = b
        .ok("TransactionEvent", event("Started", 0, 1000.0, b.now()))
        .await;
    assert_eq!(started["idTokenInfo"]["status"], "Accepted");
    b.ok(
        "TransactionEvent",
        event("Updated", 1, 2500.0, b.now() + TimeDelta::minutes(10)),
    )
    .await;
    let ended = event("Ended", 2, 4000.0, b.now() + TimeDelta::minutes(20));
    b.ok("TransactionEvent", ended.clone()).await;
    b.ok("TransactionEvent", ended).await;
    let key = booking::model::TransactionKey::Ocpp(OcppVersion::V201, "tx-1".into());
    let session = b
        .app
        .store
        .session_by_transaction(b.charger.id, &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        session.energy_kwh,
        Some(3.0),
        "ended once, with the meter's energy"
    );
    assert_eq!(
        b.refused("TransactionEvent", json!({"eventType": "Started"}))
            .await,
        "OccurrenceConstraintViolation"
    );
}

/// TxStartPoint Authorized: Started comes before a cable, without `evse`;
/// the session opens on the EVSE a later event names, with the Started
/// event's token, time and meter reading (TC_E_12). A transaction that
/// ends without ever naming its EVSE leaves nothing behind.
#[tokio::test]
#[allow(non_snake_case)]
async fn TC_E_12_a_transaction_started_before_its_evse_is_known() {
    let b = bench(OcppVersion::V201).await;
    b.register_tag("GOOD", "Accepted", None).await;
    let t0 = b.now();
    let event = |kind: &str, tx: &str, seq: u32, wh: f64, at: DateTime<Utc>, evse: Option<i64>| {
        let mut e = json!({"eventType": kind, "timestamp": ts(at), "triggerReason": "Authorized",
            "seqNo": seq, "transactionInfo": {"transactionId": tx},
            "meterValue": [{"timestamp": ts(at), "sampledValue": [{"value": wh}]}],
            "customData": {"vendorId": "com.example"}});
        if kind == "Started" {
            e["idToken"] = json!({"idToken": "GOOD", "type": "ISO14443"});
        }
        if let Some(id) = evse {
            e["evse"] = json!({"id": id, "connectorId": 1});
        }
        e
    };
    let started = b
        .ok(
            "TransactionEvent",
            event("Started", "tx-a", 0, 1000.0, t0, None),
        )
        .await;
    assert_eq!(started["idTokenInfo"]["status"], "Accepted");
    let key = |tx: &str| booking::model::TransactionKey::Ocpp(OcppVersion::V201, tx.into());
    let session = async |tx: &str| {
        b.app
            .store
            .session_by_transaction(b.charger.id, &key(tx))
            .await
            .unwrap()
    };
    assert!(session("tx-a").await.is_none(), "no EVSE yet, no session");
    let plugged = t0 + TimeDelta::minutes(2);
    b.ok(
        "TransactionEvent",
        event("Updated", "tx-a", 1, 1000.0, plugged, Some(2)),
    )
    .await;
    let opened = session("tx-a")
        .await
        .expect("opened once the EVSE is known");
    let evse2 = b
        .app
        .store
        .connectors_of_charger(b.charger.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.evse_id == 2)
        .unwrap();
    assert_eq!(opened.connector_id, evse2.id);
    assert_eq!(opened.id_tag.as_deref(), Some("GOOD"));
    assert_eq!(
        opened.started_at.timestamp(),
        t0.timestamp(),
        "when the transaction started"
    );
    b.ok(
        "TransactionEvent",
        event(
            "Ended",
            "tx-a",
            2,
            3500.0,
            t0 + TimeDelta::minutes(30),
            None,
        ),
    )
    .await;
    let ended = session("tx-a").await.unwrap();
    assert_eq!(
        ended.energy_kwh,
        Some(2.5),
        "from the Started event's meter reading"
    );

    b.ok(
        "TransactionEvent",
        event("Started", "tx-b", 0, 0.0, t0, None),
    )
    .await;
    b.ok(
        "TransactionEvent",
        event("Ended", "tx-b", 1, 0.0, t0 + TimeDelta::minutes(1), None),
    )
    .await;
    assert!(session("tx-b").await.is_none());
}

#[tokio::test]
async fn v201_acknowledgements_and_certificates() {
    let b = bench(OcppVersion::V201).await;
    let now = ts(b.now());
    let update = json!({"reservationId": 12345, "reservationUpdateStatus": "Expired"});
    assert_eq!(
        b.ok("ReservationStatusUpdate", update).await,
        json!({}),
        "unknown reservations too"
    );
    let notify = json!({"generatedAt": now, "seqNo": 0, "eventData": [{"eventId": 1, "timestamp": now,
        "trigger": "Delta", "actualValue": "Faulted", "eventNotificationType": "CustomMonitor",
        "component": {"name": "Connector"}, "variable": {"name": "AvailabilityState"}}]});
    assert_eq!(b.ok("NotifyEvent", notify).await, json!({}));
    let report = json!({"requestId": 1, "generatedAt": now, "seqNo": 0});
    assert_eq!(b.ok("NotifyReport", report).await, json!({}));
    let event = json!({"type": "StartupOfTheDevice", "timestamp": now});
    assert_eq!(b.ok("SecurityEventNotification", event).await, json!({}));
    assert_eq!(
        b.ok("SignCertificate", json!({"csr": "x"})).await["status"],
        "Rejected"
    );
    let ev = json!({"iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef", "action": "Install", "exiRequest": "AA=="});
    assert_eq!(b.ok("Get15118EVCertificate", ev).await["status"], "Failed");
    assert_eq!(
        b.ok("DataTransfer", json!({"vendorId": "x"})).await["status"],
        "UnknownVendorId"
    );
    assert_eq!(b.refused("Teleport", json!({})).await, "NotImplemented");
}

#[tokio::test]
async fn an_unassigned_session_boots_pending_and_is_remembered() {
    let b = bench(OcppVersion::V16).await;
    let mut ctx = b.ctx.clone();
    ctx.charger.id = uuid::Uuid::nil();
    ctx.charger.charge_point_id = "STRAY-1".into();
    let boot = json!({"chargePointVendor": "Stray", "chargePointModel": "X"});
    let answer = csms::v16::dispatch(&ctx, "BootNotification", boot)
        .await
        .unwrap()
        .payload;
    assert_eq!(answer["status"], "Pending");
    let page = booking::model::Page {
        limit: 10,
        offset: 0,
    };
    let (stray, _) = b.app.store.unassigned_chargers(page).await.unwrap();
    assert_eq!(stray[0].vendor.as_deref(), Some("Stray"));
}

/// TC_B_02 (2.0.1) and its 1.6 equivalent: a charger held Pending (or
/// Rejected) is told to boot again after the boot retry interval (30 s by
/// default), not after the 300 s heartbeat interval an accepted one gets.
#[tokio::test]
#[allow(non_snake_case)]
async fn TC_B_02_a_pending_boot_is_told_to_retry_soon_not_at_the_heartbeat_interval() {
    use csms::admission::RegistrationStatus;
    for (version, boot) in [
        (
            OcppVersion::V16,
            json!({"chargePointVendor": "V", "chargePointModel": "M"}),
        ),
        (
            OcppVersion::V201,
            json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}),
        ),
    ] {
        let b = bench(version).await;
        let answer = |ctx: csms::context::Context, boot: Value| async move {
            csms::domain::handle(&ctx, "BootNotification", boot)
                .await
                .unwrap()
                .payload
        };
        let accepted = answer(b.ctx.clone(), boot.clone()).await;
        assert_eq!(
            (accepted["status"].clone(), accepted["interval"].clone()),
            (json!("Accepted"), json!(300)),
            "{version:?}"
        );
        for held in [RegistrationStatus::Pending, RegistrationStatus::Rejected] {
            let mut ctx = b.ctx.clone();
            ctx.deps.config.admission = held;
            let answered = answer(ctx, boot.clone()).await;
            assert_eq!(answered["status"], held.as_str(), "{version:?}");
            assert_eq!(answered["interval"], 30, "{version:?} {held:?}");
        }
    }
}

/// A vendor extension as a deployment registers one: answers its two
/// messages, from the connection's context, and knows no other.
struct Meter;

#[async_trait::async_trait]
impl csms::data_transfer::VendorHandler for Meter {
    async fn transfer(&self, t: csms::data_transfer::Transfer<'_>) -> csms::data_transfer::Reply {
        use csms::data_transfer::Reply;
        match t.message_id {
            Some("WhoAmI") => Reply::accepted(Some(json!(t.ctx.charger.charge_point_id))),
            Some("Calibrate") if t.data.is_some() => Reply::accepted(None),
            Some("Calibrate") => Reply::rejected(),
            _ => Reply::unknown_message_id(),
        }
    }
}

/// DataTransfer to the CSMS (TC_P_02), both versions: a vendor nobody
/// registered is UnknownVendorId, a registered vendor's unknown message
/// UnknownMessageId (also without a messageId), its known ones what its
/// handler says (1.6 data as text); evgate's own `org.evgate` Ping echoes;
/// a request outside the schema gets the version's CALLERROR.
#[tokio::test]
#[allow(non_snake_case)]
async fn TC_P_02_data_transfer_to_the_csms_in_both_versions() {
    for version in [OcppVersion::V16, OcppVersion::V201] {
        let mut b = bench(version).await;
        b.ctx.deps.vendor_extensions =
            csms::data_transfer::VendorExtensions::builtin().with("com.example.meter", Meter);
        let answer = async |payload: Value| b.ok("DataTransfer", payload).await;
        assert_eq!(
            answer(json!({"vendorId": "com.nobody", "messageId": "WhoAmI"})).await,
            json!({"status": "UnknownVendorId"}),
            "{version:?}"
        );
        for unknown in [
            json!({"vendorId": "com.example.meter", "messageId": "Teleport"}),
            json!({"vendorId": "com.example.meter"}),
            json!({"vendorId": "org.evgate", "messageId": "Pong", "data": "x"}),
        ] {
            assert_eq!(
                answer(unknown.clone()).await,
                json!({"status": "UnknownMessageId"}),
                "{version:?} {unknown}"
            );
        }
        assert_eq!(
            answer(json!({"vendorId": "COM.EXAMPLE.METER", "messageId": "WhoAmI"})).await,
            json!({"status": "Accepted", "data": "CP-H"}),
            "{version:?}: vendorId without regard to case"
        );
        assert_eq!(
            answer(json!({"vendorId": "com.example.meter", "messageId": "Calibrate"})).await,
            json!({"status": "Rejected"}),
            "{version:?}"
        );
        assert_eq!(
            answer(json!({"vendorId": "org.evgate", "messageId": "Ping", "data": "hello"})).await,
            json!({"status": "Accepted", "data": "hello"}),
            "{version:?}"
        );
        assert_eq!(
            answer(json!({"vendorId": "org.evgate", "messageId": "Ping"})).await,
            json!({"status": "Accepted"}),
            "{version:?}: no data, none back"
        );
        let (occurrence, type_) = match version {
            OcppVersion::V16 => ("OccurenceConstraintViolation", "TypeConstraintViolation"),
            OcppVersion::V201 => ("OccurrenceConstraintViolation", "TypeConstraintViolation"),
        };
        assert_eq!(
            b.refused("DataTransfer", json!({"messageId": "Ping"}))
                .await,
            occurrence
        );
        assert_eq!(
            b.refused("DataTransfer", json!({"vendorId": 7})).await,
            type_
        );
        assert_eq!(
            b.refused(
                "DataTransfer",
                json!({"vendorId": "org.evgate", "messageId": "m".repeat(51)})
            )
            .await,
            "PropertyConstraintViolation"
        );
    }
    // 1.6 data is text; 2.0.1 data is any JSON, echoed as it came.
    let b = bench(OcppVersion::V16).await;
    assert_eq!(
        b.refused(
            "DataTransfer",
            json!({"vendorId": "org.evgate", "messageId": "Ping", "data": {"a": 1}})
        )
        .await,
        "TypeConstraintViolation"
    );
    let b = bench(OcppVersion::V201).await;
    assert_eq!(
        b.ok(
            "DataTransfer",
            json!({"vendorId": "org.evgate", "messageId": "Ping", "data": {"a": [1, 2]}})
        )
        .await,
        json!({"status": "Accepted", "data": {"a": [1, 2]}})
    );
    // Without extensions, every vendor is unknown.
    let mut b = bench(OcppVersion::V201).await;
    b.ctx.deps.vendor_extensions = csms::data_transfer::VendorExtensions::none();
    assert_eq!(
        b.ok(
            "DataTransfer",
            json!({"vendorId": "org.evgate", "messageId": "Ping"})
        )
        .await,
        json!({"status": "UnknownVendorId"})
    );
}

/// Custom data (TC_P_03): `customData` (an object with its own vendorId
/// and anything else) in the messages a 2.0.1 station sends is accepted and
/// changes nothing about the answer — DataTransfer, Heartbeat,
/// StatusNotification, Authorize.
#[tokio::test]
#[allow(non_snake_case)]
async fn TC_P_03_custom_data_from_the_station_is_accepted() {
    let b = bench(OcppVersion::V201).await;
    let custom = json!({"vendorId": "com.example", "firmwareBuild": 1234, "nested": {"x": [1]}});
    let ping = json!({"vendorId": "org.evgate", "messageId": "Ping", "data": "d",
        "customData": custom});
    assert_eq!(
        b.ok("DataTransfer", ping).await,
        json!({"status": "Accepted", "data": "d"})
    );
    let unknown = json!({"vendorId": "com.nobody", "customData": custom});
    assert_eq!(
        b.ok("DataTransfer", unknown).await["status"],
        "UnknownVendorId"
    );
    let heartbeat = b.ok("Heartbeat", json!({"customData": custom})).await;
    assert!(heartbeat["currentTime"].is_string(), "{heartbeat}");
    let now = booking::iso(b.now());
    let status = json!({"timestamp": now, "connectorStatus": "Occupied", "evseId": 1,
        "connectorId": 1, "customData": custom});
    assert_eq!(b.ok("StatusNotification", status).await, json!({}));
    assert_eq!(b.statuses().await[0], ConnectorStatus::Occupied);
    let authorize = json!({"idToken": {"idToken": "NOBODY", "type": "Central",
        "customData": custom}, "customData": custom});
    assert_eq!(
        b.ok("Authorize", authorize).await["idTokenInfo"]["status"],
        "Invalid"
    );
}

#[tokio::test]
async fn firmware_and_log_statuses_are_kept_per_charger_and_checked() {
    use booking::model::MaintenanceKind;
    let b = bench(OcppVersion::V16).await;
    b.ok(
        "FirmwareStatusNotification",
        json!({"status": "Downloading"}),
    )
    .await;
    let signed = json!({"status": "InvalidSignature", "requestId": 4});
    b.ok("SignedFirmwareStatusNotification", signed).await;
    b.ok(
        "DiagnosticsStatusNotification",
        json!({"status": "Uploading"}),
    )
    .await;
    let store = &b.app.store;
    let firmware = store
        .maintenance_statuses(b.charger.id, MaintenanceKind::Firmware)
        .await
        .unwrap();
    let seen: Vec<_> = firmware
        .iter()
        .map(|s| (s.status.as_str(), s.request_id))
        .collect();
    assert_eq!(seen, [("InvalidSignature", Some(4)), ("Downloading", None)]);
    assert_eq!(
        b.refused("FirmwareStatusNotification", json!({"status": "Flashing"}))
            .await,
        "PropertyConstraintViolation"
    );
    assert_eq!(
        b.refused("LogStatusNotification", json!({"requestId": 1}))
            .await,
        "OccurenceConstraintViolation",
        "1.6 spells it its way"
    );
    let b = bench(OcppVersion::V201).await;
    let log = json!({"status": "AcceptedCanceled", "requestId": 9});
    b.ok("LogStatusNotification", log).await;
    let logs = b
        .app
        .store
        .maintenance_statuses(b.charger.id, MaintenanceKind::Log)
        .await
        .unwrap();
    assert_eq!(
        (logs[0].status.as_str(), logs[0].request_id),
        ("AcceptedCanceled", Some(9))
    );
    assert_eq!(
        b.refused("FirmwareStatusNotification", json!({"requestId": 1}))
            .await,
        "OccurrenceConstraintViolation"
    );
}
