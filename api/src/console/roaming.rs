//! Roaming partners (OCPI): where each stands in the handshake, what it is
//! owed and since when, and (admins) inviting one — its token A shown once —
//! or removing one.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::failure::{PageResult, uuid_of};
use super::layout::{csrf, page as layout, when};
use super::session::Signed;
use crate::AppState;

pub(super) async fn page(State(state): State<AppState>, signed: Signed) -> PageResult {
    let partners = state.ocpi.store.partners().await?;
    let backlog = state.ocpi.store.push_backlog().await?;
    let enabled = state.ocpi.settings.as_ref();
    Ok(layout(
        "Roaming partners (OCPI)",
        Some(&signed),
        html! {
            @match enabled {
                None => p.muted { "OCPI is off: set OCPI_COUNTRY_CODE and OCPI_PARTY_ID." },
                Some(s) => p.muted { "This CPO is " code { (s.party.country_code) "-" (s.party.party_id) }
                    " (" (s.business_name) "); partners start at " code { "/ocpi/versions" } "." },
            }
            div.scroll {
                table #partners {
                    thead { tr { th { "Name" } th { "State" } th { "Version" } th { "Party" }
                                 th { "Modules" } th { "Owed" } th { "Last error" } th { "Since" } th {} } }
                    tbody {
                        @for p in &partners {
                            @let owed = backlog.iter().find(|b| b.partner_id == p.id);
                            tr data-partner=(p.id) {
                                td { (p.name) }
                                td.status { (p.state.as_str()) }
                                td { (p.version.map_or("—", ocpi::OcpiVersion::as_str)) }
                                td { (p.country_code.as_deref().unwrap_or("—")) "-" (p.party_id.as_deref().unwrap_or("—")) }
                                td { @for e in &p.endpoints { code { (e.identifier) } " " } }
                                td.owed { @match owed {
                                    Some(b) => { (b.waiting) " (next try " (when(b.next_attempt)) ")" },
                                    None => "—",
                                } }
                                td { (owed.and_then(|b| b.last_error.as_deref()).unwrap_or("—")) }
                                td { (when(p.created_at)) }
                                td {
                                    @if signed.is_admin() {
                                        form method="post" action={ "/console/roaming/" (p.id) "/delete" } {
                                            (csrf(&signed))
                                            button type="submit" { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if signed.is_admin() && enabled.is_some() {
                h2 { "Invite a partner" }
                form.inline method="post" action="/console/roaming" {
                    (csrf(&signed))
                    label { "Name" input name="name" required maxlength="100"; }
                    button type="submit" { "Invite" }
                }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// Invites a partner as the signed-in admin (audited); the page shows its
/// token A once.
pub(super) async fn invite(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<InviteForm>,
) -> PageResult {
    signed.may_change(&form.csrf)?;
    let (partner, token) =
        crate::ocpi_partners::invite(&state, signed.operator.actor(), &form.name).await?;
    Ok(layout(
        "Partner invited",
        Some(&signed),
        html! {
            p { "Give " strong { (partner.name) } " this token A and the versions URL, "
                code { "/ocpi/versions" } " on this gateway's public address. It is shown only now." }
            p { code #token-a { (token) } }
            p { a href="/console/roaming" { "Back to the partners" } }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct DeleteForm {
    #[serde(default)]
    csrf: String,
}

/// Removes a partner as the signed-in admin (audited).
pub(super) async fn delete(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let id = uuid_of("id", &id, "a partner")?;
    crate::ocpi_partners::remove(&state, signed.operator.actor(), id).await?;
    Ok(Redirect::to("/console/roaming").into_response())
}
