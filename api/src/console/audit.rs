//! The audit log: who did what to which thing, newest first.

use axum::extract::{Query, State};
use booking::model::Page;
use maud::html;
use serde::Deserialize;

use super::failure::PageResult;
use super::layout::{page as layout, when};
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
    let number = query.page.unwrap_or(1).max(1);
    let (entries, total) = state
        .store
        .audit_entries(
            Page {
                limit: PER_PAGE,
                offset: u64::from(number - 1) * u64::from(PER_PAGE),
            },
            target,
        )
        .await?;
    let pages = total.div_ceil(u64::from(PER_PAGE)).max(1);
    let link = |n: u32| {
        let t: String =
            form_urlencoded::byte_serialize(target.unwrap_or_default().as_bytes()).collect();
        format!("/console/audit?target={t}&page={n}")
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
            nav.pages aria-label="Pages" {
                @if number > 1 { a href=(link(number - 1)) { "← Newer" } }
                span { "Page " (number) " of " (pages) }
                @if u64::from(number) < pages { a href=(link(number + 1)) { "Older →" } }
            }
        },
    ))
}
