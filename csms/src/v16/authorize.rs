//! Authorize, and the idTagInfo every transaction answer carries.

use booking::authorization::Authorization;
use booking::iso;
use rust_ocpp::v1_6::messages::authorize::AuthorizeRequest;
use serde_json::{Value, json};

use crate::context::{Context, decode};
use crate::domain;
use crate::rpc::RpcError;

pub(super) async fn authorize(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let req: AuthorizeRequest = decode(payload)?;
    domain::id_tag_within_limits(ctx, &req.id_tag)?;
    Ok(json!({ "idTagInfo": id_tag_info(ctx, &req.id_tag).await? }))
}

/// `status`, and `expiryDate`/`parentIdTag` when the tag has them: the
/// charger lets a tag with the same parent stop a transaction it started.
pub(super) async fn id_tag_info(ctx: &Context, id_tag: &str) -> Result<Value, RpcError> {
    Ok(info_of(&domain::authorize(ctx, id_tag).await?))
}

/// A verdict as 1.6 `IdTagInfo` (answers and local authorization lists).
pub(crate) fn info_of(verdict: &Authorization) -> Value {
    let mut info = json!({ "status": verdict.status.as_str() });
    if let Some(at) = verdict.expires_at {
        info["expiryDate"] = json!(iso(at));
    }
    // 1.6 parentIdTag is IdToken (CiString20Type): a longer group cannot be said.
    if let Some(group) = verdict.group.as_ref().filter(|g| g.chars().count() <= 20) {
        info["parentIdTag"] = json!(group);
    }
    info
}
