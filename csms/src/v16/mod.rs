//! OCPP 1.6J: one routing table for charger-initiated actions, one file per
//! action (or per close family), and the CSMS-initiated requests the
//! booking core needs.

pub(crate) mod authorize;
mod boot;
pub mod calls;
pub mod firmware;
mod meter_values;
pub mod reservation;
mod status;
mod transactions;

use serde_json::Value;

use crate::context::Context;
use crate::domain::Handled;
use crate::rpc::RpcError;

/// Answers one CALL from a 1.6 charger.
pub async fn dispatch(ctx: &Context, action: &str, payload: Value) -> Result<Handled, RpcError> {
    if action == "BootNotification" {
        return boot::boot_notification(ctx, payload).await;
    }
    if action == "SignCertificate" {
        return crate::certificates::sign_certificate(ctx, payload).await;
    }
    answer(ctx, action, payload).await.map(Handled::from)
}

/// The actions whose answer is only a payload.
async fn answer(ctx: &Context, action: &str, payload: Value) -> Result<Value, RpcError> {
    match action {
        "Heartbeat" => crate::domain::heartbeat(ctx).await,
        "StatusNotification" => status::status_notification(ctx, payload).await,
        "Authorize" => authorize::authorize(ctx, payload).await,
        "StartTransaction" => transactions::start_transaction(ctx, payload).await,
        "StopTransaction" => transactions::stop_transaction(ctx, payload).await,
        "MeterValues" => meter_values::meter_values(ctx, payload).await,
        "DataTransfer" => ctx.deps.vendor_extensions.answer(ctx, payload).await,
        "FirmwareStatusNotification" => firmware::firmware_status_notification(ctx, payload).await,
        "DiagnosticsStatusNotification" => {
            firmware::diagnostics_status_notification(ctx, payload).await
        }
        "SecurityEventNotification" => {
            crate::certificates::security_event_notification(ctx, payload).await
        }
        "LogStatusNotification" => firmware::log_status_notification(ctx, payload).await,
        "SignedFirmwareStatusNotification" => {
            firmware::signed_firmware_status_notification(ctx, payload).await
        }
        other => Err(RpcError::NotImplemented(format!("unknown action {other}"))),
    }
}
