//! The credentials handshake (OCPI module `credentials`), evgate as the
//! server: a partner registers with token A, updates with PUT, leaves with
//! DELETE. Plain code over the store and the partner's API.

use serde_json::{Value, json};

use crate::Ocpi;
use crate::error::{OcpiError, Result};
use crate::partner::{
    Credentials, Endpoint, OcpiVersion, Partner, PartnerState, new_token, token_hash,
};

/// What the partner's versions told: the endpoints of the version chosen.
struct Handshake {
    endpoints: Vec<Endpoint>,
}

impl Ocpi {
    /// evgate's own Credentials object, carrying `token` for the partner.
    pub fn own_credentials(&self, token: &str, base_url: &str) -> Result<Value> {
        let settings = self.settings()?;
        Ok(json!({
            "token": token,
            "url": format!("{}/ocpi/versions", base_url.trim_end_matches('/')),
            "roles": [{
                "role": "CPO",
                "business_details": { "name": settings.business_name },
                "party_id": settings.party.party_id,
                "country_code": settings.party.country_code,
            }],
        }))
    }

    /// Reads the partner's versions with its token B and picks `version`
    /// (the one it called evgate in): 3001 when its API does not answer as
    /// OCPI says, 3002 when it lacks the version, 3003 without endpoints.
    async fn shake(&self, creds: &Credentials, version: OcpiVersion) -> Result<Handshake> {
        let party = &self.settings()?.party;
        let versions = self
            .api
            .call("GET", &creds.url, &creds.token, party, None)
            .await
            .map_err(|e| OcpiError::PartnerApiUnusable(format!("versions endpoint: {e}")))?;
        let list = versions.as_array().ok_or_else(|| {
            OcpiError::PartnerApiUnusable("versions endpoint: data is not a list".into())
        })?;
        let details_url = list
            .iter()
            .find(|v| v["version"].as_str() == Some(version.as_str()))
            .and_then(|v| v["url"].as_str())
            .ok_or_else(|| {
                OcpiError::UnsupportedVersion(format!(
                    "the partner's versions do not include {}",
                    version.as_str()
                ))
            })?;
        let details = self
            .api
            .call("GET", details_url, &creds.token, party, None)
            .await
            .map_err(|e| OcpiError::PartnerApiUnusable(format!("version details: {e}")))?;
        let endpoints: Vec<Endpoint> = serde_json::from_value(details["endpoints"].clone())
            .map_err(|e| {
                OcpiError::PartnerApiUnusable(format!("version details: endpoints unreadable: {e}"))
            })?;
        if endpoints.is_empty() {
            return Err(OcpiError::NoMatchingEndpoints(
                "the partner's version lists no endpoints".into(),
            ));
        }
        Ok(Handshake { endpoints })
    }

    /// POST (register, from PENDING) or PUT (update, from REGISTERED):
    /// the partner's Credentials read and checked, its API visited, a new
    /// token C issued in place of the token it called with. The token C.
    pub async fn register(
        &self,
        partner: &Partner,
        presented_hash: &str,
        version: OcpiVersion,
        body: &[u8],
        update: bool,
    ) -> Result<String> {
        match (partner.state, update) {
            (PartnerState::Pending, false) | (PartnerState::Registered, true) => {}
            (PartnerState::Registered, false) => {
                return Err(OcpiError::MethodNotAllowed(
                    "already registered: update with PUT".into(),
                ));
            }
            _ => {
                return Err(OcpiError::MethodNotAllowed(
                    "not registered: register with POST and token A".into(),
                ));
            }
        }
        let creds = Credentials::from_json(body)?;
        let counterpart = creds.counterpart().cloned().ok_or_else(|| {
            OcpiError::NotEnoughInformation("roles name no role besides CPO".into())
        })?;
        let shake = self.shake(&creds, version).await?;
        let token_c = new_token();
        let mut next = partner.clone();
        next.state = PartnerState::Registered;
        next.token_hash = Some(token_hash(&token_c));
        next.their_token = Some(creds.token.clone());
        next.versions_url = Some(creds.url.clone());
        next.version = Some(version);
        next.endpoints = shake.endpoints;
        next.country_code = Some(counterpart.country_code.clone());
        next.party_id = Some(counterpart.party_id.clone());
        next.roles = creds.roles;
        next.updated_at = self.clock.now();
        match self.store.replace_partner(&next, presented_hash).await {
            Ok(true) => {}
            // Another request with the same token got there first.
            Ok(false) => {
                return Err(OcpiError::Unauthorized(
                    "this token has just been used up".into(),
                ));
            }
            Err(booking::Error::Conflict(m)) => return Err(OcpiError::InvalidParameters(m)),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(partner = %partner.id, party = %format!("{}-{}", counterpart.country_code, counterpart.party_id), version = version.as_str(), update, "OCPI partner registered");
        Ok(token_c)
    }

    /// DELETE: the partner leaves; its token stops working and nothing
    /// more is pushed to it.
    pub async fn unregister(&self, partner: &Partner, presented_hash: &str) -> Result<()> {
        if partner.state != PartnerState::Registered {
            return Err(OcpiError::MethodNotAllowed("not registered".into()));
        }
        let mut next = partner.clone();
        next.state = PartnerState::Unregistered;
        next.token_hash = None;
        next.their_token = None;
        next.updated_at = self.clock.now();
        if !self.store.replace_partner(&next, presented_hash).await? {
            return Err(OcpiError::Unauthorized(
                "this token has just been used up".into(),
            ));
        }
        tracing::info!(partner = %partner.id, "OCPI partner unregistered");
        Ok(())
    }
}
