//! The certificate commands an operator sends (`validate` hands these
//! actions here), and the calls the admin endpoints build: 1.6 with the
//! whitepaper's types ([`super::v16_types`]), 2.0.1 with rust-ocpp's.

use booking::model::OcppVersion;
use rust_ocpp::v2_0_1::messages as v201m;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::v16_types::{self as t16, Bounded};
use crate::commands::CommandError;
use crate::context::{decode, encode};

/// The certificate actions, in both versions (ExtendedTriggerMessage in
/// 1.6 only; 2.0.1's is TriggerMessage).
pub const ACTIONS: [&str; 5] = [
    "InstallCertificate",
    "DeleteCertificate",
    "GetInstalledCertificateIds",
    "CertificateSigned",
    "ExtendedTriggerMessage",
];

fn checked16<T: DeserializeOwned + Serialize + Bounded>(
    action: &'static str,
    payload: Value,
) -> Result<(&'static str, Value), CommandError> {
    let typed: T = decode(payload)
        .map_err(|e| CommandError::Invalid(format!("{action} payload: {}", e.description())))?;
    if let Some(field) = typed.over_limit() {
        return Err(CommandError::Invalid(format!(
            "{action} payload: {field} is longer than the schema allows"
        )));
    }
    let value = encode(&typed).map_err(|e| CommandError::Invalid(e.to_string()))?;
    Ok((action, value))
}

fn checked201<T: DeserializeOwned + Serialize>(
    action: &'static str,
    payload: Value,
) -> Result<(&'static str, Value), CommandError> {
    let typed: T = decode(payload)
        .map_err(|e| CommandError::Invalid(format!("{action} payload: {}", e.description())))?;
    let value = encode(&typed).map_err(|e| CommandError::Invalid(e.to_string()))?;
    Ok((action, value))
}

/// `Some` for a certificate action: the checked call, or why it cannot go
/// to a charger of `version`; `None` for any other action.
pub fn validate(
    version: OcppVersion,
    action: &str,
    payload: Value,
) -> Option<Result<(&'static str, Value), CommandError>> {
    use OcppVersion::*;
    Some(match (version, action) {
        (V16, "InstallCertificate") => {
            checked16::<t16::InstallCertificate>("InstallCertificate", payload)
        }
        (V16, "DeleteCertificate") => {
            checked16::<t16::DeleteCertificate>("DeleteCertificate", payload)
        }
        (V16, "GetInstalledCertificateIds") => {
            checked16::<t16::GetInstalledCertificateIds>("GetInstalledCertificateIds", payload)
        }
        (V16, "CertificateSigned") => {
            checked16::<t16::CertificateSigned>("CertificateSigned", payload)
        }
        (V16, "ExtendedTriggerMessage") => {
            checked16::<t16::ExtendedTriggerMessage>("ExtendedTriggerMessage", payload)
        }
        (V201, "InstallCertificate") => checked201::<
            v201m::install_certificate::InstallCertificateRequest,
        >("InstallCertificate", payload),
        (V201, "DeleteCertificate") => checked201::<
            v201m::delete_certificate::DeleteCertificateRequest,
        >("DeleteCertificate", payload),
        (V201, "GetInstalledCertificateIds") => checked201::<
            v201m::get_installed_certificate_ids::GetInstalledCertificateIdsRequest,
        >("GetInstalledCertificateIds", payload),
        (V201, "CertificateSigned") => checked201::<
            v201m::certificate_signed::CertificateSignedRequest,
        >("CertificateSigned", payload),
        _ => return None,
    })
}

/// The call that asks the charger for a CSR (its certificate's renewal):
/// 1.6 ExtendedTriggerMessage SignChargePointCertificate, 2.0.1
/// TriggerMessage SignChargingStationCertificate (A02/A03 via F06).
pub fn renew(version: OcppVersion) -> (&'static str, Value) {
    match version {
        OcppVersion::V16 => (
            "ExtendedTriggerMessage",
            json!({"requestedMessage": "SignChargePointCertificate"}),
        ),
        OcppVersion::V201 => (
            "TriggerMessage",
            json!({"requestedMessage": "SignChargingStationCertificate"}),
        ),
    }
}

/// GetInstalledCertificateIds for one root store (1.6: required, default
/// CentralSystemRootCertificate) or all (2.0.1 without a type).
pub fn installed_ids(
    version: OcppVersion,
    certificate_type: Option<&str>,
) -> (&'static str, Value) {
    let payload = match (version, certificate_type) {
        (OcppVersion::V16, t) => {
            json!({"certificateType": t.unwrap_or("CentralSystemRootCertificate")})
        }
        (OcppVersion::V201, Some(t)) => json!({"certificateType": [t]}),
        (OcppVersion::V201, None) => json!({}),
    };
    ("GetInstalledCertificateIds", payload)
}

