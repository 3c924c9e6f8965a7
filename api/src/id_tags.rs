//! `/v1/admin/id-tags`: the id tags that may charge, as operators register
//! them. Every change is audited; a tag that may no longer charge (blocked,
//! expired, invalid) makes every connected charger clear its authorization
//! cache, so it is refused from the next message on, offline too.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use booking::catalog;
use booking::iso;
use booking::model::{IdTag, IdTagStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, created, ok};
use super::extract::{ApiJson, ApiQuery, PageQuery};
use super::openapi::{ErrorEnvelope, envelope};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_id_tags, create_id_tag))
        .routes(routes!(update_id_tag))
}

/// An id tag that may charge (or may not any more).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct IdTagJson {
    #[schema(example = "RFID-0042")]
    id_tag: String,
    #[schema(schema_with = super::openapi::id_tag_status)]
    status: IdTagStatus,
    expiry_date: Option<String>,
    parent_id_tag: Option<String>,
    /// The app user it belongs to.
    user_id: Option<i64>,
}

/// An id tag after a change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct IdTagChanged {
    #[serde(flatten)]
    tag: IdTagJson,
    /// Connected chargers told to clear their authorization cache (the tag
    /// may no longer charge).
    chargers_told_to_clear_cache: usize,
}

envelope!(
    /// An id tag after a change.
    IdTagEnvelope,
    IdTagChanged
);

/// A page of id tags.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct IdTagList {
    id_tags: Vec<IdTagJson>,
    total: u64,
    limit: u32,
    offset: u64,
}

envelope!(
    /// A page of id tags.
    IdTagListEnvelope,
    IdTagList
);

impl From<&IdTag> for IdTagJson {
    fn from(t: &IdTag) -> Self {
        Self {
            id_tag: t.id_tag.clone(),
            status: t.status,
            expiry_date: t.expiry_date.map(iso),
            parent_id_tag: t.parent_id_tag.clone(),
            user_id: t.user_id,
        }
    }
}

fn parse_status(raw: &str) -> Result<IdTagStatus, ApiError> {
    raw.parse()
        .map_err(|e: String| ApiError::bad_request("status", format!("status: {e}")))
}

fn parse_expiry(raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_request(
                "expiryDate",
                format!("expiryDate: {raw:?} is not an ISO 8601 timestamp"),
            )
        })
}

/// A new id tag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateIdTag {
    #[schema(example = "RFID-0042")]
    id_tag: String,
    #[schema(schema_with = super::openapi::id_tag_status)]
    status: String,
    /// RFC 3339.
    expiry_date: Option<String>,
    parent_id_tag: Option<String>,
    user_id: Option<i64>,
}

/// Audits a change and, when the tag may no longer charge, has the
/// connected chargers forget it; answers how many are being told.
pub(crate) async fn after_change(
    state: &AppState,
    actor: String,
    action: &str,
    tag: &IdTag,
) -> ApiResult<usize> {
    let now = state.clock.now();
    let told = if evgate_operator::id_tags::must_leave_caches(tag, now) {
        evgate_operator::id_tags::clear_caches(
            state.store.clone(),
            state.chargers.clone(),
            state.clock.clone(),
            actor.clone(),
            tag.id_tag.clone(),
        )
        .await?
    } else {
        0
    };
    // Lists holding the tag are sent its new status, expiry and group.
    let lists = state
        .local_lists
        .touch(&tag.id_tag, std::sync::Arc::new(state.chargers.clone()))
        .await?;
    let details = serde_json::json!({
        "localListsUpdated": lists,
        "status": tag.status,
        "expiryDate": tag.expiry_date.map(iso),
        "parentIdTag": tag.parent_id_tag,
        "userId": tag.user_id,
        "chargersToldToClearCache": told,
    });
    state
        .audit_by(actor, action, &tag.id_tag, details, "ACCEPTED")
        .await;
    Ok(told)
}

fn with_told(tag: &IdTag, told: usize) -> IdTagChanged {
    IdTagChanged {
        tag: IdTagJson::from(tag),
        chargers_told_to_clear_cache: told,
    }
}

/// Registers an id tag; audited.
#[utoipa::path(
    post,
    path = "/v1/admin/id-tags",
    tag = "admin",
    request_body = CreateIdTag,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The id tag", body = IdTagEnvelope),
        (status = 409, description = "`CONFLICT`: the id tag exists already", body = ErrorEnvelope),
    ),
)]
async fn create_id_tag(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiJson(body): ApiJson<CreateIdTag>,
) -> ApiResult<(StatusCode, axum::Json<serde_json::Value>)> {
    let tag = IdTag {
        id_tag: body.id_tag,
        status: parse_status(&body.status)?,
        expiry_date: body.expiry_date.as_deref().map(parse_expiry).transpose()?,
        parent_id_tag: body.parent_id_tag,
        user_id: body.user_id,
    };
    let tag = booking::id_tags::register(&*state.store, &*state.clock, tag).await?;
    tracing::info!(admin.sub = admin.0.user_id, id_tag = %tag.id_tag, status = %tag.status, "id tag registered");
    let told = after_change(&state, admin.actor(), "id_tag.create", &tag).await?;
    Ok(created(with_told(&tag, told)))
}

/// A change to an id tag; absent fields are left as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UpdateIdTag {
    #[schema(schema_with = super::openapi::id_tag_status)]
    status: Option<String>,
    /// RFC 3339; `null` clears the expiry; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    expiry_date: Option<Option<String>>,
    /// The group tag (OCPP `parentIdTag`, 2.0.1 `groupIdToken`): members of
    /// one group may stop each other's sessions, and a charger's
    /// `AuthCtrlr.MasterPassGroupId` group stops them all. `null` clears it;
    /// absent leaves it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    parent_id_tag: Option<Option<String>>,
}

/// Tells an explicit `null` from an absent field.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Changes an id tag's status, expiry or group; audited. A tag that may no longer
/// charge is cleared from every connected charger's cache.
#[utoipa::path(
    put,
    path = "/v1/admin/id-tags/{id_tag}",
    tag = "admin",
    params(("id_tag" = String, Path, description = "The id tag")),
    request_body = UpdateIdTag,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The id tag", body = IdTagEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such id tag", body = ErrorEnvelope),
    ),
)]
async fn update_id_tag(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id_tag): Path<String>,
    ApiJson(body): ApiJson<UpdateIdTag>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let status = body.status.as_deref().map(parse_status).transpose()?;
    let expiry = match body.expiry_date {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => Some(Some(parse_expiry(&raw)?)),
    };
    let change = booking::id_tags::IdTagChange {
        status,
        expiry_date: expiry,
        parent_id_tag: body.parent_id_tag,
    };
    let tag = booking::id_tags::update(&*state.store, &*state.clock, &id_tag, change).await?;
    tracing::info!(admin.sub = admin.0.user_id, id_tag = %tag.id_tag, status = %tag.status, "id tag changed");
    let told = after_change(&state, admin.actor(), "id_tag.update", &tag).await?;
    Ok(ok(with_told(&tag, told)))
}

/// Registered id tags, paged.
#[utoipa::path(
    get,
    path = "/v1/admin/id-tags",
    tag = "admin",
    params(PageQuery),
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "A page of id tags", body = IdTagListEnvelope)),
)]
async fn list_id_tags(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let page = catalog::page(q.limit, q.offset)?;
    let (tags, total) = state.store.id_tags(page).await?;
    let tags: Vec<IdTagJson> = tags.iter().map(IdTagJson::from).collect();
    Ok(ok(IdTagList {
        id_tags: tags,
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}
