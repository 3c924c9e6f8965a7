//! What a charger is told when the operator rotates its credentials, per
//! OCPP version, and how its answers are read.
//!
//! 1.6 (security whitepaper): `ChangeConfiguration` of `AuthorizationKey`,
//! then of `SecurityProfile` (the charger reconnects with the new profile).
//! 2.0.1: `SetVariables` of `SecurityCtrlr.BasicAuthPassword`; a profile
//! change is `SetNetworkProfile` into slot 1, `SetVariables`
//! `OCPPCommCtrlr.NetworkConfigurationPriority` = 1, then `Reset` OnIdle.

use booking::model::{OcppVersion, SecurityProfile};
use serde_json::Value;

use crate::v16::calls as v16;
use crate::v201::calls as v201;

/// One CSMS call of a rotation.
#[derive(Debug, Clone, PartialEq)]
pub struct RotationCall {
    /// The OCPP action, e.g. `ChangeConfiguration` or `SetVariables`.
    pub action: &'static str,
    /// The request payload, in the charger's version's shape.
    pub payload: Value,
}

/// Where a 2.0.1 charger is sent by a profile change: the CSMS URL it
/// connects to for that profile.
#[derive(Debug, Clone, Default)]
pub struct PublicUrls {
    /// `ws://…/ocpp` for profiles 0 and 1.
    pub plain: Option<String>,
    /// `wss://…/ocpp` for profiles 2 and 3.
    pub tls: Option<String>,
}

impl PublicUrls {
    fn for_profile(&self, profile: SecurityProfile) -> Result<&str, String> {
        let (url, setting) = if profile.get() >= 2 {
            (&self.tls, "OCPP_PUBLIC_TLS_URL")
        } else {
            (&self.plain, "OCPP_PUBLIC_URL")
        };
        url.as_deref().ok_or_else(|| {
            format!(
                "moving an OCPP 2.0.1 charger to security profile {profile} needs {setting} \
                 (the address it should connect to)"
            )
        })
    }
}

/// Whether an operator command would change the credentials the charger
/// connects with (1.6 `ChangeConfiguration` of `AuthorizationKey` or
/// `SecurityProfile`; 2.0.1 `SetVariables` of `SecurityCtrlr`'s
/// `BasicAuthPassword` or `SecurityProfile`, `SetNetworkProfile`). Sent as
/// a plain command the charger would change and evgate's stored
/// credentials would not: locked out at its next connection. Such changes
/// go through the rotation instead.
pub fn changes_credentials(action: &str, payload: &Value) -> bool {
    let named = |v: &Value, names: &[&str]| {
        v.as_str()
            .is_some_and(|s| names.iter().any(|n| s.eq_ignore_ascii_case(n)))
    };
    match action {
        "ChangeConfiguration" => named(&payload["key"], &["AuthorizationKey", "SecurityProfile"]),
        "SetVariables" => payload["setVariableData"].as_array().is_some_and(|items| {
            items.iter().any(|item| {
                named(&item["component"]["name"], &["SecurityCtrlr"])
                    && named(
                        &item["variable"]["name"],
                        &["BasicAuthPassword", "SecurityProfile"],
                    )
            })
        }),
        "SetNetworkProfile" => true,
        _ => false,
    }
}

/// The call that gives the charger its new Basic-auth password.
pub fn password_call(version: OcppVersion, password: &str) -> Result<RotationCall, String> {
    let (action, payload) = match version {
        OcppVersion::V16 => (
            "ChangeConfiguration",
            v16::change_configuration("AuthorizationKey", password),
        ),
        OcppVersion::V201 => (
            "SetVariables",
            v201::set_variable("SecurityCtrlr", "BasicAuthPassword", password),
        ),
    };
    Ok(RotationCall {
        action,
        payload: payload.map_err(|e| e.to_string())?,
    })
}

/// The calls that move the charger to `profile`, in order.
pub fn profile_calls(
    version: OcppVersion,
    profile: SecurityProfile,
    urls: &PublicUrls,
) -> Result<Vec<RotationCall>, String> {
    let calls = match version {
        OcppVersion::V16 => vec![(
            "ChangeConfiguration",
            v16::change_configuration("SecurityProfile", &profile.to_string()),
        )],
        OcppVersion::V201 => vec![
            (
                "SetNetworkProfile",
                v201::set_network_profile(urls.for_profile(profile)?, profile),
            ),
            (
                "SetVariables",
                v201::set_variable(
                    "OCPPCommCtrlr",
                    "NetworkConfigurationPriority",
                    &v201::PROFILE_SLOT.to_string(),
                ),
            ),
            ("Reset", v201::reset_on_idle()),
        ],
    };
    calls
        .into_iter()
        .map(|(action, payload)| {
            Ok(RotationCall {
                action,
                payload: payload.map_err(|e| e.to_string())?,
            })
        })
        .collect()
}

