//! The seed's booking endpoints: availability, holds, confirm, cancel, and
//! reading one's bookings. Handlers translate JSON to the booking service's
//! calls and back; the rules live in `booking::service`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use booking::catalog;
use booking::iso;
use booking::model::BookingStatus;
use booking::service::{Caller, HoldRequest};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiError, ApiResult, created, ok};
use super::extract::{ApiJson, ApiQuery, UuidPath};
use crate::jwt::Role;
use crate::views::BookingJson;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/stations/{id}/availability", get(get_availability))
        .route("/v1/bookings/holds", post(create_hold))
        .route("/v1/bookings/confirm", post(confirm_booking))
        .route("/v1/bookings/{id}/cancel", post(cancel_booking))
        .route("/v1/bookings", get(list_bookings))
        .route("/v1/bookings/{id}", get(get_booking))
}

type Json = axum::Json<serde_json::Value>;

fn caller(user: AuthUser) -> Caller {
    Caller {
        user_id: user.0.user_id,
        admin: user.0.role == Role::Admin,
    }
}

/// ISO 8601: a full RFC 3339 timestamp, or a date meaning its UTC midnight.
fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(ApiError::bad_request(
        field,
        format!("{field}: {raw:?} is not an ISO 8601 timestamp like 2024-01-01T10:00:00Z"),
    ))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SlotJson<'a> {
    connector_id: Uuid,
    connector_number: &'a str,
    start: String,
    end: String,
    duration_minutes: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AvailabilityQuery {
    start_date: Option<String>,
    end_date: Option<String>,
    slot_duration_minutes: Option<i64>,
}

/// Without dates: from now, for a day.
async fn get_availability(
    State(state): State<AppState>,
    _user: AuthUser,
    UuidPath(station_id): UuidPath,
    ApiQuery(q): ApiQuery<AvailabilityQuery>,
) -> ApiResult<Response> {
    let start = match q.start_date.as_deref() {
        Some(raw) => parse_time("startDate", raw)?,
        None => state.clock.now(),
    };
    let end = match q.end_date.as_deref() {
        Some(raw) => parse_time("endDate", raw)?,
        None => start + TimeDelta::days(1),
    };
    let available = state
        .bookings
        .availability(station_id, start, end, q.slot_duration_minutes)
        .await?;
    let body = available.encoded.get_or_init(|| {
        let slots: Vec<SlotJson> = available
            .slots
            .iter()
            .map(|s| SlotJson {
                connector_id: s.connector_id,
                connector_number: &s.connector_number,
                start: iso(s.start),
                end: iso(s.end),
                duration_minutes: available.slot_minutes,
            })
            .collect();
        let envelope = serde_json::json!({
            "success": true,
            "data": {
                "stationId": station_id,
                "availableSlots": slots,
                "total": slots.len(),
            },
        });
        serde_json::to_vec(&envelope).unwrap_or_default().into()
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Bytes::from_owner(body.clone()),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateHold {
    station_id: Uuid,
    connector_id: Uuid,
    start_ts: String,
    end_ts: String,
}

async fn create_hold(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<CreateHold>,
) -> ApiResult<(StatusCode, Json)> {
    state.limits.hold_by(user.0.user_id)?;
    let request = HoldRequest {
        station_id: body.station_id,
        connector_id: body.connector_id,
        start_ts: parse_time("startTs", &body.start_ts)?,
        end_ts: parse_time("endTs", &body.end_ts)?,
    };
    let hold = state.bookings.create_hold(caller(user), request).await?;
    let expires_in = seconds_left(hold.expires_at, state.clock.now());
    Ok(created(serde_json::json!({
        "token": hold.token,
        "expiresIn": expires_in,
        "expiresAt": iso(hold.expires_at),
        "stationId": hold.station_id,
        "connectorId": hold.connector_id,
        "startTs": iso(hold.start_ts),
        "endTs": iso(hold.end_ts),
        "reservedOnCharger": hold.reservation_id.is_some(),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Confirm {
    hold_token: String,
    payment_id: String,
}

/// 201 with the new booking; 200 with the same booking when the token was
/// already confirmed.
async fn confirm_booking(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<Confirm>,
) -> ApiResult<(StatusCode, Json)> {
    let (booking, new) = state
        .bookings
        .confirm(caller(user), &body.hold_token, &body.payment_id)
        .await?;
    tracing::Span::current().record("booking.id", tracing::field::display(booking.id));
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ok(BookingJson::from(&booking))))
}

async fn cancel_booking(
    State(state): State<AppState>,
    user: AuthUser,
    UuidPath(id): UuidPath,
) -> ApiResult<Json> {
    tracing::Span::current().record("booking.id", tracing::field::display(id));
    let booking = state.bookings.cancel(caller(user), id).await?;
    Ok(ok(BookingJson::from(&booking)))
}

async fn get_booking(
    State(state): State<AppState>,
    user: AuthUser,
    UuidPath(id): UuidPath,
) -> ApiResult<Json> {
    tracing::Span::current().record("booking.id", tracing::field::display(id));
    let booking = state.bookings.booking(caller(user), id).await?;
    Ok(ok(BookingJson::from(&booking)))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn list_bookings(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<BookingStatus>()
                .map_err(|e| ApiError::bad_request("status", format!("status: {e}")))
        })
        .transpose()?;
    let page = catalog::page(q.limit, q.offset)?;
    let (bookings, total) = state.bookings.bookings(caller(user), status, page).await?;
    let bookings: Vec<BookingJson> = bookings.iter().map(BookingJson::from).collect();
    Ok(ok(serde_json::json!({
        "bookings": bookings,
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    })))
}

/// Whole seconds until `at`, rounded up: a hold made a few milliseconds ago
/// still has its full TTL (600, not 599) for a client counting down.
fn seconds_left(at: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> i64 {
    let millis = (at - now).num_milliseconds().max(0);
    (millis + 999) / 1000
}

#[cfg(test)]
mod seconds_left_tests {
    use super::seconds_left;
    use chrono::{TimeDelta, Utc};

    #[test]
    fn a_fresh_hold_shows_its_whole_ttl() {
        let now = Utc::now();
        let at = now + TimeDelta::seconds(600);
        assert_eq!(seconds_left(at, now + TimeDelta::milliseconds(3)), 600);
        assert_eq!(seconds_left(at, now), 600);
        assert_eq!(seconds_left(at, at - TimeDelta::milliseconds(1)), 1);
        assert_eq!(seconds_left(at, at + TimeDelta::seconds(5)), 0, "expired");
    }
}
