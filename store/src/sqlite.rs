//! SQLite: the embedded default. One file, created on first start, in WAL
//! mode so readers never wait for the writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{OpenError, SqlStore};

/// The driver the shared SQL in `sql/` is compiled against here.
type Db = sqlx::Sqlite;

// The same SQL text is compiled once per driver (the one compile-time
// difference is `Db`): intended, hence the lint allowance.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

impl SqlStore<Db> {
    /// Opens (creating if absent) the database at `url` and migrates it.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(OpenError::Connect)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL is durable across application crashes and
            // loses at most the last commits on power loss.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Another process on the same file (the `evgate` CLI) waits
            // rather than fails.
            .busy_timeout(Duration::from_secs(5));
        // SQLite takes one writer at a time: writes queue for this one
        // connection (see `SqlStore::writer`).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("../migrations/sqlite")
            .run(&writer)
            .await
            .map_err(OpenError::Migrate)?;
        // Readers never wait for the writer (WAL). Each connection is a
        // thread of its own: a few are enough, more only add context
        // switches. Read-only, so a write sent to the wrong pool fails loudly.
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(OpenError::Connect)?;
        let statuses = sql::status_writer(writer.clone());
        Ok(Self {
            readers,
            writer,
            statuses,
        })
    }
}
