//! Operator commands: the CSMS-initiated actions an admin may send to a
//! charger, checked against the charger's OCPP version (by decoding them
//! into that version's typed request) before anything goes out.

use booking::model::OcppVersion;
use rust_ocpp::v1_6::messages as v16m;
use rust_ocpp::v2_0_1::messages as v201m;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::context::{decode, encode};
use crate::registry::CallFailure;
use crate::rpc::RpcError;

/// Why a command got no answer, or could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Not a command for the charger's OCPP version, or its payload fails that
    /// version's schema; the text says which.
    #[error("{0}")]
    Invalid(String),
    /// The charger has no connection to send it on.
    #[error("the charger is not connected")]
    Offline,
    /// Sent, but unanswered within `CsmsConfig::call_timeout`.
    #[error("the charger did not answer in time")]
    Timeout,
    /// The charger's queue of outbound calls (16) is full.
    #[error("the charger's command queue is full; try again")]
    Busy,
    /// The charger answered with a CALLERROR.
    #[error("the charger answered with an error: {0}")]
    Charger(RpcError),
    /// A charger held by another instance answered with an error (its
    /// text, as relayed).
    #[error("the charger answered with an error: {0}")]
    Relayed(String),
}

impl From<CallFailure> for CommandError {
    fn from(f: CallFailure) -> Self {
        match f {
            CallFailure::Error(e) => CommandError::Charger(e),
            CallFailure::Timeout => CommandError::Timeout,
            CallFailure::Offline => CommandError::Offline,
            CallFailure::Busy => CommandError::Busy,
        }
    }
}

/// Sends a command to a charger wherever it is connected: through its
/// connection here ([`crate::OcppChargers`], [`crate::Registry`]) or, in a
/// cluster, through the instance holding it (`evgate_cluster::Chargers`).
/// What evgate sends on its own (power caps, local lists) goes this way.
#[async_trait::async_trait]
pub trait SendCommand: Send + Sync + std::fmt::Debug + 'static {
    /// Sends `action`, checked against the charger's version, and returns
    /// the charger's answer.
    async fn command(
        &self,
        charge_point_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<Value, CommandError>;
}

