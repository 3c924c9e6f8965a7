//! OCPI's response envelope: `data`, `status_code`, `status_message`,
//! `timestamp`, on success and failure alike.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// OCPI's success code.
pub(crate) const SUCCESS: u16 = 1000;

/// An OCPI DateTime: UTC with a `Z`, whole seconds (every OCPI version
/// accepts that form).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An OCPI DateTime as a partner sent it: RFC 3339, or without a zone
/// (OCPI's own form, UTC).
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// 200 with `data` and status 1000.
pub(crate) fn success(data: Value) -> Response {
    respond(
        StatusCode::OK,
        json!({
            "data": data,
            "status_code": SUCCESS,
            "status_message": "Success",
            "timestamp": timestamp(Utc::now()),
        }),
    )
}

/// An error response: no `data`.
pub(crate) fn failure(status: StatusCode, code: u16, message: &str) -> Response {
    respond(
        status,
        json!({
            "status_code": code,
            "status_message": message,
            "timestamp": timestamp(Utc::now()),
        }),
    )
}

fn respond(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A partner's answer, read: its `status_code` and `data`. `None` when the
/// body is not an OCPI envelope.
pub(crate) fn read(body: &[u8]) -> Option<(u64, Value)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let code = v.get("status_code")?.as_u64()?;
    Some((code, v.get("data").cloned().unwrap_or(Value::Null)))
}
