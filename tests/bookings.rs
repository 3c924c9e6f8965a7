//! The booking service over HTTP: the seed's flows, validation, ownership,
//! the hold race, and enforcement on the charger (ReserveNow at hold time
//! inside the lead window, the lead-window scheduler, no-shows, hold
//! expiry) with time moved by a manual clock.
//!
//! The charger here is `ScriptedChargers`, a stand-in that answers
//! ReserveNow/CancelReservation as told and records what it was asked:
//! until the CSMS serves OCPP no real charger can be connected. The tests
//! against real chargers belong to the CSMS issue.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use booking::charger_control::{ChargerControl, Refusal, ReserveRequest};
use booking::model::ConnectorStatus;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::TestApp;
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Debug, Default)]
struct ScriptedChargers {
    answers: Mutex<VecDeque<Result<(), Refusal>>>,
    reserved: Mutex<Vec<ReserveRequest>>,
    cancelled: Mutex<Vec<(String, i32)>>,
}

impl ScriptedChargers {
    fn answer_next(&self, answer: Result<(), Refusal>) {
        self.answers.lock().unwrap().push_back(answer);
    }
    fn reserved(&self) -> Vec<ReserveRequest> {
        self.reserved.lock().unwrap().clone()
    }
    fn cancelled(&self) -> Vec<(String, i32)> {
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

struct Site {
    station: String,
    connectors: Vec<String>,
}

/// A station with charger CP-1 and two AVAILABLE connectors.
async fn site(app: &TestApp) -> Site {
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

use booking::Clock as _;

/// The start of the hour `hours` after the current one (so at least `hours - 1`
/// hours ahead of the test clock).
fn hour_from_now(app: &TestApp, hours: i64) -> DateTime<Utc> {
    app.clock.now().duration_trunc(TimeDelta::hours(1)).unwrap() + TimeDelta::hours(hours)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn hold(
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

async fn confirm(app: &TestApp, token: &str, hold_token: &str) -> (u16, Value) {
    let body = json!({"holdToken": hold_token, "paymentId": "pay_123"}).to_string();
    app.send("POST", "/v1/bookings/confirm", Some(token), Some(&body))
        .await
}

async fn slots(
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

fn code(resp: &(u16, Value)) -> (u16, &str) {
    (resp.0, resp.1["error"]["code"].as_str().unwrap_or(""))
}

async fn the_seed_flow_find_hold_confirm_cancel(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app).await;
    let user = app.user();
    let start = hour_from_now(&app, 3);

    let free = slots(&app, &user, &site, start, 2).await;
    assert_eq!(free.len(), 4, "2 connectors x 2 hours: {free:?}");
    let slot_start = start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);

    let (status, held) = hold(&app, &user, &site, 0, start, 60).await;
    assert_eq!(status, 201, "{held}");
    let token = held["data"]["token"].as_str().unwrap().to_owned();
    assert!(
        token.starts_with("hold_") && token.len() >= 5 + 32,
        "{token}"
    );
    assert_eq!(held["data"]["expiresIn"], 600);
    let free = slots(&app, &user, &site, start, 2).await;
    assert!(
        !free.contains(&(site.connectors[0].clone(), slot_start.clone())),
        "held slot not offered"
    );
    assert_eq!(free.len(), 3);

    let (status, booked) = confirm(&app, &user, &token).await;
    assert_eq!(status, 201, "{booked}");
    let b = &booked["data"];
    assert_eq!(b["status"], "CONFIRMED");
    assert_eq!(
        (b["stationId"].as_str(), b["connectorId"].as_str()),
        (
            Some(site.station.as_str()),
            Some(site.connectors[0].as_str())
        )
    );
    assert_eq!(b["startTs"], slot_start);
    let id_tag = b["idTag"].as_str().unwrap();
    assert!(!id_tag.is_empty() && id_tag.len() <= 20);
    let id = b["id"].as_str().unwrap().to_owned();

    // Confirming again answers the same booking.
    let (status, again) = confirm(&app, &user, &token).await;
    assert_eq!(
        (status, again["data"]["id"].as_str()),
        (200, Some(id.as_str()))
    );
    assert_eq!(
        slots(&app, &user, &site, start, 2).await.len(),
        3,
        "booked slot not offered"
    );

    let (_, one) = app
        .send("GET", &format!("/v1/bookings/{id}"), Some(&user), None)
        .await;
    assert_eq!(one["data"]["paymentId"], "pay_123");
    let (_, mine) = app
        .send("GET", "/v1/bookings?status=CONFIRMED", Some(&user), None)
        .await;
    assert_eq!(mine["data"]["total"], 1);
    let (_, none) = app
        .send("GET", "/v1/bookings?status=CANCELLED", Some(&user), None)
        .await;
    assert_eq!(none["data"]["total"], 0);

    let (status, cancelled) = app
        .send(
            "POST",
            &format!("/v1/bookings/{id}/cancel"),
            Some(&user),
            None,
        )
        .await;
    assert_eq!(
        (status, cancelled["data"]["status"].as_str()),
        (200, Some("CANCELLED"))
    );
    assert_eq!(
        slots(&app, &user, &site, start, 2).await.len(),
        4,
        "cancelled slot offered again"
    );
    let (status, again) = app
        .send(
            "POST",
            &format!("/v1/bookings/{id}/cancel"),
            Some(&user),
            None,
        )
        .await;
    assert_eq!(
        (status, again["data"]["status"].as_str()),
        (200, Some("CANCELLED"))
    );
}

async fn bookings_are_private_to_their_user(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app).await;
    let (alice, bob) = (
        app.token(1001, evgate::config::Role::User),
        app.token(1002, evgate::config::Role::User),
    );
    let start = hour_from_now(&app, 3);
    let (_, held) = hold(&app, &alice, &site, 0, start, 60).await;
    let token = held["data"]["token"].as_str().unwrap().to_owned();
    assert_eq!(
        code(&confirm(&app, &bob, &token).await),
        (404, "NOT_FOUND"),
        "Bob cannot confirm Alice's hold"
    );
    let (_, booked) = confirm(&app, &alice, &token).await;
    let id = booked["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(code(&confirm(&app, &bob, &token).await), (404, "NOT_FOUND"));
    assert_eq!(
        code(
            &app.send("GET", &format!("/v1/bookings/{id}"), Some(&bob), None)
                .await
        ),
        (404, "NOT_FOUND")
    );
    assert_eq!(
        code(
            &app.send(
                "POST",
                &format!("/v1/bookings/{id}/cancel"),
                Some(&bob),
                None
            )
            .await
        ),
        (404, "NOT_FOUND")
    );
    let (_, bobs) = app.send("GET", "/v1/bookings", Some(&bob), None).await;
    assert_eq!(bobs["data"]["total"], 0);
    // An admin sees and cancels anyone's.
    let (_, all) = app
        .send("GET", "/v1/bookings", Some(&app.admin()), None)
        .await;
    assert_eq!(all["data"]["total"], 1);
    let (status, _) = app
        .send(
            "POST",
            &format!("/v1/bookings/{id}/cancel"),
            Some(&app.admin()),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

async fn bad_holds_and_windows_are_refused_with_the_field_named(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app).await;
    let other = {
        let (_, s) = app
            .send(
                "POST",
                "/v1/admin/stations",
                Some(&app.admin()),
                Some(r#"{"name":"Other","latitude":1.5,"longitude":1.5}"#),
            )
            .await;
        s["data"]["id"].as_str().unwrap().to_owned()
    };
    let user = app.user();
    let start = hour_from_now(&app, 3);
    let hold_body = |station: &str, connector: &str, s: String, e: String| {
        json!({"stationId": station, "connectorId": connector, "startTs": s, "endTs": e})
            .to_string()
    };
    let c0 = site.connectors[0].clone();
    let cases = [
        (hold_body(&site.station, &c0, iso(start), iso(start - TimeDelta::hours(1))), 400, Some("endTs")),
        (hold_body(&site.station, &c0, iso(start - TimeDelta::hours(5)), iso(start - TimeDelta::hours(4))), 400, Some("startTs")),
        (hold_body(&site.station, &c0, iso(start + TimeDelta::seconds(30)), iso(start + TimeDelta::hours(1))), 400, Some("startTs")),
        (hold_body(&site.station, &c0, iso(start), iso(start + TimeDelta::minutes(241))), 400, Some("endTs")),
        (hold_body(&site.station, &c0, "tomorrow".into(), iso(start)), 400, Some("startTs")),
        // Past BOOKING_HORIZON_DAYS (7): no hoarding years ahead.
        (hold_body(&site.station, &c0, iso(start + TimeDelta::days(8)), iso(start + TimeDelta::days(8) + TimeDelta::hours(1))), 400, Some("startTs")),
        (hold_body(&site.station, &c0, "9999-01-01T00:00:00Z".into(), "9999-01-01T01:00:00Z".into()), 400, Some("startTs")),
        (hold_body(&other, &c0, iso(start), iso(start + TimeDelta::hours(1))), 400, Some("connectorId")),
        (hold_body(&Uuid::new_v4().to_string(), &c0, iso(start), iso(start + TimeDelta::hours(1))), 404, None),
        (json!({"stationId": site.station, "connectorId": "nope", "startTs": iso(start), "endTs": iso(start)}).to_string(), 400, Some("connectorId")),
        (json!({"stationId": site.station, "startTs": iso(start), "endTs": iso(start)}).to_string(), 400, Some("connectorId")),
    ];
    for (body, status, field) in cases {
        let resp = app
            .send("POST", "/v1/bookings/holds", Some(&user), Some(&body))
            .await;
        assert_eq!(resp.0, status, "{body}: {resp:?}");
        if let Some(f) = field {
            assert_eq!(resp.1["error"]["field"], f, "{body}: {resp:?}");
        }
    }
    // Unusable connectors take no holds and offer no slots.
    for status in [
        ConnectorStatus::Faulted,
        ConnectorStatus::Maintenance,
        ConnectorStatus::Offline,
    ] {
        app.clock.advance(TimeDelta::seconds(1));
        app.bookings
            .apply_connector_status(c0.parse().unwrap(), status, app.clock.now())
            .await
            .unwrap();
        assert_eq!(
            code(&hold(&app, &user, &site, 0, start, 60).await),
            (409, "CONNECTOR_UNAVAILABLE")
        );
        let free = slots(&app, &user, &site, start, 1).await;
        assert_eq!(
            free,
            [(
                site.connectors[1].clone(),
                start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            )]
        );
    }
    let windows = [
        (
            format!(
                "startDate={}&endDate={}",
                iso(start),
                iso(start + TimeDelta::days(8))
            ),
            "endDate",
        ),
        (
            format!(
                "startDate={}&endDate={}",
                iso(start),
                iso(start - TimeDelta::hours(1))
            ),
            "endDate",
        ),
        (
            format!(
                "startDate={}&endDate={}&slotDurationMinutes=4",
                iso(start),
                iso(start + TimeDelta::hours(1))
            ),
            "slotDurationMinutes",
        ),
        (
            format!(
                "startDate={}&endDate={}&slotDurationMinutes=481",
                iso(start),
                iso(start + TimeDelta::hours(9))
            ),
            "slotDurationMinutes",
        ),
        ("startDate=soon".to_owned(), "startDate"),
        ("slotDurationMinutes=ten".to_owned(), "slotDurationMinutes"),
    ];
    for (query, field) in windows {
        let resp = app
            .send(
                "GET",
                &format!("/v1/stations/{}/availability?{query}", site.station),
                Some(&user),
                None,
            )
            .await;
        assert_eq!(
            (resp.0, resp.1["error"]["field"].as_str()),
            (400, Some(field)),
            "{query}: {resp:?}"
        );
    }
    let resp = app
        .send(
            "GET",
            &format!("/v1/stations/{}/availability", Uuid::new_v4()),
            Some(&user),
            None,
        )
        .await;
    assert_eq!(code(&resp), (404, "NOT_FOUND"));
    let resp = app
        .send("GET", "/v1/bookings?status=LATE", Some(&user), None)
        .await;
    assert_eq!(resp.1["error"]["field"], "status");
    let resp = app
        .send(
            "POST",
            "/v1/bookings/confirm",
            Some(&user),
            Some(r#"{"holdToken":"hold_unknown","paymentId":"p"}"#),
        )
        .await;
    assert_eq!(code(&resp), (404, "NOT_FOUND"));
    let resp = app
        .send(
            "POST",
            "/v1/bookings/confirm",
            Some(&user),
            Some(r#"{"holdToken":"hold_unknown"}"#),
        )
        .await;
    assert_eq!(resp.1["error"]["field"], "paymentId");
}

async fn availability_excludes_the_past_and_aligns_slots(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app).await;
    let now = app.clock.now();
    let free = slots(&app, &app.user(), &site, now - TimeDelta::hours(5), 7).await;
    let first = DateTime::parse_from_rfc3339(&free[0].1)
        .unwrap()
        .with_timezone(&Utc);
    assert!(first >= now, "no slot in the past");
    assert_eq!(
        first,
        now.duration_trunc(TimeDelta::hours(1)).unwrap() + TimeDelta::hours(1),
        "aligned to the hour"
    );
}

async fn an_expired_hold_cannot_be_confirmed(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app).await;
    let user = app.user();
    let (_, held) = hold(&app, &user, &site, 0, hour_from_now(&app, 3), 60).await;
    let token = held["data"]["token"].as_str().unwrap().to_owned();
    app.clock.advance(TimeDelta::seconds(601));
    assert_eq!(
        code(&confirm(&app, &user, &token).await),
        (409, "HOLD_EXPIRED")
    );
    // Its slot can be held by someone else now.
    let bob = app.token(77, evgate::config::Role::User);
    assert_eq!(
        hold(&app, &bob, &site, 0, hour_from_now(&app, 3), 60)
            .await
            .0,
        201
    );
}

async fn two_hundred_users_race_for_one_slot_and_one_wins(backend: &str) {
    let app = Arc::new(TestApp::on(backend, None).await);
    let site = Arc::new(site(&app).await);
    let start = hour_from_now(&app, 3);
    let mut tasks = Vec::new();
    for user in 0..200 {
        let (app, site) = (app.clone(), site.clone());
        tasks.push(tokio::spawn(async move {
            let token = app.token(5000 + user, evgate::config::Role::User);
            let resp = hold(&app, &token, &site, 0, start, 60).await;
            (
                resp.0,
                resp.1["error"]["code"].as_str().unwrap_or("").to_owned(),
            )
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            (201, _) => won += 1,
            (409, code) => assert_eq!(code, "SLOT_UNAVAILABLE"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1);
}

async fn a_hold_inside_the_lead_window_reserves_the_connector_and_the_charger_decides(
    backend: &str,
) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let user = app.user();
    // Starts within the 15-minute lead window.
    let start = app
        .clock
        .now()
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap()
        + TimeDelta::minutes(10);

    for refusal in [
        Refusal::Occupied,
        Refusal::Faulted,
        Refusal::Unavailable,
        Refusal::Rejected,
        Refusal::Timeout,
        Refusal::Offline,
        Refusal::CallError("InternalError".into()),
    ] {
        chargers.answer_next(Err(refusal.clone()));
        let resp = hold(&app, &user, &site, 0, start, 60).await;
        assert_eq!(
            code(&resp),
            (409, "CONNECTOR_UNAVAILABLE"),
            "{refusal:?}: {resp:?}"
        );
    }
    // Each refusal left the slot free: the next hold, accepted, gets it.
    let (status, held) = hold(&app, &user, &site, 0, start, 60).await;
    assert_eq!(status, 201, "{held}");
    assert_eq!(held["data"]["reservedOnCharger"], true);
    let asks = chargers.reserved();
    assert_eq!(asks.len(), 8);
    let last = asks.last().unwrap();
    assert_eq!(
        (
            last.charge_point_id.as_str(),
            last.evse_id,
            last.connector_id
        ),
        ("CP-1", 1, 1)
    );
    assert_eq!(
        last.expires_at,
        start + TimeDelta::minutes(15),
        "expiry = start + no-show grace"
    );
    let ids: std::collections::HashSet<_> = asks.iter().map(|r| r.reservation_id).collect();
    assert_eq!(ids.len(), 8, "a fresh reservation id each time");

    let (_, booked) = confirm(&app, &user, held["data"]["token"].as_str().unwrap()).await;
    let b = &booked["data"];
    assert_eq!(
        (
            b["reservationId"].as_i64(),
            b["reservedOnCharger"].as_bool()
        ),
        (Some(i64::from(last.reservation_id)), Some(true))
    );
    assert_eq!(
        b["idTag"].as_str(),
        Some(last.id_tag.as_str()),
        "the charger reserves for the booking's id tag"
    );

    let id = b["id"].as_str().unwrap();
    app.send(
        "POST",
        &format!("/v1/bookings/{id}/cancel"),
        Some(&user),
        None,
    )
    .await;
    assert_eq!(
        chargers.cancelled(),
        [("CP-1".to_owned(), last.reservation_id)]
    );
}

async fn the_scheduler_reserves_bookings_entering_the_lead_window(backend: &str) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let user = app.user();
    let start = hour_from_now(&app, 2);
    let mut ids = Vec::new();
    for connector in 0..2 {
        let (_, held) = hold(&app, &user, &site, connector, start, 60).await;
        assert_eq!(held["data"]["reservedOnCharger"], false);
        let (_, b) = confirm(&app, &user, held["data"]["token"].as_str().unwrap()).await;
        ids.push(b["data"]["id"].as_str().unwrap().to_owned());
    }
    assert!(
        chargers.reserved().is_empty(),
        "nothing reserved two hours ahead"
    );
    assert_eq!(app.bookings.reserve_due_bookings().await.unwrap(), 0);

    app.clock.set(start - TimeDelta::minutes(15));
    chargers.answer_next(Ok(()));
    chargers.answer_next(Err(Refusal::Occupied));
    assert_eq!(app.bookings.reserve_due_bookings().await.unwrap(), 1);
    assert_eq!(chargers.reserved().len(), 2);
    assert_eq!(
        app.bookings.reserve_due_bookings().await.unwrap(),
        0,
        "each booking reserved once"
    );
    assert_eq!(chargers.reserved().len(), 2);

    // The charger accepted the first ReserveNow and refused the second.
    let asks = chargers.reserved();
    let mut accepted = None;
    let mut refused = None;
    for id in &ids {
        let b = booking_status(&app, id).await;
        if b["idTag"] == json!(asks[0].id_tag) {
            accepted = Some(b);
        } else if b["idTag"] == json!(asks[1].id_tag) {
            refused = Some(b);
        }
    }
    let (accepted, refused) = (accepted.unwrap(), refused.unwrap());
    assert_eq!(
        (
            accepted["status"].as_str(),
            accepted["reservedOnCharger"].as_bool()
        ),
        (Some("CONFIRMED"), Some(true))
    );
    assert_eq!(
        (refused["status"].as_str(), refused["cancelReason"].as_str()),
        (Some("CANCELLED"), Some("CHARGER_OCCUPIED"))
    );
    let refunds = app.store.due_refunds(app.clock.now(), 10).await.unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (
            refunds[0].booking_id.to_string(),
            refunds[0].payment_id.as_deref(),
            refunds[0].reason.as_str()
        ),
        (
            refused["id"].as_str().unwrap().to_owned(),
            Some("pay_123"),
            "CHARGER_OCCUPIED"
        )
    );
}

async fn a_no_show_is_recorded_once_released_and_refunded(backend: &str) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let user = app.user();
    let mut events = app.events.subscribe();
    let start = hour_from_now(&app, 2);
    let (_, held) = hold(&app, &user, &site, 0, start, 60).await;
    let (_, b) = confirm(&app, &user, held["data"]["token"].as_str().unwrap()).await;
    let id = b["data"]["id"].as_str().unwrap().to_owned();

    app.clock.set(start - TimeDelta::minutes(10));
    app.bookings.reserve_due_bookings().await.unwrap();
    let reservation = chargers.reserved()[0].reservation_id;
    app.clock.set(start + TimeDelta::minutes(14));
    assert_eq!(
        app.bookings.record_no_shows().await.unwrap(),
        0,
        "still inside the grace period"
    );
    app.clock.set(start + TimeDelta::minutes(15));
    assert_eq!(app.bookings.record_no_shows().await.unwrap(), 1);
    assert_eq!(
        app.bookings.record_no_shows().await.unwrap(),
        0,
        "recorded once"
    );

    let (_, got) = app
        .send("GET", &format!("/v1/bookings/{id}"), Some(&user), None)
        .await;
    assert_eq!(
        (
            got["data"]["status"].as_str(),
            got["data"]["reservedOnCharger"].as_bool()
        ),
        (Some("NO_SHOW"), Some(false))
    );
    assert_eq!(chargers.cancelled(), [("CP-1".to_owned(), reservation)]);
    let refunds = app.store.due_refunds(app.clock.now(), 10).await.unwrap();
    assert_eq!(
        (
            refunds.len(),
            refunds[0].reason.as_str(),
            refunds[0].payment_id.as_deref()
        ),
        (1, "NO_SHOW", Some("pay_123"))
    );
    // The slot is offered again... only future ones, so none of this hour.
    let mut statuses = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let booking::events::Event::BookingChanged { booking } = e {
            statuses.push(booking.status.as_str());
        }
    }
    assert_eq!(statuses, ["CONFIRMED", "NO_SHOW"]);
}

async fn an_unconfirmed_hold_expires_and_frees_the_charger(backend: &str) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let mut events = app.events.subscribe();
    let start = app
        .clock
        .now()
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap()
        + TimeDelta::minutes(12);
    let (status, _) = hold(&app, &app.user(), &site, 1, start, 30).await;
    assert_eq!(status, 201);
    let reservation = chargers.reserved()[0].reservation_id;
    app.clock.advance(TimeDelta::minutes(10));
    assert_eq!(
        app.bookings.expire_holds().await.unwrap(),
        0,
        "swept a little after expiry, not at it"
    );
    app.clock.advance(TimeDelta::seconds(31));
    assert_eq!(app.bookings.expire_holds().await.unwrap(), 1);
    assert_eq!(app.bookings.expire_holds().await.unwrap(), 0);
    assert_eq!(chargers.cancelled(), [("CP-1".to_owned(), reservation)]);
    let kinds: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .map(|e| match e {
            booking::events::Event::HoldCreated { .. } => "created",
            booking::events::Event::HoldReleased { .. } => "released",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["created", "released"]);
}

async fn status_changes_reach_cached_reads_at_once(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app).await;
    let user = app.user();
    let start = hour_from_now(&app, 3);
    let path = format!("/v1/stations/{}", site.station);
    let (_, before) = app.send("GET", &path, Some(&user), None).await;
    assert_eq!(before["data"]["connectors"][0]["status"], "AVAILABLE");
    assert_eq!(slots(&app, &user, &site, start, 1).await.len(), 2);
    app.clock.advance(TimeDelta::seconds(1));
    app.bookings
        .apply_connector_status(
            site.connectors[0].parse().unwrap(),
            ConnectorStatus::Faulted,
            app.clock.now(),
        )
        .await
        .unwrap();
    let (_, after) = app.send("GET", &path, Some(&user), None).await;
    assert_eq!(after["data"]["connectors"][0]["status"], "FAULTED");
    assert_eq!(slots(&app, &user, &site, start, 1).await.len(), 1);
    // A report older than the one on record changes nothing.
    let stale = app
        .bookings
        .apply_connector_status(
            site.connectors[0].parse().unwrap(),
            ConnectorStatus::Available,
            app.clock.now() - TimeDelta::seconds(30),
        )
        .await
        .unwrap();
    assert!(stale.is_none());
    let (_, still) = app.send("GET", &path, Some(&user), None).await;
    assert_eq!(still["data"]["connectors"][0]["status"], "FAULTED");
}

async fn an_unswept_expired_hold_stops_blocking_availability(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app).await;
    let user = app.user();
    let start = hour_from_now(&app, 3);
    assert_eq!(hold(&app, &user, &site, 0, start, 60).await.0, 201);
    assert_eq!(slots(&app, &user, &site, start, 1).await.len(), 1);
    app.clock.advance(TimeDelta::seconds(600));
    assert_eq!(
        slots(&app, &user, &site, start, 1).await.len(),
        2,
        "cached result dies with the hold"
    );
}

/// A confirmed booking on connector 0 that the charger has reserved.
async fn reserved_booking(
    app: &TestApp,
    chargers: &ScriptedChargers,
    site: &Site,
) -> (Value, DateTime<Utc>) {
    let user = app.user();
    let start = hour_from_now(app, 2);
    let (_, held) = hold(app, &user, site, 0, start, 60).await;
    let (_, b) = confirm(app, &user, held["data"]["token"].as_str().unwrap()).await;
    app.clock.set(start - TimeDelta::minutes(10));
    assert_eq!(app.bookings.reserve_due_bookings().await.unwrap(), 1);
    assert!(!chargers.reserved().is_empty());
    (b["data"].clone(), start)
}

async fn booking_status(app: &TestApp, id: &str) -> Value {
    app.send(
        "GET",
        &format!("/v1/bookings/{id}"),
        Some(&app.admin()),
        None,
    )
    .await
    .1["data"]
        .clone()
}

async fn a_transaction_with_the_reservation_id_activates_and_completes_the_booking(backend: &str) {
    use booking::model::{OcppVersion, TransactionKey};
    use booking::service::{SessionStart, SessionStop};
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let (booking, start) = reserved_booking(&app, &chargers, &site).await;
    let id = booking["id"].as_str().unwrap();
    let reservation_id = chargers.reserved()[0].reservation_id;
    let connector: Uuid = site.connectors[0].parse().unwrap();
    let key = TransactionKey::Ocpp(OcppVersion::V16, "1".into());
    let started = SessionStart {
        connector_id: connector,
        transaction: key.clone(),
        id_tag: booking["idTag"].as_str().map(Into::into),
        reservation_id: Some(reservation_id),
        booking_id: None,
        started_at: start + TimeDelta::minutes(2),
        meter_start_wh: Some(1000.0),
    };
    let session = app.bookings.session_started(started.clone()).await.unwrap();
    assert_eq!(
        session.booking_id.map(|b| b.to_string()).as_deref(),
        Some(id)
    );
    assert_eq!(booking_status(&app, id).await["status"], "ACTIVE");
    // A replayed start is the same session.
    assert_eq!(
        app.bookings.session_started(started).await.unwrap().id,
        session.id
    );
    // An ACTIVE booking is no no-show.
    app.clock.set(start + TimeDelta::minutes(20));
    assert_eq!(app.bookings.record_no_shows().await.unwrap(), 0);

    let charger_id = session.charger_id;
    // Live meter readings give the session's energy so far, as an event.
    let mut events = app.events.subscribe();
    let live = app
        .bookings
        .meter_sample(charger_id, &key, 13_500.0, start + TimeDelta::minutes(20))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.energy_kwh, Some(12.5));
    match events.try_recv().unwrap() {
        booking::events::Event::MeterUpdate {
            energy_kwh,
            connector_id,
            ..
        } => {
            assert_eq!((energy_kwh, connector_id), (12.5, connector));
        }
        other => panic!("expected a meter update, got {other:?}"),
    }
    let stop = SessionStop {
        charger_id,
        transaction: key.clone(),
        ended_at: start + TimeDelta::minutes(50),
        meter_stop_wh: Some(26_500.0),
        energy_kwh: None,
        cost_amount: None,
        reason: Some("Local".into()),
    };
    let ended = app
        .bookings
        .session_ended(stop.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.energy_kwh, Some(25.5));
    assert_eq!(booking_status(&app, id).await["status"], "COMPLETED");
    let late = app
        .bookings
        .meter_sample(charger_id, &key, 99_000.0, start + TimeDelta::minutes(55))
        .await
        .unwrap();
    assert!(late.is_none(), "an ended session takes no more readings");
    assert!(
        app.bookings
            .session_ended(stop.clone())
            .await
            .unwrap()
            .is_none(),
        "a retried end counts once"
    );
    let unknown = SessionStop {
        transaction: TransactionKey::Ocpp(OcppVersion::V16, "999".into()),
        ..stop
    };
    assert!(app.bookings.session_ended(unknown).await.unwrap().is_none());
}

async fn firmware_without_reservation_id_is_matched_by_the_booking_id_tag(backend: &str) {
    use booking::model::{OcppVersion, TransactionKey};
    use booking::service::SessionStart;
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let (booking, start) = reserved_booking(&app, &chargers, &site).await;
    let start_with = |tag: &str, key: &str| SessionStart {
        connector_id: site.connectors[0].parse().unwrap(),
        transaction: TransactionKey::Ocpp(OcppVersion::V201, key.into()),
        id_tag: Some(tag.into()),
        reservation_id: None,
        booking_id: None,
        started_at: start + TimeDelta::minutes(1),
        meter_start_wh: None,
    };
    let stranger = app
        .bookings
        .session_started(start_with("SOMEONE-ELSE", "tx-a"))
        .await
        .unwrap();
    assert_eq!(stranger.booking_id, None);
    assert_eq!(
        booking_status(&app, booking["id"].as_str().unwrap()).await["status"],
        "CONFIRMED"
    );
    let driver = app
        .bookings
        .session_started(start_with(booking["idTag"].as_str().unwrap(), "tx-b"))
        .await
        .unwrap();
    assert_eq!(
        driver.booking_id.map(|b| b.to_string()).as_deref(),
        booking["id"].as_str()
    );
    assert_eq!(
        booking_status(&app, booking["id"].as_str().unwrap()).await["status"],
        "ACTIVE"
    );
}

async fn a_fault_on_a_reserved_connector_voids_the_reservation_and_tells_the_owner(backend: &str) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let (booking, _) = reserved_booking(&app, &chargers, &site).await;
    let id = booking["id"].as_str().unwrap();
    assert_eq!(booking_status(&app, id).await["reservedOnCharger"], true);
    let mut events = app.events.subscribe();
    app.bookings
        .apply_connector_status(
            site.connectors[0].parse().unwrap(),
            ConnectorStatus::Faulted,
            app.clock.now(),
        )
        .await
        .unwrap();
    let got = booking_status(&app, id).await;
    assert_eq!(
        (got["status"].as_str(), got["reservedOnCharger"].as_bool()),
        (Some("CONFIRMED"), Some(false))
    );
    let told: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|e| match e {
            booking::events::Event::BookingChanged { booking } => Some(booking.reserved_on_charger),
            _ => None,
        })
        .collect();
    assert_eq!(told, [false]);
}

