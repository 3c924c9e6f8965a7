//! Certificates and security events (the 1.6 security whitepaper, 2.0.1
//! blocks A and M): evgate's certificate authority for charger
//! certificates, SignCertificate and the CertificateSigned that follows,
//! SecurityEventNotification kept per charger, the ISO 15118 certificate
//! requests answered per configuration, and the certificate commands an
//! operator sends.

pub mod ca;

pub use ca::{CaError, CertificateAuthority, CsrRefused, Signed};
pub mod commands;
mod events;
mod iso15118;
mod sign;
pub mod v16_types;

pub use events::security_event_notification;
pub use iso15118::{get_15118_ev_certificate, get_certificate_status};
pub use sign::sign_certificate;

use std::sync::Arc;

/// What evgate signs with: the operator's CA, or none (SignCertificate is
/// then answered Rejected). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Certificates {
    ca: Option<Arc<CertificateAuthority>>,
}

impl Certificates {
    /// Signing with `ca`, or refusing every CSR without one.
    pub fn new(ca: Option<CertificateAuthority>) -> Self {
        Self {
            ca: ca.map(Arc::new),
        }
    }

    /// The CA, if one is configured.
    pub fn ca(&self) -> Option<&CertificateAuthority> {
        self.ca.as_deref()
    }
}
