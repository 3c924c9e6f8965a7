//! Tokens (OCPI module `tokens`), evgate as the receiver: partners push
//! their drivers' tokens (`PUT`/`PATCH …/tokens/{cc}/{party}/{uid}`), and
//! each becomes an id tag owned by the partner, so a charger's Authorize
//! and transaction start hear its verdict through the same path as any
//! card: valid and whitelisted → Accepted, otherwise Blocked.

use booking::model::{IdTag, IdTagStatus};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::Ocpi;
use crate::envelope::parse_timestamp;
use crate::error::{OcpiError, Result};
use crate::partner::Partner;

/// A token as evgate keeps it: the partner's object and the eMSP's latest
/// say-so for it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredToken {
    /// The partner that pushed it.
    pub partner_id: Uuid,
    /// The Token object as last put (with patches applied).
    pub body: Value,
    /// Its `last_updated`.
    pub last_updated: DateTime<Utc>,
    /// The last START_SESSION with it, or real-time authorization the
    /// eMSP allowed.
    pub authorized: Option<Authorized>,
}

/// An eMSP's say-so for one use of a token: the Session that follows
/// within minutes carries its method and reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    /// How it was given.
    pub method: AuthMethod,
    /// The eMSP's `authorization_reference`, when it gave one.
    pub reference: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// OCPI `AuthMethod`s the eMSP gives (`WHITELIST` is evgate's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A START_SESSION command.
    Command,
    /// A real-time authorization (`POST …/authorize`).
    AuthRequest,
}

impl AuthMethod {
    /// As OCPI and the store spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Command => "COMMAND",
            AuthMethod::AuthRequest => "AUTH_REQUEST",
        }
    }
}

impl std::str::FromStr for AuthMethod {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "COMMAND" => Ok(AuthMethod::Command),
            "AUTH_REQUEST" => Ok(AuthMethod::AuthRequest),
            other => Err(format!("unknown auth method {other}")),
        }
    }
}

/// Where a token lives: country, party, uid, type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenKey {
    /// The eMSP's country.
    pub country_code: String,
    /// The eMSP's party id.
    pub party_id: String,
    /// The token's uid (the id tag chargers see).
    pub uid: String,
    /// `RFID`, `APP_USER`, `AD_HOC_USER`, `OTHER` (2.3.0: `EMAID`).
    pub token_type: String,
}

const REQUIRED: [&str; 9] = [
    "country_code",
    "party_id",
    "uid",
    "type",
    "contract_id",
    "issuer",
    "valid",
    "whitelist",
    "last_updated",
];

/// The id tag verdict a Token earns on evgate's own record: valid and
/// usable without asking the eMSP (`ALWAYS`, `ALLOWED`, and
/// `ALLOWED_OFFLINE`, which stands when the eMSP does not answer) →
/// Accepted. `NEVER` is only ever accepted by the eMSP in real time
/// ([`crate::realtime`]): on record it is Blocked, so no charger accepts it
/// offline.
fn verdict(token: &Value) -> IdTagStatus {
    let valid = token["valid"].as_bool().unwrap_or(false);
    let listed = matches!(
        token["whitelist"].as_str(),
        Some("ALWAYS" | "ALLOWED" | "ALLOWED_OFFLINE")
    );
    if valid && listed {
        IdTagStatus::Accepted
    } else {
        IdTagStatus::Blocked
    }
}

impl TokenKey {
    /// Where a whole Token says it lives.
    pub(crate) fn of(token: &Value) -> Option<TokenKey> {
        let field = |f: &str| token[f].as_str().map(str::to_owned);
        Some(TokenKey {
            country_code: field("country_code")?,
            party_id: field("party_id")?,
            uid: field("uid")?,
            token_type: field("type")?,
        })
    }

    /// The key is one of `partner`'s roles, and its uid one chargers can
    /// send.
    pub(crate) fn check(&self, partner: &Partner) -> Result<()> {
        if !partner
            .roles
            .iter()
            .any(|r| r.country_code == self.country_code && r.party_id == self.party_id)
        {
            return Err(OcpiError::InvalidParameters(format!(
                "{}/{} is not one of this partner's roles",
                self.country_code, self.party_id
            )));
        }
        let n = self.uid.chars().count();
        if n == 0
            || n > 36
            || self
                .uid
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(OcpiError::InvalidParameters(
                "uid must be 1 to 36 printable characters without spaces".into(),
            ));
        }
        Ok(())
    }
}

