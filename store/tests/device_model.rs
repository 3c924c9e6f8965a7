//! The device model's store (csms::device_model::DeviceModelStore) on
//! SQLite and (`--ignored`) PostgreSQL: upserts by key, a full report
//! replacing what its run did not write, repeats changing nothing, filters,
//! paging, settings. Its own file: the port is OCPP's, and the shared suite
//! in store.rs takes the booking core's `Store` only.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(non_snake_case)]

use std::sync::Arc;

use booking::model::Page;
use chrono::Utc;
use csms::device_model::{
    DeviceModelStore, Filter, PartWrite, ReportedVariable, Settings, VariableKey,
};
use evgate_store::Database;
use serde_json::json;
use uuid::Uuid;

#[macro_use]
mod fixtures;

fn var(
    component: &str,
    evse: Option<i32>,
    variable: &str,
    instance: Option<&str>,
    value: &str,
) -> ReportedVariable {
    ReportedVariable {
        key: VariableKey {
            component: component.into(),
            component_instance: None,
            evse_id: evse,
            connector_id: evse.map(|_| 1),
            variable: variable.into(),
            variable_instance: instance.map(Into::into),
        },
        attributes: json!([{"type": "Actual", "value": value, "mutability": "ReadWrite"}]),
        characteristics: Some(json!({"dataType": "string", "supportsMonitoring": false})),
    }
}

const ALL: Page = Page {
    limit: 200,
    offset: 0,
};

async fn write(
    store: &dyn DeviceModelStore,
    charger: Uuid,
    request_id: i32,
    run: Uuid,
    variables: &[ReportedVariable],
    replace_others: bool,
) {
    let part = PartWrite {
        charger_id: charger,
        request_id,
        run,
        variables,
        at: Utc::now(),
        replace_others,
    };
    store.write_report_part(&part).await.unwrap();
}

async fn values(store: &dyn DeviceModelStore, charger: Uuid, filter: &Filter) -> Vec<String> {
    let (rows, total) = store.device_model(charger, filter, ALL).await.unwrap();
    assert_eq!(total as usize, rows.len());
    rows.iter()
        .map(|r| {
            let k = &r.reported.key;
            format!(
                "{}{}.{}{}={}",
                k.component,
                k.evse_id.map(|e| format!("[{e}]")).unwrap_or_default(),
                k.variable,
                k.variable_instance
                    .as_deref()
                    .map(|i| format!(":{i}"))
                    .unwrap_or_default(),
                r.reported.value("Actual").unwrap_or("?")
            )
        })
        .collect()
}

async fn TC_B_07_a_full_report_replaces_what_it_does_not_name(db: Arc<dyn Database>) {
    let (_, charger, _) = fixtures::site(&*db).await;
    let store: &dyn DeviceModelStore = &*db;
    let cp = charger.id;
    let old_run = Uuid::new_v4();
    write(
        store,
        cp,
        1,
        old_run,
        &[
            var("OCPPCommCtrlr", None, "HeartbeatInterval", None, "300"),
            var("Gone", None, "Thing", None, "x"),
        ],
        true,
    )
    .await;
    let all = Filter::default();
    assert_eq!(
        values(store, cp, &all).await,
        ["Gone.Thing=x", "OCPPCommCtrlr.HeartbeatInterval=300"]
    );
    // Report 2 in two parts, the second completing it.
    let run = Uuid::new_v4();
    write(
        store,
        cp,
        2,
        run,
        &[
            var("OCPPCommCtrlr", None, "HeartbeatInterval", None, "60"),
            var(
                "DeviceDataCtrlr",
                None,
                "ItemsPerMessage",
                Some("GetVariables"),
                "2",
            ),
        ],
        false,
    )
    .await;
    assert_eq!(
        values(store, cp, &all).await.len(),
        3,
        "nothing replaced before the last part"
    );
    write(
        store,
        cp,
        2,
        run,
        &[
            var("EVSE", Some(1), "AvailabilityState", None, "Available"),
            var("EVSE", Some(2), "AvailabilityState", None, "Occupied"),
        ],
        true,
    )
    .await;
    assert_eq!(
        values(store, cp, &all).await,
        [
            "DeviceDataCtrlr.ItemsPerMessage:GetVariables=2",
            "EVSE[1].AvailabilityState=Available",
            "EVSE[2].AvailabilityState=Occupied",
            "OCPPCommCtrlr.HeartbeatInterval=60",
        ]
    );
    // A repeat of a part changes nothing; the row keeps one copy.
    write(
        store,
        cp,
        2,
        run,
        &[var("EVSE", Some(1), "AvailabilityState", None, "Available")],
        true,
    )
    .await;
    assert_eq!(values(store, cp, &all).await.len(), 4);
    let (rows, _) = store.device_model(cp, &all, ALL).await.unwrap();
    assert!(rows.iter().all(|r| r.request_id == 2));
    assert_eq!(
        rows[0].reported.characteristics.as_ref().unwrap()["dataType"],
        "string"
    );
}

