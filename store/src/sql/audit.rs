//! The audit log of operator actions.

use async_trait::async_trait;
use booking::Result;
use booking::audit::AuditEntry;
use booking::model::Page;
use booking::store::AuditLog;

use super::{Conn, Db, Row, all, get, ms, page_binds, total};
use crate::SqlStore;
use crate::error::{bad_column, db_error};

fn audit_of(row: &Row) -> Result<AuditEntry> {
    let details: String = get(row, "details")?;
    Ok(AuditEntry {
        id: get(row, "id")?,
        at: get(row, "at")?,
        actor: get(row, "actor")?,
        action: get(row, "action")?,
        target: get(row, "target")?,
        details: serde_json::from_str(&details).map_err(|e| bad_column("details", e))?,
        outcome: get(row, "outcome")?,
    })
}

async fn insert(conn: &mut Conn, e: &AuditEntry) -> Result<()> {
    sqlx::query(
        "insert into audit_log (at, actor, action, target, details, outcome) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ms(e.at))
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.target)
    .bind(e.details.to_string())
    .bind(&e.outcome)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// A NULL target switches the filter off.
async fn page(
    conn: &mut Conn,
    page: booking::model::Page,
    target: Option<&str>,
) -> Result<(Vec<AuditEntry>, u64)> {
    let (limit, offset) = page_binds(page);
    let rows = sqlx::query(
        "select * from audit_log where cast($3 as text) is null or target = $3 \
         order by id desc limit $1 offset $2",
    )
    .bind(limit)
    .bind(offset)
    .bind(target)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let n: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where cast($1 as text) is null or target = $1",
    )
    .bind(target)
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    Ok((all(&rows, audit_of)?, total(n)))
}

#[async_trait]
impl AuditLog for SqlStore<Db> {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<()> {
        insert(&mut *self.write().await?, entry).await
    }

    async fn audit_entries(&self, p: Page, target: Option<&str>) -> Result<(Vec<AuditEntry>, u64)> {
        page(&mut *self.conn().await?, p, target).await
    }
}
