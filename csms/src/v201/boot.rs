//! BootNotification.

use booking::store::BootInfo;
use rust_ocpp::v2_0_1::messages::boot_notification::BootNotificationRequest;
use serde_json::Value;

use crate::context::{Context, decode};
use crate::domain::{self, Handled};
use crate::rpc::RpcError;

pub(super) async fn boot_notification(ctx: &Context, payload: Value) -> Result<Handled, RpcError> {
    let req: BootNotificationRequest = decode(payload)?;
    let station = req.charging_station;
    domain::boot(
        ctx,
        BootInfo {
            version: Some(ctx.version),
            vendor: Some(station.vendor_name),
            model: Some(station.model),
            firmware_version: station.firmware_version,
            serial_number: station.serial_number,
        },
    )
    .await
}
