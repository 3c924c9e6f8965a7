//! Firmware updates and log uploads (OCPP blocks L and N, and 1.6's
//! Firmware Management profile with the security whitepaper's messages):
//! the calls that ask a charger for them in the version it speaks, how its
//! answers and status notifications are read and kept, and the secret
//! upload locations evgate hands out for log files.

use std::time::Duration;

use booking::model::{MaintenanceKind, MaintenanceStatus, OcppVersion};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::context::Context;
use crate::domain::internal;
use crate::rpc::RpcError;

/// How long an upload location stays open after the request: long enough
/// for a charger's own retries (`retries` × `retryInterval`), short enough
/// that a leaked location soon stops working.
pub const UPLOAD_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The longest location the schemas allow (2.0.1 and the whitepaper: 512).
pub const MAX_LOCATION: usize = 512;

/// A firmware update as an operator orders it.
#[derive(Debug, Clone, PartialEq)]
pub struct FirmwareOrder {
    /// Where the charger downloads the firmware (an absolute URL).
    pub location: String,
    /// When to download it at the earliest.
    pub retrieve_at: DateTime<Utc>,
    /// When to install it (2.0.1 and signed 1.6 only).
    pub install_at: Option<DateTime<Utc>>,
    /// How many times to try the download.
    pub retries: Option<i32>,
    /// Seconds between tries.
    pub retry_interval: Option<i32>,
    /// PEM signing certificate and Base64 signature, for a signed update.
    pub signed: Option<Signed>,
}

/// The proof a signed firmware image carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    /// PEM certificate that signed the image (at most 5500 characters).
    pub signing_certificate: String,
    /// Base64 signature over the image (at most 800 characters).
    pub signature: String,
}

/// Which log a charger is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogType {
    /// Diagnostics (1.6: GetDiagnostics).
    Diagnostics,
    /// The security log (1.6: the whitepaper's GetLog).
    Security,
}

impl LogType {
    /// The OCPP spelling (`LogEnumType`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogType::Diagnostics => "DiagnosticsLog",
            LogType::Security => "SecurityLog",
        }
    }

    /// `DiagnosticsLog` or `SecurityLog`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "DiagnosticsLog" => Some(LogType::Diagnostics),
            "SecurityLog" => Some(LogType::Security),
            _ => None,
        }
    }
}

/// A log upload as an operator orders it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogOrder {
    /// Which log.
    pub log_type: LogType,
    /// Where the charger uploads it.
    pub location: String,
    /// The oldest entries wanted.
    pub from: Option<DateTime<Utc>>,
    /// The newest entries wanted.
    pub to: Option<DateTime<Utc>>,
    /// How many times to try the upload.
    pub retries: Option<i32>,
    /// Seconds between tries.
    pub retry_interval: Option<i32>,
}

/// An absolute URL with a host, within the schemas' length: the only
/// locations a charger can use.
pub fn check_location(location: &str) -> Result<(), String> {
    if location.chars().count() > MAX_LOCATION {
        return Err(format!("location longer than {MAX_LOCATION} characters"));
    }
    let url = url::Url::parse(location).map_err(|e| format!("location is no absolute URL: {e}"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("location names no host".into());
    }
    Ok(())
}

fn optional(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.into(), v);
    }
}

/// The call that orders `order` from a charger of `version`: 1.6
/// UpdateFirmware, or the whitepaper's SignedUpdateFirmware when signed;
/// 2.0.1 UpdateFirmware (signed or not).
pub fn firmware_call(
    version: OcppVersion,
    order: &FirmwareOrder,
    request_id: i32,
) -> (&'static str, Value) {
    let iso = |t: DateTime<Utc>| json!(booking::iso(t));
    let mut retry = Map::new();
    optional(&mut retry, "retries", order.retries.map(Value::from));
    optional(
        &mut retry,
        "retryInterval",
        order.retry_interval.map(Value::from),
    );
    match (version, &order.signed) {
        (OcppVersion::V16, None) => {
            let mut p = retry;
            p.insert("location".into(), json!(order.location));
            p.insert("retrieveDate".into(), iso(order.retrieve_at));
            ("UpdateFirmware", Value::Object(p))
        }
        (_, signed) => {
            let mut firmware = Map::new();
            firmware.insert("location".into(), json!(order.location));
            firmware.insert("retrieveDateTime".into(), iso(order.retrieve_at));
            optional(&mut firmware, "installDateTime", order.install_at.map(iso));
            if let Some(s) = signed {
                firmware.insert("signingCertificate".into(), json!(s.signing_certificate));
                firmware.insert("signature".into(), json!(s.signature));
            }
            let mut p = retry;
            p.insert("requestId".into(), json!(request_id));
            p.insert("firmware".into(), Value::Object(firmware));
            let action = match version {
                OcppVersion::V16 => "SignedUpdateFirmware",
                OcppVersion::V201 => "UpdateFirmware",
            };
            (action, Value::Object(p))
        }
    }
}

