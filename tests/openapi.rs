//! The OpenAPI document (`evgate_api::openapi`, served at
//! `/v1/openapi.json`, Swagger UI at `/docs`) against the code it describes:
//! a committed snapshot (`tests/snapshots/openapi.json`; rewrite it with
//! `UPDATE_SNAPSHOTS=1 cargo test --test openapi`), every documented
//! operation answered by the real router (never its 404/405 fallback), every
//! route of the README's table documented, and real responses validated
//! against the schemas the document gives them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use common::TestApp;
use common::bookings::{ScriptedChargers, confirm, hold, hour_from_now, site};
use common::vendors::Vendor;
use serde_json::{Value, json};
use tower::ServiceExt;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn snapshot_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json")
}

fn document() -> Value {
    evgate_api::openapi()
}

/// Every (method, path) the document describes.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.push((method.to_owned(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn the_document_matches_its_snapshot() {
    let doc = document();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "not OpenAPI 3.1: {}",
        doc["openapi"]
    );
    let rendered = format!("{}\n", serde_json::to_string_pretty(&doc).unwrap());
    let path = snapshot_path();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v != "0") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "no snapshot at {} ({e}); create it with UPDATE_SNAPSHOTS=1 cargo test --test openapi",
            path.display()
        )
    });
    if committed == rendered {
        return;
    }
    let (old, new): (Vec<&str>, Vec<&str>) =
        (committed.lines().collect(), rendered.lines().collect());
    let first = old
        .iter()
        .zip(&new)
        .position(|(a, b)| a != b)
        .unwrap_or(old.len().min(new.len()));
    let from = first.saturating_sub(3);
    let show = |lines: &[&str]| {
        lines
            .iter()
            .enumerate()
            .skip(from)
            .take(8)
            .map(|(n, l)| format!("{:>6} {l}", n + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    panic!(
        "the OpenAPI document changed (first difference at line {}).\n\
         --- committed ({})\n{}\n+++ generated now\n{}\n\
         If the change is intended, rewrite the snapshot: UPDATE_SNAPSHOTS=1 cargo test --test openapi \
         and commit tests/snapshots/openapi.json",
        first + 1,
        path.display(),
        show(&old),
        show(&new),
    );
}

/// The document is OpenAPI 3.1 by the OpenAPI Initiative's own JSON Schema
/// of 3.1 documents (`tests/openapi/oas-3.1-schema-2022-10-07.json`, its
/// `$id` <https://spec.openapis.org/oas/3.1/schema/2022-10-07>, as the PyPI
/// `openapi-spec-validator` 0.9.0 ships it), checked offline.
#[test]
fn the_document_is_valid_openapi_3_1() {
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/openapi/oas-3.1-schema-2022-10-07.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft202012::new(&meta).expect("the OAS 3.1 schema compiles");
    let doc = document();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "not a valid OpenAPI 3.1 document:\n{}",
        errors.join("\n")
    );
    // The check has teeth.
    let mut spoilt = doc.clone();
    spoilt["paths"]["/health"]["get"]["responses"]["200"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    assert!(
        !validator.is_valid(&spoilt),
        "a response without a description passed"
    );
}

/// A concrete path for a documented template: each `{param}` becomes the
/// first value of its schema's enum, or a UUID (which every string
/// parameter takes too).
fn concrete(doc: &Value, method: &str, template: &str) -> String {
    let params = doc["paths"][template][method]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut path = template.to_owned();
    for p in params.iter().filter(|p| p["in"] == "path") {
        let name = p["name"].as_str().unwrap();
        assert_eq!(
            p["required"],
            json!(true),
            "{method} {template}: {name} not required"
        );
        assert!(
            template.contains(&format!("{{{name}}}")),
            "{method} {template}: no {{{name}}}"
        );
        let value = p["schema"]["enum"][0]
            .as_str()
            .unwrap_or("00000000-0000-4000-8000-000000000000")
            .to_owned();
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    assert!(
        !path.contains('{'),
        "{method} {template}: an undocumented path parameter"
    );
    path
}

async fn send_raw(app: &TestApp, req: Request<Body>) -> (u16, String, Vec<u8>) {
    let resp = app.router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .expect("body")
        .to_vec();
    (status, content_type, body)
}

/// Each documented operation reaches a handler: the router answers neither
/// with its fallback 404 (`no route for …`) nor with 405.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::new().await;
    let doc = document();
    let ops = operations(&doc);
    assert!(ops.len() >= 30, "only {} operations documented", ops.len());
    for (method, template) in ops {
        let path = concrete(&doc, &method, &template);
        let mut req = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&path);
        let body = if doc["paths"][&template][&method]
            .get("requestBody")
            .is_some()
        {
            req = req.header("content-type", "application/json");
            Body::from("{}")
        } else {
            Body::empty()
        };
        let (status, _, bytes) = send_raw(&app, req.body(body).unwrap()).await;
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !(status == 404 && message.starts_with("no route for")) && status != 405,
            "{method} {template} (sent as {path}) is documented but not routed: {status} {answer}"
        );
    }
}

