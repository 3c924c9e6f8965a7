//! Registered id tags (what drivers present at a charger).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::model::{IdTag, Page};

/// The id tags operators registered.
#[async_trait]
pub trait IdTagStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores the tag, replacing any of the same name.
    async fn upsert_id_tag(&self, tag: &IdTag, now: DateTime<Utc>) -> Result<()>;
    /// A registered tag by name.
    async fn id_tag(&self, id_tag: &str) -> Result<Option<IdTag>>;
    /// Fails with `Conflict` when the tag is registered already.
    async fn insert_id_tag(&self, tag: &IdTag, now: DateTime<Utc>) -> Result<()>;
    /// Registered id tags by name, and how many there are.
    async fn id_tags(&self, page: Page) -> Result<(Vec<IdTag>, u64)>;
}
