//! Vendor webhooks accepted, end to end in process: signatures (missing,
//! wrong, expired, another vendor's, rotated), ownership and validation.
//! What the inbox then does with them is in `tests/webhooks_apply.rs`; both
//! share `common::vendors`. Time is the manual clock; the inbox is applied
//! with `process_due()`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use booking::Clock;
use booking::model::ConnectorStatus;
use chrono::{TimeDelta, Utc};
use common::TestApp;
use common::vendors::{Vendor, connector_status, drain, inbox, post, post_signed, site, status};
use serde_json::json;
use uuid::Uuid;

async fn webhooks_without_a_valid_signature_are_refused_and_write_nothing(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 2).await;
    let (a, b) = (&site.vendors[0], &site.vendors[1]);
    let body = status(&site.connectors[0], "OCCUPIED");
    let now = app.clock.now().timestamp();
    let raw = |headers: &[(&str, &str)]| {
        let mut req = axum::http::Request::builder()
            .method("POST")
            .uri("/v1/vendor/webhooks/connector-status")
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.body(axum::body::Body::from(body.to_string())).unwrap()
    };
    let sig = webhooks::signature::sign(a.secret.as_bytes(), now, body.to_string().as_bytes());
    let ts = now.to_string();
    for (what, headers) in [
        ("no headers", vec![]),
        (
            "no signature",
            vec![
                ("x-evgate-vendor", a.id.as_str()),
                ("x-evgate-timestamp", ts.as_str()),
            ],
        ),
        (
            "no timestamp",
            vec![
                ("x-evgate-vendor", a.id.as_str()),
                ("x-evgate-signature", sig.as_str()),
            ],
        ),
        (
            "no vendor",
            vec![
                ("x-evgate-timestamp", ts.as_str()),
                ("x-evgate-signature", sig.as_str()),
            ],
        ),
        (
            "bad vendor id",
            vec![
                ("x-evgate-vendor", "acme"),
                ("x-evgate-timestamp", ts.as_str()),
                ("x-evgate-signature", sig.as_str()),
            ],
        ),
        (
            "unknown vendor",
            vec![
                ("x-evgate-vendor", "0191d6c4-0000-7000-8000-000000000000"),
                ("x-evgate-timestamp", ts.as_str()),
                ("x-evgate-signature", sig.as_str()),
            ],
        ),
        (
            "garbage signature",
            vec![
                ("x-evgate-vendor", a.id.as_str()),
                ("x-evgate-timestamp", ts.as_str()),
                ("x-evgate-signature", "sha256=00"),
            ],
        ),
    ] {
        let (code, v) = app.raw(raw(&headers)).await;
        assert_eq!(code, 401, "{what}: {v}");
        assert_eq!(v["error"]["code"], "UNAUTHORIZED", "{what}");
    }
    // Signed by B, claiming to be A; and B's own signature on A's connector.
    let (code, _) = post_signed(&app, &a.id, &b.secret, now, "connector-status", &body, None).await;
    assert_eq!(code, 401);
    let (code, v) = post(&app, b, "connector-status", &body).await;
    assert_eq!(code, 403, "another vendor's connector: {v}");
    assert_eq!(v["error"]["code"], "FORBIDDEN");
    // Replays outside ±300 s, either way.
    for skew in [-301, 301] {
        let (code, v) = post_signed(
            &app,
            &a.id,
            &a.secret,
            now + skew,
            "connector-status",
            &body,
            None,
        )
        .await;
        assert_eq!(code, 401, "skew {skew}: {v}");
    }
    // A body changed after signing.
    let sig = webhooks::signature::sign(a.secret.as_bytes(), now, b"{}");
    let (code, _) = app
        .raw(raw(&[
            ("x-evgate-vendor", &a.id),
            ("x-evgate-timestamp", &ts),
            ("x-evgate-signature", &sig),
        ]))
        .await;
    assert_eq!(code, 401);
    assert!(
        inbox(&app, "pending").await.is_empty(),
        "nothing was written"
    );
    drain(&app).await;
    assert_eq!(
        connector_status(&app, &site.connectors[0]).await,
        ConnectorStatus::Offline
    );
    // Within the window, signed right: accepted.
    let (code, v) = post_signed(
        &app,
        &a.id,
        &a.secret,
        now - 299,
        "connector-status",
        &body,
        None,
    )
    .await;
    assert_eq!(code, 202, "{v}");
}

