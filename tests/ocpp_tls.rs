//! OCPP over TLS (`wss://`) on the real binary, with certificates made by
//! the test: security profile 2 (Basic auth over TLS; OCTT TC_087,
//! TC_A_04) and profile 3 (a client certificate from the configured CA
//! whose subject names the charger; TC_A_07/TC_A_08 by their rules).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use base64::Engine;
use common::certs::{Ca, ca, leaf};
use common::process::{Api, Running, token};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSWORD: &str = "a-charger-password-16+";

struct Site {
    server: Running,
    ca_pem: String,
    _dir: tempfile::TempDir,
}

async fn site(server_ca: &Ca, client_ca: &Ca) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = leaf(server_ca, "evgate", &["localhost"], false);
    let write = |name: &str, pem: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path.display().to_string()
    };
    let (cert, key, client_ca) = (
        write("server.pem", &cert),
        write("server.key", &key),
        write("ca.pem", &client_ca.cert.pem()),
    );
    let env = [
        ("JWT_SECRET", common::TEST_SECRET),
        ("OCPP_TLS_ADDR", "127.0.0.1:0"),
        ("OCPP_TLS_CERT", cert.as_str()),
        ("OCPP_TLS_KEY", key.as_str()),
        ("OCPP_TLS_CLIENT_CA", client_ca.as_str()),
    ];
    let server = Running::start(dir.path(), &env);
    let admin = Api::new(
        &server,
        token(dir.path(), &env, &["--user", "1", "--role", "admin"]),
    );
    let station = admin.station().await;
    admin.charger(&station, "CP-2", 2, Some(PASSWORD)).await;
    admin.charger(&station, "CP-3", 3, None).await;
    Site {
        server,
        ca_pem: server_ca.cert.pem(),
        _dir: dir,
    }
}

/// Connects over TLS; `Ok(subprotocol)`, `Err(Some(status))` for a refused
/// upgrade, `Err(None)` for a failed TLS handshake.
async fn connect(
    site: &Site,
    identity: &str,
    basic: Option<&str>,
    client: Option<(String, String)>,
) -> Result<String, Option<u16>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(site.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let addr = site.server.ocpp_tls.clone().expect("TLS listener logged");
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|_| None)?;
    let mut req = format!("wss://localhost/ocpp/{identity}")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp2.0.1".parse().unwrap());
    if let Some(password) = basic {
        let creds =
            base64::engine::general_purpose::STANDARD.encode(format!("{identity}:{password}"));
        req.headers_mut()
            .insert("Authorization", format!("Basic {creds}").parse().unwrap());
    }
    match tokio_tungstenite::client_async(req, tls).await {
        Ok((_, resp)) => Ok(resp.headers()["sec-websocket-protocol"]
            .to_str()
            .unwrap()
            .to_owned()),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(Some(resp.status().as_u16())),
        Err(_) => Err(None),
    }
}

#[tokio::test]
#[allow(non_snake_case)]
async fn TC_087_and_TC_A_04_profile_2_is_basic_auth_over_tls() {
    let (server_ca, client_ca) = (ca("server CA"), ca("charger CA"));
    let site = site(&server_ca, &client_ca).await;
    assert_eq!(
        connect(&site, "CP-2", Some(PASSWORD), None).await,
        Ok("ocpp2.0.1".into())
    );
    assert_eq!(connect(&site, "CP-2", None, None).await, Err(Some(401)));
    assert_eq!(
        connect(&site, "CP-2", Some("wrong-password-123456"), None).await,
        Err(Some(401))
    );
    // The right password on the plain listener: refused, it must use TLS.
    let mut plain = format!("{}/ocpp/CP-2", site.server.ocpp)
        .into_client_request()
        .unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("CP-2:{PASSWORD}"));
    plain
        .headers_mut()
        .insert("Authorization", format!("Basic {basic}").parse().unwrap());
    plain
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp2.0.1".parse().unwrap());
    match tokio_tungstenite::connect_async(plain).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 403, "profile 2 needs TLS");
        }
        other => panic!("expected 403, got {:?}", other.map(|(_, r)| r.status())),
    }
}

#[tokio::test]
async fn profile_3_needs_a_client_certificate_naming_the_charger() {
    let (server_ca, client_ca, stranger_ca) =
        (ca("server CA"), ca("charger CA"), ca("someone else's CA"));
    let site = site(&server_ca, &client_ca).await;
    let good = leaf(&client_ca, "CP-3", &[], true);
    assert_eq!(
        connect(&site, "CP-3", None, Some(good)).await,
        Ok("ocpp2.0.1".into())
    );
    let other = leaf(&client_ca, "CP-99", &[], true);
    assert_eq!(
        connect(&site, "CP-3", None, Some(other)).await,
        Err(Some(401)),
        "the certificate names another charger"
    );
    assert_eq!(
        connect(&site, "CP-3", None, None).await,
        Err(Some(401)),
        "no client certificate"
    );
    let forged = leaf(&stranger_ca, "CP-3", &[], true);
    assert_eq!(
        connect(&site, "CP-3", None, Some(forged)).await,
        Err(None),
        "refused in the TLS handshake"
    );
}
