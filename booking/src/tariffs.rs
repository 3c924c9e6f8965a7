//! What charging costs: tariffs an operator sets per station or connector
//! (energy, time while charging, time while idle, a session fee, tax), and
//! the cost of a session's use under one. Pure arithmetic over plain
//! numbers, so the charger's running cost, the final cost and a booking's
//! expected cost are the same function.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Prices in one currency. All amounts are per unit, excluding tax.
#[derive(Debug, Clone, PartialEq)]
pub struct Tariff {
    /// evgate's id for it.
    pub id: Uuid,
    /// What operators call it ("Standard AC").
    pub name: String,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// Per kWh delivered.
    pub price_per_kwh: f64,
    /// Per minute while the car is charging.
    pub price_per_minute_charging: f64,
    /// Per minute while plugged in but not charging (blocking fee).
    pub price_per_minute_idle: f64,
    /// Once per session.
    pub session_fee: f64,
    /// Percent added on top (VAT), 0 to 100.
    pub tax_rate_percent: f64,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
}

/// What a session used, as far as it is known.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Energy delivered, kWh.
    pub energy_kwh: f64,
    /// Minutes the car was charging.
    pub charging_minutes: f64,
    /// Minutes it was plugged in without charging.
    pub idle_minutes: f64,
}

/// A cost, rounded to the cent (half away from zero) after tax.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    /// Before tax.
    pub excl_tax: f64,
    /// Tax on it.
    pub tax: f64,
    /// What the driver pays.
    pub total: f64,
}

/// Where a tariff applies: a connector's own tariff wins over its
/// station's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TariffScope {
    /// Every connector of a station without one of its own.
    Station(Uuid),
    /// One connector.
    Connector(Uuid),
}

fn cents(amount: f64) -> f64 {
    (amount * 100.0).round() / 100.0
}

impl Tariff {
    /// What `usage` costs under this tariff.
    pub fn cost(&self, usage: Usage) -> Cost {
        let excl = self.session_fee
            + usage.energy_kwh.max(0.0) * self.price_per_kwh
            + usage.charging_minutes.max(0.0) * self.price_per_minute_charging
            + usage.idle_minutes.max(0.0) * self.price_per_minute_idle;
        let excl_tax = cents(excl);
        let total = cents(excl * (1.0 + self.tax_rate_percent / 100.0));
        Cost {
            excl_tax,
            tax: cents(total - excl_tax),
            total,
        }
    }

    /// The cost of a booked slot if the car charges at the connector's
    /// rated power throughout: what the app shows before the driver comes.
    pub fn expected(&self, power_kw: f64, slot_minutes: f64) -> Cost {
        self.cost(Usage {
            energy_kwh: power_kw * slot_minutes / 60.0,
            charging_minutes: slot_minutes,
            idle_minutes: 0.0,
        })
    }

    /// Checks what an operator entered; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::validation("name", "must be 1 to 100 characters"));
        }
        if self.currency.len() != 3 || !self.currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(Error::validation(
                "currency",
                "must be an ISO 4217 code: three capital letters, e.g. EUR",
            ));
        }
        for (field, price) in [
            ("pricePerKwh", self.price_per_kwh),
            ("pricePerMinuteCharging", self.price_per_minute_charging),
            ("pricePerMinuteIdle", self.price_per_minute_idle),
            ("sessionFee", self.session_fee),
        ] {
            if !(0.0..=10_000.0).contains(&price) {
                return Err(Error::validation(field, "must be a number from 0 to 10000"));
            }
        }
        if !(0.0..=100.0).contains(&self.tax_rate_percent) {
            return Err(Error::validation("taxRatePercent", "must be from 0 to 100"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tariff() -> Tariff {
        Tariff {
            id: Uuid::nil(),
            name: "Standard".into(),
            currency: "EUR".into(),
            price_per_kwh: 0.39,
            price_per_minute_charging: 0.02,
            price_per_minute_idle: 0.10,
            session_fee: 0.50,
            tax_rate_percent: 21.0,
            created_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn a_session_costs_energy_time_idle_fee_and_tax() {
        let usage = Usage {
            energy_kwh: 12.5,
            charging_minutes: 45.0,
            idle_minutes: 10.0,
        };
        // 0.50 + 12.5 × 0.39 + 45 × 0.02 + 10 × 0.10 = 7.275
        let cost = tariff().cost(usage);
        assert_eq!(cost.excl_tax, 7.28);
        assert_eq!(cost.total, 8.80, "7.275 × 1.21 = 8.80275");
        assert_eq!(cost.tax, 1.52);
        assert_eq!(tariff().cost(Usage::default()).total, 0.61, "the fee alone");
    }

    #[test]
    fn nothing_used_backwards_is_charged() {
        let usage = Usage {
            energy_kwh: -3.0,
            charging_minutes: -1.0,
            idle_minutes: 0.0,
        };
        assert_eq!(tariff().cost(usage).excl_tax, 0.50);
    }

    #[test]
    fn a_booking_expects_rated_power_for_its_slot() {
        // 11 kW for 60 min: 11 kWh × 0.39 + 60 × 0.02 + 0.50 = 5.99 → × 1.21
        let cost = tariff().expected(11.0, 60.0);
        assert_eq!(cost.excl_tax, 5.99);
        assert_eq!(cost.total, 7.25);
    }

    #[test]
    fn what_operators_enter_is_checked() {
        assert!(tariff().validate().is_ok());
        for (change, field) in [
            (
                Box::new(|t: &mut Tariff| t.currency = "eur".into()) as Box<dyn Fn(&mut Tariff)>,
                "currency",
            ),
            (
                Box::new(|t: &mut Tariff| t.price_per_kwh = -0.1),
                "pricePerKwh",
            ),
            (
                Box::new(|t: &mut Tariff| t.session_fee = f64::NAN),
                "sessionFee",
            ),
            (
                Box::new(|t: &mut Tariff| t.tax_rate_percent = 120.0),
                "taxRatePercent",
            ),
            (Box::new(|t: &mut Tariff| t.name = " ".into()), "name"),
        ] {
            let mut t = tariff();
            change(&mut t);
            match t.validate() {
                Err(Error::Validation { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