/// A whole Token: its required fields, and its identity as `key` says.
pub(crate) fn check_whole(token: &Value, key: &TokenKey) -> Result<()> {
    for field in REQUIRED {
        if token.get(field).is_none_or(Value::is_null) {
            return Err(OcpiError::InvalidParameters(format!("{field} is required")));
        }
    }
    for (field, want) in [
        ("country_code", &key.country_code),
        ("party_id", &key.party_id),
        ("uid", &key.uid),
        ("type", &key.token_type),
    ] {
        if token[field].as_str() != Some(want.as_str()) {
            return Err(OcpiError::InvalidParameters(format!(
                "{field} differs from the URL's"
            )));
        }
    }
    Ok(())
}

impl Ocpi {
    /// A PUT: the whole Token, checked against its URL; `true` when it is
    /// new.
    pub(crate) async fn put_token(
        &self,
        partner: &Partner,
        key: &TokenKey,
        body: &[u8],
    ) -> Result<bool> {
        key.check(partner)?;
        let token: Value = serde_json::from_slice(body)
            .map_err(|e| OcpiError::MalformedJson(format!("the body is not JSON: {e}")))?;
        check_whole(&token, key)?;
        let existed = self.store.ocpi_token(key).await?.is_some();
        self.store_token(partner, key, token, None).await?;
        Ok(!existed)
    }

    /// A PATCH: fields changed, `last_updated` required (2001 without).
    pub(crate) async fn patch_token(
        &self,
        partner: &Partner,
        key: &TokenKey,
        body: &[u8],
    ) -> Result<()> {
        key.check(partner)?;
        let patch: Value = serde_json::from_slice(body)
            .map_err(|e| OcpiError::MalformedJson(format!("the body is not JSON: {e}")))?;
        let Some(fields) = patch.as_object() else {
            return Err(OcpiError::InvalidParameters("a PATCH is an object".into()));
        };
        if fields.get("last_updated").is_none_or(Value::is_null) {
            return Err(OcpiError::InvalidParameters(
                "last_updated is required".into(),
            ));
        }
        let stored = self
            .store
            .ocpi_token(key)
            .await?
            .filter(|t| t.partner_id == partner.id)
            .ok_or_else(|| OcpiError::UnknownToken(format!("token {} not found", key.uid)))?;
        let mut token = stored.body;
        for (k, v) in fields {
            if ["country_code", "party_id", "uid", "type"].contains(&k.as_str()) && token[k] != *v {
                return Err(OcpiError::InvalidParameters(format!("{k} cannot change")));
            }
            token[k] = v.clone();
        }
        self.store_token(partner, key, token, None).await
    }

    /// Stores a token and brings its id tag to its verdict. An id tag of
    /// the same uid that someone else registered is not taken over (2001).
    pub(crate) async fn store_token(
        &self,
        partner: &Partner,
        key: &TokenKey,
        token: Value,
        authorized: Option<Authorized>,
    ) -> Result<()> {
        let last_updated = token["last_updated"]
            .as_str()
            .and_then(parse_timestamp)
            .ok_or_else(|| OcpiError::InvalidParameters("last_updated is not a DateTime".into()))?;
        let owner = partner.booking_user();
        let now = self.clock.now();
        match self.core.id_tag(&key.uid).await? {
            Some(tag) if tag.user_id != Some(owner) => {
                return Err(OcpiError::InvalidParameters(format!(
                    "uid {} is registered here for another holder",
                    key.uid
                )));
            }
            _ => {}
        }
        let tag = IdTag {
            id_tag: key.uid.clone(),
            status: verdict(&token),
            expiry_date: None,
            parent_id_tag: token["group_id"]
                .as_str()
                .filter(|g| !g.is_empty() && g.len() <= 36)
                .map(str::to_owned),
            user_id: Some(owner),
        };
        let stored = StoredToken {
            partner_id: partner.id,
            body: token,
            last_updated,
            authorized,
        };
        self.store.put_ocpi_token(key, &stored).await?;
        self.core.upsert_id_tag(&tag, now).await?;
        Ok(())
    }

    /// A GET: the Token as stored (404 / 2004 for an unknown one).
    pub(crate) async fn token(&self, partner: &Partner, key: &TokenKey) -> Result<Value> {
        key.check(partner)?;
        self.store
            .ocpi_token(key)
            .await?
            .filter(|t| t.partner_id == partner.id)
            .map(|t| t.body)
            .ok_or_else(|| OcpiError::UnknownToken(format!("token {} not found", key.uid)))
    }
}
