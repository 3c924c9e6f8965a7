//! A vendor cloud that reports for some connectors, and the secrets its
//! webhooks are signed with.

use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use uuid::Uuid;

use crate::signature;

/// How long the previous secret keeps working after a rotation, unless the
/// operator says otherwise: time for the vendor to deploy the new one.
pub const DEFAULT_ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);

/// A vendor cloud that reports for its connectors through signed webhooks.
#[derive(Debug, Clone, PartialEq)]
pub struct Vendor {
    /// Its id, sent in the `X-Evgate-Vendor` header.
    pub id: Uuid,
    /// Display name, unique.
    pub name: String,
    /// The current signing secret (`whsec_…`); kept in clear, since verifying
    /// an HMAC needs it.
    pub secret: String,
    /// Still accepted until `previous_secret_expires_at`, during a rotation.
    pub previous_secret: Option<String>,
    /// When the previous secret stops working (UTC).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When an operator created it (UTC).
    pub created_at: DateTime<Utc>,
}

impl Vendor {
    /// A new vendor with a fresh random secret.
    pub fn new(name: String, now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::new_v4(),
            name,
            secret: new_secret(),
            previous_secret: None,
            previous_secret_expires_at: None,
            created_at: now,
        }
    }

    /// Whether `signature` signs `timestamp.body` with the current secret or,
    /// during a rotation, the previous one. Both are checked, in constant
    /// time each, so timing does not tell which one matched.
    pub fn signed(&self, timestamp: i64, body: &[u8], sig: &str, now: DateTime<Utc>) -> bool {
        let current = signature::verify(self.secret.as_bytes(), timestamp, body, sig);
        let previous = match (&self.previous_secret, self.previous_secret_expires_at) {
            (Some(secret), Some(until)) if now < until => {
                signature::verify(secret.as_bytes(), timestamp, body, sig)
            }
            _ => false,
        };
        current | previous
    }
}

/// 32 random bytes, hex: `whsec_` marks what it is in logs and configs.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("whsec_{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_secret_works_only_until_it_expires() {
        let now = Utc::now();
        let mut v = Vendor::new("acme".into(), now);
        let old = v.secret.clone();
        v.previous_secret = Some(old.clone());
        v.previous_secret_expires_at = Some(now + TimeDelta::hours(1));
        v.secret = new_secret();
        let by_old = signature::sign(old.as_bytes(), 1, b"{}");
        let by_new = signature::sign(v.secret.as_bytes(), 1, b"{}");
        assert!(v.signed(1, b"{}", &by_new, now));
        assert!(v.signed(1, b"{}", &by_old, now));
        assert!(!v.signed(1, b"{}", &by_old, now + TimeDelta::hours(2)));
        assert!(v.signed(1, b"{}", &by_new, now + TimeDelta::hours(2)));
    }

    #[test]
    fn secrets_are_random_and_long() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 6 + 64);
    }
}
