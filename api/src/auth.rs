//! Authentication as extractors: a handler that takes [`AuthUser`] needs a
//! valid bearer token; one that takes [`AdminUser`] needs role `admin`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::jwt::{Claims, Role};

/// A caller with a valid token.
#[derive(Debug, Clone, Copy)]
pub(super) struct AuthUser(pub Claims);

/// A caller with a valid token and role `admin`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdminUser(pub Claims);

impl AdminUser {
    /// Who the audit log names: the token's `sub`.
    pub(crate) fn actor(&self) -> String {
        self.0.user_id.to_string()
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer token".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                let (scheme, token) = h.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("Authorization must be `Bearer <token>`".into())
            })?;
        Ok(AuthUser(state.jwt.verify(token)?))
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AuthUser(claims) = AuthUser::from_request_parts(parts, state).await?;
        if claims.role != Role::Admin {
            return Err(ApiError::Forbidden("this endpoint needs role admin".into()));
        }
        Ok(AdminUser(claims))
    }
}
