//! The seed's booking endpoints: availability, holds, confirm, cancel, and
//! reading one's bookings. Handlers translate JSON to the booking service's
//! calls and back; the rules live in `booking::service`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use booking::catalog;
use booking::iso;
use booking::model::BookingStatus;
use booking::service::{Caller, HoldRequest};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiError, ApiResult, created, ok};
use super::extract::{ApiJson, ApiQuery, UuidPath};
use super::openapi::{ErrorEnvelope, envelope};
use crate::jwt::Role;
use crate::views::BookingJson;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_availability))
        .routes(routes!(create_hold))
        .routes(routes!(confirm_booking))
        .routes(routes!(cancel_booking))
        .routes(routes!(list_bookings))
        .routes(routes!(get_booking))
}

envelope!(
    /// One booking.
    BookingEnvelope,
    BookingJson
);

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

/// A free slot on one connector.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SlotJson<'a> {
    connector_id: Uuid,
    #[schema(example = "1")]
    connector_number: &'a str,
    #[schema(example = "2024-05-01T10:00:00.000Z")]
    start: String,
    #[schema(example = "2024-05-01T10:30:00.000Z")]
    end: String,
    #[schema(example = 30)]
    duration_minutes: i64,
}

/// A station's free slots in a window.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Availability<'a> {
    station_id: Uuid,
    available_slots: Vec<SlotJson<'a>>,
    /// How many slots `availableSlots` has.
    total: usize,
}

envelope!(
    /// A station's free slots.
    AvailabilityEnvelope,
    Availability<'static>
);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct AvailabilityQuery {
    /// Window start: RFC 3339, or a date meaning its UTC midnight (default:
    /// now).
    start_date: Option<String>,
    /// Window end (default: a day after the start; at most 7 days after it).
    end_date: Option<String>,
    /// Slot length in minutes, 5 to 480 (default 60); slots are aligned to it.
    slot_duration_minutes: Option<i64>,
}

/// A station's free slots per connector. Without dates: from now, for a day.
#[utoipa::path(
    get,
    path = "/v1/stations/{id}/availability",
    tag = "bookings",
    params(("id" = Uuid, Path, description = "The station's id"), AvailabilityQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The free slots", body = AvailabilityEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such station", body = ErrorEnvelope),
    ),
)]
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
            "data": Availability {
                station_id,
                total: slots.len(),
                available_slots: slots,
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

/// A slot to hold.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateHold {
    station_id: Uuid,
    connector_id: Uuid,
    /// RFC 3339 (or a date, meaning its UTC midnight).
    #[schema(example = "2024-05-01T10:00:00Z")]
    start_ts: String,
    #[schema(example = "2024-05-01T11:00:00Z")]
    end_ts: String,
}

/// A hold: the slot is kept for this caller until `expiresAt`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct HoldJson {
    /// What `POST /v1/bookings/confirm` takes.
    token: String,
    /// Whole seconds until the hold expires.
    #[schema(example = 600)]
    expires_in: i64,
    expires_at: String,
    station_id: Uuid,
    connector_id: Uuid,
    start_ts: String,
    end_ts: String,
    /// Whether the charger was sent a ReserveNow for the slot.
    reserved_on_charger: bool,
}

envelope!(
    /// A new hold.
    HoldEnvelope,
    HoldJson
);

/// Holds a slot for a while (`BOOKING_HOLD_TTL_SECONDS`); confirm it with the token.
#[utoipa::path(
    post,
    path = "/v1/bookings/holds",
    tag = "bookings",
    request_body = CreateHold,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The slot is held", body = HoldEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: a malformed field, a window in the past, too long or not on the slot grid (`error.field` names it)", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such station", body = ErrorEnvelope),
        (status = 409, description = "`SLOT_UNAVAILABLE` (overlaps a hold or booking), `HOLD_LIMIT_REACHED` (the caller's live holds are at the cap), `CONNECTOR_UNAVAILABLE`", body = ErrorEnvelope),
        (status = 429, description = "`RATE_LIMITED`: too many holds by this user a minute, or the per-source limit", body = ErrorEnvelope),
    ),
)]
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
        id_tag: None,
    };
    let hold = state.bookings.create_hold(caller(user), request).await?;
    let expires_in = seconds_left(hold.expires_at, state.clock.now());
    Ok(created(HoldJson {
        token: hold.token,
        expires_in,
        expires_at: iso(hold.expires_at),
        station_id: hold.station_id,
        connector_id: hold.connector_id,
        start_ts: iso(hold.start_ts),
        end_ts: iso(hold.end_ts),
        reserved_on_charger: hold.reservation_id.is_some(),
    }))
}