/// Every route the handlers register is documented: the modules register
/// them only through utoipa-axum's `routes!` (which documents what it
/// routes), never with axum's own `.route`/`.nest`. The operator console's
/// HTML pages (`api/src/console/`) are not part of the REST API and its
/// document: it routes them itself.
#[test]
fn the_api_routes_only_through_the_openapi_router() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("api/src");
    let mut stack = vec![root];
    let mut checked = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("console") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            checked += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                assert!(
                    !(code.contains(".route(")
                        || code.contains(".nest(")
                        || code.contains("routing::")
                        || code.contains(".route_service(")),
                    "{}:{}: a route registered outside utoipa-axum's routes! is missing from the OpenAPI document: {line}",
                    path.display(),
                    n + 1
                );
            }
        }
    }
    assert!(checked > 10, "read only {checked} files");
}

/// The routes the README's API table names are all in the document (a
/// route documented there and served but missing here would be a gap).
#[test]
fn the_readme_routes_are_documented() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let api = readme
        .split("\n## API\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has an API section");
    let doc = document();
    let documented: Vec<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p)| (m.to_uppercase(), normalise(&p)))
        .collect();
    let mut seen = 0;
    for row in api.lines().filter(|l| l.starts_with("| `")) {
        for code in row.split('`').skip(1).step_by(2) {
            let Some((method, rest)) = code.split_once(' ') else {
                continue;
            };
            if !METHODS.contains(&method.to_lowercase().as_str()) || !rest.starts_with('/') {
                continue;
            }
            let path = rest.split('?').next().unwrap();
            if path == "/metrics" {
                continue; // served by the binary beside the API, not JSON
            }
            for path in expand(path) {
                seen += 1;
                let path = normalise(&path);
                assert!(
                    documented
                        .iter()
                        .any(|(m, template)| m == method && same_route(template, &path)),
                    "README's {method} {path} is not in the OpenAPI document"
                );
            }
        }
    }
    assert!(seen >= 25, "read only {seen} routes from the README");
}

/// `/v1/vendor/webhooks/{a,b}` → one path each.
fn expand(path: &str) -> Vec<String> {
    match (path.find('{'), path.find('}')) {
        (Some(open), Some(close)) if path[open..close].contains(',') => path[open + 1..close]
            .split(',')
            .map(|alt| format!("{}{alt}{}", &path[..open], &path[close + 1..]))
            .collect(),
        _ => vec![path.to_owned()],
    }
}

/// Whether a documented template (parameters as `{}`) names `path`.
fn same_route(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| *t == "{}" || t == p)
}

