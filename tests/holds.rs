//! The hold-store suite: every test runs against the in-process adapter,
//! a real Redis and a real PostgreSQL (the latter two `--ignored` in a plain
//! `cargo test`; `.ci/run` runs them with EVGATE_TEST_REDIS_URL and
//! EVGATE_TEST_PG_URL).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use booking::holds::{Claim, Hold, HoldStore, InProcessHolds};
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const NOW: &str = "2030-01-01T09:00:00Z";

fn hold(connector: Uuid, start: &str, end: &str) -> Hold {
    Hold {
        token: format!("hold_{}", Uuid::new_v4().simple()),
        user_id: 42,
        station_id: Uuid::nil(),
        connector_id: connector,
        start_ts: t(start),
        end_ts: t(end),
        expires_at: t(NOW) + TimeDelta::minutes(10),
        id_tag: "EVTEST".into(),
        reservation_id: None,
    }
}

/// Whether the store took the hold (no per-user cap).
async fn stored(holds: &dyn HoldStore, hold: &Hold, now: DateTime<Utc>) -> bool {
    holds.try_hold(hold, None, now).await.unwrap() == Claim::Stored
}

async fn overlapping_holds_are_refused(holds: Arc<dyn HoldStore>) {
    let now = t(NOW);
    let c = Uuid::new_v4();
    let a = hold(c, "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    assert!(stored(&*holds, &a, now).await);
    let clash = hold(c, "2030-01-01T10:59:00Z", "2030-01-01T12:00:00Z");
    assert!(!stored(&*holds, &clash, now).await);
    let after = hold(c, "2030-01-01T11:00:00Z", "2030-01-01T12:00:00Z");
    assert!(stored(&*holds, &after, now).await, "back to back is fine");
    let elsewhere = hold(
        Uuid::new_v4(),
        "2030-01-01T10:00:00Z",
        "2030-01-01T11:00:00Z",
    );
    assert!(stored(&*holds, &elsewhere, now).await);
    // Once `a` has expired, its slot can be held again.
    let later = now + TimeDelta::minutes(10);
    let again = Hold {
        expires_at: later + TimeDelta::minutes(10),
        ..hold(c, "2030-01-01T10:00:00Z", "2030-01-01T10:30:00Z")
    };
    assert!(stored(&*holds, &again, later).await);
    // The expired hold is still readable (to say "expired" on confirm).
    assert_eq!(holds.get(&a.token).await.unwrap().unwrap(), a);
}

async fn a_long_hold_blocks_slots_far_after_its_start(holds: Arc<dyn HoldStore>) {
    let now = t(NOW);
    let c = Uuid::new_v4();
    // Many short holds, then one four hours long among them.
    for h in 0..20 {
        let start = t("2030-01-02T00:00:00Z") + TimeDelta::hours(h);
        let short = Hold {
            start_ts: start,
            end_ts: start + TimeDelta::minutes(30),
            ..hold(c, NOW, NOW)
        };
        assert!(stored(&*holds, &short, now).await);
    }
    let long = hold(c, "2030-01-01T10:00:00Z", "2030-01-01T14:00:00Z");
    assert!(stored(&*holds, &long, now).await);
    let late_clash = hold(c, "2030-01-01T13:30:00Z", "2030-01-01T13:45:00Z");
    assert!(!stored(&*holds, &late_clash, now).await);
    let seen = holds
        .live_holds(
            &[c],
            t("2030-01-01T13:50:00Z"),
            t("2030-01-01T13:55:00Z"),
            now,
        )
        .await
        .unwrap();
    assert_eq!(seen, [long]);
}

async fn release_hands_the_hold_back_once(holds: Arc<dyn HoldStore>) {
    let now = t(NOW);
    let c = Uuid::new_v4();
    let a = Hold {
        reservation_id: Some(17),
        ..hold(c, "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z")
    };
    assert!(stored(&*holds, &a, now).await);
    assert_eq!(holds.release(&a.token).await.unwrap(), Some(a.clone()));
    assert_eq!(holds.release(&a.token).await.unwrap(), None);
    assert_eq!(holds.get(&a.token).await.unwrap(), None);
    let same_slot = hold(c, "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    assert!(stored(&*holds, &same_slot, now).await);
}

async fn live_holds_in_a_window(holds: Arc<dyn HoldStore>) {
    let now = t(NOW);
    let (c1, c2) = (Uuid::new_v4(), Uuid::new_v4());
    let a = hold(c1, "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z");
    let b = hold(c2, "2030-01-01T12:00:00Z", "2030-01-01T13:00:00Z");
    let short = Hold {
        expires_at: now + TimeDelta::minutes(1),
        ..hold(c2, "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z")
    };
    for h in [&a, &b, &short] {
        assert!(stored(&*holds, h, now).await);
    }
    let mut got = holds
        .live_holds(
            &[c1, c2],
            t("2030-01-01T10:30:00Z"),
            t("2030-01-01T12:30:00Z"),
            now,
        )
        .await
        .unwrap();
    got.sort_by_key(|h| h.start_ts);
    assert_eq!(got, [a.clone(), short.clone(), b.clone()]);
    let later = now + TimeDelta::minutes(2);
    let got = holds
        .live_holds(
            &[c2],
            t("2030-01-01T09:00:00Z"),
            t("2030-01-01T11:00:00Z"),
            later,
        )
        .await
        .unwrap();
    assert!(got.is_empty(), "expired holds are not live: {got:?}");
    assert!(
        holds
            .live_holds(&[], now, later, now)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn expired_holds_are_taken_exactly_once(holds: Arc<dyn HoldStore>) {
    let now = t(NOW);
    let mut made = Vec::new();
    for i in 0..10 {
        let h = Hold {
            expires_at: now + TimeDelta::minutes(i),
            ..hold(
                Uuid::new_v4(),
                "2030-01-01T10:00:00Z",
                "2030-01-01T11:00:00Z",
            )
        };
        assert!(stored(&*holds, &h, now).await);
        made.push(h);
    }
    // Holds expiring at +0..+4 minutes are due at +4.
    let by = now + TimeDelta::minutes(4);
    let mut sweepers = Vec::new();
    for _ in 0..4 {
        let holds = holds.clone();
        sweepers.push(tokio::spawn(async move {
            holds.take_expired(by, 100).await.unwrap()
        }));
    }
    let mut taken = Vec::new();
    for s in sweepers {
        taken.extend(s.await.unwrap());
    }
    taken.sort_by_key(|h| h.expires_at);
    assert_eq!(
        taken,
        made[..5],
        "each due hold handed to exactly one sweeper"
    );
    let rest = holds
        .take_expired(now + TimeDelta::hours(1), 2)
        .await
        .unwrap();
    assert_eq!(rest.len(), 2, "limit respected");
}

async fn two_hundred_racing_holds_one_winner(holds: Arc<dyn HoldStore>) {
    let now = t(NOW);
    let c = Uuid::new_v4();
    let mut tasks = Vec::new();
    for user in 0..200 {
        let holds = holds.clone();
        let h = Hold {
            user_id: user,
            ..hold(c, "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z")
        };
        tasks.push(tokio::spawn(async move { stored(&*holds, &h, now).await }));
    }
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap());
    }
    assert_eq!(won, 1);
}

/// BOOKING_MAX_LIVE_HOLDS_PER_USER: the cap counts live holds only, other
/// users are not affected, a released or expired hold frees a place, and
/// fifty racing holds of one user on fifty connectors store exactly the cap.
async fn a_user_is_capped_at_live_holds(holds: Arc<dyn HoldStore>) {
    let now = t(NOW);
    let user = i64::from(rand_user());
    let mine = |c: Uuid| Hold {
        user_id: user,
        ..hold(c, "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z")
    };
    let (a, b) = (mine(Uuid::new_v4()), mine(Uuid::new_v4()));
    assert_eq!(
        holds.try_hold(&a, Some(2), now).await.unwrap(),
        Claim::Stored
    );
    assert_eq!(
        holds.try_hold(&b, Some(2), now).await.unwrap(),
        Claim::Stored
    );
    let c = mine(Uuid::new_v4());
    assert_eq!(
        holds.try_hold(&c, Some(2), now).await.unwrap(),
        Claim::UserAtLimit
    );
    // A taken slot at the cap: either refusal is true (the stores differ).
    let clash = mine(a.connector_id);
    assert_ne!(
        holds.try_hold(&clash, Some(2), now).await.unwrap(),
        Claim::Stored
    );
    assert_eq!(
        holds.try_hold(&clash, None, now).await.unwrap(),
        Claim::SlotTaken
    );
    let someone_else = Hold {
        user_id: user + 1,
        ..mine(Uuid::new_v4())
    };
    assert_eq!(
        holds.try_hold(&someone_else, Some(2), now).await.unwrap(),
        Claim::Stored
    );
    assert_eq!(
        holds.try_hold(&c, None, now).await.unwrap(),
        Claim::Stored,
        "no cap"
    );
    // Released and expired holds stop counting.
    holds.release(&c.token).await.unwrap();
    holds.release(&b.token).await.unwrap();
    let d = mine(Uuid::new_v4());
    assert_eq!(
        holds.try_hold(&d, Some(2), now).await.unwrap(),
        Claim::Stored
    );
    assert_eq!(
        holds
            .try_hold(&mine(Uuid::new_v4()), Some(2), now)
            .await
            .unwrap(),
        Claim::UserAtLimit
    );
    // Once `a` and `d` have expired (not yet swept), two more fit, not three.
    let later = a.expires_at;
    let fresh = || Hold {
        expires_at: later + TimeDelta::minutes(10),
        ..mine(Uuid::new_v4())
    };
    assert_eq!(
        holds.try_hold(&fresh(), Some(2), later).await.unwrap(),
        Claim::Stored
    );
    assert_eq!(
        holds.try_hold(&fresh(), Some(2), later).await.unwrap(),
        Claim::Stored
    );
    assert_eq!(
        holds.try_hold(&fresh(), Some(2), later).await.unwrap(),
        Claim::UserAtLimit
    );

    let racer = user + 2;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let holds = holds.clone();
        let h = Hold {
            user_id: racer,
            ..mine(Uuid::new_v4())
        };
        tasks.push(tokio::spawn(async move {
            holds.try_hold(&h, Some(3), now).await.unwrap()
        }));
    }
    let mut stored = 0;
    for task in tasks {
        stored += usize::from(task.await.unwrap() == Claim::Stored);
    }
    assert_eq!(stored, 3);
}

/// A user id of its own per run: the Redis and PostgreSQL stores outlive a test.
fn rand_user() -> u32 {
    Uuid::new_v4().as_u128() as u32 >> 4
}

async fn in_process() -> Arc<dyn HoldStore> {
    Arc::new(InProcessHolds::new())
}

async fn redis() -> Arc<dyn HoldStore> {
    let url = common::redis_url();
    // A prefix per test keeps concurrent tests apart.
    let prefix = format!("evgate-test:{}:", Uuid::new_v4().simple());
    let conn = evgate_cluster::connect(&url)
        .await
        .expect("Redis reachable");
    Arc::new(evgate_cluster::RedisHolds::new(conn, &prefix))
}

/// PostgreSQL: the cluster's hold store (Redis or not).
async fn postgres() -> Arc<dyn HoldStore> {
    let url = common::fresh_pg_database().await;
    // Opening the store applies the migrations that create the table.
    evgate_store::open(&url).await.expect("migrations");
    Arc::new(
        evgate_store::PgHolds::connect(&url)
            .await
            .expect("PostgreSQL reachable"),
    )
}

macro_rules! hold_suite {
    ($($name:ident),+ $(,)?) => {
        mod in_process {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::in_process().await).await;
                }
            )+
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs Redis (EVGATE_TEST_REDIS_URL); run by .ci/run"]
                async fn $name() {
                    super::$name(super::redis().await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL; run by .ci/run"]
                async fn $name() {
                    super::$name(super::postgres().await).await;
                }
            )+
        }
    };
}

hold_suite!(
    overlapping_holds_are_refused,
    release_hands_the_hold_back_once,
    a_long_hold_blocks_slots_far_after_its_start,
    live_holds_in_a_window,
    expired_holds_are_taken_exactly_once,
    two_hundred_racing_holds_one_winner,
    a_user_is_capped_at_live_holds,
);
