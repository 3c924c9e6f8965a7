//! Chargers waiting to be placed: they connected with an identity nobody
//! registered (`OCPP_AUTO_REGISTER`); an admin places one at a station.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use booking::model::Page;
use booking::provisioning::ChargerInput;
use maud::html;
use serde::Deserialize;

use super::failure::{PageResult, uuid_of};
use super::layout::{csrf, page as layout, urlencode, when};
use super::session::Signed;
use crate::AppState;

/// Listed at once: the waiting room is small in practice.
const SHOWN: u32 = 200;

pub(super) async fn page(State(state): State<AppState>, signed: Signed) -> PageResult {
    let first = |limit| Page { limit, offset: 0 };
    let (waiting, total) = state.store.unassigned_chargers(first(SHOWN)).await?;
    let (stations, _) = state.store.stations(first(SHOWN)).await?;
    Ok(layout(
        "Unassigned chargers",
        Some(&signed),
        html! {
            p.muted { (total) " chargers connected with an identity nobody registered; they wait, Pending, until placed." }
            div.scroll {
                table #unassigned {
                    thead { tr { th { "Charger" } th { "OCPP" } th { "Vendor · model · serial" } th { "First seen" } th { "Last seen" } th {} } }
                    tbody {
                        @for c in &waiting {
                            tr data-charger=(c.charge_point_id) {
                                td { code { (c.charge_point_id) } }
                                td { (c.ocpp_version.map_or("—", |v| v.as_str())) }
                                td { (c.vendor.as_deref().unwrap_or("—")) " · " (c.model.as_deref().unwrap_or("—")) " · " (c.serial_number.as_deref().unwrap_or("—")) }
                                td { (when(c.first_seen_at)) }
                                td { (when(c.last_seen_at)) }
                                td {
                                    @if signed.is_admin() && !stations.is_empty() {
                                        form.inline method="post" action={ "/console/unassigned/" (urlencode(&c.charge_point_id)) "/place" } {
                                            (csrf(&signed))
                                            label { "Station" select name="station" { @for s in &stations { option value=(s.id) { (s.name) } } } }
                                            label { "Profile" select name="securityProfile" { @for p in 0..=3 { option value=(p) { (p) } } } }
                                            label { "Password (profiles 1, 2)" input type="password" name="password" autocomplete="new-password" minlength="16" maxlength="40"; }
                                            button type="submit" { "Place" }
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
pub(super) struct PlaceForm {
    #[serde(default)]
    csrf: String,
    station: String,
    #[serde(rename = "securityProfile")]
    security_profile: u8,
    #[serde(default)]
    password: String,
}

/// Registers the waiting charger at the station (audited); it reconnects
/// as that charger.
pub(super) async fn place(
    State(state): State<AppState>,
    signed: Signed,
    Path(charge_point_id): Path<String>,
    Form(form): Form<PlaceForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let station = uuid_of("station", &form.station, "a station")?;
    let input = ChargerInput {
        charge_point_id: charge_point_id.clone(),
        security_profile: form.security_profile,
        password: Some(form.password).filter(|p| !p.is_empty()),
    };
    let charger =
        crate::admin::register_charger(&state, signed.operator.actor(), station, input).await?;
    Ok(Redirect::to(&format!(
        "/console/chargers/{}",
        urlencode(&charger.charge_point_id)
    ))
    .into_response())
}
