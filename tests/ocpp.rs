//! The OCPP listener of the real binary, spoken to with a raw WebSocket
//! client: handshake rules (OCTT TC_088/TC_B_58 subprotocol, TC_085/TC_A_02/
//! TC_A_03 Basic auth, unknown identity), frames and CALLERROR codes per
//! version, duplicate connections, and a booking reserved on a connected
//! charger through ReserveNow.
//!
//! Over 600 lines on purpose: every case is a short script over the same
//! `Site` and raw-frame helpers below, most named after their OCTT case,
//! and they read best as one list.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine;
use common::process::{Api, Running, token};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const PASSWORD: &str = "a-charger-password-16+";

struct Site {
    server: Running,
    admin: Api,
    station: String,
    _dir: tempfile::TempDir,
}

impl Site {
    async fn start() -> Site {
        Site::start_with(&[]).await
    }

    async fn start_with(extra: &[(&str, &str)]) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![
            ("JWT_SECRET", common::TEST_SECRET),
            ("OCPP_CALL_TIMEOUT_SECONDS", "1"),
            ("OCPP_OFFLINE_GRACE_SECONDS", "1"),
        ];
        env.extend_from_slice(extra);
        let server = Running::start(dir.path(), &env);
        let admin = Api::new(
            &server,
            token(dir.path(), &env, &["--user", "1", "--role", "admin"]),
        );
        let station = admin.station().await;
        admin.charger(&station, "CP-0", 0, None).await;
        admin.charger(&station, "CP-1", 1, Some(PASSWORD)).await;
        for n in 1..=2 {
            admin.connector(&station, "CP-0", n).await;
        }
        Site {
            server,
            admin,
            station,
            _dir: dir,
        }
    }

    async fn get(&self, path: &str) -> Value {
        self.admin.get(path).await
    }

    /// A charger as `GET /v1/admin/chargers` lists it.
    async fn charger(&self, id: &str) -> Value {
        let chargers = self.get("/v1/admin/chargers").await;
        chargers["data"]["chargers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["chargePointId"] == id)
            .unwrap()
            .clone()
    }

    /// Opens a WebSocket; `Err(status)` when the upgrade is refused.
    async fn connect(
        &self,
        path: &str,
        protocols: Option<&str>,
        auth: Option<(&str, &str)>,
    ) -> Result<(Ws, Option<String>), u16> {
        let mut req = format!("{}{path}", self.server.ocpp)
            .into_client_request()
            .unwrap();
        if let Some(p) = protocols {
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", p.parse().unwrap());
        }
        if let Some((user, pass)) = auth {
            let creds = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            req.headers_mut()
                .insert("Authorization", format!("Basic {creds}").parse().unwrap());
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, resp)) => {
                let proto = resp
                    .headers()
                    .get("sec-websocket-protocol")
                    .map(|v| v.to_str().unwrap().to_owned());
                Ok((ws, proto))
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("unexpected {e}"),
        }
    }
}

/// Sends a CALL and returns the frame answering it (skipping pings and the
/// server's own CALLs, such as a resynchronising TriggerMessage).
async fn call(ws: &mut Ws, id: &str, action: &str, payload: Value) -> Value {
    ws.send(Message::text(json!([2, id, action, payload]).to_string()))
        .await
        .unwrap();
    next_answer(ws).await
}

