//! A roaming partner (an eMSP, or a hub) registered with evgate as its CPO,
//! the tokens each side uses, and the OCPI Credentials object they swap.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{OcpiError, Result};

/// The OCPI versions evgate speaks, newest first in [`OcpiVersion::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OcpiVersion {
    /// OCPI 2.2.1.
    V221,
    /// OCPI 2.3.0.
    V230,
}

impl OcpiVersion {
    /// Newest first: the order a version is chosen in.
    pub const ALL: [OcpiVersion; 2] = [OcpiVersion::V230, OcpiVersion::V221];

    /// As OCPI spells it (`"2.2.1"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V221 => "2.2.1",
            Self::V230 => "2.3.0",
        }
    }

    /// The version a path segment or a partner's list names.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where a partner stands in the credentials handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerState {
    /// Created by an operator; holds token A until it registers.
    Pending,
    /// Registered: it calls with token C, evgate calls it with token B.
    Registered,
    /// It unregistered (DELETE credentials); no token works any more.
    Unregistered,
}

impl PartnerState {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Registered => "REGISTERED",
            Self::Unregistered => "UNREGISTERED",
        }
    }
}

impl std::str::FromStr for PartnerState {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "PENDING" => Ok(Self::Pending),
            "REGISTERED" => Ok(Self::Registered),
            "UNREGISTERED" => Ok(Self::Unregistered),
            other => Err(format!("unknown partner state {other:?}")),
        }
    }
}

/// One endpoint of a partner's version details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The module (`locations`, `tokens`, …).
    pub identifier: String,
    /// `SENDER` or `RECEIVER` (the partner's side of the module).
    #[serde(default)]
    pub role: Option<String>,
    /// Where it is.
    pub url: String,
}

/// One role a platform plays (OCPI `CredentialsRole`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialsRole {
    /// `CPO`, `EMSP`, `HUB`, `NAP`, `NSP`, `SCSP`, `OTHER` (2.3.0 adds
    /// `PTP`).
    pub role: String,
    /// The business behind the role (`name` at least).
    pub business_details: serde_json::Value,
    /// ISO 15118 party id: three characters.
    pub party_id: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: String,
}

/// The OCPI Credentials object: a token, the versions URL, the roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    /// The token the receiver of this object uses to call its sender.
    pub token: String,
    /// The sender's versions endpoint.
    pub url: String,
    /// The roles the sender plays.
    pub roles: Vec<CredentialsRole>,
}

const ROLES: [&str; 8] = ["CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP", "PTP"];

impl Credentials {
    /// Reads a partner's Credentials object, with every rule OCPI sets on
    /// it checked (2001 naming the field otherwise).
    pub fn from_json(body: &[u8]) -> Result<Self> {
        let json: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| OcpiError::MalformedJson(format!("the body is not JSON: {e}")))?;
        let c: Credentials = serde_json::from_value(json)
            .map_err(|e| OcpiError::InvalidParameters(format!("not a Credentials object: {e}")))?;
        if c.token.is_empty() || c.token.chars().count() > 64 {
            return Err(OcpiError::InvalidParameters(
                "token must be 1 to 64 characters".into(),
            ));
        }
        if !(c.url.starts_with("https://") || c.url.starts_with("http://")) || c.url.len() > 255 {
            return Err(OcpiError::InvalidParameters(
                "url must be an http(s) URL of at most 255 characters".into(),
            ));
        }
        if c.roles.is_empty() {
            return Err(OcpiError::NotEnoughInformation(
                "roles must name at least one role".into(),
            ));
        }
        for r in &c.roles {
            if !ROLES.contains(&r.role.as_str()) {
                return Err(OcpiError::InvalidParameters(format!(
                    "roles: unknown role {:?}",
                    r.role
                )));
            }
            if !valid_country_code(&r.country_code) {
                return Err(OcpiError::InvalidParameters(format!(
                    "roles: country_code {:?} is not two capital letters",
                    r.country_code
                )));
            }
            if !valid_party_id(&r.party_id) {
                return Err(OcpiError::InvalidParameters(format!(
                    "roles: party_id {:?} is not three capital letters or digits",
                    r.party_id
                )));
            }
            if r.business_details
                .get("name")
                .and_then(|n| n.as_str())
                .is_none()
            {
                return Err(OcpiError::InvalidParameters(
                    "roles: business_details.name is required".into(),
                ));
            }
        }
        Ok(c)
    }

    /// The role evgate deals with: the first that is not a CPO.
    pub fn counterpart(&self) -> Option<&CredentialsRole> {
        self.roles.iter().find(|r| r.role != "CPO")
    }
}

