//! Vendor clouds and their webhook inbox: entries by state, a dead one
//! requeued.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use booking::model::Page;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;
use webhooks::InboxState;

use super::failure::{PageResult, uuid_of};
use super::layout::{csrf, page as layout, when};
use super::session::Signed;
use crate::{ApiError, AppState};

const SHOWN: u32 = 100;

#[derive(Debug, Deserialize)]
pub(super) struct InboxQuery {
    state: Option<String>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<InboxQuery>,
) -> PageResult {
    let filter = match query.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(InboxState::parse(raw).ok_or_else(|| {
            ApiError::bad_request("state", "must be PENDING, WAITING, DONE or DEAD")
        })?),
    };
    let first = Page {
        limit: SHOWN,
        offset: 0,
    };
    let (vendors, _) = state.webhooks.vendors(first).await?;
    let (entries, total) = state.webhooks.entries(filter, first).await?;
    let name_of = |id: Uuid| {
        vendors
            .iter()
            .find(|v| v.id == id)
            .map_or_else(|| id.to_string(), |v| v.name.clone())
    };
    Ok(layout(
        "Vendors and webhooks",
        Some(&signed),
        html! {
            h2 { "Vendors" }
            div.scroll {
                table #vendors {
                    thead { tr { th { "Name" } th { "Id" } th { "Since" } th { "Previous secret valid until" } } }
                    tbody {
                        @for v in &vendors {
                            tr { td { (v.name) } td { code { (v.id) } } td { (when(v.created_at)) }
                                 td { (v.previous_secret_expires_at.map_or("—".to_owned(), when)) } }
                        }
                    }
                }
            }
            h2 { "Webhook inbox" }
            form.inline method="get" action="/console/vendors" {
                label { "State"
                    select name="state" {
                        option value="" selected[filter.is_none()] { "Any" }
                        @for s in InboxState::ALL { option value=(s.as_str()) selected[filter == Some(s)] { (s.as_str()) } }
                    }
                }
                button type="submit" { "Show" }
            }
            p.muted { (total) " entries" @if total > u64::from(SHOWN) { " (the newest " (SHOWN) " shown)" } }
            div.scroll {
                table #inbox {
                    thead { tr { th { "Received" } th { "Vendor" } th { "Kind" } th { "State" } th { "Attempts" } th { "Last error" } th {} } }
                    tbody {
                        @for e in &entries {
                            tr data-entry=(e.id) data-state=(e.state.as_str()) {
                                td { (when(e.received_at)) }
                                td { (name_of(e.vendor_id)) }
                                td { (e.kind.as_str()) }
                                td.status { (e.state.as_str()) }
                                td { (e.attempts) }
                                td { (e.last_error.as_deref().unwrap_or("—")) }
                                td {
                                    @if signed.is_admin() && e.state == InboxState::Dead {
                                        form method="post" action={ "/console/webhooks/" (e.id) "/retry" } {
                                            (csrf(&signed))
                                            button type="submit" { "Retry" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct RetryForm {
    #[serde(default)]
    csrf: String,
}

/// Requeues a dead entry as the signed-in admin (audited).
pub(super) async fn retry(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<RetryForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let id = uuid_of("id", &id, "an inbox entry")?;
    crate::webhook_inbox::retry(&state, signed.operator.actor(), id).await?;
    Ok(Redirect::to("/console/vendors?state=DEAD").into_response())
}
