//! Tariffs (OCPI module `tariffs`), evgate as the sender: the operator's
//! tariffs as OCPI Tariffs, and each published connector's tariff named
//! in its Connector's `tariff_ids`.

use booking::tariffs::Tariff;
use serde_json::{Value, json};

use crate::envelope::timestamp;
use crate::locations::Party;
use crate::partner::OcpiVersion;

/// A tariff as OCPI's Tariff: one element with a component per price
/// evgate charges — energy per kWh, charging time and idle (parking)
/// time per hour, the session fee as FLAT — excluding tax, with the tax
/// rate as each component's `vat`.
pub(crate) fn tariff(party: &Party, t: &Tariff, version: OcpiVersion) -> Value {
    let vat = t.tax_rate_percent;
    let mut components: Vec<Value> = [
        ("ENERGY", t.price_per_kwh, 1),
        ("TIME", t.price_per_minute_charging * 60.0, 60),
        ("PARKING_TIME", t.price_per_minute_idle * 60.0, 60),
        ("FLAT", t.session_fee, 1),
    ]
    .into_iter()
    .filter(|(_, price, _)| *price > 0.0)
    .map(|(kind, price, step)| {
        json!({ "type": kind, "price": (price * 10_000.0).round() / 10_000.0, "vat": vat, "step_size": step })
    })
    .collect();
    if components.is_empty() {
        components.push(json!({ "type": "ENERGY", "price": 0.0, "vat": vat, "step_size": 1 }));
    }
    let mut out = json!({
        "country_code": party.country_code,
        "party_id": party.party_id,
        "id": t.id.to_string(),
        "currency": t.currency,
        "type": "REGULAR",
        "tariff_alt_text": [{ "language": "en", "text": t.name }],
        "elements": [{ "price_components": components }],
        "last_updated": timestamp(t.created_at),
    });
    if version == OcpiVersion::V230 {
        out["tax_included"] = json!("NO");
    }
    out
}
