//! Firmware updates and log uploads as evgate-sim plays them, in both
//! versions: accepted, then the status notifications a real charger sends
//! (Downloading → Downloaded → (SignatureVerified) → Installing →
//! Installed; Uploading → Uploaded). The simulator installs nothing and
//! uploads no file: it rehearses the messages, not the transfer.

use serde_json::{Value, json};

use super::{Answer, Followup, Outgoing};

fn firmware_steps(signed: bool) -> Vec<&'static str> {
    let mut steps = vec!["Downloading", "Downloaded"];
    if signed {
        steps.push("SignatureVerified");
    }
    steps.extend(["Installing", "Installed"]);
    steps
}

fn then_send(payload: Value, calls: Vec<Outgoing>) -> Answer {
    Answer {
        followups: vec![Followup::Send(calls)],
        ..Answer::ok(payload)
    }
}

fn notifications(action: &'static str, steps: &[&str], request_id: Option<i64>) -> Vec<Outgoing> {
    steps
        .iter()
        .map(|status| {
            let payload = match request_id {
                Some(id) => json!({ "status": status, "requestId": id }),
                None => json!({ "status": status }),
            };
            Outgoing::new(action, payload)
        })
        .collect()
}

/// 1.6 UpdateFirmware (no status in its answer, none in its notifications).
pub(super) fn update_firmware_16(p: &Value) -> Answer {
    if p["location"].as_str().is_none() || p["retrieveDate"].as_str().is_none() {
        return Answer::error(
            "FormationViolation",
            "location and retrieveDate are required",
        );
    }
    let steps = firmware_steps(false);
    then_send(
        json!({}),
        notifications("FirmwareStatusNotification", &steps, None),
    )
}

/// The security whitepaper's SignedUpdateFirmware (1.6) and 2.0.1
/// UpdateFirmware: the same shape; `notification` is the version's.
pub(super) fn update_firmware(p: &Value, notification: &'static str, code: &'static str) -> Answer {
    let (Some(id), Some(firmware)) = (p["requestId"].as_i64(), p["firmware"].as_object()) else {
        return Answer::error(code, "requestId and firmware are required");
    };
    let signed = firmware.contains_key("signature");
    let steps = firmware_steps(signed);
    then_send(
        json!({ "status": "Accepted" }),
        notifications(notification, &steps, Some(id)),
    )
}

/// 1.6 GetDiagnostics.
pub(super) fn get_diagnostics(p: &Value) -> Answer {
    if p["location"].as_str().is_none() {
        return Answer::error("FormationViolation", "location is required");
    }
    let steps = ["Uploading", "Uploaded"];
    then_send(
        json!({ "fileName": "diagnostics.log" }),
        notifications("DiagnosticsStatusNotification", &steps, None),
    )
}

/// GetLog, the whitepaper's (1.6) and 2.0.1's alike.
pub(super) fn get_log(p: &Value, code: &'static str) -> Answer {
    let (Some(id), Some(_)) = (p["requestId"].as_i64(), p["log"]["remoteLocation"].as_str()) else {
        return Answer::error(code, "requestId and log.remoteLocation are required");
    };
    let steps = ["Uploading", "Uploaded"];
    then_send(
        json!({ "status": "Accepted", "filename": "sim.log" }),
        notifications("LogStatusNotification", &steps, Some(id)),
    )
}
