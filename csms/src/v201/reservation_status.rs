//! ReservationStatusUpdate: the station ended a reservation on its own
//! (Expired or Removed). The booking keeps its slot in evgate, but no longer
//! holds the connector on the hardware; its owner is told. The no-show
//! worker still decides at start + grace.

use serde_json::{Value, json};

use crate::context::Context;
use crate::domain::internal;
use crate::rpc::RpcError;

pub(super) async fn reservation_status_update(
    ctx: &Context,
    payload: Value,
) -> Result<Value, RpcError> {
    let id = payload.get("reservationId").and_then(Value::as_i64);
    let status = payload
        .get("reservationUpdateStatus")
        .and_then(Value::as_str);
    let (Some(id), Some(status)) = (id, status) else {
        return Err(RpcError::OccurrenceConstraint(
            "reservationId and reservationUpdateStatus are required".into(),
        ));
    };
    if !matches!(status, "Expired" | "Removed") {
        return Err(RpcError::PropertyConstraint(format!(
            "reservationUpdateStatus {status:?}"
        )));
    }
    let id = i32::try_from(id)
        .map_err(|_| RpcError::PropertyConstraint("reservationId out of range".into()))?;
    let applied = ctx
        .deps
        .bookings
        .reservation_ended_on_charger(ctx.charger.id, id)
        .await
        .map_err(internal)?;
    tracing::info!(
        reservation.id = id,
        status,
        applied,
        "station ended a reservation"
    );
    Ok(json!({}))
}
