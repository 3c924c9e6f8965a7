//! Distances on the earth's surface, for "stations near me".

/// Mean earth radius in kilometres (IUGG).
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A point in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Degrees north, -90 to 90.
    pub latitude: f64,
    /// Degrees east, -180 to 180.
    pub longitude: f64,
}

/// A latitude/longitude rectangle that contains every point within a radius;
/// a cheap, indexable pre-filter before the exact distance is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    /// Southern edge, in degrees (clamped at -90).
    pub min_latitude: f64,
    /// Northern edge, in degrees (clamped at 90).
    pub max_latitude: f64,
    /// When the box crosses the antimeridian, `min_longitude > max_longitude`.
    pub min_longitude: f64,
    /// Eastern edge, in degrees.
    pub max_longitude: f64,
}

impl BoundingBox {
    /// Whether the box wraps past ±180°: a longitude is then inside if at least
    /// `min_longitude` or at most `max_longitude`.
    pub fn crosses_antimeridian(&self) -> bool {
        self.min_longitude > self.max_longitude
    }
}

/// Great-circle distance (haversine).
pub fn distance_km(a: Point, b: Point) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let dlat = lat2 - lat1;
    let dlng = (b.longitude - a.longitude).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// The box around `center` holding every point within `radius_km`.
pub fn bounding_box(center: Point, radius_km: f64) -> BoundingBox {
    let dlat = (radius_km / EARTH_RADIUS_KM).to_degrees();
    let min_latitude = (center.latitude - dlat).max(-90.0);
    let max_latitude = (center.latitude + dlat).min(90.0);
    // Near a pole, or with a radius that wraps the globe, every longitude is in.
    let widest = center.latitude.abs() + dlat;
    if widest >= 90.0 || radius_km >= std::f64::consts::PI * EARTH_RADIUS_KM / 2.0 {
        return BoundingBox {
            min_latitude,
            max_latitude,
            min_longitude: -180.0,
            max_longitude: 180.0,
        };
    }
    // Exact longitude half-width (J. Matuschek, "Finding points within a
    // distance of a latitude/longitude"); a plain r / (R cos φ) underestimates
    // it at high latitudes.
    let angular = radius_km / EARTH_RADIUS_KM;
    let dlng = (angular.sin() / center.latitude.to_radians().cos())
        .asin()
        .to_degrees();
    let wrap = |x: f64| {
        if x < -180.0 {
            x + 360.0
        } else if x > 180.0 {
            x - 360.0
        } else {
            x
        }
    };
    BoundingBox {
        min_latitude,
        max_latitude,
        min_longitude: wrap(center.longitude - dlng),
        max_longitude: wrap(center.longitude + dlng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hyderabad_to_bangalore_is_about_500_km() {
        let hyd = Point {
            latitude: 17.385,
            longitude: 78.4867,
        };
        let blr = Point {
            latitude: 12.9716,
            longitude: 77.5946,
        };
        let d = distance_km(hyd, blr);
        assert!((495.0..505.0).contains(&d), "{d}");
    }

    #[test]
    fn box_across_the_antimeridian_wraps() {
        let fiji = Point {
            latitude: -17.7,
            longitude: 179.9,
        };
        let b = bounding_box(fiji, 50.0);
        assert!(b.crosses_antimeridian());
    }

    fn inside(b: &BoundingBox, p: Point) -> bool {
        let lat_ok = p.latitude >= b.min_latitude && p.latitude <= b.max_latitude;
        let lng_ok = if b.crosses_antimeridian() {
            p.longitude >= b.min_longitude || p.longitude <= b.max_longitude
        } else {
            p.longitude >= b.min_longitude && p.longitude <= b.max_longitude
        };
        lat_ok && lng_ok
    }

    proptest! {
        /// The pre-filter never drops a point that is within the radius.
        #[test]
        fn box_contains_every_point_within_radius(
            lat in -89.0f64..89.0, lng in -180.0f64..180.0,
            plat in -90.0f64..90.0, plng in -180.0f64..180.0,
            radius in 0.1f64..3000.0,
        ) {
            let c = Point { latitude: lat, longitude: lng };
            let p = Point { latitude: plat, longitude: plng };
            if distance_km(c, p) <= radius {
                prop_assert!(inside(&bounding_box(c, radius), p));
            }
        }
    }
}
