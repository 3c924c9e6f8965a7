//! Throwaway databases for tests, here and in other crates (feature
//! `test-util`). The stand-in for a database is the real adapter on a
//! scratch SQLite file: cheap enough for every test, and no second
//! implementation that could disagree with the one that ships.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use crate::{Database, PgStore, SqliteStore};

/// Where the PostgreSQL tests create their throwaway databases.
pub fn pg_admin_url() -> String {
    std::env::var("EVGATE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A new, empty PostgreSQL database (named `evgate_test_…`; `.ci/run` drops
/// them) and its URL.
pub async fn fresh_pg_url() -> String {
    use sqlx::Connection;
    let admin = pg_admin_url();
    let name = format!("evgate_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL reachable at EVGATE_TEST_PG_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    format!("{base}/{name}")
}

/// A SQLite database in a temporary directory that lives as long as the
/// returned guard.
pub fn fresh_sqlite_url() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("evgate.db").display());
    (url, dir)
}

/// A migrated, empty database and what must live as long as it.
#[derive(Debug)]
pub struct Scratch<S> {
    /// The opened store.
    pub store: S,
    /// Its URL, for a second connection (a process under test).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A scratch SQLite store.
pub async fn sqlite() -> Scratch<SqliteStore> {
    let (url, dir) = fresh_sqlite_url();
    let store = SqliteStore::open(&url).await.expect("open sqlite");
    Scratch {
        store,
        url,
        _dir: Some(dir),
    }
}

/// A scratch PostgreSQL store (needs a server at `EVGATE_TEST_PG_URL`).
pub async fn postgres() -> Scratch<PgStore> {
    let url = fresh_pg_url().await;
    let store = PgStore::open(&url).await.expect("open postgres");
    Scratch {
        store,
        url,
        _dir: None,
    }
}

/// A scratch database of the named backend ("sqlite" or "postgres") behind
/// every port.
pub async fn database(backend: &str) -> Scratch<Arc<dyn Database>> {
    match backend {
        "sqlite" => {
            let s = sqlite().await;
            Scratch {
                store: Arc::new(s.store),
                url: s.url,
                _dir: s._dir,
            }
        }
        "postgres" => {
            let s = postgres().await;
            Scratch {
                store: Arc::new(s.store),
                url: s.url,
                _dir: None,
            }
        }
        other => panic!("unknown backend {other}"),
    }
}
