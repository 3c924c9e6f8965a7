//! `GET /v1/admin/chargers/{id}/display-messages`: what a 2.0.1 charger
//! shows on its screen, as evgate knows it — messages operators set through
//! commands, bookings evgate announced, and what the charger reported in
//! NotifyDisplayMessages (after a GetDisplayMessages command).

use axum::extract::{Path, State};
use booking::iso;
use booking::model::DisplayMessage;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::openapi::{ErrorEnvelope, envelope};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(display_messages))
}

/// One message on the charger's screen.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DisplayMessageJson {
    /// The message's id on the charger.
    id: i32,
    /// `OPERATOR` (a SetDisplayMessage command), `BOOKING` (evgate
    /// announcing a reservation; the id is the reservation's) or `REPORTED`
    /// (the charger had it).
    #[schema(example = "BOOKING")]
    origin: &'static str,
    /// OCPP 2.0.1 `MessageInfoType` as the charger took or reported it.
    #[schema(value_type = Object)]
    message: Value,
    updated_at: String,
}

impl From<&DisplayMessage> for DisplayMessageJson {
    fn from(m: &DisplayMessage) -> Self {
        Self {
            id: m.message_id,
            origin: m.origin.as_str(),
            message: m.info.clone(),
            updated_at: iso(m.updated_at),
        }
    }
}

/// A charger's display messages.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DisplayMessages {
    charge_point_id: String,
    /// By id.
    display_messages: Vec<DisplayMessageJson>,
}

envelope!(
    /// A charger's display messages.
    DisplayMessagesEnvelope,
    DisplayMessages
);

/// The messages evgate knows the charger shows, by id.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/display-messages",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The messages", body = DisplayMessagesEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn display_messages(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state
        .store
        .charger_by_identity(&charge_point_id)
        .await?
        .ok_or_else(|| ApiError::from(booking::Error::not_found("charger", &charge_point_id)))?;
    let shown = state.store.display_messages(charger.id).await?;
    Ok(ok(DisplayMessages {
        charge_point_id: charger.charge_point_id,
        display_messages: shown.iter().map(DisplayMessageJson::from).collect(),
    }))
}