async fn a_reservation_the_charger_drops_is_no_longer_on_the_hardware(backend: &str) {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on(backend, Some(chargers.clone())).await;
    let site = site(&app).await;
    let (booking, _) = reserved_booking(&app, &chargers, &site).await;
    let id = booking["id"].as_str().unwrap();
    let reservation = chargers.reserved()[0].reservation_id;
    let charger = app
        .store
        .charger_by_identity("CP-1")
        .await
        .unwrap()
        .unwrap();
    assert!(
        !app.bookings
            .reservation_ended_on_charger(charger.id, reservation + 1000)
            .await
            .unwrap()
    );
    assert!(
        app.bookings
            .reservation_ended_on_charger(charger.id, reservation)
            .await
            .unwrap()
    );
    let got = booking_status(&app, id).await;
    assert_eq!(
        (got["status"].as_str(), got["reservedOnCharger"].as_bool()),
        (Some("CONFIRMED"), Some(false))
    );
    assert!(
        !app.bookings
            .reservation_ended_on_charger(charger.id, reservation)
            .await
            .unwrap(),
        "once"
    );
}

// Every test above, on SQLite with in-process holds, and on PostgreSQL with
// Redis holds and cache versions (cluster mode; run by `.ci/run`).
common::on_both_backends!(
    the_seed_flow_find_hold_confirm_cancel,
    bookings_are_private_to_their_user,
    bad_holds_and_windows_are_refused_with_the_field_named,
    availability_excludes_the_past_and_aligns_slots,
    an_expired_hold_cannot_be_confirmed,
    two_hundred_users_race_for_one_slot_and_one_wins,
    a_hold_inside_the_lead_window_reserves_the_connector_and_the_charger_decides,
    the_scheduler_reserves_bookings_entering_the_lead_window,
    a_no_show_is_recorded_once_released_and_refunded,
    an_unconfirmed_hold_expires_and_frees_the_charger,
    status_changes_reach_cached_reads_at_once,
    an_unswept_expired_hold_stops_blocking_availability,
    a_transaction_with_the_reservation_id_activates_and_completes_the_booking,
    firmware_without_reservation_id_is_matched_by_the_booking_id_tag,
    a_fault_on_a_reserved_connector_voids_the_reservation_and_tells_the_owner,
    a_reservation_the_charger_drops_is_no_longer_on_the_hardware,
);

