//! Smart charging: the charging profiles on each charger, the external
//! limits 2.0.1 chargers report, and stations' power caps.

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::Result;
use crate::model::{ChargingProfile, ExternalChargingLimit, ProfileFilter, StationPowerLimit};

/// Charging profiles per charger, external limits, station power caps.
#[async_trait]
pub trait SmartChargingStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a profile, replacing the charger's profile of the same id and
    /// origin.
    async fn save_charging_profile(&self, profile: &ChargingProfile) -> Result<()>;
    /// Forgets the profiles evgate set (operator's and power cap's, never
    /// reported ones) that match `filter`; how many.
    async fn remove_charging_profiles(
        &self,
        charger_id: Uuid,
        filter: &ProfileFilter,
    ) -> Result<u64>;
    /// Forgets what the charger reported, before it reports again.
    async fn forget_reported_profiles(&self, charger_id: Uuid) -> Result<u64>;
    /// A charger's profiles, by origin, EVSE and id.
    async fn charging_profiles(&self, charger_id: Uuid) -> Result<Vec<ChargingProfile>>;
    /// Stores an external limit, replacing the one of the same source and EVSE.
    async fn save_charging_limit(&self, limit: &ExternalChargingLimit) -> Result<()>;
    /// Forgets the limits of `source` (on one EVSE, or all of them); how many.
    async fn clear_charging_limits(
        &self,
        charger_id: Uuid,
        source: &str,
        evse_id: Option<i32>,
    ) -> Result<u64>;
    /// A charger's external limits, by source and EVSE.
    async fn charging_limits(&self, charger_id: Uuid) -> Result<Vec<ExternalChargingLimit>>;
    /// Sets (or replaces) a station's power cap.
    async fn set_station_power_limit(&self, limit: &StationPowerLimit) -> Result<()>;
    /// A station's power cap, if it has one.
    async fn station_power_limit(&self, station_id: Uuid) -> Result<Option<StationPowerLimit>>;
    /// Lifts a station's power cap; `false` when it had none.
    async fn remove_station_power_limit(&self, station_id: Uuid) -> Result<bool>;
}
