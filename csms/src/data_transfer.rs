//! DataTransfer from chargers (block P, both versions): vendor extensions
//! registered in code, by vendorId. A vendor nobody registered is answered
//! `UnknownVendorId`; a registered vendor's handler answers its own
//! messages and `UnknownMessageId` for the rest (TC_P_02). `customData`
//! (2.0.1) is accepted and ignored, as in every other message (TC_P_03).
//!
//! The binary registers its handlers at start (`src/app.rs`,
//! `vendor_extensions`); evgate ships one harmless example,
//! [`EVGATE_VENDOR_ID`] `Ping`, which echoes its data.

use std::collections::HashMap;
use std::sync::Arc;

use booking::model::OcppVersion;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::context::{Context, decode};
use crate::rpc::RpcError;

/// The vendorId of evgate's own extensions.
pub const EVGATE_VENDOR_ID: &str = "org.evgate";

/// How a vendor handler answered; `UnknownVendorId` is the registry's
/// own answer, never a handler's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferStatus {
    /// Understood and done.
    Accepted,
    /// Understood and refused.
    Rejected,
    /// The vendor is known, this messageId is not.
    UnknownMessageId,
}

impl TransferStatus {
    /// The word on the wire (the same in 1.6 and 2.0.1).
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Accepted => "Accepted",
            TransferStatus::Rejected => "Rejected",
            TransferStatus::UnknownMessageId => "UnknownMessageId",
        }
    }
}

/// A vendor handler's answer: a status and, optionally, data for the
/// charger (1.6 carries data as text: anything else is sent as its JSON
/// text).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The answer's `status`.
    pub status: TransferStatus,
    /// The answer's `data`, if any.
    pub data: Option<Value>,
}

impl Reply {
    /// `Accepted`, with data or without.
    pub fn accepted(data: Option<Value>) -> Self {
        Self {
            status: TransferStatus::Accepted,
            data,
        }
    }

    /// `Rejected`, without data.
    pub fn rejected() -> Self {
        Self {
            status: TransferStatus::Rejected,
            data: None,
        }
    }

    /// `UnknownMessageId`: the handler does not know this message.
    pub fn unknown_message_id() -> Self {
        Self {
            status: TransferStatus::UnknownMessageId,
            data: None,
        }
    }
}

/// One DataTransfer as a handler sees it.
#[derive(Debug, Clone, Copy)]
pub struct Transfer<'a> {
    /// The connection it came on: the charger, its OCPP version, the
    /// booking core. The handler runs inside the connection's message
    /// loop: it must answer promptly, and must never await a call to this
    /// same charger (that call waits for the loop it blocks).
    pub ctx: &'a Context,
    /// The `messageId`, if the charger sent one.
    pub message_id: Option<&'a str>,
    /// The `data`, if the charger sent any: a string in 1.6, any JSON in 2.0.1.
    pub data: Option<&'a Value>,
}

/// A vendor's extension: answers that vendor's DataTransfer messages.
#[async_trait::async_trait]
pub trait VendorHandler: Send + Sync + 'static {
    /// Answers one message; [`Reply::unknown_message_id`] for a messageId
    /// (or none) the handler does not know.
    async fn transfer(&self, transfer: Transfer<'_>) -> Reply;
}

/// The vendor handlers, by vendorId (compared without regard to ASCII
/// case: 1.6's `CiString255Type`). Cheap to clone; built once at start.
#[derive(Clone, Default)]
pub struct VendorExtensions {
    handlers: Arc<HashMap<String, Arc<dyn VendorHandler>>>,
}

impl std::fmt::Debug for VendorExtensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut vendors: Vec<_> = self.handlers.keys().collect();
        vendors.sort();
        f.debug_struct("VendorExtensions")
            .field("vendors", &vendors)
            .finish()
    }
}

impl VendorExtensions {
    /// No vendor: every DataTransfer is answered `UnknownVendorId`.
    pub fn none() -> Self {
        Self::default()
    }

    /// What the binary ships: [`EVGATE_VENDOR_ID`] with its `Ping` echo.
    pub fn builtin() -> Self {
        Self::none().with(EVGATE_VENDOR_ID, Ping)
    }

    /// These extensions and `handler` for `vendor_id` (replacing one
    /// registered before for it).
    #[must_use]
    pub fn with(mut self, vendor_id: &str, handler: impl VendorHandler) -> Self {
        Arc::make_mut(&mut self.handlers).insert(vendor_id.to_ascii_lowercase(), Arc::new(handler));
        self
    }

    /// The vendorIds registered, sorted (lowercase).
    pub fn vendors(&self) -> Vec<String> {
        let mut vendors: Vec<_> = self.handlers.keys().cloned().collect();
        vendors.sort();
        vendors
    }

