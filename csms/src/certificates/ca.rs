//! evgate's certificate authority for charger certificates: the operator's
//! CA certificate and key (`OCPP_CA_CERT_FILE`, `OCPP_CA_KEY_FILE`), a CSR
//! check (PEM, self-signature, the CN is the charger's identity, the
//! organization if one is configured) and the signature. The key is held
//! in memory only and never printed: `Debug` leaves it out.

use chrono::{DateTime, TimeDelta, Utc};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa,
    KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData, SerialNumber, SignatureAlgorithm,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::ParsedExtension;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Name};

/// How long a charger certificate is valid (capped at the CA's own end).
pub const VALIDITY: TimeDelta = TimeDelta::days(365);

/// Why the CA could not be loaded: one line for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CaError(pub String);

/// Why a CSR is refused: `reason` is the 2.0.1 `statusInfo.reasonCode`
/// (at most 20 characters), `detail` says more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct CsrRefused {
    /// A short code, e.g. `InvalidCSR`, `InvalidCommonName`.
    pub reason: &'static str,
    /// What was wrong, for the log and `statusInfo.additionalInfo`.
    pub detail: String,
}

fn refused(reason: &'static str, detail: impl Into<String>) -> CsrRefused {
    CsrRefused {
        reason,
        detail: detail.into(),
    }
}

/// A certificate evgate signed: the chain to send and what to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The leaf then the CA certificate, PEM (CertificateSigned's
    /// `certificateChain`).
    pub chain: String,
    /// The serial, lowercase hex.
    pub serial: String,
    /// The subject's CN.
    pub subject: String,
    /// The end of its validity.
    pub not_after: DateTime<Utc>,
}

/// The operator's CA: signs charger CSRs.
pub struct CertificateAuthority {
    /// The CA certificate as PEM, sent after each leaf and installable on
    /// chargers.
    cert_pem: String,
    /// rcgen's view of the CA as issuer: its subject and key identifier,
    /// as the operator's certificate has them.
    issuer: rcgen::Certificate,
    /// Whether the CA certificate has a subject key identifier (leaves
    /// then name it as their authority key identifier).
    has_key_id: bool,
    key: KeyPair,
    not_after: DateTime<Utc>,
    organization: Option<String>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("not_after", &self.not_after)
            .field("organization", &self.organization)
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// The CA from its certificate and PKCS#8 key, both PEM. `organization`:
    /// when set, a CSR's O must equal it.
    pub fn from_pem(
        cert_pem: &str,
        key_pem: &str,
        organization: Option<String>,
    ) -> Result<Self, CaError> {
        let der = first_block(cert_pem.as_bytes(), "CERTIFICATE")
            .ok_or_else(|| CaError("no PEM CERTIFICATE in the CA certificate file".into()))?;
        let (_, cert) = X509Certificate::from_der(&der)
            .map_err(|e| CaError(format!("the CA certificate does not parse: {e}")))?;
        if !cert.is_ca() {
            return Err(CaError(
                "the CA certificate is not a CA (basicConstraints CA:TRUE)".into(),
            ));
        }
        // The error text of a key parse could quote key material: not shown.
        let key = KeyPair::from_pem(key_pem).map_err(|_| {
            CaError(
                "the CA key is not a PKCS#8 PEM private key (EC P-256/P-384, Ed25519 or RSA; \
                 convert with `openssl pkcs8 -topk8 -nocrypt`)"
                    .into(),
            )
        })?;
        if key.public_key_der() != cert.public_key().raw {
            return Err(CaError(
                "the CA key does not belong to the CA certificate".into(),
            ));
        }
        let key_id = cert
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
                _ => None,
            });
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(cert.subject())
            .map_err(|e| CaError(format!("the CA certificate's subject: {e}")))?;
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_identifier_method =
            KeyIdMethod::PreSpecified(key_id.clone().unwrap_or_default());
        let issuer = params
            .self_signed(&key)
            .map_err(|e| CaError(format!("the CA key cannot sign: {e}")))?;
        let not_after =
            DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0).unwrap_or_default();
        Ok(Self {
            cert_pem: pem_block("CERTIFICATE", &der),
            issuer,
            has_key_id: key_id.is_some(),
            key,
            not_after,
            organization,
        })
    }

    /// The CA certificate, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Checks a charger's CSR and signs it: valid from `now` for
    /// [`VALIDITY`] (at most until the CA's end), for TLS client use.
    pub fn sign(
        &self,
        csr_pem: &str,
        identity: &str,
        now: DateTime<Utc>,
    ) -> Result<Signed, CsrRefused> {
        let der = first_block(csr_pem.as_bytes(), "CERTIFICATE REQUEST")
            .or_else(|| first_block(csr_pem.as_bytes(), "NEW CERTIFICATE REQUEST"))
            .ok_or_else(|| refused("InvalidCSR", "not a PEM CERTIFICATE REQUEST"))?;
        let (_, csr) = X509CertificationRequest::from_der(&der)
            .map_err(|e| refused("InvalidCSR", format!("does not parse: {e}")))?;
        csr.verify_signature()
            .map_err(|_| refused("InvalidSignature", "the CSR's signature does not verify"))?;
        let info = &csr.certification_request_info;
        let subject = &info.subject;
        let cns: Vec<&str> = subject
            .iter_common_name()
            .map(|a| a.as_str().unwrap_or_default())
            .collect();
        if cns != [identity] {
            return Err(refused(
                "InvalidCommonName",
                format!("CN {cns:?} is not the charger's identity {identity:?}"),
            ));
        }
        if let Some(org) = &self.organization {
            let os: Vec<&str> = subject
                .iter_organization()
                .map(|a| a.as_str().unwrap_or_default())
                .collect();
            if os != [org.as_str()] {
                return Err(refused(
                    "InvalidOrganization",
                    format!("O {os:?} is not {org:?}"),
                ));
            }
        }
        let public_key = CsrKey::of(&info.subject_pki)?;
        let mut params = CertificateParams::default();
        params.distinguished_name =
            distinguished_name(subject).map_err(|e| refused("InvalidCSR", e))?;
        let serial = serial();
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let not_after = (now + VALIDITY).min(self.not_after);
        params.not_before = offset(now);
        params.not_after = offset(not_after);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = self.has_key_id;
        let leaf = params
            .signed_by(&public_key, &self.issuer, &self.key)
            .map_err(|e| refused("SigningFailed", e.to_string()))?;
        Ok(Signed {
            chain: format!("{}{}", leaf.pem(), self.cert_pem),
            serial: serial.iter().map(|b| format!("{b:02x}")).collect(),
            subject: identity.to_owned(),
            not_after: DateTime::from_timestamp(not_after.timestamp(), 0).unwrap_or(not_after),
        })
    }
}

