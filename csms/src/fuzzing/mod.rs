//! The fuzz targets' bodies, one function per target, shared by `fuzz/`
//! (`cargo +nightly fuzz run <target>`) and by the stable smoke tests at the
//! end of this module, which feed each a few thousand random inputs in
//! `cargo test`. Each takes the fuzzer's bytes, must never panic, and
//! asserts what must hold of its answer. Not part of the API: compiled for
//! tests and with the `fuzzing` feature only.

pub(crate) mod store;

use std::cell::RefCell;
use std::sync::Arc;

use arbitrary::Unstructured;
use booking::model::{OcppVersion, SecurityProfile};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::admission::{Admission, RegistrationStatus};
use crate::context::{Context, CsmsConfig, Deps, OnlyHere};
use crate::handshake;
use crate::password_gate::PasswordGate;
use crate::rpc::{Frame, FrameError, MAX_MESSAGE_ID_CHARS, RpcError};
use crate::server::Transport;
use crate::session::{ChargerSession, Incoming, Limits, Step};

pub use store::KnowsOneCharger;

/// Target `ocpp_frame`: any text read as an OCPP-J frame. A frame read
/// encodes to text that reads back as the same frame; a malformed one is
/// answered (when it has an id) with a CALLERROR that reads back too, in a
/// code we would read as the same code.
pub fn frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Frame::parse(text) {
        Ok(frame) => {
            let encoded = frame.encode();
            assert_eq!(
                Frame::parse(&encoded),
                Ok(frame.clone()),
                "{text:?} encoded as {encoded:?}"
            );
            if let Frame::CallError {
                code, description, ..
            } = &frame
            {
                let _ = RpcError::from_code(code, description);
            }
        }
        Err(FrameError { id, error }) => {
            for version in [OcppVersion::V16, OcppVersion::V201] {
                let code = error.code(version);
                assert_eq!(RpcError::from_code(code, "").code(version), code);
                if let Some(id) = &id {
                    assert!(!id.is_empty() && id.chars().count() <= MAX_MESSAGE_ID_CHARS);
                    let answer = Frame::error(id, &error, version);
                    assert_eq!(Frame::parse(&answer.encode()), Ok(answer));
                }
            }
        }
    }
}

/// Targets `ocpp16_dispatch` and `ocpp201_dispatch`: up to four CALLs from a
/// charger of `version`, each an action's valid example payload changed in
/// a few places the fuzzer picks (or, now and then, any text), through the
/// connection's session and, when it hands the CALL on, the version's
/// handlers over a store that knows one charger ([`KnowsOneCharger`]).
/// Every CALL is answered to its own id with a frame that reads back as
/// itself; an answer is never an InternalError (the store fails nothing,
/// so a malformed payload is the charger's error, never ours); a
/// CALLRESULT's payload is an object.
pub fn dispatch(version: OcppVersion, data: &[u8]) {
    let mut u = Unstructured::new(data);
    let admission = match u.choose_index(3).unwrap_or(0) {
        0 => RegistrationStatus::Accepted,
        1 => RegistrationStatus::Pending,
        _ => RegistrationStatus::Rejected,
    };
    let now = Instant::now();
    let limits = Limits::of(&CsmsConfig::default());
    let mut session = ChargerSession::new(
        store::IDENTITY,
        version,
        Admission::new(admission),
        limits,
        now,
    );
    for _ in 0..4 {
        let Ok((id, text)) = call(&mut u, version) else {
            break;
        };
        match session.on_inbound(Incoming::Text(&text), now) {
            Step::Handle {
                id: handed,
                action,
                payload,
            } => {
                assert_eq!(handed, id, "{text}");
                let outcome = with_runtime(|rt| {
                    let ctx = context(version);
                    rt.block_on(crate::domain::handle(&ctx, &action, payload))
                });
                if let Err(RpcError::Internal(why)) = &outcome {
                    panic!("{text} was answered InternalError: {why}");
                }
                let answer = session.answered(&id, outcome);
                match &answer {
                    Frame::CallResult { id: to, payload } => {
                        assert_eq!(to, &id);
                        assert!(payload.is_object(), "{text} answered {payload}");
                    }
                    Frame::CallError { id: to, .. } => assert_eq!(to, &id),
                    Frame::Call { .. } => panic!("{text} answered with a CALL"),
                }
                assert_eq!(Frame::parse(&answer.encode()), Ok(answer));
            }
            Step::Send(answer) => {
                assert!(
                    matches!(&answer, Frame::CallError { id: to, .. } if *to == id),
                    "{text} answered {answer:?}"
                );
                assert_eq!(Frame::parse(&answer.encode()), Ok(answer));
            }
            Step::Nothing | Step::Close(_) => {}
        }
    }
}

