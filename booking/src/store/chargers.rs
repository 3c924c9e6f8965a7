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
    pub version: Option<OcppVersion>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub firmware_version: Option<String>,
    pub serial_number: Option<String>,
}

/// The registered chargers.
#[async_trait]
pub trait ChargerRegistry: Send + Sync + std::fmt::Debug + 'static {
    /// Fails with `Conflict` when the charge point identity is taken.
    async fn insert_charger(&self, charger: &Charger) -> Result<()>;
    async fn charger(&self, id: Uuid) -> Result<Option<Charger>>;
    async fn charger_by_identity(&self, charge_point_id: &str) -> Result<Option<Charger>>;
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
    /// What a BootNotification says about the charger.
    async fn record_boot(&self, charger_id: Uuid, boot: &BootInfo, at: DateTime<Utc>)
    -> Result<()>;
    /// Online or not, the version it speaks, and when it was last heard.
    async fn set_charger_presence(
        &self,
        charger_id: Uuid,
        online: bool,
        version: Option<OcppVersion>,
        at: DateTime<Utc>,
    ) -> Result<()>;
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
