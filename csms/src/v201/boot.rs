//! BootNotification and Heartbeat.

use booking::store::BootInfo;
use rust_ocpp::v2_0_1::messages::boot_notification::BootNotificationRequest;
use serde_json::{Value, json};

use crate::context::{Context, decode};
use crate::domain;
use crate::rpc::RpcError;
use crate::v16::boot_iso as iso;

pub async fn boot_notification(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
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
    .await?;
    Ok(json!({
        "status": "Accepted",
        "currentTime": iso(ctx.now()),
        "interval": ctx.deps.config.heartbeat_interval.as_secs(),
    }))
}

pub async fn heartbeat(ctx: &Context) -> Result<Value, RpcError> {
    domain::heard_from(ctx).await?;
    Ok(json!({ "currentTime": iso(ctx.now()) }))
}
