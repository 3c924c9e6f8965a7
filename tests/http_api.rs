//! The HTTP API through the real router (no sockets): auth, provisioning,
//! station reads, and every kind of bad input getting a 4xx envelope.
//!
//! Over 600 lines on purpose: one case per rule of the API, all over
//! `TestApp::send`; most of the length is the table of bad inputs, which
//! reads best whole (and the README's recipe sends new endpoints here).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use serde_json::{Value, json};

/// Asserts an error envelope with this status and code; returns the error.
fn assert_error(resp: &(u16, Value), status: u16, code: &str) -> Value {
    assert_eq!(resp.0, status, "{resp:?}");
    assert_eq!(resp.1["success"], json!(false), "{resp:?}");
    assert_eq!(resp.1["error"]["code"], json!(code), "{resp:?}");
    assert!(
        resp.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    resp.1["error"].clone()
}

/// A station with a charger `CP-1` (profile 1) and two connectors; returns
/// the station id.
async fn provisioned_site(app: &TestApp) -> String {
    let admin = app.admin();
    let (s, station) = app
        .send("POST", "/v1/admin/stations", Some(&admin), Some(r#"{"name":"Gachibowli Hub","latitude":17.4474,"longitude":78.3762,"address":"Road 2"}"#))
        .await;
    assert_eq!(s, 201, "{station}");
    let id = station["data"]["id"].as_str().unwrap().to_owned();
    let (s, charger) = app
        .send(
            "POST",
            &format!("/v1/admin/stations/{id}/chargers"),
            Some(&admin),
            Some(
                r#"{"chargePointId":"CP-1","securityProfile":1,"password":"a-long-enough-secret"}"#,
            ),
        )
        .await;
    assert_eq!(s, 201, "{charger}");
    for (n, kw) in [(1, 150.0), (2, 7.4)] {
        let body =
            json!({"chargePointId":"CP-1","connectorId":n,"connectorType":"CCS","powerKw":kw})
                .to_string();
        let (s, c) = app
            .send(
                "POST",
                &format!("/v1/admin/stations/{id}/connectors"),
                Some(&admin),
                Some(&body),
            )
            .await;
        assert_eq!(s, 201, "{c}");
    }
    id
}

#[tokio::test]
async fn health_and_ready_need_no_token() {
    let app = TestApp::new().await;
    let (s, body) = app.send("GET", "/health", None, None).await;
    assert_eq!(
        (s, &body["success"], &body["data"]["status"]),
        (200, &json!(true), &json!("ok"))
    );
    let (s, body) = app.send("GET", "/ready", None, None).await;
    assert_eq!((s, &body["data"]["store"]), (200, &json!("ok")));
}

#[tokio::test]
async fn every_api_endpoint_needs_a_valid_token() {
    let app = TestApp::new().await;
    for (method, path) in [
        ("GET", "/v1/stations"),
        ("GET", "/v1/stations/7f1c7a5e-4a4f-4f0e-8d8e-1b2c3d4e5f60"),
        ("POST", "/v1/admin/stations"),
        ("GET", "/v1/admin/chargers"),
    ] {
        assert_error(
            &app.send(method, path, None, None).await,
            401,
            "UNAUTHORIZED",
        );
        assert_error(
            &app.send(method, path, Some("garbage"), None).await,
            401,
            "UNAUTHORIZED",
        );
    }
    // Expired.
    let old = app
        .keys
        .issue(
            42,
            evgate::config::Role::User,
            std::time::Duration::from_secs(1),
            chrono::Utc::now().timestamp() - 3600,
        )
        .unwrap();
    let err = assert_error(
        &app.send("GET", "/v1/stations", Some(&old), None).await,
        401,
        "UNAUTHORIZED",
    );
    assert!(err["message"].as_str().unwrap().contains("expired"));
    // Signed with another secret.
    let other = evgate_api::jwt::JwtKeys::hs256(b"some-other-secret-some-other-secret");
    let forged = other
        .issue(
            1,
            evgate::config::Role::Admin,
            std::time::Duration::from_secs(60),
            chrono::Utc::now().timestamp(),
        )
        .unwrap();
    assert_error(
        &app.send("GET", "/v1/admin/chargers", Some(&forged), None)
            .await,
        401,
        "UNAUTHORIZED",
    );
    // Not a bearer scheme.
    let req = axum::http::Request::builder()
        .uri("/v1/stations")
        .header("authorization", format!("Basic {}", app.user()))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_error(&app.raw(req).await, 401, "UNAUTHORIZED");
}

#[tokio::test]
async fn users_are_forbidden_from_admin_endpoints() {
    let app = TestApp::new().await;
    let user = app.user();
    let body = r#"{"name":"X","latitude":1.5,"longitude":2.5}"#;
    assert_error(
        &app.send("POST", "/v1/admin/stations", Some(&user), Some(body))
            .await,
        403,
        "FORBIDDEN",
    );
    assert_error(
        &app.send("GET", "/v1/admin/chargers", Some(&user), None)
            .await,
        403,
        "FORBIDDEN",
    );
    let (s, _) = app.send("GET", "/v1/stations", Some(&user), None).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_provisioned_station_reads_back_in_the_seed_shape() {
    let app = TestApp::new().await;
    let id = provisioned_site(&app).await;
    let (s, body) = app
        .send(
            "GET",
            &format!("/v1/stations/{id}"),
            Some(&app.user()),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let data = &body["data"];
    assert_eq!(data["name"], "Gachibowli Hub");
    assert_eq!(data["latitude"], json!(17.4474));
    assert_eq!(data["longitude"], json!(78.3762));
    let connectors = data["connectors"].as_array().unwrap();
    assert_eq!(connectors.len(), 2);
    let c = &connectors[1];
    for key in [
        "id",
        "connectorNumber",
        "connectorType",
        "powerKw",
        "status",
        "updatedAt",
    ] {
        assert!(c.get(key).is_some(), "missing {key} in {c}");
    }
    assert_eq!(c["connectorNumber"], "2");
    assert_eq!(c["powerKw"], json!(7.4));
    // No status reported yet: OFFLINE, with when that was recorded.
    assert_eq!(c["status"], "OFFLINE");
    let updated = c["updatedAt"].as_str().unwrap();
    assert!(
        updated.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(updated).is_ok(),
        "{updated}"
    );
    assert!(uuid::Uuid::parse_str(c["id"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn chargers_list_shows_state_but_never_the_password() {
    let app = TestApp::new().await;
    provisioned_site(&app).await;
    let (s, body) = app
        .send("GET", "/v1/admin/chargers", Some(&app.admin()), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["data"]["total"], 1);
    let charger = &body["data"]["chargers"][0];
    assert_eq!(charger["chargePointId"], "CP-1");
    assert_eq!(charger["securityProfile"], 1);
    assert_eq!(charger["online"], false);
    assert_eq!(charger["ocppVersion"], Value::Null);
    assert_eq!(charger["lastSeenAt"], Value::Null);
    let text = body.to_string();
    assert!(
        !text.contains("a-long-enough-secret") && !text.contains("argon2"),
        "{text}"
    );
}

#[tokio::test]
async fn duplicates_are_conflicts() {
    let app = TestApp::new().await;
    let id = provisioned_site(&app).await;
    let admin = app.admin();
    let again = app
        .send(
            "POST",
            &format!("/v1/admin/stations/{id}/chargers"),
            Some(&admin),
            Some(r#"{"chargePointId":"CP-1","securityProfile":0}"#),
        )
        .await;
    assert_error(&again, 409, "CONFLICT");
    let same_connector =
        json!({"chargePointId":"CP-1","connectorId":2,"connectorType":"Type2","powerKw":22.0})
            .to_string();
    let again = app
        .send(
            "POST",
            &format!("/v1/admin/stations/{id}/connectors"),
            Some(&admin),
            Some(&same_connector),
        )
        .await;
    assert_error(&again, 409, "CONFLICT");
    // evseId defaults to connectorId; a different EVSE with connector 1 is new.
    let evse3 = json!({"chargePointId":"CP-1","evseId":3,"connectorId":1,"connectorType":"Type2","powerKw":22.0}).to_string();
    let (s, body) = app
        .send(
            "POST",
            &format!("/v1/admin/stations/{id}/connectors"),
            Some(&admin),
            Some(&evse3),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(
        (
            body["data"]["evseId"].as_i64(),
            body["data"]["ocppConnectorId"].as_i64()
        ),
        (Some(3), Some(1))
    );
    assert_eq!(body["data"]["connectorNumber"], "3");
}

#[tokio::test]
async fn stations_near_a_point_come_nearest_first() {
    let app = TestApp::new().await;
    let admin = app.admin();
    for (name, lat, lng) in [
        ("Far", 17.60, 78.50),
        ("Near", 17.445, 78.377),
        ("Other city", 12.97, 77.59),
    ] {
        let body = json!({"name": name, "latitude": lat, "longitude": lng}).to_string();
        assert_eq!(
            app.send("POST", "/v1/admin/stations", Some(&admin), Some(&body))
                .await
                .0,
            201
        );
    }
    let (s, body) = app
        .send(
            "GET",
            "/v1/stations?lat=17.4474&lng=78.3762&radiusKm=30",
            Some(&app.user()),
            None,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let names: Vec<_> = body["data"]["stations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Near", "Far"]);
    assert_eq!(body["data"]["total"], 2);
    let d = body["data"]["stations"][0]["distanceKm"].as_f64().unwrap();
    assert!(d < 1.0, "{d}");
    let (_, page) = app
        .send(
            "GET",
            "/v1/stations?limit=1&offset=1",
            Some(&app.user()),
            None,
        )
        .await;
    assert_eq!(page["data"]["stations"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"]["total"], 3);
}

#[tokio::test]
async fn bad_input_gets_a_4xx_envelope_naming_the_field() {
    let app = TestApp::new().await;
    let id = provisioned_site(&app).await;
    let admin = app.admin();
    let user = app.user();
    let chargers = format!("/v1/admin/stations/{id}/chargers");
    let connectors = format!("/v1/admin/stations/{id}/connectors");
    let unknown = "/v1/admin/stations/7f1c7a5e-4a4f-4f0e-8d8e-1b2c3d4e5f60/chargers";

    // (method, path, who, body, status, the field the error must name)
    type Case<'a> = (
        &'a str,
        String,
        &'a str,
        Option<&'a str>,
        u16,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/v1/admin/stations".into(),
            "admin",
            Some(r#"{"name":"A","latitude":1.5,"#),
            400,
            None,
        ),
        (
            "POST",
            "/v1/admin/stations".into(),
            "admin",
            Some(r#"{"name":"A","latitude":"north","longitude":2.5}"#),
            400,
            Some("latitude"),
        ),
        (
            "POST",
            "/v1/admin/stations".into(),
            "admin",
            Some(r#"{"latitude":1.5,"longitude":2.5}"#),
            400,
            Some("name"),
        ),
        (
            "POST",
            "/v1/admin/stations".into(),
            "admin",
            Some(r#"{"name":"A","latitude":91.5,"longitude":2.5}"#),
            400,
            Some("latitude"),
        ),
        (
            "POST",
            "/v1/admin/stations".into(),
            "admin",
            Some(r#"{"name":"A","latitude":1.5,"longitude":-180.5}"#),
            400,
            Some("longitude"),
        ),
        (
            "POST",
            "/v1/admin/stations".into(),
            "admin",
            Some(r#"{"name":"   ","latitude":1.5,"longitude":2.5}"#),
            400,
            Some("name"),
        ),
        (
            "POST",
            "/v1/admin/stations".into(),
            "admin",
            Some(r#"[1,2]"#),
            400,
            None,
        ),
        (
            "POST",
            "/v1/admin/stations".into(),
            "admin",
            Some(r#"{"name":"A","latitude":1.5,"longitude":2.5} trailing"#),
            400,
            None,
        ),
        (
            "POST",
            chargers.clone(),
            "admin",
            Some(r#"{"chargePointId":"CP-9","securityProfile":4}"#),
            400,
            Some("securityProfile"),
        ),
        (
            "POST",
            chargers.clone(),
            "admin",
            Some(r#"{"chargePointId":"CP-9","securityProfile":-1}"#),
            400,
            Some("securityProfile"),
        ),
        (
            "POST",
            chargers.clone(),
            "admin",
            Some(r#"{"chargePointId":"CP-9","securityProfile":1}"#),
            400,
            Some("password"),
        ),
        (
            "POST",
            chargers.clone(),
            "admin",
            Some(r#"{"chargePointId":"CP-9","securityProfile":1,"password":"short"}"#),
            400,
            Some("password"),
        ),
        (
            "POST",
            chargers.clone(),
            "admin",
            Some(
                r#"{"chargePointId":"CP-9","securityProfile":0,"password":"a-long-enough-secret"}"#,
            ),
            400,
            Some("password"),
        ),
        (
            "POST",
            chargers.clone(),
            "admin",
            Some(r#"{"chargePointId":"CP:9","securityProfile":0}"#),
            400,
            Some("chargePointId"),
        ),
        (
            "POST",
            chargers.clone(),
            "admin",
            Some(r#"{"chargePointId":"","securityProfile":0}"#),
            400,
            Some("chargePointId"),
        ),
        (
            "POST",
            unknown.into(),
            "admin",
            Some(r#"{"chargePointId":"CP-9","securityProfile":0}"#),
            404,
            None,
        ),
        (
            "POST",
            "/v1/admin/stations/not-a-uuid/chargers".into(),
            "admin",
            Some(r#"{"chargePointId":"CP-9","securityProfile":0}"#),
            400,
            Some("id"),
        ),
        (
            "POST",
            connectors.clone(),
            "admin",
            Some(
                r#"{"chargePointId":"CP-1","connectorId":0,"connectorType":"CCS","powerKw":50.5}"#,
            ),
            400,
            Some("connectorId"),
        ),
        (
            "POST",
            connectors.clone(),
            "admin",
            Some(
                r#"{"chargePointId":"CP-1","connectorId":3,"connectorType":"CCS","powerKw":-1.5}"#,
            ),
            400,
            Some("powerKw"),
        ),
        (
            "POST",
            connectors.clone(),
            "admin",
            Some(
                r#"{"chargePointId":"CP-1","connectorId":3,"connectorType":"CCS","powerKw":"fast"}"#,
            ),
            400,
            Some("powerKw"),
        ),
        (
            "POST",
            connectors.clone(),
            "admin",
            Some(
                r#"{"chargePointId":"CP-1","connectorId":3,"evseId":99999999999,"connectorType":"CCS","powerKw":50.5}"#,
            ),
            400,
            Some("evseId"),
        ),
        (
            "POST",
            connectors.clone(),
            "admin",
            Some(
                r#"{"chargePointId":"CP-404","connectorId":3,"connectorType":"CCS","powerKw":50.5}"#,
            ),
            400,
            Some("chargePointId"),
        ),
        (
            "GET",
            "/v1/stations?limit=0".into(),
            "user",
            None,
            400,
            Some("limit"),
        ),
        (
            "GET",
            "/v1/stations?limit=100000".into(),
            "user",
            None,
            400,
            Some("limit"),
        ),
        (
            "GET",
            "/v1/stations?limit=abc".into(),
            "user",
            None,
            400,
            Some("limit"),
        ),
        (
            "GET",
            "/v1/stations?offset=-5".into(),
            "user",
            None,
            400,
            Some("offset"),
        ),
        (
            "GET",
            "/v1/stations?offset=99999999999999999999999".into(),
            "user",
            None,
            400,
            Some("offset"),
        ),
        (
            "GET",
            "/v1/stations?lat=17.4".into(),
            "user",
            None,
            400,
            Some("lng"),
        ),
        (
            "GET",
            "/v1/stations?lat=95.5&lng=78.5".into(),
            "user",
            None,
            400,
            Some("lat"),
        ),
        (
            "GET",
            "/v1/stations?lat=17.5&lng=78.5&radiusKm=0".into(),
            "user",
            None,
            400,
            Some("radiusKm"),
        ),
        (
            "GET",
            "/v1/stations?lat=NaN&lng=78.5".into(),
            "user",
            None,
            400,
            Some("lat"),
        ),
        (
            "GET",
            "/v1/stations/not-a-uuid".into(),
            "user",
            None,
            400,
            Some("id"),
        ),
        (
            "GET",
            "/v1/stations/7f1c7a5e-4a4f-4f0e-8d8e-1b2c3d4e5f60".into(),
            "user",
            None,
            404,
            None,
        ),
        (
            "GET",
            "/v1/admin/chargers?limit=-1".into(),
            "admin",
            None,
            400,
            Some("limit"),
        ),
        ("GET", "/v1/nowhere".into(), "user", None, 404, None),
    ];
    for (method, path, who, body, status, field) in cases {
        let token = if who == "admin" { &admin } else { &user };
        let resp = app.send(method, &path, Some(token), body).await;
        assert!(
            resp.0 == status && resp.1["success"] == json!(false),
            "{method} {path} {body:?}: {resp:?}"
        );
        if let Some(field) = field {
            assert_eq!(
                resp.1["error"]["field"],
                json!(field),
                "{method} {path} {body:?}: {resp:?}"
            );
        }
    }
    // Nothing half-written: still one charger and two connectors.
    let (_, listed) = app
        .send("GET", "/v1/admin/chargers", Some(&admin), None)
        .await;
    assert_eq!(listed["data"]["total"], 1);
    let (_, station) = app
        .send("GET", &format!("/v1/stations/{id}"), Some(&user), None)
        .await;
    assert_eq!(station["data"]["connectors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn wrong_content_type_and_oversized_bodies_are_refused() {
    let app = TestApp::new().await;
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/admin/stations")
        .header("authorization", format!("Bearer {}", app.admin()))
        .header("content-type", "text/plain")
        .body(axum::body::Body::from(
            r#"{"name":"A","latitude":1.5,"longitude":2.5}"#,
        ))
        .unwrap();
    assert_error(&app.raw(req).await, 415, "UNSUPPORTED_MEDIA_TYPE");
    let huge = format!(
        r#"{{"name":"{}","latitude":1.5,"longitude":2.5}}"#,
        "x".repeat(100_000)
    );
    let resp = app
        .send(
            "POST",
            "/v1/admin/stations",
            Some(&app.admin()),
            Some(&huge),
        )
        .await;
    assert_error(&resp, 413, "PAYLOAD_TOO_LARGE");
    let resp = app
        .send("DELETE", "/v1/stations", Some(&app.admin()), None)
        .await;
    assert_error(&resp, 405, "METHOD_NOT_ALLOWED");
}

/// 413, 414 and 431 speak the envelope like every other refusal: a webhook
/// body over the limit (streamed, no Content-Length), a declared body over
/// it, a request target over 8 KiB, headers over 16 KiB (issue #15).
#[tokio::test]
async fn oversized_requests_get_413_414_431_in_the_envelope() {
    let app = TestApp::new().await;
    let chunks =
        futures_util::stream::iter((0..100).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1_000])));
    let streamed = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/vendor/webhooks/connector-status")
        .header("content-type", "application/json")
        .body(axum::body::Body::from_stream(chunks))
        .unwrap();
    assert_error(&app.raw(streamed).await, 413, "PAYLOAD_TOO_LARGE");
    let declared = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/bookings/holds")
        .header("content-type", "application/json")
        .header("content-length", "1000000")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), declared)
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()["connection"],
        "close",
        "the unread body stays on the connection: it is closed, and the client told"
    );
    let long = axum::http::Request::builder()
        .uri(format!("/v1/stations?q={}", "a".repeat(9_000)))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_error(&app.raw(long).await, 414, "URI_TOO_LONG");
    let mut heavy = axum::http::Request::builder().uri("/v1/stations");
    for n in 0..20 {
        heavy = heavy.header(format!("x-filler-{n}"), "b".repeat(1_000));
    }
    let heavy = heavy.body(axum::body::Body::empty()).unwrap();
    assert_error(&app.raw(heavy).await, 431, "HEADERS_TOO_LARGE");
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let cors = evgate::config::CorsOrigins::List(vec!["https://app.example.com".into()]);
    let app = TestApp::with_cors(&cors).await;
    let preflight = |origin: &str| {
        axum::http::Request::builder()
            .method("OPTIONS")
            .uri("/v1/stations")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    use tower::ServiceExt;
    let ok = app
        .router
        .clone()
        .oneshot(preflight("https://app.example.com"))
        .await
        .unwrap();
    assert_eq!(
        ok.headers().get("access-control-allow-origin").unwrap(),
        "https://app.example.com"
    );
    let other = app
        .router
        .clone()
        .oneshot(preflight("https://evil.example.com"))
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = TestApp::new().await;
    use tower::ServiceExt;
    let resp = app
        .router
        .clone()
        .oneshot(
            axum::http::Request::builder()
                .uri("/health")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let id = resp
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[tokio::test]
async fn operators_register_and_change_id_tags() {
    let app = TestApp::new().await;
    let admin = app.admin();
    let (s, body) = app
        .send("POST", "/v1/admin/id-tags", Some(&admin), Some(r#"{"idTag":"RFID-42","status":"Accepted","expiryDate":"2031-01-01T00:00:00Z","userId":42}"#))
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["data"]["expiryDate"], "2031-01-01T00:00:00.000Z");
    assert_error(
        &app.send(
            "POST",
            "/v1/admin/id-tags",
            Some(&admin),
            Some(r#"{"idTag":"RFID-42","status":"Accepted"}"#),
        )
        .await,
        409,
        "CONFLICT",
    );
    let bad = app
        .send(
            "POST",
            "/v1/admin/id-tags",
            Some(&admin),
            Some(r#"{"idTag":"RFID-43","status":"Maybe"}"#),
        )
        .await;
    assert_eq!(
        assert_error(&bad, 400, "VALIDATION_ERROR")["field"],
        "status"
    );
    let bad = app
        .send(
            "POST",
            "/v1/admin/id-tags",
            Some(&admin),
            Some(r#"{"idTag":"has space","status":"Accepted"}"#),
        )
        .await;
    assert_eq!(
        assert_error(&bad, 400, "VALIDATION_ERROR")["field"],
        "idTag"
    );
    let (s, body) = app
        .send(
            "PUT",
            "/v1/admin/id-tags/RFID-42",
            Some(&admin),
            Some(r#"{"status":"Blocked","expiryDate":null}"#),
        )
        .await;
    assert_eq!(
        (
            s,
            body["data"]["status"].as_str(),
            &body["data"]["expiryDate"]
        ),
        (200, Some("Blocked"), &Value::Null)
    );
    assert_error(
        &app.send(
            "PUT",
            "/v1/admin/id-tags/NOPE",
            Some(&admin),
            Some(r#"{"status":"Blocked"}"#),
        )
        .await,
        404,
        "NOT_FOUND",
    );
    let (_, list) = app
        .send("GET", "/v1/admin/id-tags", Some(&admin), None)
        .await;
    assert_eq!(
        (
            list["data"]["total"].as_u64(),
            list["data"]["idTags"][0]["userId"].as_i64()
        ),
        (Some(1), Some(42))
    );
    assert_error(
        &app.send("GET", "/v1/admin/id-tags", Some(&app.user()), None)
            .await,
        403,
        "FORBIDDEN",
    );
}

/// A station with the chargers `bodies` describe (each must be created).
async fn station_with_chargers(app: &TestApp, bodies: &[&str]) {
    let admin = app.admin();
    let (_, station) = app
        .send(
            "POST",
            "/v1/admin/stations",
            Some(&admin),
            Some(r#"{"name":"Depot","latitude":1.5,"longitude":2.5}"#),
        )
        .await;
    let station = station["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/admin/stations/{station}/chargers");
    for body in bodies {
        let created = app.send("POST", &path, Some(&admin), Some(body)).await;
        assert_eq!(created.0, 201, "{body}: {created:?}");
    }
}

/// A technician set a new password on the charger itself: the operator
/// stores it without telling the charger (issue #22, item 9); the old one
/// keeps working for the grace, the change is audited, and the refusals
/// speak the envelope.
#[tokio::test]
async fn a_password_set_on_site_is_stored_without_telling_the_charger() {
    let app = TestApp::new().await;
    let admin = app.admin();
    station_with_chargers(
        &app,
        &[
            r#"{"chargePointId":"CP-S","securityProfile":1,"password":"old-password-0123456"}"#,
            r#"{"chargePointId":"CP-Z","securityProfile":0}"#,
        ],
    )
    .await;
    let put = async |cp: &str, body: &str| {
        let path = format!("/v1/admin/chargers/{cp}/stored-password");
        app.send("PUT", &path, Some(&admin), Some(body)).await
    };
    let stored = put("CP-S", r#"{"password":"new-password-0123456"}"#).await;
    assert_eq!(stored.0, 200, "{stored:?}");
    assert_eq!(stored.1["data"]["outcome"], "STORED");
    assert_eq!(stored.1["data"]["queuedChangeDropped"], false);
    assert!(stored.1["data"]["previousCredentialsValidUntil"].is_string());

    let charger = app
        .store
        .charger_by_identity("CP-S")
        .await
        .unwrap()
        .unwrap();
    let hash = charger.password_hash.as_deref().unwrap();
    assert!(booking::credentials::verify_password(
        "new-password-0123456",
        hash
    ));
    let previous = charger.previous_credentials.as_ref().unwrap();
    let old = previous.password_hash.as_deref().unwrap();
    assert!(booking::credentials::verify_password(
        "old-password-0123456",
        old
    ));

    let (_, audit) = app
        .send("GET", "/v1/admin/audit?target=CP-S", Some(&admin), None)
        .await;
    let entry = &audit["data"]["entries"][0];
    assert_eq!(entry["action"], "charger.credentials.stored");
    assert_eq!(entry["outcome"], "STORED");
    assert!(
        !entry.to_string().contains("new-password"),
        "never the password"
    );

    assert_error(
        &put("CP-Z", r#"{"password":"new-password-0123456"}"#).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &put("CP-S", r#"{"password":"short"}"#).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &put("CP-S", r#"{"pasword":"new-password-0123456"}"#).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_error(
        &put("CP-NOBODY", r#"{"password":"new-password-0123456"}"#).await,
        404,
        "NOT_FOUND",
    );
    let user = app.user();
    let path = "/v1/admin/chargers/CP-S/stored-password";
    let body = r#"{"password":"new-password-0123456"}"#;
    assert_error(
        &app.send("PUT", path, Some(&user), Some(body)).await,
        403,
        "FORBIDDEN",
    );
}

/// A raw command that would change the charger's password or profile is
/// refused with a 400 naming the rotation endpoint (issue #19): sent as a
/// plain command, the charger would change and evgate's stored credentials
/// would not, locking the charger out.
#[tokio::test]
async fn raw_credential_commands_are_refused_with_the_rotation_endpoint_named() {
    let app = TestApp::new().await;
    let admin = app.admin();
    station_with_chargers(
        &app,
        &[r#"{"chargePointId":"CP-R","securityProfile":1,"password":"old-password-0123456"}"#],
    )
    .await;
    for command in [
        json!({"action": "ChangeConfiguration", "payload": {"key": "AuthorizationKey", "value": "0123456789abcdef0123"}}),
        json!({"action": "SetVariables", "payload": {"setVariableData": [{"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}, "attributeValue": "0123456789abcdef0123"}]}}),
        json!({"action": "SetNetworkProfile", "payload": {"configurationSlot": 1, "connectionData": {}}}),
    ] {
        let resp = app
            .send(
                "POST",
                "/v1/admin/chargers/CP-R/commands",
                Some(&admin),
                Some(&command.to_string()),
            )
            .await;
        let error = assert_error(&resp, 400, "VALIDATION_ERROR");
        assert_eq!(error["field"], "action", "{resp:?}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("/v1/admin/chargers/CP-R/credentials"),
            "{message}"
        );
    }
    // Other configuration keys are still plain commands (offline here: 409).
    let heartbeat = json!({"action": "ChangeConfiguration", "payload": {"key": "HeartbeatInterval", "value": "60"}});
    let resp = app
        .send(
            "POST",
            "/v1/admin/chargers/CP-R/commands",
            Some(&admin),
            Some(&heartbeat.to_string()),
        )
        .await;
    assert_error(&resp, 409, "CHARGER_OFFLINE");
}
