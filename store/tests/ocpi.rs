//! OCPI's store (ocpi::OcpiStore) on SQLite and (`--ignored`) PostgreSQL:
//! a token registers once, party ids stay unique among registered
//! partners, only published stations are Locations, and owed pushes
//! coalesce per partner and EVSE without losing a newer status.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::TimeDelta;
use evgate_store::Database;
use ocpi::{
    AuthMethod, Authorized, LocationDetails, OcpiStore, OcpiVersion, Partner, PartnerState, Push,
    StoredToken, TokenKey, token_hash,
};
use serde_json::json;
use uuid::Uuid;

#[macro_use]
mod fixtures;
use fixtures::{site, t};

fn registered(p: &Partner, token_c: &str, party: &str) -> Partner {
    let mut next = p.clone();
    next.state = PartnerState::Registered;
    next.token_hash = Some(token_hash(token_c));
    next.their_token = Some("token-b".into());
    next.version = Some(OcpiVersion::V221);
    next.versions_url = Some("https://emsp.example/versions".into());
    next.endpoints = vec![ocpi::Endpoint {
        identifier: "locations".into(),
        role: Some("RECEIVER".into()),
        url: "https://emsp.example/locations".into(),
    }];
    next.country_code = Some("NL".into());
    next.party_id = Some(party.into());
    next
}

