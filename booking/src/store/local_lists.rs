//! Chargers' local authorization lists.

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::Result;
use crate::model::{ListChange, ListSync, LocalList};

/// The list each charger should hold, and what it said it holds.
#[async_trait]
pub trait LocalLists: Send + Sync + std::fmt::Debug + 'static {
    /// The charger's list ([`LocalList::empty`] before the first change).
    async fn local_list(&self, charger_id: Uuid) -> Result<LocalList>;
    /// The list's version alone (0: no list): what a boot checks, cheaply,
    /// before anything else.
    async fn local_list_version(&self, charger_id: Uuid) -> Result<i32>;
    /// Applies the change atomically ([`LocalList::apply`]) and returns the
    /// list after it.
    async fn change_local_list(&self, charger_id: Uuid, change: &ListChange) -> Result<LocalList>;
    /// The chargers whose lists hold `id_tag`.
    async fn chargers_listing(&self, id_tag: &str) -> Result<Vec<Uuid>>;
    /// Records what the charger said. Once it holds the latest version the
    /// tombstones are dropped: no differential update needs them.
    async fn record_local_list_sync(&self, charger_id: Uuid, sync: &ListSync) -> Result<()>;
}
