//! Bookings as a per-connector timeline of one day: holds, confirmed,
//! active and completed bookings, no-shows and cancellations, with cancel.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use booking::model::{BookingStatus, Page};
use booking::service::Caller;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::failure::{PageResult, uuid_of};
use super::layout::{PageNo, csrf, page};
use super::session::Signed;
use crate::{ApiError, AppState};

/// Connectors on one page of a station's timeline.
const CONNECTORS_PER_PAGE: u32 = 20;

#[derive(Debug, Deserialize)]
pub(super) struct TimelineQuery {
    station: Option<String>,
    /// `YYYY-MM-DD` (UTC); today when absent.
    day: Option<String>,
    /// Which page of the station's connectors.
    page: Option<u32>,
}

fn parse_day(day: Option<&str>) -> Result<NaiveDate, ApiError> {
    match day.filter(|d| !d.is_empty()) {
        None => Ok(Utc::now().date_naive()),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_request("day", "must be a date like 2026-12-24")),
    }
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

pub(super) async fn timeline(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<TimelineQuery>,
) -> PageResult {
    let day = parse_day(query.day.as_deref())?;
    let Some(station) = query.station.filter(|s| !s.is_empty()) else {
        return station_list(&state, &signed).await;
    };
    let station_id = uuid_of("station", &station, "a station")?;
    let station = state
        .store
        .station(station_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("station {station_id} not found")))?;
    let at = PageNo::new(query.page, CONNECTORS_PER_PAGE);
    let (connectors, total) = state
        .views
        .station_connectors(station_id, at.rows())
        .await?;
    let pager = at.nav(
        total,
        &format!("/console/bookings?station={station_id}&day={day}"),
    );
    let ids: Vec<Uuid> = connectors.iter().map(|c| c.id).collect();
    let from = start_of(day);
    let to = from + TimeDelta::days(1);
    let (bookings, holds) = state.bookings.claims_between(&ids, from, to).await?;
    let sessions = state.views.sessions_between(&ids, from, to).await?;
    let now = state.clock.now();
    let link = |d: NaiveDate| format!("/console/bookings?station={station_id}&day={d}");
    let back = format!(
        "station={station_id}&day={day}&page={}",
        query.page.unwrap_or(1)
    );
    Ok(page(
        &format!("Bookings · {}", station.name),
        Some(&signed),
        html! {
            form.inline method="get" action="/console/bookings" {
                input type="hidden" name="station" value=(station_id);
                label { "Day (UTC)" input type="date" name="day" value=(day); }
                button type="submit" { "Show" }
                @if let Some(prev) = day.pred_opt() { a href=(link(prev)) { "← Previous day" } }
                @if let Some(next) = day.succ_opt() { a href=(link(next)) { "Next day →" } }
            }
            @for c in &connectors {
                section.connector data-connector=(c.connector_number) {
                    h2 { "Connector " (c.connector_number) " " span.status.{"status-" (c.status.as_str())} { (c.status.as_str()) } }
                    svg.timeline viewBox="0 0 1440 20" preserveAspectRatio="none" role="img"
                        aria-label={ "Bookings on connector " (c.connector_number) " on " (day) } {
                        // SVG inside HTML has no void elements: every one is closed.
                        @for h in 1..24 { line.hour x1=(h * 60) x2=(h * 60) y1="0" y2="20" {} }
                        @for h in holds.iter().filter(|h| h.connector_id == c.id) {
                            (bar(from, h.start_ts, h.end_ts, "PENDING", "hold"))
                        }
                        @for b in bookings.iter().filter(|b| b.connector_id == c.id) {
                            (bar(from, b.start_ts, b.end_ts, b.status.as_str(), b.status.as_str()))
                        }
                        // Sessions as a thin line under the claims: walk-ups too.
                        @for x in sessions.iter().filter(|x| x.connector_id == c.id) {
                            (bar(from, x.started_at, x.ended_at.unwrap_or(now), "session", "session"))
                        }
                    }
                    div.hours aria-hidden="true" { span { "00:00" } span { "06:00" } span { "12:00" } span { "18:00" } span { "24:00" } }
                    @if !holds.iter().any(|h| h.connector_id == c.id)
                        && !bookings.iter().any(|b| b.connector_id == c.id)
                        && !sessions.iter().any(|x| x.connector_id == c.id) {
                        p.muted { "No holds, bookings or sessions this day." }
                    } @else {
                    div.scroll {
                        table.claims {
                            thead { tr { th { "From" } th { "To" } th { "What" } th { "User" } th { "Booking" } th {} } }
                            tbody {
                                @for h in holds.iter().filter(|h| h.connector_id == c.id) {
                                    tr data-kind="hold" {
                                        td { (h.start_ts.format("%H:%M")) } td { (h.end_ts.format("%H:%M")) }
                                        td { "HOLD (until " (h.expires_at.format("%H:%M:%S")) ")" }
                                        td { (h.user_id) } td.muted { "not yet confirmed" } td {}
                                    }
                                }
                                @for x in sessions.iter().filter(|x| x.connector_id == c.id) {
                                    tr data-kind="session" data-session=(x.id) {
                                        td { (x.started_at.format("%H:%M")) }
                                        td { (x.ended_at.map_or("charging".to_owned(), |e| e.format("%H:%M").to_string())) }
                                        td { "SESSION " (x.status.as_str())
                                            @if let Some(kwh) = x.energy_kwh { " · " (format!("{kwh:.1}")) " kWh" }
                                            @if let Some(tag) = &x.id_tag { " · tag " code { (tag) } } }
                                        td {} td { @if let Some(b) = x.booking_id { code { (b) } } @else { span.muted { "walk-up" } } } td {}
                                    }
                                }
                                @for b in bookings.iter().filter(|b| b.connector_id == c.id) {
                                    tr data-booking=(b.id) data-status=(b.status.as_str()) {
                                        td { (b.start_ts.format("%H:%M")) } td { (b.end_ts.format("%H:%M")) }
                                        td.status { (b.status.as_str()) @if b.reserved_on_charger { " · reserved on the charger" } }
                                        td { (b.user_id) } td { code { (b.id) } }
                                        td {
                                            @if signed.is_admin() && matches!(b.status, BookingStatus::Confirmed | BookingStatus::Pending) {
                                                form method="post" action={ "/console/bookings/" (b.id) "/cancel" }
                                                    data-confirm="Cancel this booking? The driver's reservation on the charger ends." {
                                                    (csrf(&signed))
                                                    input type="hidden" name="back" value=(back);
                                                    button.danger type="submit" { "Cancel" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    }
                }
            }
            @if connectors.is_empty() { p.muted { "This station has no connectors." } }
            (pager)
        },
    ))
}

/// A claim or a session as a bar on the day's 1440 minutes, cut to the day.
fn bar(
    day: DateTime<Utc>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    class: &str,
    what: &str,
) -> Markup {
    let minutes = |t: DateTime<Utc>| (t - day).num_minutes().clamp(0, 1440);
    let (x, x2) = (minutes(start), minutes(end));
    // Claims fill the lane; sessions run along its foot.
    let (y, height) = if class == "session" { (16, 4) } else { (2, 13) };
    html! {
        rect class=(class) x=(x) y=(y) width=((x2 - x).max(1)) height=(height) {
            title { (what) " " (start.format("%H:%M")) "–" (end.format("%H:%M")) }
        }
    }
}

async fn station_list(state: &AppState, signed: &Signed) -> PageResult {
    let (stations, total) = state
        .store
        .stations(Page {
            limit: 200,
            offset: 0,
        })
        .await?;
    Ok(page(
        "Bookings",
        Some(signed),
        html! {
            p { "Choose a station to see its connectors' day." }
            p.muted { (total) " stations" @if total > 200 { " (the first 200 shown)" } }
            ul #stations {
                @for s in &stations {
                    li { a href={ "/console/bookings?station=" (s.id) } { (s.name) } }
                }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct CancelForm {
    #[serde(default)]
    csrf: String,
    /// The timeline's query, to return to.
    #[serde(default)]
    back: String,
}

/// Cancels as the signed-in admin (the charger's reservation ends with it),
/// audited, then back to the timeline.
pub(super) async fn cancel(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CancelForm>,
) -> PageResult<Response> {
    signed.may_change(&form.csrf)?;
    let id = uuid_of("id", &id, "a booking")?;
    let operator = Caller {
        user_id: 0,
        admin: true,
    };
    let result = state.bookings.cancel(operator, id).await;
    let outcome = if result.is_ok() {
        "ACCEPTED"
    } else {
        "REJECTED"
    };
    state
        .audit_by(
            signed.operator.actor(),
            "booking.cancel",
            &id.to_string(),
            serde_json::json!({}),
            outcome,
        )
        .await;
    result?;
    // Only a timeline query goes back; anything else lands on the list.
    let back = if form
        .back
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "=&-".contains(c))
    {
        format!("/console/bookings?{}", form.back)
    } else {
        "/console/bookings".to_owned()
    };
    Ok(Redirect::to(&back).into_response())
}
