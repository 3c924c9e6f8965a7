//! Bearer tokens: HS256 with a shared secret, or RS256 verified with a PEM
//! public key (which keys, the server binary decides from its configuration).
//! Claims: `sub` = user id, `role` = `user` | `admin`, `exp` required.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

/// What a token lets its bearer do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An app user: their own bookings, public station data.
    User,
    /// An operator: the admin API too.
    Admin,
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Self::User),
            "admin" => Ok(Self::Admin),
            other => Err(format!("unknown role {other:?} (user or admin)")),
        }
    }
}

/// Who a valid token says the caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    /// The token's `sub`: the app's user id, which owns bookings.
    pub user_id: i64,
    /// The token's `role` (`user` when absent).
    pub role: Role,
}

/// Why a token was refused; shown to the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Past its `exp` (30 s leeway).
    #[error("the token has expired")]
    Expired,
    /// Bad signature, algorithm, claims or shape.
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// The keys the server verifies with (and, for HS256, signs with).
pub struct JwtKeys {
    /// The HS256 secret, which also seeds other keys (credential sealing)
    /// when no dedicated one is configured.
    shared_secret: Option<Vec<u8>>,
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Signs and verifies with a shared secret.
    pub fn hs256(secret: &[u8]) -> Self {
        Self {
            shared_secret: Some(secret.to_vec()),
            algorithm: Algorithm::HS256,
            decoding: DecodingKey::from_secret(secret),
            encoding: Some(EncodingKey::from_secret(secret)),
        }
    }

    /// Verifies RS256 tokens an identity provider signed; issues none.
    pub fn rs256_public_pem(pem: &[u8]) -> Result<Self, String> {
        Ok(Self {
            shared_secret: None,
            algorithm: Algorithm::RS256,
            decoding: DecodingKey::from_rsa_pem(pem).map_err(|e| e.to_string())?,
            encoding: None,
        })
    }

    /// The HS256 secret, if that is what tokens are signed with.
    pub fn shared_secret(&self) -> Option<&[u8]> {
        self.shared_secret.as_deref()
    }

    /// Signs a token; only possible with an HS256 secret.
    pub fn issue(
        &self,
        user_id: i64,
        role: Role,
        ttl: Duration,
        now_unix: i64,
    ) -> Result<String, String> {
        let Some(key) = &self.encoding else {
            return Err("tokens for RS256 are issued by your identity provider; \
                        set JWT_SECRET to issue HS256 tokens"
                .to_owned());
        };
        let exp = now_unix.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
        let claims =
            json!({ "sub": user_id.to_string(), "role": role, "iat": now_unix, "exp": exp });
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, key).map_err(|e| e.to_string())
    }

    /// Checks signature, algorithm and expiry, and reads the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(self.algorithm);
        validation.set_required_spec_claims(&["exp"]);
        validation.leeway = 30;
        // A token not valid yet (`nbf`) is refused like an expired one.
        validation.validate_nbf = true;
        // Decoded as a Value: robust to how the issuer typed `sub`, and to
        // serde_json's arbitrary_precision (see docs/STACK notes).
        let data = jsonwebtoken::decode::<Value>(token, &self.decoding, &validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            },
        )?;
        let claims = data.claims;
        let user_id = match claims.get("sub") {
            Some(Value::String(s)) => s.parse::<i64>().ok(),
            Some(Value::Number(n)) => n.as_i64(),
            _ => None,
        }
        .ok_or_else(|| TokenError::Invalid("`sub` must be an integer user id".into()))?;
        let role = match claims.get("role").and_then(Value::as_str) {
            None | Some("user") => Role::User,
            Some("admin") => Role::Admin,
            Some(other) => return Err(TokenError::Invalid(format!("unknown role {other:?}"))),
        };
        Ok(Claims { user_id, role })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn issued_tokens_verify_with_their_claims() {
        let keys = JwtKeys::hs256(SECRET);
        let t = keys
            .issue(42, Role::Admin, Duration::from_secs(60), now())
            .unwrap();
        assert_eq!(
            keys.verify(&t).unwrap(),
            Claims {
                user_id: 42,
                role: Role::Admin
            }
        );
    }

    #[test]
    fn expired_wrong_key_and_garbage_are_refused() {
        let keys = JwtKeys::hs256(SECRET);
        let old = keys
            .issue(1, Role::User, Duration::from_secs(60), now() - 3600)
            .unwrap();
        assert_eq!(keys.verify(&old), Err(TokenError::Expired));
        let other = JwtKeys::hs256(b"another secret of thirty-two chars!!");
        let t = other
            .issue(1, Role::User, Duration::from_secs(60), now())
            .unwrap();
        assert!(matches!(keys.verify(&t), Err(TokenError::Invalid(_))));
        assert!(matches!(
            keys.verify("not.a.token"),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn numeric_sub_is_accepted_and_exp_is_required() {
        let keys = JwtKeys::hs256(SECRET);
        let enc = EncodingKey::from_secret(SECRET);
        let t = jsonwebtoken::encode(
            &Header::default(),
            &json!({"sub": 7, "exp": now() + 60}),
            &enc,
        )
        .unwrap();
        assert_eq!(keys.verify(&t).unwrap().user_id, 7);
        let t = jsonwebtoken::encode(&Header::default(), &json!({"sub": "7"}), &enc).unwrap();
        assert!(keys.verify(&t).is_err());
        let t = jsonwebtoken::encode(
            &Header::default(),
            &json!({"sub": "bob", "exp": now() + 60}),
            &enc,
        )
        .unwrap();
        assert!(keys.verify(&t).is_err());
    }

    #[test]
    fn a_token_not_valid_yet_is_refused() {
        let keys = JwtKeys::hs256(SECRET);
        let enc = EncodingKey::from_secret(SECRET);
        let token = |nbf: i64| {
            jsonwebtoken::encode(
                &Header::default(),
                &json!({"sub": "7", "exp": now() + 3600, "nbf": nbf}),
                &enc,
            )
            .unwrap()
        };
        assert!(
            keys.verify(&token(now() + 600)).is_err(),
            "ten minutes early"
        );
        assert_eq!(keys.verify(&token(now() - 5)).unwrap().user_id, 7);
    }
}
