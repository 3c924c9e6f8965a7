//! The OpenAPI 3.1 document of the REST API, generated from the code: every
//! handler carries a `#[utoipa::path]` annotation, and each resource module
//! registers its handlers on a utoipa-axum `OpenApiRouter` with `routes!`,
//! so the router that serves a route and the document that describes it are
//! built from the same call. [`document`] then adds what every route shares
//! (the error responses its extractors and layers can answer with).
//!
//! Served at `GET /v1/openapi.json`; Swagger UI (assets inside the binary)
//! at `/docs`. Both are public and sit behind the same layers as the API.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// Where the document is served.
const DOCUMENT_PATH: &str = "/v1/openapi.json";
/// Where Swagger UI is served.
const UI_PATH: &str = "/docs";

/// The document's fixed parts: info, tags, security schemes, the envelope.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "evgate",
        description = "OCPP charge-point gateway with a booking service: the REST API. \
            Every answer is JSON in an envelope: `{\"success\": true, \"data\": …}`, or \
            `{\"success\": false, \"error\": {\"code\", \"message\", \"field\"?}}` with the HTTP \
            status. Timestamps are ISO 8601 UTC; ids are UUIDs unless named otherwise.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&Security),
    components(schemas(ErrorEnvelope, ErrorBody)),
    tags(
        (name = "health", description = "Liveness and readiness, for load balancers. No auth."),
        (name = "stations", description = "Stations and their connectors' live status."),
        (name = "bookings", description = "Availability, holds, confirmation, cancellation."),
        (name = "admin", description = "Provisioning: stations, chargers, connectors, id tags, audit (role admin)."),
        (name = "operator", description = "Operator controls over one charger: commands, admission, credentials, its OCPP message journal (role admin)."),
        (name = "vendors", description = "Vendor clouds: their signed webhooks, vendor accounts and the webhook inbox."),
        (name = "uploads", description = "Where chargers deliver the logs evgate asked for: no auth header, the location's secret token is the key (one request, one charger, 24 hours)."),
        (name = "docs", description = "This document."),
    ),
)]
pub(crate) struct ApiDoc;

/// The security schemes: app and operator bearer tokens, and the headers a
/// vendor cloud signs its webhooks with.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "`Authorization: Bearer <JWT>` (HS256, `JWT_SECRET`): `sub` is the user \
                         id, `role` is `user` or `admin`. The scope `admin` marks routes that \
                         need role admin (403 `FORBIDDEN` otherwise).",
                    ))
                    .build(),
            ),
        );
        for (name, header, description) in [
            (
                "vendorId",
                "X-Evgate-Vendor",
                "The vendor's id (as `POST /v1/admin/vendors` answered).",
            ),
            (
                "vendorTimestamp",
                "X-Evgate-Timestamp",
                "Unix seconds when signed; at most 300 s from the server's clock.",
            ),
            (
                "vendorSignature",
                "X-Evgate-Signature",
                "`sha256=<hex HMAC-SHA256 of \"<timestamp>.<raw body>\" with the vendor's secret>`.",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    header,
                    description,
                ))),
            );
        }
    }
}

/// The error envelope every failure answers with.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "success": false,
    "error": {"code": "VALIDATION_ERROR", "message": "startTs: \"soon\" is not an ISO 8601 timestamp like 2024-01-01T10:00:00Z", "field": "startTs"}
}))]
pub(crate) struct ErrorEnvelope {
    /// Always `false`.
    success: bool,
    error: ErrorBody,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// Machine-readable: `VALIDATION_ERROR`, `UNAUTHORIZED`, `FORBIDDEN`,
    /// `NOT_FOUND`, `METHOD_NOT_ALLOWED`, `CONFLICT`, `SLOT_UNAVAILABLE`,
    /// `HOLD_EXPIRED`, `HOLD_LIMIT_REACHED`, `CONNECTOR_UNAVAILABLE`,
    /// `INVALID_STATE`, `CHARGER_OFFLINE`, `CHARGER_REJECTED`,
    /// `NOT_CONFIGURED`, `IDEMPOTENCY_KEY_REUSED`, `WEBHOOK_UNREADABLE`,
    /// `PAYLOAD_TOO_LARGE`, `URI_TOO_LONG`, `HEADERS_TOO_LARGE`,
    /// `UNSUPPORTED_MEDIA_TYPE`, `RATE_LIMITED`, `SERVICE_UNAVAILABLE`,
    /// `CHARGER_ERROR`, `CHARGER_TIMEOUT`, `INTERNAL_ERROR`.
    #[schema(example = "NOT_FOUND")]
    code: String,
    /// For people; not to be parsed.
    message: String,
    /// The request field at fault (400 only, when there is one).
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// The readiness check that failed (`/ready`'s 503 only): `store`,
    /// `sharedState` or `webhookApplier`.
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<String>,
}

/// Declares `$name`, the success envelope `{"success": true, "data": $data}`
/// as the document shows it (handlers build it with `error::ok`).
macro_rules! envelope {
    ($(#[$meta:meta])* $name:ident, $data:ty) => {
        $(#[$meta])*
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub(crate) struct $name {
            /// Always `true`.
            success: bool,
            data: $data,
        }
    };
}
pub(crate) use envelope;

/// The document's own route, in the document too.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// This document (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "docs",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = serde_json::Value)),
)]
async fn openapi_json() -> Response {
    static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| {
        serde_json::to_vec(&crate::openapi())
            .unwrap_or_default()
            .into()
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.clone(),
    )
        .into_response()
}

/// Swagger UI at `/docs`, reading the document from `/v1/openapi.json`;
/// its online validator badge (a request to a third party) is off.
pub(super) fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new(UI_PATH)
        .config(utoipa_swagger_ui::Config::from(DOCUMENT_PATH).validator_url("none"))
}

