//! Smart charging, audited: a charger's charging profiles
//! (`GET/PUT/DELETE /v1/admin/chargers/{id}/charging-profiles…`: PUT sends
//! SetChargingProfile and remembers it if Accepted, DELETE sends
//! ClearChargingProfile), its composite schedule (asked of the charger),
//! and stations' power caps (`PUT/GET/DELETE /v1/admin/stations/{id}/power-limit`),
//! shared equally by the station's charging sessions.

use std::sync::Arc;

use axum::extract::{Path, State};
use booking::iso;
use booking::model::{Charger, ChargingProfile, ExternalChargingLimit, ProfilePurpose};
use csms::power_cap::{PowerCap, Sent};
use csms::smart_charging::{self as sc, ProfileSpec};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::{ApiJson, ApiQuery, UuidPath};
use super::openapi::{ErrorEnvelope, envelope};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(charging_profiles))
        .routes(routes!(set_charging_profile, clear_charging_profile))
        .routes(routes!(composite_schedule))
        .routes(routes!(get_power_limit, set_power_limit, lift_power_limit))
}

/// The largest cap accepted, in kW (100 MW).
const MAX_KW: f64 = 100_000.0;

/// One charging profile on the charger.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ProfileJson {
    /// Its id on the charger.
    id: i32,
    /// `OPERATOR` (set through the API or a command), `POWER_CAP` (evgate's
    /// share of the station's cap) or `REPORTED` (2.0.1 ReportChargingProfiles).
    #[schema(example = "OPERATOR")]
    origin: &'static str,
    /// 1.6 connector or 2.0.1 EVSE; 0 is the whole charger.
    evse_id: i32,
    /// `STATION_MAX`, `TX_DEFAULT`, `TX` or `EXTERNAL_CONSTRAINTS`.
    #[schema(example = "STATION_MAX")]
    purpose: &'static str,
    stack_level: i32,
    /// The profile as sent (1.6 `csChargingProfiles`, 2.0.1 `chargingProfile`).
    #[schema(value_type = Object)]
    profile: Value,
    updated_at: String,
}

impl From<&ChargingProfile> for ProfileJson {
    fn from(p: &ChargingProfile) -> Self {
        Self {
            id: p.profile_id,
            origin: p.origin.as_str(),
            evse_id: p.evse_id,
            purpose: p.purpose.as_str(),
            stack_level: p.stack_level,
            profile: p.profile.clone(),
            updated_at: iso(p.updated_at),
        }
    }
}

/// A limit another source put on a 2.0.1 charger (NotifyChargingLimit).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ExternalLimitJson {
    /// `EMS`, `Other`, `SO` or `CSO`.
    source: String,
    /// 0 is the whole charger.
    evse_id: i32,
    /// The NotifyChargingLimit payload as reported.
    #[schema(value_type = Object)]
    notification: Value,
    updated_at: String,
}

impl From<&ExternalChargingLimit> for ExternalLimitJson {
    fn from(l: &ExternalChargingLimit) -> Self {
        Self {
            source: l.source.clone(),
            evse_id: l.evse_id,
            notification: l.limit.clone(),
            updated_at: iso(l.updated_at),
        }
    }
}

/// What evgate knows of a charger's limits.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ChargingProfiles {
    charge_point_id: String,
    /// By origin, EVSE and id.
    charging_profiles: Vec<ProfileJson>,
    /// Until the charger reports them cleared.
    external_limits: Vec<ExternalLimitJson>,
}

envelope!(
    /// A charger's charging profiles and external limits.
    ChargingProfilesEnvelope,
    ChargingProfiles
);

fn profile_id(raw: &str) -> ApiResult<i32> {
    raw.parse().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::bad_request("profileId", format!("{raw:?} is not a positive integer"))
    })
}

/// The profiles evgate set on the charger (and it accepted), those it
/// reported, and limits from other sources.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/charging-profiles",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The profiles", body = ChargingProfilesEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn charging_profiles(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    let profiles = state.store.charging_profiles(charger.id).await?;
    let limits = state.store.charging_limits(charger.id).await?;
    Ok(ok(ChargingProfiles {
        charge_point_id: charger.charge_point_id,
        charging_profiles: profiles.iter().map(ProfileJson::from).collect(),
        external_limits: limits.iter().map(ExternalLimitJson::from).collect(),
    }))
}

/// One period of a schedule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PeriodBody {
    /// Seconds from the schedule's start; the first period starts at 0.
    start_period: i32,
    /// In the profile's unit.
    #[schema(example = 22000.0)]
    limit: f64,
}

/// A charger-wide limit or the transactions' default, in words both OCPP
/// versions share; evgate writes it in the charger's version, starting now.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"evseId": 0, "purpose": "STATION_MAX", "stackLevel": 0,
    "chargingRateUnit": "W", "periods": [{"startPeriod": 0, "limit": 22000.0}]}))]
