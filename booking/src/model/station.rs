//! A charging site: where drivers go.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::geo::Point;

/// A charging site drivers travel to; its chargers and connectors belong to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Station {
    /// evgate's id for the station.
    pub id: Uuid,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// WGS 84 degrees north, -90 to 90.
    pub latitude: f64,
    /// WGS 84 degrees east, -180 to 180.
    pub longitude: f64,
    /// Street address for display, when given (at most 500 characters).
    pub address: Option<String>,
    /// When an operator created it (UTC).
    pub created_at: DateTime<Utc>,
}

impl Station {
    /// Its position, for distance searches.
    pub fn location(&self) -> Point {
        Point {
            latitude: self.latitude,
            longitude: self.longitude,
        }
    }
}
