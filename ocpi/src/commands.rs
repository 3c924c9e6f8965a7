//! Commands (OCPI module `commands`), evgate as the receiver: a partner
//! asks to start or stop a session or unlock a connector; evgate answers
//! at once (CommandResponse), sends the charger the OCPP call of its
//! version, and posts the charger's verdict (CommandResult) to the
//! partner's `response_url`.

use std::time::Duration;

use booking::model::{Connector, OcppVersion};
use serde_json::{Value, json};

use crate::Ocpi;
use crate::envelope::timestamp;
use crate::error::{OcpiError, Result};
use crate::partner::Partner;
use crate::tokens::{AuthMethod, Authorized, TokenKey};

/// The `timeout` told to partners: how long the charger may take.
const TIMEOUT_SECONDS: u64 = 30;

/// A synchronous answer.
pub(crate) fn response(result: &str, message: Option<&str>) -> Value {
    let mut r = json!({ "result": result, "timeout": TIMEOUT_SECONDS });
    if let Some(m) = message {
        r["message"] = json!([{ "language": "en", "text": m }]);
    }
    r
}

pub(crate) fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str> {
    v.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OcpiError::InvalidParameters(format!("{field} is required")))
}

/// What a command will send, once accepted.
struct Call {
    charge_point_id: String,
    action: &'static str,
    payload: Value,
    /// The status that means it worked (`Accepted`, `Unlocked`).
    success: &'static str,
}

impl Ocpi {
    /// A partner's command: the CommandResponse; the CommandResult follows
    /// at `response_url`.
    pub(crate) async fn command(
        &self,
        partner: &Partner,
        command: &str,
        body: &[u8],
    ) -> Result<Value> {
        let req: Value = serde_json::from_slice(body)
            .map_err(|e| OcpiError::MalformedJson(format!("the body is not JSON: {e}")))?;
        let response_url = text(&req, "response_url")?;
        if !(response_url.starts_with("https://") || response_url.starts_with("http://")) {
            return Err(OcpiError::InvalidParameters(
                "response_url must be an http(s) URL".into(),
            ));
        }
        let call = match command {
            "START_SESSION" => self.start_session(partner, &req).await?,
            "STOP_SESSION" => self.stop_session(partner, &req).await?,
            "UNLOCK_CONNECTOR" => self.unlock(&req).await?,
            "RESERVE_NOW" => return self.reserve_now(partner, &req, response_url).await,
            "CANCEL_RESERVATION" => {
                return self.cancel_reservation(partner, &req, response_url).await;
            }
            other => {
                return Err(OcpiError::InvalidParameters(format!(
                    "unknown command {other}"
                )));
            }
        };
        let call = match call {
            Ok(call) => call,
            Err((result, why)) => return Ok(response(result, Some(&why))),
        };
        let ocpi = self.clone();
        let target = (partner.clone(), response_url.to_owned());
        tokio::spawn(async move { ocpi.carry_out(call, target).await });
        Ok(response("ACCEPTED", None))
    }

    /// Sends the call, then tells the partner how it went (three tries).
    async fn carry_out(&self, call: Call, (partner, url): (Partner, String)) {
        let result = match self
            .chargers
            .command(&call.charge_point_id, call.action, call.payload)
            .await
        {
            Ok(answer) if answer["status"] == call.success => ("ACCEPTED", None),
            Ok(answer) => (
                "REJECTED",
                Some(format!("the charger answered {}", answer["status"])),
            ),
            Err(e) if e.contains("in time") => ("TIMEOUT", Some(e)),
            Err(e) => ("FAILED", Some(e)),
        };
        self.post_result(&partner, &url, result.0, result.1).await;
    }

    /// Posts a CommandResult to the partner's `response_url` (three tries).
    pub(crate) async fn post_result(
        &self,
        partner: &Partner,
        url: &str,
        result: &str,
        message: Option<String>,
    ) {
        let mut body = json!({ "result": result });
        if let Some(m) = message {
            body["message"] = json!([{ "language": "en", "text": m }]);
        }
        let (Some(settings), Some(token)) = (&self.settings, partner.their_token.as_deref()) else {
            return;
        };
        for wait in [0, 1, 5] {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            match self
                .api
                .call("POST", url, token, &settings.party, Some(&body))
                .await
            {
                Ok(_) => return,
                Err(e) => {
                    tracing::info!(partner = %partner.id, error = %e, "OCPI: CommandResult not taken")
                }
            }
        }
        tracing::warn!(partner = %partner.id, url, "OCPI: CommandResult given up after 3 tries");
    }