/// Whether the server closes the socket within 5 s.
async fn closed_by_server(ws: &mut Ws) -> bool {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                _ => {}
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// The next frame that is not one of the server's own CALLs.
async fn next_answer(ws: &mut Ws) -> Value {
    loop {
        let frame = next_frame(ws).await;
        if frame[0] != 2 {
            return frame;
        }
    }
}

async fn next_frame(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

fn boot16() -> Value {
    json!({"chargePointVendor": "ACME", "chargePointModel": "Wallbox 1", "firmwareVersion": "1.2.3"})
}

#[tokio::test]
#[allow(non_snake_case)]
async fn TC_088_and_TC_B_58_subprotocol_negotiation() {
    let site = Site::start().await;
    assert_eq!(
        site.connect("/ocpp/CP-0", None, None).await.err(),
        Some(400),
        "header missing"
    );
    assert_eq!(
        site.connect("/ocpp/CP-0", Some("ocpp0.1"), None)
            .await
            .err(),
        Some(400),
        "nothing we speak"
    );
    let (_, proto) = site
        .connect("/ocpp/CP-0", Some("ocpp2.0.1, ocpp1.6"), None)
        .await
        .unwrap();
    assert_eq!(
        proto.as_deref(),
        Some("ocpp2.0.1"),
        "the charger's first choice, echoed alone"
    );
    let (_, proto) = site
        .connect("/CP-0", Some("ocpp1.6, ocpp2.0.1"), None)
        .await
        .unwrap();
    assert_eq!(
        proto.as_deref(),
        Some("ocpp1.6"),
        "a bare base URL works too"
    );
}

#[tokio::test]
#[allow(non_snake_case)]
async fn TC_085_TC_A_01_TC_A_02_TC_A_03_basic_auth_and_unknown_identities() {
    let site = Site::start().await;
    let v = Some("ocpp1.6");
    assert_eq!(site.connect("/ocpp/NOBODY", v, None).await.err(), Some(404));
    assert_eq!(
        site.connect("/ocpp/CP-1", v, None).await.err(),
        Some(401),
        "no credentials"
    );
    assert_eq!(
        site.connect("/ocpp/CP-1", v, Some(("CP-1", "wrong-password-1234")))
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        site.connect("/ocpp/CP-1", v, Some(("CP-0", PASSWORD)))
            .await
            .err(),
        Some(401),
        "user must be the identity"
    );
    assert!(
        site.connect("/ocpp/CP-1", v, Some(("CP-1", PASSWORD)))
            .await
            .is_ok()
    );
    // The same rules for a 2.0.1 station (TC_A_01 valid, TC_A_03 invalid).
    let v201 = Some("ocpp2.0.1");
    assert_eq!(
        site.connect("/ocpp/CP-1", v201, Some(("CP-1", PASSWORD)))
            .await
            .ok()
            .and_then(|(_, protocol)| protocol)
            .as_deref(),
        Some("ocpp2.0.1")
    );
    assert_eq!(
        site.connect("/ocpp/CP-1", v201, Some(("CP-1", "wrong-password-1234")))
            .await
            .err(),
        Some(401)
    );
    // Profile 2 needs TLS: without a TLS listener no charger can be
    // created on it (it could never connect); a profile-2 charger on the
    // plain listener is refused in tests/ocpp_tls.rs.
    let body = json!({"chargePointId": "CP-2", "securityProfile": 2, "password": PASSWORD});
    let (status, refused) = site
        .admin
        .post(
            &format!("/v1/admin/stations/{}/chargers", site.station),
            body,
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "NOT_CONFIGURED");
}

/// Wrong passwords cost an argon2 verification each; past three a guesser
/// is answered 429 with `Retry-After` without one (issue #15), and the
/// right password works again once the wait is over.
#[tokio::test]
async fn a_password_guesser_is_slowed_with_retry_after_and_the_charger_gets_back_in() {
    let site = Site::start().await;
    let v = Some("ocpp1.6");
    for _ in 0..3 {
        let refused = site
            .connect("/ocpp/CP-1", v, Some(("CP-1", "wrong-password-1234")))
            .await
            .err();
        assert_eq!(refused, Some(401));
    }
    let mut req = format!("{}/ocpp/CP-1", site.server.ocpp)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("CP-1:{PASSWORD}"));
    req.headers_mut()
        .insert("Authorization", format!("Basic {creds}").parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 429);
            assert_eq!(
                resp.headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap()),
                Some("1")
            );
        }
        other => panic!("expected 429, got {:?}", other.map(|(_, r)| r.status())),
    }
    // The Retry-After second, in real time: the gate runs in the binary's
    // clock, and the right password must work once it has passed.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        site.connect("/ocpp/CP-1", v, Some(("CP-1", PASSWORD)))
            .await
            .is_ok(),
        "the right password works after the wait"
    );
}