/// Target `handshake`: the upgrade request as read from the socket, the
/// request checks before any lookup, and the credentials check of each
/// security profile (without a stored password, so no argon2). Whatever
/// is refused is refused with a known status; what passes names a version
/// the charger offered and a valid identity; Basic credentials read back.
/// The rest of the input is also tried as a path and a protocol list.
pub fn handshake(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(rest) {
        identity(text);
        if let Some(version) = handshake::negotiate(Some(text)) {
            assert!(text.contains(version.as_str()));
        }
        credentials(text);
    }
    let mut reader = rest;
    let read = with_runtime(|rt| rt.block_on(crate::server::read_head(&mut reader)));
    let Ok((head, _)) = read else {
        return;
    };
    if let Some(auth) = &head.authorization {
        credentials(auth);
    }
    let (version, identity) = match crate::admit::requested(&head) {
        Ok(requested) => requested,
        Err(refusal) => {
            assert_ne!(
                crate::admit::refusal_label(refusal.status),
                "other",
                "{refusal:?}"
            );
            return;
        }
    };
    assert!(head.upgrade && head.key.is_some() && head.ws_version.as_deref() == Some("13"));
    assert_eq!(
        handshake::negotiate(head.protocols.as_deref()),
        Some(version)
    );
    assert_eq!(handshake::identity(&head.path), Ok(identity.clone()));
    let Ok(profile) = SecurityProfile::try_from(flags & 3) else {
        return;
    };
    let tls = flags & 4 != 0;
    let transport = Transport {
        peer: None,
        tls,
        client_cn: (flags & 8 != 0).then(|| identity.clone()),
    };
    let gate = PasswordGate::default();
    let checked = with_runtime(|rt| {
        rt.block_on(crate::admit::check_credentials(crate::admit::Attempt {
            identity: &identity,
            profile,
            password_hash: None,
            head: &head,
            transport: &transport,
            gate: &gate,
            final_attempt: true,
        }))
    });
    let expected = match profile.get() {
        0 => Ok(()),
        2 | 3 if !tls => Err("403"),
        1 | 2 => Err("401"),
        _ if transport.client_cn.is_some() => Ok(()),
        _ => Err("401"),
    };
    assert_eq!(
        checked.map_err(|r| &r.status[..3]),
        expected,
        "profile {profile}, tls {tls}"
    );
}

/// An identity read from a path is 1 to 48 characters, has no `:`, and is
/// no dot segment.
fn identity(path: &str) {
    if let Ok(id) = handshake::identity(path) {
        assert!(
            !id.is_empty() && id.chars().count() <= 48,
            "{path:?} → {id:?}"
        );
        assert!(
            !id.contains(':') && id != "." && id != "..",
            "{path:?} → {id:?}"
        );
    }
}

/// Basic credentials read back from their own encoding.
fn credentials(header: &str) {
    use base64::Engine;
    if let Some((user, password)) = handshake::basic_credentials(header) {
        assert!(!user.contains(':'));
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        assert_eq!(
            handshake::basic_credentials(&format!("Basic {encoded}")),
            Some((user, password))
        );
    }
}

/// One CALL: its id and its text.
fn call(u: &mut Unstructured<'_>, version: OcppVersion) -> arbitrary::Result<(String, String)> {
    if u.is_empty() {
        return Err(arbitrary::Error::NotEnoughData);
    }
    let examples = examples(version);
    let (action, example) = &examples[u.choose_index(examples.len())?];
    let id = match u.choose_index(8)? {
        0 => u.arbitrary::<String>()?,
        n => format!("m{n}"),
    };
    if u.ratio(1, 16)? {
        // Any text at all in the payload's place.
        let raw = String::from_utf8_lossy(u.bytes(u.len().min(256))?).into_owned();
        return Ok((
            id.clone(),
            format!("[2,{},{},{raw}]", json!(id), json!(action)),
        ));
    }
    let mut payload = example.clone();
    for _ in 0..u.int_in_range(0..=3)? {
        mutate(u, &mut payload, 0)?;
    }
    let frame = Frame::Call {
        id: id.clone(),
        action: (*action).to_owned(),
        payload,
    };
    Ok((id, frame.encode()))
}