    /// Answers a charger's DataTransfer: checks the request against its
    /// version's schema, then asks the vendor's handler, if there is one.
    pub async fn answer(&self, ctx: &Context, payload: Value) -> Result<Value, RpcError> {
        let request = read(ctx.version, payload)?;
        let Some(handler) = self.handlers.get(&request.vendor_id.to_ascii_lowercase()) else {
            tracing::info!(vendor.id = %request.vendor_id, message.id = request.message_id.as_deref(),
                "DataTransfer for a vendor evgate has no handler for: UnknownVendorId");
            return Ok(json!({ "status": "UnknownVendorId" }));
        };
        let reply = handler
            .transfer(Transfer {
                ctx,
                message_id: request.message_id.as_deref(),
                data: request.data.as_ref(),
            })
            .await;
        tracing::info!(vendor.id = %request.vendor_id, message.id = request.message_id.as_deref(),
            status = reply.status.as_str(), "DataTransfer answered by its vendor's handler");
        Ok(encode_reply(ctx.version, reply))
    }
}

/// A DataTransfer request, either version (`customData` is ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    vendor_id: String,
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

/// The request, within its schema: vendorId up to 255 characters,
/// messageId up to 50, 1.6 data a string.
fn read(version: OcppVersion, payload: Value) -> Result<Request, RpcError> {
    let request: Request = decode(payload)?;
    if request.vendor_id.chars().count() > 255 {
        return Err(RpcError::PropertyConstraint(
            "vendorId is longer than 255 characters".into(),
        ));
    }
    if request
        .message_id
        .as_ref()
        .is_some_and(|m| m.chars().count() > 50)
    {
        return Err(RpcError::PropertyConstraint(
            "messageId is longer than 50 characters".into(),
        ));
    }
    if version == OcppVersion::V16 && request.data.as_ref().is_some_and(|d| !d.is_string()) {
        return Err(RpcError::TypeConstraint("data must be a string".into()));
    }
    Ok(request)
}

/// The answer's payload: `data` only when there is some, as text for 1.6.
fn encode_reply(version: OcppVersion, reply: Reply) -> Value {
    let mut answer = json!({ "status": reply.status.as_str() });
    let data = match (version, reply.data) {
        (_, None | Some(Value::Null)) => None,
        (OcppVersion::V16, Some(Value::String(s))) => Some(Value::String(s)),
        (OcppVersion::V16, Some(other)) => Some(Value::String(other.to_string())),
        (OcppVersion::V201, Some(data)) => Some(data),
    };
    if let Some(data) = data {
        answer["data"] = data;
    }
    answer
}

/// `org.evgate` `Ping`: answers Accepted with the data it was sent (a
/// charger, or a technician, can check that DataTransfer reaches evgate
/// and comes back). Any other messageId is unknown.
#[derive(Debug, Clone, Copy)]
pub struct Ping;

#[async_trait::async_trait]
impl VendorHandler for Ping {
    async fn transfer(&self, transfer: Transfer<'_>) -> Reply {
        match transfer.message_id {
            Some(m) if m.eq_ignore_ascii_case("Ping") => Reply::accepted(transfer.data.cloned()),
            _ => Reply::unknown_message_id(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_against_their_version() {
        use OcppVersion::{V16, V201};
        assert!(matches!(
            read(V16, json!({"messageId": "Ping"})),
            Err(RpcError::OccurrenceConstraint(_))
        ));
        assert!(matches!(
            read(V201, json!({"vendorId": 7})),
            Err(RpcError::TypeConstraint(_))
        ));
        assert!(matches!(
            read(V201, json!({"vendorId": "v".repeat(256)})),
            Err(RpcError::PropertyConstraint(_))
        ));
        assert!(matches!(
            read(V16, json!({"vendorId": "v", "messageId": "m".repeat(51)})),
            Err(RpcError::PropertyConstraint(_))
        ));
        assert!(matches!(
            read(V16, json!({"vendorId": "v", "data": {"a": 1}})),
            Err(RpcError::TypeConstraint(_))
        ));
        let r = read(
            V201,
            json!({"vendorId": "v", "data": {"a": 1}, "customData": {"vendorId": "x", "k": 2}}),
        )
        .unwrap();
        assert_eq!(r.data, Some(json!({"a": 1})));
        assert_eq!(r.message_id, None);
    }

    #[test]
    fn answers_carry_data_only_when_there_is_some_and_as_text_in_16() {
        use OcppVersion::{V16, V201};
        assert_eq!(
            encode_reply(V16, Reply::accepted(Some(json!({"a": 1})))),
            json!({"status": "Accepted", "data": "{\"a\":1}"})
        );
        assert_eq!(
            encode_reply(V201, Reply::accepted(Some(json!({"a": 1})))),
            json!({"status": "Accepted", "data": {"a": 1}})
        );
        assert_eq!(
            encode_reply(V201, Reply::accepted(Some(Value::Null))),
            json!({"status": "Accepted"})
        );
        assert_eq!(
            encode_reply(V16, Reply::unknown_message_id()),
            json!({"status": "UnknownMessageId"})
        );
        assert_eq!(
            encode_reply(V201, Reply::rejected()),
            json!({"status": "Rejected"})
        );
    }

    #[test]
    fn vendors_are_registered_without_regard_to_case() {
        let ext = VendorExtensions::builtin().with("COM.Example", Ping);
        assert_eq!(ext.vendors(), ["com.example", "org.evgate"]);
        assert!(VendorExtensions::none().vendors().is_empty());
        assert!(format!("{ext:?}").contains("org.evgate"));
    }
}
