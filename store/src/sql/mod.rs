//! The SQL both backends run, one module per aggregate, written once.
//!
//! This directory is compiled twice: as `crate::sqlite::sql` and as
//! `crate::postgres::sql`; `Db` is the enclosing module's driver. Each
//! aggregate module holds plain functions over a connection (`&mut Conn`:
//! a pooled connection or an open transaction, so they compose), then the
//! port it implements on [`SqlStore`]. Queries use only syntax both servers
//! share (`$n` parameters, `returning`, `cast`, `on conflict`). Rows are
//! read by column name, so `select *` cannot mix columns up.

mod audit;
mod bookings;
mod chargers;
mod device_model;
mod displays;
mod id_tags;
mod local_lists;
mod maintenance;
mod ocpi;
mod operators;
mod overview;
mod refunds;
mod security;
mod sessions;
mod site_changes;
mod smart_charging;
mod stations;
mod tallies;
mod tariffs;
mod webhooks;

pub(super) use stations::status_writer;

use booking::model::Page;
use booking::{Error, Result};
use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::Db;
use crate::SqlStore;
use crate::error::{bad_column, db_error};

/// What every query function runs on.
type Conn = <Db as sqlx::Database>::Connection;
type Row = <Db as sqlx::Database>::Row;

impl SqlStore<Db> {
    /// A connection for reads.
    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Db>> {
        self.readers.acquire().await.map_err(db_error)
    }

    /// A connection for one statement that writes: on SQLite the one
    /// writer's, so writers queue here in order instead of sleeping in
    /// SQLite's busy handler.
    async fn write(&self) -> Result<sqlx::pool::PoolConnection<Db>> {
        self.writer.acquire().await.map_err(db_error)
    }

    /// A transaction for a change of several rows, on the writer's
    /// connection: dropped without [`commit`], it rolls back.
    async fn begin(&self) -> Result<sqlx::Transaction<'static, Db>> {
        self.writer.begin().await.map_err(db_error)
    }
}

async fn commit(tx: sqlx::Transaction<'static, Db>) -> Result<()> {
    tx.commit().await.map_err(db_error)
}

fn get<'r, T>(row: &'r Row, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(column).map_err(db_error)
}

/// A text column holding one of the domain's vocabularies.
fn parse<T>(row: &Row, column: &str) -> Result<T>
where
    T: std::str::FromStr<Err = String>,
{
    get::<String>(row, column)?
        .parse()
        .map_err(|e| bad_column(column, e))
}

fn parse_opt<T>(row: &Row, column: &str) -> Result<Option<T>>
where
    T: std::str::FromStr<Err = String>,
{
    get::<Option<String>>(row, column)?
        .map(|s| s.parse().map_err(|e| bad_column(column, e)))
        .transpose()
}

/// Timestamps are stored with millisecond precision on both backends.
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    booking::clock::to_millis(t)
}

fn opt_ms(t: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    t.map(ms)
}

/// `limit` and `offset` as bind values.
fn page_binds(page: Page) -> (i64, i64) {
    (
        i64::from(page.limit),
        i64::try_from(page.offset).unwrap_or(i64::MAX),
    )
}

/// The result of a `count(*)`.
fn total(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Maps every row, failing on the first that does not decode.
fn all<T>(rows: &[Row], of: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(of).collect()
}

/// Maps an optional row.
fn one<T>(row: Option<Row>, of: fn(&Row) -> Result<T>) -> Result<Option<T>> {
    row.as_ref().map(of).transpose()
}

/// An id that must exist, or the port's `NotFound`.
fn found<T>(value: Option<T>, what: &'static str, id: impl ToString) -> Result<T> {
    value.ok_or_else(|| Error::not_found(what, id))
}