/// The call that orders `order` from a charger of `version`: 1.6
/// GetDiagnostics for diagnostics, the whitepaper's GetLog for the
/// security log; 2.0.1 GetLog.
pub fn log_call(version: OcppVersion, order: &LogOrder, request_id: i32) -> (&'static str, Value) {
    let iso = |t: DateTime<Utc>| json!(booking::iso(t));
    let mut p = Map::new();
    optional(&mut p, "retries", order.retries.map(Value::from));
    optional(
        &mut p,
        "retryInterval",
        order.retry_interval.map(Value::from),
    );
    if version == OcppVersion::V16 && order.log_type == LogType::Diagnostics {
        p.insert("location".into(), json!(order.location));
        optional(&mut p, "startTime", order.from.map(iso));
        optional(&mut p, "stopTime", order.to.map(iso));
        return ("GetDiagnostics", Value::Object(p));
    }
    let mut log = Map::new();
    log.insert("remoteLocation".into(), json!(order.location));
    optional(&mut log, "oldestTimestamp", order.from.map(iso));
    optional(&mut log, "latestTimestamp", order.to.map(iso));
    p.insert("logType".into(), json!(order.log_type.as_str()));
    p.insert("requestId".into(), json!(request_id));
    p.insert("log".into(), Value::Object(log));
    ("GetLog", Value::Object(p))
}

/// The lengths the schemas set on these actions' strings, which the typed
/// requests do not check: over them, a charger would refuse the call.
pub fn check_lengths(action: &str, payload: &Value) -> Result<(), String> {
    let limits: &[(&str, &str, usize)] = match action {
        "UpdateFirmware" | "SignedUpdateFirmware" => &[
            ("firmware", "location", MAX_LOCATION),
            ("firmware", "signingCertificate", 5500),
            ("firmware", "signature", 800),
        ],
        "GetLog" => &[("log", "remoteLocation", MAX_LOCATION)],
        _ => &[],
    };
    for (outer, field, max) in limits {
        if let Some(text) = payload[outer][field].as_str()
            && text.chars().count() > *max
        {
            return Err(format!("{outer}.{field} longer than {max} characters"));
        }
    }
    Ok(())
}

/// How the charger answered, in its words: the `status` of the answers
/// that have one; for 1.6 UpdateFirmware (an empty answer) `Accepted`; for
/// 1.6 GetDiagnostics `Accepted` when it names the file it will upload,
/// `NoFile` when it has none to upload.
pub fn answer_status(action: &str, answer: &Value) -> String {
    if let Some(status) = answer["status"].as_str() {
        return status.to_owned();
    }
    if action == "GetDiagnostics" && answer.get("fileName").is_none() {
        return "NoFile".to_owned();
    }
    "Accepted".to_owned()
}

/// Whether an answer means the charger will act on the request.
pub fn accepted(answer: &str) -> bool {
    answer == "Accepted" || answer == "AcceptedCanceled"
}

/// A fresh secret for one upload location: two v4 UUIDs, 244 random
/// bits, in hex.
pub fn upload_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Where a charger uploads the log of one request: `{base}/ocpp-uploads/
/// {chargePointId}/{token}/`, to which it appends its file name.
pub fn upload_location(base: &str, charge_point_id: &str, token: &str) -> String {
    let encoded: String = charge_point_id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!(
        "{}/ocpp-uploads/{encoded}/{token}/",
        base.trim_end_matches('/')
    )
}

/// Whether an upload for a request made at `requested_at` is still taken.
pub fn upload_open(requested_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    chrono::Duration::from_std(UPLOAD_WINDOW).is_ok_and(|w| now < requested_at + w)
}

/// Keeps a status a charger reported and acknowledges it.
pub async fn record_status(
    ctx: &Context,
    kind: MaintenanceKind,
    status: String,
    request_id: Option<i32>,
) -> Result<Value, RpcError> {
    tracing::info!(charger.id = %ctx.charger.charge_point_id, maintenance.kind = kind.as_str(),
        status = %status, request.id = request_id, "charger maintenance status");
    let reported = MaintenanceStatus {
        charger_id: ctx.charger.id,
        kind,
        status,
        request_id,
        reported_at: ctx.now(),
    };
    ctx.deps
        .store
        .add_maintenance_status(&reported)
        .await
        .map_err(internal)?;
    Ok(json!({}))
}