/// Whether the charger's answer to a rotation call means it took the change
/// (now or at its next reboot). Each action is read with its version's
/// types: `ChangeConfiguration` is 1.6, the others 2.0.1.
pub fn accepted(action: &str, answer: &Value) -> bool {
    match action {
        "ChangeConfiguration" => v16::change_configuration_accepted(answer),
        "SetVariables" => v201::set_variables_accepted(answer),
        "SetNetworkProfile" => v201::set_network_profile_accepted(answer),
        "Reset" => v201::reset_accepted(answer),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn commands_that_change_credentials_are_recognised() {
        let v16 = |key: &str| json!({"key": key, "value": "x"});
        assert!(changes_credentials(
            "ChangeConfiguration",
            &v16("AuthorizationKey")
        ));
        assert!(changes_credentials(
            "ChangeConfiguration",
            &v16("securityprofile")
        ));
        assert!(!changes_credentials(
            "ChangeConfiguration",
            &v16("HeartbeatInterval")
        ));
        let v201 = |component: &str, variable: &str| {
            json!({"setVariableData": [
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}, "attributeValue": "60"},
                {"component": {"name": component}, "variable": {"name": variable}, "attributeValue": "x"},
            ]})
        };
        assert!(changes_credentials(
            "SetVariables",
            &v201("SecurityCtrlr", "BasicAuthPassword")
        ));
        assert!(!changes_credentials(
            "SetVariables",
            &v201("SecurityCtrlr", "OrganizationName")
        ));
        assert!(changes_credentials("SetNetworkProfile", &json!({})));
        assert!(!changes_credentials("Reset", &json!({"type": "Soft"})));
    }

    #[test]
    fn a_password_is_a_configuration_key_in_16_and_a_variable_in_201() {
        let call = password_call(OcppVersion::V16, "0123456789abcdef").unwrap();
        assert_eq!(call.action, "ChangeConfiguration");
        assert_eq!(
            call.payload,
            json!({"key": "AuthorizationKey", "value": "0123456789abcdef"})
        );
        let call = password_call(OcppVersion::V201, "0123456789abcdef").unwrap();
        assert_eq!(call.action, "SetVariables");
        assert_eq!(
            call.payload["setVariableData"][0]["component"]["name"],
            "SecurityCtrlr"
        );
        assert_eq!(
            call.payload["setVariableData"][0]["variable"]["name"],
            "BasicAuthPassword"
        );
    }

    #[test]
    fn a_201_profile_change_needs_the_address_for_that_profile() {
        let urls = PublicUrls {
            plain: Some("ws://gw/ocpp".into()),
            tls: None,
        };
        let err = profile_calls(OcppVersion::V201, SecurityProfile::TLS_BASIC, &urls).unwrap_err();
        assert!(err.contains("OCPP_PUBLIC_TLS_URL"), "{err}");
        let calls = profile_calls(OcppVersion::V201, SecurityProfile::BASIC, &urls).unwrap();
        let actions: Vec<_> = calls.iter().map(|c| c.action).collect();
        assert_eq!(actions, ["SetNetworkProfile", "SetVariables", "Reset"]);
        assert_eq!(
            calls[0].payload["connectionData"]["ocppCsmsUrl"],
            "ws://gw/ocpp"
        );
        assert_eq!(calls[0].payload["connectionData"]["securityProfile"], 1);
        let calls = profile_calls(OcppVersion::V16, SecurityProfile::TLS_BASIC, &urls).unwrap();
        assert_eq!(
            calls[0].payload,
            json!({"key": "SecurityProfile", "value": "2"})
        );
    }

    #[test]
    fn only_acceptance_counts() {
        assert!(accepted(
            "ChangeConfiguration",
            &json!({"status": "Accepted"})
        ));
        assert!(accepted(
            "ChangeConfiguration",
            &json!({"status": "RebootRequired"})
        ));
        assert!(!accepted(
            "ChangeConfiguration",
            &json!({"status": "Rejected"})
        ));
        assert!(!accepted(
            "ChangeConfiguration",
            &json!({"status": "NotSupported"})
        ));
        assert!(accepted(
            "SetVariables",
            &json!({"setVariableResult": [{"attributeStatus": "Accepted"}]})
        ));
        assert!(!accepted(
            "SetVariables",
            &json!({"setVariableResult": [{"attributeStatus": "Rejected"}]})
        ));
        assert!(!accepted("SetVariables", &json!({"status": "Accepted"})));
        assert!(accepted("Reset", &json!({"status": "Scheduled"})));
    }
}
