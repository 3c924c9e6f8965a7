//! evgate's storage adapters: every storage port of the booking core
//! ([`booking::store`]) and of the webhooks ([`webhooks::WebhookStore`]) on
//! SQLite (embedded, the default) and PostgreSQL (cluster mode).
//!
//! The SQL is written once, one module per aggregate under `src/sql/`, as
//! plain functions over a connection, so several compose inside one
//! transaction. That directory is compiled twice — inside [`sqlite`] and
//! inside [`postgres`], each naming its driver `Db` — so every query is
//! type-checked against the driver that runs it, without a macro around the
//! SQL and without per-function trait bounds over both drivers.

#![warn(missing_docs)]

mod error;
mod holds;
pub mod postgres;
pub mod sqlite;
mod status_groups;
#[cfg(feature = "test-util")]
pub mod test_util;

use std::sync::Arc;

use booking::Store;
use booking::store::{OperatorAccounts, OperatorViews, SiteChanges};
use csms::device_model::DeviceModelStore;
use ocpi::OcpiStore;
use webhooks::WebhookStore;

pub use error::OpenError;
pub use holds::PgHolds;

/// The SQL adapter of every port, over connection pools of one driver.
#[derive(Debug, Clone)]
pub struct SqlStore<DB: sqlx::Database> {
    /// Reads.
    readers: sqlx::Pool<DB>,
    /// Writes. On SQLite a pool of one connection: SQLite takes one writer
    /// at a time, and a second writer would wait in its busy handler,
    /// sleeping up to 100 ms a try, instead of in this pool's queue. On
    /// PostgreSQL the same pool as reads.
    writer: sqlx::Pool<DB>,
    /// Connector status reports on their way to the writer, in groups.
    statuses: status_groups::StatusGroups,
}

/// The embedded adapter.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;
/// The cluster adapter.
pub type PgStore = SqlStore<sqlx::Postgres>;

impl<DB: sqlx::Database> SqlStore<DB> {
    /// The writers' pool, for a caller that runs its own statements beside
    /// the ports' (the cluster's hold table, tests that inject faults).
    pub fn pool(&self) -> &sqlx::Pool<DB> {
        &self.writer
    }
}

/// Which adapter a `DATABASE_URL` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:…`: one file, everything in process.
    Sqlite,
    /// `postgres://…`: shared by a cluster's instances.
    Postgres,
}

impl Backend {
    /// `sqlite:…` or `postgres://…` / `postgresql://…`.
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

/// One database behind every storage port: the booking core's, the
/// webhooks', OCPI's, the OCPP device model's, and the operators' (accounts, the
/// console's reads, site edits). An `Arc<dyn Database>` coerces to any
/// single port.
pub trait Database:
    Store + WebhookStore + OcpiStore + DeviceModelStore + OperatorAccounts + OperatorViews + SiteChanges
{
}
impl<T> Database for T where
    T: Store
        + WebhookStore
        + OcpiStore
        + DeviceModelStore
        + OperatorAccounts
        + OperatorViews
        + SiteChanges
{
}

/// Opens the database the URL names and applies pending migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Database>, OpenError> {
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::open(url).await?),
        Backend::Postgres => Arc::new(PgStore::open(url).await?),
    })
}
