//! Tariffs and where they apply.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::model::Page;
use crate::tariffs::{Tariff, TariffScope};

/// The operator's tariffs, and which stations and connectors use them.
#[async_trait]
pub trait TariffStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new tariff.
    async fn insert_tariff(&self, tariff: &Tariff) -> Result<()>;
    /// Replaces a tariff's prices; `false` when there is no such tariff.
    async fn update_tariff(&self, tariff: &Tariff) -> Result<bool>;
    /// A tariff by id.
    async fn tariff(&self, id: Uuid) -> Result<Option<Tariff>>;
    /// Tariffs by name, and how many there are.
    async fn tariffs(&self, page: Page) -> Result<(Vec<Tariff>, u64)>;
    /// Makes `tariff` apply to `scope` (`None`: no tariff of its own any
    /// more).
    async fn assign_tariff(
        &self,
        scope: TariffScope,
        tariff: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The tariff a connector charges by: its own, else its station's.
    async fn tariff_for_connector(&self, connector_id: Uuid) -> Result<Option<Tariff>>;
}
