//! The booking suites' fixture (`tests/bookings.rs`,
//! `tests/bookings_on_chargers.rs`): a station with two AVAILABLE
//! connectors, a charger stand-in that answers as told, and the holds,
//! confirms and availability reads they make over HTTP.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use booking::Clock as _;
use booking::charger_control::{ChargerControl, Refusal, ReserveRequest};
use booking::model::ConnectorStatus;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::{Value, json};

use super::TestApp;

/// The charger here: a stand-in that answers ReserveNow/CancelReservation
/// as told and records what it was asked.
#[derive(Debug, Default)]
pub struct ScriptedChargers {
    answers: Mutex<VecDeque<Result<(), Refusal>>>,
    reserved: Mutex<Vec<ReserveRequest>>,
    cancelled: Mutex<Vec<(String, i32)>>,
}

impl ScriptedChargers {
    pub fn answer_next(&self, answer: Result<(), Refusal>) {
        self.answers.lock().unwrap().push_back(answer);
    }
    pub fn reserved(&self) -> Vec<ReserveRequest> {
        self.reserved.lock().unwrap().clone()
    }
    pub fn cancelled(&self) -> Vec<(String, i32)> {
        self.cancelled.lock().unwrap().clone()
    }
}

#[async_trait]
impl ChargerControl for ScriptedChargers {
    async fn reserve_now(&self, request: &ReserveRequest) -> Result<(), Refusal> {
        self.reserved.lock().unwrap().push(request.clone());
        self.answers.lock().unwrap().pop_front().unwrap_or(Ok(()))
    }
    async fn cancel_reservation(&self, cp: &str, id: i32) -> Result<(), Refusal> {
        self.cancelled.lock().unwrap().push((cp.to_owned(), id));
        Ok(())
    }
}

pub struct Site {
    pub station: String,
    pub connectors: Vec<String>,
}

/// A station with charger CP-1 and two AVAILABLE connectors.
pub async fn site(app: &TestApp) -> Site {
    let admin = app.admin();
    let (_, s) = app
        .send(
            "POST",
            "/v1/admin/stations",
            Some(&admin),
            Some(r#"{"name":"Hub","latitude":17.5,"longitude":78.5}"#),
        )
        .await;
    let station = s["data"]["id"].as_str().unwrap().to_owned();
    let (code, _) = app
        .send(
            "POST",
            &format!("/v1/admin/stations/{station}/chargers"),
            Some(&admin),
            Some(r#"{"chargePointId":"CP-1","securityProfile":0}"#),
        )
        .await;
    assert_eq!(code, 201);
    let mut connectors = Vec::new();
    for n in 1..=2 {
        let body = json!({"chargePointId": "CP-1", "connectorId": n, "connectorType": "CCS", "powerKw": 50.5}).to_string();
        let (_, c) = app
            .send(
                "POST",
                &format!("/v1/admin/stations/{station}/connectors"),
                Some(&admin),
                Some(&body),
            )
            .await;
        let id = c["data"]["id"].as_str().unwrap().to_owned();
        // As a StatusNotification Available from the charger would.
        app.bookings
            .apply_connector_status(
                id.parse().unwrap(),
                ConnectorStatus::Available,
                app.clock.now(),
            )
            .await
            .unwrap();
        connectors.push(id);
    }
    Site {
        station,
        connectors,
    }
}

/// The start of the hour `hours` after the current one (so at least `hours - 1`
/// hours ahead of the test clock).
pub fn hour_from_now(app: &TestApp, hours: i64) -> DateTime<Utc> {
    app.clock.now().duration_trunc(TimeDelta::hours(1)).unwrap() + TimeDelta::hours(hours)
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub async fn hold(
    app: &TestApp,
    token: &str,
    site: &Site,
    connector: usize,
    start: DateTime<Utc>,
    minutes: i64,
) -> (u16, Value) {
    let body = json!({
        "stationId": site.station,
        "connectorId": site.connectors[connector],
        "startTs": iso(start),
        "endTs": iso(start + TimeDelta::minutes(minutes)),
    })
    .to_string();
    app.send("POST", "/v1/bookings/holds", Some(token), Some(&body))
        .await
}

pub async fn confirm(app: &TestApp, token: &str, hold_token: &str) -> (u16, Value) {
    let body = json!({"holdToken": hold_token, "paymentId": "pay_123"}).to_string();
    app.send("POST", "/v1/bookings/confirm", Some(token), Some(&body))
        .await
}

pub async fn slots(
    app: &TestApp,
    token: &str,
    site: &Site,
    start: DateTime<Utc>,
    hours: i64,
) -> Vec<(String, String)> {
    let path = format!(
        "/v1/stations/{}/availability?startDate={}&endDate={}&slotDurationMinutes=60",
        site.station,
        iso(start),
        iso(start + TimeDelta::hours(hours))
    );
    let (code, body) = app.send("GET", &path, Some(token), None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["data"]["total"].as_u64().unwrap() as usize,
        body["data"]["availableSlots"].as_array().unwrap().len()
    );
    body["data"]["availableSlots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["durationMinutes"], 60);
            (
                s["connectorId"].as_str().unwrap().to_owned(),
                s["start"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub fn code(resp: &(u16, Value)) -> (u16, &str) {
    (resp.0, resp.1["error"]["code"].as_str().unwrap_or(""))
}
