//! OCPI 2.2.1/2.3.0 as a roaming partner meets it: an independent eMSP
//! (`tests/peers/emsp.py`, Python's standard library, raw JSON from the
//! spec) registers with the real evgate binary through the credentials
//! handshake, pulls Locations, and receives EVSE status PATCHes when a real
//! OCPP charger (the PyPI `ocpp` charge point) changes status — including
//! after its own endpoint was down for a while.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::charger::Charger;
use common::emsp::Emsp;
use common::process::{Api, Running, token};
use serde_json::{Value, json};

struct Cpo {
    server: Running,
    admin: Api,
    /// A driver's app (user 42).
    user: Api,
    station: String,
    connectors: Vec<String>,
    _dir: tempfile::TempDir,
}

async fn cpo() -> Cpo {
    let dir = tempfile::tempdir().expect("dir");
    let env = [
        ("JWT_SECRET", common::TEST_SECRET),
        ("OCPI_COUNTRY_CODE", "NO"),
        ("OCPI_PARTY_ID", "EVG"),
        ("OCPI_BUSINESS_NAME", "Fjord Charging"),
    ];
    let server = Running::start(dir.path(), &env);
    let admin = Api::new(
        &server,
        token(dir.path(), &env, &["--user", "1", "--role", "admin"]),
    );
    let user = Api::new(&server, token(dir.path(), &env, &["--user", "42"]));
    let station = admin.station().await;
    admin.charger(&station, "PY-1", 0, None).await;
    let connectors = vec![
        admin.connector(&station, "PY-1", 1).await,
        admin.connector(&station, "PY-1", 2).await,
    ];
    Cpo {
        server,
        admin,
        user,
        station,
        connectors,
        _dir: dir,
    }
}

impl Cpo {
    async fn invite(&self, name: &str) -> String {
        let (status, p) = self
            .admin
            .post("/v1/admin/ocpi/partners", json!({"name": name}))
            .await;
        assert_eq!(status, 201, "{p}");
        assert_eq!(p["data"]["state"], "PENDING");
        p["data"]["token"].as_str().expect("token A").to_owned()
    }

