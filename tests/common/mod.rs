//! Fixtures shared by the integration tests: fresh stores on both backends.
#![allow(dead_code)]

use std::sync::Arc;

use booking::Store;

/// Where the PostgreSQL tests create their throwaway databases.
pub fn pg_admin_url() -> String {
    std::env::var("EVGATE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A new, empty PostgreSQL database (named `evgate_test_…`; `.ci/run` drops
/// them) and its URL.
pub async fn fresh_pg_database() -> String {
    use sqlx::Connection;
    let admin = pg_admin_url();
    let name = format!("evgate_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL reachable at EVGATE_TEST_PG_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
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

/// A store of the named backend, plus whatever must live as long as it.
pub async fn store(backend: &str) -> (Arc<dyn Store>, Option<tempfile::TempDir>) {
    match backend {
        "sqlite" => {
            let (url, dir) = fresh_sqlite_url();
            (evgate::store::open(&url).await.expect("open sqlite"), Some(dir))
        }
        "postgres" => {
            let url = fresh_pg_database().await;
            (evgate::store::open(&url).await.expect("open postgres"), None)
        }
        other => panic!("unknown backend {other}"),
    }
}
