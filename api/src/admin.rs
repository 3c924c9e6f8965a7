//! The admin API (role `admin`): how an operator provisions a site —
//! stations, the chargers at them, and their connectors.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use booking::catalog::{self, StationView};
use booking::model::{Charger, Connector};
use booking::provisioning::{self, ChargerInput, ConnectorInput, StationInput};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiResult, created, ok};
use super::extract::{ApiJson, ApiQuery, PageQuery, UuidPath};
use super::stations::{ConnectorJson, StationJson};
use booking::iso;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/stations", post(create_station))
        .route("/v1/admin/stations/{id}/chargers", post(create_charger))
        .route("/v1/admin/stations/{id}/connectors", post(create_connector))
        .route("/v1/admin/chargers", get(list_chargers))
        .route("/v1/admin/chargers/unassigned", get(list_unassigned))
}

type Created = (StatusCode, axum::Json<serde_json::Value>);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateStation {
    name: String,
    latitude: f64,
    longitude: f64,
    address: Option<String>,
}

async fn create_station(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<CreateStation>,
) -> ApiResult<Created> {
    let station = provisioning::create_station(
        &*state.store,
        &*state.clock,
        StationInput {
            name: body.name,
            latitude: body.latitude,
            longitude: body.longitude,
            address: body.address,
        },
    )
    .await?;
    tracing::info!(admin.sub = admin.user_id, station.id = %station.id, "station created");
    Ok(created(StationJson::from(StationView {
        station,
        connectors: Vec::new(),
        distance_km: None,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateCharger {
    charge_point_id: String,
    security_profile: u8,
    password: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ChargerJson {
    id: Uuid,
    station_id: Uuid,
    charge_point_id: String,
    security_profile: u8,
    ocpp_version: Option<&'static str>,
    vendor: Option<String>,
    model: Option<String>,
    firmware_version: Option<String>,
    online: bool,
    last_seen_at: Option<String>,
    created_at: String,
    /// The operator's admission decision; `null` follows the default policy.
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

async fn create_charger(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    UuidPath(station_id): UuidPath,
    ApiJson(body): ApiJson<CreateCharger>,
) -> ApiResult<Created> {
    if let Ok(profile) = booking::model::SecurityProfile::try_from(body.security_profile) {
        state.rotation.servable(profile)?;
    }
    let charger = provisioning::create_charger(
        &*state.store,
        &*state.clock,
        station_id,
        ChargerInput {
            charge_point_id: body.charge_point_id,
            security_profile: body.security_profile,
            password: body.password,
        },
        // argon2 is slow on purpose: on the listener's argon2 threads.
        async |password: String| state.rotation.passwords.hash(password).await,
    )
    .await?;
    tracing::info!(admin.sub = admin.user_id, charger.id = %charger.charge_point_id, "charger registered");
    // A charger waiting unassigned (OCPP_AUTO_REGISTER) under this identity
    // is placed now: its Pending session is closed, and it reconnects as
    // the charger just registered.
    if state
        .store
        .forget_unassigned_charger(&charger.charge_point_id)
        .await?
    {
        state.chargers.disconnect(&charger.charge_point_id).await;
    }
    Ok(created(ChargerJson::from(&charger)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateConnector {
    charge_point_id: String,
    evse_id: Option<i64>,
    connector_id: i64,
    connector_number: Option<String>,
    connector_type: String,
    power_kw: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AdminConnectorJson {
    #[serde(flatten)]
    public: ConnectorJson,
    station_id: Uuid,
    charger_id: Uuid,
    charge_point_id: String,
    ocpp_connector_id: i32,
}

async fn create_connector(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    UuidPath(station_id): UuidPath,
    ApiJson(body): ApiJson<CreateConnector>,
) -> ApiResult<Created> {
    let charge_point_id = body.charge_point_id.clone();
    let connector: Connector = provisioning::create_connector(
        &*state.store,
        &*state.clock,
        station_id,
        ConnectorInput {
            charge_point_id: body.charge_point_id,
            evse_id: body.evse_id,
            connector_id: body.connector_id,
            connector_number: body.connector_number,
            connector_type: body.connector_type,
            power_kw: body.power_kw,
        },
    )
    .await?;
    tracing::info!(admin.sub = admin.user_id, connector.id = %connector.id, "connector created");
    state.bookings.invalidate_station(station_id).await;
    Ok(created(AdminConnectorJson {
        public: ConnectorJson::from(&connector),
        station_id: connector.station_id,
        charger_id: connector.charger_id,
        charge_point_id,
        ocpp_connector_id: connector.ocpp_connector_id,
    }))
}

async fn list_chargers(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let page = catalog::page(q.limit, q.offset)?;
    let (chargers, total) = state.store.chargers(page).await?;
    let chargers: Vec<ChargerJson> = chargers.iter().map(ChargerJson::from).collect();
    Ok(ok(serde_json::json!({
        "chargers": chargers,
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    })))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UnassignedJson<'a> {
    charge_point_id: &'a str,
    ocpp_version: Option<&'static str>,
    vendor: Option<&'a str>,
    model: Option<&'a str>,
    firmware_version: Option<&'a str>,
    serial_number: Option<&'a str>,
    first_seen_at: String,
    last_seen_at: String,
}

/// Chargers that connected with an identity nobody registered
/// (`OCPP_AUTO_REGISTER`), most recently seen first.
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
    Ok(ok(serde_json::json!({
        "chargers": chargers,
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    })))
}
