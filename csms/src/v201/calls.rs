//! The calls evgate makes of a 2.0.1 station besides reservations
//! (`reservation.rs`): each request typed from rust-ocpp beside the reading
//! of its answer.

use booking::model::SecurityProfile;
use rust_ocpp::v2_0_1::datatypes::component_type::ComponentType;
use rust_ocpp::v2_0_1::datatypes::network_connection_profile_type::NetworkConnectionProfileType;
use rust_ocpp::v2_0_1::datatypes::set_variable_data_type::SetVariableDataType;
use rust_ocpp::v2_0_1::datatypes::variable_type::VariableType;
use rust_ocpp::v2_0_1::enumerations::clear_cache_status_enum_type::ClearCacheStatusEnumType;
use rust_ocpp::v2_0_1::enumerations::message_trigger_enum_type::MessageTriggerEnumType;
use rust_ocpp::v2_0_1::enumerations::ocpp_interface_enum_type::OCPPInterfaceEnumType;
use rust_ocpp::v2_0_1::enumerations::ocpp_transport_enum_type::OCPPTransportEnumType;
use rust_ocpp::v2_0_1::enumerations::ocpp_version_enum_type::OCPPVersionEnumType;
use rust_ocpp::v2_0_1::enumerations::reset_enum_type::ResetEnumType;
use rust_ocpp::v2_0_1::enumerations::reset_status_enum_type::ResetStatusEnumType;
use rust_ocpp::v2_0_1::enumerations::set_network_profile_status_enum_type::SetNetworkProfileStatusEnumType;
use rust_ocpp::v2_0_1::enumerations::set_variable_status_enum_type::SetVariableStatusEnumType;
use rust_ocpp::v2_0_1::messages::clear_cache::{ClearCacheRequest, ClearCacheResponse};
use rust_ocpp::v2_0_1::messages::reset::{ResetRequest, ResetResponse};
use rust_ocpp::v2_0_1::messages::set_network_profile::{
    SetNetworkProfileRequest, SetNetworkProfileResponse,
};
use rust_ocpp::v2_0_1::messages::set_variables::SetVariablesRequest;
use rust_ocpp::v2_0_1::messages::trigger_message::TriggerMessageRequest;
use serde::Deserialize;
use serde_json::Value;

use crate::context::{decode, encode};
use crate::rpc::RpcError;

/// The network configuration slot a profile change is written to (then made
/// the first priority).
pub const PROFILE_SLOT: i32 = 1;

/// `SetVariables` of one variable's Actual value.
pub fn set_variable(component: &str, variable: &str, value: &str) -> Result<Value, RpcError> {
    encode(&SetVariablesRequest {
        set_variable_data: vec![SetVariableDataType {
            attribute_type: None,
            attribute_value: value.to_owned(),
            component: ComponentType {
                name: component.to_owned(),
                instance: None,
                evse: None,
            },
            variable: VariableType {
                name: variable.to_owned(),
                instance: None,
            },
        }],
    })
}

/// The status of each result; the component and variable a station echoes
/// are not needed to judge a one-variable request, so an answer without
/// them is still read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetVariablesAnswer {
    set_variable_result: Vec<SetVariableStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetVariableStatus {
    attribute_status: SetVariableStatusEnumType,
}

/// Whether the station set the (first) variable, now or at its next reboot.
pub fn set_variables_accepted(answer: &Value) -> bool {
    decode::<SetVariablesAnswer>(answer.clone()).is_ok_and(|a| {
        a.set_variable_result.first().is_some_and(|r| {
            matches!(
                r.attribute_status,
                SetVariableStatusEnumType::Accepted | SetVariableStatusEnumType::RebootRequired
            )
        })
    })
}