    async fn publish(&self) {
        let (status, body) = self
            .admin
            .send(
                "PUT",
                &format!("/v1/admin/ocpi/locations/{}", self.station),
                Some(
                    json!({"city": "Oslo", "postalCode": "0150", "country": "NOR",
                            "timeZone": "Europe/Oslo", "publish": true}),
                ),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

impl Cpo {
    /// PY-1 connected over 1.6 (connector 1 Available) and an eMSP
    /// registered through the handshake; its answer carries evgate's
    /// endpoints.
    async fn charger_and_emsp(&self, name: &str) -> (Charger, Emsp, Value) {
        let ocpp = format!("{}/ocpp/PY-1", self.server.ocpp);
        let mut charger = Charger::start(&ocpp, "1.6", "Accepted");
        charger.command("status 1 Available");
        let token_a = self.invite(name).await;
        let versions = self.server.url("/ocpi/versions");
        let (mut emsp, _) = Emsp::start();
        let reg = emsp.cmd(json!({"cmd": "register", "versions": versions, "token": token_a}));
        assert_eq!(code(&reg), (200, 1000), "{reg}");
        (charger, emsp, reg)
    }
}

/// One of evgate's endpoints (`"tokens:RECEIVER"`) from a registration.
fn endpoint(reg: &Value, key: &str) -> String {
    reg["endpoints"][key].as_str().expect(key).to_owned()
}

fn code(answer: &Value) -> (u64, u64) {
    (
        answer["status"].as_u64().expect("status"),
        answer["body"]["status_code"].as_u64().unwrap_or(0),
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3 and the PyPI ocpp charger; run by .ci/run"]
async fn an_emsp_registers_pulls_locations_and_gets_every_status_pushed() {
    let cpo = cpo().await;
    cpo.publish().await;
    let token_a = cpo.invite("Test eMSP").await;
    let versions = cpo.server.url("/ocpi/versions");
    let (mut emsp, _) = Emsp::start();

    // Registration: token A → the eMSP's token B checked by evgate's calls
    // back → token C.
    let reg = emsp.cmd(json!({"cmd": "register", "versions": versions, "token": token_a}));
    assert_eq!(code(&reg), (200, 1000), "{reg}");
    assert!(
        reg["echoed"].as_bool().expect("echo"),
        "X-Correlation-ID echoed"
    );
    let data = &reg["body"]["data"];
    let token_c = data["token"].as_str().expect("token C").to_owned();
    assert_ne!(token_c, token_a);
    assert_eq!(data["url"], versions);
    assert_eq!(data["roles"][0]["role"], "CPO");
    assert_eq!(data["roles"][0]["party_id"], "EVG");
    assert_eq!(data["roles"][0]["country_code"], "NO");
    assert_eq!(
        data["roles"][0]["business_details"]["name"],
        "Fjord Charging"
    );
    let seen = emsp.cmd(json!({"cmd": "patches"}));
    assert!(seen["received"].as_array().expect("list").is_empty());

    // Token A is used up: 401 on versions and on a second registration.
    let again = emsp.cmd(json!({"cmd": "call", "url": versions, "token": token_a}));
    assert_eq!(again["status"], 401, "{again}");
    // A raw (not Base64) token C works too: older clients send it so.
    let raw = emsp.cmd(json!({"cmd": "call", "url": versions, "token": token_c, "encode": false}));
    assert_eq!(code(&raw), (200, 1000), "{raw}");

    // Locations: one published station, two EVSEs, the charger not yet
    // connected (UNKNOWN).
    let locations = reg["endpoints"]["locations:SENDER"].clone();
    let locations = locations.as_str().expect("locations endpoint").to_owned();
    let list = emsp.call("GET", &locations);
    assert_eq!(code(&list), (200, 1000), "{list}");
    assert_eq!(list["headers"]["x-total-count"], "1");
    assert_eq!(list["headers"]["x-limit"], "100");
    let loc = &list["body"]["data"][0];
    assert_eq!(loc["id"], cpo.station);
    assert_eq!(loc["country_code"], "NO");
    assert_eq!(loc["country"], "NOR");
    assert_eq!(loc["time_zone"], "Europe/Oslo");
    assert_eq!(loc["coordinates"]["latitude"], "52.500000");
    let evses = loc["evses"].as_array().expect("evses");
    assert_eq!(evses.len(), 2);
    assert_eq!(evses[0]["uid"], cpo.connectors[0]);
    assert_eq!(evses[0]["status"], "UNKNOWN");
    assert_eq!(evses[0]["connectors"][0]["standard"], "IEC_62196_T2_COMBO");
    let one = emsp.call(
        "GET",
        &format!("{locations}/{}/{}/1", cpo.station, cpo.connectors[1]),
    );
    assert_eq!(code(&one), (200, 1000), "{one}");
    assert_eq!(one["body"]["data"]["power_type"], "DC");
    let unknown = emsp.call("GET", &format!("{locations}/{}", uuid::Uuid::new_v4()));
    assert_eq!(code(&unknown), (404, 2003), "{unknown}");
    let bad = emsp.call("GET", &format!("{locations}?date_from=yesterday"));
    assert_eq!(code(&bad), (200, 2001), "{bad}");
    let later = emsp.call(
        "GET",
        &format!("{locations}?date_from=2099-01-01T00:00:00Z"),
    );
    assert_eq!(later["headers"]["x-total-count"], "0", "{later}");
    let paged = emsp.call("GET", &format!("{locations}?limit=0"));
    assert!(
        paged["headers"]["link"].is_null(),
        "no next page without a limit: {paged}"
    );

    // A real charger comes online: both EVSEs are pushed AVAILABLE, then
    // connector 1 CHARGING.
    let ocpp = format!("{}/ocpp/PY-1", cpo.server.ocpp);
    let mut charger = Charger::start(&ocpp, "1.6", "Accepted");
    charger.command("status 1 Available");
    charger.command("status 2 Available");
    let first = emsp.await_status(&cpo.connectors[0], "AVAILABLE");
    assert!(
        first["authorized"].as_bool().expect("auth"),
        "PATCH carried token B"
    );
    assert_eq!(first["from"], "EVG");
    assert!(
        first["path"]
            .as_str()
            .expect("path")
            .contains(&format!("/NO/EVG/{}/", cpo.station)),
        "{first}"
    );
    assert!(first["body"]["last_updated"].is_string());
    emsp.await_status(&cpo.connectors[1], "AVAILABLE");
    charger.command("status 1 Charging");
    emsp.await_status(&cpo.connectors[0], "CHARGING");
    let now = emsp.call(
        "GET",
        &format!("{locations}/{}/{}", cpo.station, cpo.connectors[0]),
    );
    assert_eq!(now["body"]["data"]["status"], "CHARGING");

    // The eMSP is down while the connector frees up: nothing is lost, the
    // status arrives once it is back.
    let before = emsp.patches_for(&cpo.connectors[0]).len();
    emsp.cmd(json!({"cmd": "down"}));
    charger.command("status 1 Finishing");
    charger.command("status 1 Available");
    std::thread::sleep(Duration::from_secs(2));
    let tried = emsp.patches_for(&cpo.connectors[0]);
    assert!(tried.len() > before, "evgate tried while the eMSP was down");
    assert!(tried[before..].iter().all(|p| p["refused"] == true));
    emsp.cmd(json!({"cmd": "up"}));
    let back = emsp.await_status_after(&cpo.connectors[0], "AVAILABLE", before);
    assert_eq!(back["body"]["status"], "AVAILABLE");
    // Operators see it in the metrics: failed attempts, nothing owed now.
    let metrics = reqwest::get(cpo.server.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let failed = metrics
        .lines()
        .find(|l| {
            l.starts_with("evgate_ocpi_push_attempts_total")
                && l.contains(r#"module="locations""#)
                && l.contains(r#"outcome="failed""#)
        })
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(failed >= 1.0, "{metrics}");
    assert!(
        metrics.contains(r#"evgate_ocpi_pushes_waiting{partner="Test eMSP"} 0"#),
        "{metrics}"
    );

    // The operator sees the partner registered.
    let partners = cpo.admin.get("/v1/admin/ocpi/partners").await;
    let p = &partners["data"]["partners"][0];
    assert_eq!(p["state"], "REGISTERED");
    assert_eq!(p["version"], "2.2.1");
    assert_eq!(p["partyId"], "TMS");
    assert!(p.get("token").is_none(), "token A is shown once only");

    // Credentials update (PUT) rotates token C; then DELETE unregisters.
    let updated = emsp.cmd(json!({"cmd": "update", "versions": versions, "version": "2.3.0"}));
    assert_eq!(code(&updated), (200, 1000), "{updated}");
    let new_c = updated["body"]["data"]["token"]
        .as_str()
        .expect("new C")
        .to_owned();
    assert_ne!(new_c, token_c);
    let old = emsp.cmd(json!({"cmd": "call", "url": versions, "token": token_c}));
    assert_eq!(old["status"], 401, "the old token C stops working");
    let gone = emsp.cmd(json!({"cmd": "unregister"}));
    assert_eq!(code(&gone), (200, 1000), "{gone}");
    let after = emsp.cmd(json!({"cmd": "call", "url": versions, "token": new_c}));
    assert_eq!(after["status"], 401);
    let partners = cpo.admin.get("/v1/admin/ocpi/partners").await;
    assert_eq!(partners["data"]["partners"][0]["state"], "UNREGISTERED");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3; run by .ci/run"]
async fn bad_credentials_and_wrong_tokens_change_nothing() {
    let cpo = cpo().await;
    let token_a = cpo.invite("Careless eMSP").await;
    let versions = cpo.server.url("/ocpi/versions");
    let (mut emsp, own) = Emsp::start();

    // No token, an unknown token, token A on a functional module: 401.
    let none = emsp.cmd(json!({"cmd": "call", "url": versions, "token": null}));
    assert_eq!(code(&none), (401, 2000), "{none}");
    let wrong = emsp.cmd(json!({"cmd": "call", "url": versions, "token": "not-a-token"}));
    assert_eq!(wrong["status"], 401);
    let loc = cpo.server.url("/ocpi/2.2.1/locations");
    let early = emsp.cmd(json!({"cmd": "call", "url": loc, "token": token_a}));
    assert_eq!(
        early["status"], 401,
        "token A opens versions and credentials only"
    );

    // Malformed Credentials: each gets its OCPI code, the partner stays
    // PENDING and token A keeps working.
    let role = json!({"role": "EMSP", "party_id": "TMS", "country_code": "NL",
                      "business_details": {"name": "x"}});
    for (body, want) in [
        (json!({"token": "b", "url": own, "roles": []}), (200, 2002)),
        (
            json!({"token": "b", "url": "ftp://nowhere", "roles": [role]}),
            (200, 2001),
        ),
        (
            json!({"token": "b", "url": own, "roles": [{"role": "EMSP", "party_id": "tms",
               "country_code": "NL", "business_details": {"name": "x"}}]}),
            (200, 2001),
        ),
        (json!({"url": own}), (200, 2001)),
        // A versions URL that does not answer as OCPI: 3001.
        (
            json!({"token": "b", "url": format!("{versions}-nope"), "roles": [role]}),
            (200, 3001),
        ),
    ] {
        let answer = emsp.cmd(json!({"cmd": "register", "versions": versions,
                                     "token": token_a, "body": body}));
        assert_eq!(code(&answer), want, "{body}: {answer}");
    }
    let not_json = emsp.cmd(json!({"cmd": "call", "method": "POST",
        "url": cpo.server.url("/ocpi/2.2.1/credentials"), "token": token_a, "body": "{oops"}));
    assert_eq!(not_json["status"], 400, "{not_json}");
    // PUT and DELETE before registering: 405.
    for method in ["PUT", "DELETE"] {
        let answer = emsp.cmd(json!({"cmd": "call", "method": method,
            "url": cpo.server.url("/ocpi/2.2.1/credentials"), "token": token_a, "body": {}}));
        assert_eq!(answer["status"], 405, "{method}: {answer}");
    }
    let partners = cpo.admin.get("/v1/admin/ocpi/partners").await;
    assert_eq!(partners["data"]["partners"][0]["state"], "PENDING");
    let still = emsp.cmd(json!({"cmd": "call", "url": versions, "token": token_a}));
    assert_eq!(code(&still), (200, 1000));

    // Then a proper registration on 2.3.0; a second POST is 405.
    let reg = emsp.cmd(json!({"cmd": "register", "versions": versions,
                              "token": token_a, "version": "2.3.0"}));
    assert_eq!(code(&reg), (200, 1000), "{reg}");
    let c = reg["body"]["data"]["token"].as_str().expect("C").to_owned();
    let twice = emsp.cmd(json!({"cmd": "call", "method": "POST",
        "url": cpo.server.url("/ocpi/2.3.0/credentials"), "token": c,
        "body": {"token": "b", "url": own, "roles": [role]}}));
    assert_eq!(twice["status"], 405, "{twice}");
    // A second partner claiming the same country and party id is refused.
    let token_a2 = cpo.invite("Impostor").await;
    let (mut other, _) = Emsp::start();
    let clash = other.cmd(json!({"cmd": "register", "versions": versions, "token": token_a2}));
    assert_eq!(code(&clash), (200, 2001), "{clash}");
    // Unpublished stations are not Locations.
    let list = emsp.call("GET", &cpo.server.url("/ocpi/2.3.0/locations"));
    assert_eq!(list["headers"]["x-total-count"], "0", "{list}");
    // Bad Location details: 400 naming the field, nothing published.
    let (status, body) = cpo
        .admin
        .send(
            "PUT",
            &format!("/v1/admin/ocpi/locations/{}", cpo.station),
            Some(json!({"city": "Oslo", "country": "NO", "timeZone": "Europe/Oslo", "publish": true})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "country");
}

#[tokio::test]
#[ignore = "needs the evgate binary; run by .ci/run"]
async fn without_an_ocpi_identity_ocpi_is_off() {
    let dir = tempfile::tempdir().expect("dir");
    let env = [("JWT_SECRET", common::TEST_SECRET)];
    let server = Running::start(dir.path(), &env);
    let admin = Api::new(
        &server,
        token(dir.path(), &env, &["--user", "1", "--role", "admin"]),
    );
    let (status, body) = admin
        .post("/v1/admin/ocpi/partners", json!({"name": "x"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "OCPI_DISABLED");
    let resp = reqwest::get(server.url("/ocpi/versions"))
        .await
        .expect("get");
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status_code"], 2000);
}

/// The slot from the whole minute `minutes` from now, one hour long.
fn slot(minutes: i64) -> (String, String) {
    use chrono::{DurationRound, TimeDelta, Utc};
    let start =
        Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap() + TimeDelta::minutes(minutes);
    let iso = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    (iso(start), iso(start + TimeDelta::hours(1)))
}

/// OCPI 2.3.0 Bookings end to end: the eMSP sees free time, books a
/// connector for its driver's card; the charger is reserved for that card
/// (ReserveNow), an app cannot take the slot, a walk-up card is refused,
/// the eMSP's driver charges and the Booking is pushed FULFILLED.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3 and the PyPI ocpp charger; run by .ci/run"]
async fn an_emsp_books_a_connector_and_the_charger_holds_it_for_its_driver() {
    let cpo = cpo().await;
    cpo.publish().await;
    let ocpp = format!("{}/ocpp/PY-1", cpo.server.ocpp);
    let mut charger = Charger::start(&ocpp, "1.6", "Accepted");
    charger.command("status 1 Available");
    charger.command("status 2 Available");
    let token_a = cpo.invite("Booking eMSP").await;
    let versions = cpo.server.url("/ocpi/versions");
    let (mut emsp, _) = Emsp::start();
    let reg = emsp.cmd(
        json!({"cmd": "register", "versions": versions, "token": token_a,
                              "version": "2.3.0"}),
    );
    assert_eq!(code(&reg), (200, 1000), "{reg}");
    let bookings = reg["endpoints"]["bookings:SENDER"]
        .as_str()
        .expect("a bookings endpoint in 2.3.0")
        .to_owned();

    // Free time per connector.
    let (from, _) = slot(0);
    let places = emsp.call(
        "GET",
        &format!("{bookings}/booking_locations?timeslot_from={from}"),
    );
    assert_eq!(code(&places), (200, 1000), "{places}");
    assert_eq!(places["headers"]["x-total-count"], "2");
    let first = &places["body"]["data"][0];
    assert_eq!(first["location_id"], cpo.station);
    assert_eq!(first["booking_option"]["evse_uid"], cpo.connectors[0]);
    let free = first["calendars"][0]["available_timeslots"]
        .as_array()
        .expect("slots");
    assert!(!free.is_empty(), "{first}");
    assert!(first["booking_terms"]["noshow_timeout"].as_i64().is_some());

    // The booking: the charger is reserved for the driver's card at once
    // (the slot starts inside the lead window).
    let (start, end) = slot(5);
    let request = json!({
        "country_code": "NL", "party_id": "TMS", "request_id": "REQ-1",
        "location_id": cpo.station, "booking_location_id": cpo.connectors[0],
        "booking_option": {"evse_uid": cpo.connectors[0]},
        "period": {"start_date_time": start, "end_date_time": end},
        "tokens": [{"country_code": "NL", "party_id": "TMS", "uid": "EMSPCARD1",
                    "type": "RFID", "contract_id": "NL-TMS-C00001-1"}],
        "authorization_reference": "AUTH-1",
    });
    let made = emsp.cmd(json!({"cmd": "call", "method": "POST", "url": bookings, "body": request}));
    assert_eq!(code(&made), (200, 1000), "{made}");
    let booking = made["body"]["data"].clone();
    assert_eq!(booking["reservation_status"], "RESERVED", "{booking}");
    assert_eq!(booking["booking_requests"][0]["request_status"], "ACCEPTED");
    assert_eq!(booking["authorization_reference"], "AUTH-1");
    assert_eq!(booking["period"]["start_date_time"], start);
    let asked = charger.received_action("ReserveNow");
    assert_eq!(asked["payload"]["idTag"], "EMSPCARD1", "{asked}");
    let reservation = asked["payload"]["reservationId"].as_i64().expect("id");

    // An app cannot take the same slot; a different request for it is REJECTED.
    let (status, hold) = cpo
        .user
        .post(
            "/v1/bookings/holds",
            json!({"stationId": cpo.station, "connectorId": cpo.connectors[0],
                                  "startTs": start, "endTs": end}),
        )
        .await;
    assert_eq!(status, 409, "{hold}");
    let mut again = request.clone();
    again["request_id"] = json!("REQ-2");
    let second = emsp.cmd(json!({"cmd": "call", "method": "POST", "url": bookings, "body": again}));
    assert_eq!(
        second["body"]["data"]["reservation_status"], "REJECTED",
        "{second}"
    );
    assert_eq!(
        second["body"]["data"]["booking_requests"][0]["request_status"],
        "DECLINED"
    );
    // A change (same request id, another time) is declined: the terms say so.
    let mut change = request.clone();
    change["period"] = json!({"start_date_time": slot(120).0, "end_date_time": slot(120).1});
    let changed =
        emsp.cmd(json!({"cmd": "call", "method": "POST", "url": bookings, "body": change}));
    let data = &changed["body"]["data"];
    assert_eq!(data["reservation_status"], "RESERVED", "{changed}");
    assert_eq!(data["period"]["start_date_time"], start);
    assert_eq!(data["booking_requests"][1]["request_status"], "DECLINED");

    // A walk-up card is refused; the eMSP's driver's card is accepted and
    // charging with the reservation fulfils the booking.
    let walk_up = charger.command("authorize WALKUP1");
    assert_eq!(walk_up["idTagInfo"]["status"], "Invalid", "{walk_up}");
    let started = charger.command(&format!("start 1 EMSPCARD1 {reservation}"));
    assert_eq!(started["idTagInfo"]["status"], "Accepted", "{started}");
    let id = booking["id"].as_str().expect("id").to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let fulfilled = loop {
        let got = emsp.cmd(json!({"cmd": "bookings_received"}));
        let found = got["received"]
            .as_array()
            .expect("list")
            .iter()
            .find(|r| {
                r["body"]["reservation_status"] == "FULFILLED"
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with(&format!("/NO/EVG/{id}")))
            })
            .cloned();
        if let Some(f) = found {
            break f;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no FULFILLED push: {got}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(fulfilled["method"], "PUT");
    assert!(fulfilled["authorized"].as_bool().expect("auth"));
    let listed = emsp.call("GET", &bookings);
    assert_eq!(listed["headers"]["x-total-count"], "1", "{listed}");
    assert_eq!(listed["body"]["data"][0]["reservation_status"], "FULFILLED");
    let one = emsp.call("GET", &format!("{bookings}/{id}"));
    assert_eq!(one["body"]["data"]["id"], id.as_str());
    let other = emsp.call("GET", &format!("{bookings}/{}", uuid::Uuid::new_v4()));
    assert_eq!(other["status"], 404);
}

/// Tokens, Commands, Sessions and CDRs: the eMSP pushes its driver's
/// token (the charger hears its verdict, and a change of it), starts a
/// session remotely, sees it ACTIVE by command with its reference, stops
/// it, and receives the COMPLETED Session and the CDR priced with the
/// connector's tariff.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3 and the PyPI ocpp charger; run by .ci/run"]
async fn an_emsp_pushes_a_token_starts_a_session_remotely_and_gets_session_and_cdr() {
    let cpo = cpo().await;
    cpo.publish().await;
    let (status, tariff) = cpo
        .admin
        .post(
            "/v1/admin/tariffs",
            json!({"name": "Fast", "currency": "NOK",
              "pricePerKwh": 4.0, "pricePerMinuteCharging": 0.0, "pricePerMinuteIdle": 0.0,
              "sessionFee": 10.0, "taxRatePercent": 25.0}),
        )
        .await;
    assert_eq!(status, 201, "{tariff}");
    let (status, assigned) = cpo
        .admin
        .send(
            "PUT",
            &format!("/v1/admin/connectors/{}/tariff", cpo.connectors[0]),
            Some(json!({"tariffId": tariff["data"]["id"]})),
        )
        .await;
    assert_eq!(status, 200, "{assigned}");
    let (mut charger, mut emsp, reg) = cpo.charger_and_emsp("Roaming eMSP").await;
    let tokens = endpoint(&reg, "tokens:RECEIVER");
    let commands = endpoint(&reg, "commands:RECEIVER");
    let base = emsp.cmd(json!({"cmd": "base"}))["base"]
        .as_str()
        .expect("base")
        .to_owned();

    // The token, pushed; the charger hears it Accepted, then Blocked once
    // the eMSP invalidates it.
    let token = emsp_token("TMSCARD7", "ALLOWED");
    let url = format!("{tokens}/NL/TMS/TMSCARD7");
    let put = emsp.cmd(json!({"cmd": "call", "method": "PUT", "url": url, "body": token}));
    assert_eq!(code(&put), (201, 1000), "{put}");
    let got = emsp.call("GET", &url);
    assert_eq!(
        got["body"]["data"]["contract_id"], "NL-TMS-TMSCARD7",
        "{got}"
    );
    assert_eq!(
        charger.command("authorize TMSCARD7")["idTagInfo"]["status"],
        "Accepted"
    );
    let off = emsp.cmd(json!({"cmd": "call", "method": "PATCH", "url": url,
        "body": {"valid": false, "last_updated": "2026-12-03T11:00:00Z"}}));
    assert_eq!(code(&off), (200, 1000), "{off}");
    assert_eq!(
        charger.command("authorize TMSCARD7")["idTagInfo"]["status"],
        "Blocked"
    );
    let on = emsp.cmd(json!({"cmd": "call", "method": "PATCH", "url": url,
        "body": {"valid": true, "last_updated": "2026-12-03T12:00:00Z"}}));
    assert_eq!(code(&on), (200, 1000));
    // Bad tokens change nothing: a URL that disagrees, another party, no last_updated.
    let mut other = token.clone();
    other["uid"] = json!("SOMEONE");
    let bad = emsp.cmd(json!({"cmd": "call", "method": "PUT", "url": url, "body": other}));
    assert_eq!(code(&bad), (200, 2001), "{bad}");
    let foreign = emsp.cmd(json!({"cmd": "call", "method": "PUT",
        "url": format!("{tokens}/DE/XYZ/TMSCARD7"), "body": token}));
    assert_eq!(code(&foreign), (200, 2001), "{foreign}");
    let stale =
        emsp.cmd(json!({"cmd": "call", "method": "PATCH", "url": url, "body": {"valid": false}}));
    assert_eq!(code(&stale), (200, 2001), "{stale}");
    let unknown = emsp.call("GET", &format!("{tokens}/NL/TMS/NOBODY"));
    assert_eq!(code(&unknown), (404, 2004), "{unknown}");

    // START_SESSION: answered at once, the charger is asked, the result
    // goes to the response_url.
    let start = emsp.cmd(json!({"cmd": "call", "method": "POST",
        "url": format!("{commands}/START_SESSION"),
        "body": {"response_url": format!("{base}/2.2.1/emsp/results/start-1"), "token": token,
                 "location_id": cpo.station, "evse_uid": cpo.connectors[0],
                 "authorization_reference": "REF-9"}}));
    assert_eq!(code(&start), (200, 1000), "{start}");
    assert_eq!(start["body"]["data"]["result"], "ACCEPTED");
    assert_eq!(start["body"]["data"]["timeout"], 30);
    let asked = charger.received_action("RemoteStartTransaction");
    assert_eq!(asked["payload"]["idTag"], "TMSCARD7", "{asked}");
    let result = emsp.await_received("/emsp/results/start-1", |r| r["method"] == "POST");
    assert_eq!(result["body"]["result"], "ACCEPTED", "{result}");

    let started = charger.command("start 1 TMSCARD7 -");
    assert_eq!(started["idTagInfo"]["status"], "Accepted", "{started}");
    let tx = started["transactionId"].as_i64().expect("transaction");
    charger.command(&format!("meter 1 {tx} 6000"));
    let active = emsp.await_received("/emsp/sessions/NO/EVG/", |r| {
        r["body"]["status"] == "ACTIVE" && r["body"]["kwh"].as_f64() > Some(4.9)
    });
    let session = active["body"].clone();
    assert_eq!(active["method"], "PUT");
    assert_eq!(session["auth_method"], "COMMAND", "{session}");
    assert_eq!(session["authorization_reference"], "REF-9");
    assert_eq!(session["cdr_token"]["uid"], "TMSCARD7");
    assert_eq!(session["evse_uid"], cpo.connectors[0]);
    assert_eq!(session["currency"], "NOK");
    let id = session["id"].as_str().expect("id").to_owned();

    // STOP_SESSION of an unknown session, then of this one.
    let nope = emsp.cmd(json!({"cmd": "call", "method": "POST",
        "url": format!("{commands}/STOP_SESSION"),
        "body": {"response_url": format!("{base}/2.2.1/emsp/results/x"),
                 "session_id": uuid::Uuid::new_v4().to_string()}}));
    assert_eq!(nope["body"]["data"]["result"], "UNKNOWN_SESSION", "{nope}");
    let stop = emsp.cmd(json!({"cmd": "call", "method": "POST",
        "url": format!("{commands}/STOP_SESSION"),
        "body": {"response_url": format!("{base}/2.2.1/emsp/results/stop-1"), "session_id": id}}));
    assert_eq!(stop["body"]["data"]["result"], "ACCEPTED", "{stop}");
    let asked = charger.received_action("RemoteStopTransaction");
    assert_eq!(asked["payload"]["transactionId"], tx);
    emsp.await_received("/emsp/results/stop-1", |r| {
        r["body"]["result"] == "ACCEPTED"
    });
    charger.command(&format!("stop {tx} 11000"));

    let done = emsp.await_received(&format!("/emsp/sessions/NO/EVG/{id}"), |r| {
        r["body"]["status"] == "COMPLETED"
    });
    assert_eq!(done["body"]["kwh"], 10.0, "{done}");
    assert!(done["body"]["end_date_time"].is_string());
    let cdr = emsp.await_received("/emsp/cdrs", |r| r["method"] == "POST")["body"].clone();
    assert_eq!(cdr["session_id"], id.as_str(), "{cdr}");
    assert_eq!(cdr["total_energy"], 10.0);
    assert_eq!(cdr["currency"], "NOK");
    // 10 kWh at 4.0 plus a fee of 10 = 50 before tax, 62.5 with 25 %.
    assert_eq!(cdr["total_cost"]["excl_vat"], 50.0, "{cdr}");
    assert_eq!(cdr["total_cost"]["incl_vat"], 62.5);
    assert_eq!(cdr["cdr_location"]["id"], cpo.station);
    assert_eq!(
        cdr["cdr_location"]["connector_standard"],
        "IEC_62196_T2_COMBO"
    );
    assert_eq!(cdr["auth_method"], "COMMAND");
    let tariff_id = tariff["data"]["id"].as_str().expect("tariff id");
    assert_eq!(cdr["tariffs"][0]["id"], tariff_id);
    assert_eq!(cdr["charging_periods"][0]["tariff_id"], tariff_id);
    // The tariff is offered, and named on the connector it applies to.
    let tariffs = endpoint(&reg, "tariffs:SENDER");
    let offered = emsp.call("GET", &tariffs);
    assert_eq!(offered["headers"]["x-total-count"], "1", "{offered}");
    let components = &offered["body"]["data"][0]["elements"][0]["price_components"];
    assert_eq!(components[0]["type"], "ENERGY", "{offered}");
    assert_eq!(components[0]["price"], 4.0);
    assert_eq!(components[0]["vat"], 25.0);
    assert_eq!(components[1]["type"], "FLAT");
    let locations = endpoint(&reg, "locations:SENDER");
    let loc = emsp.call("GET", &format!("{locations}/{}", cpo.station));
    let evses = &loc["body"]["data"]["evses"];
    assert_eq!(
        evses[0]["connectors"][0]["tariff_ids"][0], tariff_id,
        "{loc}"
    );
    assert!(evses[1]["connectors"][0].get("tariff_ids").is_none());
    assert!(
        cdr["cdr_location"]["evse_id"]
            .as_str()
            .expect("evse id")
            .starts_with("NO*EVG*E")
    );

    // UNLOCK_CONNECTOR reaches the charger; an unknown reservation cannot
    // be cancelled; an unknown command is 2001.
    let unlock = emsp.cmd(json!({"cmd": "call", "method": "POST",
        "url": format!("{commands}/UNLOCK_CONNECTOR"),
        "body": {"response_url": format!("{base}/2.2.1/emsp/results/u-1"),
                 "location_id": cpo.station, "evse_uid": cpo.connectors[0], "connector_id": "1"}}));
    assert_eq!(unlock["body"]["data"]["result"], "ACCEPTED", "{unlock}");
    assert_eq!(
        charger.received_action("UnlockConnector")["payload"]["connectorId"],
        1
    );
    emsp.await_received("/emsp/results/u-1", |r| r["body"]["result"] == "ACCEPTED");
    let cancel = emsp.cmd(json!({"cmd": "call", "method": "POST",
        "url": format!("{commands}/CANCEL_RESERVATION"),
        "body": {"response_url": format!("{base}/2.2.1/emsp/results/r-1"), "reservation_id": "R1"}}));
    assert_eq!(
        cancel["body"]["data"]["result"], "UNKNOWN_RESERVATION",
        "{cancel}"
    );
    let odd = emsp.cmd(json!({"cmd": "call", "method": "POST",
        "url": format!("{commands}/SELF_DESTRUCT"),
        "body": {"response_url": format!("{base}/x")}}));
    assert_eq!(code(&odd), (200, 2001), "{odd}");
}

/// What the charger hears of `uid` in an Authorize.
fn verdict(charger: &mut Charger, uid: &str) -> String {
    charger.command(&format!("authorize {uid}"))["idTagInfo"]["status"]
        .as_str()
        .expect("status")
        .to_owned()
}

/// A Token object as the eMSP keeps it.
fn emsp_token(uid: &str, whitelist: &str) -> Value {
    json!({"country_code": "NL", "party_id": "TMS", "uid": uid, "type": "RFID",
        "contract_id": format!("NL-TMS-{uid}"), "issuer": "TMS Mobility", "valid": true,
        "whitelist": whitelist, "last_updated": "2026-12-03T10:00:00Z"})
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs python3 and the PyPI ocpp charger; run by .ci/run"]
async fn an_emsp_authorizes_its_drivers_in_real_time() {
    let cpo = cpo().await;
    cpo.publish().await;
    let (mut charger, mut emsp, reg) = cpo.charger_and_emsp("Real-time eMSP").await;
    let tokens = endpoint(&reg, "tokens:RECEIVER");
    let authorizer = |uid: &str, allowed: &str, whitelist: &str| {
        json!({"cmd": "authorizer", "uid": uid, "allowed": allowed,
               "token": emsp_token(uid, whitelist)})
    };

    // NEVER: only the eMSP may say yes, asked with the Location, each time.
    let url = format!("{tokens}/NL/TMS/RTNEVER");
    let put = emsp.cmd(json!({"cmd": "call", "method": "PUT", "url": url,
        "body": emsp_token("RTNEVER", "NEVER")}));
    assert_eq!(code(&put), (201, 1000), "{put}");
    emsp.cmd(authorizer("RTNEVER", "ALLOWED", "NEVER"));
    assert_eq!(verdict(&mut charger, "RTNEVER"), "Accepted");
    let asked = emsp.await_received("/emsp/tokens/RTNEVER/authorize", |r| r["method"] == "POST");
    assert_eq!(asked["authorized"], true, "{asked}");
    assert_eq!(asked["body"]["location_id"], cpo.station, "{asked}");
    assert!(
        asked["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("?type=RFID")),
        "{asked}"
    );
    emsp.cmd(authorizer("RTNEVER", "NO_CREDIT", "NEVER"));
    assert_eq!(verdict(&mut charger, "RTNEVER"), "Blocked");

    // ALLOWED_OFFLINE: the eMSP decides while it answers, the token's own
    // record when it does not; NEVER is then refused.
    let url = format!("{tokens}/NL/TMS/RTOFFLINE");
    let put = emsp.cmd(json!({"cmd": "call", "method": "PUT", "url": url,
        "body": emsp_token("RTOFFLINE", "ALLOWED_OFFLINE")}));
    assert_eq!(code(&put), (201, 1000), "{put}");
    emsp.cmd(authorizer("RTOFFLINE", "BLOCKED", "ALLOWED_OFFLINE"));
    emsp.cmd(authorizer("RTNEVER", "ALLOWED", "NEVER"));
    assert_eq!(verdict(&mut charger, "RTOFFLINE"), "Blocked");
    emsp.cmd(json!({"cmd": "down"}));
    assert_eq!(verdict(&mut charger, "RTOFFLINE"), "Accepted");
    assert_eq!(verdict(&mut charger, "RTNEVER"), "Blocked");
    emsp.cmd(json!({"cmd": "up"}));

    // A token nobody pushed: the eMSP that knows it decides, and evgate
    // keeps its Token; one nobody knows stays Invalid.
    assert_eq!(verdict(&mut charger, "NOBODYKNOWS"), "Invalid");
    let unknown = emsp.call("GET", &format!("{tokens}/NL/TMS/RTNEW"));
    assert_eq!(code(&unknown), (404, 2004), "{unknown}");
    emsp.cmd(authorizer("RTNEW", "ALLOWED", "ALLOWED"));
    assert_eq!(verdict(&mut charger, "RTNEW"), "Accepted");
    let kept = emsp.call("GET", &format!("{tokens}/NL/TMS/RTNEW"));
    assert_eq!(code(&kept), (200, 1000), "{kept}");
    assert_eq!(kept["body"]["data"]["contract_id"], "NL-TMS-RTNEW");
    // ... so the charge it starts is the eMSP's Session.
    let started = charger.command("start 1 RTNEW -");
    assert_eq!(started["idTagInfo"]["status"], "Accepted", "{started}");
    let session = emsp.await_received("/emsp/sessions/NO/EVG/", |r| {
        r["body"]["cdr_token"]["uid"] == "RTNEW"
    });
    assert_eq!(session["body"]["cdr_token"]["contract_id"], "NL-TMS-RTNEW");
    assert_eq!(session["body"]["auth_method"], "AUTH_REQUEST", "{session}");
    assert_eq!(session["body"]["authorization_reference"], "AUTH-RTNEW");
}
