//! Id tags: the registered ones, paged; register one; accept or block one
//! (a tag that may no longer charge leaves the connected chargers' caches).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use booking::model::{IdTag, IdTagStatus};
use maud::html;
use serde::Deserialize;

use super::failure::PageResult;
use super::layout::{PageNo, csrf, page as layout, urlencode, when};
use super::session::Signed;
use crate::{ApiError, AppState};

const PER_PAGE: u32 = 100;
const STATUSES: [IdTagStatus; 4] = [
    IdTagStatus::Accepted,
    IdTagStatus::Blocked,
    IdTagStatus::Expired,
    IdTagStatus::Invalid,
];

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    page: Option<u32>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let at = PageNo::new(query.page, PER_PAGE);
    let (tags, total) = state.store.id_tags(at.rows()).await?;
    Ok(layout(
        "Id tags",
        Some(&signed),
        html! {
            @if signed.is_admin() {
                form.inline #register method="post" action="/console/id-tags" {
                    (csrf(&signed))
                    label { "Id tag" input type="text" name="idTag" required maxlength="36"; }
                    label { "Status" select name="status" { @for s in STATUSES { option value=(s.as_str()) { (s.as_str()) } } } }
                    button type="submit" { "Register" }
                }
            }
            p.muted { (total) " id tags" }
            div.scroll {
                table #id-tags {
                    thead { tr { th { "Id tag" } th { "Status" } th { "Expires" } th { "Group" } th { "User" } th {} } }
                    tbody {
                        @for t in &tags {
                            tr data-id-tag=(t.id_tag) {
                                td { code { (t.id_tag) } }
                                td.status { (t.status.as_str()) }
                                td { (t.expiry_date.map_or("—".to_owned(), when)) }
                                td { (t.parent_id_tag.as_deref().unwrap_or("—")) }
                                td { (t.user_id.map_or("—".to_owned(), |u| u.to_string())) }
                                td {
                                    @if signed.is_admin() {
                                        @let next = if t.status == IdTagStatus::Accepted { IdTagStatus::Blocked } else { IdTagStatus::Accepted };
                                        form method="post" action={ "/console/id-tags/" (urlencode(&t.id_tag)) "/status" } {
                                            (csrf(&signed))
                                            input type="hidden" name="status" value=(next.as_str());
                                            button.danger[next == IdTagStatus::Blocked] type="submit" {
                                                @if next == IdTagStatus::Blocked { "Block" } @else { "Accept" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (at.nav(total, "/console/id-tags"))
        },
    ))
}

fn status_of(raw: &str) -> Result<IdTagStatus, ApiError> {
    raw.parse()
        .map_err(|e: String| ApiError::bad_request("status", e))
}

#[derive(Debug, Deserialize)]
pub(super) struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(rename = "idTag")]
    id_tag: String,
    status: String,
}

/// Registers a tag as the signed-in admin (audited).
pub(super) async fn register(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<RegisterForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let tag = IdTag {
        id_tag: form.id_tag.trim().to_owned(),
        status: status_of(&form.status)?,
        expiry_date: None,
        parent_id_tag: None,
        user_id: None,
    };
    let tag = booking::id_tags::register(&*state.store, &*state.clock, tag).await?;
    crate::id_tags::after_change(&state, signed.operator.actor(), "id_tag.create", &tag).await?;
    Ok(Redirect::to("/console/id-tags").into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct StatusForm {
    #[serde(default)]
    csrf: String,
    status: String,
}

/// Accepts or blocks a tag as the signed-in admin (audited; a blocked tag
/// leaves the connected chargers' caches and lists).
pub(super) async fn set_status(
    State(state): State<AppState>,
    signed: Signed,
    Path(id_tag): Path<String>,
    Form(form): Form<StatusForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let change = booking::id_tags::IdTagChange {
        status: Some(status_of(&form.status)?),
        expiry_date: None,
        parent_id_tag: None,
    };
    let tag = booking::id_tags::update(&*state.store, &*state.clock, &id_tag, change).await?;
    crate::id_tags::after_change(&state, signed.operator.actor(), "id_tag.update", &tag).await?;
    Ok(Redirect::to("/console/id-tags").into_response())
}
