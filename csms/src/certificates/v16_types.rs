//! The OCPP 1.6 security whitepaper's CSMS-initiated requests, which
//! rust-ocpp does not define: typed after the whitepaper's JSON schemas
//! (required fields required, enumerations closed, `maxLength` checked by
//! [`Bounded`]), so only schema-valid payloads go out.

use serde::{Deserialize, Serialize};

/// A request whose strings have schema limits.
pub trait Bounded {
    /// The first field over its `maxLength`, if any.
    fn over_limit(&self) -> Option<&'static str>;
}

fn over(field: &'static str, value: &str, max: usize) -> Option<&'static str> {
    (value.chars().count() > max).then_some(field)
}

/// CertificateSigned.req
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSigned {
    /// PEM, leaf first; at most 10000 characters.
    pub certificate_chain: String,
}

impl Bounded for CertificateSigned {
    fn over_limit(&self) -> Option<&'static str> {
        over("certificateChain", &self.certificate_chain, 10_000)
    }
}

/// CertificateUseEnumType
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum CertificateUse {
    /// The root of the central system's TLS certificate.
    CentralSystemRootCertificate,
    /// The root of firmware signing certificates.
    ManufacturerRootCertificate,
}

/// InstallCertificate.req
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallCertificate {
    /// Which root store.
    pub certificate_type: CertificateUse,
    /// PEM; at most 5500 characters.
    pub certificate: String,
}

impl Bounded for InstallCertificate {
    fn over_limit(&self) -> Option<&'static str> {
        over("certificate", &self.certificate, 5500)
    }
}

/// GetInstalledCertificateIds.req
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetInstalledCertificateIds {
    /// Which root store.
    pub certificate_type: CertificateUse,
}

impl Bounded for GetInstalledCertificateIds {
    fn over_limit(&self) -> Option<&'static str> {
        None
    }
}

/// HashAlgorithmEnumType
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-256
    SHA256,
    /// SHA-384
    SHA384,
    /// SHA-512
    SHA512,
}

/// CertificateHashDataType
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateHashData {
    /// The hash used for the two hashes below.
    pub hash_algorithm: HashAlgorithm,
    /// Hex hash of the issuer's DN; at most 128.
    pub issuer_name_hash: String,
    /// Hex hash of the issuer's public key; at most 128.
    pub issuer_key_hash: String,
    /// Hex serial number; at most 40.
    pub serial_number: String,
}

/// DeleteCertificate.req
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteCertificate {
    /// Which certificate.
    pub certificate_hash_data: CertificateHashData,
}

impl Bounded for DeleteCertificate {
    fn over_limit(&self) -> Option<&'static str> {
        let h = &self.certificate_hash_data;
        over("issuerNameHash", &h.issuer_name_hash, 128)
            .or_else(|| over("issuerKeyHash", &h.issuer_key_hash, 128))
            .or_else(|| over("serialNumber", &h.serial_number, 40))
    }
}

/// MessageTriggerEnumType of ExtendedTriggerMessage
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum ExtendedTrigger {
    /// BootNotification
    BootNotification,
    /// LogStatusNotification
    LogStatusNotification,
    /// FirmwareStatusNotification
    FirmwareStatusNotification,
    /// Heartbeat
    Heartbeat,
    /// MeterValues
    MeterValues,
    /// SignCertificate for the charge point's certificate (renewal).
    SignChargePointCertificate,
    /// StatusNotification
    StatusNotification,
}

/// ExtendedTriggerMessage.req
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtendedTriggerMessage {
    /// What the charger should send.
    pub requested_message: ExtendedTrigger,
    /// Which connector, for connector-specific messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<u32>,
}

impl Bounded for ExtendedTriggerMessage {
    fn over_limit(&self) -> Option<&'static str> {
        None
    }
}
