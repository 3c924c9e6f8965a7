//! SQL adapters of the booking core's [`Store`] port: SQLite (embedded, the
//! default) and PostgreSQL (cluster mode). Both run the same SQL, written
//! once in [`sql`], and the same test suite (`tests/store.rs`).

// `sql` defines the macro the adapters expand, so it comes first.
#[macro_use]
mod sql;
mod errors;
mod postgres;
mod sqlite;

use std::sync::Arc;

use booking::Store;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("must start with sqlite: or postgres:// (got {0:?})")]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Which adapter a `DATABASE_URL` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, OpenError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(OpenError::UnsupportedUrl(url.to_owned()))
        }
    }
}

/// Opens the store the URL names and applies pending migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, OpenError> {
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::open(url).await?),
        Backend::Postgres => Arc::new(PgStore::open(url).await?),
    })
}
