//! The bad-input matrix, against the real binary (issue #15): malformed,
//! mistyped, oversized and hostile requests on every edge — REST, vendor
//! webhooks, charger handshakes, OCPP frames of both versions, Socket.IO —
//! each must get a 4xx with the error envelope (or the right CALLERROR),
//! never a 5xx; afterwards the process is alive, a control request is still
//! served, and the log has no panic and no error line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::process::{Api, Running, token};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Site {
    server: Running,
    admin: Api,
    user: String,
    station: String,
    connector: String,
    _dir: tempfile::TempDir,
}

async fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    // Limits off: the matrix sends more than a client would in a second.
    let env = [
        ("RATE_LIMIT_HTTP_PER_SOURCE", "0"),
        ("RATE_LIMIT_OCPP_MESSAGES_PER_CHARGER", "0"),
    ];
    let server = Running::start(dir.path(), &env);
    let admin = Api::new(
        &server,
        token(dir.path(), &[], &["--user", "1", "--role", "admin"]),
    );
    let user = token(dir.path(), &[], &["--user", "42"]);
    let station = admin.station().await;
    admin.charger(&station, "CP-16", 0, None).await;
    admin.charger(&station, "CP-201", 0, None).await;
    admin
        .charger(&station, "CP-P1", 1, Some("a-long-enough-secret"))
        .await;
    let connector = admin.connector(&station, "CP-16", 1).await;
    Site {
        server,
        admin,
        user,
        station,
        connector,
        _dir: dir,
    }
}

/// One request: (method, path, bearer, content type, body).
type Case = (&'static str, String, Option<String>, &'static str, Vec<u8>);