/// Parameters named alike: `:id`, `{chargePointId}` → `{}`.
fn normalise(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with(':') || (seg.starts_with('{') && seg.ends_with('}')) {
                "{}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `/v1/openapi.json` serves the document; `/docs` serves Swagger UI from
/// inside the binary, pointed at it; both without a token.
#[tokio::test]
async fn the_document_and_swagger_ui_are_served_publicly() {
    let app = TestApp::new().await;
    let (status, json) = app.send("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(json, document());
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let (status, content_type, body) = send_raw(&app, get("/docs/")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(String::from_utf8_lossy(&body).contains("swagger"));
    let (status, _, body) = send_raw(&app, get("/docs/swagger-initializer.js")).await;
    assert_eq!(status, 200);
    let initializer = String::from_utf8_lossy(&body).replace(' ', "");
    assert!(
        initializer.contains("/v1/openapi.json"),
        "Swagger UI is not pointed at the document: {initializer}"
    );
    assert!(
        initializer.contains(r#""validatorUrl":"none""#),
        "Swagger UI would ask an online validator: {initializer}"
    );
    // Its assets come from the binary.
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css"] {
        let (status, _, body) = send_raw(&app, get(&format!("/docs/{asset}"))).await;
        assert_eq!(status, 200, "/docs/{asset}");
        assert!(body.len() > 10_000, "/docs/{asset}: {} bytes", body.len());
    }
    let (status, _, _) = send_raw(&app, get("/docs")).await;
    assert!(
        status == 200 || (300..400).contains(&status),
        "/docs answered {status}"
    );
}

/// A validator for the schema the document gives `method path`'s `status`
/// answer (JSON Schema 2020-12, as OpenAPI 3.1 uses; `$ref`s resolve in the
/// document itself). Objects must not carry properties their schema does
/// not name (`unevaluatedProperties: false`), so a renamed field fails.
fn validator(doc: &Value, method: &str, path: &str, status: u16) -> jsonschema::Validator {
    let mut response = &doc["paths"][path][method]["responses"][status.to_string()];
    if let Some(target) = response["$ref"].as_str() {
        response = doc
            .pointer(target.trim_start_matches('#'))
            .expect("response ref");
    }
    let schema = response["content"]["application/json"]["schema"].clone();
    assert!(
        !schema.is_null(),
        "no JSON schema documented for {method} {path} → {status}"
    );
    let mut root = doc.clone();
    strict(&mut root["components"]["schemas"]);
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["allOf"] = json!([schema]);
    jsonschema::draft202012::new(&root).expect("the document's schemas compile")
}

/// `unevaluatedProperties: false` on every object schema with properties
/// (or an `allOf`, as `#[serde(flatten)]` comes out). A member of an `allOf`
/// stays open, the whole is closed: a component that is such a member is
/// referenced there as an open copy (`…__open`).
fn strict(schemas: &mut Value) {
    let mut members = std::collections::BTreeSet::new();
    rename_all_of_refs(schemas, &mut members);
    let schemas = schemas.as_object_mut().expect("components.schemas");
    for name in members {
        let open = schemas[&name].clone();
        schemas.insert(format!("{name}__open"), open);
    }
    for (name, schema) in schemas.iter_mut() {
        tighten(schema, name.ends_with("__open"));
    }
}

/// Points every `allOf` member's `$ref` at the open copy, collecting names.
fn rename_all_of_refs(schema: &mut Value, members: &mut std::collections::BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(items)) = map.get_mut("allOf") {
                for item in items.iter_mut() {
                    if let Some(Value::String(target)) = item.get_mut("$ref") {
                        let name = target.rsplit('/').next().unwrap().to_owned();
                        *target = format!("#/components/schemas/{name}__open");
                        members.insert(name);
                    }
                }
            }
            map.values_mut()
                .for_each(|v| rename_all_of_refs(v, members));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| rename_all_of_refs(v, members)),
        _ => {}
    }
}

fn tighten(schema: &mut Value, open: bool) {
    match schema {
        Value::Object(map) => {
            let object = map.contains_key("properties") || map.contains_key("allOf");
            if object && !open && !map.contains_key("unevaluatedProperties") {
                map.insert("unevaluatedProperties".into(), json!(false));
            }
            for (key, value) in map.iter_mut() {
                if key == "allOf" {
                    value
                        .as_array_mut()
                        .into_iter()
                        .flatten()
                        .for_each(|member| tighten(member, true));
                } else {
                    tighten(value, false);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| tighten(v, false)),
        _ => {}
    }
}

/// What is wrong with `answer` by the schema documented for it.
fn violations(doc: &Value, method: &str, path: &str, answer: &(u16, Value)) -> Vec<String> {
    let validator = validator(doc, method, path, answer.0);
    validator
        .iter_errors(&answer.1)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[track_caller]
fn assert_valid(doc: &Value, method: &str, path: &str, answer: &(u16, Value)) {
    let errors = violations(doc, method, path, answer);
    assert!(
        errors.is_empty(),
        "{method} {path} → {}: the answer does not match its documented schema:\n{}\n{}",
        answer.0,
        errors.join("\n"),
        answer.1
    );
}

/// Real answers of the main flow (station list and one station,
/// availability, a hold, its confirmation, the booking) and of failures
/// (404, 400 naming a field, 401, 409) match the schemas the document
/// gives them.
#[tokio::test]
async fn real_answers_match_their_documented_schemas() {
    let chargers: Arc<dyn booking::charger_control::ChargerControl> =
        Arc::new(ScriptedChargers::default());
    let app = TestApp::on("sqlite", Some(chargers)).await;
    let doc = document();
    let site = site(&app).await;
    let user = app.user();
    let station = &site.station;

    let answer = app.send("GET", "/health", None, None).await;
    assert_valid(&doc, "get", "/health", &answer);
    let answer = app.send("GET", "/ready", None, None).await;
    assert_valid(&doc, "get", "/ready", &answer);

    let answer = app.send("GET", "/v1/stations", Some(&user), None).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_valid(&doc, "get", "/v1/stations", &answer);
    let near = app
        .send(
            "GET",
            "/v1/stations?lat=17.5&lng=78.5&radiusKm=10",
            Some(&user),
            None,
        )
        .await;
    assert!(
        near.1["data"]["stations"][0]["distanceKm"].is_number(),
        "{}",
        near.1
    );
    assert_valid(&doc, "get", "/v1/stations", &near);

    let answer = app
        .send("GET", &format!("/v1/stations/{station}"), Some(&user), None)
        .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_valid(&doc, "get", "/v1/stations/{id}", &answer);
    // The check has teeth: a renamed field, an undocumented one (nested
    // too) or a status outside the vocabulary fails it.
    for spoil in [
        (|v: &mut Value| {
            let name = v["data"].as_object_mut().unwrap().remove("name").unwrap();
            v["data"]["stationName"] = name;
        }) as fn(&mut Value),
        |v| v["data"]["connectors"][0]["colour"] = json!("red"),
        |v| v["data"]["connectors"][0]["status"] = json!("Available"),
        |v| v["success"] = json!("yes"),
    ] {
        let mut spoilt = answer.clone();
        spoil(&mut spoilt.1);
        assert!(
            !violations(&doc, "get", "/v1/stations/{id}", &spoilt).is_empty(),
            "a spoilt answer passed: {}",
            spoilt.1
        );
    }

    let answer = app
        .send(
            "GET",
            &format!("/v1/stations/{station}/availability"),
            Some(&user),
            None,
        )
        .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert!(
        answer.1["data"]["total"].as_u64().unwrap() > 0,
        "{}",
        answer.1
    );
    assert_valid(&doc, "get", "/v1/stations/{id}/availability", &answer);

    let held = hold(&app, &user, &site, 0, hour_from_now(&app, 2), 60).await;
    assert_eq!(held.0, 201, "{}", held.1);
    assert_valid(&doc, "post", "/v1/bookings/holds", &held);
    let other = app.token(43, evgate::config::Role::User);
    let taken = hold(&app, &other, &site, 0, hour_from_now(&app, 2), 60).await;
    assert_eq!(taken.0, 409, "{}", taken.1);
    assert_valid(&doc, "post", "/v1/bookings/holds", &taken);

    let token = held.1["data"]["token"].as_str().unwrap();
    let booked = confirm(&app, &user, token).await;
    assert_eq!(booked.0, 201, "{}", booked.1);
    assert_valid(&doc, "post", "/v1/bookings/confirm", &booked);
    let again = confirm(&app, &user, token).await;
    assert_eq!(again.0, 200, "{}", again.1);
    assert_valid(&doc, "post", "/v1/bookings/confirm", &again);

    let id = booked.1["data"]["id"].as_str().unwrap();
    let answer = app
        .send("GET", &format!("/v1/bookings/{id}"), Some(&user), None)
        .await;
    assert_valid(&doc, "get", "/v1/bookings/{id}", &answer);
    let answer = app.send("GET", "/v1/bookings", Some(&user), None).await;
    assert_valid(&doc, "get", "/v1/bookings", &answer);

    // Failures: the error envelope under each documented status.
    let missing = app
        .send(
            "GET",
            "/v1/stations/00000000-0000-4000-8000-000000000000",
            Some(&user),
            None,
        )
        .await;
    assert_eq!(missing.0, 404, "{}", missing.1);
    assert_valid(&doc, "get", "/v1/stations/{id}", &missing);
    let bad = app
        .send("GET", "/v1/stations/not-a-uuid", Some(&user), None)
        .await;
    assert_eq!(
        (bad.0, &bad.1["error"]["field"]),
        (400, &json!("id")),
        "{}",
        bad.1
    );
    assert_valid(&doc, "get", "/v1/stations/{id}", &bad);
    let anonymous = app.send("GET", "/v1/stations", None, None).await;
    assert_eq!(anonymous.0, 401, "{}", anonymous.1);
    assert_valid(&doc, "get", "/v1/stations", &anonymous);
    let forbidden = app
        .send("GET", "/v1/admin/chargers", Some(&user), None)
        .await;
    assert_eq!(forbidden.0, 403, "{}", forbidden.1);
    assert_valid(&doc, "get", "/v1/admin/chargers", &forbidden);

    // Admin reads.
    let admin = app.admin();
    for path in [
        "/v1/admin/chargers",
        "/v1/admin/id-tags",
        "/v1/admin/audit",
        "/v1/admin/vendors",
        "/v1/admin/webhooks",
    ] {
        let answer = app.send("GET", path, Some(&admin), None).await;
        assert_eq!(answer.0, 200, "{path}: {}", answer.1);
        assert_valid(&doc, "get", path, &answer);
    }
}

/// Sends a request and checks its answer against the schema documented for
/// `template` and the answer's status; returns the answer.
async fn checked(
    app: &TestApp,
    doc: &Value,
    (method, template, path): (&str, &str, &str),
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let answer = app
        .send(&method.to_uppercase(), path, token, body.as_deref())
        .await;
    assert_valid(doc, method, template, &answer);
    answer
}

/// The operator's side: provisioning (a flattened connector and id tag
/// among them), charger controls, the journal, the audit log, vendors, a
/// signed webhook and the inbox, each answer against its documented schema.
#[tokio::test]
async fn operator_and_vendor_answers_match_their_documented_schemas() {
    let app = TestApp::new().await;
    let doc = document();
    let admin = app.admin();
    let admin = Some(admin.as_str());

    let station = checked(
        &app,
        &doc,
        ("post", "/v1/admin/stations", "/v1/admin/stations"),
        admin,
        Some(
            json!({"name": "Schema Hub", "latitude": 17.4, "longitude": 78.3, "address": "Road 1"}),
        ),
    )
    .await;
    assert_eq!(station.0, 201, "{}", station.1);
    let station = station.1["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/admin/stations/{station}/chargers");
    let charger = checked(&app, &doc, ("post", "/v1/admin/stations/{id}/chargers", &path), admin,
        Some(json!({"chargePointId": "CP-S", "securityProfile": 1, "password": "a-long-enough-secret"}))).await;
    assert_eq!(charger.0, 201, "{}", charger.1);
    let path = format!("/v1/admin/stations/{station}/connectors");
    let body =
        json!({"chargePointId": "CP-S", "connectorId": 1, "connectorType": "CCS", "powerKw": 50.0});
    let connector = checked(
        &app,
        &doc,
        ("post", "/v1/admin/stations/{id}/connectors", &path),
        admin,
        Some(body.clone()),
    )
    .await;
    assert_eq!(connector.0, 201, "{}", connector.1);
    // Flattened (`allOf`), it is closed as a whole: an extra field fails.
    let template = "/v1/admin/stations/{id}/connectors";
    let mut spoilt = connector.clone();
    spoilt.1["data"]["colour"] = json!("red");
    assert!(!violations(&doc, "post", template, &spoilt).is_empty());
    spoilt.1["data"].as_object_mut().unwrap().remove("colour");
    spoilt.1["data"]
        .as_object_mut()
        .unwrap()
        .remove("ocppConnectorId");
    assert!(!violations(&doc, "post", template, &spoilt).is_empty());
    let again = checked(
        &app,
        &doc,
        ("post", "/v1/admin/stations/{id}/connectors", &path),
        admin,
        Some(body),
    )
    .await;
    assert_eq!(again.0, 409, "{}", again.1);
    let connector = connector.1["data"]["id"].as_str().unwrap().to_owned();

    for template in ["/v1/admin/chargers", "/v1/admin/chargers/unassigned"] {
        let answer = checked(&app, &doc, ("get", template, template), admin, None).await;
        assert_eq!(answer.0, 200, "{}", answer.1);
    }
    let answer = checked(
        &app,
        &doc,
        (
            "put",
            "/v1/admin/chargers/{id}/admission",
            "/v1/admin/chargers/CP-S/admission",
        ),
        admin,
        Some(json!({"status": "accepted"})),
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let answer = checked(
        &app,
        &doc,
        (
            "put",
            "/v1/admin/chargers/{id}/credentials",
            "/v1/admin/chargers/CP-S/credentials",
        ),
        admin,
        Some(json!({"password": "another-long-secret"})),
    )
    .await;
    assert!([202, 409].contains(&answer.0), "{}", answer.1);
    let answer = checked(
        &app,
        &doc,
        (
            "put",
            "/v1/admin/chargers/{id}/stored-password",
            "/v1/admin/chargers/CP-S/stored-password",
        ),
        admin,
        Some(json!({"password": "set-on-site-secret-1"})),
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let answer = checked(
        &app,
        &doc,
        (
            "post",
            "/v1/admin/chargers/{id}/commands",
            "/v1/admin/chargers/CP-S/commands",
        ),
        admin,
        Some(json!({"action": "Reset", "payload": {"type": "Soft"}})),
    )
    .await;
    assert_eq!(
        (answer.0, &answer.1["error"]["code"]),
        (409, &json!("CHARGER_OFFLINE")),
        "{}",
        answer.1
    );
    let answer = checked(
        &app,
        &doc,
        (
            "get",
            "/v1/admin/chargers/{id}/messages",
            "/v1/admin/chargers/CP-S/messages",
        ),
        admin,
        None,
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let answer = checked(
        &app,
        &doc,
        (
            "get",
            "/v1/admin/chargers/{id}/messages",
            "/v1/admin/chargers/CP-X/messages",
        ),
        admin,
        None,
    )
    .await;
    assert_eq!(answer.0, 404, "{}", answer.1);

    let tag = checked(
        &app,
        &doc,
        ("post", "/v1/admin/id-tags", "/v1/admin/id-tags"),
        admin,
        Some(json!({"idTag": "RFID-S", "status": "Accepted", "userId": 42})),
    )
    .await;
    assert_eq!(tag.0, 201, "{}", tag.1);
    let tag = checked(
        &app,
        &doc,
        (
            "put",
            "/v1/admin/id-tags/{id_tag}",
            "/v1/admin/id-tags/RFID-S",
        ),
        admin,
        Some(json!({"status": "Blocked", "expiryDate": null})),
    )
    .await;
    assert_eq!(tag.0, 200, "{}", tag.1);
    for template in ["/v1/admin/id-tags", "/v1/admin/audit"] {
        let answer = checked(&app, &doc, ("get", template, template), admin, None).await;
        assert_eq!(answer.0, 200, "{}", answer.1);
    }

    let vendor = checked(
        &app,
        &doc,
        ("post", "/v1/admin/vendors", "/v1/admin/vendors"),
        admin,
        Some(json!({"name": "Schema Cloud"})),
    )
    .await;
    assert_eq!(vendor.0, 201, "{}", vendor.1);
    let id = vendor.1["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/admin/vendors/{id}/rotate-secret");
    let rotated = checked(
        &app,
        &doc,
        ("post", "/v1/admin/vendors/{id}/rotate-secret", &path),
        admin,
        Some(json!({"previousSecretValidSeconds": 0})),
    )
    .await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);
    let vendor = Vendor {
        id,
        secret: rotated.1["data"]["secret"].as_str().unwrap().to_owned(),
    };
    let path = format!("/v1/admin/connectors/{connector}/vendor");
    let assigned = checked(
        &app,
        &doc,
        ("put", "/v1/admin/connectors/{id}/vendor", &path),
        admin,
        Some(json!({"vendorId": vendor.id, "vendorConnectorId": "V-S"})),
    )
    .await;
    assert_eq!(assigned.0, 200, "{}", assigned.1);

    let accepted = common::vendors::post(
        &app,
        &vendor,
        "connector-status",
        &json!({"vendorConnectorId": "V-S", "status": "AVAILABLE"}),
    )
    .await;
    assert_eq!(accepted.0, 202, "{}", accepted.1);
    assert_valid(&doc, "post", "/v1/vendor/webhooks/{kind}", &accepted);
    let unsigned = checked(
        &app,
        &doc,
        (
            "post",
            "/v1/vendor/webhooks/{kind}",
            "/v1/vendor/webhooks/session-end",
        ),
        None,
        Some(json!({"vendorSessionId": "s-1"})),
    )
    .await;
    assert_eq!(unsigned.0, 401, "{}", unsigned.1);
    let entry = accepted.1["data"]["id"].as_str().unwrap();
    let answer = checked(
        &app,
        &doc,
        ("get", "/v1/admin/webhooks", "/v1/admin/webhooks"),
        admin,
        None,
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let path = format!("/v1/admin/webhooks/{entry}");
    let answer = checked(
        &app,
        &doc,
        ("get", "/v1/admin/webhooks/{id}", &path),
        admin,
        None,
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let path = format!("/v1/admin/webhooks/{entry}/retry");
    let answer = checked(
        &app,
        &doc,
        ("post", "/v1/admin/webhooks/{id}/retry", &path),
        admin,
        None,
    )
    .await;
    assert_eq!(answer.0, 409, "{}", answer.1);

    // A body that is not JSON: the shared 415 response.
    let request = Request::post("/v1/admin/stations")
        .header("authorization", format!("Bearer {}", app.admin()))
        .header("content-type", "text/plain")
        .body(Body::from("name=x"))
        .unwrap();
    let answer = app.raw(request).await;
    assert_eq!(answer.0, 415, "{}", answer.1);
    assert_valid(&doc, "post", "/v1/admin/stations", &answer);
}
