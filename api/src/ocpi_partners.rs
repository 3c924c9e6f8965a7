//! What operators do with OCPI (`/v1/admin/ocpi/…`): invite a roaming
//! partner (its token A, shown once), see where each stands, remove one,
//! and publish stations as Locations. The protocol itself is the `ocpi`
//! crate's, served under `/ocpi/`.

use axum::extract::State;
use axum::http::StatusCode;
use booking::iso;
use ocpi::{LocationDetails, Partner};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, created, ok};
use super::extract::{ApiJson, UuidPath};
use super::openapi::{ErrorEnvelope, envelope};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_partners, invite_partner))
        .routes(routes!(remove_partner))
        .routes(routes!(set_location))
}

/// A roaming partner.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PartnerJson {
    id: Uuid,
    #[schema(example = "RoamCo")]
    name: String,
    /// `PENDING` (token A issued), `REGISTERED`, `UNREGISTERED`.
    #[schema(example = "REGISTERED")]
    state: &'static str,
    /// The OCPI version agreed on.
    #[schema(example = "2.2.1")]
    version: Option<&'static str>,
    country_code: Option<String>,
    party_id: Option<String>,
    /// The partner's versions endpoint.
    versions_url: Option<String>,
    /// The modules it offers, as `identifier:ROLE`.
    endpoints: Vec<String>,
    created_at: String,
    updated_at: String,
    /// Token A, for the partner to register with: shown when created only.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// Where the partner starts (this gateway's OCPI versions endpoint),
    /// when `OCPI_BASE_URL` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    versions_endpoint: Option<String>,
}

impl PartnerJson {
    fn of(p: &Partner, token: Option<String>, base: Option<&str>) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            state: p.state.as_str(),
            version: p.version.map(ocpi::OcpiVersion::as_str),
            country_code: p.country_code.clone(),
            party_id: p.party_id.clone(),
            versions_url: p.versions_url.clone(),
            endpoints: p
                .endpoints
                .iter()
                .map(|e| format!("{}:{}", e.identifier, e.role.as_deref().unwrap_or("")))
                .collect(),
            created_at: iso(p.created_at),
            updated_at: iso(p.updated_at),
            token,
            versions_endpoint: base.map(|b| format!("{b}/ocpi/versions")),
        }
    }
}

envelope!(
    /// A partner.
    PartnerEnvelope,
    PartnerJson
);

/// Every partner.
#[derive(Debug, Serialize, ToSchema)]
struct PartnerList {
    partners: Vec<PartnerJson>,
}

envelope!(
    /// Every partner.
    PartnerListEnvelope,
    PartnerList
);

/// A partner to invite.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InvitePartner {
    /// What the operator calls it (1 to 100 characters).
    #[schema(example = "RoamCo")]
    name: String,
}

/// Invites a roaming partner: the answer carries its token A (once), which
/// the partner uses to register through OCPI's credentials handshake.
#[utoipa::path(
    post,
    path = "/v1/admin/ocpi/partners",
    tag = "ocpi",
    request_body = InvitePartner,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The partner, PENDING, with token A", body = PartnerEnvelope),
        (status = 400, description = "A bad name", body = ErrorEnvelope),
        (status = 409, description = "`OCPI_DISABLED`: OCPI_COUNTRY_CODE/OCPI_PARTY_ID unset", body = ErrorEnvelope),
    ),
)]
async fn invite_partner(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiJson(body): ApiJson<InvitePartner>,
) -> ApiResult<(StatusCode, axum::Json<serde_json::Value>)> {
    let (partner, token) = invite(&state, admin.actor(), &body.name).await?;
    let base = state
        .ocpi
        .settings
        .as_ref()
        .and_then(|s| s.base_url.as_deref());
    Ok(created(PartnerJson::of(&partner, Some(token), base)))
}

/// Every partner and where it stands.
#[utoipa::path(
    get,
    path = "/v1/admin/ocpi/partners",
    tag = "ocpi",
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "Every partner", body = PartnerListEnvelope)),
)]
async fn list_partners(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let partners = state.ocpi.store.partners().await?;
    Ok(ok(PartnerList {
        partners: partners
            .iter()
            .map(|p| PartnerJson::of(p, None, None))
            .collect(),
    }))
}