async fn TC_B_08_a_partial_report_upserts_only_what_it_names(db: Arc<dyn Database>) {
    let (_, charger, _) = fixtures::site(&*db).await;
    let store: &dyn DeviceModelStore = &*db;
    let cp = charger.id;
    write(
        store,
        cp,
        1,
        Uuid::new_v4(),
        &[
            var("AuthCtrlr", None, "Enabled", None, "true"),
            var("TxCtrlr", None, "EVConnectionTimeOut", None, "60"),
        ],
        true,
    )
    .await;
    // Case differs: the same row. A key named twice in one part: the later wins.
    write(
        store,
        cp,
        5,
        Uuid::new_v4(),
        &[
            var("txctrlr", None, "evconnectiontimeout", None, "90"),
            var("TxCtrlr", None, "EVConnectionTimeOut", None, "120"),
        ],
        false,
    )
    .await;
    assert_eq!(
        values(store, cp, &Filter::default()).await,
        ["AuthCtrlr.Enabled=true", "TxCtrlr.EVConnectionTimeOut=120",]
    );
}

async fn device_models_filter_page_and_stay_per_charger(db: Arc<dyn Database>) {
    let (station, charger, _) = fixtures::site(&*db).await;
    let other = fixtures::charger_at(&station, "OTHER-1");
    db.insert_charger(&other).await.unwrap();
    let store: &dyn DeviceModelStore = &*db;
    let rows: Vec<ReportedVariable> = (1..=3)
        .flat_map(|e| {
            [
                var("EVSE", Some(e), "AvailabilityState", None, "Available"),
                var("Connector", Some(e), "AvailabilityState", None, "Available"),
                var("EVSE", Some(e), "Power", None, "22000"),
            ]
        })
        .collect();
    write(store, charger.id, 1, Uuid::new_v4(), &rows, true).await;
    write(
        store,
        other.id,
        1,
        Uuid::new_v4(),
        &[var("EVSE", Some(1), "Power", None, "7")],
        true,
    )
    .await;
    let f = |c: Option<&str>, v: Option<&str>, e: Option<i32>| Filter {
        component: c.map(Into::into),
        variable: v.map(Into::into),
        evse: e,
    };
    assert_eq!(
        values(store, charger.id, &f(Some("evse"), None, None))
            .await
            .len(),
        6
    );
    assert_eq!(
        values(store, charger.id, &f(Some("EVSE"), Some("power"), Some(2))).await,
        ["EVSE[2].Power=22000"]
    );
    assert_eq!(
        values(store, charger.id, &f(None, None, Some(3)))
            .await
            .len(),
        3
    );
    assert!(
        values(store, charger.id, &f(Some("Nope"), None, None))
            .await
            .is_empty()
    );
    assert_eq!(
        values(store, other.id, &f(None, None, None)).await,
        ["EVSE[1].Power=7"]
    );
    let (page, total) = store
        .device_model(
            charger.id,
            &Filter::default(),
            Page {
                limit: 4,
                offset: 4,
            },
        )
        .await
        .unwrap();
    assert_eq!((page.len(), total), (4, 9));
    assert_eq!(
        page[0].reported.key.component, "EVSE",
        "ordered by component, then EVSE"
    );
}

