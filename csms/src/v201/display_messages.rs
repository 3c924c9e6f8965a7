//! NotifyDisplayMessages: the messages a station holds, answering an
//! operator's GetDisplayMessages (possibly in several parts, `tbc`). Each is
//! remembered; one evgate set itself keeps its origin.

use booking::model::{DisplayMessage, DisplayOrigin};
use rust_ocpp::v2_0_1::messages::notify_display_messages::NotifyDisplayMessagesRequest;
use serde_json::{Value, json};

use crate::context::{Context, decode};
use crate::domain::internal;
use crate::rpc::RpcError;

pub(super) async fn notify_display_messages(
    ctx: &Context,
    payload: Value,
) -> Result<Value, RpcError> {
    let req: NotifyDisplayMessagesRequest = decode(payload)?;
    let store = &ctx.deps.store;
    let known = store
        .display_messages(ctx.charger.id)
        .await
        .map_err(internal)?;
    for info in req.message_info.unwrap_or_default() {
        let origin = known
            .iter()
            .find(|m| m.message_id == info.id)
            .map_or(DisplayOrigin::Reported, |m| m.origin);
        let message = DisplayMessage {
            charger_id: ctx.charger.id,
            message_id: info.id,
            origin,
            info: serde_json::to_value(&info).map_err(|e| RpcError::Internal(e.to_string()))?,
            updated_at: ctx.now(),
        };
        store
            .save_display_message(&message)
            .await
            .map_err(internal)?;
    }
    Ok(json!({}))
}
