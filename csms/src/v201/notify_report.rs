//! NotifyReport (B07/B08): a part of a device model report. Checked here
//! (a malformed part gets its CALLERROR), stored by the device model's
//! writer; the charger is answered without waiting for the write.

use serde_json::{Value, json};

use crate::context::Context;
use crate::device_model;
use crate::rpc::RpcError;

pub(super) async fn notify_report(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let part = device_model::read_part(payload)?;
    tracing::debug!(
        request_id = part.request_id,
        seq_no = part.seq_no,
        tbc = part.tbc,
        variables = part.variables.len(),
        "device model report part"
    );
    ctx.deps
        .device_model
        .submit(ctx.charger.id, &ctx.charger.charge_point_id, part)
        .await;
    Ok(json!({}))
}
