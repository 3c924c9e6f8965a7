//! Chargers: the searchable list, and one charger's page — its facts,
//! connectors with live status, OCPP commands with the charger's answer,
//! and its message journal.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use booking::model::{Charger, ChargerAdmission, OcppVersion, SecurityProfile};
use evgate_operator::CredentialChange;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::failure::{Failure, PageResult};
use super::layout::{PageNo, csrf, page, urlencode, when};
use super::session::Signed;
use crate::{ApiError, AppState};

/// Chargers per page of the list.
const PER_PAGE: u32 = 50;
/// Journal frames shown on a charger's page (the download has them all).
const JOURNAL_SHOWN: usize = 50;

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    q: Option<String>,
    page: Option<u32>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let search = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let at = PageNo::new(query.page, PER_PAGE);
    let (chargers, total) = state.views.find_chargers(search, at.rows()).await?;
    let base = match search {
        Some(q) => format!("/console/chargers?q={}", urlencode(q)),
        None => "/console/chargers".to_owned(),
    };
    Ok(page(
        "Chargers",
        Some(&signed),
        html! {
            form.inline method="get" action="/console/chargers" role="search" {
                label { "Charger id contains" input type="search" name="q" value=[search]; }
                button type="submit" { "Search" }
            }
            p.muted { (total) " chargers" @if search.is_some() { " match" } }
            div.scroll {
                table #chargers {
                    thead { tr { th { "Charger" } th { "OCPP" } th { "Online" } th { "Vendor · model" } th { "Last seen" } } }
                    tbody {
                        @for c in &chargers {
                            tr {
                                td { a href={ "/console/chargers/" (urlencode(&c.charge_point_id)) } { (c.charge_point_id) } }
                                td { (c.ocpp_version.map_or("—", OcppVersion::as_str)) }
                                td { @if c.online { span.ok { "online" } } @else { span.muted { "offline" } } }
                                td { (c.vendor.as_deref().unwrap_or("—")) " · " (c.model.as_deref().unwrap_or("—")) }
                                td { (c.last_seen_at.map_or("never".to_owned(), when)) }
                            }
                        }
                    }
                }
            }
            (at.nav(total, &base))
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct DetailQuery {
    action: Option<String>,
}

pub(super) async fn detail(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<DetailQuery>,
) -> PageResult {
    let charger = state.charger(&id).await?;
    let filter = query.action.filter(|a| !a.trim().is_empty());
    detail_page(&state, &signed, &charger, filter.as_deref(), None).await
}

/// What the last change came back with, shown above the forms.
enum Answer {
    /// The charger answered a command with this payload.
    Answered(String, Value),
    /// A change was made; what happened, in a sentence.
    Done(String),
    /// A change failed, and why.
    Failed(String, ApiError),
}

async fn detail_page(
    state: &AppState,
    signed: &Signed,
    charger: &Charger,
    filter: Option<&str>,
    answer: Option<&Answer>,
) -> PageResult {
    let connectors = connector_table(state, charger).await?;
    let journal =
        crate::journal::read(state, &charger.charge_point_id, JOURNAL_SHOWN, filter).await?;
    let id = urlencode(&charger.charge_point_id);
    Ok(page(
        &format!("Charger {}", charger.charge_point_id),
        Some(signed),
        html! {
            dl.facts.card {
                dt { "Online" } dd #online { @if charger.online { span.ok { "online" } } @else { span.muted { "offline" } } }
                dt { "OCPP" } dd { (charger.ocpp_version.map_or("never connected", OcppVersion::as_str)) }
                dt { "Security profile" } dd { (charger.security_profile) }
                dt { "Admission" } dd { (charger.admission.map_or("default policy", |a| a.as_str())) }
                dt { "Vendor · model · firmware" } dd {
                    (charger.vendor.as_deref().unwrap_or("—")) " · " (charger.model.as_deref().unwrap_or("—"))
                    " · " (charger.firmware_version.as_deref().unwrap_or("—"))
                }
                dt { "Last seen" } dd { (charger.last_seen_at.map_or("never".to_owned(), when)) }
            }
            h2 { "Connectors" }
            div #connectors data-refresh={ "/console/chargers/" (id) "/connectors.frag" } { (connectors) }
            h2 #commands { "Commands" }
            @match answer {
                Some(Answer::Answered(action, response)) => div #answer role="status" {
                    p.ok { "The charger answered " (action) ":" }
                    pre { (serde_json::to_string_pretty(response).unwrap_or_default()) }
                },
                Some(Answer::Done(what)) => div #answer role="status" { p.ok { (what) } },
                Some(Answer::Failed(action, error)) => div #answer role="alert" {
                    p.error { (action) " failed: " (error) }
                },
                None => {}
            }
            @if signed.is_admin() {
                (command_forms(signed, charger, &id))
                h2 #access { "Admission and credentials" }
                (access_forms(signed, charger, &id))
                form.inline #delete-charger method="post" action={ "/console/chargers/" (id) "/delete" }
                    data-confirm="Remove this charger with its connectors? Refused while bookings or holds are live, or when bookings or sessions ever used it." {
                    (csrf(signed))
                    button.danger type="submit" { "Remove charger" }
                }
            } @else {
                p.muted { "Viewers cannot send commands or change admission and credentials." }
            }
            h2 #journal { "OCPP messages" }
            form.inline method="get" action={ "/console/chargers/" (id) } {
                label { "Only action" input type="text" name="action" value=[filter] placeholder="e.g. BootNotification"; }
                button type="submit" { "Filter" }
                a href={ "/console/chargers/" (id) "/messages.jsonl" } download { "Download all (JSON Lines)" }
            }
            (journal_table(&journal))
        },
    ))
}

