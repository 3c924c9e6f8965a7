//! Firmware and logs against the real binary and the PyPI `ocpp` 2.1.0
//! charger (which checks every call against the official schemas, the 1.6
//! security whitepaper's included): updates ordered through
//! `POST /v1/admin/chargers/:id/firmware` and followed to Installed,
//! diagnostics and logs uploaded to evgate's own upload location and
//! fetched back, refusals recorded, and the upload location's own
//! refusals. Tests needing the charger are `--ignored` (`.ci/run` runs them).

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(non_snake_case)]

mod common;

use std::time::Duration;

use common::charger::Charger;
use common::process::{Api, Running, token};
use serde_json::{Value, json};

const CP: &str = "PY-1";

struct Site {
    server: Running,
    admin: Api,
    _dir: tempfile::TempDir,
}

/// evgate with charger PY-1 (security profile 0).
async fn site(extra: &[(&str, &str)]) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("JWT_SECRET", common::TEST_SECRET),
        ("OCPP_CALL_TIMEOUT_SECONDS", "5"),
    ];
    env.extend_from_slice(extra);
    let server = Running::start(dir.path(), &env);
    let admin = Api::new(
        &server,
        token(dir.path(), &env, &["--user", "7", "--role", "admin"]),
    );
    let station = admin.station().await;
    admin.charger(&station, CP, 0, None).await;
    admin.connector(&station, CP, 1).await;
    Site {
        server,
        admin,
        _dir: dir,
    }
}

impl Site {
    fn charger(&self, version: &str, env: &[(&str, &str)]) -> Charger {
        let url = format!("{}/ocpp/{CP}", self.server.ocpp);
        Charger::start_with(&url, version, "Accepted", env)
    }

    /// The charger's firmware or log track once its newest status is `want`.
    async fn track_reaches(&self, track: &str, want: &str) -> Value {
        let path = format!("/v1/admin/chargers/{CP}/{track}");
        common::eventually(
            &format!("{track} status {want}"),
            Duration::from_secs(15),
            async || {
                let t = self.admin.get(&path).await;
                if t["data"]["status"]["status"] == want {
                    Ok(t["data"].clone())
                } else {
                    Err(t.to_string())
                }
            },
        )
        .await
    }

    async fn order(&self, track: &str, body: Value) -> Value {
        let (status, answer) = self
            .admin
            .post(&format!("/v1/admin/chargers/{CP}/{track}"), body)
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["data"].clone()
    }

