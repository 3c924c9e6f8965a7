//! Calls to a partner's OCPI endpoints: one request, its envelope read.
//! Behind a trait so the handshake and the pusher are plain code in unit
//! tests; [`HttpPartners`] is the real one.

use async_trait::async_trait;
use serde_json::Value;

use crate::envelope;
use crate::locations::Party;
use crate::partner::authorization;

/// How a call to a partner ended when it did not succeed: the text says
/// what came back (or did not), for the log and the admin view.
pub type CallError = String;

/// A partner's HTTP API.
#[async_trait]
pub trait PartnerApi: Send + Sync + std::fmt::Debug + 'static {
    /// Sends `method` to `url` with the partner's token (and `body` as
    /// JSON); the envelope's `data` when the HTTP status is 2xx and its
    /// `status_code` is 1000.
    async fn call(
        &self,
        method: &str,
        url: &str,
        token: &str,
        from: &Party,
        body: Option<&Value>,
    ) -> Result<Value, CallError>;
}

/// Commands to chargers, wherever in a cluster they are connected: the
/// OCPP action (of the charger's version) and its payload, the charger's
/// answer or why there is none.
#[async_trait]
pub trait ChargerCommands: Send + Sync + std::fmt::Debug + 'static {
    /// Sends `action` with `payload` to the charger and waits for its
    /// answer.
    async fn command(
        &self,
        charge_point_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<Value, String>;
}

/// [`PartnerApi`] over HTTP(S) (reqwest, rustls).
#[derive(Debug, Clone)]
pub struct HttpPartners {
    client: reqwest::Client,
}

impl HttpPartners {
    /// A client that gives up on a partner after `timeout`.
    pub fn new(timeout: std::time::Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("evgate/", env!("CARGO_PKG_VERSION"), " (OCPI CPO)"))
            .build()
            .unwrap_or_default();
        Self { client }
    }
}

#[async_trait]
impl PartnerApi for HttpPartners {
    async fn call(
        &self,
        method: &str,
        url: &str,
        token: &str,
        from: &Party,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let id = uuid::Uuid::new_v4().to_string();
        let mut req = self
            .client
            .request(method, url)
            .header("Authorization", authorization(token))
            .header("X-Request-ID", &id)
            .header("X-Correlation-ID", &id)
            .header("OCPI-from-country-code", &from.country_code)
            .header("OCPI-from-party-id", &from.party_id);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        match envelope::read(&bytes) {
            Some((code, data)) if status.is_success() && code == u64::from(envelope::SUCCESS) => {
                Ok(data)
            }
            Some((code, _)) => Err(format!("{url}: HTTP {status}, OCPI status_code {code}")),
            None => Err(format!("{url}: HTTP {status}, not an OCPI response")),
        }
    }
}
