//! The admin API (role `admin`): how an operator provisions a site —
//! stations, the chargers at them, and their connectors.

use axum::extract::State;
use axum::http::StatusCode;
use booking::catalog::{self, StationView};
use booking::model::{Charger, Connector};
use booking::provisioning::{self, ChargerInput, ConnectorInput, StationInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiResult, created, ok};
use super::extract::{ApiJson, ApiQuery, PageQuery, UuidPath};
use super::openapi::{ErrorEnvelope, envelope};
use super::stations::{ConnectorJson, StationEnvelope, StationJson};
use booking::iso;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_station))
        .routes(routes!(create_charger))
        .routes(routes!(create_connector))
        .routes(routes!(list_chargers))
        .routes(routes!(list_unassigned))
}

type Created = (StatusCode, axum::Json<serde_json::Value>);

/// A new station.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateStation {
    #[schema(example = "Gachibowli Hub")]
    name: String,
    /// -90 to 90.
    #[schema(example = 17.4474)]
    latitude: f64,
    /// -180 to 180.
    #[schema(example = 78.3762)]
    longitude: f64,
    address: Option<String>,
}

/// Creates a station (no connectors yet).
#[utoipa::path(
    post,
    path = "/v1/admin/stations",
    tag = "admin",
    request_body = CreateStation,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The station", body = StationEnvelope),
        (status = 409, description = "`CONFLICT`: the station exists already", body = ErrorEnvelope),
    ),
)]
async fn create_station(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<CreateStation>,
) -> ApiResult<Created> {
    let input = StationInput {
        name: body.name,
        latitude: body.latitude,
        longitude: body.longitude,
        address: body.address,
    };
    let station = add_station(&state, admin.user_id.to_string(), input).await?;
    Ok(created(StationJson::from(StationView {
        station,
        connectors: Vec::new(),
        distance_km: None,
    })))
}

/// Creates a station for `actor` (the API's and the console's); audited.
pub(crate) async fn add_station(
    state: &AppState,
    actor: String,
    input: StationInput,
) -> ApiResult<booking::model::Station> {
    let station = provisioning::create_station(&*state.store, &*state.clock, input).await?;
    tracing::info!(actor = %actor, station.id = %station.id, "station created");
    let details = serde_json::json!({ "name": station.name, "latitude": station.latitude,
        "longitude": station.longitude, "address": station.address });
    state
        .audit_by(
            actor,
            "station.create",
            &station.id.to_string(),
            details,
            "ACCEPTED",
        )
        .await;
    Ok(station)
}

/// A charger to register at a station.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateCharger {
    /// The identity the charger connects with (the last path segment of its
    /// OCPP URL).
    #[schema(example = "CP-1")]
    charge_point_id: String,
    /// OCPP security profile 0 to 3 (2 and 3 need the TLS listener).
    #[schema(minimum = 0, maximum = 3, example = 1)]
    security_profile: u8,
    /// The Basic auth password, 16 to 40 characters: required for profiles 1
    /// and 2, refused otherwise; stored as argon2id.
    password: Option<String>,
}

/// A registered charger (never its password).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ChargerJson {
    id: Uuid,
    station_id: Uuid,
    #[schema(example = "CP-1")]
    charge_point_id: String,
    #[schema(minimum = 0, maximum = 3)]
    security_profile: u8,
    #[schema(schema_with = super::openapi::ocpp_version)]
    ocpp_version: Option<&'static str>,
    vendor: Option<String>,
    model: Option<String>,
    firmware_version: Option<String>,
    /// Connected to this gateway (any instance).
    online: bool,
    last_seen_at: Option<String>,
    created_at: String,
    /// The operator's admission decision; `null` follows the default policy.
    #[schema(schema_with = super::openapi::admission)]
    admission: Option<booking::model::ChargerAdmission>,
    /// A credential change waits for the charger's next connection.
    credentials_pending: bool,
    /// Until when the credentials before the last rotation still work
    /// (cleared once the charger connects with the new ones).
    previous_credentials_until: Option<String>,
}

