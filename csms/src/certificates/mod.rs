//! Certificates and security events (the 1.6 security whitepaper, 2.0.1
//! blocks A and M): evgate's certificate authority for charger
//! certificates, SignCertificate and the CertificateSigned that follows,
//! SecurityEventNotification kept per charger, the ISO 15118 certificate
//! requests answered per configuration, and the certificate commands an
//! operator sends.

pub mod ca;

pub use ca::{CaError, CertificateAuthority, CsrRefused, Signed};
