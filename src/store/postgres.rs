//! PostgreSQL: the source of truth in cluster mode.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

use super::OpenError;

/// The booking core's store on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: sqlx::PgPool,
}

impl PgStore {
    /// Connects to `url` and migrates the database. Several instances may
    /// start at once: sqlx serialises migrations with an advisory lock.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(OpenError::Migrate)?;
        Ok(Self { pool })
    }
}

sql_store!(PgStore, sqlx::Postgres);
sql_webhook_store!(PgStore, sqlx::Postgres);
