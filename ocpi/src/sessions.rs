//! Sessions and CDRs pushed to the partner a charge belongs to: a session
//! started with one of its tokens (pushed, or given in a START_SESSION), or
//! fulfilling one of its bookings. Each change of the session goes out as
//! the whole Session (`PUT …/sessions/{cc}/{party}/{id}`); its end also as
//! a CDR (`POST …/cdrs`), priced with the connector's tariff.

use booking::model::{ChargingSession, Connector, Station};
use booking::tariffs::Usage;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::Ocpi;
use crate::envelope::timestamp;
use crate::locations::{LocationDetails, Party, address, coordinates, plug};
use crate::partner::{OcpiVersion, Partner, PartnerState};
use crate::push::{Push, PushModule};

/// An eMSP's say-so (a START_SESSION, a real-time authorization) this
/// long before a session began is what started it.
const AUTHORIZED_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// Whose a session is, in OCPI's terms.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    pub(crate) partner: Partner,
    /// The CdrToken: country, party, uid, type, contract id.
    cdr_token: Value,
    auth_method: &'static str,
    authorization_reference: Option<String>,
}

/// A price in the partner's version: 2.2.1 `excl_vat`/`incl_vat`, 2.3.0
/// `before_taxes` and its taxes.
fn price(version: Option<OcpiVersion>, excl: f64, tax: f64, rate: f64) -> Value {
    let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
    match version {
        Some(OcpiVersion::V230) => json!({
            "before_taxes": round(excl),
            "taxes": [{ "name": "VAT", "percentage": rate, "amount": round(tax) }],
        }),
        _ => json!({ "excl_vat": round(excl), "incl_vat": round(excl + tax) }),
    }
}

fn cdr_token(token: &Value) -> Value {
    json!({
        "country_code": token["country_code"],
        "party_id": token["party_id"],
        "uid": token["uid"],
        "type": token.get("type").cloned().unwrap_or_else(|| json!("RFID")),
        "contract_id": token.get("contract_id").cloned().unwrap_or_else(|| token["uid"].clone()),
    })
}

/// An eMI3 EVSE id for a connector (CdrLocation wants one).
fn evse_id(party: &Party, connector: &Connector) -> String {
    let id = connector.id.simple().to_string().to_ascii_uppercase();
    format!("{}*{}*E{}", party.country_code, party.party_id, &id[..12])
}

impl Ocpi {
    /// The partner a session is charged to, if any.
    pub(crate) async fn session_owner(
        &self,
        session: &ChargingSession,
    ) -> booking::Result<Option<Owner>> {
        if let Some(booking) = session.booking_id
            && let Some(row) = self.store.ocpi_booking(booking).await?
            && let Some(partner) = self.store.partner(row.partner_id).await?
        {
            let token = row.tokens.get(0).cloned().unwrap_or_default();
            return Ok(Some(Owner {
                partner,
                cdr_token: cdr_token(&token),
                auth_method: "WHITELIST",
                authorization_reference: Some(row.authorization_reference),
            }));
        }
        let Some(tag) = &session.id_tag else {
            return Ok(None);
        };
        let Some((_, token)) = self.store.ocpi_tokens_by_uid(tag).await?.into_iter().next() else {
            return Ok(None);
        };
        let Some(partner) = self.store.partner(token.partner_id).await? else {
            return Ok(None);
        };
        let said = token.authorized.filter(|a| {
            a.at <= session.started_at + AUTHORIZED_WINDOW
                && session.started_at - a.at <= AUTHORIZED_WINDOW
        });
        Ok(Some(Owner {
            partner,
            cdr_token: cdr_token(&token.body),
            auth_method: said.as_ref().map_or("WHITELIST", |a| a.method.as_str()),
            authorization_reference: said.and_then(|a| a.reference),
        }))
    }