    /// A stored upload's bytes, through the admin API.
    async fn file(&self, name: &str) -> (u16, String) {
        let resp = reqwest::Client::new()
            .get(
                self.server
                    .url(&format!("/v1/admin/chargers/{CP}/logs/files/{name}")),
            )
            .bearer_auth(&self.admin.token)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

fn statuses(track: &Value) -> Vec<String> {
    track["history"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|s| s["status"].as_str().unwrap().to_owned())
        .collect()
}

const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn TC_044_1_v16_firmware_update_is_followed_to_installed() {
    let site = site(&[]).await;
    let mut charger = site.charger("1.6", &[]);
    let ordered = site
        .order(
            "firmware",
            json!({"location": "https://firmware.example/cp-2.1.bin", "retries": 2}),
        )
        .await;
    assert_eq!(ordered["action"], "UpdateFirmware");
    assert_eq!(ordered["answer"], "Accepted");
    let sent = charger.received();
    assert_eq!(sent["action"], "UpdateFirmware");
    assert_eq!(
        sent["payload"]["location"],
        "https://firmware.example/cp-2.1.bin"
    );
    assert!(sent["payload"]["retrieveDate"].is_string());
    let track = site.track_reaches("firmware", "Installed").await;
    assert_eq!(
        statuses(&track),
        ["Downloading", "Downloaded", "Installing", "Installed"]
    );
    assert_eq!(track["requests"][0]["answer"], "Accepted");
    let audit = site
        .admin
        .get(&format!("/v1/admin/audit?target={CP}"))
        .await;
    assert_eq!(
        audit["data"]["entries"][0]["action"], "charger.firmware",
        "{audit}"
    );
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn TC_044_2_v16_firmware_download_failure_is_recorded() {
    let site = site(&[]).await;
    let _charger = site.charger("1.6", &[("CHARGER_FIRMWARE_FAIL", "download")]);
    site.order(
        "firmware",
        json!({"location": "https://firmware.example/missing.bin"}),
    )
    .await;
    let track = site.track_reaches("firmware", "DownloadFailed").await;
    assert_eq!(statuses(&track), ["Downloading", "DownloadFailed"]);
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn TC_045_1_v16_diagnostics_are_uploaded_to_evgate_and_fetched_back() {
    let site = site(&[]).await;
    let mut charger = site.charger("1.6", &[]);
    let ordered = site
        .order("logs", json!({"from": "2030-01-01T00:00:00Z"}))
        .await;
    assert_eq!(ordered["action"], "GetDiagnostics");
    assert_eq!(ordered["answer"], "Accepted");
    let location = ordered["location"].as_str().unwrap().to_owned();
    assert!(
        location.starts_with(&site.server.url(&format!("/ocpp-uploads/{CP}/"))),
        "{location}"
    );
    let sent = charger.received();
    assert_eq!(sent["action"], "GetDiagnostics");
    assert_eq!(sent["payload"]["location"], location.as_str());
    assert_eq!(charger.next_with("uploaded")["uploaded"], 201);
    let track = site.track_reaches("logs", "Uploaded").await;
    assert_eq!(statuses(&track), ["Uploading", "Uploaded"]);
    let name = format!("{}-diagnostics.log", ordered["requestId"]);
    let files = site
        .admin
        .get(&format!("/v1/admin/chargers/{CP}/logs/files"))
        .await;
    assert_eq!(files["data"]["files"][0]["name"], name.as_str(), "{files}");
    let (status, text) = site.file(&name).await;
    assert_eq!(status, 200);
    assert!(text.starts_with("log of PY-1"), "{text}");
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v16_diagnostics_refused_when_the_charger_has_no_file() {
    let site = site(&[]).await;
    let _charger = site.charger("1.6", &[("CHARGER_LOG_ANSWER", "Rejected")]);
    let ordered = site.order("logs", json!({})).await;
    assert_eq!(ordered["answer"], "NoFile");
    let track = site
        .admin
        .get(&format!("/v1/admin/chargers/{CP}/logs"))
        .await;
    assert_eq!(track["data"]["requests"][0]["answer"], "NoFile");
    assert_eq!(track["data"]["status"], Value::Null);
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn TC_074_v16_signed_firmware_update_reports_its_request() {
    let site = site(&[]).await;
    let mut charger = site.charger("1.6", &[]);
    let ordered = site
        .order(
            "firmware",
            json!({"location": "https://firmware.example/cp-2.2.bin",
                "signingCertificate": CERT, "signature": "c2lnbmF0dXJl",
                "installDate": "2030-01-02T00:00:00Z"}),
        )
        .await;
    assert_eq!(ordered["action"], "SignedUpdateFirmware");
    assert_eq!(ordered["answer"], "Accepted");
    let sent = charger.received();
    assert_eq!(sent["action"], "SignedUpdateFirmware");
    assert_eq!(sent["payload"]["requestId"], ordered["requestId"]);
    assert_eq!(sent["payload"]["firmware"]["signature"], "c2lnbmF0dXJl");
    let track = site.track_reaches("firmware", "Installed").await;
    assert_eq!(
        statuses(&track),
        [
            "Downloading",
            "Downloaded",
            "SignatureVerified",
            "Installing",
            "Installed"
        ]
    );
    assert_eq!(track["status"]["requestId"], ordered["requestId"]);
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v16_signed_firmware_with_an_invalid_certificate_is_refused() {
    let site = site(&[]).await;
    let _charger = site.charger("1.6", &[("CHARGER_FIRMWARE_ANSWER", "InvalidCertificate")]);
    let ordered = site
        .order(
            "firmware",
            json!({"location": "https://firmware.example/cp-2.2.bin",
                "signingCertificate": CERT, "signature": "c2lnbmF0dXJl"}),
        )
        .await;
    assert_eq!(ordered["answer"], "InvalidCertificate");
    let audit = site
        .admin
        .get(&format!("/v1/admin/audit?target={CP}"))
        .await;
    assert_eq!(
        audit["data"]["entries"][0]["outcome"], "REJECTED",
        "{audit}"
    );
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn TC_075_v16_security_log_is_uploaded_to_evgate() {
    let site = site(&[]).await;
    let mut charger = site.charger("1.6", &[]);
    let ordered = site.order("logs", json!({"logType": "SecurityLog"})).await;
    assert_eq!(
        (ordered["action"].as_str(), ordered["answer"].as_str()),
        (Some("GetLog"), Some("Accepted"))
    );
    let sent = charger.received();
    assert_eq!(sent["payload"]["logType"], "SecurityLog");
    assert_eq!(sent["payload"]["requestId"], ordered["requestId"]);
    assert_eq!(charger.next_with("uploaded")["uploaded"], 201);
    let track = site.track_reaches("logs", "Uploaded").await;
    assert_eq!(track["status"]["requestId"], ordered["requestId"]);
    let (status, _) = site
        .file(&format!("{}-security.log", ordered["requestId"]))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v16_security_log_refused_is_recorded() {
    let site = site(&[]).await;
    let _charger = site.charger("1.6", &[("CHARGER_LOG_ANSWER", "Rejected")]);
    let ordered = site.order("logs", json!({"logType": "SecurityLog"})).await;
    assert_eq!(ordered["answer"], "Rejected");
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn TC_L_01_v201_secure_firmware_update_is_followed_to_installed() {
    let site = site(&[]).await;
    let mut charger = site.charger("2.0.1", &[]);
    let ordered = site
        .order(
            "firmware",
            json!({"location": "https://firmware.example/cs-3.0.bin",
                "signingCertificate": CERT, "signature": "c2lnbmF0dXJl"}),
        )
        .await;
    assert_eq!(ordered["action"], "UpdateFirmware");
    assert_eq!(ordered["answer"], "Accepted");
    let sent = charger.received();
    assert_eq!(sent["payload"]["requestId"], ordered["requestId"]);
    assert_eq!(sent["payload"]["firmware"]["signing_certificate"], CERT);
    let track = site.track_reaches("firmware", "Installed").await;
    assert_eq!(
        statuses(&track),
        [
            "Downloading",
            "Downloaded",
            "SignatureVerified",
            "Installing",
            "Installed"
        ]
    );
    assert_eq!(track["status"]["requestId"], ordered["requestId"]);
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v201_firmware_update_rejected_is_recorded() {
    let site = site(&[]).await;
    let _charger = site.charger("2.0.1", &[("CHARGER_FIRMWARE_ANSWER", "Rejected")]);
    let ordered = site
        .order(
            "firmware",
            json!({"location": "https://firmware.example/cs-3.0.bin"}),
        )
        .await;
    assert_eq!(ordered["answer"], "Rejected");
    let track = site
        .admin
        .get(&format!("/v1/admin/chargers/{CP}/firmware"))
        .await;
    assert_eq!(track["data"]["requests"][0]["answer"], "Rejected");
    assert_eq!(track["data"]["history"], json!([]));
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn TC_N_01_v201_log_is_uploaded_to_evgate() {
    let site = site(&[]).await;
    let mut charger = site.charger("2.0.1", &[]);
    let ordered = site
        .order(
            "logs",
            json!({"from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"}),
        )
        .await;
    assert_eq!(ordered["action"], "GetLog");
    let sent = charger.received();
    assert_eq!(sent["payload"]["logType"], "DiagnosticsLog");
    assert_eq!(
        sent["payload"]["log"]["remote_location"],
        ordered["location"]
    );
    assert_eq!(charger.next_with("uploaded")["uploaded"], 201);
    let track = site.track_reaches("logs", "Uploaded").await;
    assert_eq!(statuses(&track), ["Uploading", "Uploaded"]);
    let (status, text) = site
        .file(&format!("{}-station.log", ordered["requestId"]))
        .await;
    assert_eq!((status, text.starts_with("log of PY-1")), (200, true));
}

#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn v201_log_request_rejected_is_recorded() {
    let site = site(&[]).await;
    let _charger = site.charger("2.0.1", &[("CHARGER_LOG_ANSWER", "Rejected")]);
    let ordered = site.order("logs", json!({"logType": "SecurityLog"})).await;
    assert_eq!(ordered["answer"], "Rejected");
}

/// The upload location takes one request's files from one charger, within
/// `OCPP_UPLOAD_MAX_MB`, under plain names only.
#[tokio::test]
#[ignore = "needs Python ocpp 2.1.0; run by .ci/run"]
async fn the_upload_location_refuses_strangers_traversal_and_oversize() {
    let site = site(&[("OCPP_UPLOAD_MAX_MB", "1")]).await;
    let mut charger = site.charger("2.0.1", &[]);
    let ordered = site.order("logs", json!({})).await;
    assert_eq!(charger.next_with("uploaded")["uploaded"], 201);
    let location = ordered["location"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let put = async |url: String, body: Vec<u8>| {
        let resp = http.put(url).body(body).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    };
    let (status, body) = put(format!("{location}again.log"), b"more".to_vec()).await;
    assert_eq!(status, 201, "{body}");
    let unknown = location.replace(
        location.rsplit('/').nth(1).unwrap(),
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    );
    let (status, body) = put(format!("{unknown}x.log"), b"x".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let (status, _) = put(
        format!("{}x.log", location.replace("/PY-1/", "/PY-2/")),
        b"x".to_vec(),
    )
    .await;
    assert_eq!(status, 404, "another charger's location");
    let (status, body) = put(format!("{location}..%2F..%2Fevil"), b"x".to_vec()).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("fileName"))
    );
    let (status, body) = put(format!("{location}big.log"), vec![0u8; 1_100_000]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    let files = site
        .admin
        .get(&format!("/v1/admin/chargers/{CP}/logs/files"))
        .await;
    let names: Vec<&str> = files["data"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let id = &ordered["requestId"];
    assert_eq!(
        names,
        [format!("{id}-again.log"), format!("{id}-station.log")]
    );
    let (status, _) = site.file("..%2Fevil").await;
    assert_eq!(status, 400);
}

/// The admin endpoints refuse what no charger could use before asking one.
#[tokio::test]
async fn firmware_and_log_orders_refuse_bad_input() {
    let site = site(&[]).await;
    let firmware = format!("/v1/admin/chargers/{CP}/firmware");
    let logs = format!("/v1/admin/chargers/{CP}/logs");
    for (path, body, field) in [
        (&firmware, json!({"location": "/relative.bin"}), "location"),
        (
            &firmware,
            json!({"location": "https://fw.example/a.bin", "signature": "c2ln"}),
            "signingCertificate",
        ),
        (
            &firmware,
            json!({"location": "https://fw.example/a.bin", "colour": "red"}),
            "colour",
        ),
        (&logs, json!({"logType": "EverythingLog"}), "logType"),
        (
            &logs,
            json!({"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}),
            "from",
        ),
        (&logs, json!({"location": "not a url"}), "location"),
    ] {
        let (status, answer) = site.admin.post(path, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["error"]["field"]
                .as_str()
                .is_some_and(|f| f.contains(field))
                || answer["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(field)),
            "{body}: {answer}"
        );
    }
    let (status, answer) = site
        .admin
        .post(&firmware, json!({"location": "https://fw.example/a.bin"}))
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("CHARGER_OFFLINE"))
    );
    let (status, _) = site
        .admin
        .send("GET", "/v1/admin/chargers/NOPE/firmware", None)
        .await;
    assert_eq!(status, 404);
    let resp = reqwest::Client::new()
        .put(site.server.url("/ocpp-uploads/PY-1/nothing/x.log"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}
