//! The audit log: who did what to which thing, newest first.

use axum::extract::{Query, State};
use maud::html;
use serde::Deserialize;

use super::failure::PageResult;
use super::layout::{PageNo, page as layout, urlencode, when};
use super::session::Signed;
use crate::AppState;

const PER_PAGE: u32 = 100;

#[derive(Debug, Deserialize)]
pub(super) struct AuditQuery {
    target: Option<String>,
    page: Option<u32>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<AuditQuery>,
) -> PageResult {
    let target = query
        .target
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let at = PageNo::new(query.page, PER_PAGE);
    let (entries, total) = state.store.audit_entries(at.rows(), target).await?;
    let base = match target {
        Some(t) => format!("/console/audit?target={}", urlencode(t)),
        None => "/console/audit".to_owned(),
    };
    Ok(layout(
        "Audit log",
        Some(&signed),
        html! {
            form.inline method="get" action="/console/audit" role="search" {
                label { "Only about (charger id, id tag, booking id…)" input type="search" name="target" value=[target]; }
                button type="submit" { "Filter" }
            }
            div.scroll {
                table #audit {
                    thead { tr { th { "At" } th { "Who" } th { "Action" } th { "Target" } th { "Outcome" } th { "Details" } } }
                    tbody {
                        @for e in &entries {
                            tr {
                                td { (when(e.at)) } td { (e.actor) } td { (e.action) } td { (e.target) }
                                td { (e.outcome) }
                                td { details { summary { "details" } pre { (serde_json::to_string_pretty(&e.details).unwrap_or_default()) } } }
                            }
                        }
                    }
                }
            }
            (at.nav(total, &base))
        },
    ))
}
