//! SecurityEventNotification in either version (1.6 whitepaper, 2.0.1
//! A04): kept per charger, newest first in the admin API. The two
//! versions' requests are the same three fields.

use booking::model::SecurityEvent;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::context::{Context, decode};
use crate::rpc::RpcError;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    #[serde(rename = "type")]
    kind: String,
    timestamp: chrono::DateTime<chrono::Utc>,
    tech_info: Option<String>,
}

/// Whether `value` fits the schema's `maxLength`.
pub(super) fn bounded(field: &str, value: &str, max: usize) -> Result<(), RpcError> {
    if value.chars().count() > max {
        return Err(RpcError::PropertyConstraint(format!(
            "{field} longer than {max}"
        )));
    }
    Ok(())
}

/// Stores the event and acknowledges it.
pub async fn security_event_notification(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let req: Notification = decode(payload)?;
    bounded("type", &req.kind, 50)?;
    bounded(
        "techInfo",
        req.tech_info.as_deref().unwrap_or_default(),
        255,
    )?;
    tracing::warn!(security.event = %req.kind, at = %req.timestamp,
        tech_info = req.tech_info.as_deref().unwrap_or_default(), "charger security event");
    let event = SecurityEvent {
        charger_id: ctx.charger.id,
        kind: req.kind,
        occurred_at: req.timestamp,
        tech_info: req.tech_info,
        received_at: ctx.now(),
    };
    ctx.deps
        .store
        .record_security_event(&event)
        .await
        .map_err(crate::domain::internal)?;
    Ok(json!({}))
}