/// An enum value of a typed request as its OCPP word.
pub fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::validate;
    use chrono::TimeZone;

    fn order(signed: bool) -> FirmwareOrder {
        FirmwareOrder {
            location: "https://fw.example/cp-2.1.bin".into(),
            retrieve_at: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
            install_at: None,
            retries: Some(3),
            retry_interval: None,
            signed: signed.then(|| Signed {
                signing_certificate: "-----BEGIN CERTIFICATE-----".into(),
                signature: "c2lnbmF0dXJl".into(),
            }),
        }
    }

    #[test]
    fn firmware_calls_fit_each_version() {
        use OcppVersion::*;
        let (action, payload) = firmware_call(V16, &order(false), 7);
        assert_eq!(action, "UpdateFirmware");
        assert_eq!(
            payload,
            json!({"location": "https://fw.example/cp-2.1.bin",
                "retrieveDate": "2030-01-01T00:00:00.000Z", "retries": 3})
        );
        assert!(validate(V16, action, payload).is_ok());
        let (action, payload) = firmware_call(V16, &order(true), 7);
        assert_eq!(action, "SignedUpdateFirmware");
        assert_eq!(payload["requestId"], 7);
        assert_eq!(payload["firmware"]["signature"], "c2lnbmF0dXJl");
        assert!(validate(V16, action, payload).is_ok());
        for signed in [false, true] {
            let (action, payload) = firmware_call(V201, &order(signed), 8);
            assert_eq!(action, "UpdateFirmware");
            assert_eq!(payload["firmware"].get("signature").is_some(), signed);
            assert!(validate(V201, action, payload).is_ok());
        }
    }

    #[test]
    fn log_calls_fit_each_version() {
        use OcppVersion::*;
        let mut order = LogOrder {
            log_type: LogType::Diagnostics,
            location: "http://gw.example/ocpp-uploads/CP-1/t/".into(),
            from: Some(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()),
            to: None,
            retries: None,
            retry_interval: Some(60),
        };
        let (action, payload) = log_call(V16, &order, 4);
        assert_eq!(action, "GetDiagnostics");
        assert_eq!(payload["startTime"], "2030-01-01T00:00:00.000Z");
        assert!(payload.get("requestId").is_none());
        assert!(validate(V16, action, payload).is_ok());
        order.log_type = LogType::Security;
        let (action, payload) = log_call(V16, &order, 4);
        assert_eq!(action, "GetLog");
        assert_eq!(payload["logType"], "SecurityLog");
        assert!(validate(V16, action, payload).is_ok());
        let (action, payload) = log_call(V201, &order, 5);
        assert_eq!(
            (action, &payload["log"]["remoteLocation"]),
            ("GetLog", &json!(order.location))
        );
        assert!(validate(V201, action, payload).is_ok());
    }

    #[test]
    fn locations_must_be_absolute_urls_within_the_schema() {
        assert!(check_location("https://fw.example/a.bin").is_ok());
        assert!(check_location("ftp://user@fw.example/dir/").is_ok());
        assert!(check_location("/relative/a.bin").is_err());
        assert!(check_location("fw.example/a.bin").is_err());
        assert!(check_location(&format!("https://fw.example/{}", "a".repeat(600))).is_err());
        let long = json!({"requestId": 1, "firmware": {"location": "x".repeat(513)}});
        assert!(check_lengths("UpdateFirmware", &long).is_err());
        assert!(check_lengths("GetLog", &json!({"log": {"remoteLocation": "x"}})).is_ok());
    }

    #[test]
    fn upload_locations_are_secret_encoded_and_expire() {
        let a = upload_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, upload_token());
        assert_eq!(
            upload_location("http://gw:7103/", "CP 1/x", "tok"),
            "http://gw:7103/ocpp-uploads/CP%201%2Fx/tok/"
        );
        let at = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        assert!(upload_open(at, at + chrono::Duration::hours(23)));
        assert!(!upload_open(at, at + chrono::Duration::hours(24)));
    }

    #[test]
    fn answers_are_read_in_both_versions() {
        assert_eq!(answer_status("UpdateFirmware", &json!({})), "Accepted");
        let named = json!({"fileName": "d.zip"});
        assert_eq!(answer_status("GetDiagnostics", &named), "Accepted");
        assert_eq!(answer_status("GetDiagnostics", &json!({})), "NoFile");
        assert_eq!(
            answer_status(
                "SignedUpdateFirmware",
                &json!({"status": "InvalidCertificate"})
            ),
            "InvalidCertificate"
        );
        assert!(accepted("AcceptedCanceled"));
        assert!(!accepted("Rejected"));
    }
}