/// A hold store whose release fails, as Redis might at the wrong moment.
#[derive(Debug, Default)]
struct UnreleasableHolds(booking::holds::InProcessHolds);

#[async_trait]
impl booking::holds::HoldStore for UnreleasableHolds {
    async fn try_hold(
        &self,
        hold: &booking::holds::Hold,
        now: DateTime<Utc>,
    ) -> booking::Result<bool> {
        self.0.try_hold(hold, now).await
    }
    async fn get(&self, token: &str) -> booking::Result<Option<booking::holds::Hold>> {
        self.0.get(token).await
    }
    async fn release(&self, _: &str) -> booking::Result<Option<booking::holds::Hold>> {
        Err(booking::Error::Unavailable(
            "injected: release fails".into(),
        ))
    }
    async fn live_holds(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> booking::Result<Vec<booking::holds::Hold>> {
        self.0.live_holds(connector_ids, from, to, now).await
    }
    async fn take_expired(
        &self,
        expired_by: DateTime<Utc>,
        limit: usize,
    ) -> booking::Result<Vec<booking::holds::Hold>> {
        self.0.take_expired(expired_by, limit).await
    }
}

/// The booking is the commit point of a confirm: when the hold cannot be
/// released afterwards the confirm still succeeds, and when that hold
/// expires later the sweep leaves the charger reservation (now the
/// booking's) in place.
#[tokio::test]
async fn a_confirm_whose_hold_cannot_be_released_keeps_its_charger_reservation() {
    let app = TestApp::new().await;
    let site = site(&app).await;
    let chargers = Arc::new(ScriptedChargers::default());
    let service = booking::service::BookingService::new(
        booking::service::Ports {
            stations: app.store.clone(),
            registry: app.store.clone(),
            ledger: app.store.clone(),
            sessions: app.store.clone(),
            holds: Arc::new(UnreleasableHolds::default()),
            chargers: chargers.clone(),
            events: Arc::new(app.events.clone()),
            clock: app.clock.clone(),
            versions: Arc::new(booking::cache::LocalVersions::default()),
        },
        booking::service::BookingRules::default(),
    );
    let caller = booking::service::Caller {
        user_id: 42,
        admin: false,
    };
    // Inside the lead window: reserved on the charger at hold time.
    let start = app.clock.now() + TimeDelta::minutes(10);
    let hold = service
        .create_hold(
            caller,
            booking::service::HoldRequest {
                station_id: site.station.parse().unwrap(),
                connector_id: site.connectors[0].parse().unwrap(),
                start_ts: start,
                end_ts: start + TimeDelta::hours(1),
            },
        )
        .await
        .unwrap();
    assert_eq!(chargers.reserved().len(), 1);
    let (booking, created) = service.confirm(caller, &hold.token, "pay_1").await.unwrap();
    assert!(created && booking.reserved_on_charger);

    app.clock.advance(TimeDelta::minutes(30));
    assert_eq!(
        service.expire_holds().await.unwrap(),
        1,
        "the stuck hold is swept"
    );
    assert!(
        chargers.cancelled().is_empty(),
        "the booking's reservation was cancelled: {:?}",
        chargers.cancelled()
    );
    let (code, body) = app
        .send(
            "GET",
            &format!("/v1/bookings/{}", booking.id),
            Some(&app.user()),
            None,
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["data"]["status"], "CONFIRMED");
}