/// The responses shared by many routes, as components; each operation gets
/// those that apply to it (a route's own annotation, when it has one for the
/// status, is kept).
fn shared_responses() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "400",
            "BadRequest",
            "`VALIDATION_ERROR`: a path parameter, query parameter or body field is malformed or out of range; `error.field` names it when there is one.",
        ),
        (
            "401",
            "Unauthorized",
            "`UNAUTHORIZED`: no bearer token, or one that does not verify (for vendor webhooks: a missing or wrong signature, or a stale timestamp).",
        ),
        (
            "403",
            "Forbidden",
            "`FORBIDDEN`: the token lacks role admin.",
        ),
        (
            "413",
            "PayloadTooLarge",
            "`PAYLOAD_TOO_LARGE`: the body is over 64 KiB.",
        ),
        (
            "415",
            "UnsupportedMediaType",
            "`UNSUPPORTED_MEDIA_TYPE`: the body is not `application/json`.",
        ),
        (
            "429",
            "RateLimited",
            "`RATE_LIMITED`: a rate limit (per source address; per user for holds; per vendor for webhooks) is reached; `Retry-After` says when to try again.",
        ),
        (
            "500",
            "Internal",
            "`INTERNAL_ERROR`: evgate's own fault (logged, not shown).",
        ),
        (
            "503",
            "Unavailable",
            "`SERVICE_UNAVAILABLE`: a dependency (database, Redis) does not answer; retry later.",
        ),
    ]
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Finishes the document the routers collected: the shared responses,
/// added to each operation they apply to; path parameters required.
pub(crate) fn finish(doc: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    let shared = shared_responses();
    if let Some(responses) = doc
        .pointer_mut("/components")
        .and_then(Value::as_object_mut)
        .map(|c| c.entry("responses").or_insert_with(|| json!({})))
    {
        for (status, name, description) in &shared {
            let mut response = json!({
                "description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
            });
            if *status == "429" {
                response["headers"] = json!({
                    "Retry-After": {
                        "description": "Whole seconds until a request would be served.",
                        "schema": {"type": "integer", "minimum": 0},
                    }
                });
            }
            responses[*name] = response;
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            // A path parameter is always required (a `schema_with` one comes
            // out optional).
            for param in op
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
            {
                param["required"] = json!(true);
            }
            let applies = applicable(path, method, op);
            let responses = op
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut();
            let Some(responses) = responses else { continue };
            for (status, name, _) in &shared {
                if applies.contains(status) && !responses.contains_key(*status) {
                    responses.insert(
                        (*status).to_owned(),
                        json!({"$ref": format!("#/components/responses/{name}")}),
                    );
                }
            }
        }
    }
    doc
}

/// Which shared statuses an operation can answer with, from what it takes:
/// parameters (400), a bearer token (401; 403 for scope admin), a signed
/// webhook (401), a JSON body (400, 413, 415); the store behind every
/// authenticated route (503); the rate limits and the panic net on all
/// (429, 500).
fn applicable(path: &str, method: &str, op: &serde_json::Map<String, Value>) -> Vec<&'static str> {
    let mut statuses = vec!["429", "500"];
    let has_params = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty());
    let has_body = op.contains_key("requestBody");
    if has_params || has_body {
        statuses.push("400");
    }
    if has_body || (method == "post" && path.starts_with("/v1/vendor/")) {
        statuses.extend(["413", "415"]);
    }
    let security = op
        .get("security")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !security.is_empty() {
        statuses.extend(["401", "503"]);
    }
    let admin = security.iter().any(|requirement| {
        requirement
            .get("bearer")
            .and_then(Value::as_array)
            .is_some_and(|scopes| scopes.iter().any(|s| s == "admin"))
    });
    if admin {
        statuses.push("403");
    }
    statuses
}

/// A string schema limited to `values` (a status vocabulary, from its
/// type's `ALL`), `null` allowed when `nullable`.
pub(crate) fn text_enum<I>(values: I, nullable: bool) -> utoipa::openapi::Object
where
    I: IntoIterator<Item = &'static str>,
{
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let mut values: Vec<Value> = values.into_iter().map(Value::from).collect();
    let builder = if nullable {
        values.push(Value::Null);
        ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
    } else {
        ObjectBuilder::new().schema_type(Type::String)
    };
    builder.enum_values(Some(values)).build()
}

/// The connector statuses of the seed's vocabulary.
pub(crate) fn connector_status() -> utoipa::openapi::Object {
    text_enum(
        booking::model::ConnectorStatus::ALL
            .iter()
            .map(|s| s.as_str()),
        false,
    )
}

/// A booking's status.
pub(crate) fn booking_status() -> utoipa::openapi::Object {
    text_enum(
        booking::model::BookingStatus::ALL
            .iter()
            .map(|s| s.as_str()),
        false,
    )
}

/// An operator's admission decision; `null` follows the default policy.
pub(crate) fn admission() -> utoipa::openapi::Object {
    text_enum(
        booking::model::ChargerAdmission::ALL
            .iter()
            .map(|s| s.as_str()),
        true,
    )
}

/// The OCPP version a charger last connected with; `null` before it has.
pub(crate) fn ocpp_version() -> utoipa::openapi::Object {
    text_enum(
        booking::model::OcppVersion::ALL.iter().map(|s| s.as_str()),
        true,
    )
}

/// An id tag's status.
pub(crate) fn id_tag_status() -> utoipa::openapi::Object {
    text_enum(
        booking::model::IdTagStatus::ALL.iter().map(|s| s.as_str()),
        false,
    )
}
