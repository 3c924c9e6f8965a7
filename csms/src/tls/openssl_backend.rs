//! The OpenSSL `wss://` acceptor (`OCPP_TLS_BACKEND=openssl`), for stations
//! that only offer the static-RSA suites OCPP 2.0.1 A00.FR.318 requires a
//! CSMS to accept (`TLS_RSA_WITH_AES_128_GCM_SHA256`,
//! `TLS_RSA_WITH_AES_256_GCM_SHA384`), which rustls does not implement.
//!
//! What it offers: TLS 1.2 and 1.3; the ECDHE AEAD suites first (the server
//! chooses, so a charger that offers one gets it), then the two static-RSA
//! GCM suites, nothing else — no CBC, no SHA-1 MAC, no RC4/3DES, no DHE.
//! Static RSA needs an RSA server key: with another key the listener still
//! serves ECDHE, and start-up warns that the legacy suites cannot be used.
//!
//! Client certificates mean what they mean under rustls: none is fine
//! (profile 2, Basic auth); one the client CA did not sign (or not for
//! client authentication) fails the handshake; a verified one's DER goes
//! to the accept loop, which checks its CN against the identity (profile 3).

use std::pin::Pin;

use openssl::pkey::{Id, PKey};
use openssl::ssl::{
    Ssl, SslAcceptor, SslMethod, SslOptions, SslSessionCacheMode, SslVerifyMode, SslVersion,
};
use openssl::x509::X509;
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

/// TLS 1.2 suites in the server's order of preference: ECDHE (ECDSA and RSA
/// certificates), then A00.FR.318's two static-RSA suites.
pub const TLS12_CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
    ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
    ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:\
    AES128-GCM-SHA256:AES256-GCM-SHA384";

/// TLS 1.3 suites (all three are AEAD; the key exchange is always ephemeral).
pub const TLS13_CIPHERS: &str =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// The configured OpenSSL context; cloning shares it.
#[derive(Clone)]
pub struct Acceptor {
    inner: SslAcceptor,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor").finish_non_exhaustive()
    }
}

/// Builds the acceptor from PEM bytes; errors start with `certificate`,
/// `key` or `client CA`, as [`super::acceptor`]'s do.
pub fn acceptor(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
) -> Result<Acceptor, String> {
    let mut chain = X509::stack_from_pem(cert_pem)
        .map_err(|e| format!("certificate: {e}"))?
        .into_iter();
    let Some(leaf) = chain.next() else {
        return Err("certificate: no PEM certificate found".into());
    };
    let key = PKey::private_key_from_pem(key_pem).map_err(|e| format!("key: {e}"))?;
    let tls = |e: openssl::error::ErrorStack| format!("certificate: TLS set-up: {e}");
    // Mozilla's "intermediate" profile (TLS 1.2+, no compression, ECDH
    // curves), with its suites replaced by ours.
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(tls)?;
    builder
        .set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(tls)?;
    builder.set_cipher_list(TLS12_CIPHERS).map_err(tls)?;
    builder.set_ciphersuites(TLS13_CIPHERS).map_err(tls)?;
    builder.set_options(SslOptions::CIPHER_SERVER_PREFERENCE | SslOptions::NO_RENEGOTIATION);
    builder.set_certificate(&leaf).map_err(tls)?;
    for intermediate in chain {
        builder.add_extra_chain_cert(intermediate).map_err(tls)?;
    }
    builder
        .set_private_key(&key)
        .map_err(|e| format!("key: {e}"))?;
    builder
        .check_private_key()
        .map_err(|e| format!("key: does not match the certificate: {e}"))?;
    if key.id() != Id::RSA {
        tracing::warn!(
            key = ?key.id(),
            "OCPP_TLS_BACKEND=openssl with a non-RSA key: the static-RSA suites \
             (TLS_RSA_WITH_AES_*_GCM_*) need an RSA certificate; chargers offering \
             only those cannot connect"
        );
    }
    match client_ca_pem {
        Some(pem) => {
            let cas = X509::stack_from_pem(pem).map_err(|e| format!("client CA: {e}"))?;
            if cas.is_empty() {
                return Err("client CA: no PEM certificate found".into());
            }
            for ca in &cas {
                builder
                    .cert_store_mut()
                    .add_cert(ca.clone())
                    .map_err(|e| format!("client CA: {e}"))?;
                // Named in the CertificateRequest, so a charger with several
                // certificates picks the right one.
                builder
                    .add_client_ca(ca)
                    .map_err(|e| format!("client CA: {e}"))?;
            }
            // PEER without FAIL_IF_NO_PEER_CERT: a certificate is asked
            // for, not required (profile 2); one that does not verify
            // (OpenSSL checks it was issued for client authentication)
            // ends the handshake.
            builder.set_verify(SslVerifyMode::PEER);
        }
        None => builder.set_verify(SslVerifyMode::NONE),
    }
    // A resumed session keeps its verified peer certificate; OpenSSL
    // refuses resumption with client verification unless the sessions
    // are scoped to a context.
    builder
        .set_session_id_context(b"evgate-ocpp")
        .map_err(tls)?;
    builder.set_session_cache_mode(SslSessionCacheMode::SERVER);
    Ok(Acceptor {
        inner: builder.build(),
    })
}

impl crate::server::Handshake for Acceptor {
    type Stream = SslStream<TcpStream>;
    const TLS: bool = true;

    async fn handshake(&self, tcp: TcpStream) -> std::io::Result<(Self::Stream, Option<Vec<u8>>)> {
        let ssl = Ssl::new(self.inner.context()).map_err(std::io::Error::other)?;
        let mut stream = SslStream::new(ssl, tcp).map_err(std::io::Error::other)?;
        Pin::new(&mut stream)
            .accept()
            .await
            .map_err(std::io::Error::other)?;
        // Present only if it verified (or no client CA is configured, in
        // which case none was asked for).
        let client_cert = match stream.ssl().peer_certificate() {
            Some(cert) => Some(cert.to_der().map_err(std::io::Error::other)?),
            None => None,
        };
        Ok((stream, client_cert))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn self_signed() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let (cert, key) = self_signed();
        let (other_cert, other_key) = self_signed();
        assert!(acceptor(cert.as_bytes(), key.as_bytes(), None).is_ok());
        assert!(acceptor(cert.as_bytes(), key.as_bytes(), Some(other_cert.as_bytes())).is_ok());
        let cases: [(&str, &str, Option<&str>, &str); 5] = [
            ("", &key, None, "certificate"),
            ("not pem", &key, None, "certificate"),
            (&cert, "not a key", None, "key"),
            (&cert, &other_key, None, "key"),
            (&cert, &key, Some("no CA here"), "client CA"),
        ];
        for (cert, key, ca, starts) in cases {
            let err = acceptor(cert.as_bytes(), key.as_bytes(), ca.map(str::as_bytes))
                .err()
                .unwrap();
            assert!(
                err.starts_with(starts),
                "{err:?} should start with {starts:?}"
            );
        }
    }
}
