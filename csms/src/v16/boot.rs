//! BootNotification and Heartbeat.

use booking::store::BootInfo;
use rust_ocpp::v1_6::messages::boot_notification::BootNotificationRequest;
use serde_json::Value;

use crate::context::{Context, decode};
use crate::domain::{self, Handled};
use crate::rpc::RpcError;

pub(super) async fn boot_notification(ctx: &Context, payload: Value) -> Result<Handled, RpcError> {
    let req: BootNotificationRequest = decode(payload)?;
    domain::boot(
        ctx,
        BootInfo {
            version: Some(ctx.version),
            vendor: Some(req.charge_point_vendor),
            model: Some(req.charge_point_model),
            firmware_version: req.firmware_version,
            serial_number: req.charge_point_serial_number,
        },
    )
    .await
}