/// Changes one place in `v`: a field or item replaced, added, removed, or
/// changed further down.
fn mutate(u: &mut Unstructured<'_>, v: &mut Value, depth: u32) -> arbitrary::Result<()> {
    match v {
        Value::Object(map) if depth < 6 => {
            let keys: Vec<String> = map.keys().cloned().collect();
            match u.choose_index(4)? {
                0 => {
                    let key = match u.choose_index(3)? {
                        0 => u.arbitrary::<String>()?,
                        1 => (*u.choose(KEYS)?).to_owned(),
                        _ if !keys.is_empty() => u.choose(&keys)?.clone(),
                        _ => (*u.choose(KEYS)?).to_owned(),
                    };
                    map.insert(key, value(u, depth)?);
                }
                1 if !keys.is_empty() => {
                    map.remove(u.choose(&keys)?);
                }
                _ if !keys.is_empty() => {
                    let key = u.choose(&keys)?;
                    if let Some(inner) = map.get_mut(key) {
                        mutate(u, inner, depth + 1)?;
                    }
                }
                _ => *v = value(u, depth)?,
            }
        }
        Value::Array(items) if depth < 6 => match u.choose_index(3)? {
            0 => items.push(value(u, depth)?),
            1 if !items.is_empty() => {
                let i = u.choose_index(items.len())?;
                items.remove(i);
            }
            _ if !items.is_empty() => {
                let i = u.choose_index(items.len())?;
                mutate(u, &mut items[i], depth + 1)?;
            }
            _ => *v = value(u, depth)?,
        },
        other => *other = value(u, depth)?,
    }
    Ok(())
}

