//! The overview: the network at a glance, its counts refreshed live.

use axum::extract::State;
use booking::model::{BookingStatus, ConnectorStatus, Page};
use chrono::{TimeDelta, Utc};
use maud::html;
use webhooks::InboxState;

use super::failure::PageResult;
use super::layout::page as layout;
use super::session::Signed;
use crate::AppState;

pub(super) async fn page(State(state): State<AppState>, signed: Signed) -> PageResult {
    let counts = counts(&state).await?;
    Ok(layout(
        "Overview",
        Some(&signed),
        html! {
            div #overview data-refresh="/console/overview.frag" data-every="3000" { (counts) }
        },
    ))
}

/// The live part of the overview.
pub(super) async fn fragment(State(state): State<AppState>, _signed: Signed) -> PageResult {
    counts(&state).await
}

const BOOKING_STATUSES: [BookingStatus; 6] = [
    BookingStatus::Confirmed,
    BookingStatus::Active,
    BookingStatus::Completed,
    BookingStatus::NoShow,
    BookingStatus::Cancelled,
    BookingStatus::Pending,
];

async fn counts(state: &AppState) -> PageResult {
    // "Today" is the UTC day: stations do not carry a time zone yet.
    let from = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(Utc::now);
    let o = state
        .views
        .network_overview(from, from + TimeDelta::days(1))
        .await?;
    let first = Page {
        limit: 1,
        offset: 0,
    };
    let (_, inbox) = state
        .webhooks
        .entries(Some(InboxState::Pending), first)
        .await?;
    let online: u64 = o.online_by_version.iter().map(|(_, n)| n).sum();
    let count_of = |status: ConnectorStatus| {
        o.connectors_by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    };
    let bookings_of = |status: BookingStatus| {
        o.bookings_by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    };
    let cluster = match &state.shared {
        None => None,
        Some(shared) => Some(shared.probe().await),
    };
    Ok(html! {
        div.cards {
            section.card aria-labelledby="chargers-online" {
                h2 #chargers-online { "Chargers online" }
                div.n data-count="online" { (online) " / " (o.chargers) }
                dl {
                    @for (version, n) in &o.online_by_version {
                        dt { (version.as_str()) } dd data-version=(version.as_str()) { (n) }
                    }
                }
            }
            section.card aria-labelledby="connectors" {
                h2 #connectors { "Connectors" }
                dl {
                    @for (status, n) in &o.connectors_by_status {
                        dt.status.{"status-" (status.as_str())} { (status.as_str()) }
                        dd data-status=(status.as_str()) { (n) }
                    }
                }
            }
            section.card aria-labelledby="faulted" {
                h2 #faulted { "Faulted connectors" }
                div.n data-count="faulted" { (count_of(ConnectorStatus::Faulted)) }
            }
            section.card aria-labelledby="sessions" {
                h2 #sessions { "Active sessions" }
                div.n data-count="sessions" { (o.sessions_active) }
            }
            section.card aria-labelledby="bookings-today" {
                h2 #bookings-today { "Bookings today (UTC)" }
                dl {
                    @for status in BOOKING_STATUSES {
                        dt { (status.as_str()) } dd data-booking=(status.as_str()) { (bookings_of(status)) }
                    }
                }
            }
            section.card aria-labelledby="inbox" {
                h2 #inbox { "Webhook inbox" }
                div.n data-count="inbox" { (inbox) }
                span.muted { "deliveries waiting to be applied" }
            }
            @if let Some(up) = cluster {
                section.card aria-labelledby="cluster" {
                    h2 #cluster { "Cluster" }
                    @if up { p.ok { "Redis answers: instances share holds and updates" } }
                    @else { p.error { "Redis does not answer: this instance runs degraded" } }
                }
            }
        }
    })
}