async fn many_variables_in_one_part_are_written_in_batches(db: Arc<dyn Database>) {
    let (_, charger, _) = fixtures::site(&*db).await;
    let store: &dyn DeviceModelStore = &*db;
    let rows: Vec<ReportedVariable> = (0..1500)
        .map(|i| var("Big", None, &format!("V{i:04}"), None, &i.to_string()))
        .collect();
    write(store, charger.id, 1, Uuid::new_v4(), &rows, true).await;
    let (_, total) = store
        .device_model(charger.id, &Filter::default(), ALL)
        .await
        .unwrap();
    assert_eq!(total, 1500);
}

async fn device_model_settings_default_off_and_are_kept(db: Arc<dyn Database>) {
    let (_, charger, _) = fixtures::site(&*db).await;
    let store: &dyn DeviceModelStore = &*db;
    assert_eq!(
        store.device_model_settings(charger.id).await.unwrap(),
        Settings::default()
    );
    let on = Settings {
        refresh_on_boot: true,
    };
    store
        .set_device_model_settings(charger.id, on, Utc::now())
        .await
        .unwrap();
    assert_eq!(store.device_model_settings(charger.id).await.unwrap(), on);
    let off = Settings {
        refresh_on_boot: false,
    };
    store
        .set_device_model_settings(charger.id, off, Utc::now())
        .await
        .unwrap();
    assert_eq!(store.device_model_settings(charger.id).await.unwrap(), off);
}

/// A boot reads its charger and what to follow up on in one query: each
/// follow-up turns on with the row that asks for it, and only for its charger.
async fn a_boot_reads_its_follow_ups_with_the_charger(db: Arc<dyn Database>) {
    use booking::model::{ChargingProfile, ListChange, ProfileOrigin, ProfilePurpose};
    use booking::store::BootFollowUps;
    let (_, charger, _) = fixtures::site(&*db).await;
    let (_, other, _) = fixtures::site(&*db).await;
    let follow_ups = |id| {
        let db = db.clone();
        async move {
            let (read, follow_ups) = db.charger_at_boot(id).await.unwrap().unwrap();
            assert_eq!(read.id, id);
            follow_ups
        }
    };
    assert_eq!(follow_ups(charger.id).await, BootFollowUps::default());
    db.change_local_list(charger.id, &ListChange::Replace(vec!["A".into()]))
        .await
        .unwrap();
    db.change_local_list(charger.id, &ListChange::Add(vec!["B".into()]))
        .await
        .unwrap();
    db.save_charging_profile(&ChargingProfile {
        charger_id: charger.id,
        profile_id: 1,
        origin: ProfileOrigin::Operator,
        evse_id: 0,
        purpose: ProfilePurpose::StationMax,
        stack_level: 1,
        profile: json!({"chargingProfileId": 1}),
        updated_at: Utc::now(),
    })
    .await
    .unwrap();
    let on = Settings {
        refresh_on_boot: true,
    };
    db.set_device_model_settings(charger.id, on, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        follow_ups(charger.id).await,
        BootFollowUps {
            local_list_version: 2,
            charging_profiles: true,
            refresh_device_model: true,
        }
    );
    assert_eq!(follow_ups(other.id).await, BootFollowUps::default());
    let off = Settings {
        refresh_on_boot: false,
    };
    db.set_device_model_settings(charger.id, off, Utc::now())
        .await
        .unwrap();
    assert!(!follow_ups(charger.id).await.refresh_device_model);
    assert!(db.charger_at_boot(Uuid::new_v4()).await.unwrap().is_none());
}

backend_suite!(
    a_boot_reads_its_follow_ups_with_the_charger,
    TC_B_07_a_full_report_replaces_what_it_does_not_name,
    TC_B_08_a_partial_report_upserts_only_what_it_names,
    device_models_filter_page_and_stay_per_charger,
    many_variables_in_one_part_are_written_in_batches,
    device_model_settings_default_off_and_are_kept,
);
