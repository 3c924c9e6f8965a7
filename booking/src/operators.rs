//! Operator accounts: the people who run the network from the console.
//! An operator has a name, a role and an argon2id password hash; a signed-in
//! browser holds a [`ConsoleSession`]. Viewers see everything and change
//! nothing; admins may change what the admin API changes.

use chrono::{DateTime, Utc};

use crate::credentials;
use crate::error::{Error, Result};

/// What an operator may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorRole {
    /// Sees and changes.
    Admin,
    /// Sees only.
    Viewer,
}

impl OperatorRole {
    /// The stored and displayed word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }
}

impl std::str::FromStr for OperatorRole {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "admin" => Ok(Self::Admin),
            "viewer" => Ok(Self::Viewer),
            other => Err(format!("unknown operator role {other:?} (admin or viewer)")),
        }
    }
}

impl std::fmt::Display for OperatorRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored operator account.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    /// Assigned by the store.
    pub id: i64,
    /// What they sign in with and what the audit log names.
    pub name: String,
    /// What they may do.
    pub role: OperatorRole,
    /// argon2id PHC string.
    pub password_hash: String,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
}

impl Operator {
    /// Who the audit log names for this operator's changes.
    pub fn actor(&self) -> String {
        format!("operator:{}", self.name)
    }
}

/// A signed-in browser. The browser holds the token; the store only its
/// hash, so a copy of the table signs nobody in.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleSession {
    /// SHA-256 of the token the browser's cookie carries (hex).
    pub token_hash: String,
    /// Whose session it is.
    pub operator_id: i64,
    /// What every form of this session posts back (CSRF).
    pub csrf_token: String,
    /// When it ends, signed out or not.
    pub expires_at: DateTime<Utc>,
}

/// Operator passwords: long enough to resist guessing at the throttled
/// sign-in rate, short enough to type.
pub const OPERATOR_PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 12..=128;

/// Names are what an operator types and what logs show: letters, digits and
/// `.`, `_`, `-`, `@`, 1 to 64 of them.
pub fn validate_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) {
        return Err(Error::validation(
            "name",
            "must be 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
        ));
    }
    Ok(())
}

/// Checks a new operator password.
pub fn validate_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !OPERATOR_PASSWORD_CHARS.contains(&n) {
        return Err(Error::validation(
            "password",
            format!(
                "must be {} to {} characters, got {n}",
                OPERATOR_PASSWORD_CHARS.start(),
                OPERATOR_PASSWORD_CHARS.end()
            ),
        ));
    }
    if password.chars().any(|c| c.is_control()) {
        return Err(Error::validation(
            "password",
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// An operator not yet stored (`id` 0), its password validated and hashed.
/// Slow (argon2): async callers run it on a blocking thread.
pub fn new_operator(
    name: &str,
    role: OperatorRole,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Operator> {
    validate_name(name)?;
    validate_password(password)?;
    Ok(Operator {
        id: 0,
        name: name.to_owned(),
        role,
        password_hash: credentials::hash_password(password)?,
        created_at: now,
    })
}

/// Whether `password` signs `operator` in. For an unknown name the same
/// argon2 work is done against a throwaway hash, so the answer's timing does
/// not tell which names exist. Slow: run it on a blocking thread.
pub fn check_sign_in(operator: Option<&Operator>, password: &str) -> bool {
    static UNKNOWN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match operator {
        Some(op) => credentials::verify_password(password, &op.password_hash),
        None => {
            let hash = UNKNOWN.get_or_init(|| {
                credentials::hash_password("no operator has this name").unwrap_or_default()
            });
            let _ = credentials::verify_password(password, hash);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn a_new_operator_signs_in_with_its_password_and_no_other() {
        let op = new_operator("ana", OperatorRole::Viewer, "correct horse battery", at())
            .expect("valid");
        assert_ne!(op.password_hash, "correct horse battery");
        assert!(check_sign_in(Some(&op), "correct horse battery"));
        assert!(!check_sign_in(Some(&op), "correct horse batterY"));
        assert!(!check_sign_in(None, "correct horse battery"));
        assert_eq!(op.actor(), "operator:ana");
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(new_operator("", OperatorRole::Admin, "long enough pass", at()).is_err());
        assert!(new_operator("a b", OperatorRole::Admin, "long enough pass", at()).is_err());
        assert!(new_operator("ops@site-1", OperatorRole::Admin, "short", at()).is_err());
        assert!(
            new_operator(
                "ops@site-1",
                OperatorRole::Admin,
                "tab\there password",
                at()
            )
            .is_err()
        );
        assert_eq!("ADMIN".parse::<OperatorRole>(), Ok(OperatorRole::Admin));
        assert!("root".parse::<OperatorRole>().is_err());
    }
}
