//! Real-time authorization (OCPI Tokens, the eMSP's sender interface:
//! `POST {tokens}/{uid}/authorize`): while a charger waits on an Authorize
//! or a transaction's id tag, evgate asks the eMSP whose driver it is.
//!
//! - A token the eMSP pushed with `whitelist` `NEVER` or `ALLOWED_OFFLINE`
//!   is asked about every time; without an answer in [`DEADLINE`] evgate's
//!   own record stands (`NEVER` Blocked, `ALLOWED_OFFLINE` Accepted).
//! - A token nobody pushed is asked of every registered eMSP at once (an
//!   eMSP need not push all its tokens); the first that knows it decides,
//!   and the Token it allows is kept, so the charge's Session and CDR go
//!   to it.
//! - `ALWAYS`/`ALLOWED` tokens and the operator's own id tags are decided
//!   here without a call.

use std::time::Duration;

use async_trait::async_trait;
use booking::authorization::RemoteAuthorizer;
use booking::model::{IdTag, IdTagStatus};
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Ocpi;
use crate::partner::{Partner, PartnerState};
use crate::tokens::{AuthMethod, Authorized, StoredToken, TokenKey, check_whole};

/// How long a charger's Authorize may wait on eMSPs. Chargers time a call
/// out after 30 s or more; a driver at the reader should not wait that.
pub(crate) const DEADLINE: Duration = Duration::from_secs(5);

/// An eMSP's `AllowedType` as an id tag verdict. `NO_CREDIT` and
/// `NOT_ALLOWED` (known, but not here or not now) are Blocked: OCPP's
/// Invalid means unknown.
fn status_of(allowed: &str) -> Option<IdTagStatus> {
    Some(match allowed {
        "ALLOWED" => IdTagStatus::Accepted,
        "BLOCKED" | "NO_CREDIT" | "NOT_ALLOWED" => IdTagStatus::Blocked,
        "EXPIRED" => IdTagStatus::Expired,
        _ => return None,
    })
}

/// Whether a pushed Token must be asked about online.
fn asks_online(token: &Value) -> bool {
    token["valid"].as_bool() == Some(true)
        && matches!(
            token["whitelist"].as_str(),
            Some("NEVER" | "ALLOWED_OFFLINE")
        )
}

#[async_trait]
impl RemoteAuthorizer for Ocpi {
    async fn authorize(
        &self,
        id_tag: &str,
        known: Option<&IdTag>,
        at: Uuid,
    ) -> Option<IdTagStatus> {
        self.settings.as_ref()?;
        let asked = async {
            match known {
                // Partners' drivers are negative users (`Partner::booking_user`).
                Some(tag) if tag.user_id.is_some_and(|u| u < 0) => {
                    self.ask_owner(id_tag, tag, at).await
                }
                Some(_) => None,
                None => self.ask_everyone(id_tag, at).await,
            }
        };
        match tokio::time::timeout(DEADLINE, asked).await {
            Ok(verdict) => verdict,
            Err(_) => {
                tracing::warn!(
                    id_tag,
                    "OCPI: no real-time authorization in time; evgate's record stands"
                );
                None
            }
        }
    }
}

impl Ocpi {
    /// The token's own eMSP, when the token asks for real-time
    /// authorization.
    async fn ask_owner(&self, id_tag: &str, tag: &IdTag, at: Uuid) -> Option<IdTagStatus> {
        let stored = self.store.ocpi_tokens_by_uid(id_tag).await.ok()?;
        for (key, token) in stored {
            if !asks_online(&token.body) {
                continue;
            }
            let Some(partner) = self.store.partner(token.partner_id).await.ok().flatten() else {
                continue;
            };
            if Some(partner.booking_user()) != tag.user_id {
                continue;
            }
            let info = self
                .ask(&partner, id_tag, Some(&key.token_type), at)
                .await?;
            let status = info["allowed"].as_str().and_then(status_of)?;
            if status == IdTagStatus::Accepted {
                let said = StoredToken {
                    authorized: Some(self.said(&info)),
                    ..token
                };
                if let Err(e) = self.store.put_ocpi_token(&key, &said).await {
                    tracing::warn!(uid = id_tag, error = %e, "OCPI: a real-time authorization was not recorded");
                }
            }
            return Some(status);
        }
        None
    }

