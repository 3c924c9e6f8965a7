//! Charger passwords (security profiles 1 and 2): the rules OCPP sets on
//! them, and argon2 hashing so the database never holds one in clear.
//!
//! Hashing is deliberately slow (tens of milliseconds); async callers run it
//! on a blocking thread.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

use crate::error::{Error, Result};

/// OCPP 1.6 security whitepaper and 2.0.1 `BasicAuthPassword`: 16 to 40 characters.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 16..=40;

/// Checks a charger password against OCPP's length rule and printability.
pub fn validate_password(field: &str, password: &str) -> Result<()> {
    let n = password.chars().count();
    if !PASSWORD_CHARS.contains(&n) {
        return Err(Error::validation(
            field,
            format!(
                "must be {} to {} characters, got {n}",
                PASSWORD_CHARS.start(),
                PASSWORD_CHARS.end()
            ),
        ));
    }
    if password.chars().any(|c| c.is_control()) {
        return Err(Error::validation(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// argon2id PHC string with a fresh 128-bit salt.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
}

/// Constant-time check of a password against a stored hash; a malformed hash
/// never verifies.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_right_password() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn two_hashes_of_one_password_differ_by_salt() {
        assert_ne!(
            hash_password("0123456789abcdef").unwrap(),
            hash_password("0123456789abcdef").unwrap()
        );
    }

    #[test]
    fn length_rule_is_16_to_40_characters() {
        assert!(validate_password("password", &"x".repeat(15)).is_err());
        assert!(validate_password("password", &"x".repeat(16)).is_ok());
        assert!(validate_password("password", &"x".repeat(40)).is_ok());
        assert!(validate_password("password", &"x".repeat(41)).is_err());
        assert!(validate_password("password", "0123456789abcde\n").is_err());
    }
}