async fn a_token_registers_once_and_party_ids_stay_unique(db: Arc<dyn Database>) {
    let now = t("2026-12-03T10:00:00Z");
    let (p, token_a) = Partner::invite("Roam", now).unwrap();
    db.insert_partner(&p).await.unwrap();
    let hash_a = token_hash(&token_a);
    assert_eq!(
        db.partner_by_token(&hash_a).await.unwrap().unwrap().id,
        p.id
    );

    let reg = registered(&p, "token-c", "TMS");
    assert!(db.replace_partner(&reg, &hash_a).await.unwrap());
    // The same token A a second time (a replay, or a racing request).
    assert!(!db.replace_partner(&reg, &hash_a).await.unwrap());
    assert!(db.partner_by_token(&hash_a).await.unwrap().is_none());
    let back = db
        .partner_by_token(&token_hash("token-c"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, reg);

    // Another partner may not register with the same country and party.
    let (q, token_q) = Partner::invite("Copy", now).unwrap();
    db.insert_partner(&q).await.unwrap();
    let clash = db
        .replace_partner(&registered(&q, "other-c", "TMS"), &token_hash(&token_q))
        .await;
    assert!(
        matches!(clash, Err(booking::Error::Conflict(_))),
        "{clash:?}"
    );
    assert!(
        db.replace_partner(&registered(&q, "other-c", "TM2"), &token_hash(&token_q))
            .await
            .unwrap()
    );
    assert_eq!(db.partners().await.unwrap().len(), 2);
    assert!(db.delete_partner(q.id).await.unwrap());
    assert!(!db.delete_partner(q.id).await.unwrap());
    assert!(db.partner(q.id).await.unwrap().is_none());
}

fn push(partner: Uuid, location: Uuid, evse: Uuid, status: &str, at: &str) -> Push {
    Push {
        partner_id: partner,
        module: ocpi::PushModule::Locations,
        object_id: evse,
        location_id: location,
        body: json!({"status": status, "last_updated": at}),
        last_updated: t(at),
        attempts: 0,
        next_attempt: t(at),
    }
}

async fn published_locations_and_coalescing_pushes(db: Arc<dyn Database>) {
    let (station, _, connector) = site(&*db).await;
    let (other, _, _) = site(&*db).await;
    let details = |id, publish| LocationDetails {
        station_id: id,
        city: "Oslo".into(),
        postal_code: None,
        country: "NOR".into(),
        time_zone: "Europe/Oslo".into(),
        publish,
        updated_at: t("2026-12-03T09:00:00Z"),
    };
    let unknown = db.set_location(&details(Uuid::new_v4(), true)).await;
    assert!(
        matches!(unknown, Err(booking::Error::NotFound { .. })),
        "{unknown:?}"
    );
    db.set_location(&details(station.id, true)).await.unwrap();
    db.set_location(&details(other.id, false)).await.unwrap();
    let published = db.published_locations().await.unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0.id, station.id);
    assert_eq!(published[0].1, details(station.id, true));
    assert!(db.published_location(other.id).await.unwrap().is_none());
    // Pages by last change: the details (09:00), the station, a connector's status.
    let window = |f: &str, u: &str| ((!f.is_empty()).then(|| t(f)), (!u.is_empty()).then(|| t(u)));
    let count = |w| {
        let db = db.clone();
        async move { db.published_page(w, 0, 10).await.unwrap().1 }
    };
    assert_eq!(count(window("", "")).await, 1);
    assert_eq!(
        db.published_page(window("", ""), 1, 10)
            .await
            .unwrap()
            .0
            .len(),
        0
    );
    let later = "2099-01-01T00:00:00Z";
    assert_eq!(count(window(later, "")).await, 0);
    db.set_connector_status(
        connector,
        booking::model::ConnectorStatus::Available,
        t(later),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        count(window(later, "")).await,
        1,
        "a status change is a change"
    );
    assert_eq!(
        count(window("", later)).await,
        0,
        "changed at or after date_to"
    );
    assert_eq!(count(window("", "2099-01-01T00:00:01Z")).await, 1);

    // Tariffs of published connectors: the connector's own, else the station's.
    assert!(
        db.published_tariffs(&[station.id])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.published_tariffs(&[]).await.unwrap().is_empty());
    let tariff = |name: &str| booking::tariffs::Tariff {
        id: Uuid::new_v4(),
        name: name.into(),
        currency: "NOK".into(),
        price_per_kwh: 4.0,
        price_per_minute_charging: 0.0,
        price_per_minute_idle: 0.0,
        session_fee: 0.0,
        tax_rate_percent: 25.0,
        created_at: t("2026-12-01T00:00:00Z"),
    };
    let (site_wide, own) = (tariff("site"), tariff("own"));
    db.insert_tariff(&site_wide).await.unwrap();
    db.insert_tariff(&own).await.unwrap();
    let at = t("2026-12-03T09:30:00Z");
    db.assign_tariff(
        booking::tariffs::TariffScope::Station(station.id),
        Some(site_wide.id),
        at,
    )
    .await
    .unwrap();
    assert_eq!(
        db.published_tariffs(&[station.id]).await.unwrap(),
        vec![(connector, site_wide.id)]
    );
    db.assign_tariff(
        booking::tariffs::TariffScope::Connector(connector),
        Some(own.id),
        at,
    )
    .await
    .unwrap();
    assert_eq!(
        db.published_tariffs(&[station.id]).await.unwrap(),
        vec![(connector, own.id)]
    );
    // Another station's connectors are not read.
    assert!(
        db.published_tariffs(&[Uuid::new_v4()])
            .await
            .unwrap()
            .is_empty()
    );

    let now = t("2026-12-03T10:00:00Z");
    let (p, token_a) = Partner::invite("Roam", now).unwrap();
    db.insert_partner(&p).await.unwrap();
    let reg = registered(&p, "c", "TMS");
    db.replace_partner(&reg, &token_hash(&token_a))
        .await
        .unwrap();

    let first = push(
        p.id,
        station.id,
        connector,
        "CHARGING",
        "2026-12-03T10:00:00Z",
    );
    let newer = push(
        p.id,
        station.id,
        connector,
        "AVAILABLE",
        "2026-12-03T10:05:00Z",
    );
    let older = push(
        p.id,
        station.id,
        connector,
        "RESERVED",
        "2026-12-03T09:00:00Z",
    );
    db.queue_pushes(std::slice::from_ref(&first)).await.unwrap();
    let due = db.due_pushes(now, 10).await.unwrap();
    assert_eq!(due, vec![first.clone()]);
    // The partner is down: tried again later; meanwhile a newer status
    // replaces it (keeping the schedule), an older one does not.
    let retry_at = now + TimeDelta::seconds(5);
    db.push_failed(&first, retry_at, "HTTP 503").await.unwrap();
    assert!(db.due_pushes(now, 10).await.unwrap().is_empty());
    db.queue_pushes(&[newer.clone(), older]).await.unwrap();
    let backlog = db.push_backlog().await.unwrap();
    assert_eq!(backlog.len(), 1);
    assert_eq!(
        (
            backlog[0].partner_id,
            backlog[0].waiting,
            backlog[0].attempts
        ),
        (p.id, 1, 1)
    );
    assert_eq!(backlog[0].next_attempt, retry_at);
    assert_eq!(backlog[0].last_error.as_deref(), Some("HTTP 503"));
    let due = db.due_pushes(retry_at, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].body, newer.body);
    assert_eq!(due[0].attempts, 1);
    assert_eq!(due[0].next_attempt, retry_at);
    // A delivery of the older body removes nothing; of the current one, the row.
    db.push_delivered(&first).await.unwrap();
    assert_eq!(db.due_pushes(retry_at, 10).await.unwrap().len(), 1);
    db.push_delivered(&due[0]).await.unwrap();
    assert!(db.due_pushes(retry_at, 10).await.unwrap().is_empty());

    // Unregistering drops what was owed.
    db.queue_pushes(&[newer]).await.unwrap();
    let mut gone = reg.clone();
    gone.state = PartnerState::Unregistered;
    gone.token_hash = None;
    assert!(db.replace_partner(&gone, &token_hash("c")).await.unwrap());
    assert!(db.due_pushes(retry_at, 10).await.unwrap().is_empty());

    // The lease: one pusher at a time.
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let until = now + TimeDelta::seconds(15);
    assert!(
        OcpiStore::lease(&*db, "ocpi-push", a, now, until)
            .await
            .unwrap()
    );
    assert!(
        !OcpiStore::lease(&*db, "ocpi-push", b, now, until)
            .await
            .unwrap()
    );
    assert!(
        OcpiStore::lease(&*db, "ocpi-push", b, until, until + TimeDelta::seconds(15))
            .await
            .unwrap()
    );
}

