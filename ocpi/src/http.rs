//! OCPI's HTTP face, evgate as the CPO: versions, credentials and the
//! Locations sender interface under `/ocpi/`. Every answer is an OCPI
//! envelope; `X-Request-ID` and `X-Correlation-ID` are echoed.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use booking::model::Connector;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::Ocpi;
use crate::envelope::{self, timestamp};
use crate::error::{OcpiError, Result};
use crate::locations::{find_evse, location};
use crate::partner::{OcpiVersion, Partner, PartnerState, presented_tokens, token_hash};
use crate::tokens::TokenKey;

/// Locations per page at most (and by default).
pub(crate) const MAX_LIMIT: usize = 100;

/// The `/ocpi/…` routes.
pub fn router(ocpi: Ocpi) -> Router {
    Router::new()
        .route("/ocpi/versions", get(versions))
        .route("/ocpi/{version}", get(version_details))
        .route(
            "/ocpi/{version}/credentials",
            get(get_credentials)
                .post(post_credentials)
                .put(put_credentials)
                .delete(delete_credentials),
        )
        .route("/ocpi/{version}/locations", get(list_locations))
        .route("/ocpi/{version}/locations/{location_id}", get(one_location))
        .route(
            "/ocpi/{version}/locations/{location_id}/{evse_uid}",
            get(one_evse),
        )
        .route(
            "/ocpi/{version}/locations/{location_id}/{evse_uid}/{connector_id}",
            get(one_connector),
        )
        .route(
            "/ocpi/{version}/bookings",
            get(list_bookings).post(post_booking),
        )
        .route(
            "/ocpi/{version}/bookings/booking_locations",
            get(list_booking_locations),
        )
        .route(
            "/ocpi/{version}/bookings/booking_locations/{id}",
            get(one_booking_location),
        )
        .route(
            "/ocpi/{version}/bookings/booking_locations/{id}/{calendar_id}",
            get(one_calendar),
        )
        .route("/ocpi/{version}/bookings/{booking_id}", get(one_booking))
        .route(
            "/ocpi/{version}/tokens/{country_code}/{party_id}/{uid}",
            get(get_token).put(put_token).patch(patch_token),
        )
        .route("/ocpi/{version}/commands/{command}", post(post_command))
        .route("/ocpi/{version}/tariffs", get(list_tariffs))
        .layer(axum::middleware::from_fn(correlation))
        .with_state(ocpi)
}