#[async_trait::async_trait]
impl SendCommand for crate::OcppChargers {
    async fn command(
        &self,
        charge_point_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<Value, CommandError> {
        crate::OcppChargers::command(self, charge_point_id, action, payload).await
    }
}

/// Straight through the connection, without the operator path's
/// splitting and bookkeeping (for calls the handlers' follow-ups make).
#[async_trait::async_trait]
impl SendCommand for crate::Registry {
    async fn command(
        &self,
        charge_point_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<Value, CommandError> {
        let version = self.version(charge_point_id).ok_or(CommandError::Offline)?;
        let (action, payload) = validate(version, action, payload)?;
        Ok(self.call(charge_point_id, action, payload).await?)
    }
}

/// Decodes into the typed request and encodes it back: what goes out is
/// exactly what the version's schema allows.
fn checked<T: DeserializeOwned + Serialize>(
    action: &'static str,
    payload: Value,
) -> Result<(&'static str, Value), CommandError> {
    let typed: T = decode(payload)
        .map_err(|e| CommandError::Invalid(format!("{action} payload: {}", e.description())))?;
    let value = encode(&typed).map_err(|e| CommandError::Invalid(e.to_string()))?;
    Ok((action, value))
}

/// What [`checked`] lets through, within the string lengths the schema sets
/// and the typed request does not check.
fn sized(
    call: Result<(&'static str, Value), CommandError>,
) -> Result<(&'static str, Value), CommandError> {
    let (action, payload) = call?;
    crate::maintenance::check_lengths(action, &payload)
        .map_err(|e| CommandError::Invalid(format!("{action} payload: {e}")))?;
    Ok((action, payload))
}

/// The action and payload to send, or why they cannot be sent to a charger
/// of `version`.
pub fn validate(
    version: OcppVersion,
    action: &str,
    payload: Value,
) -> Result<(&'static str, Value), CommandError> {
    use OcppVersion::*;
    match (version, action) {
        (V16, "ReserveNow") => {
            checked::<v16m::reserve_now::ReserveNowRequest>("ReserveNow", payload)
        }
        (V16, "CancelReservation") => {
            checked::<v16m::cancel_reservation::CancelReservationRequest>(
                "CancelReservation",
                payload,
            )
        }
        (V16, "RemoteStartTransaction") => checked::<
            v16m::remote_start_transaction::RemoteStartTransactionRequest,
        >("RemoteStartTransaction", payload),
        (V16, "RemoteStopTransaction") => checked::<
            v16m::remote_stop_transaction::RemoteStopTransactionRequest,
        >("RemoteStopTransaction", payload),
        (V16, "Reset") => checked::<v16m::reset::ResetRequest>("Reset", payload),
        (V16, "ChangeAvailability") => checked::<
            v16m::change_availability::ChangeAvailabilityRequest,
        >("ChangeAvailability", payload),
        (V16, "TriggerMessage") => {
            checked::<v16m::trigger_message::TriggerMessageRequest>("TriggerMessage", payload)
        }
        (V16, "UnlockConnector") => {
            checked::<v16m::unlock_connector::UnlockConnectorRequest>("UnlockConnector", payload)
        }
        (V16, "GetConfiguration") => {
            checked::<v16m::get_configuration::GetConfigurationRequest>("GetConfiguration", payload)
        }
        (V16, "ChangeConfiguration") => checked::<
            v16m::change_configuration::ChangeConfigurationRequest,
        >("ChangeConfiguration", payload),
        (V201, "ReserveNow") => {
            checked::<v201m::reserve_now::ReserveNowRequest>("ReserveNow", payload)
        }
        (V201, "CancelReservation") => {
            checked::<v201m::cancel_reservation::CancelReservationRequest>(
                "CancelReservation",
                payload,
            )
        }
        (V201, "RequestStartTransaction") => checked::<
            v201m::request_start_transaction::RequestStartTransactionRequest,
        >("RequestStartTransaction", payload),
        (V201, "RequestStopTransaction") => checked::<
            v201m::request_stop_transaction::RequestStopTransactionRequest,
        >("RequestStopTransaction", payload),
        (V201, "Reset") => checked::<v201m::reset::ResetRequest>("Reset", payload),
        (V201, "ChangeAvailability") => checked::<
            v201m::change_availability::ChangeAvailabilityRequest,
        >("ChangeAvailability", payload),
        (V201, "TriggerMessage") => {
            checked::<v201m::trigger_message::TriggerMessageRequest>("TriggerMessage", payload)
        }
        (V201, "UnlockConnector") => {
            checked::<v201m::unlock_connector::UnlockConnectorRequest>("UnlockConnector", payload)
        }
        (V201, "GetVariables") => {
            checked::<v201m::get_variables::GetVariablesRequest>("GetVariables", payload)
        }
        (V201, "SetVariables") => {
            checked::<v201m::set_variables::SetVariablesRequest>("SetVariables", payload)
        }
        (V16, "DataTransfer") => {
            checked::<v16m::data_transfer::DataTransferRequest>("DataTransfer", payload)
        }
        (V201, "DataTransfer") => {
            checked::<v201m::datatransfer::DataTransferRequest>("DataTransfer", payload)
        }
        // Whether a transaction is still going and its messages are still
        // queued at the charger (E14); without an id, any queued at all.
        (V201, "GetTransactionStatus") => checked::<
            v201m::get_transaction_status::GetTransactionStatusRequest,
        >("GetTransactionStatus", payload),
        // The device model (B07/B08): the charger answers, then sends its
        // report in NotifyReport parts (logged; not yet stored).
        (V201, "GetBaseReport") => {
            checked::<v201m::get_base_report::GetBaseReportRequest>("GetBaseReport", payload)
        }
        (V201, "GetReport") => checked::<v201m::get_report::GetReportRequest>("GetReport", payload),
        (V201, "SetNetworkProfile") => checked::<
            v201m::set_network_profile::SetNetworkProfileRequest,
        >("SetNetworkProfile", payload),
        // Display messages (O01–O06); what the charger accepts is remembered
        // (`crate::display`), what it holds comes back in NotifyDisplayMessages.
        (V201, "SetDisplayMessage") => checked::<
            v201m::set_display_message::SetDisplayMessageRequest,
        >("SetDisplayMessage", payload),
        (V201, "GetDisplayMessages") => checked::<
            v201m::get_display_message::GetDisplayMessagesRequest,
        >("GetDisplayMessages", payload),
        (V201, "ClearDisplayMessage") => checked::<
            v201m::clear_display_message::ClearDisplayMessageRequest,
        >("ClearDisplayMessage", payload),
        // Local authorization lists (1.6 Local Auth List Management, 2.0.1
        // D01/D02); evgate's own updates go through `crate::local_list`.
        (V16, "SendLocalList") => {
            checked::<v16m::send_local_list::SendLocalListRequest>("SendLocalList", payload)
        }
        (V16, "GetLocalListVersion") => checked::<
            v16m::get_local_list_version::GetLocalListVersionRequest,
        >("GetLocalListVersion", payload),
        (V201, "SendLocalList") => {
            checked::<v201m::send_local_list::SendLocalListRequest>("SendLocalList", payload)
        }
        (V201, "GetLocalListVersion") => checked::<
            v201m::get_local_list_version::GetLocalListVersionRequest,
        >("GetLocalListVersion", payload),
        (V16, "ClearCache") => {
            checked::<v16m::clear_cache::ClearCacheRequest>("ClearCache", payload)
        }
        (V201, "ClearCache") => {
            checked::<v201m::clear_cache::ClearCacheRequest>("ClearCache", payload)
        }
        // Certificates (1.6 security whitepaper, 2.0.1 A and M blocks).
        (v, other) if crate::certificates::commands::ACTIONS.contains(&other) => {
            crate::certificates::commands::validate(v, other, payload).unwrap_or_else(|| {
                Err(CommandError::Invalid(format!(
                    "{other} is not a command evgate sends to an {} charger",
                    v.as_str()
                )))
            })
        }
        // Firmware and logs (1.6 Firmware Management and the security
        // whitepaper; 2.0.1 L and N): statuses come back in notifications
        // kept per charger (`crate::maintenance`).
        (V16, "UpdateFirmware") => {
            checked::<v16m::update_firmware::UpdateFirmwareRequest>("UpdateFirmware", payload)
        }
        (V16, "GetDiagnostics") => {
            checked::<v16m::get_diagnostics::GetDiagnosticsRequest>("GetDiagnostics", payload)
        }
        (V16, "SignedUpdateFirmware") => {
            checked::<crate::v16::firmware::SignedUpdateFirmwareRequest>(
                "SignedUpdateFirmware",
                payload,
            )
        }
        (V16, "GetLog") => checked::<crate::v16::firmware::GetLogRequest>("GetLog", payload),
        (V201, "UpdateFirmware") => sized(
            checked::<v201m::update_firmware::UpdateFirmwareRequest>("UpdateFirmware", payload),
        ),
        (V201, "GetLog") => sized(checked::<v201m::get_log::GetLogRequest>("GetLog", payload)),
        // Smart charging (1.6 profile SmartCharging; 2.0.1 block K): what
        // the charger accepts is remembered and re-sent after a boot
        // (`crate::smart_charging`); 2.0.1 reports come in ReportChargingProfiles.
        (V16, "SetChargingProfile") => checked::<
            v16m::set_charging_profile::SetChargingProfileRequest,
        >("SetChargingProfile", payload),
        (V16, "ClearChargingProfile") => checked::<
            v16m::clear_charging_profile::ClearChargingProfileRequest,
        >("ClearChargingProfile", payload),
        (V16, "GetCompositeSchedule") => checked::<
            v16m::get_composite_schedule::GetCompositeScheduleRequest,
        >("GetCompositeSchedule", payload),
        (V201, "SetChargingProfile") => checked::<
            v201m::set_charging_profile::SetChargingProfileRequest,
        >("SetChargingProfile", payload),
        (V201, "ClearChargingProfile") => checked::<
            v201m::clear_charging_profile::ClearChargingProfileRequest,
        >("ClearChargingProfile", payload),
        (V201, "GetCompositeSchedule") => checked::<
            v201m::get_composite_schedule::GetCompositeScheduleRequest,
        >("GetCompositeSchedule", payload),
        (V201, "GetChargingProfiles") => checked::<
            v201m::get_charging_profiles::GetChargingProfilesRequest,
        >("GetChargingProfiles", payload),
        (v, other) => Err(CommandError::Invalid(format!(
            "{other} is not a command evgate sends to an {} charger",
            v.as_str()
        ))),
    }
}

/// ClearCache, which 1.6 and 2.0.1 spell alike (an empty request; an
/// answer whose `status` is Accepted or Rejected), so it goes to every
/// charger without asking its version: built with 1.6's type.
pub fn clear_cache() -> Result<Value, RpcError> {
    crate::v16::calls::clear_cache()
}

/// Whether a ClearCache answer, in either version, says the cache is clear.
pub fn clear_cache_accepted(answer: &Value) -> bool {
    crate::v16::calls::clear_cache_accepted(answer)
        || crate::v201::calls::clear_cache_accepted(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands_are_checked_against_the_chargers_version() {
        use OcppVersion::*;
        assert!(validate(V16, "Reset", json!({"type": "Soft"})).is_ok());
        assert!(matches!(
            validate(V16, "Reset", json!({"type": "Sideways"})),
            Err(CommandError::Invalid(_))
        ));
        assert!(validate(V201, "Reset", json!({"type": "Immediate"})).is_ok());
        assert!(validate(V16, "ClearCache", json!({})).is_ok());
        // TC_E_29–E_34: with and without a transaction id.
        assert!(validate(V201, "GetTransactionStatus", json!({})).is_ok());
        assert!(
            validate(
                V201,
                "GetTransactionStatus",
                json!({"transactionId": "tx-1"})
            )
            .is_ok()
        );
        assert!(matches!(
            validate(V201, "GetTransactionStatus", json!({"transactionId": 5})),
            Err(CommandError::Invalid(_))
        ));
        assert!(matches!(
            validate(V16, "GetTransactionStatus", json!({})),
            Err(CommandError::Invalid(_))
        ));
        assert!(
            validate(
                V201,
                "GetBaseReport",
                json!({"requestId": 1, "reportBase": "FullInventory"})
            )
            .is_ok()
        );
        assert!(matches!(
            validate(
                V201,
                "GetBaseReport",
                json!({"requestId": 1, "reportBase": "Everything"})
            ),
            Err(CommandError::Invalid(_))
        ));
        assert!(validate(V201, "GetReport", json!({"requestId": 2})).is_ok());
        assert!(validate(V16, "DataTransfer", json!({"vendorId": "com.example"})).is_ok());
        assert!(
            validate(
                V201,
                "DataTransfer",
                json!({"vendorId": "com.example", "messageId": "x"})
            )
            .is_ok()
        );
        assert!(validate(V201, "ClearCache", json!({})).is_ok());
        let message = json!({"message": {"id": 1, "priority": "InFront",
            "message": {"format": "UTF8", "content": "Welcome"}}});
        assert!(validate(V201, "SetDisplayMessage", message.clone()).is_ok());
        assert!(matches!(
            validate(V16, "SetDisplayMessage", message),
            Err(CommandError::Invalid(_))
        ));
        assert!(matches!(
            validate(
                V201,
                "SetDisplayMessage",
                json!({"message": {"id": 1, "priority": "Loudest",
                "message": {"format": "UTF8", "content": "x"}}})
            ),
            Err(CommandError::Invalid(_))
        ));
        assert!(validate(V201, "GetDisplayMessages", json!({"requestId": 3})).is_ok());
        assert!(validate(V201, "ClearDisplayMessage", json!({"id": 1})).is_ok());
        let urls = crate::credentials::PublicUrls {
            plain: None,
            tls: Some("wss://gw.example/ocpp".into()),
        };
        let profile = booking::model::SecurityProfile::TLS_BASIC;
        for call in crate::credentials::profile_calls(V201, profile, &urls).unwrap() {
            assert!(
                validate(V201, call.action, call.payload).is_ok(),
                "{}",
                call.action
            );
        }
        for version in [V16, V201] {
            let call = crate::credentials::password_call(version, "0123456789abcdef").unwrap();
            assert!(validate(version, call.action, call.payload).is_ok());
        }
        assert!(matches!(
            validate(V201, "RemoteStartTransaction", json!({})),
            Err(CommandError::Invalid(_))
        ));
        assert!(matches!(
            validate(V16, "GetVariables", json!({})),
            Err(CommandError::Invalid(_))
        ));
        // Certificates (csms::certificates::commands tests the rest).
        assert!(
            validate(
                V16,
                "ExtendedTriggerMessage",
                json!({"requestedMessage": "SignChargePointCertificate"})
            )
            .is_ok()
        );
        assert!(
            validate(
                V201,
                "TriggerMessage",
                json!({"requestedMessage": "SignChargingStationCertificate"})
            )
            .is_ok()
        );
        assert!(matches!(
            validate(
                V201,
                "ExtendedTriggerMessage",
                json!({"requestedMessage": "Heartbeat"})
            ),
            Err(CommandError::Invalid(_))
        ));
        // Firmware and logs; more in `crate::maintenance`'s tests.
        let firmware = json!({"location": "https://fw.example/a.bin",
            "retrieveDate": "2030-01-01T00:00:00Z"});
        assert!(validate(V16, "UpdateFirmware", firmware.clone()).is_ok());
        assert!(matches!(
            validate(V201, "UpdateFirmware", firmware),
            Err(CommandError::Invalid(_))
        ));
        assert!(validate(V16, "GetDiagnostics", json!({"location": "ftp://x/"})).is_ok());
        assert!(matches!(
            validate(V16, "GetDiagnostics", json!({})),
            Err(CommandError::Invalid(_))
        ));
        let get_log = json!({"logType": "SecurityLog", "requestId": 1,
            "log": {"remoteLocation": "https://gw/up/"}});
        assert!(validate(V16, "GetLog", get_log.clone()).is_ok());
        assert!(validate(V201, "GetLog", get_log).is_ok());
        assert!(matches!(
            validate(
                V16,
                "SignedUpdateFirmware",
                json!({"requestId": 1,
                "firmware": {"location": "https://fw/a", "retrieveDateTime": "2030-01-01T00:00:00Z"}})
            ),
            Err(CommandError::Invalid(_))
        ));
        assert!(matches!(
            validate(
                V201,
                "GetLog",
                json!({"logType": "DiagnosticsLog", "requestId": 1,
                "log": {"remoteLocation": "x".repeat(513)}})
            ),
            Err(CommandError::Invalid(_))
        ));
        // Smart charging: each action in its version, refused in the other.
        let v16_profile = json!({"connectorId": 0, "csChargingProfiles": {"chargingProfileId": 1,
            "stackLevel": 0, "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Absolute", "chargingSchedule": {"chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 22000.0}]}}});
        assert!(validate(V16, "SetChargingProfile", v16_profile.clone()).is_ok());
        assert!(matches!(
            validate(V201, "SetChargingProfile", v16_profile),
            Err(CommandError::Invalid(_))
        ));
        assert!(matches!(
            validate(
                V16,
                "SetChargingProfile",
                json!({"connectorId": 0, "csChargingProfiles": {
                "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "Everything",
                "chargingProfileKind": "Absolute", "chargingSchedule": {"chargingRateUnit": "W",
                "chargingSchedulePeriod": []}}})
            ),
            Err(CommandError::Invalid(_))
        ));
        assert!(validate(V16, "ClearChargingProfile", json!({"id": 1})).is_ok());
        assert!(
            validate(
                V16,
                "GetCompositeSchedule",
                json!({"connectorId": 1, "duration": 3600})
            )
            .is_ok()
        );
        let v201_profile = json!({"evseId": 0, "chargingProfile": {"id": 1, "stackLevel": 0,
            "chargingProfilePurpose": "ChargingStationMaxProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": [{"id": 1, "startSchedule": "2030-01-01T00:00:00Z",
            "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 22000.0}]}]}});
        assert!(validate(V201, "SetChargingProfile", v201_profile).is_ok());
        assert!(
            validate(
                V201,
                "ClearChargingProfile",
                json!({"chargingProfileId": 1})
            )
            .is_ok()
        );
        assert!(
            validate(
                V201,
                "GetCompositeSchedule",
                json!({"evseId": 1, "duration": 3600})
            )
            .is_ok()
        );
        assert!(validate(V201, "GetChargingProfiles",
            json!({"requestId": 4, "chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"}})).is_ok());
        assert!(matches!(
            validate(
                V16,
                "GetChargingProfiles",
                json!({"requestId": 4, "chargingProfile": {}})
            ),
            Err(CommandError::Invalid(_))
        ));
        let (action, payload) =
            validate(V16, "UnlockConnector", json!({"connectorId": 1})).unwrap();
        assert_eq!(
            (action, payload),
            ("UnlockConnector", json!({"connectorId": 1}))
        );
    }
}