/// The CSR's public key as rcgen writes it into the certificate: the
/// same algorithm identifier and key bits.
struct CsrKey {
    bits: Vec<u8>,
    alg: &'static SignatureAlgorithm,
}

impl CsrKey {
    fn of(spki: &SubjectPublicKeyInfo<'_>) -> Result<Self, CsrRefused> {
        const RSA: &str = "1.2.840.113549.1.1.1";
        const EC: &str = "1.2.840.10045.2.1";
        const ED25519: &str = "1.3.101.112";
        const P256: &str = "1.2.840.10045.3.1.7";
        const P384: &str = "1.3.132.0.34";
        let alg = spki.algorithm.algorithm.to_id_string();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string());
        let alg = match (alg.as_str(), curve.as_deref()) {
            (RSA, _) => &rcgen::PKCS_RSA_SHA256,
            (EC, Some(P256)) => &rcgen::PKCS_ECDSA_P256_SHA256,
            (EC, Some(P384)) => &rcgen::PKCS_ECDSA_P384_SHA384,
            (ED25519, _) => &rcgen::PKCS_ED25519,
            (alg, curve) => {
                return Err(refused(
                    "UnsupportedKey",
                    format!("key algorithm {alg} {curve:?}"),
                ));
            }
        };
        Ok(Self {
            bits: spki.subject_public_key.data.to_vec(),
            alg,
        })
    }
}

impl PublicKeyData for CsrKey {
    fn der_bytes(&self) -> &[u8] {
        &self.bits
    }

    fn algorithm(&self) -> &SignatureAlgorithm {
        self.alg
    }
}

/// A name as rcgen writes it, each value in its original string type so
/// the issuer of a leaf matches the CA's subject byte for byte.
fn distinguished_name(name: &X509Name<'_>) -> Result<DistinguishedName, String> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let mut dn = DistinguishedName::new();
    for attr in name.iter_attributes() {
        let oid: Vec<u64> = attr
            .attr_type()
            .iter()
            .ok_or("an attribute type out of range")?
            .collect();
        let value = attr.attr_value();
        let text = || {
            std::str::from_utf8(value.data)
                .map(str::to_owned)
                .map_err(|_| "an attribute that is not text".to_owned())
        };
        let value = match value.tag() {
            Tag::PrintableString => {
                DnValue::PrintableString(text()?.try_into().map_err(|_| "a bad PrintableString")?)
            }
            Tag::Ia5String => {
                DnValue::Ia5String(text()?.try_into().map_err(|_| "a bad IA5String")?)
            }
            Tag::Utf8String => DnValue::Utf8String(text()?),
            tag => return Err(format!("an attribute of type {tag} evgate cannot copy")),
        };
        dn.push(DnType::from_oid(&oid), value);
    }
    Ok(dn)
}

/// 16 random bytes, positive (top bit clear) and never starting with 0.
fn serial() -> [u8; 16] {
    let mut bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes[0] = (bytes[0] & 0x7f) | 0x10;
    bytes
}

fn offset(t: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// The first PEM block labelled `label`.
fn first_block(text: &[u8], label: &str) -> Option<Vec<u8>> {
    Pem::iter_from_buffer(text)
        .map_while(Result::ok)
        .find(|p| p.label == label)
        .map(|p| p.contents)
}

fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
#[path = "ca_tests.rs"]
mod tests;