fn command_forms(signed: &Signed, charger: &Charger, id: &str) -> Markup {
    let mut messages = vec![
        "BootNotification",
        "Heartbeat",
        "StatusNotification",
        "MeterValues",
        "FirmwareStatusNotification",
    ];
    messages.push(match charger.ocpp_version {
        Some(OcppVersion::V201) => "LogStatusNotification",
        _ => "DiagnosticsStatusNotification",
    });
    let action = format!("/console/chargers/{id}/commands");
    html! {
        form.inline #trigger method="post" action=(action) {
            (csrf(signed))
            input type="hidden" name="action" value="TriggerMessage";
            label { "TriggerMessage: ask the charger for"
                select name="requestedMessage" {
                    @for m in &messages { option value=(m) { (m) } }
                }
            }
            button type="submit" { "Send TriggerMessage" }
        }
        form #any-command method="post" action=(action) {
            (csrf(signed))
            label { "Any OCPP action (in the charger's version)" input type="text" name="action" required placeholder="e.g. GetConfiguration"; }
            label { "Payload (JSON)" textarea name="payload" { "{}" } }
            button type="submit" { "Send command" }
        }
    }
}

fn access_forms(signed: &Signed, charger: &Charger, id: &str) -> Markup {
    let current = charger.admission.map(|a| a.as_str());
    let profiles = charger.security_profile.get()..=3;
    html! {
        form.inline #admission method="post" action={ "/console/chargers/" (id) "/admission" } {
            (csrf(signed))
            label { "How its boot is answered"
                select name="status" {
                    option value="" selected[current.is_none()] { "The default policy" }
                    @for a in ["ACCEPTED", "PENDING", "REJECTED"] {
                        option value=(a) selected[current == Some(a)] { (a) }
                    }
                }
            }
            button type="submit" { "Set admission" }
        }
        form.inline #credentials method="post" action={ "/console/chargers/" (id) "/credentials" } {
            (csrf(signed))
            label { "New password (16 to 40 characters; empty keeps it)"
                input type="password" name="password" autocomplete="new-password" minlength="16" maxlength="40";
            }
            label { "Security profile (only upwards)"
                select name="securityProfile" {
                    @for p in profiles {
                        option value=(p) selected[p == charger.security_profile.get()] { (p) }
                    }
                }
            }
            button type="submit" { "Rotate credentials" }
        }
    }
}

