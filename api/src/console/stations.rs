//! Stations: the list with a plain coordinate plot (map tiles are not
//! reachable offline), one station with its chargers and connectors, and
//! creating each of them (audited as the operator).

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use booking::provisioning::{ChargerInput, ConnectorChange, ConnectorInput, StationInput};
use booking::store::SiteThing;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::failure::{PageResult, uuid_of};
use super::layout::{PageNo, csrf, page as layout, when};
use super::session::Signed;
use crate::{ApiError, AppState};

const PER_PAGE: u32 = 50;

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    page: Option<u32>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let at = PageNo::new(query.page, PER_PAGE);
    let (stations, total) = state.store.stations(at.rows()).await?;
    Ok(layout(
        "Stations",
        Some(&signed),
        html! {
            @if signed.is_admin() {
                form.inline #new-station method="post" action="/console/stations" {
                    (csrf(&signed))
                    label { "Name" input type="text" name="name" required maxlength="200"; }
                    label { "Latitude" input type="number" name="latitude" required step="any" min="-90" max="90"; }
                    label { "Longitude" input type="number" name="longitude" required step="any" min="-180" max="180"; }
                    label { "Address" input type="text" name="address" maxlength="500"; }
                    button type="submit" { "Create station" }
                }
            }
            // The page's stations on the globe: longitude across, latitude up.
            svg.plot viewBox="-180 -90 360 180" role="img" aria-label="Where this page's stations are" {
                line x1="-180" y1="0" x2="180" y2="0" {}
                line x1="0" y1="-90" x2="0" y2="90" {}
                @for s in &stations {
                    circle cx=(s.longitude) cy=(-s.latitude) r="2" { title { (s.name) } }
                }
            }
            p.muted { (total) " stations" }
            div.scroll {
                table #stations {
                    thead { tr { th { "Station" } th { "Latitude, longitude" } th { "Address" } th { "Since" } } }
                    tbody {
                        @for s in &stations {
                            tr {
                                td { a href={ "/console/stations/" (s.id) } { (s.name) } }
                                td { (format!("{:.5}, {:.5}", s.latitude, s.longitude)) }
                                td { (s.address.as_deref().unwrap_or("—")) }
                                td { (when(s.created_at)) }
                            }
                        }
                    }
                }
            }
            (at.nav(total, "/console/stations"))
        },
    ))
}

fn station_id(raw: &str) -> Result<Uuid, ApiError> {
    uuid_of("station", raw, "a station")
}