/// InstallCertificate of `pem` into a root store (default: the CSMS root,
/// whose 1.6 name is CentralSystemRootCertificate).
pub fn install(
    version: OcppVersion,
    certificate_type: Option<&str>,
    pem: &str,
) -> (&'static str, Value) {
    let default = match version {
        OcppVersion::V16 => "CentralSystemRootCertificate",
        OcppVersion::V201 => "CSMSRootCertificate",
    };
    (
        "InstallCertificate",
        json!({"certificateType": certificate_type.unwrap_or(default), "certificate": pem}),
    )
}

/// DeleteCertificate by its hash data (the same shape in both versions).
pub fn delete(hash_data: Value) -> (&'static str, Value) {
    (
        "DeleteCertificate",
        json!({ "certificateHashData": hash_data }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use OcppVersion::*;

    fn ok(version: OcppVersion, action: &str, payload: Value) -> bool {
        matches!(validate(version, action, payload), Some(Ok(_)))
    }

    fn invalid(version: OcppVersion, action: &str, payload: Value) -> bool {
        matches!(
            validate(version, action, payload),
            Some(Err(CommandError::Invalid(_)))
        )
    }

    #[test]
    fn certificate_commands_follow_each_versions_schema() {
        let hash = json!({"hashAlgorithm": "SHA256", "issuerNameHash": "ab",
            "issuerKeyHash": "cd", "serialNumber": "01"});
        for version in [V16, V201] {
            assert!(ok(
                version,
                "DeleteCertificate",
                json!({"certificateHashData": hash})
            ));
            assert!(invalid(
                version,
                "DeleteCertificate",
                json!({"certificateHashData":
                {"hashAlgorithm": "MD5", "issuerNameHash": "ab", "issuerKeyHash": "cd", "serialNumber": "01"}})
            ));
            assert!(invalid(version, "DeleteCertificate", json!({})));
            assert!(ok(
                version,
                "CertificateSigned",
                json!({"certificateChain": "-----BEGIN"})
            ));
            assert!(invalid(version, "CertificateSigned", json!({})));
            let (action, payload) = renew(version);
            let checked = crate::commands::validate(version, action, payload);
            assert!(checked.is_ok(), "{version:?}: {checked:?}");
            let (action, payload) = install(version, None, "-----BEGIN CERTIFICATE-----");
            assert!(ok(version, action, payload));
            let (action, payload) = installed_ids(version, None);
            assert!(ok(version, action, payload), "{version:?}");
            let (action, payload) = delete(hash.clone());
            assert!(ok(version, action, payload));
        }
        // 1.6 whitepaper: closed enumerations, required type, limits.
        assert!(invalid(
            V16,
            "InstallCertificate",
            json!({"certificateType": "CSMSRootCertificate", "certificate": "x"})
        ));
        assert!(invalid(
            V16,
            "InstallCertificate",
            json!({"certificateType": "CentralSystemRootCertificate", "certificate": "x".repeat(5501)})
        ));
        assert!(invalid(V16, "GetInstalledCertificateIds", json!({})));
        assert!(ok(
            V16,
            "GetInstalledCertificateIds",
            json!({"certificateType": "ManufacturerRootCertificate"})
        ));
        assert!(invalid(
            V16,
            "DeleteCertificate",
            json!({"certificateHashData":
            {"hashAlgorithm": "SHA256", "issuerNameHash": "ab", "issuerKeyHash": "cd", "serialNumber": "0".repeat(41)}})
        ));
        assert!(ok(
            V16,
            "ExtendedTriggerMessage",
            json!({"requestedMessage": "StatusNotification", "connectorId": 1})
        ));
        assert!(invalid(
            V16,
            "ExtendedTriggerMessage",
            json!({"requestedMessage": "SignChargingStationCertificate"})
        ));
        assert!(invalid(
            V16,
            "CertificateSigned",
            json!({"certificateChain": "x".repeat(10_001)})
        ));
        // 2.0.1: its own names.
        assert!(ok(
            V201,
            "InstallCertificate",
            json!({"certificateType": "MORootCertificate", "certificate": "x"})
        ));
        assert!(invalid(
            V201,
            "InstallCertificate",
            json!({"certificateType": "CentralSystemRootCertificate", "certificate": "x"})
        ));
        assert!(ok(
            V201,
            "GetInstalledCertificateIds",
            json!({"certificateType": ["V2GRootCertificate", "CSMSRootCertificate"]})
        ));
        assert!(ok(
            V201,
            "CertificateSigned",
            json!({"certificateChain": "x", "certificateType": "V2GCertificate"})
        ));
        assert!(
            validate(V201, "ExtendedTriggerMessage", json!({})).is_none(),
            "2.0.1 has TriggerMessage instead"
        );
        assert!(
            crate::commands::validate(
                V201,
                "TriggerMessage",
                json!({"requestedMessage": "SignChargingStationCertificate"})
            )
            .is_ok()
        );
        assert!(validate(V16, "Reset", json!({})).is_none());
    }
}
