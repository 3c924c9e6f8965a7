//! Chargers' local authorization lists for operators (1.6 Local Auth List
//! Management, 2.0.1 D01/D02): `GET /v1/admin/chargers/{id}/local-list`
//! reads the list evgate keeps for the charger and what the charger last
//! said; `PUT` replaces the operator's entries, `PATCH` adds and removes
//! some; either sends the charger the difference (SendLocalList) when it
//! is connected, else at its next boot. `POST …/local-list/sync` asks the
//! charger what it holds (GetLocalListVersion, its settings) and updates
//! it. Entries a booking put there (`BOOKING_LOCAL_LIST`) are listed too.
//! Changes are audited.

use std::sync::Arc;

use axum::extract::{Path, State};
use booking::iso;
use booking::model::{Charger, ListChange, ListSync, LocalList};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::ApiJson;
use super::openapi::{ErrorEnvelope, envelope};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            read_local_list,
            replace_local_list,
            amend_local_list
        ))
        .routes(routes!(sync_local_list))
}

/// Tags one request may name: a list is kept whole in memory while changed.
const MAX_TAGS: usize = 10_000;

/// One entry of the list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LocalListEntry {
    id_tag: String,
    /// Set when a booking put the tag there: its reservation on the charger.
    reservation_id: Option<i32>,
    /// The booking's end (RFC 3339): the charger is told the tag expires then.
    until: Option<String>,
    /// The list version that last changed the entry.
    changed_in: i32,
}

/// What the charger said about its list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ChargerListState {
    /// The version it holds, as confirmed; `null` when not known.
    version: Option<i32>,
    /// The last update's outcome: `Accepted`, `Failed`, `VersionMismatch`,
    /// `NotSupported`, or `Offline`/`Unanswered` when it could not be sent.
    outcome: Option<String>,
    /// When (RFC 3339).
    at: Option<String>,
    /// `LocalAuthListEnabled` / `LocalAuthListCtrlr.Enabled` as read.
    list_enabled: Option<bool>,
    /// `AuthorizationCacheEnabled` / `AuthCacheCtrlr.Enabled` as read.
    cache_enabled: Option<bool>,
    /// Entries one SendLocalList may carry, as read.
    max_items: Option<u32>,
}

impl From<&ListSync> for ChargerListState {
    fn from(s: &ListSync) -> Self {
        Self {
            version: s.charger_version,
            outcome: s.outcome.clone(),
            at: s.at.map(iso),
            list_enabled: s.list_enabled,
            cache_enabled: s.cache_enabled,
            max_items: s.max_items,
        }
    }
}

/// A charger's local authorization list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LocalListJson {
    charge_point_id: String,
    /// evgate's version of the list; 0 before the first change.
    version: i32,
    entries: Vec<LocalListEntry>,
    /// Whether the charger holds this version.
    in_sync: bool,
    charger: ChargerListState,
}

envelope!(
    /// A charger's local authorization list.
    LocalListEnvelope,
    LocalListJson
);

fn view(charger: &Charger, list: &LocalList) -> LocalListJson {
    LocalListJson {
        charge_point_id: charger.charge_point_id.clone(),
        version: list.version,
        entries: list
            .listed()
            .map(|e| LocalListEntry {
                id_tag: e.id_tag.clone(),
                reservation_id: e.reservation_id,
                until: e.until.map(iso),
                changed_in: e.changed_in,
            })
            .collect(),
        in_sync: list.sync.charger_version == Some(list.version),
        charger: ChargerListState::from(&list.sync),
    }
}

/// Every tag must be registered (`POST /v1/admin/id-tags`): the charger
/// is told each one's status, expiry and group.
async fn registered(state: &AppState, field: &str, tags: &[String]) -> Result<(), ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::bad_request(
            field,
            format!("at most {MAX_TAGS} id tags per request"),
        ));
    }
    for tag in tags {
        if state.store.id_tag(tag).await?.is_none() {
            return Err(ApiError::bad_request(
                field,
                format!("id tag {tag} is not registered (POST /v1/admin/id-tags first)"),
            ));
        }
    }
    Ok(())
}

fn via(state: &AppState) -> Arc<dyn csms::commands::SendCommand> {
    Arc::new(state.chargers.clone())
}

async fn changed(
    state: &AppState,
    admin: &AdminUser,
    charger: &Charger,
    change: ListChange,
    details: Value,
) -> ApiResult<axum::Json<Value>> {
    let (list, sync) = state
        .local_lists
        .change(charger, &change, &*via(state))
        .await
        .map_err(sync_error)?;
    let details = json!({ "change": details, "version": list.version,
        "outcome": sync.as_ref().and_then(|s| s.outcome.clone()) });
    state
        .audit(
            admin,
            "charger.local_list.change",
            &charger.charge_point_id,
            details,
            "ACCEPTED",
        )
        .await;
    Ok(ok(view(charger, &list)))
}