pub(super) async fn detail(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let id = station_id(&id)?;
    let station = state
        .store
        .station(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("station {id} not found")))?;
    let at = PageNo::new(query.page, PER_PAGE);
    let (connectors, total) = state.views.station_connectors(id, at.rows()).await?;
    let pager = at.nav(total, &format!("/console/stations/{id}"));
    // The station's chargers, as its connectors name them.
    let mut chargers = BTreeMap::new();
    for c in &connectors {
        if let std::collections::btree_map::Entry::Vacant(slot) = chargers.entry(c.charger_id)
            && let Some(charger) = state.store.charger(c.charger_id).await?
        {
            slot.insert(charger);
        }
    }
    let identity = |charger_id: &Uuid| {
        chargers
            .get(charger_id)
            .map_or("—".to_owned(), |c| c.charge_point_id.clone())
    };
    Ok(layout(
        &format!("Station {}", station.name),
        Some(&signed),
        html! {
            p { (format!("{:.5}, {:.5}", station.latitude, station.longitude)) " · " (station.address.as_deref().unwrap_or("no address"))
                " · " a href={ "/console/bookings?station=" (id) } { "Bookings timeline" } }
            h2 { "Connectors" }
            div.scroll {
                table #station-connectors {
                    thead { tr { th { "Connector" } th { "Charger" } th { "EVSE · OCPP id" } th { "Type · kW" } th { "Status" } } }
                    tbody {
                        @for c in &connectors {
                            tr {
                                td { (c.connector_number) }
                                td { a href={ "/console/chargers/" (identity(&c.charger_id)) } { (identity(&c.charger_id)) } }
                                td { (c.evse_id) " · " (c.ocpp_connector_id) }
                                td { (c.connector_type) " · " (c.power_kw) }
                                td.status.{"status-" (c.status.as_str())} { (c.status.as_str()) }
                            }
                        }
                    }
                }
            }
            (pager)
            @if signed.is_admin() {
                h2 { "Change a connector" }
                form.inline #edit-connector method="post" action="/console/connectors/edit" {
                    (csrf(&signed))
                    label { "Connector"
                        select name="connector" { @for c in &connectors { option value=(c.id) { (c.connector_number) " (" (identity(&c.charger_id)) ")" } } }
                    }
                    label { "New label" input type="text" name="connectorNumber" required maxlength="16"; }
                    label { "Type" input type="text" name="connectorType" required value="CCS" maxlength="32"; }
                    label { "Power, kW" input type="number" name="powerKw" required step="any" min="0.1" value="22"; }
                    button type="submit" { "Change" }
                }
                form.inline #delete-connector method="post" action="/console/connectors/delete"
                    data-confirm="Remove this connector? Refused while bookings or holds are live on it." {
                    (csrf(&signed))
                    label { "Connector"
                        select name="connector" { @for c in &connectors { option value=(c.id) { (c.connector_number) " (" (identity(&c.charger_id)) ")" } } }
                    }
                    button.danger type="submit" { "Remove connector" }
                }
                h2 { "Add a charger" }
                form.inline #new-charger method="post" action={ "/console/stations/" (id) "/chargers" } {
                    (csrf(&signed))
                    label { "Charger id (chargePointId)" input type="text" name="chargePointId" required maxlength="48"; }
                    label { "Security profile" select name="securityProfile" { @for p in 0..=3 { option value=(p) { (p) } } } }
                    label { "Password (profiles 1, 2)" input type="password" name="password" autocomplete="new-password" minlength="16" maxlength="40"; }
                    button type="submit" { "Add charger" }
                }
                h2 { "Add a connector" }
                form.inline #new-connector method="post" action={ "/console/stations/" (id) "/connectors" } {
                    (csrf(&signed))
                    label { "Charger id" input type="text" name="chargePointId" required maxlength="48"; }
                    label { "EVSE" input type="number" name="evseId" min="1" value="1"; }
                    label { "OCPP connector id" input type="number" name="connectorId" required min="1" value="1"; }
                    label { "Label (connectorNumber)" input type="text" name="connectorNumber" maxlength="20"; }
                    label { "Type" input type="text" name="connectorType" required value="CCS" maxlength="40"; }
                    label { "Power, kW" input type="number" name="powerKw" required step="any" min="0.1" value="22"; }
                    button type="submit" { "Add connector" }
                }
                h2 { "Change or remove the station" }
                form.inline #edit-station method="post" action={ "/console/stations/" (id) "/edit" } {
                    (csrf(&signed))
                    label { "Name" input type="text" name="name" required maxlength="200" value=(station.name); }
                    label { "Latitude" input type="number" name="latitude" required step="any" min="-90" max="90" value=(station.latitude); }
                    label { "Longitude" input type="number" name="longitude" required step="any" min="-180" max="180" value=(station.longitude); }
                    label { "Address" input type="text" name="address" maxlength="500" value=[station.address.as_deref()]; }
                    button type="submit" { "Save" }
                }
                form.inline #delete-station method="post" action={ "/console/stations/" (id) "/delete" }
                    data-confirm="Remove this station with its chargers and connectors? Refused while bookings or holds are live, or when bookings or sessions were ever made here." {
                    (csrf(&signed))
                    button.danger type="submit" { "Remove station" }
                }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct StationForm {
    #[serde(default)]
    csrf: String,
    name: String,
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    address: String,
}

