//! Chargers: registration, what they said at boot, presence, credentials,
//! and identities nobody registered.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::model::{
    Charger, ChargerAdmission, OcppVersion, Page, SecurityProfile, UnassignedCharger,
};

/// What a charger tells about itself at boot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BootInfo {
    /// The OCPP version of the connection it booted on.
    pub version: Option<OcppVersion>,
    /// `chargePointVendor` (1.6) or `vendorName` (2.0.1).
    pub vendor: Option<String>,
    /// `chargePointModel` (1.6) or `model` (2.0.1).
    pub model: Option<String>,
    /// `firmwareVersion`, when sent.
    pub firmware_version: Option<String>,
    /// `chargePointSerialNumber` (1.6) or `serialNumber` (2.0.1), when sent.
    pub serial_number: Option<String>,
}

/// What a charger's connection learned about it since the last write:
/// online or not, the version it speaks, when it was last heard and, after
/// a BootNotification, what it said about itself. Facts about one charger
/// merge (the later wins), so a storm of heartbeats is one row write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceUpdate {
    /// The registered charger it is about.
    pub charger_id: Uuid,
    /// Connected (`true`) or gone (`false`) as of `seen_at`.
    pub online: bool,
    /// The OCPP version it connected with, when this fact says.
    pub version: Option<OcppVersion>,
    /// When it was last heard from (UTC).
    pub seen_at: DateTime<Utc>,
    /// What it said in a BootNotification, when one is among these facts.
    pub boot: Option<BootInfo>,
}

impl PresenceUpdate {
    /// `self` followed by `later`: the later presence, version and boot
    /// facts win, what `later` does not say is kept, and the last-seen time
    /// never goes back.
    pub fn merge(&mut self, later: Self) {
        self.online = later.online;
        self.version = later.version.or(self.version);
        self.seen_at = self.seen_at.max(later.seen_at);
        if later.boot.is_some() {
            self.boot = later.boot;
        }
    }
}

/// What an accepted boot may have to follow up on, read in the same query as
/// the charger: a reconnect storm is thousands of boots, and most chargers
/// have none of these, so asking each its own question cost three reads a boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootFollowUps {
    /// The version of the local list evgate keeps for it (0: none).
    pub local_list_version: i32,
    /// evgate keeps charging profiles for it (some may need re-sending).
    pub charging_profiles: bool,
    /// The operator wants a full device model report after every boot.
    pub refresh_device_model: bool,
}

/// Where presence facts go, many chargers at a time: each batch is written
/// in one transaction, so a reconnect storm is a few commits, not one per
/// heartbeat.
#[async_trait]
pub trait ChargerPresence: Send + Sync + std::fmt::Debug + 'static {
    /// Updates without a registered charger behind them change nothing.
    async fn record_presence(&self, batch: &[PresenceUpdate]) -> Result<()>;
}

/// The registered chargers.
#[async_trait]
pub trait ChargerRegistry: Send + Sync + std::fmt::Debug + 'static {
    /// Fails with `Conflict` when the charge point identity is taken.
    async fn insert_charger(&self, charger: &Charger) -> Result<()>;
    /// A charger by evgate's id.
    async fn charger(&self, id: Uuid) -> Result<Option<Charger>>;
    /// A charger by evgate's id with what its boot must follow up on.
    async fn charger_at_boot(&self, id: Uuid) -> Result<Option<(Charger, BootFollowUps)>>;
    /// A charger by its OCPP identity.
    async fn charger_by_identity(&self, charge_point_id: &str) -> Result<Option<Charger>>;
    /// Chargers by identity, and how many there are.
    async fn chargers(&self, page: Page) -> Result<(Vec<Charger>, u64)>;
    /// The operator's admission decision (`None`: the default policy);
    /// `None` back for an unknown charger.
    async fn set_charger_admission(
        &self,
        charge_point_id: &str,
        admission: Option<ChargerAdmission>,
    ) -> Result<Option<Charger>>;
    /// The identities of chargers connected to some instance now.
    async fn online_charger_identities(&self) -> Result<Vec<String>>;
    /// The next OCPP 1.6 transaction id for this charger (positive i32).
    async fn next_transaction_id(&self, charger_id: Uuid) -> Result<i32>;
    /// The next OCPP reservation id for this charger: positive, fits in an
    /// i32, unique per charger until the sequence wraps after 2^31 - 1.
    async fn next_reservation_id(&self, charger_id: Uuid) -> Result<i32>;
}

/// A charger's credentials as they rotate. Each change is one row, written
/// in one statement.
#[async_trait]
pub trait ChargerCredentials: Send + Sync + std::fmt::Debug + 'static {
    /// Makes `(security_profile, password_hash)` the charger's credentials,
    /// keeping the old pair as its previous credentials until
    /// `previous_until`, and drops any pending rotation. `None` when no such
    /// charger exists.
    async fn rotate_charger_credentials(
        &self,
        charger_id: Uuid,
        security_profile: SecurityProfile,
        password_hash: Option<&str>,
        previous_until: DateTime<Utc>,
    ) -> Result<Option<Charger>>;
    /// The charger proved it holds the new credentials: the old ones go.
    async fn forget_previous_credentials(&self, charger_id: Uuid) -> Result<()>;
    /// Stores (or with `None` drops) a sealed rotation waiting for the
    /// charger's next connection. `None` when no such charger exists.
    async fn set_pending_credentials(
        &self,
        charge_point_id: &str,
        sealed: Option<&str>,
    ) -> Result<Option<Charger>>;
}

/// Chargers nobody registered (OCPP_AUTO_REGISTER).
#[async_trait]
pub trait UnassignedChargers: Send + Sync + std::fmt::Debug + 'static {
    /// Records (or refreshes) an unknown identity that connected, with what
    /// it said at boot (fields it did not say keep their earlier values).
    async fn record_unassigned_charger(
        &self,
        charge_point_id: &str,
        boot: &BootInfo,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Most recently seen first, and how many there are.
    async fn unassigned_chargers(&self, page: Page) -> Result<(Vec<UnassignedCharger>, u64)>;
    /// The identity was registered: no longer unassigned. `true` when it was.
    async fn forget_unassigned_charger(&self, charge_point_id: &str) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(online: bool, secs: i64) -> PresenceUpdate {
        PresenceUpdate {
            charger_id: Uuid::nil(),
            online,
            version: None,
            seen_at: DateTime::from_timestamp(secs, 0).unwrap_or_default(),
            boot: None,
        }
    }

    #[test]
    fn a_later_fact_wins_and_the_last_seen_time_never_goes_back() {
        let mut first = update(true, 20);
        first.version = Some(OcppVersion::V16);
        first.boot = Some(BootInfo {
            vendor: Some("ACME".into()),
            ..BootInfo::default()
        });
        first.merge(update(false, 10));
        assert!(!first.online, "the disconnect came after the heartbeat");
        assert_eq!(first.seen_at, update(true, 20).seen_at);
        assert_eq!(first.version, Some(OcppVersion::V16), "unsaid: kept");
        assert_eq!(
            first.boot.as_ref().and_then(|b| b.vendor.as_deref()),
            Some("ACME"),
            "a heartbeat does not forget the boot it followed"
        );
        let mut reboot = update(true, 30);
        reboot.boot = Some(BootInfo::default());
        first.merge(reboot);
        assert_eq!(first.boot, Some(BootInfo::default()), "the later boot wins");
    }
}