/// Echoes the request and correlation ids OCPI asks every answer to carry.
async fn correlation(req: Request, next: Next) -> Response {
    let ids: Vec<(&'static str, HeaderValue)> = ["x-request-id", "x-correlation-id"]
        .into_iter()
        .filter_map(|h| req.headers().get(h).map(|v| (h, v.clone())))
        .collect();
    let mut resp = next.run(req).await;
    for (name, value) in ids {
        resp.headers_mut().insert(name, value);
    }
    resp
}

/// Who is calling: the partner the token belongs to, and that token's
/// hash (what a handshake replaces).
struct Caller {
    partner: Partner,
    token: String,
    hash: String,
}

async fn caller(ocpi: &Ocpi, headers: &HeaderMap) -> Result<Caller> {
    ocpi.settings()?;
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    for token in presented_tokens(header) {
        let hash = token_hash(&token);
        if let Some(partner) = ocpi.store.partner_by_token(&hash).await? {
            return Ok(Caller {
                partner,
                token,
                hash,
            });
        }
    }
    Err(OcpiError::Unauthorized(
        "Authorization: Token … with a token this CPO issued is required".into(),
    ))
}

/// A registered partner's call (token C): token A opens only versions
/// and credentials.
async fn registered(ocpi: &Ocpi, headers: &HeaderMap) -> Result<Caller> {
    let c = caller(ocpi, headers).await?;
    if c.partner.state != PartnerState::Registered {
        return Err(OcpiError::Unauthorized(
            "register first: this token only opens versions and credentials".into(),
        ));
    }
    Ok(c)
}

fn version(segment: &str) -> Result<OcpiVersion> {
    OcpiVersion::parse(segment).ok_or_else(|| {
        OcpiError::UnsupportedVersion(format!("version {segment:?} is not served here"))
    })
}

/// Where partners reach evgate: `OCPI_BASE_URL`, else the request's host.
fn base_url(ocpi: &Ocpi, headers: &HeaderMap) -> String {
    if let Some(base) = ocpi.settings.as_ref().and_then(|s| s.base_url.clone()) {
        return base;
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

async fn versions(State(ocpi): State<Ocpi>, headers: HeaderMap) -> Result<Response> {
    caller(&ocpi, &headers).await?;
    let base = base_url(&ocpi, &headers);
    let list: Vec<Value> = OcpiVersion::ALL
        .iter()
        .map(|v| json!({ "version": v.as_str(), "url": format!("{base}/ocpi/{}", v.as_str()) }))
        .collect();
    Ok(envelope::success(json!(list)))
}

async fn version_details(
    State(ocpi): State<Ocpi>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    caller(&ocpi, &headers).await?;
    let v = version(&segment)?;
    let root = format!("{}/ocpi/{}", base_url(&ocpi, &headers), v.as_str());
    let mut details = json!({
        "version": v.as_str(),
        "endpoints": [
            { "identifier": "credentials", "role": "SENDER", "url": format!("{root}/credentials") },
            { "identifier": "credentials", "role": "RECEIVER", "url": format!("{root}/credentials") },
            { "identifier": "locations", "role": "SENDER", "url": format!("{root}/locations") },
            { "identifier": "tariffs", "role": "SENDER", "url": format!("{root}/tariffs") },
            { "identifier": "tokens", "role": "RECEIVER", "url": format!("{root}/tokens") },
            { "identifier": "commands", "role": "RECEIVER", "url": format!("{root}/commands") },
        ],
    });
    if v == OcpiVersion::V230 {
        // The Bookings module (2.3.0's bookings release): the CPO is its
        // sender, and takes the partner's BookingRequests there too.
        if let Some(list) = details["endpoints"].as_array_mut() {
            list.push(json!({ "identifier": "bookings", "role": "SENDER", "url": format!("{root}/bookings") }));
        }
    }
    Ok(envelope::success(details))
}

async fn get_credentials(
    State(ocpi): State<Ocpi>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let c = caller(&ocpi, &headers).await?;
    version(&segment)?;
    let own = ocpi.own_credentials(&c.token, &base_url(&ocpi, &headers))?;
    Ok(envelope::success(own))
}

async fn post_credentials(
    State(ocpi): State<Ocpi>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    handshake(ocpi, segment, headers, body, false).await
}

async fn put_credentials(
    State(ocpi): State<Ocpi>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    handshake(ocpi, segment, headers, body, true).await
}

async fn handshake(
    ocpi: Ocpi,
    segment: String,
    headers: HeaderMap,
    body: Bytes,
    update: bool,
) -> Result<Response> {
    let c = caller(&ocpi, &headers).await?;
    let v = version(&segment)?;
    let token_c = ocpi.register(&c.partner, &c.hash, v, &body, update).await?;
    let own = ocpi.own_credentials(&token_c, &base_url(&ocpi, &headers))?;
    Ok(envelope::success(own))
}

async fn delete_credentials(
    State(ocpi): State<Ocpi>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let c = caller(&ocpi, &headers).await?;
    version(&segment)?;
    ocpi.unregister(&c.partner, &c.hash).await?;
    Ok(envelope::success(Value::Null))
}

/// `date_from`/`date_to` (RFC 3339) and `offset`/`limit`, checked.
struct Paging {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    offset: usize,
    limit: usize,
}

fn paging(q: &HashMap<String, String>) -> Result<Paging> {
    let date = |name: &str| -> Result<Option<DateTime<Utc>>> {
        q.get(name)
            .map(|s| {
                envelope::parse_timestamp(s).ok_or_else(|| {
                    OcpiError::InvalidParameters(format!("{name} is not a DateTime"))
                })
            })
            .transpose()
    };
    let number = |name: &str, default: usize| -> Result<usize> {
        q.get(name).map_or(Ok(default), |s| {
            s.parse()
                .map_err(|_| OcpiError::InvalidParameters(format!("{name} is not a whole number")))
        })
    };
    Ok(Paging {
        from: date("date_from")?,
        to: date("date_to")?,
        offset: number("offset", 0)?,
        limit: number("limit", MAX_LIMIT)?.min(MAX_LIMIT),
    })
}

async fn list_locations(
    State(ocpi): State<Ocpi>,
    Path(segment): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response> {
    registered(&ocpi, &headers).await?;
    let v = version(&segment)?;
    let page = paging(&q)?;
    let party = &ocpi.settings()?.party;
    let (published, total) = ocpi
        .store
        .published_page((page.from, page.to), page.offset as u64, page.limit as u32)
        .await?;
    let ids: Vec<_> = published.iter().map(|(s, _)| s.id).collect();
    let connectors = ocpi.core.connectors_of_stations(&ids).await?;
    let mut by_station: HashMap<_, Vec<&Connector>> = HashMap::new();
    for c in &connectors {
        by_station.entry(c.station_id).or_default().push(c);
    }
    let tariffs = ocpi.tariffs_of_connectors(&ids).await?;
    let empty = Vec::new();
    let data: Vec<Value> = published
        .iter()
        .map(|(station, details)| {
            let cs = by_station.get(&station.id).unwrap_or(&empty);
            location(party, station, details, cs, &tariffs, v)
        })
        .collect();
    let path = format!("{}/locations", v.as_str());
    Ok(page_of(
        &ocpi,
        &headers,
        &path,
        &page,
        data,
        total as usize,
        "",
    ))
}

/// One page of `items` (already filtered) with OCPI's paging headers:
/// `X-Total-Count`, `X-Limit` and a `Link` to the next page keeping the
/// filters (`extra` adds the module's own query parameters).
fn paged(
    ocpi: &Ocpi,
    headers: &HeaderMap,
    path: &str,
    page: &Paging,
    items: Vec<Value>,
    extra: &str,
) -> Response {
    let total = items.len();
    let data: Vec<Value> = items
        .into_iter()
        .skip(page.offset)
        .take(page.limit)
        .collect();
    page_of(ocpi, headers, path, page, data, total, extra)
}

/// [`paged`] for a page the store already cut, of `total` items.
fn page_of(
    ocpi: &Ocpi,
    headers: &HeaderMap,
    path: &str,
    page: &Paging,
    data: Vec<Value>,
    total: usize,
    extra: &str,
) -> Response {
    let mut resp = envelope::success(json!(data));
    let h = resp.headers_mut();
    h.insert("x-total-count", HeaderValue::from(total));
    h.insert("x-limit", HeaderValue::from(page.limit));
    let next = page.offset + page.limit;
    if next < total && page.limit > 0 {
        let mut url = format!(
            "{}/ocpi/{path}?offset={next}&limit={}{extra}",
            base_url(ocpi, headers),
            page.limit
        );
        if let Some(f) = page.from {
            url.push_str(&format!("&date_from={}", timestamp(f)));
        }
        if let Some(t) = page.to {
            url.push_str(&format!("&date_to={}", timestamp(t)));
        }
        if let Ok(link) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
            h.insert("link", link);
        }
    }
    resp
}

impl Paging {
    /// Whether a change at `t` is inside `date_from`/`date_to`.
    fn covers(&self, t: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|end| t < end)
    }
}

/// One published Location and its connectors (2003 for any other id).
async fn published(
    ocpi: &Ocpi,
    location_id: &str,
) -> Result<(
    booking::model::Station,
    crate::LocationDetails,
    Vec<Connector>,
)> {
    let unknown = || OcpiError::UnknownLocation(format!("Location {location_id} not found"));
    let id: uuid::Uuid = location_id.parse().map_err(|_| unknown())?;
    let (station, details) = ocpi
        .store
        .published_location(id)
        .await?
        .ok_or_else(unknown)?;
    let connectors = ocpi.core.connectors_of_stations(&[id]).await?;
    Ok((station, details, connectors))
}

async fn one_location(
    State(ocpi): State<Ocpi>,
    Path((segment, location_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    registered(&ocpi, &headers).await?;
    let v = version(&segment)?;
    let (station, details, connectors) = published(&ocpi, &location_id).await?;
    let cs: Vec<&Connector> = connectors.iter().collect();
    let party = &ocpi.settings()?.party;
    let tariffs = ocpi.tariffs_of_connectors(&[station.id]).await?;
    Ok(envelope::success(location(
        party, &station, &details, &cs, &tariffs, v,
    )))
}

async fn one_evse(
    State(ocpi): State<Ocpi>,
    Path((segment, location_id, evse_uid)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    registered(&ocpi, &headers).await?;
    let v = version(&segment)?;
    let (station, _, connectors) = published(&ocpi, &location_id).await?;
    let cs: Vec<&Connector> = connectors.iter().collect();
    let c = find_evse(&cs, &evse_uid)?;
    let tariffs = ocpi.tariffs_of_connectors(&[station.id]).await?;
    Ok(envelope::success(crate::locations::evse(c, &tariffs, v)))
}

async fn one_connector(
    State(ocpi): State<Ocpi>,
    Path((segment, location_id, evse_uid, connector_id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    registered(&ocpi, &headers).await?;
    let v = version(&segment)?;
    let (station, _, connectors) = published(&ocpi, &location_id).await?;
    let cs: Vec<&Connector> = connectors.iter().collect();
    let c = find_evse(&cs, &evse_uid)?;
    let tariffs = ocpi.tariffs_of_connectors(&[station.id]).await?;
    let evse = crate::locations::evse(c, &tariffs, v);
    let found = evse["connectors"]
        .as_array()
        .and_then(|list| {
            list.iter()
                .find(|k| k["id"].as_str() == Some(connector_id.as_str()))
        })
        .cloned()
        .ok_or_else(|| OcpiError::UnknownLocation(format!("Connector {connector_id} not found")))?;
    Ok(envelope::success(found))
}

/// Bookings is a 2.3.0 module.
fn bookings_version(segment: &str) -> Result<OcpiVersion> {
    match version(segment)? {
        OcpiVersion::V230 => Ok(OcpiVersion::V230),
        other => Err(OcpiError::UnknownObject(format!(
            "Bookings is an OCPI 2.3.0 module, not served in {}",
            other.as_str()
        ))),
    }
}

async fn post_booking(
    State(ocpi): State<Ocpi>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let c = registered(&ocpi, &headers).await?;
    bookings_version(&segment)?;
    let booking = ocpi.request_booking(&c.partner, &body).await?;
    Ok(envelope::success(booking))
}

async fn list_bookings(
    State(ocpi): State<Ocpi>,
    Path(segment): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response> {
    let c = registered(&ocpi, &headers).await?;
    let v = bookings_version(&segment)?;
    let page = paging(&q)?;
    let mut all = ocpi.partner_bookings(&c.partner).await?;
    all.sort_by_key(|(t, _)| *t);
    let items = all
        .into_iter()
        .filter(|(t, _)| page.covers(*t))
        .map(|(_, b)| b)
        .collect();
    Ok(paged(
        &ocpi,
        &headers,
        &format!("{}/bookings", v.as_str()),
        &page,
        items,
        "",
    ))
}

async fn one_booking(
    State(ocpi): State<Ocpi>,
    Path((segment, booking_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let c = registered(&ocpi, &headers).await?;
    bookings_version(&segment)?;
    Ok(envelope::success(
        ocpi.partner_booking(&c.partner, &booking_id).await?,
    ))
}

/// A window's optional ends.
type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `timeslot_from`/`timeslot_to`, checked.
fn timeslots(q: &HashMap<String, String>) -> Result<Window> {
    let at = |name: &str| {
        q.get(name)
            .map(|s| {
                envelope::parse_timestamp(s).ok_or_else(|| {
                    OcpiError::InvalidParameters(format!("{name} is not a DateTime"))
                })
            })
            .transpose()
    };
    Ok((at("timeslot_from")?, at("timeslot_to")?))
}

async fn list_booking_locations(
    State(ocpi): State<Ocpi>,
    Path(segment): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response> {
    registered(&ocpi, &headers).await?;
    let v = bookings_version(&segment)?;
    let page = paging(&q)?;
    let (from, to) = timeslots(&q)?;
    let all = ocpi.booking_locations(from, to, None).await?;
    let items = all
        .into_iter()
        .filter(|(t, _)| page.covers(*t))
        .map(|(_, b)| b)
        .collect();
    let extra: String = [("timeslot_from", from), ("timeslot_to", to)]
        .iter()
        .filter_map(|(n, t)| t.map(|t| format!("&{n}={}", timestamp(t))))
        .collect();
    let path = format!("{}/bookings/booking_locations", v.as_str());
    Ok(paged(&ocpi, &headers, &path, &page, items, &extra))
}

/// One BookingLocation (its id is its EVSE's uid).
async fn booking_location(ocpi: &Ocpi, id: &str, q: &HashMap<String, String>) -> Result<Value> {
    let unknown = || OcpiError::UnknownObject(format!("BookingLocation {id} not found"));
    let uid: uuid::Uuid = id.parse().map_err(|_| unknown())?;
    let (from, to) = timeslots(q)?;
    ocpi.booking_locations(from, to, Some(uid))
        .await?
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .ok_or_else(unknown)
}

async fn one_booking_location(
    State(ocpi): State<Ocpi>,
    Path((segment, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response> {
    registered(&ocpi, &headers).await?;
    bookings_version(&segment)?;
    Ok(envelope::success(booking_location(&ocpi, &id, &q).await?))
}

async fn one_calendar(
    State(ocpi): State<Ocpi>,
    Path((segment, id, calendar_id)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response> {
    registered(&ocpi, &headers).await?;
    bookings_version(&segment)?;
    let location = booking_location(&ocpi, &id, &q).await?;
    let calendar = location["calendars"]
        .as_array()
        .and_then(|list| {
            list.iter()
                .find(|c| c["id"].as_str() == Some(calendar_id.as_str()))
        })
        .cloned()
        .ok_or_else(|| OcpiError::UnknownObject(format!("Calendar {calendar_id} not found")))?;
    Ok(envelope::success(calendar))
}

/// The token a path and `?type=` name (`RFID` by default).
fn token_key(
    (country_code, party_id, uid): (String, String, String),
    q: &HashMap<String, String>,
) -> TokenKey {
    TokenKey {
        country_code,
        party_id,
        uid,
        token_type: q.get("type").cloned().unwrap_or_else(|| "RFID".to_owned()),
    }
}

type TokenPath = Path<(String, String, String, String)>;

async fn get_token(
    State(ocpi): State<Ocpi>,
    Path((segment, cc, pid, uid)): TokenPath,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response> {
    let c = registered(&ocpi, &headers).await?;
    version(&segment)?;
    let key = token_key((cc, pid, uid), &q);
    Ok(envelope::success(ocpi.token(&c.partner, &key).await?))
}

async fn put_token(
    State(ocpi): State<Ocpi>,
    Path((segment, cc, pid, uid)): TokenPath,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let c = registered(&ocpi, &headers).await?;
    version(&segment)?;
    let key = token_key((cc, pid, uid), &q);
    let created = ocpi.put_token(&c.partner, &key, &body).await?;
    let mut resp = envelope::success(Value::Null);
    if created {
        *resp.status_mut() = axum::http::StatusCode::CREATED;
    }
    Ok(resp)
}

async fn patch_token(
    State(ocpi): State<Ocpi>,
    Path((segment, cc, pid, uid)): TokenPath,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let c = registered(&ocpi, &headers).await?;
    version(&segment)?;
    let key = token_key((cc, pid, uid), &q);
    ocpi.patch_token(&c.partner, &key, &body).await?;
    Ok(envelope::success(Value::Null))
}

async fn post_command(
    State(ocpi): State<Ocpi>,
    Path((segment, command)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let c = registered(&ocpi, &headers).await?;
    version(&segment)?;
    Ok(envelope::success(
        ocpi.command(&c.partner, &command, &body).await?,
    ))
}

async fn list_tariffs(
    State(ocpi): State<Ocpi>,
    Path(segment): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response> {
    registered(&ocpi, &headers).await?;
    let v = version(&segment)?;
    let page = paging(&q)?;
    let party = &ocpi.settings()?.party;
    let first = booking::model::Page {
        limit: 1000,
        offset: 0,
    };
    let (mut all, _) = ocpi.core.tariffs(first).await?;
    all.sort_by_key(|t| (t.created_at, t.id));
    let items = all
        .iter()
        .filter(|t| page.covers(t.created_at))
        .map(|t| crate::tariffs::tariff(party, t, v))
        .collect();
    Ok(paged(
        &ocpi,
        &headers,
        &format!("{}/tariffs", v.as_str()),
        &page,
        items,
        "",
    ))
}
