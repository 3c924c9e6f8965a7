//! Cost on OCPP 1.6 chargers: 1.6 has no cost messages, so the OCA's
//! "OCPP & California Pricing Requirements" carries them in DataTransfer
//! (vendor `org.openchargealliance.costmsg`): `RunningCost` while charging,
//! `FinalCost` after the transaction. Only a charger whose configuration
//! says `CustomDisplayCostAndPrice` = true gets them; to others evgate sends
//! nothing. Prices go out tax included: they are what the driver pays.

use booking::iso;
use booking::tariffs::Tariff;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The customization's DataTransfer vendor.
pub const VENDOR: &str = "org.openchargealliance.costmsg";

/// The configuration key a charger declares support with.
pub const SUPPORT_KEY: &str = "CustomDisplayCostAndPrice";

/// GetConfiguration asking whether the charger takes cost messages.
pub fn support_query() -> Value {
    json!({ "key": [SUPPORT_KEY] })
}

/// Whether a GetConfiguration answer says the charger takes them.
pub fn supported(answer: &Value) -> bool {
    answer["configurationKey"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|k| {
            k["key"].as_str() == Some(SUPPORT_KEY)
                && k["value"]
                    .as_str()
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        })
}

fn with_tax(tariff: &Tariff, price: f64) -> f64 {
    (price * (1.0 + tariff.tax_rate_percent / 100.0) * 1000.0).round() / 1000.0
}

fn data_transfer(message: &str, data: &Value) -> Value {
    json!({ "vendorId": VENDOR, "messageId": message, "data": data.to_string() })
}

/// RunningCost: the cost so far, the meter, what the car does, and the
/// prices that apply.
pub fn running_cost(
    transaction_id: i64,
    at: DateTime<Utc>,
    meter_wh: f64,
    cost: f64,
    charging: bool,
    tariff: &Tariff,
) -> Value {
    data_transfer(
        "RunningCost",
        &json!({
            "transactionId": transaction_id,
            "timestamp": iso(at),
            "meterValue": meter_wh.round() as i64,
            "cost": cost,
            "state": if charging { "Charging" } else { "Idle" },
            "chargingPrice": {
                "kWhPrice": with_tax(tariff, tariff.price_per_kwh),
                "hourPrice": with_tax(tariff, tariff.price_per_minute_charging * 60.0),
                "flatFee": with_tax(tariff, tariff.session_fee),
            },
        }),
    )
}

/// FinalCost: what the transaction cost, in words for the screen too.
pub fn final_cost(transaction_id: i64, cost: f64, energy_kwh: f64, currency: &str) -> Value {
    data_transfer(
        "FinalCost",
        &json!({
            "transactionId": transaction_id,
            "cost": cost,
            "priceText": format!("{cost:.2} {currency} for {energy_kwh:.2} kWh"),
        }),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tariff() -> Tariff {
        Tariff {
            id: uuid::Uuid::nil(),
            name: "T".into(),
            currency: "USD".into(),
            price_per_kwh: 0.40,
            price_per_minute_charging: 0.05,
            price_per_minute_idle: 0.0,
            session_fee: 1.0,
            tax_rate_percent: 10.0,
            created_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn support_is_read_from_the_configuration() {
        let yes =
            json!({"configurationKey": [{"key": SUPPORT_KEY, "readonly": true, "value": "True"}]});
        assert!(supported(&yes));
        let no =
            json!({"configurationKey": [{"key": SUPPORT_KEY, "readonly": true, "value": "false"}]});
        assert!(!supported(&no));
        assert!(!supported(&json!({"unknownKey": [SUPPORT_KEY]})));
    }

    #[test]
    fn running_and_final_cost_are_data_transfers_with_json_data() {
        let at = DateTime::parse_from_rfc3339("2030-01-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let running = running_cost(7, at, 12_345.6, 5.5, false, &tariff());
        assert_eq!(running["vendorId"], VENDOR);
        assert_eq!(running["messageId"], "RunningCost");
        let data: Value = serde_json::from_str(running["data"].as_str().unwrap()).unwrap();
        assert_eq!(data["transactionId"], 7);
        assert_eq!(data["meterValue"], 12_346);
        assert_eq!(data["state"], "Idle");
        assert_eq!(
            data["chargingPrice"],
            json!({"kWhPrice": 0.44, "hourPrice": 3.3, "flatFee": 1.1})
        );
        let typed: rust_ocpp::v1_6::messages::data_transfer::DataTransferRequest =
            serde_json::from_value(running).unwrap();
        assert_eq!(typed.message_id.as_deref(), Some("RunningCost"));
        let done = final_cost(7, 7.8, 15.0, "USD");
        let data: Value = serde_json::from_str(done["data"].as_str().unwrap()).unwrap();
        assert_eq!(
            data,
            json!({"transactionId": 7, "cost": 7.8, "priceText": "7.80 USD for 15.00 kWh"})
        );
    }
}
