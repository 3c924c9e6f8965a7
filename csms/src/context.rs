//! What a handler may use: the charger it speaks for and the booking core.
//! Handlers take a `&Context` and return a payload or an `RpcError`; they
//! never see the socket.

use std::sync::Arc;
use std::time::Duration;

use booking::model::{Charger, OcppVersion};
use booking::service::BookingService;
use booking::store::PresenceUpdate;
use booking::{Clock, Store};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::rpc::RpcError;

/// Settings of the OCPP side.
#[derive(Debug, Clone)]
pub struct CsmsConfig {
    /// Sent in BootNotification answers that accept the charger.
    pub heartbeat_interval: Duration,
    /// Sent in Pending and Rejected BootNotification answers: when the
    /// charger should boot again (B02/B03), not the heartbeat interval.
    pub boot_retry_interval: Duration,
    /// How long a CSMS-initiated call waits for its answer.
    pub call_timeout: Duration,
    /// WebSocket ping period; a connection silent for three periods is dropped.
    pub ping_interval: Duration,
    /// Largest frame accepted, in bytes.
    pub max_message_bytes: usize,
    /// How long a charger may be away before its connectors turn OFFLINE.
    pub offline_grace: Duration,
    /// How BootNotifications are answered (per-charger policy is the
    /// operator-controls work).
    pub admission: crate::admission::RegistrationStatus,
    /// Unknown identities are let in, recorded as unassigned and held
    /// Pending (`OCPP_AUTO_REGISTER`), instead of refused with 404.
    pub auto_register: bool,
    /// How long a heartbeat's last-seen time may wait in memory before it
    /// is written (with every other charger's, in one transaction).
    pub presence_flush: Duration,
    /// Charger connections open at once; beyond it a handshake is
    /// answered 503 with Retry-After (`OCPP_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Connection attempts per source address, refused with 429 before
    /// the handshake is read (`RATE_LIMIT_OCPP_HANDSHAKES_PER_SOURCE`).
    pub handshakes_per_source: booking::rate::Rate,
    /// Messages one charger may send (`RATE_LIMIT_OCPP_MESSAGES_PER_CHARGER`):
    /// beyond it CALLs get a CALLERROR, and a charger that keeps going
    /// without waiting is closed.
    pub messages_per_charger: booking::rate::Rate,
    /// Proxies whose `X-Forwarded-For` names the charger's address
    /// (`TRUSTED_PROXIES`): the handshake rate and the password backoff
    /// then count the charger's address, not the proxy's.
    pub trusted_proxies: booking::rate::TrustedProxies,
}

impl Default for CsmsConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(300),
            boot_retry_interval: Duration::from_secs(30),
            call_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(60),
            max_message_bytes: 64 * 1024,
            offline_grace: Duration::from_secs(60),
            admission: crate::admission::RegistrationStatus::Accepted,
            auto_register: false,
            presence_flush: Duration::from_secs(1),
            max_connections: 60_000,
            handshakes_per_source: booking::rate::Rate::off(),
            messages_per_charger: booking::rate::Rate::off(),
            trusted_proxies: booking::rate::TrustedProxies::default(),
        }
    }
}

/// Shared by every connection.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The booking core's storage: chargers, connectors, sessions, id tags.
    pub store: Arc<dyn Store>,
    /// The booking core's one update path for connector statuses, transactions
    /// and meter readings.
    pub bookings: BookingService,
    /// Where every timestamp the CSMS writes or answers with comes from (UTC).
    pub clock: Arc<dyn Clock>,
    /// The OCPP side's settings.
    pub config: CsmsConfig,
    /// Whether another instance holds a charger (cluster mode).
    pub elsewhere: Arc<dyn HeldElsewhere>,
    /// Connect, boot, heartbeat and disconnect facts, written in groups.
    pub presence: crate::PresenceWriter,
    /// 2.0.1 transactions started before their EVSE was known.
    pub pending_starts: crate::PendingStarts,
    /// Minutes charging and idle per transaction, for its cost.
    pub charging_clocks: crate::costs::ChargingClocks,
    /// 2.0.1 device models: NotifyReport parts on their way to the store.
    pub device_model: crate::DeviceModel,
    /// Vendor handlers for DataTransfer, by vendorId.
    pub vendor_extensions: crate::data_transfer::VendorExtensions,
    /// Chargers' local authorization lists, checked after each boot.
    pub local_lists: crate::local_list::LocalLists,
    /// The certificate authority for charger certificates, if configured.
    pub certificates: crate::certificates::Certificates,
    /// Charging profiles evgate set, re-sent after a charger boots.
    pub smart_charging: crate::smart_charging::SmartCharging,
    /// Who else decides on an id tag while a charger waits (roaming
    /// partners' real-time authorization); `NoRemote` without OCPI.
    pub remote_authorizer: Arc<dyn booking::authorization::RemoteAuthorizer>,
}

/// Presence across instances: a charger that left this instance may be
/// connected to another, and then it is not offline.
#[async_trait::async_trait]
pub trait HeldElsewhere: Send + Sync + std::fmt::Debug + 'static {
    /// Whether `charge_point_id` is connected to another instance right now.
    async fn held_elsewhere(&self, charge_point_id: &str) -> bool;
}

