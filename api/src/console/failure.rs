//! How a console request fails: the status the API would answer with and
//! its message, as a small page (or a redirect to sign in).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::ApiError;

/// A failed console request.
#[derive(Debug)]
pub(super) enum Failure {
    /// Not signed in (or the session ended): to the sign-in page.
    SignIn,
    /// Anything else, with the status and message the API would give.
    Api(ApiError),
}

impl Failure {
    /// 403: the operator's role does not allow it.
    pub(super) fn forbidden(message: &str) -> Self {
        Self::Api(ApiError::Forbidden(message.to_owned()))
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<webhooks::WebhookError> for Failure {
    fn from(e: webhooks::WebhookError) -> Self {
        Self::Api(e.into())
    }
}

impl From<booking::Error> for Failure {
    fn from(e: booking::Error) -> Self {
        Self::Api(e.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let error = match self {
            Failure::SignIn => return Redirect::to("/console/sign-in").into_response(),
            Failure::Api(e) => e,
        };
        let status = error.status();
        let message = match &error {
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "console request failed");
                "evgate failed on its side; the log says why".to_owned()
            }
            other => other.to_string(),
        };
        let body = html! {
            p.error role="alert" { (message) }
            p { a href="/console" { "Back to the overview" } }
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let mut response = (status, super::layout::page(title, None, body)).into_response();
        if let ApiError::RateLimited { retry_after, .. } = error {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

/// What console handlers return.
pub(super) type PageResult<T = maud::Markup> = Result<T, Failure>;

/// An id from a path or a form: 400 naming the field unless it is a UUID.
pub(super) fn uuid_of(field: &str, raw: &str, what: &str) -> Result<uuid::Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bad_request(field, format!("must be {what} id (UUID)")))
}