/// `SetNetworkProfile` into [`PROFILE_SLOT`]: OCPP 2.0.1 over JSON to
/// `csms_url` with `profile`, on the wired interface, 30 s message timeout.
pub fn set_network_profile(csms_url: &str, profile: SecurityProfile) -> Result<Value, RpcError> {
    encode(&SetNetworkProfileRequest {
        configuration_slot: PROFILE_SLOT,
        connection_data: NetworkConnectionProfileType {
            ocpp_version: OCPPVersionEnumType::OCPP20,
            ocpp_transport: OCPPTransportEnumType::JSON,
            ocpp_csms_url: csms_url.to_owned(),
            message_timeout: 30,
            security_profile: i32::from(profile.get()),
            ocpp_interface: OCPPInterfaceEnumType::Wired0,
            vpn: None,
            apn: None,
        },
    })
}

/// Whether the station stored the profile.
pub fn set_network_profile_accepted(answer: &Value) -> bool {
    decode::<SetNetworkProfileResponse>(answer.clone())
        .is_ok_and(|a| matches!(a.status, SetNetworkProfileStatusEnumType::Accepted))
}

/// `Reset` OnIdle: the station restarts when no transaction runs.
pub fn reset_on_idle() -> Result<Value, RpcError> {
    encode(&ResetRequest {
        request_type: ResetEnumType::OnIdle,
        evse_id: None,
    })
}

/// Whether the station restarts now or once idle.
pub fn reset_accepted(answer: &Value) -> bool {
    decode::<ResetResponse>(answer.clone()).is_ok_and(|a| {
        matches!(
            a.status,
            ResetStatusEnumType::Accepted | ResetStatusEnumType::Scheduled
        )
    })
}

/// Asks for a StatusNotification of every connector (no `evse`).
pub fn trigger_status_notifications() -> Result<Value, RpcError> {
    encode(&TriggerMessageRequest {
        requested_message: MessageTriggerEnumType::StatusNotification,
        evse: None,
    })
}

/// ClearCache: the station forgets the id tokens it cached.
pub fn clear_cache() -> Result<Value, RpcError> {
    encode(&ClearCacheRequest {})
}

/// Whether the station cleared its cache.
pub fn clear_cache_accepted(answer: &Value) -> bool {
    decode::<ClearCacheResponse>(answer.clone())
        .is_ok_and(|a| matches!(a.status, ClearCacheStatusEnumType::Accepted))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn requests_read_as_the_schema_asks() {
        assert_eq!(
            set_variable("SecurityCtrlr", "BasicAuthPassword", "pw").unwrap(),
            json!({"setVariableData": [{
                "attributeValue": "pw",
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"},
            }]})
        );
        assert_eq!(
            set_network_profile("wss://gw/ocpp", SecurityProfile::TLS_BASIC).unwrap(),
            json!({
                "configurationSlot": 1,
                "connectionData": {
                    "ocppVersion": "OCPP20",
                    "ocppTransport": "JSON",
                    "ocppCsmsUrl": "wss://gw/ocpp",
                    "messageTimeout": 30,
                    "securityProfile": 2,
                    "ocppInterface": "Wired0",
                },
            })
        );
        assert_eq!(reset_on_idle().unwrap(), json!({"type": "OnIdle"}));
        assert_eq!(
            trigger_status_notifications().unwrap(),
            json!({"requestedMessage": "StatusNotification"})
        );
        assert_eq!(clear_cache().unwrap(), json!({}));
    }

    #[test]
    fn only_acceptance_counts() {
        assert!(set_network_profile_accepted(&json!({"status": "Accepted"})));
        assert!(!set_network_profile_accepted(&json!({"status": "Failed"})));
        assert!(reset_accepted(&json!({"status": "Scheduled"})));
        assert!(!reset_accepted(&json!({"status": "Rejected"})));
        assert!(!set_variables_accepted(&json!({"setVariableResult": []})));
        assert!(set_variables_accepted(&json!({"setVariableResult": [
            {"attributeStatus": "RebootRequired"}
        ]})));
        assert!(!clear_cache_accepted(&json!({"status": "Unknown"})));
    }
}
