//! The booking service over HTTP: the seed's flows, validation, ownership,
//! availability and its caches, the hold race, and a confirm whose hold
//! cannot be released, with time moved by a manual clock. What bookings do
//! on the charger (ReserveNow, the lead-window scheduler, no-shows,
//! transactions) is in `tests/bookings_on_chargers.rs`; both share
//! `common::bookings`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use booking::Clock as _;
use booking::model::ConnectorStatus;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::TestApp;
use common::bookings::{ScriptedChargers, code, confirm, hold, hour_from_now, iso, site, slots};
use serde_json::json;
use uuid::Uuid;

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
    // Nobody else can hold it: the booking, not a hold, takes it now.
    let bob = app.token(77, evgate::config::Role::User);
    assert_eq!(
        code(&hold(&app, &bob, &site, 0, start, 60).await),
        (409, "SLOT_UNAVAILABLE")
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
    // The refused hold left nothing behind: the slot is free to hold.
    assert_eq!(hold(&app, &bob, &site, 0, start, 60).await.0, 201);
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

/// BOOKING_MAX_LIVE_HOLDS_PER_USER (3 by default): a fourth live hold is
/// 409 HOLD_LIMIT_REACHED, another user is not affected, confirming one
/// frees a place; RATE_LIMIT_HOLDS_PER_USER (30 a minute): the 31st request
/// in a minute is 429 RATE_LIMITED with Retry-After, whatever it asked.
async fn a_user_holds_three_slots_at_most_and_asks_thirty_times_a_minute(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let site = site(&app).await;
    let user = app.user();
    let mut tokens = Vec::new();
    for hours in 3..6 {
        let (status, held) = hold(&app, &user, &site, 0, hour_from_now(&app, hours), 60).await;
        assert_eq!(status, 201, "{held}");
        tokens.push(held["data"]["token"].as_str().unwrap().to_owned());
    }
    let fourth = hold(&app, &user, &site, 1, hour_from_now(&app, 3), 60).await;
    assert_eq!(code(&fourth), (409, "HOLD_LIMIT_REACHED"), "{}", fourth.1);
    let other = app.token(7, evgate::config::Role::User);
    assert_eq!(
        hold(&app, &other, &site, 1, hour_from_now(&app, 3), 60)
            .await
            .0,
        201
    );
    assert_eq!(confirm(&app, &user, &tokens[0]).await.0, 201);
    assert_eq!(
        hold(&app, &user, &site, 1, hour_from_now(&app, 4), 60)
            .await
            .0,
        201
    );

    // Five hold requests so far; the user keeps asking (each refused at the
    // cap) until the minute's thirty are spent.
    for n in 5..30 {
        let refused = hold(&app, &user, &site, 1, hour_from_now(&app, 5), 60).await;
        assert_eq!(code(&refused), (409, "HOLD_LIMIT_REACHED"), "request {n}");
    }
    let body = json!({
        "stationId": site.station, "connectorId": site.connectors[1],
        "startTs": iso(hour_from_now(&app, 5)), "endTs": iso(hour_from_now(&app, 6)),
    })
    .to_string();
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/bookings/holds")
        .header("authorization", format!("Bearer {user}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=2).contains(&wait),
        "one request back every 2 s: {wait}"
    );
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let envelope: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(envelope["error"]["code"], "RATE_LIMITED");
    // Another user still gets through.
    assert_eq!(
        hold(&app, &other, &site, 1, hour_from_now(&app, 6), 60)
            .await
            .0,
        201
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
    status_changes_reach_cached_reads_at_once,
    an_unswept_expired_hold_stops_blocking_availability,
    a_user_holds_three_slots_at_most_and_asks_thirty_times_a_minute,
);

/// A hold store whose release fails, as Redis might at the wrong moment.
#[derive(Debug, Default)]
struct UnreleasableHolds(booking::holds::InProcessHolds);

#[async_trait]
impl booking::holds::HoldStore for UnreleasableHolds {
    async fn try_hold(
        &self,
        hold: &booking::holds::Hold,
        cap: Option<u32>,
        now: DateTime<Utc>,
    ) -> booking::Result<booking::holds::Claim> {
        self.0.try_hold(hold, cap, now).await
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
                id_tag: None,
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