impl From<&Charger> for ChargerJson {
    fn from(c: &Charger) -> Self {
        // Never the password hash.
        Self {
            id: c.id,
            station_id: c.station_id,
            charge_point_id: c.charge_point_id.clone(),
            security_profile: c.security_profile.get(),
            ocpp_version: c.ocpp_version.map(|v| v.as_str()),
            vendor: c.vendor.clone(),
            model: c.model.clone(),
            firmware_version: c.firmware_version.clone(),
            online: c.online,
            last_seen_at: c.last_seen_at.map(iso),
            created_at: iso(c.created_at),
            admission: c.admission,
            credentials_pending: c.pending_credentials.is_some(),
            previous_credentials_until: c.previous_credentials.as_ref().map(|p| iso(p.until)),
        }
    }
}

envelope!(
    /// One charger.
    ChargerEnvelope,
    ChargerJson
);

/// Registers a charger at a station. A charger waiting unassigned under this
/// identity (`OCPP_AUTO_REGISTER`) is disconnected, to come back as this one.
#[utoipa::path(
    post,
    path = "/v1/admin/stations/{id}/chargers",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The station's id")),
    request_body = CreateCharger,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The charger", body = ChargerEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such station", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: the identity is taken; `NOT_CONFIGURED`: profile 2 or 3 without the TLS listener", body = ErrorEnvelope),
    ),
)]
async fn create_charger(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    UuidPath(station_id): UuidPath,
    ApiJson(body): ApiJson<CreateCharger>,
) -> ApiResult<Created> {
    let input = ChargerInput {
        charge_point_id: body.charge_point_id,
        security_profile: body.security_profile,
        password: body.password,
    };
    let charger = register_charger(&state, admin.user_id.to_string(), station_id, input).await?;
    Ok(created(ChargerJson::from(&charger)))
}

/// Registers a charger at a station for `actor` (the API's and the
/// console's); audited. A charger waiting unassigned (`OCPP_AUTO_REGISTER`)
/// under its identity is placed now: its Pending session is closed, and it
/// reconnects as the charger just registered.
pub(crate) async fn register_charger(
    state: &AppState,
    actor: String,
    station_id: Uuid,
    input: ChargerInput,
) -> ApiResult<booking::model::Charger> {
    if let Ok(profile) = booking::model::SecurityProfile::try_from(input.security_profile) {
        state.rotation.servable(profile)?;
    }
    let charger = provisioning::create_charger(
        &*state.store,
        &*state.clock,
        station_id,
        input,
        // argon2 is slow on purpose: on the listener's argon2 threads.
        async |password: String| state.rotation.passwords.hash(password).await,
    )
    .await?;
    let was_unassigned = state
        .store
        .forget_unassigned_charger(&charger.charge_point_id)
        .await?;
    if was_unassigned {
        state.chargers.disconnect(&charger.charge_point_id).await;
    }
    tracing::info!(actor = %actor, charger.id = %charger.charge_point_id, was_unassigned, "charger registered");
    let details = serde_json::json!({ "stationId": station_id,
        "securityProfile": charger.security_profile.get(), "wasUnassigned": was_unassigned });
    state
        .audit_by(
            actor,
            "charger.create",
            &charger.charge_point_id,
            details,
            "ACCEPTED",
        )
        .await;
    Ok(charger)
}

/// A connector of a charger at the station.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateConnector {
    /// The charger it is on (registered at this station).
    #[schema(example = "CP-1")]
    charge_point_id: String,
    /// The OCPP EVSE (default 1).
    evse_id: Option<i64>,
    /// The OCPP connector id on the charger (1, 2, …).
    #[schema(example = 1)]
    connector_id: i64,
    /// The label apps show (default: the connector id).
    connector_number: Option<String>,
    #[schema(example = "CCS")]
    connector_type: String,
    #[schema(example = 150.0)]
    power_kw: f64,
}

/// A connector as an operator sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AdminConnectorJson {
    #[serde(flatten)]
    public: ConnectorJson,
    station_id: Uuid,
    charger_id: Uuid,
    charge_point_id: String,
    ocpp_connector_id: i32,
}

envelope!(
    /// A new connector.
    AdminConnectorEnvelope,
    AdminConnectorJson
);