struct ProfileBody {
    /// 1.6 connector or 2.0.1 EVSE; 0 is the whole charger (default 0).
    #[serde(default)]
    evse_id: i32,
    /// `STATION_MAX` (1.6 ChargePointMaxProfile, 2.0.1
    /// ChargingStationMaxProfile) or `TX_DEFAULT`. A TxProfile names its
    /// transaction: send it through `…/commands`.
    purpose: String,
    /// Default 0.
    #[serde(default)]
    stack_level: i32,
    /// `W` or `A`.
    charging_rate_unit: String,
    /// At least one, the first at 0.
    periods: Vec<PeriodBody>,
}

/// What the charger answered.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ProfileAnswer {
    /// The charger's `status` (`Accepted`, `Rejected`, …).
    status: String,
    /// Whether evgate now remembers the profile (and re-sends it after a boot).
    stored: bool,
    /// The SetChargingProfile or ClearChargingProfile evgate sent.
    #[schema(value_type = Object)]
    request: Value,
    /// The charger's CALLRESULT payload.
    #[schema(value_type = Object)]
    response: Value,
}

envelope!(
    /// The charger's answer to a profile change.
    ProfileAnswerEnvelope,
    ProfileAnswer
);

fn spec(id: i32, body: ProfileBody, now: chrono::DateTime<chrono::Utc>) -> ApiResult<ProfileSpec> {
    let purpose = match body.purpose.as_str() {
        "STATION_MAX" => ProfilePurpose::StationMax,
        "TX_DEFAULT" => ProfilePurpose::TxDefault,
        other => {
            return Err(ApiError::bad_request(
                "purpose",
                format!("{other:?}: STATION_MAX or TX_DEFAULT"),
            ));
        }
    };
    if body.evse_id < 0 || body.stack_level < 0 {
        return Err(ApiError::bad_request(
            "evseId",
            "evseId and stackLevel are 0 or more",
        ));
    }
    let first_at_zero = body.periods.first().is_some_and(|p| p.start_period == 0);
    let sane = body
        .periods
        .iter()
        .all(|p| p.limit.is_finite() && p.limit >= 0.0 && p.start_period >= 0);
    let ascending = body
        .periods
        .windows(2)
        .all(|w| w[0].start_period < w[1].start_period);
    if !first_at_zero || !sane || !ascending {
        return Err(ApiError::bad_request(
            "periods",
            "at least one period, the first at startPeriod 0, ascending, limits finite and not negative",
        ));
    }
    if !matches!(body.charging_rate_unit.as_str(), "W" | "A") {
        return Err(ApiError::bad_request("chargingRateUnit", "W or A"));
    }
    Ok(ProfileSpec {
        id,
        evse_id: body.evse_id,
        purpose,
        stack_level: body.stack_level,
        unit: body.charging_rate_unit,
        periods: body
            .periods
            .iter()
            .map(|p| (p.start_period, p.limit))
            .collect(),
        start: now,
    })
}

/// Sends SetChargingProfile (ChargePointMax/ChargingStationMax or
/// TxDefault) and remembers it if the charger accepts; audited.
#[utoipa::path(
    put,
    path = "/v1/admin/chargers/{id}/charging-profiles/{profileId}",
    tag = "operator",
    params(
        ("id" = String, Path, description = "The charger's identity (`chargePointId`)"),
        ("profileId" = i32, Path, description = "The profile's id on the charger (below 900000, the power cap's ids)"),
    ),
    request_body = ProfileBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered (see `status`)", body = ProfileAnswerEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: a profile the charger's version refuses", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_OFFLINE`: not connected", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: the charger answered with a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
async fn set_charging_profile(
    State(state): State<AppState>,
    admin: AdminUser,
    Path((charge_point_id, raw_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ProfileBody>,
) -> ApiResult<axum::Json<Value>> {
    let id = profile_id(&raw_id)?;
    if id >= csms::power_cap::PROFILE_IDS {
        return Err(ApiError::bad_request(
            "profileId",
            format!(
                "ids from {} are the power cap's",
                csms::power_cap::PROFILE_IDS
            ),
        ));
    }
    let charger = state.charger(&charge_point_id).await?;
    let version = super::version_of(&charger)?;
    let request = sc::set_profile(version, &spec(id, body, state.clock.now())?)?;
    send(
        &state,
        &admin,
        &charger,
        "SetChargingProfile",
        request,
        "charger.charging_profile.set",
    )
    .await
}

/// Sends ClearChargingProfile for one profile; forgotten if the charger
/// cleared it (or had none); audited.
#[utoipa::path(
    delete,
    path = "/v1/admin/chargers/{id}/charging-profiles/{profileId}",
    tag = "operator",
    params(
        ("id" = String, Path, description = "The charger's identity (`chargePointId`)"),
        ("profileId" = i32, Path, description = "The profile's id on the charger"),
    ),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered (see `status`)", body = ProfileAnswerEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: not a profile id", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_OFFLINE`: not connected", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: the charger answered with a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