/// Removed.
#[derive(Debug, Serialize, ToSchema)]
struct Removed {
    removed: bool,
}

envelope!(
    /// Removed.
    RemovedEnvelope,
    Removed
);

/// Removes a partner: its token stops working at once and nothing more is
/// pushed to it.
#[utoipa::path(
    delete,
    path = "/v1/admin/ocpi/partners/{id}",
    tag = "ocpi",
    params(("id" = Uuid, Path, description = "The partner")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Removed", body = RemovedEnvelope),
        (status = 404, description = "No such partner", body = ErrorEnvelope),
    ),
)]
async fn remove_partner(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
) -> ApiResult<axum::Json<serde_json::Value>> {
    remove(&state, admin.actor(), id).await?;
    Ok(ok(Removed { removed: true }))
}

/// Invites a partner on behalf of `actor` (audited): the partner and its
/// token A. Shared by the API and the console.
pub(crate) async fn invite(
    state: &AppState,
    actor: String,
    name: &str,
) -> ApiResult<(Partner, String)> {
    let (partner, token) = state.ocpi.invite(name).await.map_err(|e| match e {
        ocpi::OcpiError::InvalidParameters(m) => ApiError::bad_request("name", m),
        other => other.into(),
    })?;
    let details = serde_json::json!({ "name": partner.name });
    state
        .audit_by(
            actor,
            "ocpi.partner.create",
            &partner.id.to_string(),
            details,
            "ok",
        )
        .await;
    Ok((partner, token))
}

/// Removes a partner on behalf of `actor` (audited); 404 if unknown.
pub(crate) async fn remove(state: &AppState, actor: String, id: Uuid) -> ApiResult<()> {
    if !state.ocpi.remove(id).await? {
        return Err(ApiError::NotFound(format!("OCPI partner {id} not found")));
    }
    let target = id.to_string();
    state
        .audit_by(
            actor,
            "ocpi.partner.delete",
            &target,
            serde_json::json!({}),
            "ok",
        )
        .await;
    Ok(())
}

/// What OCPI needs of a station beyond its own fields.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LocationBody {
    /// City or town (1 to 45 characters).
    #[schema(example = "Oslo")]
    city: String,
    /// At most 10 characters.
    #[schema(example = "0150")]
    postal_code: Option<String>,
    /// ISO 3166-1 alpha-3.
    #[schema(example = "NOR")]
    country: String,
    /// IANA time zone.
    #[schema(example = "Europe/Oslo")]
    time_zone: String,
    /// Whether partners see the station as a Location.
    publish: bool,
}

envelope!(
    /// A station's OCPI details.
    LocationEnvelope,
    LocationBody
);

/// Sets a station's OCPI details; with `publish`, partners see it as a
/// Location (pulled, and its statuses pushed).
#[utoipa::path(
    put,
    path = "/v1/admin/ocpi/locations/{id}",
    tag = "ocpi",
    params(("id" = Uuid, Path, description = "The station")),
    request_body = LocationBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Set", body = LocationEnvelope),
        (status = 400, description = "A field breaks OCPI's rules", body = ErrorEnvelope),
        (status = 404, description = "No such station", body = ErrorEnvelope),
        (status = 409, description = "`OCPI_DISABLED`", body = ErrorEnvelope),
    ),
)]
async fn set_location(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
    ApiJson(body): ApiJson<LocationBody>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let details = LocationDetails {
        station_id: id,
        city: body.city.trim().to_owned(),
        postal_code: body.postal_code.as_deref().map(|p| p.trim().to_owned()),
        country: body.country.clone(),
        time_zone: body.time_zone.clone(),
        publish: body.publish,
        updated_at: state.clock.now(),
    };
    details
        .validate()
        .map_err(|(field, message)| ApiError::bad_request(field, message))?;
    state.ocpi.set_location(details).await?;
    state
        .audit(
            &admin,
            "ocpi.location.set",
            &id.to_string(),
            serde_json::to_value(&body).unwrap_or_default(),
            "ok",
        )
        .await;
    Ok(ok(body))
}