fn journal_table(frames: &Value) -> Markup {
    let frames = frames.as_array().map(Vec::as_slice).unwrap_or_default();
    html! {
        @if frames.is_empty() {
            p.muted { "No messages here (never connected since this instance started, or journals are off)." }
        } @else {
            div.scroll {
                table #messages {
                    thead { tr { th { "At" } th { "Direction" } th { "Type" } th { "Action" } th { "Payload" } } }
                    tbody {
                        @for f in frames {
                            tr {
                                td { (f["at"].as_str().unwrap_or_default()) }
                                td { (f["direction"].as_str().unwrap_or_default()) }
                                td { (f["messageType"].as_str().unwrap_or_default()) }
                                td.action { (f["action"].as_str().unwrap_or("—")) }
                                td { details { summary { "payload" } pre { (serde_json::to_string_pretty(&f["payload"]).unwrap_or_default()) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn connector_table(state: &AppState, charger: &Charger) -> PageResult {
    let connectors = state.store.connectors_of_charger(charger.id).await?;
    Ok(html! {
        div.scroll {
            table {
                thead { tr { th { "Connector" } th { "EVSE · OCPP id" } th { "Type · kW" } th { "Status" } th { "Since" } } }
                tbody {
                    @for c in &connectors {
                        tr data-connector=(c.connector_number) {
                            td { (c.connector_number) }
                            td { (c.evse_id) " · " (c.ocpp_connector_id) }
                            td { (c.connector_type) " · " (c.power_kw) }
                            td.status.{"status-" (c.status.as_str())} { (c.status.as_str()) }
                            td { (when(c.status_updated_at)) }
                        }
                    }
                }
            }
        }
    })
}

/// The live part of a charger's page.
pub(super) async fn connectors(
    State(state): State<AppState>,
    _signed: Signed,
    Path(id): Path<String>,
) -> PageResult {
    let charger = state.charger(&id).await?;
    connector_table(&state, &charger).await
}

#[derive(Debug, Deserialize)]
pub(super) struct CommandForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(rename = "requestedMessage")]
    requested_message: Option<String>,
    payload: Option<String>,
}

/// Sends a command as the signed-in admin and shows the charger's answer
/// on its page (audited as `operator:NAME`).
pub(super) async fn command(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CommandForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let charger = state.charger(&id).await?;
    let action = form.action.trim().to_owned();
    let payload = match (
        &form.requested_message,
        form.payload.as_deref().map(str::trim),
    ) {
        (Some(message), _) => serde_json::json!({ "requestedMessage": message }),
        (None, None | Some("")) => serde_json::json!({}),
        (None, Some(text)) => serde_json::from_str(text)
            .map_err(|e| ApiError::bad_request("payload", format!("is not JSON: {e}")))?,
    };
    let (status, answer) = match crate::chargers::command(
        &state,
        signed.operator.actor(),
        &charger.charge_point_id,
        &action,
        payload,
    )
    .await
    {
        Ok(response) => (StatusCode::OK, Answer::Answered(action, response)),
        Err(e) => (e.status(), Answer::Failed(action, e)),
    };
    let body = detail_page(&state, &signed, &charger, None, Some(&answer)).await?;
    Ok((status, body).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct AdmissionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

/// Sets how the charger's boot is answered (audited); a connected charger
/// is asked to boot again.
pub(super) async fn admission(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<AdmissionForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let admission = match form.status.as_str() {
        "" => None,
        other => Some(other.parse::<ChargerAdmission>().map_err(|_| {
            ApiError::bad_request("status", "must be ACCEPTED, PENDING, REJECTED or empty")
        })?),
    };
    let (charger, triggered) =
        crate::chargers::admit(&state, signed.operator.actor(), &id, admission).await?;
    let done = format!(
        "Admission set to {}{}",
        admission.map_or("the default policy", |a| a.as_str()),
        if triggered {
            "; the charger was asked to boot again."
        } else {
            "; it applies at its next boot."
        }
    );
    let body = detail_page(&state, &signed, &charger, None, Some(&Answer::Done(done))).await?;
    Ok(body.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct CredentialsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(rename = "securityProfile")]
    security_profile: Option<u8>,
}

/// Rotates the charger's password and/or security profile as the signed-in
/// admin (the rotation audits itself): the charger's answer, or the change
/// queued for its next connection.
pub(super) async fn credentials(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CredentialsForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let charger = state.charger(&id).await?;
    let profile = form
        .security_profile
        .filter(|p| *p != charger.security_profile.get())
        .map(SecurityProfile::try_from)
        .transpose()
        .map_err(|e| ApiError::bad_request("securityProfile", e))?;
    let change = CredentialChange {
        password: Some(form.password).filter(|p| !p.is_empty()),
        security_profile: profile,
    };
    let (status, answer) = match state
        .rotation
        .rotate(&signed.operator.actor(), &id, change)
        .await
    {
        Ok(rotation) => {
            let what = match rotation.outcome() {
                "PENDING" => {
                    "The charger is away: the change waits for its next connection.".to_owned()
                }
                outcome => format!("The charger answered the rotation: {outcome}."),
            };
            (StatusCode::OK, Answer::Done(what))
        }
        Err(e) => {
            let e = ApiError::from(e);
            (
                e.status(),
                Answer::Failed("Rotating the credentials".into(), e),
            )
        }
    };
    let charger = state.charger(&id).await?;
    let body = detail_page(&state, &signed, &charger, None, Some(&answer)).await?;
    Ok((status, body).into_response())
}

/// Removes the charger with its connectors (audited) and lets it go if
/// connected, unless bookings, holds or history stand in the way.
pub(super) async fn delete(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<super::sign_in::CsrfForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let charger = state.charger(&id).await?;
    let removed = crate::site_edits::remove(
        &state,
        signed.operator.actor(),
        booking::store::SiteThing::Charger(charger.id),
    )
    .await?;
    Ok(Redirect::to(&format!("/console/stations/{}", removed.station_id)).into_response())
}

/// The whole journal as a file, for a signed-in operator.
pub(super) async fn journal_download(
    State(state): State<AppState>,
    _signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    Ok(crate::journal::jsonl(&state, &id).await?)
}
