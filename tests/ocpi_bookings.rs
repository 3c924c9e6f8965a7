//! OCPI 2.3.0 Bookings in process, on the test clock: the same slot raced
//! by app holds and partner bookings has one winner; a partner's booking
//! nobody arrives for ends NO_SHOW, the charger's reservation cancelled
//! and the partner told; a partner's cancellation frees the charger. The
//! partner is the independent Python eMSP (its pushes arrive over HTTP).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use booking::Clock as _;
use chrono::TimeDelta;
use common::bookings::{ScriptedChargers, Site, hour_from_now, iso, site};
use common::emsp::Emsp;
use common::{TestApp, eventually};
use serde_json::{Value, json};

/// An OCPI call to the app in process, with `token` as OCPI sends it.
async fn ocpi(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(token);
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Token {encoded}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            body.map(Value::to_string).unwrap_or_default(),
        ))
        .unwrap();
    app.raw(req).await
}

/// A published site, the Python eMSP registered on 2.3.0 (token C), and
/// the pushes it receives followed.
async fn partner(app: &TestApp) -> (Site, Emsp, String) {
    let site = site(app).await;
    let admin = app.admin();
    let body =
        json!({"city": "Oslo", "country": "NOR", "timeZone": "Europe/Oslo", "publish": true});
    let (status, answer) = app
        .send(
            "PUT",
            &format!("/v1/admin/ocpi/locations/{}", site.station),
            Some(&admin),
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, p) = app
        .send(
            "POST",
            "/v1/admin/ocpi/partners",
            Some(&admin),
            Some(r#"{"name":"eMSP"}"#),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    let token_a = p["data"]["token"].as_str().unwrap().to_owned();
    let (mut emsp, _) = Emsp::start();
    let creds = emsp.cmd(json!({"cmd": "credentials"}));
    let (status, reg) = ocpi(
        app,
        "POST",
        "/ocpi/2.3.0/credentials",
        &token_a,
        Some(&creds),
    )
    .await;
    assert_eq!(
        (status, reg["status_code"].as_u64()),
        (200, Some(1000)),
        "{reg}"
    );
    let token_c = reg["data"]["token"].as_str().unwrap().to_owned();
    tokio::spawn(app.ocpi.clone().follow(app.events.subscribe()));
    (site, emsp, token_c)
}

fn request(site: &Site, id: &str, connector: usize, start: chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "country_code": "NL", "party_id": "TMS", "request_id": id,
        "location_id": site.station,
        "booking_option": {"evse_uid": site.connectors[connector]},
        "period": {"start_from": iso(start), "end_before": iso(start + TimeDelta::hours(1))},
        "tokens": [{"country_code": "NL", "party_id": "TMS", "uid": format!("CARD{id}"),
                    "type": "RFID", "contract_id": "NL-TMS-1"}],
        "authorization_reference": format!("AUTH-{id}"),
    })
}

