//! `PUT /v1/admin/chargers/{chargePointId}/stored-password`: sets the
//! password evgate checks without telling the charger — a technician set it
//! on the charger itself, so a rotation (which reaches the charger with the
//! old one) would lock it out. The old password keeps working for the
//! rotation grace; a change queued for the charger is dropped. Audited as
//! `charger.credentials.stored`.

use axum::extract::{Path, State};
use booking::iso;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiResult, ok};
use super::extract::ApiJson;
use super::openapi::{ErrorEnvelope, envelope};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(store_password))
}

/// The password the charger already has.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StoredPasswordBody {
    /// The charger's Basic auth password, 16 to 40 characters.
    password: String,
}

/// The stored credentials after the change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StoredPassword {
    charge_point_id: String,
    /// Always `STORED`: nothing was sent to the charger.
    #[schema(example = "STORED")]
    outcome: &'static str,
    /// Until when the previous password still works.
    previous_credentials_valid_until: Option<String>,
    /// Whether a change queued for the charger was dropped.
    queued_change_dropped: bool,
}

envelope!(
    /// The stored credentials.
    StoredPasswordEnvelope,
    StoredPassword
);

/// Sets the password evgate checks for a profile-1/2 charger without
/// sending it to the charger (it already has it).
#[utoipa::path(
    put,
    path = "/v1/admin/chargers/{id}/stored-password",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    request_body = StoredPasswordBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Stored; the previous password works until `previousCredentialsValidUntil`", body = StoredPasswordEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn store_password(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiJson(body): ApiJson<StoredPasswordBody>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let (charger, dropped) = state
        .rotation
        .store_password(&admin.actor(), &charge_point_id, &body.password)
        .await?;
    Ok(ok(StoredPassword {
        charge_point_id: charger.charge_point_id,
        outcome: "STORED",
        previous_credentials_valid_until: charger
            .previous_credentials
            .as_ref()
            .map(|p| iso(p.until)),
        queued_change_dropped: dropped,
    }))
}
