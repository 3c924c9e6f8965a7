//! Where both OCPP versions meet the booking core: the one mapping from
//! OCPP's vocabulary to the domain's, and the calls both versions make.
//! Per-version handlers decode their messages and call these.

use booking::model::{ConnectorStatus, IdTagStatus};
use booking::store::BootInfo;
use chrono::{DateTime, Utc};

use crate::context::Context;
use crate::rpc::RpcError;

/// DESIGN.md's table: OCPP 1.6 and 2.0.1 connector statuses → evgate's.
pub fn connector_status(ocpp: &str) -> Option<ConnectorStatus> {
    Some(match ocpp {
        "Available" => ConnectorStatus::Available,
        "Preparing" | "Charging" | "SuspendedEV" | "SuspendedEVSE" | "Finishing" | "Occupied" => {
            ConnectorStatus::Occupied
        }
        "Reserved" => ConnectorStatus::Reserved,
        "Unavailable" => ConnectorStatus::Maintenance,
        "Faulted" => ConnectorStatus::Faulted,
        _ => return None,
    })
}

/// The wire text of a serialisable OCPP enum value.
pub fn wire<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub fn internal(e: booking::Error) -> RpcError {
    tracing::error!(error = %e, "handling an OCPP message failed");
    RpcError::Internal("the central system could not process the message".into())
}

pub async fn boot(ctx: &Context, info: BootInfo) -> Result<(), RpcError> {
    ctx.deps
        .store
        .record_boot(ctx.charger.id, &info, ctx.now())
        .await
        .map_err(internal)
}

pub async fn heard_from(ctx: &Context) -> Result<(), RpcError> {
    ctx.deps
        .store
        .set_charger_presence(ctx.charger.id, true, Some(ctx.version), ctx.now())
        .await
        .map_err(internal)
}

/// A status report for EVSE/connector; an unknown connector is logged and
/// acknowledged, never an error to the charger.
pub async fn status(
    ctx: &Context,
    evse_id: i32,
    connector_id: i32,
    ocpp_status: &str,
    at: DateTime<Utc>,
) -> Result<(), RpcError> {
    let Some(status) = connector_status(ocpp_status) else {
        return Err(RpcError::PropertyConstraint(format!(
            "unknown status {ocpp_status:?}"
        )));
    };
    let connector = ctx
        .deps
        .store
        .connector_by_ocpp(ctx.charger.id, evse_id, connector_id)
        .await
        .map_err(internal)?;
    match connector {
        Some(c) => {
            ctx.deps
                .bookings
                .apply_connector_status(c.id, status, at)
                .await
                .map_err(internal)?;
        }
        None => tracing::info!(
            charger.id = %ctx.charger.charge_point_id, evse.id = evse_id, connector.id = connector_id,
            status = ocpp_status, "status for a connector evgate does not know; recorded in the log only"
        ),
    }
    Ok(())
}

pub async fn authorize(ctx: &Context, id_tag: &str) -> Result<IdTagStatus, RpcError> {
    booking::authorization::authorize(&*ctx.deps.store, id_tag, ctx.now())
        .await
        .map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_vocabularies_map_as_the_design_says() {
        use ConnectorStatus::*;
        for (ocpp, ours) in [
            ("Available", Available),
            ("Preparing", Occupied),
            ("Charging", Occupied),
            ("SuspendedEV", Occupied),
            ("SuspendedEVSE", Occupied),
            ("Finishing", Occupied),
            ("Occupied", Occupied),
            ("Reserved", Reserved),
            ("Unavailable", Maintenance),
            ("Faulted", Faulted),
        ] {
            assert_eq!(connector_status(ocpp), Some(ours), "{ocpp}");
        }
        assert_eq!(connector_status("Dancing"), None);
    }
}
