//! The one mapping from errors to HTTP: a status and the envelope
//! `{"success": false, "error": {"code", "message", "field"?}}`. Internal
//! details are logged here, once, and never shown to the caller.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::jwt::TokenError;

/// Every way a request can fail, each mapped once to an HTTP status and the
/// seed's error envelope `{success: false, error: {code, message, field?}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `VALIDATION_ERROR`, naming the offending field when there is one.
    #[error("{message}")]
    BadRequest {
        /// The request field at fault (`startTs`, `connectorId`, …).
        field: Option<String>,
        /// What is wrong with it, for the caller.
        message: String,
    },
    /// 401: no token, or one that does not verify.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a valid token without the role or ownership needed.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 405.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409 with a code that says which conflict: `CONFLICT` (already
    /// exists), `SLOT_UNAVAILABLE`, `HOLD_EXPIRED`, `HOLD_LIMIT_REACHED`, `CONNECTOR_UNAVAILABLE`,
    /// `INVALID_STATE`, `WEBHOOK_UNREADABLE`.
    #[error("{1}")]
    Conflict(&'static str, String),
    /// 413.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 414.
    #[error("{0}")]
    UriTooLong(String),
    /// 431.
    #[error("{0}")]
    HeadersTooLarge(String),
    /// 415: a body that is not `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429 `RATE_LIMITED`, with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        /// Which limit, for the caller.
        message: String,
        /// Whole seconds until a request would be served.
        retry_after: u64,
    },
    /// 503: a dependency (database, Redis) is down; the caller may retry.
    #[error("{0}")]
    Unavailable(String),
    /// A charger answered a command with an error.
    #[error("{0}")]
    BadGateway(String),
    /// A charger did not answer a command in time.
    #[error("{0}")]
    GatewayTimeout(String),
    /// 500: evgate's own fault; the detail is logged, not shown.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 naming the field at fault.
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// The HTTP status this error answers with.
    pub(crate) fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "VALIDATION_ERROR"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            ApiError::Conflict(code, _) => (StatusCode::CONFLICT, code),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            ApiError::UriTooLong(_) => (StatusCode::URI_TOO_LONG, "URI_TOO_LONG"),
            ApiError::HeadersTooLarge(_) => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "HEADERS_TOO_LARGE",
            ),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
            }
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "CHARGER_ERROR"),
            ApiError::GatewayTimeout(_) => (StatusCode::GATEWAY_TIMEOUT, "CHARGER_TIMEOUT"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        }
    }
}

impl From<csms::commands::CommandError> for ApiError {
    fn from(e: csms::commands::CommandError) -> Self {
        use csms::commands::CommandError as E;
        match e {
            E::Invalid(m) => ApiError::bad_request("payload", m),
            E::Offline | E::Busy => ApiError::Conflict("CHARGER_OFFLINE", e.to_string()),
            E::Timeout => ApiError::GatewayTimeout(e.to_string()),
            E::Charger(_) | E::Relayed(_) => ApiError::BadGateway(e.to_string()),
        }
    }
}

impl From<evgate_operator::RotationError> for ApiError {
    fn from(e: evgate_operator::RotationError) -> Self {
        use evgate_operator::RotationError as E;
        match e {
            E::Domain(e) => e.into(),
            E::NotConfigured(m) => ApiError::Conflict("NOT_CONFIGURED", m),
            E::Charger(e) => e.into(),
        }
    }
}

impl From<booking::Error> for ApiError {
    fn from(e: booking::Error) -> Self {
        use booking::Error as E;
        match e {
            E::Validation { field, message } => ApiError::BadRequest {
                message: format!("{field}: {message}"),
                field: Some(field),
            },
            E::NotFound { what, id } => ApiError::NotFound(format!("{what} {id} not found")),
            E::Conflict(m) => ApiError::Conflict("CONFLICT", m),
            E::Overlap => ApiError::Conflict("SLOT_UNAVAILABLE", E::Overlap.to_string()),
            E::HoldExpired => ApiError::Conflict("HOLD_EXPIRED", E::HoldExpired.to_string()),
            E::TooManyHolds(_) => ApiError::Conflict("HOLD_LIMIT_REACHED", e.to_string()),
            E::ConnectorUnavailable(m) => ApiError::Conflict("CONNECTOR_UNAVAILABLE", m),
            E::InvalidState(m) => ApiError::Conflict("INVALID_STATE", m),
            E::Unavailable(m) => ApiError::Unavailable(m),
            E::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<webhooks::WebhookError> for ApiError {
    fn from(e: webhooks::WebhookError) -> Self {
        use webhooks::WebhookError as E;
        match e {
            E::Unauthorized(m) => ApiError::Unauthorized(m),
            E::Forbidden(m) => ApiError::Forbidden(m),
            E::KeyReused(_) => ApiError::Conflict("IDEMPOTENCY_KEY_REUSED", e.to_string()),
            E::Unreadable { .. } => ApiError::Conflict("WEBHOOK_UNREADABLE", e.to_string()),
            E::RateLimited(wait) => ApiError::RateLimited {
                message: e.to_string(),
                retry_after: wait.seconds(),
            },
            E::Validation { field, message } => ApiError::BadRequest {
                message: format!("{field}: {message}"),
                field: Some(field),
            },
            E::Core(e) => e.into(),
        }
    }
}

impl From<ocpi::OcpiError> for ApiError {
    fn from(e: ocpi::OcpiError) -> Self {
        use ocpi::OcpiError as E;
        match e {
            E::Disabled => ApiError::Conflict("OCPI_DISABLED", e.to_string()),
            E::MalformedJson(m) | E::InvalidParameters(m) | E::NotEnoughInformation(m) => {
                ApiError::BadRequest {
                    field: None,
                    message: m,
                }
            }
            E::UnknownLocation(m) | E::UnknownToken(m) | E::UnknownObject(m) => {
                ApiError::NotFound(m)
            }
            E::Internal(m) => ApiError::Internal(m),
            other => ApiError::BadGateway(other.to_string()),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        ApiError::Unauthorized(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(error.detail = %detail, "internal error");
                "internal error".to_owned()
            }
            ApiError::Unavailable(detail) => {
                tracing::warn!(error.detail = %detail, "dependency unavailable");
                "service temporarily unavailable".to_owned()
            }
            other => other.to_string(),
        };
        let mut error = json!({ "code": code, "message": message });
        if let ApiError::BadRequest { field: Some(f), .. } = &self {
            error["field"] = json!(f);
        }
        let mut response =
            (status, Json(json!({ "success": false, "error": error }))).into_response();
        if let ApiError::RateLimited { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, (*retry_after).into());
        }
        // A body refused before it was read whole leaves the rest unread on
        // the connection: close it, and say so, so no client sends its next
        // request down it.
        if let ApiError::PayloadTooLarge(_) = &self {
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

/// The success envelope `{"success": true, "data": …}`.
pub(super) fn ok<T: serde::Serialize>(data: T) -> Json<serde_json::Value> {
    Json(json!({ "success": true, "data": data }))
}

/// 201 with the success envelope.
pub(super) fn created<T: serde::Serialize>(data: T) -> (StatusCode, Json<serde_json::Value>) {
    (StatusCode::CREATED, ok(data))
}

pub(super) type ApiResult<T> = Result<T, ApiError>;