async fn a_rotated_secret_overlaps_with_the_old_one_until_it_expires(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 1).await;
    let old = &site.vendors[0];
    let (code, v) = app
        .send(
            "POST",
            &format!("/v1/admin/vendors/{}/rotate-secret", old.id),
            Some(&app.admin()),
            Some(r#"{"previousSecretValidSeconds":3600}"#),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    let new = Vendor {
        id: old.id.clone(),
        secret: v["data"]["secret"].as_str().unwrap().to_owned(),
    };
    assert_ne!(new.secret, old.secret);
    let body = status(&site.connectors[0], "AVAILABLE");
    assert_eq!(post(&app, old, "connector-status", &body).await.0, 202);
    assert_eq!(post(&app, &new, "connector-status", &body).await.0, 202);
    app.clock.advance(TimeDelta::minutes(61));
    assert_eq!(post(&app, old, "connector-status", &body).await.0, 401);
    assert_eq!(post(&app, &new, "connector-status", &body).await.0, 202);
    // Bad rotation input is a 400, an unknown vendor a 404.
    let (code, _) = app
        .send(
            "POST",
            &format!("/v1/admin/vendors/{}/rotate-secret", old.id),
            Some(&app.admin()),
            Some(r#"{"previousSecretValidSeconds":-1}"#),
        )
        .await;
    assert_eq!(code, 400);
    let (code, _) = app
        .send(
            "POST",
            &format!("/v1/admin/vendors/{}/rotate-secret", Uuid::new_v4()),
            Some(&app.admin()),
            None,
        )
        .await;
    assert_eq!(code, 404);
}

async fn bad_bodies_and_unknown_connectors_get_the_envelope(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app, 1).await;
    let v = &site.vendors[0];
    // A correctly signed body that does not say it is JSON: 415, as REST.
    let body = status(&site.connectors[0], "AVAILABLE").to_string();
    let ts = app.clock.now().timestamp();
    let sig = webhooks::signature::sign(v.secret.as_bytes(), ts, body.as_bytes());
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/vendor/webhooks/connector-status")
        .header("content-type", "text/plain")
        .header("x-evgate-vendor", &v.id)
        .header("x-evgate-timestamp", ts.to_string())
        .header("x-evgate-signature", sig)
        .body(axum::body::Body::from(body))
        .unwrap();
    let (code, r) = app.raw(req).await;
    assert_eq!(
        (code, r["error"]["code"].as_str()),
        (415, Some("UNSUPPORTED_MEDIA_TYPE"))
    );
    let cases = [
        (
            "connector-status",
            json!({"connectorId": site.connectors[0], "status": "CHARGING"}),
            400,
            "status",
        ),
        (
            "connector-status",
            json!({"connectorId": "nope", "status": "AVAILABLE"}),
            400,
            "connectorId",
        ),
        (
            "connector-status",
            json!({"status": "AVAILABLE"}),
            400,
            "connectorId",
        ),
        (
            "connector-status",
            json!({"vendorConnectorId": "V-0", "stationId": Uuid::new_v4(), "status": "AVAILABLE"}),
            400,
            "stationId",
        ),
        (
            "connector-status",
            json!({"connectorId": site.connectors[0], "status": "AVAILABLE",
            "timestamp": (Utc::now() + TimeDelta::days(1)).to_rfc3339()}),
            400,
            "timestamp",
        ),
        (
            "session-start",
            json!({"vendorSessionId": "", "vendorConnectorId": "V-0"}),
            400,
            "vendorSessionId",
        ),
        (
            "session-start",
            json!({"vendorSessionId": "s", "vendorConnectorId": "V-0", "startMeterReading": -1.5}),
            400,
            "startMeterReading",
        ),
        (
            "session-end",
            json!({"vendorSessionId": "s", "energyKwh": "lots"}),
            400,
            "energyKwh",
        ),
        ("meter-update", json!({"vendorSessionId": "s"}), 400, "body"),
        // Finite in kWh but infinite once in Wh: once stored as null, it
        // stopped every vendor's webhooks (issue #15).
        (
            "meter-update",
            json!({"vendorSessionId": "s", "meterReading": 1e308}),
            400,
            "meterReading",
        ),
        (
            "session-start",
            json!({"vendorSessionId": "s", "vendorConnectorId": "V-0", "startMeterReading": 1e308}),
            400,
            "startMeterReading",
        ),
        (
            "session-end",
            json!({"vendorSessionId": "s", "energyKwh": 1e300}),
            400,
            "energyKwh",
        ),
        (
            "session-end",
            json!({"vendorSessionId": "s", "costAmount": 1e300}),
            400,
            "costAmount",
        ),
    ];
    for (kind, body, want, field) in cases {
        let (code, resp) = post(&app, v, kind, &body).await;
        assert_eq!(code, want, "{kind} {body}: {resp}");
        assert_eq!(resp["error"]["field"], field, "{kind} {body}: {resp}");
    }
    for body in [
        json!({"connectorId": Uuid::new_v4(), "status": "AVAILABLE"}),
        json!({"vendorConnectorId": "V-404", "status": "AVAILABLE"}),
    ] {
        let (code, resp) = post(&app, v, "connector-status", &body).await;
        assert_eq!(code, 404, "{resp}");
        assert_eq!(resp["error"]["code"], "NOT_FOUND");
    }
    let (code, resp) = post(
        &app,
        v,
        "session-start",
        &json!({"vendorSessionId": "s", "vendorConnectorId": "V-0", "bookingId": Uuid::new_v4()}),
    )
    .await;
    assert_eq!(
        (code, resp["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let (code, _) = post(&app, v, "nonsense", &json!({})).await;
    assert_eq!(code, 404);
    assert!(inbox(&app, "pending").await.is_empty());
}

common::on_both_backends!(
    webhooks_without_a_valid_signature_are_refused_and_write_nothing,
    a_rotated_secret_overlaps_with_the_old_one_until_it_expires,
    bad_bodies_and_unknown_connectors_get_the_envelope,
);
