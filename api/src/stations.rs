//! `GET /v1/stations` and `GET /v1/stations/{id}`: how apps find stations
//! and see each connector's live status, in the seed's shape.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use booking::catalog::{self, StationQuery, StationView};
use booking::iso;
use booking::model::Connector;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiResult, ok};
use super::extract::{ApiQuery, UuidPath};
use super::openapi::{ErrorEnvelope, envelope};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_stations))
        .routes(routes!(get_station))
}

/// A connector and its live status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConnectorJson {
    pub id: Uuid,
    /// The connector's label at the station.
    #[schema(example = "1")]
    pub connector_number: String,
    #[schema(example = "CCS")]
    pub connector_type: String,
    #[schema(example = 150.0)]
    pub power_kw: f64,
    #[schema(schema_with = super::openapi::connector_status)]
    pub status: &'static str,
    /// When the status last changed.
    #[schema(example = "2024-05-01T10:00:00.000Z")]
    pub updated_at: String,
    /// The OCPP EVSE it belongs to (1 for OCPP 1.6).
    pub evse_id: i32,
    /// While OFFLINE, the status the charger last reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, required = false)]
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

/// A station with its connectors.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StationJson {
    pub id: Uuid,
    #[schema(example = "Gachibowli Hub")]
    pub name: String,
    #[schema(example = 17.4474)]
    pub latitude: f64,
    #[schema(example = 78.3762)]
    pub longitude: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub address: Option<String>,
    pub connectors: Vec<ConnectorJson>,
    /// From `lat`/`lng`, when the list was asked near a point.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub distance_km: Option<f64>,
}

envelope!(
    /// One station.
    StationEnvelope,
    StationJson
);

/// A page of stations.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StationList {
    stations: Vec<StationJson>,
    /// Stations matching, over all pages.
    total: u64,
    limit: u32,
    offset: u64,
}

envelope!(
    /// A page of stations.
    StationListEnvelope,
    StationList
);

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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Stations per page, 1 to 200 (default 50).
    limit: Option<i64>,
    /// Stations to skip, at most 1 000 000 (default 0).
    offset: Option<i64>,
    /// Latitude to search near (with `lng`); sorts by distance.
    lat: Option<f64>,
    /// Longitude to search near (with `lat`).
    lng: Option<f64>,
    /// With `lat`/`lng`: only stations within this many km (default 25, at
    /// most 1000).
    radius_km: Option<f64>,
}

/// One station with its connectors' live status.
#[utoipa::path(
    get,
    path = "/v1/stations/{id}",
    tag = "stations",
    params(("id" = Uuid, Path, description = "The station's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The station", body = StationEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such station", body = ErrorEnvelope),
    ),
)]
async fn get_station(
    State(state): State<AppState>,
    _user: AuthUser,
    UuidPath(id): UuidPath,
) -> ApiResult<Response> {
    let shared = state.bookings.station(id).await?;
    // Encoded once per cached version, then served as is (as availability is).
    let body = shared.encoded.get_or_init(|| {
        let envelope = ok(StationJson::from(shared.view.clone())).0;
        serde_json::to_vec(&envelope).unwrap_or_default().into()
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Bytes::from_owner(body.clone()),
    )
        .into_response())
}

/// Stations, paged; near a point (`lat`, `lng`, `radiusKm`) nearest first.
#[utoipa::path(
    get,
    path = "/v1/stations",
    tag = "stations",
    params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of stations", body = StationListEnvelope)),
)]
async fn list_stations(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let query = StationQuery::new(q.limit, q.offset, q.lat, q.lng, q.radius_km)?;
    let (views, total) = catalog::stations(&*state.store, query).await?;
    let stations: Vec<StationJson> = views.into_iter().map(StationJson::from).collect();
    Ok(ok(StationList {
        stations,
        total,
        limit: query.page.limit,
        offset: query.page.offset,
    }))
}
