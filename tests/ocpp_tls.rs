//! OCPP over TLS (`wss://`) on the real binary, with certificates made by
//! the test: security profile 2 (Basic auth over TLS; OCTT TC_087,
//! TC_A_04) and profile 3 (a client certificate from the configured CA
//! whose subject names the charger; TC_A_07/TC_A_08 by their rules).
//!
//! Both TLS backends (`OCPP_TLS_BACKEND`): the default rustls listener, and
//! the OpenSSL one, which also accepts chargers offering only the
//! static-RSA suites of A00.FR.318. Those chargers are played by an OpenSSL
//! client (the `openssl` crate) limited to TLS 1.2 and one cipher, which
//! completes a BootNotification; modern chargers by a rustls client.

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

/// The default listener (rustls) with an ECDSA server certificate.
async fn site(server_ca: &Ca, client_ca: &Ca) -> Site {
    let (cert, key) = leaf(server_ca, "evgate", &["localhost"], false);
    site_with(server_ca, client_ca, (cert, key), &[]).await
}

/// `OCPP_TLS_BACKEND` = `backend` (`None`: unset), with an RSA server
/// certificate: static-RSA key exchange needs one, so a refusal of those
/// suites is the backend's, not the key's.
async fn rsa_site(server_ca: &Ca, client_ca: &Ca, backend: Option<&str>) -> Site {
    let extra: &[(&str, &str)] = match backend {
        Some(backend) => &[("OCPP_TLS_BACKEND", backend)],
        None => &[],
    };
    site_with(server_ca, client_ca, rsa_leaf(server_ca), extra).await
}

/// A server certificate for `localhost` with a 2048-bit RSA key (rcgen
/// signs with one, but ring cannot make one: OpenSSL does).
fn rsa_leaf(ca: &Ca) -> (String, String) {
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let pkcs8 = openssl::pkey::PKey::from_rsa(rsa)
        .unwrap()
        .private_key_to_pem_pkcs8()
        .unwrap();
    let key = rcgen::KeyPair::from_pem(std::str::from_utf8(&pkcs8).unwrap()).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "evgate");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
    (cert.pem(), key.serialize_pem())
}

async fn site_with(
    server_ca: &Ca,
    client_ca: &Ca,
    (cert, key): (String, String),
    extra: &[(&str, &str)],
) -> Site {
    let dir = tempfile::tempdir().unwrap();
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
    let mut env = vec![
        ("JWT_SECRET", common::TEST_SECRET),
        ("OCPP_TLS_ADDR", "127.0.0.1:0"),
        ("OCPP_TLS_CERT", cert.as_str()),
        ("OCPP_TLS_KEY", key.as_str()),
        ("OCPP_TLS_CLIENT_CA", client_ca.as_str()),
    ];
    env.extend_from_slice(extra);
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
    let server_only = leaf(&client_ca, "CP-3", &[], false);
    assert_eq!(
        connect(&site, "CP-3", None, Some(server_only)).await,
        Err(None),
        "a certificate for server authentication only"
    );
}

/// What a charger that got in saw.
#[derive(Debug)]
struct Legacy {
    /// OpenSSL's name of the suite the server chose.
    cipher: String,
    version: String,
    /// The BootNotification's answer (`status`).
    boot: String,
}

/// A charger on OpenSSL offering TLS 1.2 only and only `ciphers` (security
/// level 0: it offers what it is told, so a refusal is the server's);
/// connects as `identity`, and boots. `Err(Some(status))` for a refused
/// upgrade, `Err(None)` for a failed TLS handshake.
async fn connect_legacy(
    site: &Site,
    identity: &str,
    basic: Option<&str>,
    client: Option<(String, String)>,
    ciphers: &str,
) -> Result<Legacy, Option<u16>> {
    use futures_util::{SinkExt, StreamExt};
    use openssl::ssl::{SslConnector, SslMethod, SslVersion};
    use tokio_tungstenite::tungstenite::Message;

    let mut builder = SslConnector::builder(SslMethod::tls_client()).unwrap();
    builder.set_security_level(0);
    builder
        .set_max_proto_version(Some(SslVersion::TLS1_2))
        .unwrap();
    builder.set_cipher_list(ciphers).unwrap();
    builder
        .cert_store_mut()
        .add_cert(openssl::x509::X509::from_pem(site.ca_pem.as_bytes()).unwrap())
        .unwrap();
    if let Some((cert, key)) = client {
        builder
            .set_certificate(&openssl::x509::X509::from_pem(cert.as_bytes()).unwrap())
            .unwrap();
        builder
            .set_private_key(&openssl::pkey::PKey::private_key_from_pem(key.as_bytes()).unwrap())
            .unwrap();
    }
    let ssl = builder
        .build()
        .configure()
        .unwrap()
        .into_ssl("localhost")
        .unwrap();
    let addr = site.server.ocpp_tls.clone().expect("TLS listener logged");
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut tls = tokio_openssl::SslStream::new(ssl, tcp).unwrap();
    std::pin::Pin::new(&mut tls)
        .connect()
        .await
        .map_err(|_| None)?;
    let cipher = tls.ssl().current_cipher().unwrap().name().to_owned();
    let version = tls.ssl().version_str().to_owned();
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
    let mut ws = match tokio_tungstenite::client_async(req, tls).await {
        Ok((ws, _)) => ws,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            return Err(Some(resp.status().as_u16()));
        }
        Err(_) => return Err(None),
    };
    let boot = serde_json::json!([2, "boot-1", "BootNotification", {
        "reason": "PowerUp",
        "chargingStation": {"model": "Legacy-1", "vendorName": "OldTLS"}
    }]);
    ws.send(Message::text(boot.to_string())).await.unwrap();
    let answer = loop {
        match ws.next().await.expect("an answer").unwrap() {
            Message::Text(text) => break serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            _ => continue,
        }
    };
    assert_eq!(
        (answer[0].as_u64(), answer[1].as_str()),
        (Some(3), Some("boot-1")),
        "{answer}"
    );
    Ok(Legacy {
        cipher,
        version,
        boot: answer[2]["status"].as_str().unwrap().to_owned(),
    })
}

