//! A charging site: where drivers go.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::geo::Point;

#[derive(Debug, Clone, PartialEq)]
pub struct Station {
    pub id: Uuid,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
    pub address: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Station {
    pub fn location(&self) -> Point {
        Point {
            latitude: self.latitude,
            longitude: self.longitude,
        }
    }
}
