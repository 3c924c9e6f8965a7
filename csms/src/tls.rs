//! `wss://` for security profiles 2 and 3: the server certificate, and —
//! when a client CA is configured — verification of chargers' client
//! certificates. A charger without a certificate may still connect (profile
//! 2 uses Basic auth over TLS); one presenting a certificate the CA did not
//! sign is refused in the TLS handshake. Which profile a charger must use is
//! checked after the handshake, against its registration.
//!
//! Two implementations, one chosen per listener ([`Backend`]): rustls, the
//! default, and OpenSSL ([`openssl_backend`], cargo feature `openssl-tls`).
//! rustls has no static-RSA key exchange, so a station that only offers the
//! `TLS_RSA_WITH_AES_*_GCM_*` suites OCPP 2.0.1 A00.FR.318 lists can only
//! connect to the OpenSSL one. Both hand the accept loop the same things (a
//! stream, and the DER of the client certificate they verified), through
//! `crate::server::Handshake`; everything after the handshake is shared.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

#[cfg(feature = "openssl-tls")]
pub mod openssl_backend;

/// Which TLS implementation serves `wss://` (`OCPP_TLS_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// rustls: TLS 1.2 and 1.3, ECDHE suites only.
    #[default]
    Rustls,
    /// OpenSSL: the same, plus the two static-RSA GCM suites of
    /// A00.FR.318 (needs the `openssl-tls` feature).
    OpenSsl,
}

/// A configured `wss://` acceptor of either backend; [`crate::serve_tls`]
/// serves it.
#[derive(Clone)]
pub enum Acceptor {
    /// [`Backend::Rustls`].
    Rustls(TlsAcceptor),
    /// [`Backend::OpenSsl`].
    #[cfg(feature = "openssl-tls")]
    OpenSsl(openssl_backend::Acceptor),
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rustls(_) => "Acceptor::Rustls",
            #[cfg(feature = "openssl-tls")]
            Self::OpenSsl(_) => "Acceptor::OpenSsl",
        })
    }
}

/// Builds the chosen backend's acceptor from PEM bytes; the error starts
/// with what is wrong (`certificate`, `key`, `client CA`) so configuration
/// can name the setting.
pub fn build(
    backend: Backend,
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
) -> Result<Acceptor, String> {
    match backend {
        Backend::Rustls => acceptor(cert_pem, key_pem, client_ca_pem).map(Acceptor::Rustls),
        #[cfg(feature = "openssl-tls")]
        Backend::OpenSsl => {
            openssl_backend::acceptor(cert_pem, key_pem, client_ca_pem).map(Acceptor::OpenSsl)
        }
        #[cfg(not(feature = "openssl-tls"))]
        Backend::OpenSsl => {
            Err("backend: this build has no OpenSSL (cargo feature openssl-tls)".into())
        }
    }
}

/// Builds the rustls acceptor from PEM bytes; the error names what is wrong.
pub fn acceptor(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
) -> Result<TlsAcceptor, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("certificate: {e}"))?;
    if certs.is_empty() {
        return Err("certificate: no PEM certificate found".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("key: {e}"))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match client_ca_pem {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots
                    .add(cert.map_err(|e| format!("client CA: {e}"))?)
                    .map_err(|e| format!("client CA: {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| format!("client CA: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The subject common name of a (verified) client certificate: profile 3
/// requires it to be the charge point identity.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

impl crate::server::Handshake for TlsAcceptor {
    type Stream = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    const TLS: bool = true;

    async fn handshake(
        &self,
        tcp: tokio::net::TcpStream,
    ) -> std::io::Result<(Self::Stream, Option<Vec<u8>>)> {
        let tls = self.accept(tcp).await?;
        let client_cert = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .map(|c| c.to_vec());
        Ok((tls, client_cert))
    }
}