    /// The charger behind a published Location's EVSE (the first
    /// AVAILABLE one when none is named).
    async fn evse(
        &self,
        req: &Value,
        required: bool,
    ) -> Result<std::result::Result<(Connector, String, OcppVersion), (&'static str, String)>> {
        let location = text(req, "location_id")?;
        let unknown = || OcpiError::UnknownLocation(format!("Location {location} not found"));
        let station: uuid::Uuid = location.parse().map_err(|_| unknown())?;
        self.store
            .published_location(station)
            .await?
            .ok_or_else(unknown)?;
        let connectors = self.core.connectors_of_stations(&[station]).await?;
        let named = req.get("evse_uid").and_then(Value::as_str);
        if required && named.is_none() {
            return Err(OcpiError::InvalidParameters("evse_uid is required".into()));
        }
        let connector = match named {
            Some(uid) => connectors
                .into_iter()
                .find(|c| c.id.to_string() == uid)
                .ok_or_else(|| OcpiError::UnknownLocation(format!("EVSE {uid} not found")))?,
            None => match connectors
                .into_iter()
                .find(|c| c.status == booking::model::ConnectorStatus::Available)
            {
                Some(c) => c,
                None => {
                    return Ok(Err((
                        "REJECTED",
                        "no EVSE of the Location is available".into(),
                    )));
                }
            },
        };
        if connector.vendor_id.is_some() {
            return Ok(Err((
                "NOT_SUPPORTED",
                "this EVSE is run by a vendor cloud, not over OCPP".into(),
            )));
        }
        let charger = self
            .core
            .charger(connector.charger_id)
            .await?
            .ok_or_else(|| {
                OcpiError::Internal(format!("connector {} has no charger", connector.id))
            })?;
        let Some(version) = charger.ocpp_version else {
            return Ok(Err(("REJECTED", "the charger has never connected".into())));
        };
        Ok(Ok((connector, charger.charge_point_id, version)))
    }

    async fn start_session(
        &self,
        partner: &Partner,
        req: &Value,
    ) -> Result<std::result::Result<Call, (&'static str, String)>> {
        let mut token = req
            .get("token")
            .filter(|t| t.is_object())
            .cloned()
            .ok_or_else(|| OcpiError::InvalidParameters("token is required".into()))?;
        let key = TokenKey {
            country_code: text(&token, "country_code")?.to_owned(),
            party_id: text(&token, "party_id")?.to_owned(),
            uid: text(&token, "uid")?.to_owned(),
            token_type: token["type"].as_str().unwrap_or("RFID").to_owned(),
        };
        let (connector, charge_point_id, version) = match self.evse(req, false).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Err(refusal)),
        };
        // OCPI: the CPO does not second-guess the token of a START_SESSION;
        // it becomes an id tag so the transaction it starts is accepted.
        let now = self.clock.now();
        if token.get("last_updated").is_none_or(Value::is_null) {
            token["last_updated"] = json!(timestamp(now));
        }
        for (field, default) in [("valid", json!(true)), ("whitelist", json!("ALLOWED"))] {
            if token.get(field).is_none_or(Value::is_null) {
                token[field] = default;
            }
        }
        let reference = req
            .get("authorization_reference")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let authorized = Authorized {
            method: AuthMethod::Command,
            reference,
            at: now,
        };
        self.store_token(partner, &key, token, Some(authorized))
            .await?;
        let (action, payload) = match version {
            OcppVersion::V16 => (
                "RemoteStartTransaction",
                json!({ "connectorId": connector.ocpp_connector_id, "idTag": key.uid }),
            ),
            OcppVersion::V201 => (
                "RequestStartTransaction",
                json!({
                    "evseId": connector.evse_id,
                    "remoteStartId": i32::try_from(now.timestamp() % i64::from(i32::MAX)).unwrap_or(1).max(1),
                    "idToken": { "idToken": key.uid, "type": "Central" },
                }),
            ),
        };
        Ok(Ok(Call {
            charge_point_id,
            action,
            payload,
            success: "Accepted",
        }))
    }

    async fn stop_session(
        &self,
        partner: &Partner,
        req: &Value,
    ) -> Result<std::result::Result<Call, (&'static str, String)>> {
        let id = text(req, "session_id")?;
        let unknown = || Ok(Err(("UNKNOWN_SESSION", format!("no open session {id}"))));
        let Ok(id) = id.parse::<uuid::Uuid>() else {
            return unknown();
        };
        let Some(session) = self.core.session(id).await? else {
            return unknown();
        };
        if session.ended_at.is_some()
            || self
                .session_owner(&session)
                .await?
                .is_none_or(|o| o.partner.id != partner.id)
        {
            return unknown();
        }
        let Some(charger) = self.core.charger(session.charger_id).await? else {
            return unknown();
        };
        let key = session.transaction.key().to_owned();
        let (action, payload) = match charger.ocpp_version {
            Some(OcppVersion::V16) => match key.parse::<i64>() {
                Ok(n) => ("RemoteStopTransaction", json!({ "transactionId": n })),
                Err(_) => return unknown(),
            },
            Some(OcppVersion::V201) => ("RequestStopTransaction", json!({ "transactionId": key })),
            None => return unknown(),
        };
        Ok(Ok(Call {
            charge_point_id: charger.charge_point_id,
            action,
            payload,
            success: "Accepted",
        }))
    }

    async fn unlock(
        &self,
        req: &Value,
    ) -> Result<std::result::Result<Call, (&'static str, String)>> {
        text(req, "connector_id")?;
        let (connector, charge_point_id, version) = match self.evse(req, true).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let payload = match version {
            OcppVersion::V16 => json!({ "connectorId": connector.ocpp_connector_id }),
            OcppVersion::V201 => json!({
                "evseId": connector.evse_id,
                "connectorId": connector.ocpp_connector_id,
            }),
        };
        Ok(Ok(Call {
            charge_point_id,
            action: "UnlockConnector",
            payload,
            success: "Unlocked",
        }))
    }
}
