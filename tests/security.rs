//! Certificates and security events against the real binary and the PyPI
//! `ocpp` charger (which validates every frame against the official
//! schemas), both versions: a certificate renewed through the operator's
//! CA (`OCPP_CA_CERT_FILE`/`OCPP_CA_KEY_FILE`) and checked by the charger,
//! SignCertificate refused without a CA or for a bad CSR, root
//! certificates installed, listed and deleted, security events stored and
//! paged, the ISO 15118 requests answered Failed, and a bad CA file
//! refused at start with exit code 2.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(non_snake_case)]

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use common::charger::Charger;
use common::process::{Api, BIN, Running, token};
use serde_json::{Value, json};

const PASSWORD: &str = "the-charger-password-1234";

struct Site {
    server: Running,
    admin: Api,
    /// The CA's certificate and key, PEM, when the site has a CA.
    ca: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

/// evgate with charger PY-1 (profile 1), with or without a CA for
/// charger certificates.
async fn site(with_ca: bool) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("JWT_SECRET", common::TEST_SECRET.to_owned()),
        ("OCPP_CALL_TIMEOUT_SECONDS", "5".to_owned()),
    ];
    let ca = with_ca.then(|| {
        let ca = common::certs::ca("evgate test charger CA");
        let (cert, key) = (ca.cert.pem(), ca.key.serialize_pem());
        let cert_file = dir.path().join("ca.pem");
        let key_file = dir.path().join("ca.key");
        std::fs::write(&cert_file, &cert).unwrap();
        std::fs::write(&key_file, &key).unwrap();
        env.push(("OCPP_CA_CERT_FILE", cert_file.display().to_string()));
        env.push(("OCPP_CA_KEY_FILE", key_file.display().to_string()));
        (cert, key)
    });
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Running::start(dir.path(), &env);
    let admin = Api::new(
        &server,
        token(dir.path(), &env, &["--user", "7", "--role", "admin"]),
    );
    let station = admin.station().await;
    admin.charger(&station, "PY-1", 1, Some(PASSWORD)).await;
    admin.connector(&station, "PY-1", 1).await;
    Site {
        server,
        admin,
        ca,
        _dir: dir,
    }
}

impl Site {
    fn charger(&self, version: &str, env: &[(&str, &str)]) -> Charger {
        let mut env = env.to_vec();
        env.push(("CHARGER_PASSWORD", PASSWORD));
        let url = format!("{}/ocpp/PY-1", self.server.ocpp);
        Charger::start_with(&url, version, "Accepted", &env)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.admin
            .send(method, &format!("/v1/admin/chargers/PY-1{path}"), body)
            .await
    }

    /// Nothing evgate logged or answered shows the CA's private key.
    fn key_never_shown(&self, answers: &[&Value]) {
        let Some((_, key)) = &self.ca else { return };
        let body = key.lines().nth(1).unwrap();
        let logs = serde_json::to_string(&self.server.logs()).unwrap();
        assert!(!logs.contains(body) && !logs.contains("PRIVATE KEY"));
        for answer in answers {
            assert!(!answer.to_string().contains(body));
        }
    }
}

/// The next `n` requests the charger printed, by action (a follow-up
/// and the answer to the charger's own call may come in either order).
fn requests(charger: &mut Charger, n: usize) -> HashMap<String, Value> {
    (0..n)
        .map(|_| {
            let r = charger.received_any();
            (
                r["action"].as_str().unwrap().to_owned(),
                r["payload"].clone(),
            )
        })
        .collect()
}