/// A partner's token keeps the eMSP's latest say-so (a START_SESSION, a
/// real-time authorization) across pushes of the Token that carry none.
async fn a_token_keeps_the_latest_say_so(db: Arc<dyn Database>) {
    let now = t("2026-12-03T10:00:00Z");
    let (p, _) = Partner::invite("Roam", now).unwrap();
    db.insert_partner(&p).await.unwrap();
    let key = TokenKey {
        country_code: "NL".into(),
        party_id: "TMS".into(),
        uid: "CARD1".into(),
        token_type: "RFID".into(),
    };
    let pushed = StoredToken {
        partner_id: p.id,
        body: json!({"uid": "CARD1", "whitelist": "NEVER"}),
        last_updated: now,
        authorized: None,
    };
    db.put_ocpi_token(&key, &pushed).await.unwrap();
    assert_eq!(db.ocpi_token(&key).await.unwrap(), Some(pushed.clone()));

    let command = Authorized {
        method: AuthMethod::Command,
        reference: Some("REF-1".into()),
        at: now + TimeDelta::minutes(1),
    };
    let said = StoredToken {
        authorized: Some(command.clone()),
        ..pushed.clone()
    };
    db.put_ocpi_token(&key, &said).await.unwrap();
    // A later push of the Token alone keeps the say-so.
    db.put_ocpi_token(&key, &pushed).await.unwrap();
    assert_eq!(db.ocpi_token(&key).await.unwrap(), Some(said));

    // A real-time authorization without a reference replaces the command's.
    let asked = Authorized {
        method: AuthMethod::AuthRequest,
        reference: None,
        at: now + TimeDelta::minutes(2),
    };
    let said = StoredToken {
        authorized: Some(asked),
        ..pushed
    };
    db.put_ocpi_token(&key, &said).await.unwrap();
    let by_uid = db.ocpi_tokens_by_uid("CARD1").await.unwrap();
    assert_eq!(by_uid, vec![(key, said)]);
}

backend_suite!(
    a_token_registers_once_and_party_ids_stay_unique,
    published_locations_and_coalescing_pushes,
    a_token_keeps_the_latest_say_so,
);
