//! PostgreSQL: the source of truth in cluster mode.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

use crate::{OpenError, SqlStore};

/// The driver the shared SQL in `sql/` is compiled against here.
type Db = sqlx::Postgres;

// The same SQL text is compiled once per driver (the one compile-time
// difference is `Db`): intended, hence the lint allowance.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

impl SqlStore<Db> {
    /// Connects to `url` and migrates the database. Several instances may
    /// start at once: sqlx serialises migrations with an advisory lock.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("../migrations/postgres")
            .run(&pool)
            .await
            .map_err(OpenError::Migrate)?;
        Ok(Self {
            statuses: sql::status_writer(pool.clone()),
            writer: pool.clone(),
            readers: pool,
        })
    }
}