    /// Queues a session's Session (and at its end, its CDR) for the
    /// partner it belongs to.
    pub(crate) async fn queue_session(&self, id: uuid::Uuid) -> booking::Result<()> {
        let Some(settings) = &self.settings else {
            return Ok(());
        };
        let Some(session) = self.core.session(id).await? else {
            return Ok(());
        };
        let Some(owner) = self.session_owner(&session).await? else {
            return Ok(());
        };
        if owner.partner.state != PartnerState::Registered {
            return Ok(());
        }
        let Some(connector) = self.core.connector(session.connector_id).await? else {
            return Ok(());
        };
        let Some((station, details)) = self.store.published_location(connector.station_id).await?
        else {
            tracing::info!(session.id = %id, "OCPI: a partner's session on an unpublished station is not pushed");
            return Ok(());
        };
        let now = self.clock.now();
        let cost = self.cost(&session, &connector, now).await?;
        let party = &settings.party;
        let mut pushes = Vec::new();
        let push = |module, body| Push {
            partner_id: owner.partner.id,
            module,
            object_id: session.id,
            location_id: station.id,
            body,
            last_updated: now,
            attempts: 0,
            next_attempt: now,
        };
        if owner.partner.endpoint("sessions", "RECEIVER").is_some() {
            pushes.push(push(
                PushModule::Sessions,
                session_json(party, &owner, &session, &connector, &cost, now),
            ));
        }
        if session.ended_at.is_some() && owner.partner.endpoint("cdrs", "RECEIVER").is_some() {
            let site = (&station, &details, &connector);
            pushes.push(push(
                PushModule::Cdrs,
                cdr_json(party, &owner, &session, site, &cost, now),
            ));
        }
        self.store.queue_pushes(&pushes).await?;
        if !pushes.is_empty() {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// What the session costs so far under its connector's tariff (no
    /// tariff: nothing, in EUR).
    async fn cost(
        &self,
        session: &ChargingSession,
        connector: &Connector,
        now: DateTime<Utc>,
    ) -> booking::Result<Cost> {
        let energy = session.energy_kwh.unwrap_or(0.0).max(0.0);
        let hours = ((session.ended_at.unwrap_or(now) - session.started_at)
            .num_seconds()
            .max(0) as f64)
            / 3600.0;
        let Some(tariff) = self.core.tariff_for_connector(connector.id).await? else {
            return Ok(Cost {
                currency: "EUR".into(),
                excl: session.cost_amount.unwrap_or(0.0),
                tax: 0.0,
                rate: 0.0,
                energy,
                hours,
                tariff: None,
            });
        };
        let c = tariff.cost(Usage {
            energy_kwh: energy,
            charging_minutes: hours * 60.0,
            idle_minutes: 0.0,
        });
        Ok(Cost {
            currency: tariff.currency.clone(),
            excl: c.excl_tax,
            tax: c.tax,
            rate: tariff.tax_rate_percent,
            energy,
            hours,
            tariff: Some(tariff),
        })
    }
}

/// A session's cost and use.
pub(crate) struct Cost {
    currency: String,
    excl: f64,
    tax: f64,
    rate: f64,
    energy: f64,
    hours: f64,
    tariff: Option<booking::tariffs::Tariff>,
}

fn session_json(
    party: &Party,
    owner: &Owner,
    s: &ChargingSession,
    connector: &Connector,
    cost: &Cost,
    now: DateTime<Utc>,
) -> Value {
    let version = owner.partner.version;
    let mut out = json!({
        "country_code": party.country_code,
        "party_id": party.party_id,
        "id": s.id.to_string(),
        "start_date_time": timestamp(s.started_at),
        "kwh": cost.energy,
        "cdr_token": owner.cdr_token,
        "auth_method": owner.auth_method,
        "location_id": connector.station_id.to_string(),
        "evse_uid": connector.id.to_string(),
        "connector_id": "1",
        "currency": cost.currency,
        "total_cost": price(version, cost.excl, cost.tax, cost.rate),
        "status": if s.ended_at.is_some() { "COMPLETED" } else { "ACTIVE" },
        "last_updated": timestamp(now),
    });
    if let Some(end) = s.ended_at {
        out["end_date_time"] = json!(timestamp(end));
    }
    if let Some(r) = &owner.authorization_reference {
        out["authorization_reference"] = json!(r);
    }
    out
}

fn cdr_json(
    party: &Party,
    owner: &Owner,
    s: &ChargingSession,
    (station, details, connector): (&Station, &LocationDetails, &Connector),
    cost: &Cost,
    now: DateTime<Utc>,
) -> Value {
    let version = owner.partner.version;
    let (standard, format, power_type) = plug(&connector.connector_type);
    let mut out = json!({
        "country_code": party.country_code,
        "party_id": party.party_id,
        "id": s.id.to_string(),
        "start_date_time": timestamp(s.started_at),
        "end_date_time": timestamp(s.ended_at.unwrap_or(now)),
        "session_id": s.id.to_string(),
        "cdr_token": owner.cdr_token,
        "auth_method": owner.auth_method,
        "cdr_location": {
            "id": station.id.to_string(),
            "name": station.name,
            "address": address(station),
            "city": details.city,
            "country": details.country,
            "coordinates": coordinates(station),
            "evse_uid": connector.id.to_string(),
            "evse_id": evse_id(party, connector),
            "connector_id": "1",
            "connector_standard": standard,
            "connector_format": format,
            "connector_power_type": power_type,
        },
        "currency": cost.currency,
        "charging_periods": [{
            "start_date_time": timestamp(s.started_at),
            "dimensions": [
                { "type": "ENERGY", "volume": cost.energy },
                { "type": "TIME", "volume": (cost.hours * 10_000.0).round() / 10_000.0 },
            ],
        }],
        "total_cost": price(version, cost.excl, cost.tax, cost.rate),
        "total_energy": cost.energy,
        "total_time": (cost.hours * 10_000.0).round() / 10_000.0,
        "last_updated": timestamp(now),
    });
    if let Some(postal) = &details.postal_code {
        out["cdr_location"]["postal_code"] = json!(postal);
    }
    if let Some(r) = &owner.authorization_reference {
        out["authorization_reference"] = json!(r);
    }
    if let Some(t) = &cost.tariff {
        out["charging_periods"][0]["tariff_id"] = json!(t.id.to_string());
        out["tariffs"] = json!([crate::tariffs::tariff(
            party,
            t,
            version.unwrap_or(OcpiVersion::V221)
        )]);
    } else {
        out["remark"] = json!("no tariff is set for this connector");
    }
    out
}
