//! `GET /v1/stations` and `GET /v1/stations/{id}`: how apps find stations
//! and see each connector's live status, in the seed's shape.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use booking::catalog::{self, StationQuery, StationView};
use booking::iso;
use booking::model::Connector;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiResult, ok};
use super::extract::{ApiQuery, UuidPath};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/stations", get(list_stations))
        .route("/v1/stations/{id}", get(get_station))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConnectorJson {
    pub id: Uuid,
    pub connector_number: String,
    pub connector_type: String,
    pub power_kw: f64,
    pub status: &'static str,
    pub updated_at: String,
    pub evse_id: i32,
    /// While OFFLINE, the status the charger last reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_known_status: Option<&'static str>,
}

impl From<&Connector> for ConnectorJson {
    fn from(c: &Connector) -> Self {
        Self {
            id: c.id,
            connector_number: c.connector_number.clone(),
            connector_type: c.connector_type.clone(),
            power_kw: c.power_kw,
            status: c.status.as_str(),
            updated_at: iso(c.status_updated_at),
            evse_id: c.evse_id,
            last_known_status: c.last_known_status.map(|s| s.as_str()),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StationJson {
    pub id: Uuid,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub connectors: Vec<ConnectorJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
}

impl From<StationView> for StationJson {
    fn from(v: StationView) -> Self {
        Self {
            id: v.station.id,
            name: v.station.name,
            latitude: v.station.latitude,
            longitude: v.station.longitude,
            address: v.station.address,
            connectors: v.connectors.iter().map(ConnectorJson::from).collect(),
            // Metres are precision enough for "how far".
            distance_km: v.distance_km.map(|d| (d * 1000.0).round() / 1000.0),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    limit: Option<i64>,
    offset: Option<i64>,
    lat: Option<f64>,
    lng: Option<f64>,
    radius_km: Option<f64>,
}

async fn get_station(
    State(state): State<AppState>,
    _user: AuthUser,
    UuidPath(id): UuidPath,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let view = state.bookings.station(id).await?;
    Ok(ok(StationJson::from(view)))
}

async fn list_stations(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let query = StationQuery::new(q.limit, q.offset, q.lat, q.lng, q.radius_km)?;
    let (views, total) = catalog::stations(&*state.store, query).await?;
    let stations: Vec<StationJson> = views.into_iter().map(StationJson::from).collect();
    Ok(ok(serde_json::json!({
        "stations": stations,
        "total": total,
        "limit": query.page.limit,
        "offset": query.page.offset,
    })))
}