/// A hold to turn into a booking.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Confirm {
    /// The hold's `token`.
    hold_token: String,
    /// The payment that pays for it.
    #[schema(example = "pay_123")]
    payment_id: String,
}

/// Confirms a hold: 201 with the new booking; 200 with the same booking
/// when the token was already confirmed.
#[utoipa::path(
    post,
    path = "/v1/bookings/confirm",
    tag = "bookings",
    request_body = Confirm,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The booking, new", body = BookingEnvelope),
        (status = 200, description = "The booking this token already confirmed", body = BookingEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such hold, or another user's", body = ErrorEnvelope),
        (status = 409, description = "`HOLD_EXPIRED`, `SLOT_UNAVAILABLE`, `CONFLICT`", body = ErrorEnvelope),
    ),
)]
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

/// Cancels a booking (its owner or an admin).
#[utoipa::path(
    post,
    path = "/v1/bookings/{id}/cancel",
    tag = "bookings",
    params(("id" = Uuid, Path, description = "The booking's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cancelled booking", body = BookingEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such booking, or another user's", body = ErrorEnvelope),
        (status = 409, description = "`INVALID_STATE`: the booking cannot be cancelled any more", body = ErrorEnvelope),
    ),
)]
async fn cancel_booking(
    State(state): State<AppState>,
    user: AuthUser,
    UuidPath(id): UuidPath,
) -> ApiResult<Json> {
    tracing::Span::current().record("booking.id", tracing::field::display(id));
    let booking = state.bookings.cancel(caller(user), id).await?;
    Ok(ok(BookingJson::from(&booking)))
}

/// One booking (its owner or an admin).
#[utoipa::path(
    get,
    path = "/v1/bookings/{id}",
    tag = "bookings",
    params(("id" = Uuid, Path, description = "The booking's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The booking", body = BookingEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such booking, or another user's", body = ErrorEnvelope),
    ),
)]
async fn get_booking(
    State(state): State<AppState>,
    user: AuthUser,
    UuidPath(id): UuidPath,
) -> ApiResult<Json> {
    tracing::Span::current().record("booking.id", tracing::field::display(id));
    let booking = state.bookings.booking(caller(user), id).await?;
    let mut json = BookingJson::from(&booking);
    json.cost = booking_cost(&state, &booking).await?;
    Ok(ok(json))
}

/// The booking's expected cost under its connector's tariff and, once its
/// session ended, what it charged.
async fn booking_cost(
    state: &AppState,
    booking: &booking::model::Booking,
) -> ApiResult<Option<crate::views::BookingCost>> {
    let store = &state.store;
    let (Some(tariff), Some(connector)) = (
        store.tariff_for_connector(booking.connector_id).await?,
        store.connector(booking.connector_id).await?,
    ) else {
        return Ok(None);
    };
    let minutes = (booking.end_ts - booking.start_ts).num_seconds() as f64 / 60.0;
    let charged = store.session_of_booking(booking.id).await?;
    Ok(Some(crate::views::BookingCost {
        currency: tariff.currency.clone(),
        expected: tariff.expected(connector.power_kw, minutes).total,
        r#final: charged
            .filter(|s| s.ended_at.is_some())
            .and_then(|s| s.cost_amount),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only bookings in this status.
    #[param(schema_with = super::openapi::booking_status)]
    status: Option<String>,
    /// Bookings per page, 1 to 200 (default 50).
    limit: Option<i64>,
    /// Bookings to skip (default 0).
    offset: Option<i64>,
}

/// A page of bookings.
#[derive(Debug, Serialize, ToSchema)]
struct BookingList {
    bookings: Vec<BookingJson>,
    total: u64,
    limit: u32,
    offset: u64,
}

envelope!(
    /// A page of bookings.
    BookingListEnvelope,
    BookingList
);

/// The caller's bookings, newest first (an admin sees everyone's).
#[utoipa::path(
    get,
    path = "/v1/bookings",
    tag = "bookings",
    params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of bookings", body = BookingListEnvelope)),
)]
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
    Ok(ok(BookingList {
        bookings,
        total,
        limit: page.limit,
        offset: page.offset,
    }))
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
