//! What chargers report about their security (SecurityEventNotification)
//! and the certificates evgate's certificate authority issued to them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::model::{IssuedCertificate, SecurityEvent};

/// Security events and issued certificates, per charger.
#[async_trait]
pub trait SecurityLog: Send + Sync + std::fmt::Debug + 'static {
    /// Keeps one event as the charger reported it.
    async fn record_security_event(&self, event: &SecurityEvent) -> Result<()>;
    /// A charger's events that occurred at or after `since` (all when
    /// `None`), newest first, at most `limit`.
    async fn security_events(
        &self,
        charger_id: Uuid,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<SecurityEvent>>;
    /// Keeps one certificate evgate signed.
    async fn record_issued_certificate(&self, certificate: &IssuedCertificate) -> Result<()>;
    /// The certificates issued to a charger, newest first.
    async fn issued_certificates(&self, charger_id: Uuid) -> Result<Vec<IssuedCertificate>>;
}
