//! Authorize, and the idTokenInfo transaction answers carry.

use booking::authorization::Authorization;
use booking::iso;
use rust_ocpp::v2_0_1::messages::authorize::AuthorizeRequest;
use serde_json::{Value, json};

use crate::context::{Context, decode};
use crate::domain;
use crate::rpc::RpcError;

pub(super) async fn authorize(ctx: &Context, payload: Value) -> Result<Value, RpcError> {
    let req: AuthorizeRequest = decode(payload)?;
    domain::id_tag_within_limits(ctx, &req.id_token.id_token)?;
    Ok(json!({ "idTokenInfo": id_token_info(ctx, &req.id_token.id_token).await? }))
}

/// 2.0.1 says Blocked/Expired/Invalid/Accepted like 1.6, plus more we never
/// send; `cacheExpiryDateTime` is the tag's expiry, and `groupIdToken` its
/// group (type Central: evgate issued it), which the station compares with
/// the group that started a transaction (C09) and with its
/// `AuthCtrlr.MasterPassGroupId` (C16).
pub(super) async fn id_token_info(ctx: &Context, token: &str) -> Result<Value, RpcError> {
    Ok(info_of(&domain::authorize(ctx, token).await?))
}

/// A verdict as 2.0.1 `IdTokenInfo` (answers and local authorization lists).
pub(crate) fn info_of(verdict: &Authorization) -> Value {
    let mut info = json!({ "status": verdict.status.as_str() });
    if let Some(at) = verdict.expires_at {
        info["cacheExpiryDateTime"] = json!(iso(at));
    }
    if let Some(group) = &verdict.group {
        info["groupIdToken"] = json!({ "idToken": group, "type": "Central" });
    }
    info
}
