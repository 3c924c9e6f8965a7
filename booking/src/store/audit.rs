//! The audit log of operator actions.

use async_trait::async_trait;

use crate::audit::AuditEntry;
use crate::error::Result;
use crate::model::Page;

/// The audit log of operator actions: appended to, and read by operators.
#[async_trait]
pub trait AuditLog: Send + Sync + std::fmt::Debug + 'static {
    /// Appends an entry; the store assigns its id.
    async fn record_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Newest first, optionally only those about one target, and how many
    /// there are.
    async fn audit_entries(
        &self,
        page: Page,
        target: Option<&str>,
    ) -> Result<(Vec<AuditEntry>, u64)>;
}
