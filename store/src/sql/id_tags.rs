//! Registered id tags.

use async_trait::async_trait;
use booking::Result;
use booking::model::{IdTag, Page};
use booking::store::IdTagStore;
use chrono::{DateTime, Utc};

use super::{Conn, Db, Row, all, get, ms, one, opt_ms, page_binds, parse, total};
use crate::SqlStore;
use crate::error::db_error;

fn id_tag_of(row: &Row) -> Result<IdTag> {
    Ok(IdTag {
        id_tag: get(row, "id_tag")?,
        status: parse(row, "status")?,
        expiry_date: get(row, "expiry_date")?,
        parent_id_tag: get(row, "parent_id_tag")?,
        user_id: get(row, "user_id")?,
    })
}

/// `replace`: an existing tag takes the new values instead of a `Conflict`.
async fn insert(conn: &mut Conn, t: &IdTag, now: DateTime<Utc>, replace: bool) -> Result<()> {
    let sql = if replace {
        "insert into id_tags (id_tag, status, expiry_date, parent_id_tag, user_id, created_at, \
           updated_at) \
         values ($1, $2, $3, $4, $5, $6, $6) \
         on conflict (id_tag) do update set status = excluded.status, \
           expiry_date = excluded.expiry_date, parent_id_tag = excluded.parent_id_tag, \
           user_id = excluded.user_id, updated_at = excluded.updated_at"
    } else {
        "insert into id_tags (id_tag, status, expiry_date, parent_id_tag, user_id, created_at, \
           updated_at) \
         values ($1, $2, $3, $4, $5, $6, $6)"
    };
    sqlx::query(sql)
        .bind(&t.id_tag)
        .bind(t.status.as_str())
        .bind(opt_ms(t.expiry_date))
        .bind(&t.parent_id_tag)
        .bind(t.user_id)
        .bind(ms(now))
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

async fn by_name(conn: &mut Conn, id_tag: &str) -> Result<Option<IdTag>> {
    let row = sqlx::query("select * from id_tags where id_tag = $1")
        .bind(id_tag)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    one(row, id_tag_of)
}

async fn page(conn: &mut Conn, page: Page) -> Result<(Vec<IdTag>, u64)> {
    let (limit, offset) = page_binds(page);
    let rows = sqlx::query("select * from id_tags order by id_tag limit $1 offset $2")
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
    let n: i64 = sqlx::query_scalar("select count(*) from id_tags")
        .fetch_one(conn)
        .await
        .map_err(db_error)?;
    Ok((all(&rows, id_tag_of)?, total(n)))
}

#[async_trait]
impl IdTagStore for SqlStore<Db> {
    async fn upsert_id_tag(&self, tag: &IdTag, now: DateTime<Utc>) -> Result<()> {
        insert(&mut *self.write().await?, tag, now, true).await
    }

    async fn id_tag(&self, id_tag: &str) -> Result<Option<IdTag>> {
        by_name(&mut *self.conn().await?, id_tag).await
    }

    async fn insert_id_tag(&self, tag: &IdTag, now: DateTime<Utc>) -> Result<()> {
        insert(&mut *self.write().await?, tag, now, false).await
    }

    async fn id_tags(&self, p: Page) -> Result<(Vec<IdTag>, u64)> {
        page(&mut *self.conn().await?, p).await
    }
}
