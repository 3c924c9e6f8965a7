//! Bearer tokens: HS256 with `JWT_SECRET` (or a development secret kept
//! beside the SQLite database), or RS256 verified with a PEM public key.
//! Claims: `sub` = user id, `role` = `user` | `admin`, `exp` required.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde_json::{Value, json};

use crate::config::{Config, ConfigError, Role};

/// Who a valid token says the caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    pub user_id: i64,
    pub role: Role,
}

/// Why a token was refused; shown to the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
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

/// Where the keys came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Secret,
    PublicKeyFile(PathBuf),
    /// Generated for an embedded setup; the path says where it is kept.
    DevelopmentSecret {
        path: PathBuf,
        created: bool,
    },
}

impl JwtKeys {
    pub fn hs256(secret: &[u8]) -> Self {
        Self {
            shared_secret: Some(secret.to_vec()),
            algorithm: Algorithm::HS256,
            decoding: DecodingKey::from_secret(secret),
            encoding: Some(EncodingKey::from_secret(secret)),
        }
    }

    pub fn rs256_public_pem(pem: &[u8]) -> Result<Self, String> {
        Ok(Self {
            shared_secret: None,
            algorithm: Algorithm::RS256,
            decoding: DecodingKey::from_rsa_pem(pem).map_err(|e| e.to_string())?,
            encoding: None,
        })
    }

    /// The keys the configuration names; generates the development secret
    /// when an embedded setup has none.
    pub fn from_config(config: &Config) -> Result<(Self, KeySource), ConfigError> {
        if let Some(secret) = &config.jwt_secret {
            return Ok((Self::hs256(secret.as_bytes()), KeySource::Secret));
        }
        if let Some(path) = &config.jwt_public_key_file {
            let pem = std::fs::read(path).map_err(|e| {
                ConfigError::new(
                    "JWT_PUBLIC_KEY_FILE",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let keys = Self::rs256_public_pem(&pem).map_err(|e| {
                ConfigError::new(
                    "JWT_PUBLIC_KEY_FILE",
                    format!("not an RSA public key in PEM: {e}"),
                )
            })?;
            return Ok((keys, KeySource::PublicKeyFile(path.clone())));
        }
        let Some(path) = dev_secret_path(&config.database_url) else {
            return Err(ConfigError::new(
                "JWT_SECRET",
                "is required unless DATABASE_URL names a SQLite file (instances must share it)",
            ));
        };
        let (secret, created) = load_or_create_secret(&path)
            .map_err(|e| ConfigError::new("JWT_SECRET", format!("no secret given and {e}")))?;
        Ok((
            Self::hs256(secret.as_bytes()),
            KeySource::DevelopmentSecret { path, created },
        ))
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

/// `sqlite://dir/evgate.db?mode=rwc` → `dir/evgate.db.jwt-secret`; `None` for
/// PostgreSQL (a cluster must share a configured secret) and in-memory SQLite.
pub fn dev_secret_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let file = rest.split('?').next().unwrap_or(rest);
    if file.is_empty() || file == ":memory:" {
        return None;
    }
    let mut path = PathBuf::from(file).into_os_string();
    path.push(".jwt-secret");
    Some(PathBuf::from(path))
}

/// Reads the secret, or creates it (0600) if absent. `create_new` makes
/// concurrent first starts agree: whoever loses the race reads the winner's.
fn load_or_create_secret(path: &Path) -> Result<(String, bool), String> {
    let read = |path: &Path| -> Result<String, String> {
        let s = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let s = s.trim().to_owned();
        if s.len() < 32 {
            return Err(format!("{} holds no usable secret", path.display()));
        }
        Ok(s)
    };
    if path.exists() {
        return read(path).map(|s| (s, false));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut f) => {
            f.write_all(secret.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok((secret, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path).map(|s| (s, false)),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
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

    #[test]
    fn dev_secret_lives_beside_the_database() {
        assert_eq!(
            dev_secret_path("sqlite://evgate.db"),
            Some(PathBuf::from("evgate.db.jwt-secret"))
        );
        assert_eq!(
            dev_secret_path("sqlite:///var/lib/evgate/e.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/evgate/e.db.jwt-secret"))
        );
        assert_eq!(dev_secret_path("sqlite::memory:"), None);
        assert_eq!(dev_secret_path("postgres://x/y"), None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db.jwt-secret");
        let (a, created) = load_or_create_secret(&path).unwrap();
        assert!(created);
        let (b, created) = load_or_create_secret(&path).unwrap();
        assert!(!created);
        assert_eq!(a, b);
    }
}