/// Adds a connector of one of the station's chargers.
#[utoipa::path(
    post,
    path = "/v1/admin/stations/{id}/connectors",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The station's id")),
    request_body = CreateConnector,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The connector", body = AdminConnectorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such station or charger", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: the connector exists already", body = ErrorEnvelope),
    ),
)]
async fn create_connector(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    UuidPath(station_id): UuidPath,
    ApiJson(body): ApiJson<CreateConnector>,
) -> ApiResult<Created> {
    let charge_point_id = body.charge_point_id.clone();
    let input = ConnectorInput {
        charge_point_id: body.charge_point_id,
        evse_id: body.evse_id,
        connector_id: body.connector_id,
        connector_number: body.connector_number,
        connector_type: body.connector_type,
        power_kw: body.power_kw,
    };
    let connector = add_connector(&state, admin.user_id.to_string(), station_id, input).await?;
    Ok(created(AdminConnectorJson {
        public: ConnectorJson::from(&connector),
        station_id: connector.station_id,
        charger_id: connector.charger_id,
        charge_point_id,
        ocpp_connector_id: connector.ocpp_connector_id,
    }))
}

/// Adds a connector for `actor` (the API's and the console's); the
/// station's cached reads go stale; audited.
pub(crate) async fn add_connector(
    state: &AppState,
    actor: String,
    station_id: Uuid,
    input: ConnectorInput,
) -> ApiResult<Connector> {
    let charge_point_id = input.charge_point_id.clone();
    let connector =
        provisioning::create_connector(&*state.store, &*state.clock, station_id, input).await?;
    tracing::info!(actor = %actor, connector.id = %connector.id, "connector created");
    state.bookings.invalidate_station(station_id).await;
    let details = serde_json::json!({ "stationId": station_id, "chargePointId": charge_point_id,
        "connectorNumber": connector.connector_number, "ocppConnectorId": connector.ocpp_connector_id });
    state
        .audit_by(
            actor,
            "connector.create",
            &connector.id.to_string(),
            details,
            "ACCEPTED",
        )
        .await;
    Ok(connector)
}

/// A page of chargers.
#[derive(Debug, Serialize, ToSchema)]
struct ChargerList {
    chargers: Vec<ChargerJson>,
    total: u64,
    limit: u32,
    offset: u64,
}

envelope!(
    /// A page of chargers.
    ChargerListEnvelope,
    ChargerList
);

/// Registered chargers, paged.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers",
    tag = "admin",
    params(PageQuery),
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "A page of chargers", body = ChargerListEnvelope)),
)]
async fn list_chargers(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let page = catalog::page(q.limit, q.offset)?;
    let (chargers, total) = state.store.chargers(page).await?;
    let chargers: Vec<ChargerJson> = chargers.iter().map(ChargerJson::from).collect();
    Ok(ok(ChargerList {
        chargers,
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// A charger that connected with an identity nobody registered.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UnassignedJson<'a> {
    charge_point_id: &'a str,
    #[schema(schema_with = super::openapi::ocpp_version)]
    ocpp_version: Option<&'static str>,
    vendor: Option<&'a str>,
    model: Option<&'a str>,
    firmware_version: Option<&'a str>,
    serial_number: Option<&'a str>,
    first_seen_at: String,
    last_seen_at: String,
}

/// A page of unassigned chargers.
#[derive(Debug, Serialize, ToSchema)]
struct UnassignedList<'a> {
    chargers: Vec<UnassignedJson<'a>>,
    total: u64,
    limit: u32,
    offset: u64,
}

envelope!(
    /// A page of unassigned chargers.
    UnassignedListEnvelope,
    UnassignedList<'static>
);

/// Chargers that connected with an identity nobody registered
/// (`OCPP_AUTO_REGISTER`), most recently seen first.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/unassigned",
    tag = "admin",
    params(PageQuery),
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "A page of unassigned chargers", body = UnassignedListEnvelope)),
)]
async fn list_unassigned(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let page = catalog::page(q.limit, q.offset)?;
    let (chargers, total) = state.store.unassigned_chargers(page).await?;
    let chargers: Vec<UnassignedJson> = chargers
        .iter()
        .map(|c| UnassignedJson {
            charge_point_id: &c.charge_point_id,
            ocpp_version: c.ocpp_version.map(|v| v.as_str()),
            vendor: c.vendor.as_deref(),
            model: c.model.as_deref(),
            firmware_version: c.firmware_version.as_deref(),
            serial_number: c.serial_number.as_deref(),
            first_seen_at: iso(c.first_seen_at),
            last_seen_at: iso(c.last_seen_at),
        })
        .collect();
    Ok(ok(UnassignedList {
        chargers,
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}
