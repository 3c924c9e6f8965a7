//! The vendor-webhook suites' fixture (`tests/webhooks.rs`,
//! `tests/webhooks_apply.rs`): a station whose connectors belong to vendor
//! clouds, and webhooks signed as they would sign them.

use booking::Clock;
use booking::model::ConnectorStatus;
use serde_json::{Value, json};

use super::TestApp;

pub struct Vendor {
    pub id: String,
    pub secret: String,
}

pub struct Site {
    pub station: String,
    /// Connector ids, assigned to `vendors[i]` as `V-<i>`.
    pub connectors: Vec<String>,
    pub vendors: Vec<Vendor>,
}

/// A station with one vendor-managed charger and one connector per vendor.
pub async fn site(app: &TestApp, vendors: usize) -> Site {
    let admin = app.admin();
    let (_, s) = app
        .send(
            "POST",
            "/v1/admin/stations",
            Some(&admin),
            Some(r#"{"name":"Vendor hub","latitude":52.5,"longitude":13.4}"#),
        )
        .await;
    let station = s["data"]["id"].as_str().unwrap().to_owned();
    let (code, _) = app
        .send(
            "POST",
            &format!("/v1/admin/stations/{station}/chargers"),
            Some(&admin),
            Some(r#"{"chargePointId":"VENDOR-CP","securityProfile":0}"#),
        )
        .await;
    assert_eq!(code, 201);
    let mut site = Site {
        station: station.clone(),
        connectors: vec![],
        vendors: vec![],
    };
    for i in 0..vendors {
        let (code, v) = app
            .send(
                "POST",
                "/v1/admin/vendors",
                Some(&admin),
                Some(&json!({"name": format!("vendor-{i}")}).to_string()),
            )
            .await;
        assert_eq!(code, 201, "{v}");
        let vendor = Vendor {
            id: v["data"]["id"].as_str().unwrap().to_owned(),
            secret: v["data"]["secret"].as_str().unwrap().to_owned(),
        };
        let body = json!({"chargePointId": "VENDOR-CP", "connectorId": i + 1,
            "connectorType": "Type2", "powerKw": 22.0})
        .to_string();
        let (code, c) = app
            .send(
                "POST",
                &format!("/v1/admin/stations/{station}/connectors"),
                Some(&admin),
                Some(&body),
            )
            .await;
        assert_eq!(code, 201, "{c}");
        let connector = c["data"]["id"].as_str().unwrap().to_owned();
        let (code, a) = app
            .send(
                "PUT",
                &format!("/v1/admin/connectors/{connector}/vendor"),
                Some(&admin),
                Some(
                    &json!({"vendorId": vendor.id, "vendorConnectorId": format!("V-{i}")})
                        .to_string(),
                ),
            )
            .await;
        assert_eq!(code, 200, "{a}");
        site.connectors.push(connector);
        site.vendors.push(vendor);
    }
    site
}

/// Posts a webhook signed by `vendor` with the clock's time.
pub async fn post(app: &TestApp, vendor: &Vendor, kind: &str, body: &Value) -> (u16, Value) {
    let ts = app.clock.now().timestamp();
    post_signed(app, &vendor.id, &vendor.secret, ts, kind, body, None).await
}

pub async fn post_signed(
    app: &TestApp,
    vendor_id: &str,
    secret: &str,
    ts: i64,
    kind: &str,
    body: &Value,
    idempotency_key: Option<&str>,
) -> (u16, Value) {
    let body = body.to_string();
    let sig = webhooks::signature::sign(secret.as_bytes(), ts, body.as_bytes());
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/v1/vendor/webhooks/{kind}"))
        .header("content-type", "application/json")
        .header("x-evgate-vendor", vendor_id)
        .header("x-evgate-timestamp", ts.to_string())
        .header("x-evgate-signature", sig);
    if let Some(k) = idempotency_key {
        req = req.header("idempotency-key", k);
    }
    app.raw(req.body(axum::body::Body::from(body)).unwrap())
        .await
}

/// Applies everything due, as the worker would.
pub async fn drain(app: &TestApp) {
    while app.webhooks.process_due().await.unwrap() > 0 {}
}

pub async fn inbox(app: &TestApp, state: &str) -> Vec<Value> {
    let (code, v) = app
        .send(
            "GET",
            &format!("/v1/admin/webhooks?state={state}&limit=100"),
            Some(&app.admin()),
            None,
        )
        .await;
    assert_eq!(code, 200, "{v}");
    v["data"]["webhooks"].as_array().unwrap().clone()
}

pub async fn connector_status(app: &TestApp, id: &str) -> ConnectorStatus {
    app.store
        .connector(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .status
}

pub fn status(connector: &str, status: &str) -> Value {
    json!({"connectorId": connector, "status": status})
}

/// Runs one statement on the test's database, behind the app's back.
pub async fn sql(app: &TestApp, statement: &'static str) {
    if app.database_url.starts_with("sqlite:") {
        let db = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        sqlx::query(statement).execute(&db).await.unwrap();
    } else {
        let db = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        sqlx::query(statement).execute(&db).await.unwrap();
    }
}

/// Runs one counting query on the test's database, behind the app's back.
pub async fn count(app: &TestApp, query: &'static str) -> i64 {
    if app.database_url.starts_with("sqlite:") {
        let db = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        sqlx::query_scalar(query).fetch_one(&db).await.unwrap()
    } else {
        let db = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        sqlx::query_scalar(query).fetch_one(&db).await.unwrap()
    }
}