async fn clear_charging_profile(
    State(state): State<AppState>,
    admin: AdminUser,
    Path((charge_point_id, raw_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Value>> {
    let id = profile_id(&raw_id)?;
    let charger = state.charger(&charge_point_id).await?;
    let version = super::version_of(&charger)?;
    let request = sc::clear_profile(version, id)?;
    send(
        &state,
        &admin,
        &charger,
        "ClearChargingProfile",
        request,
        "charger.charging_profile.clear",
    )
    .await
}

async fn send(
    state: &AppState,
    admin: &AdminUser,
    charger: &Charger,
    action: &str,
    request: Value,
    audited_as: &str,
) -> ApiResult<axum::Json<Value>> {
    let cp = &charger.charge_point_id;
    let answer = state.chargers.command(cp, action, request.clone()).await;
    let status = match &answer {
        Ok(response) => response["status"].as_str().unwrap_or("?").to_owned(),
        Err(e) => e.to_string(),
    };
    let details = json!({ "action": action, "payload": request, "status": status });
    let outcome = if answer.is_ok() { "ANSWERED" } else { "FAILED" };
    state.audit(admin, audited_as, cp, details, outcome).await;
    let response = answer?;
    let stored = match action {
        "SetChargingProfile" => status == "Accepted",
        _ => false,
    };
    Ok(ok(ProfileAnswer {
        status,
        stored,
        request,
        response,
    }))
}

/// Which schedule to ask for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ScheduleQuery {
    /// 1.6 connector or 2.0.1 EVSE; 0 is the whole charger (default 0).
    #[serde(default)]
    connector_id: i32,
    /// Seconds from now, 1 to 86400 (default 3600).
    #[serde(default = "hour")]
    duration: i32,
    /// `W` or `A` (default: the charger's choice).
    charging_rate_unit: Option<String>,
}

fn hour() -> i32 {
    3600
}

/// The charger's answer to GetCompositeSchedule.
#[derive(Debug, Serialize, ToSchema)]
struct ScheduleAnswer {
    /// The GetCompositeSchedule sent.
    #[schema(value_type = Object)]
    request: Value,
    /// The charger's CALLRESULT payload: `status` and the schedule.
    #[schema(value_type = Object)]
    response: Value,
}

envelope!(
    /// The charger's composite schedule.
    ScheduleEnvelope,
    ScheduleAnswer
);

/// Asks the charger for the schedule it will apply (GetCompositeSchedule).
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/composite-schedule",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)"), ScheduleQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered", body = ScheduleEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: a bad connector, duration or unit", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_OFFLINE`: not connected", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: the charger answered with a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
async fn composite_schedule(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiQuery(q): ApiQuery<ScheduleQuery>,
) -> ApiResult<axum::Json<Value>> {
    if q.connector_id < 0 {
        return Err(ApiError::bad_request("connectorId", "0 or more"));
    }
    if !(1..=86_400).contains(&q.duration) {
        return Err(ApiError::bad_request("duration", "1 to 86400 seconds"));
    }
    let charger = state.charger(&charge_point_id).await?;
    let version = super::version_of(&charger)?;
    let request = sc::composite_schedule(
        version,
        q.connector_id,
        q.duration,
        q.charging_rate_unit.as_deref(),
    )
    .map_err(|e| ApiError::bad_request("chargingRateUnit", e.to_string()))?;
    let response = state
        .chargers
        .command(
            &charger.charge_point_id,
            "GetCompositeSchedule",
            request.clone(),
        )
        .await?;
    Ok(ok(ScheduleAnswer { request, response }))
}

/// A station's power cap.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"maxKw": 22.0}))]
struct PowerLimitBody {
    /// Above 0, at most 100000 (whole watts are kept).
    max_kw: f64,
}

/// One session's share of the cap, and what its charger answered.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ShareJson {
    charge_point_id: String,
    /// 1.6 connector or 2.0.1 EVSE.
    connector_id: i32,
    /// The transaction's id on the charger.
    transaction_id: String,
    /// Its share, in watts (0: the cap was lifted and the profile cleared).
    limit_w: i64,
    /// The charger's `status`, or why it gave none (`the charger is not connected`).
    outcome: String,
}

impl From<Sent> for ShareJson {
    fn from(s: Sent) -> Self {
        Self {
            charge_point_id: s.session.charge_point_id,
            connector_id: s.session.connector,
            transaction_id: s.session.transaction,
            limit_w: s.limit_w,
            outcome: s.outcome,
        }
    }
}

/// A station's cap and how it is shared now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PowerLimitJson {
    station_id: Uuid,
    /// `null` once lifted.
    max_kw: Option<f64>,
    updated_at: Option<String>,
    /// One per charging OCPP session, earliest first: the TxProfile each
    /// charger was sent (PUT, DELETE) or would get (GET).
    shares: Vec<ShareJson>,
}

envelope!(
    /// A station's power cap.
    PowerLimitEnvelope,
    PowerLimitJson
);

fn power_cap(state: &AppState) -> PowerCap {
    PowerCap {
        store: state.store.clone(),
        chargers: Arc::new(state.chargers.clone()),
        clock: state.clock.clone(),
    }
}

async fn station_exists(state: &AppState, id: Uuid) -> ApiResult<()> {
    state
        .store
        .station(id)
        .await?
        .map(drop)
        .ok_or_else(|| ApiError::from(booking::Error::not_found("station", id.to_string())))
}

/// The station's cap and its division among the sessions charging now.
#[utoipa::path(
    get,
    path = "/v1/admin/stations/{id}/power-limit",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The station's id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The cap", body = PowerLimitEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such station, or it has no cap", body = ErrorEnvelope),
    ),
)]
async fn get_power_limit(
    State(state): State<AppState>,
    _admin: AdminUser,
    UuidPath(id): UuidPath,
) -> ApiResult<axum::Json<Value>> {
    station_exists(&state, id).await?;
    let cap = state
        .store
        .station_power_limit(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("station {id} has no power limit")))?;
    let charging = power_cap(&state).charging(id).await?;
    let shares = csms::power_cap::shares(cap.max_w, charging.len());
    Ok(ok(PowerLimitJson {
        station_id: id,
        max_kw: Some(cap.max_w as f64 / 1000.0),
        updated_at: Some(iso(cap.updated_at)),
        shares: charging
            .into_iter()
            .zip(shares)
            .map(|(session, limit_w)| {
                ShareJson::from(Sent {
                    session,
                    limit_w,
                    outcome: "not sent".into(),
                })
            })
            .collect(),
    }))
}

/// Sets the station's cap and sends each charging session its share (a
/// TxProfile in W); recomputed whenever a session starts or ends; audited.
#[utoipa::path(
    put,
    path = "/v1/admin/stations/{id}/power-limit",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The station's id")),
    request_body = PowerLimitBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Set, and shared among the sessions charging now", body = PowerLimitEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: `maxKw` not above 0 or above 100000", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such station", body = ErrorEnvelope),
    ),
)]
async fn set_power_limit(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
    ApiJson(body): ApiJson<PowerLimitBody>,
) -> ApiResult<axum::Json<Value>> {
    let max_w = (body.max_kw * 1000.0).floor();
    if !body.max_kw.is_finite() || body.max_kw > MAX_KW || max_w < 1.0 {
        return Err(ApiError::bad_request(
            "maxKw",
            format!("above 0 (at least 1 W) and at most {MAX_KW}"),
        ));
    }
    station_exists(&state, id).await?;
    let max_w = max_w as i64;
    let sent = power_cap(&state).set(id, max_w).await?;
    let details = json!({ "maxW": max_w, "sessions": sent.len() });
    state
        .audit(
            &admin,
            "station.power_limit.set",
            &id.to_string(),
            details,
            "SET",
        )
        .await;
    let cap = state.store.station_power_limit(id).await?;
    Ok(ok(PowerLimitJson {
        station_id: id,
        max_kw: Some(max_w as f64 / 1000.0),
        updated_at: cap.map(|c| iso(c.updated_at)),
        shares: sent.into_iter().map(ShareJson::from).collect(),
    }))
}

/// Lifts the station's cap and clears the profiles it put on chargers;
/// audited.
#[utoipa::path(
    delete,
    path = "/v1/admin/stations/{id}/power-limit",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The station's id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Lifted; `shares` lists the profiles cleared", body = PowerLimitEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such station, or it has no cap", body = ErrorEnvelope),
    ),
)]
async fn lift_power_limit(
    State(state): State<AppState>,
    admin: AdminUser,
    UuidPath(id): UuidPath,
) -> ApiResult<axum::Json<Value>> {
    station_exists(&state, id).await?;
    let cleared = power_cap(&state)
        .lift(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("station {id} has no power limit")))?;
    let details = json!({ "sessions": cleared.len() });
    state
        .audit(
            &admin,
            "station.power_limit.lift",
            &id.to_string(),
            details,
            "LIFTED",
        )
        .await;
    Ok(ok(PowerLimitJson {
        station_id: id,
        max_kw: None,
        updated_at: None,
        shares: cleared.into_iter().map(ShareJson::from).collect(),
    }))
}
