//! Firmware and log requests per charger, and the statuses chargers report.

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::Result;
use crate::model::{MaintenanceKind, MaintenanceRequest, MaintenanceStatus};

/// How many statuses of one kind a charger keeps: enough to follow an
/// update from Downloading to Installed twice over, not an archive.
pub const MAINTENANCE_HISTORY: u32 = 20;

/// Maintenance requests and reported statuses, per charger.
#[async_trait]
pub trait MaintenanceLog: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new request, giving it the charger's next request id (the
    /// `request_id` passed is ignored); returns it as stored.
    async fn add_maintenance_request(
        &self,
        request: &MaintenanceRequest,
    ) -> Result<MaintenanceRequest>;
    /// Records the charger's answer to a request (or why none came).
    async fn answer_maintenance_request(
        &self,
        charger_id: Uuid,
        request_id: i32,
        answer: &str,
    ) -> Result<()>;
    /// A charger's newest requests of one kind first, at most `limit`.
    async fn maintenance_requests(
        &self,
        charger_id: Uuid,
        kind: MaintenanceKind,
        limit: u32,
    ) -> Result<Vec<MaintenanceRequest>>;
    /// The request an upload token was issued for, if any.
    async fn maintenance_request_by_token(&self, token: &str)
    -> Result<Option<MaintenanceRequest>>;
    /// Records a reported status, keeping the newest
    /// [`MAINTENANCE_HISTORY`] of its kind for the charger.
    async fn add_maintenance_status(&self, status: &MaintenanceStatus) -> Result<()>;
    /// A charger's reported statuses of one kind, newest first.
    async fn maintenance_statuses(
        &self,
        charger_id: Uuid,
        kind: MaintenanceKind,
    ) -> Result<Vec<MaintenanceStatus>>;
}
