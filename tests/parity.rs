//! One update path: the same real-world sequence — a connector Available,
//! then Occupied, a session for a booking starts, a meter reading, the
//! session ends, the connector is Available again — told once by a real
//! OCPP 1.6 charger (the PyPI `ocpp` charge point) and once by a vendor
//! cloud's webhooks leaves the same connector, session and booking rows
//! (ids and timestamps aside) and the same sequence of events.
//! Needs Python with `ocpp==2.1.0` (`.ci/run` installs it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use booking::Clock;
use booking::events::Event;
use booking::model::{ChargingSession, OcppVersion, TransactionKey};
use chrono::{DurationRound, TimeDelta, Utc};
use common::TestApp;
use common::charger::Charger;
use serde_json::{Value, json};
use uuid::Uuid;

/// What a row or event says, with ids replaced by their roles and times
/// left out.
type Facts = (Vec<String>, Value);

async fn admin(app: &TestApp, method: &str, path: &str, body: Value) -> Value {
    let (code, v) = app
        .send(method, path, Some(&app.admin()), Some(&body.to_string()))
        .await;
    assert!(code < 300, "{method} {path}: {code} {v}");
    v["data"].clone()
}

/// A confirmed booking on `connector` starting two minutes from now (made
/// half an hour earlier, so no ReserveNow is involved on either path).
async fn booking(app: &TestApp, station: &str, connector: &str) -> (Uuid, String) {
    let now = app.clock.now();
    app.clock.set(now - TimeDelta::minutes(30));
    let start = now.duration_trunc(TimeDelta::minutes(1)).unwrap() + TimeDelta::minutes(2);
    let body = json!({"stationId": station, "connectorId": connector,
        "startTs": start.to_rfc3339(), "endTs": (start + TimeDelta::hours(1)).to_rfc3339()});
    let (code, hold) = app
        .send(
            "POST",
            "/v1/bookings/holds",
            Some(&app.user()),
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(code, 201, "{hold}");
    let body = json!({"holdToken": hold["data"]["token"], "paymentId": "pay"});
    let (code, b) = app
        .send(
            "POST",
            "/v1/bookings/confirm",
            Some(&app.user()),
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(code, 201, "{b}");
    app.clock.set(now);
    let id: Uuid = b["data"]["id"].as_str().unwrap().parse().unwrap();
    let tag = app
        .store
        .booking(id)
        .await
        .unwrap()
        .unwrap()
        .id_tag
        .unwrap();
    (id, tag)
}

fn event_facts(e: &Event, connector: Uuid, booking: Uuid) -> String {
    let c = |id: &Uuid| {
        if *id == connector {
            "the connector"
        } else {
            "another connector"
        }
    };
    match e {
        Event::ConnectorStatusChanged {
            connector_id,
            status,
            ..
        } => {
            format!("status {} {status}", c(connector_id))
        }
        Event::SessionStarted { connector_id, .. } => {
            format!("session started on {}", c(connector_id))
        }
        Event::SessionEnded {
            connector_id,
            energy_kwh,
            ..
        } => {
            format!("session ended on {} {energy_kwh:?} kWh", c(connector_id))
        }
        Event::MeterUpdate {
            connector_id,
            energy_kwh,
            ..
        } => {
            format!("meter {} {energy_kwh} kWh", c(connector_id))
        }
        Event::BookingChanged { booking: b } => format!(
            "booking {} {} on {}",
            if b.id == booking {
                "the booking"
            } else {
                "another booking"
            },
            b.status,
            c(&b.connector_id)
        ),
        other => format!("{other:?}"),
    }
}

async fn rows(app: &TestApp, connector: Uuid, booking: Uuid, session: &ChargingSession) -> Value {
    let c = app.store.connector(connector).await.unwrap().unwrap();
    let b = app.store.booking(booking).await.unwrap().unwrap();
    json!({
        "connector": {"status": c.status.as_str(), "lastKnownStatus": c.last_known_status.map(|s| s.as_str())},
        "session": {
            "status": session.status.as_str(),
            "isTheBooking": session.booking_id == Some(booking),
            "onTheConnector": session.connector_id == connector,
            "idTagIsTheBookings": session.id_tag == b.id_tag,
            "meterStartWh": session.meter_start_wh,
            "meterStopWh": session.meter_stop_wh,
            "energyKwh": session.energy_kwh,
            "costAmount": session.cost_amount,
            "stopReason": session.stop_reason,
            "ended": session.ended_at.is_some(),
        },
        "booking": {"status": b.status.as_str(), "reservedOnCharger": b.reserved_on_charger},
    })
}

fn record(app: &TestApp) -> tokio::sync::broadcast::Receiver<Event> {
    app.events.subscribe()
}

fn drain_events(
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
    connector: Uuid,
    booking: Uuid,
) -> Vec<String> {
    let mut out = vec![];
    while let Ok(e) = rx.try_recv() {
        out.push(event_facts(&e, connector, booking));
    }
    out
}

/// Waits until the charger's last message, `status` for `connector`, has
/// gone through the CSMS.
async fn settle(app: &TestApp, connector: Uuid, status: &str) {
    let within = std::time::Duration::from_secs(10);
    common::eventually(&format!("the connector {status}"), within, async || {
        let c = app.store.connector(connector).await.unwrap().unwrap();
        if c.status.as_str() == status {
            Ok(())
        } else {
            Err(c.status.as_str())
        }
    })
    .await;
}

async fn over_ocpp(app: &TestApp, station: &str) -> Facts {
    admin(
        app,
        "POST",
        &format!("/v1/admin/stations/{station}/chargers"),
        json!({"chargePointId": "CP-OCPP", "securityProfile": 0}),
    )
    .await;
    let c = admin(app, "POST", &format!("/v1/admin/stations/{station}/connectors"),
        json!({"chargePointId": "CP-OCPP", "connectorId": 1, "connectorType": "Type2", "powerKw": 22.0})).await;
    let connector: Uuid = c["id"].as_str().unwrap().parse().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let csms = csms::Csms::new(
        csms::Deps {
            store: app.store.clone(),
            bookings: app.bookings.clone(),
            clock: app.clock.clone(),
            config: csms::CsmsConfig::default(),
            elsewhere: Arc::new(csms::OnlyHere),
            presence: csms::PresenceWriter::new(app.store.clone()),
            pending_starts: csms::PendingStarts::default(),
            charging_clocks: Default::default(),
            device_model: csms::DeviceModel::none(),
            vendor_extensions: csms::data_transfer::VendorExtensions::none(),
            local_lists: csms::local_list::LocalLists::none(),
            certificates: Default::default(),
            smart_charging: csms::smart_charging::SmartCharging::none(),
            remote_authorizer: std::sync::Arc::new(booking::authorization::NoRemote),
        },
        Arc::new(csms::Registry::default()),
    );
    tokio::spawn(csms::serve(listener, csms, std::future::pending()));
    let url = format!("ws://{addr}/ocpp/CP-OCPP");
    // The charger boots and reports connector 1 Available.
    let mut charger = tokio::task::spawn_blocking(move || Charger::start(&url, "1.6", "Accepted"))
        .await
        .unwrap();
    settle(app, connector, "AVAILABLE").await;
    let (booking, tag) = booking(app, station, &connector.to_string()).await;
    let mut events = record(app);
    // The charger answers on a blocking pipe; the CSMS runs meanwhile.
    let mut run = |line: String| tokio::task::block_in_place(|| charger.command(&line));
    run("status 1 Preparing".into());
    let started = run(format!("start 1 {tag} -"));
    let tx = started["transactionId"].as_i64().unwrap();
    run(format!("meter 1 {tx} 6000"));
    run(format!("stop {tx} 11000"));
    run("status 1 Available".into());
    settle(app, connector, "AVAILABLE").await;
    let session = app
        .store
        .session_by_transaction(
            app.store
                .connector(connector)
                .await
                .unwrap()
                .unwrap()
                .charger_id,
            &TransactionKey::Ocpp(OcppVersion::V16, tx.to_string()),
        )
        .await
        .unwrap()
        .unwrap();
    (
        drain_events(&mut events, connector, booking),
        rows(app, connector, booking, &session).await,
    )
}

async fn over_webhooks(app: &TestApp, station: &str) -> Facts {
    admin(
        app,
        "POST",
        &format!("/v1/admin/stations/{station}/chargers"),
        json!({"chargePointId": "CP-VENDOR", "securityProfile": 0}),
    )
    .await;
    let c = admin(app, "POST", &format!("/v1/admin/stations/{station}/connectors"),
        json!({"chargePointId": "CP-VENDOR", "connectorId": 1, "connectorType": "Type2", "powerKw": 22.0})).await;
    let connector: Uuid = c["id"].as_str().unwrap().parse().unwrap();
    let v = admin(app, "POST", "/v1/admin/vendors", json!({"name": "acme"})).await;
    let (vendor, secret) = (
        v["id"].as_str().unwrap().to_owned(),
        v["secret"].as_str().unwrap().to_owned(),
    );
    admin(
        app,
        "PUT",
        &format!("/v1/admin/connectors/{connector}/vendor"),
        json!({"vendorId": vendor, "vendorConnectorId": "A-1"}),
    )
    .await;
    let post = |kind: &'static str, body: Value| {
        let (vendor, secret) = (vendor.clone(), secret.clone());
        async move {
            let ts = app.clock.now().timestamp();
            let body = body.to_string();
            let sig = webhooks::signature::sign(secret.as_bytes(), ts, body.as_bytes());
            let req = axum::http::Request::builder()
                .method("POST")
                .uri(format!("/v1/vendor/webhooks/{kind}"))
                .header("content-type", "application/json")
                .header("x-evgate-vendor", vendor)
                .header("x-evgate-timestamp", ts.to_string())
                .header("x-evgate-signature", sig)
                .body(axum::body::Body::from(body))
                .unwrap();
            let (code, v) = app.raw(req).await;
            assert_eq!(code, 202, "{kind}: {v}");
            while app.webhooks.process_due().await.unwrap() > 0 {}
        }
    };
    // Set up with its own body: the same request signed in the same second
    // again (the story's last AVAILABLE) would be a replay.
    post(
        "connector-status",
        json!({"vendorConnectorId": "A-1", "status": "AVAILABLE", "metadata": {"setup": true}}),
    )
    .await;
    let (booking, tag) = booking(app, station, &connector.to_string()).await;
    let mut events = record(app);
    let now = Utc::now().to_rfc3339();
    post(
        "connector-status",
        json!({"vendorConnectorId": "A-1", "status": "OCCUPIED"}),
    )
    .await;
    post(
        "session-start",
        json!({"vendorSessionId": "S-1", "vendorConnectorId": "A-1",
        "bookingId": booking, "idTag": tag, "startMeterReading": 1.0, "timestamp": now}),
    )
    .await;
    post(
        "meter-update",
        json!({"vendorSessionId": "S-1", "meterReading": 6.0}),
    )
    .await;
    post(
        "session-end",
        json!({"vendorSessionId": "S-1", "endMeterReading": 11.0}),
    )
    .await;
    post(
        "connector-status",
        json!({"vendorConnectorId": "A-1", "status": "AVAILABLE"}),
    )
    .await;
    let vendor: Uuid = vendor.parse().unwrap();
    let key = webhooks::transaction_key(vendor, "S-1");
    let session = app.database.vendor_session(&key).await.unwrap().unwrap();
    (
        drain_events(&mut events, connector, booking),
        rows(app, connector, booking, &session).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python with the ocpp package; run by .ci/run"]
async fn an_ocpp_charger_and_a_vendor_cloud_telling_the_same_story_leave_the_same_trace() {
    let app = TestApp::new().await;
    app.clock.set(booking::clock::to_millis(Utc::now()));
    let station = admin(
        &app,
        "POST",
        "/v1/admin/stations",
        json!({"name": "Parity", "latitude": 48.1, "longitude": 11.6}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ocpp_events, ocpp_rows) = over_ocpp(&app, &station).await;
    let (webhook_events, webhook_rows) = over_webhooks(&app, &station).await;
    assert_eq!(
        ocpp_events,
        [
            "status the connector OCCUPIED",
            "session started on the connector",
            "booking the booking ACTIVE on the connector",
            "meter the connector 5 kWh",
            "session ended on the connector Some(10.0) kWh",
            "booking the booking COMPLETED on the connector",
            "status the connector AVAILABLE",
        ],
        "the OCPP trace"
    );
    assert_eq!(webhook_events, ocpp_events, "events");
    assert_eq!(webhook_rows, ocpp_rows, "rows");
}
