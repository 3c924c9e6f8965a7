//! Authorize, and the idTagInfo every transaction answer carries.

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

pub(super) async fn id_tag_info(ctx: &Context, id_tag: &str) -> Result<Value, RpcError> {
    let status = domain::authorize(ctx, id_tag).await?;
    Ok(json!({ "status": status.as_str() }))
}
