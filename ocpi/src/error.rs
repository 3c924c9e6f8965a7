//! The one mapping from OCPI failures to an HTTP status and the OCPI
//! envelope's `status_code` (spec: transport_and_format, status_codes).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::envelope;

/// Every way an OCPI request can fail, mapped once to HTTP and OCPI codes.
#[derive(Debug, thiserror::Error)]
pub enum OcpiError {
    /// 401: no `Authorization: Token …`, or a token evgate did not issue
    /// (or one only good for registration, used on another module).
    #[error("{0}")]
    Unauthorized(String),
    /// 400 / 2001: a body that is not JSON at all.
    #[error("{0}")]
    MalformedJson(String),
    /// 2001: invalid or missing parameters, or an object that breaks
    /// OCPI's rules; with HTTP 200, as OCPI wants for any request that
    /// reached it authenticated and readable.
    #[error("{0}")]
    InvalidParameters(String),
    /// 2002: not enough information (e.g. no role besides CPO offered).
    #[error("{0}")]
    NotEnoughInformation(String),
    /// 404 / 2003: unknown Location (or EVSE or Connector in it).
    #[error("{0}")]
    UnknownLocation(String),
    /// 404 / 2004: unknown Token.
    #[error("{0}")]
    UnknownToken(String),
    /// 404 / 2000: no such object of the caller's (a Booking).
    #[error("{0}")]
    UnknownObject(String),
    /// 404 / 2000: OCPI is not configured on this gateway.
    #[error("OCPI is not enabled on this gateway: set OCPI_COUNTRY_CODE and OCPI_PARTY_ID")]
    Disabled,
    /// 405 / 2000: POST credentials when registered, PUT or DELETE when not.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 3001: the partner's API could not be used (its versions endpoint
    /// did not answer as OCPI says).
    #[error("{0}")]
    PartnerApiUnusable(String),
    /// 3002: no version both sides speak.
    #[error("{0}")]
    UnsupportedVersion(String),
    /// 3003: the partner's version offers no endpoint evgate needs.
    #[error("{0}")]
    NoMatchingEndpoints(String),
    /// 500 / 3000: evgate's own fault; the detail is logged, not shown.
    #[error("{0}")]
    Internal(String),
}

/// What OCPI code and HTTP status an error is.
impl OcpiError {
    /// The envelope's `status_code`.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Unauthorized(_)
            | Self::MethodNotAllowed(_)
            | Self::Disabled
            | Self::UnknownObject(_) => 2000,
            Self::MalformedJson(_) | Self::InvalidParameters(_) => 2001,
            Self::NotEnoughInformation(_) => 2002,
            Self::UnknownLocation(_) => 2003,
            Self::UnknownToken(_) => 2004,
            Self::Internal(_) => 3000,
            Self::PartnerApiUnusable(_) => 3001,
            Self::UnsupportedVersion(_) => 3002,
            Self::NoMatchingEndpoints(_) => 3003,
        }
    }

    /// The HTTP status it goes out with.
    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Self::UnknownLocation(_)
            | Self::UnknownToken(_)
            | Self::UnknownObject(_)
            | Self::Disabled => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            // OCPI: a request that reached the OCPI layer authenticated and
            // readable gets no HTTP error; the status_code tells.
            Self::InvalidParameters(_)
            | Self::NotEnoughInformation(_)
            | Self::PartnerApiUnusable(_)
            | Self::UnsupportedVersion(_)
            | Self::NoMatchingEndpoints(_) => StatusCode::OK,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<booking::Error> for OcpiError {
    fn from(e: booking::Error) -> Self {
        match e {
            booking::Error::Validation { field, message } => {
                Self::InvalidParameters(format!("{field} {message}"))
            }
            booking::Error::NotFound { what, id } => {
                Self::UnknownLocation(format!("{what} {id} not found"))
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for OcpiError {
    fn into_response(self) -> Response {
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "OCPI request failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        envelope::failure(self.http_status(), self.status_code(), &message)
    }
}

/// What OCPI handlers return.
pub type Result<T, E = OcpiError> = std::result::Result<T, E>;