const STATIC_RSA: [&str; 2] = ["AES128-GCM-SHA256", "AES256-GCM-SHA384"];

#[cfg(feature = "openssl-tls")]
#[tokio::test]
#[allow(non_snake_case)]
async fn TC_A_04_openssl_backend_accepts_a_charger_offering_only_static_rsa_suites() {
    let (server_ca, client_ca) = (ca("server CA"), ca("charger CA"));
    let site = rsa_site(&server_ca, &client_ca, Some("openssl")).await;
    for suite in STATIC_RSA {
        let got = connect_legacy(&site, "CP-2", Some(PASSWORD), None, suite)
            .await
            .unwrap_or_else(|e| panic!("{suite}: refused ({e:?})"));
        assert_eq!(
            (got.cipher.as_str(), got.version.as_str(), got.boot.as_str()),
            (suite, "TLSv1.2", "Accepted")
        );
    }
    // Profile 2's rules are unchanged: the password is still checked.
    assert_eq!(
        connect_legacy(
            &site,
            "CP-2",
            Some("wrong-password-123456"),
            None,
            STATIC_RSA[0]
        )
        .await
        .unwrap_err(),
        Some(401)
    );
    // A charger offering both kinds gets ECDHE: the server's order wins,
    // even when the charger lists static RSA first.
    let both = connect_legacy(
        &site,
        "CP-2",
        Some(PASSWORD),
        None,
        "AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384",
    )
    .await
    .unwrap();
    assert_eq!(both.cipher, "ECDHE-RSA-AES256-GCM-SHA384");
    // A modern charger (rustls: TLS 1.3, ECDHE only) still connects.
    assert_eq!(
        connect(&site, "CP-2", Some(PASSWORD), None).await,
        Ok("ocpp2.0.1".into())
    );
}

#[tokio::test]
#[allow(non_snake_case)]
async fn TC_A_04_the_default_rustls_listener_refuses_static_rsa_only_chargers() {
    let (server_ca, client_ca) = (ca("server CA"), ca("charger CA"));
    // Same RSA certificate; OCPP_TLS_BACKEND unset.
    let site = rsa_site(&server_ca, &client_ca, None).await;
    for suite in STATIC_RSA {
        assert_eq!(
            connect_legacy(&site, "CP-2", Some(PASSWORD), None, suite)
                .await
                .unwrap_err(),
            None,
            "{suite}: the rustls listener has no static-RSA key exchange"
        );
    }
    // The listener and its RSA certificate work for an ECDHE charger, on
    // TLS 1.2 too.
    let modern = connect_legacy(
        &site,
        "CP-2",
        Some(PASSWORD),
        None,
        "ECDHE-RSA-AES128-GCM-SHA256",
    )
    .await
    .unwrap();
    assert_eq!(
        (
            modern.cipher.as_str(),
            modern.version.as_str(),
            modern.boot.as_str()
        ),
        ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2", "Accepted")
    );
    assert_eq!(
        connect(&site, "CP-2", Some(PASSWORD), None).await,
        Ok("ocpp2.0.1".into())
    );
}