/// Delivers what is owed, then waits for the eMSP to have a Booking push
/// for `booking` in `status`.
async fn pushed(app: &TestApp, emsp: &mut Emsp, booking: &str, status: &str) -> Value {
    let owner = uuid::Uuid::new_v4();
    eventually("the Booking pushed", Duration::from_secs(20), async || {
        app.ocpi
            .deliver_due(owner)
            .await
            .map_err(|e| e.to_string())?;
        let got = emsp.cmd(json!({"cmd": "bookings_received"}));
        got["received"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["body"]["reservation_status"] == status
                    && r["path"].as_str().unwrap().ends_with(booking)
            })
            .cloned()
            .ok_or_else(|| got.to_string())
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3; run by .ci/run"]
async fn a_slot_raced_by_200_app_holds_and_partner_bookings_has_one_winner() {
    race("sqlite").await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3, PostgreSQL and Redis; run by .ci/run"]
async fn cluster_a_slot_raced_by_200_app_holds_and_partner_bookings_has_one_winner() {
    race("cluster").await;
}

async fn race(backend: &str) {
    let app = TestApp::on(backend, None).await;
    let (site, _emsp, token_c) = partner(&app).await;
    let start = hour_from_now(&app, 3);
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200i64 {
        let app = app.clone();
        let token_c = token_c.clone();
        let body = request(&site, &format!("R{i}"), 0, start);
        let hold = json!({"stationId": site.station, "connectorId": site.connectors[0],
                          "startTs": iso(start), "endTs": iso(start + TimeDelta::hours(1))})
        .to_string();
        tasks.spawn(async move {
            if i % 2 == 0 {
                let user = app.token(1000 + i, evgate::config::Role::User);
                let (status, _) = app
                    .send("POST", "/v1/bookings/holds", Some(&user), Some(&hold))
                    .await;
                ("app", status == 201)
            } else {
                let (status, b) =
                    ocpi(&app, "POST", "/ocpi/2.3.0/bookings", &token_c, Some(&body)).await;
                assert_eq!(status, 200, "{b}");
                ("ocpi", b["data"]["reservation_status"] == "RESERVED")
            }
        });
    }
    let mut winners = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (who, won) = done.unwrap();
        if won {
            winners.push(who);
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one claim on the slot: {winners:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3; run by .ci/run"]
async fn a_partner_booking_nobody_arrives_for_ends_no_show_and_frees_the_charger() {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on("sqlite", Some(chargers.clone())).await;
    let (site, mut emsp, token_c) = partner(&app).await;
    // Inside the lead window: the charger is reserved for the card at once.
    let start = app.clock.now().duration_trunc_minutes() + TimeDelta::minutes(10);
    let (_, made) = ocpi(
        &app,
        "POST",
        "/ocpi/2.3.0/bookings",
        &token_c,
        Some(&request(&site, "NS", 0, start)),
    )
    .await;
    assert_eq!(made["data"]["reservation_status"], "RESERVED", "{made}");
    let id = made["data"]["id"].as_str().unwrap().to_owned();
    let reserved = chargers.reserved();
    assert_eq!(reserved.len(), 1);
    assert_eq!(reserved[0].id_tag, "CARDNS");
    app.clock
        .advance(TimeDelta::minutes(10) + TimeDelta::minutes(16));
    assert_eq!(app.bookings.record_no_shows().await.unwrap(), 1);
    let push = pushed(&app, &mut emsp, &id, "NO_SHOW").await;
    assert_eq!(push["method"], "PUT");
    assert!(
        push["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/NO/EVG/{id}"))
    );
    assert_eq!(
        chargers.cancelled(),
        vec![("CP-1".to_owned(), reserved[0].reservation_id)],
        "the charger's reservation is cancelled"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3; run by .ci/run"]
async fn a_partner_cancels_its_booking_and_the_charger_is_freed() {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on("sqlite", Some(chargers.clone())).await;
    let (site, mut emsp, token_c) = partner(&app).await;
    let start = app.clock.now().duration_trunc_minutes() + TimeDelta::minutes(10);
    let mut body = request(&site, "C1", 1, start);
    let (_, made) = ocpi(&app, "POST", "/ocpi/2.3.0/bookings", &token_c, Some(&body)).await;
    let id = made["data"]["id"].as_str().unwrap().to_owned();
    body["canceled"] = json!({"cancellation_reason": "TRAFFIC", "who_canceled": "EMSP"});
    let (status, cancelled) =
        ocpi(&app, "POST", "/ocpi/2.3.0/bookings", &token_c, Some(&body)).await;
    assert_eq!(status, 200, "{cancelled}");
    let data = &cancelled["data"];
    assert_eq!(data["reservation_status"], "CANCELED", "{cancelled}");
    assert_eq!(data["canceled"]["cancellation_reason"], "TRAFFIC");
    assert_eq!(data["canceled"]["who_canceled"], "EMSP");
    assert_eq!(data["booking_requests"][1]["request_status"], "ACCEPTED");
    assert_eq!(chargers.cancelled().len(), 1);
    pushed(&app, &mut emsp, &id, "CANCELED").await;
    // The slot is free again for an app.
    let (status, hold) = app
        .send(
            "POST",
            "/v1/bookings/holds",
            Some(&app.user()),
            Some(
                &json!({
            "stationId": site.station, "connectorId": site.connectors[1],
            "startTs": iso(start), "endTs": iso(start + TimeDelta::hours(1))})
                .to_string(),
            ),
        )
        .await;
    assert_eq!(status, 201, "{hold}");
    // Bad requests: another party's id, no token, an unknown Location.
    let mut wrong = request(&site, "W1", 0, start + TimeDelta::hours(2));
    wrong["party_id"] = json!("XXX");
    let (_, answer) = ocpi(&app, "POST", "/ocpi/2.3.0/bookings", &token_c, Some(&wrong)).await;
    assert_eq!(answer["status_code"], 2001, "{answer}");
    let mut tokenless = request(&site, "W2", 0, start + TimeDelta::hours(2));
    tokenless["tokens"] = json!([]);
    let (_, answer) = ocpi(
        &app,
        "POST",
        "/ocpi/2.3.0/bookings",
        &token_c,
        Some(&tokenless),
    )
    .await;
    assert_eq!(answer["status_code"], 2002, "{answer}");
    let mut nowhere = request(&site, "W3", 0, start + TimeDelta::hours(2));
    nowhere["location_id"] = json!(uuid::Uuid::new_v4().to_string());
    let (status, answer) = ocpi(
        &app,
        "POST",
        "/ocpi/2.3.0/bookings",
        &token_c,
        Some(&nowhere),
    )
    .await;
    assert_eq!(
        (status, answer["status_code"].as_u64()),
        (404, Some(2003)),
        "{answer}"
    );
    let (status, answer) = ocpi(&app, "POST", "/ocpi/2.2.1/bookings", &token_c, Some(&wrong)).await;
    assert_eq!(status, 404, "Bookings is 2.3.0 only: {answer}");
    // Nothing of these was booked.
    let (_, list) = ocpi(&app, "GET", "/ocpi/2.3.0/bookings", &token_c, None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
}

trait Minutes {
    fn duration_trunc_minutes(self) -> Self;
}

impl Minutes for chrono::DateTime<chrono::Utc> {
    fn duration_trunc_minutes(self) -> Self {
        chrono::DurationRound::duration_trunc(self, TimeDelta::minutes(1)).unwrap()
    }
}

/// RESERVE_NOW and CANCEL_RESERVATION (2.2.1 commands) book and free the
/// charger through the same holds: the charger is reserved for the token,
/// an app cannot take the time, the results reach the response_url.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3; run by .ci/run"]
async fn reserve_now_and_cancel_reservation_go_through_the_holds() {
    let chargers = Arc::new(ScriptedChargers::default());
    let app = TestApp::on("sqlite", Some(chargers.clone())).await;
    let (site, mut emsp, token_c) = partner(&app).await;
    let base = emsp.cmd(json!({"cmd": "base"}))["base"]
        .as_str()
        .unwrap()
        .to_owned();
    let expiry = app.clock.now() + TimeDelta::minutes(30);
    let token = json!({"country_code": "NL", "party_id": "TMS", "uid": "RESCARD", "type": "RFID",
                       "contract_id": "NL-TMS-R", "issuer": "TMS", "valid": true,
                       "whitelist": "ALLOWED", "last_updated": iso(app.clock.now())});
    let body = json!({"response_url": format!("{base}/2.2.1/emsp/results/rn-1"), "token": token,
                      "expiry_date": iso(expiry), "reservation_id": "R-77",
                      "location_id": site.station, "evse_uid": site.connectors[0]});
    let (status, answer) = ocpi(
        &app,
        "POST",
        "/ocpi/2.2.1/commands/RESERVE_NOW",
        &token_c,
        Some(&body),
    )
    .await;
    assert_eq!(
        (status, answer["data"]["result"].as_str()),
        (200, Some("ACCEPTED")),
        "{answer}"
    );
    let result = emsp.await_received("/emsp/results/rn-1", |r| r["method"] == "POST");
    assert_eq!(result["body"]["result"], "ACCEPTED", "{result}");
    let reserved = chargers.reserved();
    assert_eq!(reserved.len(), 1, "ReserveNow at once");
    assert_eq!(reserved[0].id_tag, "RESCARD");
    let start = chrono::DurationRound::duration_trunc(app.clock.now(), TimeDelta::minutes(1))
        .unwrap()
        + TimeDelta::minutes(5);
    let hold = json!({"stationId": site.station, "connectorId": site.connectors[0],
                      "startTs": iso(start), "endTs": iso(start + TimeDelta::minutes(10))});
    let (status, _) = app
        .send(
            "POST",
            "/v1/bookings/holds",
            Some(&app.user()),
            Some(&hold.to_string()),
        )
        .await;
    assert_eq!(status, 409, "the reservation holds the time");

    let unknown =
        json!({"response_url": format!("{base}/2.2.1/emsp/results/x"), "reservation_id": "NOPE"});
    let (_, answer) = ocpi(
        &app,
        "POST",
        "/ocpi/2.2.1/commands/CANCEL_RESERVATION",
        &token_c,
        Some(&unknown),
    )
    .await;
    assert_eq!(answer["data"]["result"], "UNKNOWN_RESERVATION", "{answer}");
    let cancel = json!({"response_url": format!("{base}/2.2.1/emsp/results/cr-1"), "reservation_id": "R-77"});
    let (_, answer) = ocpi(
        &app,
        "POST",
        "/ocpi/2.2.1/commands/CANCEL_RESERVATION",
        &token_c,
        Some(&cancel),
    )
    .await;
    assert_eq!(answer["data"]["result"], "ACCEPTED", "{answer}");
    let result = emsp.await_received("/emsp/results/cr-1", |r| r["method"] == "POST");
    assert_eq!(result["body"]["result"], "ACCEPTED", "{result}");
    assert_eq!(
        chargers.cancelled(),
        vec![("CP-1".to_owned(), reserved[0].reservation_id)]
    );
    let (status, _) = app
        .send(
            "POST",
            "/v1/bookings/holds",
            Some(&app.user()),
            Some(&hold.to_string()),
        )
        .await;
    assert_eq!(status, 201, "free again");
    // An expiry in the past, an unknown Location: refused at once.
    let mut late = body.clone();
    late["expiry_date"] = json!(iso(app.clock.now() - TimeDelta::minutes(1)));
    let (_, answer) = ocpi(
        &app,
        "POST",
        "/ocpi/2.2.1/commands/RESERVE_NOW",
        &token_c,
        Some(&late),
    )
    .await;
    assert_eq!(answer["status_code"], 2001, "{answer}");
    let mut nowhere = body.clone();
    nowhere["location_id"] = json!(uuid::Uuid::new_v4().to_string());
    let (status, answer) = ocpi(
        &app,
        "POST",
        "/ocpi/2.2.1/commands/RESERVE_NOW",
        &token_c,
        Some(&nowhere),
    )
    .await;
    assert_eq!(
        (status, answer["status_code"].as_u64()),
        (404, Some(2003)),
        "{answer}"
    );
}