#[tokio::test]
#[allow(non_snake_case)]
async fn TC_001_and_TC_B_01_boot_records_the_charger() {
    let site = Site::start().await;
    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    let answer = call(&mut ws, "boot-1", "BootNotification", boot16()).await;
    assert_eq!(answer[0], 3);
    assert_eq!(answer[1], "boot-1", "the CALL's id echoed");
    assert_eq!(answer[2]["status"], "Accepted");
    assert_eq!(answer[2]["interval"], 300);
    assert!(answer[2]["currentTime"].as_str().unwrap().ends_with('Z'));
    let cp0 = site.charger("CP-0").await;
    assert_eq!(
        (
            cp0["online"].as_bool(),
            cp0["ocppVersion"].as_str(),
            cp0["vendor"].as_str()
        ),
        (Some(true), Some("ocpp1.6"), Some("ACME"))
    );
    drop(ws);

    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp2.0.1"), None)
        .await
        .unwrap();
    let boot = json!({"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "Wallbox 2"}});
    let answer = call(&mut ws, "b2", "BootNotification", boot).await;
    assert_eq!(
        (answer[0].as_i64(), answer[2]["status"].as_str()),
        (Some(3), Some("Accepted"))
    );
    let hb = call(&mut ws, "h", "Heartbeat", json!({})).await;
    assert!(hb[2]["currentTime"].is_string(), "{hb}");
}

#[tokio::test]
async fn status_notifications_reach_the_station_and_unknown_connectors_are_acknowledged() {
    let site = Site::start().await;
    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    call(&mut ws, "1", "BootNotification", boot16()).await;
    for (id, connector, status) in [
        ("2", 1, "Available"),
        ("3", 2, "Charging"),
        ("4", 9, "Faulted"),
        ("5", 0, "Available"),
    ] {
        let answer = call(
            &mut ws,
            id,
            "StatusNotification",
            json!({"connectorId": connector, "errorCode": "NoError", "status": status}),
        )
        .await;
        assert_eq!(answer, json!([3, id, {}]));
    }
    let station = site.get(&format!("/v1/stations/{}", site.station)).await;
    let statuses: Vec<_> = station["data"]["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["AVAILABLE", "OCCUPIED"]);
    drop(ws);

    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp2.0.1"), None)
        .await
        .unwrap();
    let answer = call(&mut ws, "s", "StatusNotification",
        json!({"timestamp": "2030-01-01T10:00:00", "connectorStatus": "Unavailable", "evseId": 1, "connectorId": 1})).await;
    assert_eq!(
        answer,
        json!([3, "s", {}]),
        "a timestamp without offset is read as UTC"
    );
    let station = site.get(&format!("/v1/stations/{}", site.station)).await;
    assert_eq!(station["data"]["connectors"][0]["status"], "MAINTENANCE");
}

/// A connection reads into 1 KiB at a time (an idle charger holds that
/// buffer): a frame many times larger still arrives whole and is answered,
/// and one past the 64 KiB message limit closes the connection.
#[tokio::test]
async fn frames_larger_than_the_read_buffer_arrive_whole_and_oversized_ones_close() {
    let site = Site::start().await;
    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    let data = "d".repeat(40 * 1024);
    let a = call(
        &mut ws,
        "big",
        "DataTransfer",
        json!({"vendorId": "org.example", "data": data}),
    )
    .await;
    assert_eq!(
        (a[0].as_i64(), a[1].as_str()),
        (Some(3), Some("big")),
        "{a}"
    );
    assert!(a[2]["status"].is_string(), "{a}");
    let a = call(&mut ws, "after", "Heartbeat", json!({})).await;
    assert_eq!((a[0].as_i64(), a[1].as_str()), (Some(3), Some("after")));
    let oversized = "o".repeat(80 * 1024);
    ws.send(Message::text(
        json!([2, "huge", "DataTransfer", {"vendorId": "org.example", "data": oversized}])
            .to_string(),
    ))
    .await
    .unwrap();
    assert!(closed_by_server(&mut ws).await);
}

#[tokio::test]
async fn malformed_frames_get_the_right_callerror_per_version() {
    let site = Site::start().await;
    for (version, format, occurrence) in [
        (
            "ocpp1.6",
            "FormationViolation",
            "OccurenceConstraintViolation",
        ),
        (
            "ocpp2.0.1",
            "FormatViolation",
            "OccurrenceConstraintViolation",
        ),
    ] {
        let (mut ws, _) = site
            .connect("/ocpp/CP-0", Some(version), None)
            .await
            .unwrap();
        let a = call(&mut ws, "m1", "Heartbeat", json!([])).await;
        // A payload that is not an object cannot be sent through `call`; send raw.
        assert_eq!(a[0], 4);
        ws.send(Message::text(r#"[2,"m2","Heartbeat",null]"#))
            .await
            .unwrap();
        let a = next_answer(&mut ws).await;
        assert_eq!(
            (a[0].as_i64(), a[1].as_str(), a[2].as_str()),
            (Some(4), Some("m2"), Some(format)),
            "{version}"
        );
        let a = call(&mut ws, "m3", "Dance", json!({})).await;
        assert_eq!(
            (a[1].as_str(), a[2].as_str()),
            (Some("m3"), Some("NotImplemented"))
        );
        let a = call(&mut ws, "mv", "MeterValues", json!({"meterValue": []})).await;
        assert_eq!(
            a[2], occurrence,
            "{version}: MeterValues without its connector/EVSE: {a}"
        );
        let a = call(&mut ws, "m4", "BootNotification", json!({})).await;
        assert_eq!(a[2], occurrence, "{version}: {a}");
        // Garbage without an id gets no answer; the next CALL still works.
        ws.send(Message::text("not json")).await.unwrap();
        let a = call(&mut ws, "m5", "Heartbeat", json!({})).await;
        assert_eq!((a[0].as_i64(), a[1].as_str()), (Some(3), Some("m5")));
    }
}

#[tokio::test]
async fn the_newest_connection_wins() {
    let site = Site::start().await;
    let (mut first, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    let (mut second, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    // The first socket is closed by the server.
    assert!(closed_by_server(&mut first).await);
    let a = call(&mut second, "x", "Heartbeat", json!({})).await;
    assert_eq!(a[0], 3);
    // Time for the old connection's end to be handled: nothing to wait
    // for, the point is that it changes nothing.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cp0 = site.charger("CP-0").await;
    assert_eq!(
        cp0["online"], true,
        "the old socket's close did not mark the charger offline"
    );
}

#[tokio::test]
async fn operators_send_commands_and_get_the_chargers_answer() {
    let site = Site::start().await;
    let command = |action: &str, payload: Value| {
        let (admin, body) = (
            site.admin.clone(),
            json!({"action": action, "payload": payload}),
        );
        async move { admin.post("/v1/admin/chargers/CP-0/commands", body).await }
    };
    let (status, body) = command("Reset", json!({"type": "Soft"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("CHARGER_OFFLINE"))
    );

    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    call(&mut ws, "1", "BootNotification", boot16()).await;
    let pending = tokio::spawn(command("Reset", json!({"type": "Soft"})));
    let asked = next_frame(&mut ws).await;
    assert_eq!(
        (asked[0].as_i64(), asked[2].as_str(), &asked[3]),
        (Some(2), Some("Reset"), &json!({"type": "Soft"}))
    );
    // The charger answers; a CALL of its own first is still served meanwhile.
    let hb = call(&mut ws, "hb", "Heartbeat", json!({})).await;
    assert_eq!(hb[1], "hb");
    ws.send(Message::text(
        json!([3, asked[1], {"status": "Accepted"}]).to_string(),
    ))
    .await
    .unwrap();
    let (status, body) = pending.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["response"], json!({"status": "Accepted"}));

    // Not valid for 1.6, or not a command at all: refused before sending.
    let (status, body) = command("Reset", json!({"type": "Sideways"})).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("payload")),
        "{body}"
    );
    let (status, _) = command("GetVariables", json!({"getVariableData": []})).await;
    assert_eq!(status, 400);

    // A CALLERROR is passed on; silence times out.
    let pending = tokio::spawn(command("UnlockConnector", json!({"connectorId": 1})));
    let asked = next_frame(&mut ws).await;
    ws.send(Message::text(
        json!([4, asked[1], "NotSupported", "no", {}]).to_string(),
    ))
    .await
    .unwrap();
    let (status, body) = pending.await.unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("CHARGER_ERROR")),
        "{body}"
    );
    let pending = tokio::spawn(command(
        "TriggerMessage",
        json!({"requestedMessage": "Heartbeat"}),
    ));
    let _ignored = next_frame(&mut ws).await;
    let (status, body) = pending.await.unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (504, Some("CHARGER_TIMEOUT")),
        "{body}"
    );

    let (status, _) = site
        .admin
        .post(
            "/v1/admin/chargers/NOBODY/commands",
            json!({"action": "Reset", "payload": {"type": "Soft"}}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_charger_away_past_the_grace_goes_offline_and_is_asked_to_resynchronise() {
    let site = Site::start().await;
    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    call(&mut ws, "1", "BootNotification", boot16()).await;
    call(
        &mut ws,
        "2",
        "StatusNotification",
        json!({"connectorId": 1, "errorCode": "NoError", "status": "Charging"}),
    )
    .await;
    drop(ws);
    let path = format!("/v1/stations/{}", site.station);
    let c = common::eventually(
        "OFFLINE after the grace",
        Duration::from_secs(10),
        async || {
            let c = site.get(&path).await["data"]["connectors"][0].clone();
            if c["status"] == "OFFLINE" {
                Ok(c)
            } else {
                Err(c)
            }
        },
    )
    .await;
    assert_eq!(
        c["lastKnownStatus"], "OCCUPIED",
        "the last status is kept for display"
    );
    // Back: evgate asks for the statuses again.
    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    let asked = next_frame(&mut ws).await;
    assert_eq!(
        (asked[0].as_i64(), asked[2].as_str()),
        (Some(2), Some("TriggerMessage"))
    );
    assert_eq!(asked[3], json!({"requestedMessage": "StatusNotification"}));
    ws.send(Message::text(
        json!([3, asked[1], {"status": "Accepted"}]).to_string(),
    ))
    .await
    .unwrap();
    call(
        &mut ws,
        "3",
        "StatusNotification",
        json!({"connectorId": 1, "errorCode": "NoError", "status": "Available"}),
    )
    .await;
    let station = site.get(&path).await;
    let c = &station["data"]["connectors"][0];
    assert_eq!(
        (c["status"].as_str(), c.get("lastKnownStatus")),
        (Some("AVAILABLE"), None)
    );
}

#[tokio::test]
async fn pipelined_calls_are_answered_in_order_and_garbage_closes_the_socket() {
    let site = Site::start().await;
    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    // Three CALLs without waiting for answers.
    for (id, action, payload) in [
        ("p1", "BootNotification", boot16()),
        ("p2", "Heartbeat", json!({})),
        (
            "p3",
            "StatusNotification",
            json!({"connectorId": 1, "errorCode": "NoError", "status": "Available"}),
        ),
    ] {
        ws.send(Message::text(json!([2, id, action, payload]).to_string()))
            .await
            .unwrap();
    }
    let ids: Vec<Value> = vec![
        next_answer(&mut ws).await[1].clone(),
        next_answer(&mut ws).await[1].clone(),
        next_answer(&mut ws).await[1].clone(),
    ];
    assert_eq!(ids, [json!("p1"), json!("p2"), json!("p3")]);
    // A charger that keeps sending garbage is disconnected.
    for _ in 0..20 {
        if ws.send(Message::text("garbage")).await.is_err() {
            break;
        }
    }
    assert!(closed_by_server(&mut ws).await);
}

#[tokio::test]
#[allow(non_snake_case)]
async fn TC_B_02_TC_B_30_TC_B_31_a_pending_station_may_only_boot_and_answer_what_we_trigger() {
    let site = Site::start_with(&[("OCPP_DEFAULT_ADMISSION", "pending")]).await;
    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp2.0.1"), None)
        .await
        .unwrap();
    let boot =
        json!({"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "W2"}});
    let answer = call(&mut ws, "b", "BootNotification", boot.clone()).await;
    // Told to boot again after the boot retry interval (30 s), not the
    // heartbeat interval (issue #22: it waited 300 s).
    assert_eq!(
        (answer[2]["status"].as_str(), answer[2]["interval"].as_u64()),
        (Some("Pending"), Some(30))
    );
    let refused = call(&mut ws, "h", "Heartbeat", json!({})).await;
    assert_eq!(
        (refused[0].as_i64(), refused[2].as_str()),
        (Some(4), Some("SecurityError"))
    );
    // The operator asks for a status: that one message is let through.
    let trigger = {
        let admin = site.admin.clone();
        let body = json!({"action": "TriggerMessage", "payload": {"requestedMessage": "StatusNotification"}});
        tokio::spawn(async move { admin.post("/v1/admin/chargers/CP-0/commands", body).await.0 })
    };
    let asked = next_frame(&mut ws).await;
    assert_eq!(asked[2], "TriggerMessage");
    ws.send(Message::text(
        json!([3, asked[1], {"status": "Accepted"}]).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(trigger.await.unwrap(), 200);
    let status = json!({"timestamp": "2030-01-01T10:00:00Z", "connectorStatus": "Available", "evseId": 1, "connectorId": 1});
    assert_eq!(
        call(&mut ws, "s1", "StatusNotification", status.clone()).await[0],
        3,
        "triggered: allowed"
    );
    assert_eq!(
        call(&mut ws, "s2", "StatusNotification", status).await[2],
        "SecurityError",
        "only once"
    );
}

/// Operator controls: a charger held back (pending) is asked to boot again
/// at once and answered Pending, may then send nothing but its boot, keeps
/// that standing across reconnects, and is admitted the same way.
#[tokio::test]
async fn an_operator_holds_a_charger_back_and_admits_it() {
    let site = Site::start().await;
    let admission = |status: Value| {
        let admin = site.admin.clone();
        let body = json!({ "status": status });
        async move {
            admin
                .send("PUT", "/v1/admin/chargers/CP-0/admission", Some(body))
                .await
        }
    };
    let (status, body) = admission(json!("maybe")).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("status"))
    );
    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    let booted = call(&mut ws, "1", "BootNotification", boot16()).await;
    assert_eq!(booted[2]["status"], "Accepted");

    // Held back: the charger is asked to boot again, and is told Pending.
    let pending = tokio::spawn(admission(json!("pending")));
    let asked = next_frame(&mut ws).await;
    assert_eq!(asked[2], "TriggerMessage");
    assert_eq!(asked[3], json!({"requestedMessage": "BootNotification"}));
    ws.send(Message::text(
        json!([3, asked[1], {"status": "Accepted"}]).to_string(),
    ))
    .await
    .unwrap();
    let (status, body) = pending.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["data"]["admission"].as_str(),
            body["data"]["bootTriggered"].as_bool()
        ),
        (Some("PENDING"), Some(true))
    );
    assert_eq!(
        call(&mut ws, "2", "BootNotification", boot16()).await[2]["status"],
        "Pending"
    );
    let status_frame = json!({"connectorId": 1, "errorCode": "NoError", "status": "Available"});
    let refused = call(&mut ws, "3", "StatusNotification", status_frame.clone()).await;
    assert_eq!(refused[2], "SecurityError", "{refused}");
    assert_eq!(site.charger("CP-0").await["admission"], "PENDING");

    // A new connection starts where the operator left it.
    drop(ws);
    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    // (Not a StatusNotification: evgate asks a returning charger for its
    // statuses, and lets that one through.)
    let refused = call(&mut ws, "4", "Authorize", json!({"idTag": "ANY"})).await;
    assert_eq!(refused[2], "SecurityError", "{refused}");

    // Admitted: asked to boot again, Accepted, and everything flows.
    let accepted = tokio::spawn(admission(json!("accepted")));
    let asked = next_frame(&mut ws).await;
    assert_eq!(asked[2], "TriggerMessage");
    ws.send(Message::text(
        json!([3, asked[1], {"status": "Accepted"}]).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(accepted.await.unwrap().0, 200);
    assert_eq!(
        call(&mut ws, "5", "BootNotification", boot16()).await[2]["status"],
        "Accepted"
    );
    let answered = call(&mut ws, "6", "StatusNotification", status_frame).await;
    assert_eq!(answered[0], 3, "{answered}");
    // Back to the default policy. The charger does not answer the trigger
    // this time: the operator is answered at once all the same (issue #22:
    // the call used to wait for the charger), and told it was asked.
    let started = std::time::Instant::now();
    let (status, body) = admission(Value::Null).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(body["data"]["admission"], Value::Null);
    assert_eq!(body["data"]["bootTriggered"], true);
    assert_eq!(next_frame(&mut ws).await[2], "TriggerMessage");
    let (status, _) = site
        .admin
        .send(
            "PUT",
            "/v1/admin/chargers/NOPE/admission",
            Some(json!({"status": "accepted"})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn shutdown_closes_charger_connections_cleanly() {
    let site = Site::start().await;
    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    call(&mut ws, "1", "BootNotification", boot16()).await;
    let Site { server, _dir, .. } = site;
    let stopping = tokio::task::spawn_blocking(move || server.terminate());
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) => return true,
                None | Some(Err(_)) => return false,
                _ => {}
            }
        }
    })
    .await
    .unwrap();
    assert!(closed, "a Close frame, not a dropped socket");
    assert!(stopping.await.unwrap().success());
}

/// `OCPP_AUTO_REGISTER=true`: an identity nobody registered is let in,
/// listed as unassigned with what it said at boot, answered Pending and
/// refused anything but booting; once an operator creates it at a station,
/// its session is closed and it comes back as that charger, Accepted.
#[tokio::test]
async fn an_unknown_charger_is_held_unassigned_until_an_operator_places_it() {
    let site = Site::start_with(&[("OCPP_AUTO_REGISTER", "true")]).await;
    let (mut ws, protocol) = site
        .connect("/ocpp/NEW-42", Some("ocpp1.6"), None)
        .await
        .expect("let in");
    assert_eq!(protocol.as_deref(), Some("ocpp1.6"));
    let boot = call(&mut ws, "1", "BootNotification", boot16()).await;
    assert_eq!(boot[2]["status"], "Pending", "{boot}");
    let status = json!({"connectorId": 1, "errorCode": "NoError", "status": "Available"});
    let refused = call(&mut ws, "2", "StatusNotification", status.clone()).await;
    assert_eq!(
        (refused[0].as_u64(), refused[2].as_str()),
        (Some(4), Some("SecurityError"))
    );

    let listed = site.get("/v1/admin/chargers/unassigned").await;
    assert_eq!(listed["data"]["total"], 1, "{listed}");
    let entry = &listed["data"]["chargers"][0];
    assert_eq!(
        (
            entry["chargePointId"].as_str(),
            entry["vendor"].as_str(),
            entry["ocppVersion"].as_str()
        ),
        (Some("NEW-42"), Some("ACME"), Some("ocpp1.6"))
    );

    site.admin.charger(&site.station, "NEW-42", 0, None).await;
    assert!(
        closed_by_server(&mut ws).await,
        "the Pending session is closed"
    );
    let listed = site.get("/v1/admin/chargers/unassigned").await;
    assert_eq!(listed["data"]["total"], 0, "{listed}");
    let (mut ws, _) = site
        .connect("/ocpp/NEW-42", Some("ocpp1.6"), None)
        .await
        .expect("back as a registered charger");
    let boot = call(&mut ws, "3", "BootNotification", boot16()).await;
    assert_eq!(boot[2]["status"], "Accepted", "{boot}");
    assert_eq!(site.charger("NEW-42").await["vendor"], "ACME");

    // Without the setting an unknown identity is still refused.
    let plain = Site::start().await;
    assert_eq!(
        plain
            .connect("/ocpp/NEW-42", Some("ocpp1.6"), None)
            .await
            .err(),
        Some(404)
    );
}

/// Log lines carry the fields an operator filters on (README "Logs"):
/// `charger.id`, `ocpp.action` and `ocpp.unique_id` on what a charger's call
/// caused; `http.route` (the template) and `request.id` on requests.
#[tokio::test]
async fn logs_carry_the_charger_call_and_route_fields() {
    let site = Site::start().await;
    let (mut ws, _) = site
        .connect("/ocpp/CP-0", Some("ocpp1.6"), None)
        .await
        .unwrap();
    call(&mut ws, "boot-log", "BootNotification", boot16()).await;
    let status = json!({"connectorId": 0, "errorCode": "NoError", "status": "Available"});
    call(&mut ws, "status-log-7", "StatusNotification", status).await;
    let station = site
        .admin
        .get(&format!("/v1/stations/{}", site.station))
        .await;
    assert_eq!(station["success"], true);
    let found = common::eventually("the log lines", Duration::from_secs(10), async || {
        let logs = site.server.logs();
        let ocpp = logs
            .iter()
            .find(|l| l["span"]["ocpp.unique_id"] == "status-log-7")
            .cloned();
        let http = logs
            .iter()
            .find(|l| l["span"]["http.route"] == "/v1/stations/{id}")
            .cloned();
        match (ocpp, http) {
            (Some(o), Some(h)) => Ok((o, h)),
            _ => Err(format!("{} lines, not both yet", logs.len())),
        }
    })
    .await;
    let (ocpp, http) = found;
    assert_eq!(ocpp["span"]["charger.id"], "CP-0", "{ocpp}");
    assert_eq!(ocpp["span"]["ocpp.action"], "StatusNotification", "{ocpp}");
    assert_eq!(
        http["span"]["http.path"],
        format!("/v1/stations/{}", site.station)
    );
    assert!(
        http["span"]["request.id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{http}"
    );
}
