//! How apps find stations: one station with its connectors' live status, or
//! a page of stations, optionally those within a radius of a point, nearest
//! first. Connectors of a page come in one query, never one per station.

use std::collections::HashMap;

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::geo::{self, Point};
use crate::model::{Connector, Page, Station};
use crate::store::StationStore;

/// Page size when a listing names none.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page a listing may ask for.
pub const MAX_LIMIT: u32 = 200;
/// Deepest offset a listing may ask for, so no request skips unbounded rows.
pub const MAX_OFFSET: u64 = 1_000_000;
/// Search radius in km when a point comes without `radiusKm`.
pub const DEFAULT_RADIUS_KM: f64 = 25.0;
/// Largest search radius, in km.
pub const MAX_RADIUS_KM: f64 = 1000.0;

/// A station as apps see it.
#[derive(Debug, Clone, PartialEq)]
pub struct StationView {
    /// The station's own record.
    pub station: Station,
    /// Its connectors with their live status, in connector-number order.
    pub connectors: Vec<Connector>,
    /// Set when the listing was asked for around a point.
    pub distance_km: Option<f64>,
}

/// One station as the read cache shares it: the view, and its encoded
/// response made once by whichever edge serves it first (a cached station
/// is served many times unchanged; building and encoding its JSON cost
/// more than the rest of the read).
#[derive(Debug)]
pub struct SharedStation {
    /// The station and its connectors.
    pub view: StationView,
    /// The response body, once encoded.
    pub encoded: std::sync::OnceLock<std::sync::Arc<[u8]>>,
}

impl From<StationView> for SharedStation {
    fn from(view: StationView) -> Self {
        Self {
            view,
            encoded: std::sync::OnceLock::new(),
        }
    }
}

/// A "stations" request, validated by [`StationQuery::new`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StationQuery {
    /// Which slice of the matching stations to return.
    pub page: Page,
    /// Centre and radius (km) when asked for stations near a point; results
    /// then come nearest first.
    pub near: Option<(Point, f64)>,
}

impl StationQuery {
    /// Checks paging and the optional point and radius; `lat` and `lng` come
    /// together or not at all.
    pub fn new(
        limit: Option<i64>,
        offset: Option<i64>,
        lat: Option<f64>,
        lng: Option<f64>,
        radius_km: Option<f64>,
    ) -> Result<Self> {
        let page = page(limit, offset)?;
        let near = match (lat, lng) {
            (None, None) if radius_km.is_some() => {
                return Err(Error::validation("radiusKm", "needs lat and lng"));
            }
            (None, None) => None,
            (Some(_), None) => return Err(Error::validation("lng", "is required with lat")),
            (None, Some(_)) => return Err(Error::validation("lat", "is required with lng")),
            (Some(latitude), Some(longitude)) => {
                if !(latitude.is_finite() && (-90.0..=90.0).contains(&latitude)) {
                    return Err(Error::validation("lat", "must be between -90 and 90"));
                }
                if !(longitude.is_finite() && (-180.0..=180.0).contains(&longitude)) {
                    return Err(Error::validation("lng", "must be between -180 and 180"));
                }
                let r = radius_km.unwrap_or(DEFAULT_RADIUS_KM);
                if !(r.is_finite() && r > 0.0 && r <= MAX_RADIUS_KM) {
                    return Err(Error::validation(
                        "radiusKm",
                        format!("must be greater than 0 and at most {MAX_RADIUS_KM}"),
                    ));
                }
                Some((
                    Point {
                        latitude,
                        longitude,
                    },
                    r,
                ))
            }
        };
        Ok(Self { page, near })
    }
}

/// Checks `limit` (1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]) and
/// `offset` (0 to [`MAX_OFFSET`]) of any listing.
pub fn page(limit: Option<i64>, offset: Option<i64>) -> Result<Page> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(l) => u32::try_from(l)
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                Error::validation("limit", format!("must be between 1 and {MAX_LIMIT}"))
            })?,
    };
    let offset = match offset {
        None => 0,
        Some(o) => u64::try_from(o)
            .ok()
            .filter(|o| *o <= MAX_OFFSET)
            .ok_or_else(|| {
                Error::validation("offset", format!("must be between 0 and {MAX_OFFSET}"))
            })?,
    };
    Ok(Page { limit, offset })
}

/// One station with its connectors, uncached; `NotFound` when there is no such
/// station.
pub async fn station(store: &dyn StationStore, id: Uuid) -> Result<StationView> {
    let station = store
        .station(id)
        .await?
        .ok_or_else(|| Error::not_found("station", id))?;
    let connectors = store.connectors_of_stations(&[id]).await?;
    Ok(StationView {
        station,
        connectors,
        distance_km: None,
    })
}

/// A page of stations and the total that match.
pub async fn stations(
    store: &dyn StationStore,
    query: StationQuery,
) -> Result<(Vec<StationView>, u64)> {
    let (page, total): (Vec<(Station, Option<f64>)>, u64) = match query.near {
        None => {
            let (stations, total) = store.stations(query.page).await?;
            (stations.into_iter().map(|s| (s, None)).collect(), total)
        }
        Some((center, radius_km)) => {
            let candidates = store
                .stations_in_box(geo::bounding_box(center, radius_km))
                .await?;
            let mut near: Vec<(Station, f64)> = candidates
                .into_iter()
                .map(|s| {
                    let d = geo::distance_km(center, s.location());
                    (s, d)
                })
                .filter(|(_, d)| *d <= radius_km)
                .collect();
            near.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.id.cmp(&b.0.id)));
            let total = near.len() as u64;
            let page = near
                .into_iter()
                .skip(query.page.offset as usize)
                .take(query.page.limit as usize)
                .map(|(s, d)| (s, Some(d)))
                .collect();
            (page, total)
        }
    };
    let ids: Vec<Uuid> = page.iter().map(|(s, _)| s.id).collect();
    let mut by_station: HashMap<Uuid, Vec<Connector>> = HashMap::new();
    for c in store.connectors_of_stations(&ids).await? {
        by_station.entry(c.station_id).or_default().push(c);
    }
    let views = page
        .into_iter()
        .map(|(station, distance_km)| StationView {
            connectors: by_station.remove(&station.id).unwrap_or_default(),
            station,
            distance_km,
        })
        .collect();
    Ok((views, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_bounds() {
        let q = StationQuery::new(None, None, None, None, None).unwrap();
        assert_eq!(
            q.page,
            Page {
                limit: 50,
                offset: 0
            }
        );
        assert!(StationQuery::new(Some(0), None, None, None, None).is_err());
        assert!(StationQuery::new(Some(201), None, None, None, None).is_err());
        assert!(StationQuery::new(None, Some(-1), None, None, None).is_err());
        assert!(StationQuery::new(Some(200), Some(1_000_000), None, None, None).is_ok());
    }

    #[test]
    fn point_needs_both_coordinates() {
        let err = StationQuery::new(None, None, Some(17.0), None, None).unwrap_err();
        assert!(matches!(err, Error::Validation { ref field, .. } if field == "lng"));
        let err = StationQuery::new(None, None, None, None, Some(5.0)).unwrap_err();
        assert!(matches!(err, Error::Validation { ref field, .. } if field == "radiusKm"));
        let err = StationQuery::new(None, None, Some(91.0), Some(0.0), None).unwrap_err();
        assert!(matches!(err, Error::Validation { ref field, .. } if field == "lat"));
        let q = StationQuery::new(None, None, Some(17.0), Some(78.0), None).unwrap();
        assert_eq!(q.near.unwrap().1, DEFAULT_RADIUS_KM);
    }
}
