//! 2.0.1 FirmwareStatusNotification (L01–L03) and LogStatusNotification
//! (N01): kept per charger with the request they are about.

use booking::model::MaintenanceKind;
use rust_ocpp::v2_0_1::messages::firmware_status_notification::FirmwareStatusNotificationRequest;
use rust_ocpp::v2_0_1::messages::log_status_notification::LogStatusNotificationRequest;
use serde_json::Value;

use crate::context::{Context, decode};
use crate::maintenance::{record_status, word};
use crate::rpc::RpcError;

pub(super) async fn firmware_status_notification(
    ctx: &Context,
    payload: Value,
) -> Result<Value, RpcError> {
    let req: FirmwareStatusNotificationRequest = decode(payload)?;
    record_status(
        ctx,
        MaintenanceKind::Firmware,
        word(&req.status),
        req.request_id,
    )
    .await
}

pub(super) async fn log_status_notification(
    ctx: &Context,
    payload: Value,
) -> Result<Value, RpcError> {
    let req: LogStatusNotificationRequest = decode(payload)?;
    record_status(ctx, MaintenanceKind::Log, word(&req.status), req.request_id).await
}
