//! The fuzz target's body, shared by `fuzz/` (`cargo +nightly fuzz run
//! webhook_body`) and the stable smoke test below, which feeds it a few
//! thousand random bodies in `cargo test`. Not part of the API: compiled for
//! tests and with the `fuzzing` feature only.

use chrono::{DateTime, TimeDelta};
use uuid::Uuid;

use crate::error::WebhookError;
use crate::report::{self, Draft, FUTURE_SKEW, Kind, MAX_COST, MAX_KWH, Report};
use crate::signature;

/// Target `webhook_body`: the first byte picks the webhook and how long
/// before arrival it was signed, the rest is the body. Whatever is posted,
/// reading it never panics and refuses only with a validation error naming
/// a field; a report read holds its kind, readings within bounds in Wh,
/// a trimmed session id, a time to the millisecond no later than the
/// allowed skew, and reads back from its stored form as itself. The body
/// is also tried as a signature header.
pub fn body(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(first % 4)];
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let signed_at = now - TimeDelta::seconds(i64::from(first / 4));
    let draft = match report::read(kind, body, now, signed_at) {
        Ok(draft) => draft,
        Err(WebhookError::Validation { field, .. }) => {
            assert!(!field.is_empty());
            return;
        }
        Err(other) => panic!("{kind:?} {body:?}: {other:?}"),
    };
    let report = match draft {
        Draft::OnConnector { connector, report } => {
            assert!(matches!(kind, Kind::ConnectorStatus | Kind::SessionStart));
            assert_eq!(
                connector.connector_id.is_some(),
                body_names(body, "connectorId")
            );
            report.on_connector(Uuid::from_u128(7))
        }
        Draft::Session { session, report } => {
            assert!(matches!(kind, Kind::MeterUpdate | Kind::SessionEnd));
            session_id(&session);
            report
        }
    };
    assert_eq!(report.kind(), kind);
    let time = match &report {
        Report::ConnectorStatus(r) => r.at,
        Report::SessionStart(r) => {
            session_id(&r.vendor_session_id);
            wh(r.meter_start_wh);
            r.started_at
        }
        Report::MeterUpdate(r) => {
            session_id(&r.vendor_session_id);
            wh(Some(r.meter_wh));
            r.at
        }
        Report::SessionEnd(r) => {
            session_id(&r.vendor_session_id);
            wh(r.meter_stop_wh);
            wh(r.energy_kwh.map(|k| k * 1000.0));
            assert!(r.cost_amount.is_none_or(|c| (0.0..=MAX_COST).contains(&c)));
            r.ended_at
        }
    };
    assert!(time <= now + FUTURE_SKEW, "{time}");
    assert_eq!(time, booking::clock::to_millis(time));
    let stored = report.to_json();
    match Report::from_json(kind, &stored) {
        Ok(back) => assert_eq!(back, report, "stored as {stored}"),
        Err(e) => panic!("{stored} does not read back: {e}"),
    }
    // The body as a signature header: checked, never trusted.
    if let Ok(header) = std::str::from_utf8(body) {
        assert!(!signature::verify(b"secret", 0, body, header));
    }
    let signed = signature::sign(b"secret", signed_at.timestamp(), body);
    assert!(signature::verify(
        b"secret",
        signed_at.timestamp(),
        body,
        &signed
    ));
}

/// Whether the body's own text has `field` at all (a cheap cross-check
/// that the connector reference came from the body).
fn body_names(body: &[u8], field: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get(field).map(|f| !f.is_null()))
        .unwrap_or(false)
}

fn session_id(id: &str) {
    assert_eq!(id.trim(), id);
    assert!(!id.is_empty() && id.chars().count() <= 255, "{id:?}");
}

fn wh(v: Option<f64>) {
    if let Some(v) = v {
        assert!(
            v.is_finite() && (0.0..=MAX_KWH * 1000.0).contains(&v),
            "{v}"
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    const BODIES: [&str; 4] = [
        r#"{"connectorId":"00000000-0000-0000-0000-000000000007","status":"available","timestamp":"2027-01-15T08:00:00.123456Z"}"#,
        r#"{"vendorSessionId":" s1 ","vendorConnectorId":"V-1","startMeterReading":12.5,"idTag":"T","bookingId":null}"#,
        r#"{"vendorSessionId":"s1","meterReading":13.25}"#,
        r#"{"vendorSessionId":"s1","endMeterReading":25.5,"energyKwh":13,"costAmount":2.5,"reason":" "}"#,
    ];

    #[test]
    fn the_examples_are_read() {
        for (i, b) in BODIES.iter().enumerate() {
            let kind = Kind::ALL[i];
            let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
            assert!(report::read(kind, b.as_bytes(), now, now).is_ok(), "{b}");
            let mut data = vec![u8::try_from(i).unwrap()];
            data.extend_from_slice(b.as_bytes());
            body(&data);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Bodies shaped like the examples, with fields and values swapped
        /// for others of any type, or any text at all.
        #[test]
        fn webhook_body_smoke(
            kind in 0u8..=255,
            fields in proptest::collection::vec((
                prop::sample::select(&["connectorId", "vendorConnectorId", "stationId", "status",
                    "timestamp", "vendorSessionId", "startMeterReading", "meterReading",
                    "endMeterReading", "energyKwh", "costAmount", "reason", "idTag", "bookingId",
                    "metadata", "x"][..]),
                prop_oneof![
                    Just("null".to_owned()),
                    r#""(available|FAULTED|charging| s |00000000-0000-0000-0000-00000000000[0-9]|2027-01-15T08:0[0-9]:00(\.[0-9]{1,9})?(Z|\+0[0-9]:00)|9999-12-31T23:59:59Z)""#,
                    "-?[0-9]{1,3}(\\.[0-9]{1,17})?(e-?[0-9]{1,3})?",
                    r#""[^"\\]{0,8}""#,
                    Just("[]".to_owned()),
                    Just("{}".to_owned()),
                ],
            ), 0..7),
            raw in ".{0,32}",
            use_raw in proptest::bool::weighted(0.1),
        ) {
            let text = if use_raw {
                raw
            } else {
                let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                format!("{{{}}}", fields.join(","))
            };
            let mut data = vec![kind];
            data.extend_from_slice(text.as_bytes());
            body(&data);
        }
    }
}
