//! StatusNotification. Some simulators send evseId 0 / connectorId 0: that
//! is the station as a whole, acknowledged.

use rust_ocpp::v2_0_1::messages::status_notification::StatusNotificationRequest;
use serde_json::{Value, json};

use crate::context::{Context, decode};
use crate::domain;
use crate::rpc::RpcError;

pub(super) async fn status_notification(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let req: StatusNotificationRequest = decode(payload)?;
    let status = domain::wire(&req.connector_status);
    if req.evse_id == 0 || req.connector_id == 0 {
        domain::heard_from(ctx);
        return Ok(json!({}));
    }
    domain::status(ctx, req.evse_id, req.connector_id, &status, req.timestamp).await?;
    Ok(json!({}))
}
