//! Free slots of a station: slots aligned to their duration, per usable
//! connector, minus the past, live holds and PENDING/CONFIRMED/ACTIVE
//! bookings. Two range reads (bookings, holds) for the whole station, then
//! one sweep per connector.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{AVAILABILITY_TTL, BookingService};
use crate::error::{Error, Result};
use crate::model::{BookingStatus, ConnectorStatus};

pub(super) const MAX_WINDOW: TimeDelta = TimeDelta::days(7);
pub(super) const SLOT_MINUTES: std::ops::RangeInclusive<i64> = 5..=480;
pub(super) const DEFAULT_SLOT_MINUTES: i64 = 60;

/// A free slot on one connector, as apps are offered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The connector free in it.
    pub connector_id: Uuid,
    /// What drivers see on that connector.
    pub connector_number: String,
    /// Start, a whole multiple of the slot length since the Unix epoch (UTC).
    pub start: DateTime<Utc>,
    /// `start` plus the slot length, exclusive (UTC).
    pub end: DateTime<Utc>,
}

/// A station's free slots in a window; cached and shared, hence handed out in
/// an `Arc`.
#[derive(Debug, Clone, Default)]
pub struct Availability {
    /// The station asked about.
    pub station_id: Uuid,
    /// Slot length in minutes (5 to 480).
    pub slot_minutes: i64,
    /// Ordered by start, then connector number.
    pub slots: Vec<Slot>,
    /// The encoded response, made once by whichever edge serves this value
    /// first: a cached availability is served many times unchanged, and
    /// encoding a few hundred slots costs more than everything else.
    pub encoded: std::sync::OnceLock<Arc<[u8]>>,
}

impl PartialEq for Availability {
    fn eq(&self, other: &Self) -> bool {
        (self.station_id, self.slot_minutes, &self.slots)
            == (other.station_id, other.slot_minutes, &other.slots)
    }
}

/// Connectors in these states offer no slots at all.
fn bookable(status: ConnectorStatus) -> bool {
    !matches!(
        status,
        ConnectorStatus::Faulted | ConnectorStatus::Maintenance | ConnectorStatus::Offline
    )
}

impl BookingService {
    /// Free slots of a station in `[start, end)` (at most 7 days; the past is
    /// left out), `slot_minutes` long (default 60). Cached per station version
    /// for at most 60 s, and never past the expiry of a hold it counted.
    pub async fn availability(
        &self,
        station_id: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        slot_minutes: Option<i64>,
    ) -> Result<Arc<Availability>> {
        let slot_minutes = slot_minutes.unwrap_or(DEFAULT_SLOT_MINUTES);
        if !SLOT_MINUTES.contains(&slot_minutes) {
            return Err(Error::validation(
                "slotDurationMinutes",
                format!(
                    "must be between {} and {}",
                    SLOT_MINUTES.start(),
                    SLOT_MINUTES.end()
                ),
            ));
        }
        if end <= start {
            return Err(Error::validation("endDate", "must be after startDate"));
        }
        if end - start > MAX_WINDOW {
            return Err(Error::validation(
                "endDate",
                "the window may span at most 7 days",
            ));
        }
        let now = self.clock.now();
        let slot = TimeDelta::minutes(slot_minutes);
        let first = align_up(start.max(now), slot);
        // Exact for as long as it is kept: the version changes with every
        // hold, booking and status change of the station, `first` with the
        // passing of time, and the entry dies when a hold in it expires.
        let key = (
            station_id,
            self.versions.version(station_id).await?,
            first,
            end,
            slot_minutes,
        );
        if let Some(hit) = self.caches.availability.get(&key, now) {
            return Ok(hit);
        }
        let (computed, holds_expire) = self
            .compute_availability(station_id, first, end, slot_minutes, now)
            .await?;
        let computed = Arc::new(computed);
        let until = holds_expire.map_or(now + AVAILABILITY_TTL, |t| t.min(now + AVAILABILITY_TTL));
        self.caches
            .availability
            .insert(key, computed.clone(), until, now);
        Ok(computed)
    }

