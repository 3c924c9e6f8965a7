//! Counts an operator watches (metrics, the console's overview): read-only
//! and cheap enough to ask on every scrape.

use async_trait::async_trait;

use crate::error::Result;
use crate::model::ConnectorStatus;

/// Counts across the whole network, as stored.
#[async_trait]
pub trait Tallies: Send + Sync + std::fmt::Debug + 'static {
    /// Connectors by status; a status no connector has is left out.
    async fn connectors_by_status(&self) -> Result<Vec<(ConnectorStatus, u64)>>;
    /// Refunds waiting in the outbox (PENDING), due or not.
    async fn refunds_pending(&self) -> Result<u64>;
}
