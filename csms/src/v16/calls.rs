//! The calls evgate makes of a 1.6 charge point besides reservations
//! (`reservation.rs`): each request typed from rust-ocpp beside the reading
//! of its answer.

use rust_ocpp::v1_6::messages::change_configuration::{
    ChangeConfigurationRequest, ChangeConfigurationResponse,
};
use rust_ocpp::v1_6::messages::clear_cache::{ClearCacheRequest, ClearCacheResponse};
use rust_ocpp::v1_6::messages::trigger_message::TriggerMessageRequest;
use rust_ocpp::v1_6::types::{ClearCacheStatus, ConfigurationStatus, MessageTrigger};
use serde_json::Value;

use crate::context::{decode, encode};
use crate::rpc::RpcError;

/// `ChangeConfiguration` of one key (the security whitepaper's
/// `AuthorizationKey` and `SecurityProfile` among them).
pub fn change_configuration(key: &str, value: &str) -> Result<Value, RpcError> {
    encode(&ChangeConfigurationRequest {
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

/// Whether the charge point took the value, now or at its next reboot.
pub fn change_configuration_accepted(answer: &Value) -> bool {
    decode::<ChangeConfigurationResponse>(answer.clone()).is_ok_and(|a| {
        matches!(
            a.status,
            ConfigurationStatus::Accepted | ConfigurationStatus::RebootRequired
        )
    })
}

/// Asks for a StatusNotification of every connector (no `connectorId`).
pub fn trigger_status_notifications() -> Result<Value, RpcError> {
    encode(&TriggerMessageRequest {
        requested_message: MessageTrigger::StatusNotification,
        connector_id: None,
    })
}

/// ClearCache: the charge point forgets the id tags it cached.
pub fn clear_cache() -> Result<Value, RpcError> {
    encode(&ClearCacheRequest {})
}

/// Whether the charge point cleared its cache.
pub fn clear_cache_accepted(answer: &Value) -> bool {
    decode::<ClearCacheResponse>(answer.clone())
        .is_ok_and(|a| matches!(a.status, ClearCacheStatus::Accepted))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn requests_read_as_the_schema_asks() {
        assert_eq!(
            change_configuration("AuthorizationKey", "abc").unwrap(),
            json!({"key": "AuthorizationKey", "value": "abc"})
        );
        assert_eq!(
            trigger_status_notifications().unwrap(),
            json!({"requestedMessage": "StatusNotification"})
        );
        assert_eq!(clear_cache().unwrap(), json!({}));
    }

    #[test]
    fn answers_outside_the_schema_are_not_acceptance() {
        assert!(clear_cache_accepted(&json!({"status": "Accepted"})));
        assert!(!clear_cache_accepted(&json!({"status": "Rejected"})));
        assert!(!clear_cache_accepted(&json!({"status": "accepted"})));
        assert!(!change_configuration_accepted(&json!({"status": "Maybe"})));
        assert!(!change_configuration_accepted(&json!({})));
    }
}
