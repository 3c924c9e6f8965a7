//! `GET /v1/admin/audit`: what operators did (and what evgate did later on
//! their behalf), newest first; `?target=` narrows it to one charger or id
//! tag.

use axum::extract::State;
use booking::audit::AuditEntry;
use booking::catalog;
use booking::iso;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiResult, ok};
use super::extract::ApiQuery;
use super::openapi::envelope;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Entries per page, 1 to 200 (default 50).
    limit: Option<i64>,
    /// Entries to skip (default 0).
    offset: Option<i64>,
    /// Only entries about this target (a charger identity, an id tag, …).
    target: Option<String>,
}

/// One thing an operator did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AuditJson<'a> {
    id: i64,
    at: String,
    /// The operator's token `sub` (or what acted on their behalf).
    actor: &'a str,
    #[schema(example = "charger.command")]
    action: &'a str,
    target: &'a str,
    /// What was done, as the action records it.
    #[schema(value_type = Object)]
    details: &'a serde_json::Value,
    #[schema(example = "ANSWERED")]
    outcome: &'a str,
}

/// A page of audit entries.
#[derive(Debug, Serialize, ToSchema)]
struct AuditList<'a> {
    entries: Vec<AuditJson<'a>>,
    total: u64,
    limit: u32,
    offset: u64,
}

envelope!(
    /// A page of audit entries.
    AuditListEnvelope,
    AuditList<'static>
);

impl<'a> From<&'a AuditEntry> for AuditJson<'a> {
    fn from(e: &'a AuditEntry) -> Self {
        Self {
            id: e.id,
            at: iso(e.at),
            actor: &e.actor,
            action: &e.action,
            target: &e.target,
            details: &e.details,
            outcome: &e.outcome,
        }
    }
}

/// What operators did, newest first.
#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    tag = "admin",
    params(AuditQuery),
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "A page of audit entries", body = AuditListEnvelope)),
)]
async fn list_audit(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let page = catalog::page(q.limit, q.offset)?;
    let (entries, total) = state.store.audit_entries(page, q.target.as_deref()).await?;
    let entries: Vec<AuditJson> = entries.iter().map(AuditJson::from).collect();
    Ok(ok(AuditList {
        entries,
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}