    /// An allowed real-time authorization, for the Session that follows.
    fn said(&self, info: &Value) -> Authorized {
        Authorized {
            method: AuthMethod::AuthRequest,
            reference: info["authorization_reference"]
                .as_str()
                .filter(|r| !r.is_empty() && r.len() <= 36)
                .map(str::to_owned),
            at: self.clock.now(),
        }
    }

    /// Every registered eMSP at once; the first that knows the token
    /// decides, and its Token is kept.
    async fn ask_everyone(&self, id_tag: &str, at: Uuid) -> Option<IdTagStatus> {
        let partners = self.store.partners().await.ok()?;
        let mut asked: FuturesUnordered<_> = partners
            .iter()
            .filter(|p| p.state == PartnerState::Registered)
            .map(|p| async move { (p, self.ask(p, id_tag, None, at).await) })
            .collect();
        while let Some((partner, info)) = asked.next().await {
            let Some(info) = info else { continue };
            let Some(status) = info["allowed"].as_str().and_then(status_of) else {
                continue;
            };
            if status == IdTagStatus::Accepted {
                self.learn(partner, id_tag, &info["token"], self.said(&info))
                    .await;
            }
            return Some(status);
        }
        None
    }

    /// The partner's AuthorizationInfo for `uid`, or `None` when it has no
    /// Tokens sender endpoint, does not know the token (404 / 2004), or
    /// does not answer.
    async fn ask(
        &self,
        partner: &Partner,
        uid: &str,
        token_type: Option<&str>,
        at: Uuid,
    ) -> Option<Value> {
        let settings = self.settings.as_ref()?;
        let base = partner.endpoint("tokens", "SENDER")?;
        let token = partner.their_token.as_deref()?;
        let mut url = format!("{}/{}/authorize", base.trim_end_matches('/'), segment(uid));
        if let Some(t) = token_type {
            url.push_str(&format!("?type={}", segment(t)));
        }
        let body = json!({ "location_id": at.to_string() });
        match self
            .api
            .call("POST", &url, token, &settings.party, Some(&body))
            .await
        {
            Ok(info) => Some(info),
            Err(e) => {
                tracing::debug!(partner = %partner.id, error = %e, "OCPI: real-time authorization not given");
                None
            }
        }
    }

    /// Keeps the Token an eMSP allowed, as if it had pushed it: its id tag
    /// is then the partner's, and the charge it starts is reported to it
    /// (a refusal keeps nothing: the next use asks again). A Token that is not whole, or not this uid's, is not kept (the
    /// verdict still stands).
    async fn learn(&self, partner: &Partner, uid: &str, token: &Value, said: Authorized) {
        let kept = async {
            let key = TokenKey::of(token)
                .filter(|k| k.uid == uid)
                .ok_or_else(|| {
                    crate::error::OcpiError::InvalidParameters(format!("the Token is not {uid}'s"))
                })?;
            key.check(partner)?;
            check_whole(token, &key)?;
            self.store_token(partner, &key, token.clone(), Some(said))
                .await
        };
        if let Err(e) = kept.await {
            tracing::warn!(partner = %partner.id, uid, error = %e, "OCPI: the Token of a real-time authorization was not kept");
        }
    }
}

/// `s` as one URL path segment or query value.
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_types_map_to_verdicts() {
        assert_eq!(status_of("ALLOWED"), Some(IdTagStatus::Accepted));
        assert_eq!(status_of("BLOCKED"), Some(IdTagStatus::Blocked));
        assert_eq!(status_of("NO_CREDIT"), Some(IdTagStatus::Blocked));
        assert_eq!(status_of("NOT_ALLOWED"), Some(IdTagStatus::Blocked));
        assert_eq!(status_of("EXPIRED"), Some(IdTagStatus::Expired));
        assert_eq!(status_of("MAYBE"), None);
    }

    #[test]
    fn only_valid_never_and_allowed_offline_tokens_are_asked_about() {
        for (whitelist, valid, asks) in [
            ("NEVER", true, true),
            ("ALLOWED_OFFLINE", true, true),
            ("ALWAYS", true, false),
            ("ALLOWED", true, false),
            ("NEVER", false, false),
        ] {
            let token = json!({ "whitelist": whitelist, "valid": valid });
            assert_eq!(asks_online(&token), asks, "{whitelist} valid={valid}");
        }
    }

    #[test]
    fn uids_are_escaped_in_the_path() {
        assert_eq!(segment("AB 12/3"), "AB%2012%2F3");
        assert_eq!(segment("04A1-ff"), "04A1-ff");
    }
}
