//! SQL adapters of the booking core's [`Store`] port: SQLite (embedded, the
//! default) and PostgreSQL (cluster mode). Both run the same SQL, written
//! once in [`sql`], and the same test suite (`tests/store.rs`).

// `sql` defines the macro the adapters expand, so it comes first.
#[macro_use]
mod sql;
#[macro_use]
mod webhooks_sql;
mod errors;
mod postgres;
mod sqlite;

use std::sync::Arc;

use booking::Store;
use webhooks::WebhookStore;

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

/// One database behind every storage port: the booking core's and the
/// webhooks'.
pub trait Database: Store + WebhookStore {}
impl<T: Store + WebhookStore> Database for T {}

/// Opens the database the URL names and applies pending migrations.
pub async fn open_database(url: &str) -> Result<Arc<dyn Database>, OpenError> {
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::open(url).await?),
        Backend::Postgres => Arc::new(PgStore::open(url).await?),
    })
}

/// The booking core's store on the database the URL names.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, OpenError> {
    Ok(open_database(url).await?)
}