/// ISO 3166-1 alpha-2, as OCPI writes it.
pub(crate) fn valid_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Three capital letters or digits (ISO 15118 party id).
pub(crate) fn valid_party_id(s: &str) -> bool {
    s.len() == 3
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A partner as evgate keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Partner {
    /// evgate's id for it (admin API).
    pub id: Uuid,
    /// What the operator called it.
    pub name: String,
    /// Where it is in the handshake.
    pub state: PartnerState,
    /// SHA-256 (hex) of the token evgate issued it: A while pending, C
    /// once registered; `None` after it unregistered.
    pub token_hash: Option<String>,
    /// Token B: what evgate sends when it calls the partner.
    pub their_token: Option<String>,
    /// Its versions endpoint.
    pub versions_url: Option<String>,
    /// The version both sides agreed on.
    pub version: Option<OcpiVersion>,
    /// Its endpoints in that version.
    pub endpoints: Vec<Endpoint>,
    /// The roles it registered with.
    pub roles: Vec<CredentialsRole>,
    /// The country of its role evgate deals with.
    pub country_code: Option<String>,
    /// The party id of that role.
    pub party_id: Option<String>,
    /// When an operator created it (UTC).
    pub created_at: DateTime<Utc>,
    /// Its last handshake or change (UTC).
    pub updated_at: DateTime<Utc>,
}

impl Partner {
    /// A new partner waiting to register, and its token A (shown once).
    pub fn invite(name: &str, now: DateTime<Utc>) -> Result<(Partner, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(OcpiError::InvalidParameters(
                "name must be 1 to 100 characters".into(),
            ));
        }
        let token = new_token();
        let partner = Partner {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            state: PartnerState::Pending,
            token_hash: Some(token_hash(&token)),
            their_token: None,
            versions_url: None,
            version: None,
            endpoints: Vec::new(),
            roles: Vec::new(),
            country_code: None,
            party_id: None,
            created_at: now,
            updated_at: now,
        };
        Ok((partner, token))
    }

    /// The evgate user its bookings belong to: negative, so never an app
    /// user's (those come from the apps' tokens, positive), and fixed by
    /// its id.
    pub fn booking_user(&self) -> i64 {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.id.as_bytes()[..8]);
        -1 - i64::try_from(u64::from_be_bytes(first) >> 1).unwrap_or(0)
    }

    /// The partner's endpoint for a module in the role given (`RECEIVER`
    /// for what evgate pushes to). `bookings` also finds the 2.3.0
    /// Bookings draft's identifier `Booking`; identifiers are compared
    /// without case.
    pub fn endpoint(&self, identifier: &str, role: &str) -> Option<&str> {
        let single = [identifier];
        let names: &[&str] = match identifier {
            "bookings" => &["bookings", "booking"],
            _ => &single,
        };
        self.endpoints
            .iter()
            .find(|e| {
                names.iter().any(|n| e.identifier.eq_ignore_ascii_case(n))
                    && e.role.as_deref().is_none_or(|r| r == role)
            })
            .map(|e| e.url.as_str())
    }
}

/// A fresh random token: 256 bits, URL-safe base64 (43 characters, within
/// OCPI's 64).
pub(crate) fn new_token() -> String {
    booking::secrets::random_token(32)
}

/// What is stored of a token evgate issued.
pub fn token_hash(token: &str) -> String {
    booking::secrets::sha256_hex(token)
}

/// The tokens an `Authorization: Token …` header may carry: OCPI 2.2.1
/// sends the token base64-encoded, 2.1.1/2.2 clients (and some 2.2.1 ones)
/// send it as is, so the decoded form is tried first, then the raw one.
pub(crate) fn presented_tokens(header: &str) -> Vec<String> {
    let Some(raw) = header
        .strip_prefix("Token ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(2);
    if let Ok(bytes) = STANDARD.decode(raw)
        && let Ok(decoded) = String::from_utf8(bytes)
        && !decoded.is_empty()
    {
        out.push(decoded);
    }
    out.push(raw.to_owned());
    out
}

/// The header value evgate sends with `token` (base64, as 2.2.1 and later
/// want it).
pub fn authorization(token: &str) -> String {
    format!("Token {}", STANDARD.encode(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_read_base64_encoded_or_raw() {
        let header = authorization("abc-123");
        assert_eq!(header, "Token YWJjLTEyMw==");
        assert_eq!(presented_tokens(&header), vec!["abc-123", "YWJjLTEyMw=="]);
        assert_eq!(presented_tokens("Token plain!token"), vec!["plain!token"]);
        assert!(presented_tokens("Bearer abc").is_empty());
        assert!(presented_tokens("Token ").is_empty());
    }

    #[test]
    fn credentials_are_checked_field_by_field() {
        let ok = br#"{"token":"b","url":"https://emsp.example/ocpi/versions","roles":[{"role":"EMSP","party_id":"EMS","country_code":"NL","business_details":{"name":"eMSP"}}]}"#;
        let c = Credentials::from_json(ok).expect("valid");
        assert_eq!(c.counterpart().map(|r| r.party_id.as_str()), Some("EMS"));
        for (bad, code) in [
            (r#"{"token":"","url":"https://x","roles":[]}"#, 2001),
            (r#"{"token":"b","url":"ftp://x","roles":[]}"#, 2001),
            (r#"{"token":"b","url":"https://x","roles":[]}"#, 2002),
            (
                r#"{"token":"b","url":"https://x","roles":[{"role":"EMSP","party_id":"EM","country_code":"NL","business_details":{"name":"n"}}]}"#,
                2001,
            ),
            (
                r#"{"token":"b","url":"https://x","roles":[{"role":"EMSP","party_id":"EMS","country_code":"nl","business_details":{"name":"n"}}]}"#,
                2001,
            ),
            (
                r#"{"token":"b","url":"https://x","roles":[{"role":"DRIVER","party_id":"EMS","country_code":"NL","business_details":{"name":"n"}}]}"#,
                2001,
            ),
            (r#"{"token":"b"}"#, 2001),
            ("not json", 2001),
        ] {
            let err = Credentials::from_json(bad.as_bytes()).expect_err(bad);
            assert_eq!(err.status_code(), code, "{bad}: {err}");
        }
    }

    #[test]
    fn an_invited_partner_keeps_only_its_tokens_hash() {
        let (p, token) = Partner::invite(" Roam ", Utc::now()).expect("valid");
        assert_eq!(p.name, "Roam");
        assert_eq!(p.state, PartnerState::Pending);
        assert_eq!(p.token_hash, Some(token_hash(&token)));
        assert_ne!(p.token_hash.as_deref(), Some(token.as_str()));
        assert_eq!(token.len(), 43);
        assert!(Partner::invite("  ", Utc::now()).is_err());
    }
}