#[cfg(feature = "openssl-tls")]
#[tokio::test]
#[allow(non_snake_case)]
async fn TC_A_07_openssl_backend_profile_3_needs_a_client_certificate_naming_the_charger() {
    let (server_ca, client_ca, stranger_ca) =
        (ca("server CA"), ca("charger CA"), ca("someone else's CA"));
    let site = rsa_site(&server_ca, &client_ca, Some("openssl")).await;
    let good = leaf(&client_ca, "CP-3", &[], true);
    let other = leaf(&client_ca, "CP-99", &[], true);
    let forged = leaf(&stranger_ca, "CP-3", &[], true);
    for suite in STATIC_RSA {
        let got = connect_legacy(&site, "CP-3", None, Some(good.clone()), suite)
            .await
            .unwrap_or_else(|e| panic!("{suite}: refused ({e:?})"));
        assert_eq!(
            (got.cipher.as_str(), got.boot.as_str()),
            (suite, "Accepted")
        );
    }
    let static_rsa = STATIC_RSA[0];
    assert_eq!(
        connect_legacy(&site, "CP-3", None, Some(other.clone()), static_rsa)
            .await
            .unwrap_err(),
        Some(401),
        "the certificate names another charger"
    );
    assert_eq!(
        connect_legacy(&site, "CP-3", None, None, static_rsa)
            .await
            .unwrap_err(),
        Some(401),
        "no client certificate"
    );
    assert_eq!(
        connect_legacy(&site, "CP-3", None, Some(forged.clone()), static_rsa)
            .await
            .unwrap_err(),
        None,
        "another CA's certificate: refused in the TLS handshake"
    );
    // As with rustls: the CA's certificate must be for client authentication.
    let server_only = leaf(&client_ca, "CP-3", &[], false);
    assert_eq!(
        connect_legacy(&site, "CP-3", None, Some(server_only), static_rsa)
            .await
            .unwrap_err(),
        None,
        "a certificate for server authentication only"
    );
    // The same rules for a TLS 1.3 charger (rustls client).
    assert_eq!(
        connect(&site, "CP-3", None, Some(good)).await,
        Ok("ocpp2.0.1".into())
    );
    assert_eq!(
        connect(&site, "CP-3", None, Some(other)).await,
        Err(Some(401))
    );
    assert_eq!(connect(&site, "CP-3", None, Some(forged)).await, Err(None));
}

#[cfg(feature = "openssl-tls")]
#[tokio::test]
async fn openssl_backend_refuses_cbc_and_sha1_suites() {
    let (server_ca, client_ca) = (ca("server CA"), ca("charger CA"));
    let site = rsa_site(&server_ca, &client_ca, Some("openssl")).await;
    for suite in [
        "AES128-SHA",
        "AES256-SHA",
        "AES128-SHA256",
        "AES256-SHA256",
        "ECDHE-RSA-AES128-SHA",
        "ECDHE-RSA-AES256-SHA384",
        "DHE-RSA-AES128-GCM-SHA256",
    ] {
        assert_eq!(
            connect_legacy(&site, "CP-2", Some(PASSWORD), None, suite)
                .await
                .map(|got| got.cipher),
            Err(None),
            "{suite} must not be negotiated"
        );
    }
}

/// The PyPI charge point as a legacy charger: TLS 1.2 with one static-RSA
/// suite (Python's ssl, `set_ciphers`), Basic auth (profile 2).
#[cfg(feature = "openssl-tls")]
fn pypi_legacy_charger(site: &Site, suite: &str, spawn_only: bool) -> common::charger::Charger {
    let ca_file = site._dir.path().join("server-ca.pem");
    std::fs::write(&ca_file, &site.ca_pem).unwrap();
    let port = site
        .server
        .ocpp_tls
        .as_ref()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap();
    let url = format!("wss://localhost:{port}/ocpp/CP-2");
    let env = [
        ("CHARGER_PASSWORD", PASSWORD),
        ("CHARGER_CA_FILE", ca_file.to_str().unwrap()),
        ("CHARGER_TLS_CIPHERS", suite),
    ];
    if spawn_only {
        common::charger::Charger::spawn(&url, "2.0.1", "Accepted", &env)
    } else {
        common::charger::Charger::start_with(&url, "2.0.1", "Accepted", &env)
    }
}

#[cfg(feature = "openssl-tls")]
#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
#[allow(non_snake_case)]
async fn TC_A_04_a_pypi_charger_offering_only_static_rsa_boots_on_the_openssl_backend_only() {
    let (server_ca, client_ca) = (ca("server CA"), ca("charger CA"));
    let site = rsa_site(&server_ca, &client_ca, Some("openssl")).await;
    for suite in STATIC_RSA {
        // Waits for its BootNotification to be Accepted.
        let mut charger = pypi_legacy_charger(&site, suite, false);
        assert_eq!(
            charger.next_with("tls")["tls"],
            serde_json::json!(["TLSv1.2", suite])
        );
    }
    let default = rsa_site(&server_ca, &client_ca, None).await;
    let mut refused = pypi_legacy_charger(&default, STATIC_RSA[0], true);
    let failed = refused.next_with("tls_failed");
    assert!(
        failed["tls_failed"]
            .as_str()
            .is_some_and(|r| r.contains("HANDSHAKE_FAILURE")),
        "{failed}"
    );
}