/// A renewal: the operator asks, the charger sends a CSR, evgate's CA signs
/// it and sends the chain; the charger checks it is for its key and signed
/// by the CA.
async fn renewal(version: &str) {
    let site = site(true).await;
    let mut charger = site.charger(version, &[]);
    let (status, answer) = site.call("POST", "/certificates/renew", None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["response"]["status"], "Accepted");
    let trigger = charger.received_any();
    let (action, requested) = match version {
        "1.6" => ("ExtendedTriggerMessage", "SignChargePointCertificate"),
        _ => ("TriggerMessage", "SignChargingStationCertificate"),
    };
    assert_eq!(answer["data"]["action"], action);
    assert_eq!(trigger["action"], action, "{trigger}");
    assert_eq!(trigger["payload"]["requestedMessage"], requested);
    let seen = requests(&mut charger, 2);
    assert_eq!(seen["SignCertificateAnswer"]["status"], "Accepted");
    let signed = &seen["CertificateSigned"];
    assert_eq!(signed["verified"], true, "{signed}");
    assert_eq!(signed["cn"], "PY-1");
    assert_eq!(signed["certificates"], 2, "leaf and CA");
    if version != "1.6" {
        assert_eq!(signed["certificateType"], "ChargingStationCertificate");
    }
    let issued = common::eventually(
        "the issued certificate is recorded",
        Duration::from_secs(5),
        async || {
            let list = site.call("GET", "/certificates/issued", None).await.1;
            match list["data"]["certificates"].as_array().map(Vec::len) {
                Some(1) => Ok(list),
                _ => Err(list.to_string()),
            }
        },
    )
    .await;
    let cert = &issued["data"]["certificates"][0];
    assert_eq!(cert["subject"], "PY-1");
    assert_eq!(cert["serial"].as_str().unwrap().len(), 32);
    assert!(cert["notAfter"].as_str().unwrap() > cert["issuedAt"].as_str().unwrap());
    // The renewal is audited as a command.
    let audit = site.admin.get("/v1/admin/audit?target=PY-1").await;
    assert_eq!(audit["data"]["entries"][0]["details"]["action"], action);
    site.key_never_shown(&[&issued, &audit]);
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn TC_074_v16_certificate_renewal_signed_by_the_operators_ca() {
    renewal("1.6").await;
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn TC_A_09_v201_certificate_renewal_signed_by_the_operators_ca() {
    renewal("2.0.1").await;
}

/// Refusals: a CSR naming another charger, one that is no CSR; then (on a
/// site without a CA) any CSR. Nothing is issued, no CertificateSigned sent.
async fn sign_refusals(version: &str) {
    let site = site(true).await;
    let mut charger = site.charger(version, &[]);
    let wrong = charger.command("sign_certificate PY-2");
    assert_eq!(wrong["status"], "Rejected", "{wrong}");
    let garbage = charger.command("sign_garbage");
    assert_eq!(garbage["status"], "Rejected", "{garbage}");
    if version != "1.6" {
        assert_eq!(wrong["statusInfo"]["reason_code"], "InvalidCommonName");
        assert_eq!(garbage["statusInfo"]["reason_code"], "InvalidCSR");
    }
    // A good one still goes through on the same connection.
    assert_eq!(charger.command("sign_certificate")["status"], "Accepted");
    let signed = (0..4)
        .map(|_| charger.received_any())
        .find(|r| r["action"] == "CertificateSigned")
        .expect("CertificateSigned after the accepted CSR");
    assert_eq!(signed["payload"]["verified"], true);
    let issued = site.call("GET", "/certificates/issued", None).await.1;
    assert_eq!(issued["data"]["certificates"].as_array().unwrap().len(), 1);
    drop(charger);

    let bare = self::site(false).await;
    let mut charger = bare.charger(version, &[]);
    let refused = charger.command("sign_certificate");
    assert_eq!(refused["status"], "Rejected", "{refused}");
    if version != "1.6" {
        assert_eq!(refused["statusInfo"]["reason_code"], "NoCA");
    }
    let issued = bare.call("GET", "/certificates/issued", None).await.1;
    assert_eq!(issued["data"]["certificates"], json!([]));
    // Nothing to install by default without a CA.
    let (status, body) = bare.call("POST", "/certificates", Some(json!({}))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v16_sign_certificate_rejected_for_a_bad_csr_or_without_a_ca() {
    sign_refusals("1.6").await;
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v201_sign_certificate_rejected_for_a_bad_csr_or_without_a_ca() {
    sign_refusals("2.0.1").await;
}

/// Install the operator's CA as the CSMS root, list it, delete it by the
/// hash data the charger reported, then NotFound for both; a charger that
/// refuses an installation says Rejected.
async fn install_list_delete(version: &str) {
    let site = site(true).await;
    let mut charger = site.charger(version, &[]);
    let (status, installed) = site.call("POST", "/certificates", Some(json!({}))).await;
    assert_eq!(status, 200, "{installed}");
    assert_eq!(installed["data"]["response"]["status"], "Accepted");
    let request = charger.received_any();
    assert_eq!(request["action"], "InstallCertificate");
    let root_type = match version {
        "1.6" => "CentralSystemRootCertificate",
        _ => "CSMSRootCertificate",
    };
    assert_eq!(request["payload"]["certificateType"], root_type);
    assert_eq!(
        request["payload"]["certificate"].as_str(),
        site.ca.as_ref().map(|(cert, _)| cert.as_str()),
        "the operator's CA certificate, as configured"
    );

    let (status, listed) = site.call("GET", "/certificates", None).await;
    assert_eq!(status, 200, "{listed}");
    let response = &listed["data"]["response"];
    assert_eq!(response["status"], "Accepted", "{listed}");
    let hash = match version {
        "1.6" => response["certificateHashData"][0].clone(),
        _ => {
            assert_eq!(
                response["certificateHashDataChain"][0]["certificateType"],
                root_type
            );
            response["certificateHashDataChain"][0]["certificateHashData"].clone()
        }
    };
    let query = format!(
        "/certificates?hashAlgorithm={}&issuerNameHash={}&issuerKeyHash={}&serialNumber={}",
        hash["hashAlgorithm"].as_str().unwrap(),
        hash["issuerNameHash"].as_str().unwrap(),
        hash["issuerKeyHash"].as_str().unwrap(),
        hash["serialNumber"].as_str().unwrap(),
    );
    let (status, deleted) = site.call("DELETE", &query, None).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["data"]["response"]["status"], "Accepted");
    let (_, again) = site.call("DELETE", &query, None).await;
    assert_eq!(again["data"]["response"]["status"], "NotFound");
    let (_, none) = site.call("GET", "/certificates", None).await;
    assert_eq!(none["data"]["response"]["status"], "NotFound");

    // The version's own vocabulary only.
    let other_type = match version {
        "1.6" => "CSMSRootCertificate",
        _ => "CentralSystemRootCertificate",
    };
    let (status, body) = site
        .call("GET", &format!("/certificates?type={other_type}"), None)
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = site
        .call(
            "DELETE",
            "/certificates?hashAlgorithm=MD5&issuerNameHash=a&issuerKeyHash=b&serialNumber=1",
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    drop(charger);

    let _refusing = site.charger(version, &[("CHARGER_CERT_ANSWER", "Rejected")]);
    let (status, refused) = site.call("POST", "/certificates", Some(json!({}))).await;
    assert_eq!(status, 200, "{refused}");
    assert_eq!(refused["data"]["response"]["status"], "Rejected");
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn TC_075_TC_076_v16_install_list_and_delete_a_root_certificate() {
    install_list_delete("1.6").await;
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn TC_M_01_TC_M_12_TC_M_20_v201_install_list_and_delete_a_root_certificate() {
    install_list_delete("2.0.1").await;
}

/// The certificate commands go through the generic commands endpoint too,
/// checked against the version's schema.
async fn typed_commands(version: &str) {
    let site = site(true).await;
    let mut charger = site.charger(version, &[]);
    let command = |action: &str, payload: Value| json!({"action": action, "payload": payload});
    let chain = site.ca.as_ref().unwrap().0.clone();
    let (status, answer) = site
        .call(
            "POST",
            "/commands",
            Some(command(
                "CertificateSigned",
                json!({"certificateChain": chain}),
            )),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"]["response"]["status"], "Rejected",
        "a chain that is not for the charger's key"
    );
    assert_eq!(charger.received_any()["action"], "CertificateSigned");
    let (trigger, requested, wrong) = match version {
        "1.6" => (
            "ExtendedTriggerMessage",
            "StatusNotification",
            "SignChargingStationCertificate",
        ),
        _ => (
            "TriggerMessage",
            "SignChargingStationCertificate",
            "SignChargePointCertificate",
        ),
    };
    let (status, answer) = site
        .call(
            "POST",
            "/commands",
            Some(command(trigger, json!({"requestedMessage": requested}))),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["response"]["status"], "Accepted");
    let (status, body) = site
        .call(
            "POST",
            "/commands",
            Some(command(trigger, json!({"requestedMessage": wrong}))),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = site
        .call(
            "POST",
            "/commands",
            Some(command("InstallCertificate", json!({"certificate": "x"}))),
        )
        .await;
    assert_eq!(status, 400, "a missing certificateType: {body}");
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v16_certificate_commands_are_typed() {
    typed_commands("1.6").await;
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v201_certificate_commands_are_typed() {
    typed_commands("2.0.1").await;
}

/// Security events are kept per charger and read back newest first.
async fn security_events(version: &str) {
    let site = site(false).await;
    let mut charger = site.charger(version, &[]);
    assert_eq!(
        charger.command("security_event StartupOfTheDevice"),
        json!({})
    );
    assert_eq!(
        charger.command("security_event InvalidCentralSystemCertificate bad chain"),
        json!({})
    );
    let (status, page) = site.call("GET", "/security-events", None).await;
    assert_eq!(status, 200, "{page}");
    let events = page["data"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{page}");
    assert_eq!(
        events[0]["type"], "InvalidCentralSystemCertificate",
        "newest first"
    );
    assert_eq!(events[0]["techInfo"], "bad chain");
    assert_eq!(events[1]["type"], "StartupOfTheDevice");
    assert_eq!(events[1]["techInfo"], Value::Null);
    let (_, one) = site.call("GET", "/security-events?limit=1", None).await;
    assert_eq!(one["data"]["events"].as_array().unwrap().len(), 1);
    let (_, later) = site
        .call("GET", "/security-events?since=2999-01-01T00:00:00Z", None)
        .await;
    assert_eq!(later["data"]["events"], json!([]));
    for bad in ["?since=yesterday", "?limit=0", "?limit=501"] {
        let (status, body) = site
            .call("GET", &format!("/security-events{bad}"), None)
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = site
        .admin
        .send("GET", "/v1/admin/chargers/NOPE/security-events", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v16_security_events_are_stored_and_paged() {
    security_events("1.6").await;
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v201_security_events_are_stored_and_paged() {
    security_events("2.0.1").await;
}

/// No OCSP responder, no contract-certificate service: Failed, with the
/// reason, in answers the charger's schemas accept.
#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v201_iso15118_certificate_requests_answered_failed_without_a_service() {
    let site = site(true).await;
    let mut charger = site.charger("2.0.1", &[]);
    let ev = charger.command("ev_certificate");
    assert_eq!(ev["status"], "Failed", "{ev}");
    assert_eq!(ev["exiResponse"], "");
    assert_eq!(ev["statusInfo"]["reason_code"], "NotConfigured", "{ev}");
    let status = charger.command("certificate_status");
    assert_eq!(status["status"], "Failed", "{status}");
    assert_eq!(
        status["statusInfo"]["reason_code"], "NotConfigured",
        "{status}"
    );
}

/// A CA that cannot be used stops the start: one line naming the setting,
/// exit code 2, and never the key.
#[test]
fn bad_ca_files_are_refused_at_start_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let ca = common::certs::ca("evgate test charger CA");
    let other = common::certs::ca("another CA");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let cert = write("ca.pem", &ca.cert.pem());
    let wrong_key = write("other.key", &other.key.serialize_pem());
    let garbage = write("garbage.key", "not a key");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("OCPP_CA_CERT_FILE", &cert)], "OCPP_CA_KEY_FILE"),
        (&[("OCPP_CA_KEY_FILE", &wrong_key)], "OCPP_CA_CERT_FILE"),
        (
            &[
                ("OCPP_CA_CERT_FILE", "/nonexistent/ca.pem"),
                ("OCPP_CA_KEY_FILE", &wrong_key),
            ],
            "OCPP_CA_CERT_FILE",
        ),
        (
            &[
                ("OCPP_CA_CERT_FILE", &cert),
                ("OCPP_CA_KEY_FILE", &wrong_key),
            ],
            "OCPP_CA_KEY_FILE",
        ),
        (
            &[("OCPP_CA_CERT_FILE", &cert), ("OCPP_CA_KEY_FILE", &garbage)],
            "OCPP_CA_KEY_FILE",
        ),
        (
            &[
                ("OCPP_CA_CERT_FILE", &garbage),
                ("OCPP_CA_KEY_FILE", &wrong_key),
            ],
            "OCPP_CA_CERT_FILE",
        ),
    ];
    let key_body = other.key.serialize_pem().lines().nth(1).unwrap().to_owned();
    for (env, named) in cases {
        let out = Command::new(BIN)
            .current_dir(dir.path())
            .env_clear()
            .env("HTTP_ADDR", "127.0.0.1:0")
            .env("OCPP_ADDR", "127.0.0.1:0")
            .env("JWT_SECRET", common::TEST_SECRET)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert_eq!(lines.len(), 1, "{env:?}: one line, got {stderr:?}");
        assert!(
            lines[0].contains(named),
            "{env:?}: {:?} should name {named}",
            lines[0]
        );
        assert!(!stderr.contains(&key_body), "the key is never shown");
    }
}