fn rest_cases(s: &Site) -> Vec<Case> {
    let admin = Some(s.admin.token.clone());
    let user = Some(s.user.clone());
    let st = &s.station;
    let json_ct = "application/json";
    let body = |v: &str| v.as_bytes().to_vec();
    let mut cases = vec![
        ("GET", "/v1/stations?lat=abc&lng=1".into(), None, "", vec![]),
        ("GET", "/v1/stations?lat=1e308&lng=1e308&radius=-5".into(), None, "", vec![]),
        ("GET", "/v1/stations?lat=NaN&lng=inf".into(), None, "", vec![]),
        ("GET", "/v1/stations?page=-1&limit=99999999999999999999".into(), None, "", vec![]),
        ("GET", "/v1/stations/not-a-uuid".into(), None, "", vec![]),
        ("GET", "/v1/stations/%00%ff".into(), None, "", vec![]),
        ("GET", format!("/v1/stations/{st}/availability?startDate=yesterday&endDate=2"), user.clone(), "", vec![]),
        ("GET", format!("/v1/stations/{st}/availability?startDate=9999-12-31T00:00:00Z&endDate=10000-01-01T00:00:00Z"), user.clone(), "", vec![]),
        ("GET", format!("/v1/stations/{st}/availability?slotDurationMinutes=0"), user.clone(), "", vec![]),
        ("POST", "/v1/bookings/holds".into(), user.clone(), json_ct, body("{not json")),
        ("POST", "/v1/bookings/holds".into(), user.clone(), json_ct, body("[]")),
        ("POST", "/v1/bookings/holds".into(), user.clone(), json_ct, body("null")),
        ("POST", "/v1/bookings/holds".into(), user.clone(), json_ct, vec![0xff, 0xfe, 0x00]),
        ("POST", "/v1/bookings/holds".into(), user.clone(), json_ct,
            json!({"stationId": st, "connectorId": s.connector, "startTs": "0000-00-00", "endTs": 5}).to_string().into_bytes()),
        ("POST", "/v1/bookings/holds".into(), user.clone(), json_ct,
            json!({"stationId": st, "connectorId": s.connector, "startTs": "+275760-09-13T00:00:00Z", "endTs": "+275760-09-13T01:00:00Z"}).to_string().into_bytes()),
        ("POST", "/v1/bookings/holds".into(), user.clone(), "text/plain", body("{}")),
        ("POST", "/v1/bookings/holds".into(), Some("garbage".into()), json_ct, body("{}")),
        ("POST", "/v1/bookings/holds".into(), Some("eyJhbGciOiJub25lIn0.eyJzdWIiOjF9.".into()), json_ct, body("{}")),
        ("POST", "/v1/bookings/confirm".into(), user.clone(), json_ct, json!({"holdToken": "x".repeat(5000), "paymentId": ""}).to_string().into_bytes()),
        ("POST", "/v1/bookings/not-a-uuid/cancel".into(), user.clone(), json_ct, body("{}")),
        ("GET", "/v1/bookings?status=EVERYTHING&limit=-1".into(), user.clone(), "", vec![]),
        ("POST", "/v1/admin/stations".into(), admin.clone(), json_ct,
            json!({"name": "x", "latitude": 1e308, "longitude": -1e308}).to_string().into_bytes()),
        ("POST", "/v1/admin/stations".into(), admin.clone(), json_ct,
            json!({"name": "\u{0000}".repeat(300), "latitude": "north", "longitude": null}).to_string().into_bytes()),
        ("POST", "/v1/admin/stations".into(), user.clone(), json_ct, body("{}")),
        ("POST", format!("/v1/admin/stations/{st}/chargers"), admin.clone(), json_ct,
            json!({"chargePointId": "../../etc/passwd", "securityProfile": 9}).to_string().into_bytes()),
        ("POST", format!("/v1/admin/stations/{st}/chargers"), admin.clone(), json_ct,
            json!({"chargePointId": "x".repeat(1000), "securityProfile": 0}).to_string().into_bytes()),
        ("POST", format!("/v1/admin/stations/{st}/connectors"), admin.clone(), json_ct,
            json!({"chargePointId": "CP-16", "connectorId": -1, "connectorType": "CCS", "powerKw": 1e308}).to_string().into_bytes()),
        ("POST", "/v1/admin/chargers/CP-16/commands".into(), admin.clone(), json_ct,
            json!({"action": "Reset", "payload": {"type": 5}}).to_string().into_bytes()),
        ("POST", "/v1/admin/chargers/CP-16/commands".into(), admin.clone(), json_ct,
            json!({"action": "NoSuchAction", "payload": []}).to_string().into_bytes()),
        ("PUT", "/v1/admin/chargers/CP-16/admission".into(), admin.clone(), json_ct, body(r#"{"status":"maybe"}"#)),
        ("PUT", "/v1/admin/chargers/CP-16/admission".into(), admin.clone(), json_ct, body(r#"{"admission":"accepted"}"#)),
        ("GET", "/v1/admin/chargers/CP-16/messages?limit=-5&action=%ff".into(), admin.clone(), "", vec![]),
        ("POST", "/v1/admin/id-tags".into(), admin.clone(), json_ct, json!({"idTag": "x".repeat(100)}).to_string().into_bytes()),
        ("PUT", "/v1/admin/connectors/not-a-uuid/vendor".into(), admin.clone(), json_ct, body("{}")),
        ("POST", "/v1/admin/webhooks/not-a-uuid/retry".into(), admin.clone(), json_ct, body("{}")),
        ("GET", "/v1/admin/audit?limit=abc&offset=-1".into(), admin.clone(), "", vec![]),
        ("DELETE", "/v1/stations".into(), None, "", vec![]),
        ("GET", "/nothing/here".into(), None, "", vec![]),
        ("GET", format!("/v1/stations?q={}", "a".repeat(9_000)), None, "", vec![]),
        ("POST", "/v1/admin/stations".into(), admin.clone(), json_ct, vec![b' '; 70_000]),
    ];
    // Vendor webhooks: unsigned, forged, malformed, poisoned numbers.
    for kind in [
        "connector-status",
        "session-start",
        "meter-update",
        "session-end",
        "nope",
    ] {
        cases.push((
            "POST",
            format!("/v1/vendor/webhooks/{kind}"),
            None,
            json_ct,
            body("{\"meterReading\": 1e308}"),
        ));
    }
    cases.push((
        "POST",
        "/v1/vendor/webhooks/connector-status".into(),
        None,
        "text/xml",
        body("<x/>"),
    ));
    cases
}

#[tokio::test]
async fn no_bad_input_gets_a_5xx_a_panic_or_an_error_line() {
    let s = site().await;
    let http = reqwest::Client::new();
    for (method, path, bearer, content_type, body) in rest_cases(&s) {
        let mut req = http.request(method.parse().unwrap(), s.server.url(&path));
        if let Some(t) = &bearer {
            req = req.bearer_auth(t);
        }
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        let resp = req.body(body).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!(
            (400..500).contains(&status),
            "{method} {path}: {status} {text}"
        );
        let envelope: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not the envelope: {text}"));
        assert_eq!(envelope["success"], false, "{method} {path}: {text}");
        assert!(
            envelope["error"]["code"]
                .as_str()
                .is_some_and(|c| !c.is_empty()),
            "{method} {path}: {text}"
        );
    }

    // Charger handshakes that are not what they should be.
    let ocpp = s.server.ocpp.trim_start_matches("ws://").to_owned();
    let heads: [&[u8]; 7] = [
        b"GARBAGE\r\n\r\n",
        b"GET /ocpp/CP-16 HTTP/1.1\r\n\r\n",
        b"GET /ocpp/CP-16 HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Protocol: ocpp9\r\n\r\n",
        b"GET /ocpp/\xff\xfe HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n",
        b"GET /ocpp/CP-P1 HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Protocol: ocpp1.6\r\nAuthorization: Basic !!!notbase64\r\n\r\n",
        b"GET /ocpp/CP-16/extra/segments HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ];
    let mut huge = b"GET /ocpp/CP-16 HTTP/1.1\r\nX-Filler: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 20_000));
    // At once: a head that never ends waits out the 10 s handshake timeout.
    let knocks = heads.iter().map(|h| h.to_vec()).chain([huge]).map(|head| {
        let ocpp = ocpp.clone();
        tokio::spawn(async move {
            let mut stream = TcpStream::connect(&ocpp).await.unwrap();
            let _ = stream.write_all(&head).await;
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(12), stream.read_to_end(&mut answer))
                .await;
            (head, String::from_utf8_lossy(&answer).into_owned())
        })
    });
    for knock in knocks.collect::<Vec<_>>() {
        let (head, answer) = knock.await.unwrap();
        let status: u16 = answer.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        let head = String::from_utf8_lossy(&head[..head.len().min(120)]).into_owned();
        assert!(
            answer.is_empty() || (400..500).contains(&status),
            "{head:?}: {answer}"
        );
    }

    // OCPP frames, both versions: a CALL whose id can be read is answered
    // with a CALLERROR naming that id; nothing else is answered.
    for (identity, protocol) in [("CP-16", "ocpp1.6"), ("CP-201", "ocpp2.0.1")] {
        let mut request = format!("{}/ocpp/{identity}", s.server.ocpp)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let deep = format!(
            "[2,\"deep\",\"DataTransfer\",{}{}]",
            "[".repeat(5_000),
            "]".repeat(5_000)
        );
        let calls: Vec<(String, Option<&str>)> = vec![
            (r#"[2,"u1","NoSuchAction",{}]"#.into(), Some("u1")),
            (r#"[2,"u2","BootNotification","not an object"]"#.into(), Some("u2")),
            (r#"[2,"u3","BootNotification",{"chargePointVendor":5}]"#.into(), Some("u3")),
            (r#"[2,"u4","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2024-05-01T12:00:0é","sampledValue":[{"value":"1e308"}]}]}]"#.into(), Some("u4")),
            (r#"[2,"u5","StatusNotification",{"connectorId":99999999999,"errorCode":"NoError","status":"Available"}]"#.into(), Some("u5")),
            (r#"[2,"u6","TransactionEvent",{"eventType":"Started","timestamp":"x","triggerReason":"y","seqNo":-1,"transactionInfo":{}}]"#.into(), Some("u6")),
            (r#"[2,"u7","Authorize",{"idTag":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]"#.into(), Some("u7")),
            (deep, None),
            ("not json at all".into(), None),
            ("[]".into(), None),
            (r#"[3,"nobody-asked",{}]"#.into(), None),
        ];
        let mut expected = Vec::new();
        for (frame, id) in &calls {
            ws.send(Message::text(frame.clone())).await.unwrap();
            if let Some(id) = id {
                expected.push(*id);
            }
        }
        // A heartbeat last: still answered after all of that.
        ws.send(Message::text(r#"[2,"alive","Heartbeat",{}]"#))
            .await
            .unwrap();
        let mut errors = Vec::new();
        let alive = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(message)) = ws.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let frame: Value = serde_json::from_str(&text).unwrap();
                match (frame[0].as_u64(), frame[1].as_str()) {
                    (Some(3), Some("alive")) => return true,
                    (Some(4), Some(id)) => errors.push(id.to_owned()),
                    // Handlers may accept some of the odd but readable ones.
                    (Some(3), Some(_)) => {}
                    _ => panic!("{protocol}: unexpected {frame}"),
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        assert!(
            alive,
            "{protocol}: the heartbeat after the bad frames was answered"
        );
        for id in ["u1", "u2"] {
            assert!(
                errors.iter().any(|e| e == id),
                "{protocol}: {id} got a CALLERROR: {errors:?}"
            );
        }
    }

    // Socket.IO: a polling handshake with a bad token, and garbage.
    for path in [
        "/socket.io/?EIO=4&transport=polling&t=x&token=garbage",
        "/socket.io/?EIO=99",
        "/socket.io/?EIO=4&transport=websocket&sid=nope",
    ] {
        let status = http
            .get(s.server.url(path))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert!(status < 500, "{path}: {status}");
    }

    // Alive, still serving, and nothing panicked or logged an error.
    assert_eq!(
        reqwest::get(s.server.url("/health"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        s.admin.get(&format!("/v1/stations/{}", s.station)).await["success"],
        true
    );
    let bad: Vec<Value> = s
        .server
        .logs()
        .into_iter()
        .filter(|l| l["level"] == "ERROR" || l.to_string().contains("panicked"))
        .collect();
    assert!(bad.is_empty(), "error or panic lines: {bad:#?}");
}
