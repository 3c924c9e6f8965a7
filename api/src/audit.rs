//! `GET /v1/admin/audit`: what operators did (and what evgate did later on
//! their behalf), newest first; `?target=` narrows it to one charger or id
//! tag.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use booking::audit::AuditEntry;
use booking::catalog;
use booking::iso;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiResult, ok};
use super::extract::ApiQuery;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/audit", get(list_audit))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    limit: Option<i64>,
    offset: Option<i64>,
    target: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditJson<'a> {
    id: i64,
    at: String,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    details: &'a serde_json::Value,
    outcome: &'a str,
}

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

async fn list_audit(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let page = catalog::page(q.limit, q.offset)?;
    let (entries, total) = state.store.audit_entries(page, q.target.as_deref()).await?;
    let entries: Vec<AuditJson> = entries.iter().map(AuditJson::from).collect();
    Ok(ok(serde_json::json!({
        "entries": entries, "total": total, "limit": page.limit, "offset": page.offset,
    })))
}
