//! OCPP 2.0.1: one routing table for charger-initiated actions, one file per
//! action (or close family), and the CSMS-initiated requests the booking
//! core needs.

pub(crate) mod authorize;
mod boot;
pub mod calls;
mod charging_limits;
mod display_messages;
mod firmware;
mod meter_values;
mod notify_report;
pub mod pending_start;
pub mod reservation;
mod reservation_status;
mod status;
mod transaction_event;
pub mod transaction_status;

use serde_json::Value;

use crate::acks;
use crate::context::Context;
use crate::domain::Handled;
use crate::rpc::RpcError;

/// Answers one CALL from a 2.0.1 charging station.
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
        "TransactionEvent" => transaction_event::transaction_event(ctx, payload).await,
        "MeterValues" => meter_values::meter_values(ctx, payload).await,
        "ReservationStatusUpdate" => {
            reservation_status::reservation_status_update(ctx, payload).await
        }
        "DataTransfer" => ctx.deps.vendor_extensions.answer(ctx, payload).await,
        "NotifyDisplayMessages" => display_messages::notify_display_messages(ctx, payload).await,
        "NotifyReport" => notify_report::notify_report(ctx, payload).await,
        "SecurityEventNotification" => {
            crate::certificates::security_event_notification(ctx, payload).await
        }
        "FirmwareStatusNotification" => firmware::firmware_status_notification(ctx, payload).await,
        "LogStatusNotification" => firmware::log_status_notification(ctx, payload).await,
        "ReportChargingProfiles" => charging_limits::report_charging_profiles(ctx, payload).await,
        "NotifyChargingLimit" => charging_limits::notify_charging_limit(ctx, payload).await,
        "ClearedChargingLimit" => charging_limits::cleared_charging_limit(ctx, payload).await,
        "NotifyEvent"
        | "NotifyMonitoringReport"
        | "NotifyCustomerInformation"
        | "PublishFirmwareStatusNotification" => acks::notification(action, payload),
        "NotifyEVChargingNeeds" => acks::status_answer(action, payload, "Rejected"),
        "NotifyEVChargingSchedule" => acks::status_answer(action, payload, "Accepted"),
        "Get15118EVCertificate" => crate::certificates::get_15118_ev_certificate(payload),
        "GetCertificateStatus" => crate::certificates::get_certificate_status(payload),
        other => Err(RpcError::NotImplemented(format!("unknown action {other}"))),
    }
}