/// Any JSON value, its strings and numbers biased to what OCPP payloads hold.
fn value(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Value> {
    let kinds = if depth < 4 { 9 } else { 7 };
    Ok(match u.choose_index(kinds)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => json!(*u.choose(&[
            0i64,
            1,
            -1,
            2,
            i64::from(i32::MAX),
            i64::from(i32::MAX) + 1,
            i64::from(i32::MIN) - 1,
            i64::MAX,
            i64::MIN
        ])?),
        3 => json!(u.arbitrary::<i64>()?),
        4 => Value::from(u.arbitrary::<f64>()?),
        5 => Value::String((*u.choose(WORDS)?).to_owned()),
        6 => Value::String(u.arbitrary()?),
        7 => {
            let n = u.int_in_range(0..=3)?;
            Value::Array(
                (0..n)
                    .map(|_| value(u, depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        _ => {
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=3)? {
                map.insert((*u.choose(KEYS)?).to_owned(), value(u, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}

/// Field names the payloads use.
const KEYS: &[&str] = &[
    "connectorId",
    "evseId",
    "evse",
    "id",
    "idTag",
    "idToken",
    "type",
    "status",
    "connectorStatus",
    "timestamp",
    "meterStart",
    "meterStop",
    "transactionId",
    "transactionInfo",
    "meterValue",
    "sampledValue",
    "value",
    "measurand",
    "unit",
    "unitOfMeasure",
    "eventType",
    "triggerReason",
    "seqNo",
    "reservationId",
    "reservationUpdateStatus",
    "vendorId",
    "chargePointVendor",
    "chargePointModel",
    "chargingStation",
    "vendorName",
    "model",
    "reason",
    "stoppedReason",
    "csr",
    "requestId",
    "errorCode",
];

/// Values the payloads use, and timestamps in the shapes chargers send.
const WORDS: &[&str] = &[
    "Accepted",
    "Available",
    "Occupied",
    "Charging",
    "Faulted",
    "Unavailable",
    "Reserved",
    "Started",
    "Updated",
    "Ended",
    "Expired",
    "Removed",
    "NoError",
    "Energy.Active.Import.Register",
    "Voltage",
    "kWh",
    "Wh",
    "1234.5",
    "NaN",
    "-5",
    "1e308",
    "ISO14443",
    "2027-01-15T08:00:00Z",
    "2027-01-15T08:00:00",
    "2027-01-15T08:00:00.123+02",
    "2027-01-15T08:00:00+02:00",
    "2027-01-15T08:00:0\u{e9}",
    "2027-01-15T08:00:00\u{e9}",
    "9999-99-99T99:99:99",
    "",
];

const T: &str = "2027-01-15T08:00:00Z";

/// Each action a charger of `version` sends, with a valid payload.
pub fn examples(version: OcppVersion) -> Vec<(&'static str, Value)> {
    let energy16 = json!([{"timestamp": T, "sampledValue": [
        {"value": "230", "measurand": "Voltage"},
        {"value": "1234.5", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]);
    let energy201 = json!([{"timestamp": T, "sampledValue": [
        {"value": 2.5, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}}]}]);
    let token = json!({"idToken": "TAG-1", "type": "ISO14443"});
    match version {
        OcppVersion::V16 => vec![
            (
                "BootNotification",
                json!({"chargePointVendor": "ACME", "chargePointModel": "M1", "firmwareVersion": "1.0"}),
            ),
            ("Heartbeat", json!({})),
            (
                "StatusNotification",
                json!({"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": T}),
            ),
            ("Authorize", json!({"idTag": "TAG-1"})),
            (
                "StartTransaction",
                json!({"connectorId": 1, "idTag": "TAG-1", "meterStart": 0, "timestamp": T, "reservationId": 7}),
            ),
            (
                "StopTransaction",
                json!({"transactionId": 1, "meterStop": 1500, "timestamp": T, "idTag": "TAG-1", "reason": "Local"}),
            ),
            (
                "MeterValues",
                json!({"connectorId": 1, "transactionId": 1, "meterValue": energy16}),
            ),
            (
                "DataTransfer",
                json!({"vendorId": "ACME", "messageId": "m", "data": "d"}),
            ),
            (
                "DiagnosticsStatusNotification",
                json!({"status": "Uploaded"}),
            ),
            ("FirmwareStatusNotification", json!({"status": "Installed"})),
            (
                "SecurityEventNotification",
                json!({"type": "FirmwareUpdated", "timestamp": T, "techInfo": "t"}),
            ),
            (
                "SignCertificate",
                json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----"}),
            ),
            (
                "LogStatusNotification",
                json!({"status": "Uploaded", "requestId": 1}),
            ),
            (
                "SignedFirmwareStatusNotification",
                json!({"status": "Installed", "requestId": 1}),
            ),
            ("NoSuchAction", json!({})),
        ],
        OcppVersion::V201 => vec![
            (
                "BootNotification",
                json!({"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "M1", "firmwareVersion": "1.0", "serialNumber": "S1"}}),
            ),
            ("Heartbeat", json!({})),
            (
                "StatusNotification",
                json!({"timestamp": T, "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}),
            ),
            ("Authorize", json!({"idToken": token})),
            (
                "TransactionEvent",
                json!({"eventType": "Started", "timestamp": T, "triggerReason": "Authorized", "seqNo": 0,
                    "transactionInfo": {"transactionId": "T-1", "chargingState": "Charging"},
                    "evse": {"id": 1, "connectorId": 1}, "idToken": token, "meterValue": energy201}),
            ),
            (
                "TransactionEvent",
                json!({"eventType": "Ended", "timestamp": T, "triggerReason": "StopAuthorized", "seqNo": 2,
                    "transactionInfo": {"transactionId": "T-1", "stoppedReason": "Local"}, "meterValue": energy201}),
            ),
            ("MeterValues", json!({"evseId": 1, "meterValue": energy201})),
            (
                "ReservationStatusUpdate",
                json!({"reservationId": 7, "reservationUpdateStatus": "Expired"}),
            ),
            ("DataTransfer", json!({"vendorId": "ACME"})),
            (
                "NotifyEvent",
                json!({"generatedAt": T, "seqNo": 0, "eventData": []}),
            ),
            ("FirmwareStatusNotification", json!({"status": "Installed"})),
            (
                "NotifyEVChargingNeeds",
                json!({"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "DC"}}),
            ),
            ("SignCertificate", json!({"csr": "x"})),
            ("NoSuchAction", json!({})),
        ],
    }
}

thread_local! {
    static RUNTIME: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
    static CONTEXTS: RefCell<Option<(Context, Context)>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's single-threaded runtime.
fn with_runtime<R>(f: impl FnOnce(&tokio::runtime::Runtime) -> R) -> R {
    RUNTIME.with(|cell| {
        let mut cell = cell.borrow_mut();
        let rt = cell.get_or_insert_with(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("a runtime for the fuzz targets: {e}"))
        });
        f(rt)
    })
}

/// The handlers' view of the one charger connected with `version`.
fn context(version: OcppVersion) -> Context {
    CONTEXTS.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (v16, v201) = cell.get_or_insert_with(|| {
            let deps = deps();
            let ctx = |version| Context {
                charger: store::charger(),
                version,
                connectors: Default::default(),
                deps: deps.clone(),
            };
            (ctx(OcppVersion::V16), ctx(OcppVersion::V201))
        });
        match version {
            OcppVersion::V16 => v16.clone(),
            OcppVersion::V201 => v201.clone(),
        }
    })
}

fn deps() -> Deps {
    let store = Arc::new(KnowsOneCharger);
    let clock = Arc::new(booking::ManualClock::new(store::epoch()));
    let bookings = booking::service::BookingService::new(
        booking::service::Ports {
            stations: store.clone(),
            registry: store.clone(),
            ledger: store.clone(),
            sessions: store.clone(),
            holds: Arc::new(booking::holds::InProcessHolds::new()),
            chargers: Arc::new(booking::charger_control::NoChargersConnected),
            events: Arc::new(NoEvents),
            clock: clock.clone(),
            versions: Arc::new(booking::cache::LocalVersions::default()),
        },
        booking::service::BookingRules::default(),
    );
    Deps {
        store: store.clone(),
        bookings,
        clock,
        config: CsmsConfig::default(),
        elsewhere: Arc::new(OnlyHere),
        presence: crate::PresenceWriter::new(store),
        pending_starts: crate::PendingStarts::default(),
        charging_clocks: Default::default(),
        device_model: crate::DeviceModel::none(),
        vendor_extensions: crate::data_transfer::VendorExtensions::builtin(),
        local_lists: crate::local_list::LocalLists::none(),
        certificates: Default::default(),
        smart_charging: crate::smart_charging::SmartCharging::none(),
        remote_authorizer: Arc::new(booking::authorization::NoRemote),
    }
}

/// Events go nowhere (recorded, they would pile up over millions of runs).
#[derive(Debug)]
struct NoEvents;

impl booking::events::EventSink for NoEvents {
    fn publish(&self, _: booking::events::Event) {}
}

#[cfg(test)]
mod tests {
    //! The stable smoke of the fuzz targets: each runs a few thousand random
    //! inputs (and the examples as they are) in `cargo test`.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    #[test]
    fn every_example_is_answered_with_a_callresult() {
        for version in [OcppVersion::V16, OcppVersion::V201] {
            for (action, payload) in examples(version) {
                let outcome = with_runtime(|rt| {
                    rt.block_on(crate::domain::handle(&context(version), action, payload))
                });
                if action == "NoSuchAction" {
                    assert!(matches!(outcome, Err(RpcError::NotImplemented(_))));
                } else {
                    let handled = outcome.unwrap_or_else(|e| panic!("{version:?} {action}: {e}"));
                    assert!(handled.payload.is_object(), "{action}");
                }
            }
            // And through the target, with no changes made.
            dispatch(version, &[]);
        }
    }

    #[test]
    fn a_whole_handshake_passes_the_request_checks() {
        let head = "GET /ocpp/CP-1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
            Sec-WebSocket-Protocol: ocpp2.0.1, ocpp1.6\r\nAuthorization: Basic Q1AtMTpzZWNyZXQ=\r\n\r\n";
        for flags in 0..16u8 {
            let mut data = vec![flags];
            data.extend_from_slice(head.as_bytes());
            handshake(&data);
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn ocpp_frame_smoke(text in r#"\[[2-4x],("[a-z0-9]{0,40}"|5),("[A-Za-z]{0,12}"|\{\}|\[\]|null|1\.5e3),(\{("[a-z]{1,3}":[0-9.e-]{1,6})?\}|"[^"]{0,8}"|-0|1e999)(,\{\})?\]|.{0,64}"#) {
            frame(text.as_bytes());
        }

        #[test]
        fn ocpp16_dispatch_smoke(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            dispatch(OcppVersion::V16, &data);
        }

        #[test]
        fn ocpp201_dispatch_smoke(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            dispatch(OcppVersion::V201, &data);
        }

        #[test]
        fn handshake_smoke(
            flags in any::<u8>(),
            path in r"/(ocpp/)?([A-Za-z0-9.:%-]|%2[eE]|%3[aA]){0,52}/?",
            protocols in r"(ocpp1\.6|ocpp2\.0\.1|ocpp2\.1| |,){0,4}",
            version in "13|8|",
            auth in r"(Basic|basic|Bearer) [A-Za-z0-9+/=]{0,24}",
        ) {
            let head = format!(
                "GET {path} HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\
                 Sec-WebSocket-Version: {version}\r\nSec-WebSocket-Protocol: {protocols}\r\n\
                 Authorization: {auth}\r\n\r\n"
            );
            let mut data = vec![flags];
            data.extend_from_slice(head.as_bytes());
            handshake(&data);
            data.truncate(1);
            data.extend_from_slice(path.as_bytes());
            handshake(&data);
        }
    }
}
