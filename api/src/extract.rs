//! Extractors whose rejections speak the error envelope and name the
//! offending field, instead of axum's plain-text defaults.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// 415 unless the request says its body is JSON (`application/json`, or
/// a `+json` type, parameters allowed).
pub(super) fn json_content_type(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim();
            m.eq_ignore_ascii_case("application/json") || m.ends_with("+json")
        });
    if is_json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            "expected a body with Content-Type: application/json".into(),
        ))
    }
}

/// A body's bytes, whatever their type: too large → 413, unreadable → 400,
/// both in the envelope.
#[derive(Debug)]
pub(super) struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(body_error)
    }
}

fn body_error(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("request body too large".into())
    } else {
        ApiError::BadRequest {
            field: None,
            message: e.body_text(),
        }
    }
}

/// A JSON body. Wrong content type → 415, too large → 413, malformed or
/// mistyped → 400 naming the field.
#[derive(Debug)]
pub(super) struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        json_content_type(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value =
            serde_path_to_error::deserialize(&mut de).map_err(|e| deser_error(e, "body"))?;
        de.end().map_err(|e| ApiError::BadRequest {
            field: None,
            message: format!("malformed JSON: {e}"),
        })?;
        Ok(ApiJson(value))
    }
}

/// A query string, with the same field-naming rejections.
#[derive(Debug)]
pub(super) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| deser_error(e, "query"))
    }
}

/// A path parameter that must be a UUID.
#[derive(Debug)]
pub(super) struct UuidPath(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for UuidPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::BadRequest {
                    field: Some("id".into()),
                    message: e.body_text(),
                })?;
        raw.parse()
            .map(UuidPath)
            .map_err(|_| ApiError::bad_request("id", format!("id: {raw:?} is not a UUID")))
    }
}

/// Names the field serde stopped at: its path, or for a missing field the
/// name serde reports.
fn deser_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>, what: &str) -> ApiError {
    let inner = e.inner().to_string();
    let path = e.path().to_string();
    let field = if path != "." && !path.is_empty() {
        Some(path)
    } else {
        inner
            .split_once("missing field `")
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(name, _)| name.to_owned())
    };
    let message = match &field {
        Some(f) => format!("{f}: {inner}"),
        None => format!("malformed {what}: {inner}"),
    };
    ApiError::BadRequest { field, message }
}

/// `?limit=&offset=` on the list endpoints (checked by `catalog::page`).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PageQuery {
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    pub offset: Option<i64>,
}