fn sync_error(e: csms::local_list::SyncError) -> ApiError {
    match e {
        csms::local_list::SyncError::Store(e) => e.into(),
        csms::local_list::SyncError::NeverConnected => ApiError::Conflict(
            "CHARGER_NEVER_CONNECTED",
            "the charger has not connected yet".into(),
        ),
    }
}

/// The list evgate keeps for the charger, and what the charger last said
/// it holds.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/local-list",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The list", body = LocalListEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn read_local_list(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    let list = state.store.local_list(charger.id).await?;
    Ok(ok(view(&charger, &list)))
}

/// The operator's entries of a list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReplaceLocalList {
    /// Registered id tags; the list's operator entries become exactly
    /// these (a booking's entries stay).
    id_tags: Vec<String>,
}

/// Replaces the operator's entries of the charger's list and sends the
/// charger the difference (a full list when its version is not known);
/// answers with the list and the charger's outcome. Audited as
/// `charger.local_list.change`.
#[utoipa::path(
    put,
    path = "/v1/admin/chargers/{id}/local-list",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    request_body = ReplaceLocalList,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The list after the change", body = LocalListEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: an unregistered id tag, or too many (`field`: `idTags`)", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn replace_local_list(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiJson(body): ApiJson<ReplaceLocalList>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    registered(&state, "idTags", &body.id_tags).await?;
    let details = json!({ "replace": body.id_tags.len() });
    changed(
        &state,
        &admin,
        &charger,
        ListChange::Replace(body.id_tags),
        details,
    )
    .await
}

/// Entries to add and to take off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AmendLocalList {
    /// Registered id tags to add.
    #[serde(default)]
    add: Vec<String>,
    /// Tags to take off (a booking's entry stays until its booking ends).
    #[serde(default)]
    remove: Vec<String>,
}

/// Adds and removes operator entries and sends the charger the
/// difference (a differential update); audited as
/// `charger.local_list.change`.
#[utoipa::path(
    patch,
    path = "/v1/admin/chargers/{id}/local-list",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    request_body = AmendLocalList,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The list after the change", body = LocalListEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: an unregistered id tag, too many, or nothing to do (`field` names it)", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn amend_local_list(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiJson(body): ApiJson<AmendLocalList>,
) -> ApiResult<axum::Json<Value>> {
    if body.add.is_empty() && body.remove.is_empty() {
        return Err(ApiError::bad_request("add", "nothing to add or remove"));
    }
    if let Some(both) = body.add.iter().find(|t| body.remove.contains(t)) {
        return Err(ApiError::bad_request(
            "remove",
            format!("id tag {both} is both added and removed"),
        ));
    }
    let charger = state.charger(&charge_point_id).await?;
    registered(&state, "add", &body.add).await?;
    if body.remove.len() > MAX_TAGS {
        return Err(ApiError::bad_request(
            "remove",
            format!("at most {MAX_TAGS} id tags per request"),
        ));
    }
    let details = json!({ "add": body.add, "remove": body.remove });
    // Two changes, two versions; the charger gets one differential
    // update carrying both.
    if !body.remove.is_empty() {
        state
            .store
            .change_local_list(charger.id, &ListChange::Remove(body.remove))
            .await?;
    }
    changed(&state, &admin, &charger, ListChange::Add(body.add), details).await
}

/// Asks the charger what list it holds (GetLocalListVersion) and how it
/// is set (GetConfiguration / GetVariables), then brings it to evgate's
/// version; audited as `charger.local_list.sync`.
#[utoipa::path(
    post,
    path = "/v1/admin/chargers/{id}/local-list/sync",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The list and what the charger said", body = LocalListEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_NEVER_CONNECTED`: the charger has never connected", body = ErrorEnvelope),
    ),
)]
async fn sync_local_list(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    let sync = state
        .local_lists
        .sync(&charger, &*via(&state), true)
        .await
        .map_err(sync_error)?;
    state
        .audit(
            &admin,
            "charger.local_list.sync",
            &charge_point_id,
            json!({ "outcome": sync.outcome, "chargerVersion": sync.charger_version }),
            "ACCEPTED",
        )
        .await;
    let list = state.store.local_list(charger.id).await?;
    Ok(ok(view(&charger, &list)))
}