    /// The availability itself, and when the first hold it counted expires.
    async fn compute_availability(
        &self,
        station_id: Uuid,
        first: DateTime<Utc>,
        end: DateTime<Utc>,
        slot_minutes: i64,
        now: DateTime<Utc>,
    ) -> Result<(Availability, Option<DateTime<Utc>>)> {
        if self.stations.station(station_id).await?.is_none() {
            return Err(Error::not_found("station", station_id));
        }
        let slot = TimeDelta::minutes(slot_minutes);
        let mut available = Availability {
            station_id,
            slot_minutes,
            ..Availability::default()
        };
        if first + slot > end {
            return Ok((available, None));
        }
        let connectors: Vec<_> = self
            .stations
            .connectors_of_stations(&[station_id])
            .await?
            .into_iter()
            .filter(|c| bookable(c.status))
            .collect();
        let ids: Vec<Uuid> = connectors.iter().map(|c| c.id).collect();
        let mut busy: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = self
            .ledger
            .bookings_in_window(&ids, first, end, &BookingStatus::TAKING_THE_SLOT)
            .await?
            .into_iter()
            .map(|b| (b.connector_id, b.start_ts, b.end_ts))
            .collect();
        let holds = self.holds.live_holds(&ids, first, end, now).await?;
        let holds_expire = holds.iter().map(|h| h.expires_at).min();
        busy.extend(
            holds
                .into_iter()
                .map(|h| (h.connector_id, h.start_ts, h.end_ts)),
        );
        busy.sort_unstable();
        for c in &connectors {
            let taken: Vec<_> = busy
                .iter()
                .filter(|(id, ..)| *id == c.id)
                .map(|(_, s, e)| (*s, *e))
                .collect();
            free_slots(first, end, slot, &taken, |start, end| {
                available.slots.push(Slot {
                    connector_id: c.id,
                    connector_number: c.connector_number.clone(),
                    start,
                    end,
                })
            });
        }
        // Connectors come in display order already; a stable sort keeps it.
        available.slots.sort_by_key(|s| s.start);
        Ok((available, holds_expire))
    }
}

/// The first multiple of `step` since the Unix epoch at or after `t`, so
/// 60-minute slots start on the hour and 15-minute ones on the quarter.
fn align_up(t: DateTime<Utc>, step: TimeDelta) -> DateTime<Utc> {
    let step_ms = step.num_milliseconds();
    let ms = t.timestamp_millis();
    let aligned = ms.div_euclid(step_ms) * step_ms;
    let aligned = if aligned < ms {
        aligned + step_ms
    } else {
        aligned
    };
    DateTime::from_timestamp_millis(aligned).unwrap_or(t)
}

/// Calls `found` for every slot `[s, s + step)` from `first` that ends by
/// `end` and overlaps none of `taken` (sorted by start).
fn free_slots(
    first: DateTime<Utc>,
    end: DateTime<Utc>,
    step: TimeDelta,
    taken: &[(DateTime<Utc>, DateTime<Utc>)],
    mut found: impl FnMut(DateTime<Utc>, DateTime<Utc>),
) {
    let mut next_taken = 0;
    let mut s = first;
    while s + step <= end {
        let e = s + step;
        // Intervals that end by this slot's start can never matter again.
        while next_taken < taken.len() && taken[next_taken].1 <= s {
            next_taken += 1;
        }
        let clash = taken[next_taken..]
            .iter()
            .take_while(|(ts, _)| *ts < e)
            .any(|(ts, te)| *ts < e && s < *te);
        if !clash {
            found(s, e);
        }
        s = e;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn alignment_is_to_the_slot_duration() {
        let h = TimeDelta::minutes(60);
        assert_eq!(
            align_up(t("2030-01-01T10:00:00Z"), h),
            t("2030-01-01T10:00:00Z")
        );
        assert_eq!(
            align_up(t("2030-01-01T10:00:00.001Z"), h),
            t("2030-01-01T11:00:00Z")
        );
        assert_eq!(
            align_up(t("2030-01-01T10:07:00Z"), TimeDelta::minutes(15)),
            t("2030-01-01T10:15:00Z")
        );
    }

    #[test]
    fn taken_intervals_remove_the_slots_they_touch() {
        let taken = [
            (t("2030-01-01T10:30:00Z"), t("2030-01-01T11:00:00Z")),
            (t("2030-01-01T12:00:00Z"), t("2030-01-01T13:30:00Z")),
        ];
        let mut got = Vec::new();
        free_slots(
            t("2030-01-01T09:00:00Z"),
            t("2030-01-01T15:00:00Z"),
            TimeDelta::hours(1),
            &taken,
            |s, _| got.push(s.format("%H").to_string()),
        );
        assert_eq!(got, ["09", "11", "14"]);
    }

    proptest! {
        /// No emitted slot overlaps a taken interval, and every slot that
        /// overlaps none is emitted.
        #[test]
        fn sweep_matches_brute_force(raw in prop::collection::vec((0i64..48, 1i64..8), 0..10)) {
            let base = t("2030-01-01T00:00:00Z");
            let q = TimeDelta::minutes(15);
            let mut taken: Vec<_> = raw.iter().map(|(s, l)| (base + q * (*s as i32), base + q * ((*s + *l) as i32))).collect();
            taken.sort();
            let step = TimeDelta::minutes(30);
            let end = base + TimeDelta::hours(12);
            let mut got = Vec::new();
            free_slots(base, end, step, &taken, |s, _| got.push(s));
            let mut want = Vec::new();
            let mut s = base;
            while s + step <= end {
                if !taken.iter().any(|(ts, te)| *ts < s + step && s < *te) {
                    want.push(s);
                }
                s += step;
            }
            prop_assert_eq!(got, want);
        }
    }
}
