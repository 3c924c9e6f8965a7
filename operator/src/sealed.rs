//! Sealing what must wait in the database in a form the gateway can read
//! back but a database reader cannot: a new charger password queued for an
//! offline charger (the charger must be told the password itself, so a hash
//! will not do). ChaCha20-Poly1305 under a key derived from
//! `CREDENTIAL_KEY` (or the JWT secret), bound to the charger it is for.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Seals and opens values for one gateway deployment (every instance
/// derives the same key from the same secret).
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").finish_non_exhaustive()
    }
}

impl Sealer {
    /// Derives the sealing key from a secret; other uses of that secret
    /// (signing JWTs) never see this key.
    pub fn from_secret(secret: &[u8]) -> Self {
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret),
            b"evgate/pending-charger-credentials/v1",
        );
        #[allow(
            clippy::expect_used,
            reason = "32 bytes in, a 32-byte key: cannot fail"
        )]
        let key = UnboundKey::new(&CHACHA20_POLY1305, derived.as_ref())
            .expect("HMAC-SHA256 output is a ChaCha20 key's length");
        Self {
            key: LessSafeKey::new(key),
            rng: SystemRandom::new(),
        }
    }

    /// `hex(nonce ‖ ciphertext ‖ tag)`; `context` (the charger's identity)
    /// must be given again to open it.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| "no randomness for a nonce".to_owned())?;
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| "sealing failed".to_owned())?;
        let mut out = String::with_capacity(2 * (NONCE_LEN + sealed.len()));
        for b in nonce.iter().chain(&sealed) {
            out.push_str(&format!("{b:02x}"));
        }
        Ok(out)
    }

    /// The plaintext, if `sealed` was sealed by this key for `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, String> {
        let bytes = (0..sealed.len())
            .step_by(2)
            .map(|i| {
                sealed
                    .get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or("not a sealed value")?;
        if bytes.len() < NONCE_LEN {
            return Err("not a sealed value".into());
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce")?;
        let mut rest = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut rest)
            .map_err(|_| "sealed with another key, or for another charger".to_owned())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_the_same_key_and_context() {
        let sealer = Sealer::from_secret(b"a secret of at least thirty-two characters");
        let sealed = sealer.seal("CP-1", b"new password 1234").unwrap();
        assert!(!sealed.contains("password"));
        assert_eq!(sealer.open("CP-1", &sealed).unwrap(), b"new password 1234");
        assert!(sealer.open("CP-2", &sealed).is_err());
        let other = Sealer::from_secret(b"another secret of thirty-two characters!");
        assert!(other.open("CP-1", &sealed).is_err());
        assert!(sealer.open("CP-1", "zz").is_err());
        assert!(sealer.open("CP-1", &sealed[..20]).is_err());
        assert_ne!(sealed, sealer.seal("CP-1", b"new password 1234").unwrap());
    }
}
