//! The OCPP server's Prometheus series, named in one place. Recorded
//! through the `metrics` facade: without an installed recorder (unit tests,
//! the library used alone) every call is a no-op. Label values are bounded:
//! actions outside the two versions' action lists are `other`, error codes
//! come from the CALLERROR code list, and no charger id is ever a label.

use std::time::Duration;

use booking::model::{OcppVersion, SecurityProfile};

use crate::rpc::RpcError;

/// Chargers connected to this instance, by OCPP version and security profile.
pub const CHARGERS_CONNECTED: &str = "evgate_ocpp_chargers_connected";
/// CALLs by direction (`in` from chargers, `out` from evgate), action and
/// outcome (`answered`, a CALLERROR code, `timeout`, `offline`).
pub const CALLS: &str = "evgate_ocpp_calls_total";
/// Round trip of evgate's calls to chargers, by action, in seconds.
pub const CALL_SECONDS: &str = "evgate_ocpp_call_duration_seconds";
/// Handler time of chargers' calls, by action, in seconds.
pub const HANDLER_SECONDS: &str = "evgate_ocpp_handler_duration_seconds";
/// Upgrade requests refused, by reason.
pub const HANDSHAKE_REFUSALS: &str = "evgate_ocpp_handshake_refusals_total";
/// Connections closed by evgate, by reason (`too_large`, `bad_frames`, `silent`).
pub const CLOSES: &str = "evgate_ocpp_closes_total";
/// Malformed frames received.
pub const BAD_FRAMES: &str = "evgate_ocpp_malformed_frames_total";

/// Registers the series' help texts with the installed recorder.
pub fn describe() {
    metrics::describe_gauge!(
        CHARGERS_CONNECTED,
        "Chargers connected to this instance, by OCPP version and security profile"
    );
    metrics::describe_counter!(
        CALLS,
        "OCPP CALLs by direction (in: from chargers, out: from evgate), action and outcome"
    );
    metrics::describe_histogram!(
        CALL_SECONDS,
        metrics::Unit::Seconds,
        "Round trip of evgate's calls to chargers, by action"
    );
    metrics::describe_histogram!(
        HANDLER_SECONDS,
        metrics::Unit::Seconds,
        "Time evgate took to answer a charger's call, by action"
    );
    metrics::describe_counter!(
        HANDSHAKE_REFUSALS,
        "OCPP upgrade requests refused, by reason"
    );
    metrics::describe_counter!(CLOSES, "OCPP connections closed by evgate, by reason");
    metrics::describe_counter!(BAD_FRAMES, "Malformed OCPP frames received");
}

/// One connected charger in the gauge, for as long as it is held (dropped
/// when the connection's task ends, however it ends).
#[derive(Debug)]
pub struct Connected(metrics::Gauge);

impl Connected {
    /// Counts a charger that connected with `version` and `profile`.
    pub fn new(version: OcppVersion, profile: SecurityProfile) -> Self {
        let gauge = metrics::gauge!(CHARGERS_CONNECTED,
            "version" => version.as_str(), "profile" => profile_label(profile));
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// A charger's CALL was answered (`error: None`) or refused with a
/// CALLERROR; `took` is the handlers' time when they ran.
pub fn inbound_call(
    action: &str,
    error: Option<&RpcError>,
    version: OcppVersion,
    took: Option<Duration>,
) {
    let action = action_label(action);
    let outcome = error.map_or("answered", |e| e.code(version));
    metrics::counter!(CALLS, "direction" => "in", "action" => action, "outcome" => outcome)
        .increment(1);
    if let Some(took) = took {
        metrics::histogram!(HANDLER_SECONDS, "action" => action).record(took.as_secs_f64());
    }
}

/// How one of evgate's calls ended: `answered`, a CALLERROR code, `timeout`
/// or `offline`; `took` when an answer came.
pub fn outbound_call(action: &'static str, outcome: &'static str, took: Option<Duration>) {
    metrics::counter!(CALLS, "direction" => "out", "action" => action, "outcome" => outcome)
        .increment(1);
    if let Some(took) = took {
        metrics::histogram!(CALL_SECONDS, "action" => action).record(took.as_secs_f64());
    }
}

/// An upgrade refused; `reason` is one of a fixed set (see `server.rs`).
pub fn refused(reason: &'static str) {
    metrics::counter!(HANDSHAKE_REFUSALS, "reason" => reason).increment(1);
}

/// evgate closed a connection for `reason`.
pub fn closed(reason: &'static str) {
    metrics::counter!(CLOSES, "reason" => reason).increment(1);
}

/// A malformed frame arrived.
pub fn bad_frame() {
    metrics::counter!(BAD_FRAMES).increment(1);
}

fn profile_label(profile: SecurityProfile) -> &'static str {
    match profile.get() {
        0 => "0",
        1 => "1",
        2 => "2",
        _ => "3",
    }
}

/// The action as a label: one of OCPP 1.6's or 2.0.1's action names, or
/// `other` (a charger may send any string; labels must stay bounded).
pub fn action_label(action: &str) -> &'static str {
    ACTIONS
        .binary_search(&action)
        .map_or("other", |i| ACTIONS[i])
}

/// Every action of OCPP 1.6 (with the security whitepaper) and 2.0.1,
/// sorted for binary search.
const ACTIONS: &[&str] = &[
    "Authorize",
    "BootNotification",
    "CancelReservation",
    "CertificateSigned",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "ClearDisplayMessage",
    "ClearVariableMonitoring",
    "ClearedChargingLimit",
    "CostUpdated",
    "CustomerInformation",
    "DataTransfer",
    "DeleteCertificate",
    "DiagnosticsStatusNotification",
    "ExtendedTriggerMessage",
    "FirmwareStatusNotification",
    "Get15118EVCertificate",
    "GetBaseReport",
    "GetCertificateStatus",
    "GetChargingProfiles",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetDisplayMessages",
    "GetInstalledCertificateIds",
    "GetLocalListVersion",
    "GetLog",
    "GetMonitoringReport",
    "GetReport",
    "GetTransactionStatus",
    "GetVariables",
    "Heartbeat",
    "InstallCertificate",
    "LogStatusNotification",
    "MeterValues",
    "NotifyChargingLimit",
    "NotifyCustomerInformation",
    "NotifyDisplayMessages",
    "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule",
    "NotifyEvent",
    "NotifyMonitoringReport",
    "NotifyReport",
    "PublishFirmware",
    "PublishFirmwareStatusNotification",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReportChargingProfiles",
    "RequestStartTransaction",
    "RequestStopTransaction",
    "ReservationStatusUpdate",
    "ReserveNow",
    "Reset",
    "SecurityEventNotification",
    "SendLocalList",
    "SetChargingProfile",
    "SetDisplayMessage",
    "SetMonitoringBase",
    "SetMonitoringLevel",
    "SetNetworkProfile",
    "SetVariableMonitoring",
    "SetVariables",
    "SignCertificate",
    "SignedFirmwareStatusNotification",
    "SignedUpdateFirmware",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
    "TransactionEvent",
    "TriggerMessage",
    "UnlockConnector",
    "UnpublishFirmware",
    "UpdateFirmware",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_list_is_sorted_and_unknown_actions_are_other() {
        assert!(
            ACTIONS.windows(2).all(|w| w[0] < w[1]),
            "keep ACTIONS sorted"
        );
        assert_eq!(action_label("Heartbeat"), "Heartbeat");
        assert_eq!(action_label("TransactionEvent"), "TransactionEvent");
        assert_eq!(action_label("heartbeat"), "other");
        assert_eq!(action_label("CP-0001-secret"), "other");
    }
}
