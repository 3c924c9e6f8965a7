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

/// The working memory of one argon2 verification (19 MiB with the default
/// parameters), kept between verifications: a thread that checks
/// passwords all day allocates it once, instead of leaving the allocator
/// a fresh 19 MiB to keep after each check.
#[derive(Debug, Default)]
pub struct VerifierMemory(Vec<argon2::Block>);

/// [`hash_password`], computed in `memory` (kept by the caller, so a thread
/// hashing many passwords holds one working memory, not one per call).
pub fn hash_password_in(password: &str, memory: &mut VerifierMemory) -> Result<String> {
    use argon2::password_hash::{Output, ParamsString};
    let internal = |e: &dyn std::fmt::Display| Error::Internal(format!("hashing a password: {e}"));
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt_string = SaltString::encode_b64(&salt).map_err(|e| internal(&e))?;
    let params = argon2::Params::default();
    let blocks = params.block_count();
    if memory.0.len() < blocks {
        memory.0.resize(blocks, argon2::Block::default());
    }
    let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
    let algorithm = argon2::Algorithm::Argon2id;
    let version = argon2::Version::V0x13;
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut out,
            &mut memory.0[..blocks],
        )
        .map_err(|e| internal(&e))?;
    let hash = PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(&params).map_err(|e| internal(&e))?,
        salt: Some(salt_string.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| internal(&e))?),
    };
    Ok(hash.to_string())
}

/// [`verify_password`], computed in `memory`.
pub fn verify_password_in(password: &str, hash: &str, memory: &mut VerifierMemory) -> bool {
    verify_in(password, hash, memory).unwrap_or(false)
}

fn verify_in(password: &str, hash: &str, memory: &mut VerifierMemory) -> Option<bool> {
    use argon2::password_hash::Output;
    let parsed = PasswordHash::new(hash).ok()?;
    let algorithm = argon2::Algorithm::try_from(parsed.algorithm).ok()?;
    let version = parsed
        .version
        .map(argon2::Version::try_from)
        .transpose()
        .ok()?
        .unwrap_or_default();
    let params = argon2::Params::try_from(&parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    let blocks = params.block_count();
    if memory.0.len() < blocks {
        memory.0.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut out,
            &mut memory.0[..blocks],
        )
        .ok()?;
    // Output's equality is constant-time.
    Some(Output::new(&out).ok()? == expected)
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
    fn hashing_in_kept_memory_makes_the_same_kind_of_hash() {
        let mut memory = VerifierMemory::default();
        let h = hash_password_in("correct horse battery", &mut memory).unwrap();
        let plain = hash_password("correct horse battery").unwrap();
        // Same algorithm, version and parameters: only salt and output differ.
        let head = |h: &str| h.rsplitn(3, '$').nth(2).unwrap().to_owned();
        assert_eq!(head(&h), head(&plain), "{h} vs {plain}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert_ne!(
            h,
            hash_password_in("correct horse battery", &mut memory).unwrap()
        );
    }

    #[test]
    fn verifying_in_kept_memory_agrees_and_reuses_it() {
        let h = hash_password("correct horse battery").unwrap();
        let mut memory = VerifierMemory::default();
        assert!(verify_password_in("correct horse battery", &h, &mut memory));
        let size = memory.0.len();
        assert!(size > 0);
        assert!(!verify_password_in(
            "correct horse batterz",
            &h,
            &mut memory
        ));
        assert!(!verify_password_in(
            "correct horse battery",
            "not a hash",
            &mut memory
        ));
        assert_eq!(memory.0.len(), size, "the memory is reused, not grown");
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