pub(super) async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<StationForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let input = StationInput {
        name: form.name,
        latitude: form.latitude,
        longitude: form.longitude,
        address: Some(form.address).filter(|a| !a.trim().is_empty()),
    };
    let station = crate::admin::add_station(&state, signed.operator.actor(), input).await?;
    Ok(Redirect::to(&format!("/console/stations/{}", station.id)).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct ChargerForm {
    #[serde(default)]
    csrf: String,
    #[serde(rename = "chargePointId")]
    charge_point_id: String,
    #[serde(rename = "securityProfile")]
    security_profile: u8,
    #[serde(default)]
    password: String,
}

pub(super) async fn add_charger(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<ChargerForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let id = station_id(&id)?;
    let input = ChargerInput {
        charge_point_id: form.charge_point_id.trim().to_owned(),
        security_profile: form.security_profile,
        password: Some(form.password).filter(|p| !p.is_empty()),
    };
    crate::admin::register_charger(&state, signed.operator.actor(), id, input).await?;
    Ok(Redirect::to(&format!("/console/stations/{id}")).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct ConnectorForm {
    #[serde(default)]
    csrf: String,
    #[serde(rename = "chargePointId")]
    charge_point_id: String,
    #[serde(rename = "evseId")]
    evse_id: Option<i64>,
    #[serde(rename = "connectorId")]
    connector_id: i64,
    #[serde(rename = "connectorNumber", default)]
    connector_number: String,
    #[serde(rename = "connectorType")]
    connector_type: String,
    #[serde(rename = "powerKw")]
    power_kw: f64,
}

pub(super) async fn add_connector(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<ConnectorForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let id = station_id(&id)?;
    let input = ConnectorInput {
        charge_point_id: form.charge_point_id.trim().to_owned(),
        evse_id: form.evse_id,
        connector_id: form.connector_id,
        connector_number: Some(form.connector_number).filter(|n| !n.trim().is_empty()),
        connector_type: form.connector_type,
        power_kw: form.power_kw,
    };
    crate::admin::add_connector(&state, signed.operator.actor(), id, input).await?;
    Ok(Redirect::to(&format!("/console/stations/{id}")).into_response())
}

/// Changes the station as the signed-in admin (audited).
pub(super) async fn edit(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<StationForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let id = station_id(&id)?;
    let input = StationInput {
        name: form.name,
        latitude: form.latitude,
        longitude: form.longitude,
        address: Some(form.address).filter(|a| !a.trim().is_empty()),
    };
    crate::site_edits::edit_station(&state, signed.operator.actor(), id, input).await?;
    Ok(Redirect::to(&format!("/console/stations/{id}")).into_response())
}

/// Removes the station with its chargers and connectors (audited), unless
/// bookings, holds or history stand in the way.
pub(super) async fn delete(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<super::sign_in::CsrfForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let id = station_id(&id)?;
    crate::site_edits::remove(&state, signed.operator.actor(), SiteThing::Station(id)).await?;
    Ok(Redirect::to("/console/stations").into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct EditConnectorForm {
    #[serde(default)]
    csrf: String,
    connector: String,
    #[serde(rename = "connectorNumber")]
    connector_number: String,
    #[serde(rename = "connectorType")]
    connector_type: String,
    #[serde(rename = "powerKw")]
    power_kw: f64,
}

fn connector_id(raw: &str) -> Result<Uuid, ApiError> {
    uuid_of("connector", raw, "a connector")
}

/// Changes a connector's label, type and power (audited).
pub(super) async fn edit_connector(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<EditConnectorForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let change = ConnectorChange {
        connector_number: form.connector_number,
        connector_type: form.connector_type,
        power_kw: form.power_kw,
    };
    let id = connector_id(&form.connector)?;
    let connector =
        crate::site_edits::edit_connector(&state, signed.operator.actor(), id, change).await?;
    Ok(Redirect::to(&format!("/console/stations/{}", connector.station_id)).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct DeleteConnectorForm {
    #[serde(default)]
    csrf: String,
    connector: String,
}

/// Removes a connector (audited), unless bookings, holds or history stand
/// in the way.
pub(super) async fn delete_connector(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<DeleteConnectorForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let id = connector_id(&form.connector)?;
    let removed =
        crate::site_edits::remove(&state, signed.operator.actor(), SiteThing::Connector(id))
            .await?;
    Ok(Redirect::to(&format!("/console/stations/{}", removed.station_id)).into_response())
}