/// One instance: a charger is held here or nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct OnlyHere;

#[async_trait::async_trait]
impl HeldElsewhere for OnlyHere {
    async fn held_elsewhere(&self, _: &str) -> bool {
        false
    }
}

/// One connection's view.
#[derive(Debug, Clone)]
pub struct Context {
    /// The charger's row as the handshake read it (not refreshed during the
    /// connection).
    pub charger: Charger,
    /// The OCPP version negotiated through the WebSocket subprotocol.
    pub version: OcppVersion,
    /// The charger's connectors by OCPP address, read once per connection.
    pub connectors: crate::connectors::ChargerConnectors,
    /// What every connection shares.
    pub deps: Deps,
}

impl Context {
    /// Now, in UTC, from the shared clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.deps.clock.now()
    }

    /// The id of the charger's connector at an OCPP address (see
    /// [`crate::connectors`]).
    pub async fn connector_at(
        &self,
        evse_id: i32,
        connector_id: i32,
    ) -> booking::Result<Option<uuid::Uuid>> {
        self.connectors
            .at(&*self.deps.store, self.charger.id, evse_id, connector_id)
            .await
    }

    /// This connection's charger, online and heard from now.
    pub fn presence(&self, boot: Option<booking::store::BootInfo>) -> PresenceUpdate {
        PresenceUpdate {
            charger_id: self.charger.id,
            online: true,
            version: Some(self.version),
            seen_at: self.now(),
            boot,
        }
    }
}

/// Decodes a request payload into its typed form. Timestamps some chargers
/// send without an offset (or with a short one) are read as UTC first.
pub fn decode<T: DeserializeOwned>(mut payload: Value) -> Result<T, RpcError> {
    normalise_timestamps(&mut payload);
    serde_json::from_value(payload).map_err(|e| {
        let text = e.to_string();
        if text.starts_with("missing field") {
            RpcError::OccurrenceConstraint(text)
        } else if text.starts_with("invalid type") {
            RpcError::TypeConstraint(text)
        } else if text.starts_with("unknown variant") || text.starts_with("invalid value") {
            RpcError::PropertyConstraint(text)
        } else {
            RpcError::Format(text)
        }
    })
}

/// Encodes a response payload.
pub fn encode<T: serde::Serialize>(response: &T) -> Result<Value, RpcError> {
    serde_json::to_value(response).map_err(|e| {
        tracing::error!(error = %e, "encoding an OCPP payload failed");
        RpcError::Internal(e.to_string())
    })
}

/// `2024-05-01T12:00:00` → `…Z`; `…+02` → `…+02:00`. Anything else is left
/// for the decoder to judge.
pub fn normalise_timestamps(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Some(fixed) = fix_timestamp(s) {
                *s = fixed;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise_timestamps),
        Value::Object(map) => map.values_mut().for_each(normalise_timestamps),
        _ => {}
    }
}

fn fix_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let looks_like_datetime = b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[..4].iter().all(u8::is_ascii_digit);
    if !looks_like_datetime {
        return None;
    }
    // Byte 18 may begin a multi-byte character: then it is no timestamp.
    let tail = s.get(19..)?;
    let frac_len = match tail.strip_prefix('.') {
        Some(frac) => 1 + frac.bytes().take_while(u8::is_ascii_digit).count(),
        None => 0,
    };
    let zone = &tail[frac_len..];
    match zone.len() {
        0 => Some(format!("{s}Z")),
        3 if zone.starts_with('+') || zone.starts_with('-') => Some(format!("{s}:00")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_without_offsets_are_read_as_utc() {
        let mut v = serde_json::json!({"a": "2024-05-01T12:00:00", "b": ["2024-05-01T12:00:00.5+02"],
            "c": "2024-05-01T12:00:00Z", "d": "hello"});
        normalise_timestamps(&mut v);
        assert_eq!(v["a"], "2024-05-01T12:00:00Z");
        assert_eq!(v["b"][0], "2024-05-01T12:00:00.5+02:00");
        assert_eq!(v["c"], "2024-05-01T12:00:00Z");
        assert_eq!(v["d"], "hello");
    }

    #[test]
    fn a_multibyte_character_at_the_seconds_is_no_timestamp_and_no_panic() {
        // Found by fuzzing: slicing at byte 19 inside 'é' panicked the
        // connection task on any payload carrying such a string.
        for odd in [
            "2024-05-01T12:00:0\u{e9}",
            "2024-05-01T12:00:0\u{e9}Z",
            "2024-05-01T12:00:\u{1F600}",
        ] {
            let mut v = serde_json::json!({"timestamp": odd});
            normalise_timestamps(&mut v);
            assert_eq!(v["timestamp"], odd);
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            timestamp: chrono::DateTime<chrono::Utc>,
        }
        assert!(decode::<T>(serde_json::json!({"timestamp": "2024-05-01T12:00:0\u{e9}"})).is_err());
    }

    #[test]
    fn decode_errors_map_to_constraint_codes() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            n: i32,
        }
        assert!(matches!(
            decode::<T>(serde_json::json!({})),
            Err(RpcError::OccurrenceConstraint(_))
        ));
        assert!(matches!(
            decode::<T>(serde_json::json!({"n": "x"})),
            Err(RpcError::TypeConstraint(_))
        ));
    }
}
