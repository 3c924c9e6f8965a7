//! What chargers report about their own security, and the certificates
//! evgate's certificate authority issued to them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One SecurityEventNotification (1.6 security whitepaper, 2.0.1 A04), as
/// the charger sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvent {
    /// The charger that reported it.
    pub charger_id: Uuid,
    /// The event's type, e.g. `FirmwareUpdated`, `InvalidCsmsCertificate`
    /// (an open list: the specs name some, vendors add their own).
    pub kind: String,
    /// When it happened, by the charger's clock.
    pub occurred_at: DateTime<Utc>,
    /// The charger's technical details, if it sent any.
    pub tech_info: Option<String>,
    /// When evgate received it.
    pub received_at: DateTime<Utc>,
}

/// A charger certificate evgate signed (SignCertificate), kept so an
/// operator can see what was issued and when it runs out. Never the key:
/// evgate never sees the charger's, and keeps its own in memory only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The charger it was issued to.
    pub charger_id: Uuid,
    /// The serial number, lowercase hex.
    pub serial: String,
    /// The subject's common name (the charger's identity).
    pub subject: String,
    /// The end of its validity.
    pub not_after: DateTime<Utc>,
    /// When evgate signed it.
    pub issued_at: DateTime<Utc>,
}
