//! StatusNotification: connector 0 is the charger as a whole.

use rust_ocpp::v1_6::messages::status_notification::StatusNotificationRequest;
use serde_json::{Value, json};

use crate::context::{Context, decode};
use crate::domain;
use crate::rpc::RpcError;

pub(super) async fn status_notification(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let req: StatusNotificationRequest = decode(payload)?;
    let status = domain::wire(&req.status);
    if req.connector_id == 0 {
        tracing::info!(charger.id = %ctx.charger.charge_point_id, status, "charger status");
        domain::heard_from(ctx);
        return Ok(json!({}));
    }
    let connector = i32::try_from(req.connector_id)
        .map_err(|_| RpcError::PropertyConstraint("connectorId out of range".into()))?;
    let at = req.timestamp.unwrap_or_else(|| ctx.now());
    // 1.6 has no EVSEs: evseId equals connectorId.
    domain::status(ctx, connector, connector, &status, at).await?;
    Ok(json!({}))
}
