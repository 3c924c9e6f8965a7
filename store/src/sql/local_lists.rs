//! Chargers' local authorization lists: one row per charger for its version
//! and what it said, one per entry (tombstones included).

use async_trait::async_trait;
use booking::Result;
use booking::model::{ListChange, ListEntry, ListSync, LocalList};
use booking::store::LocalLists;
use uuid::Uuid;

use super::{Conn, Db, Row, all, commit, get, ms, opt_ms};
use crate::SqlStore;
use crate::error::db_error;

fn entry_of(row: &Row) -> Result<ListEntry> {
    Ok(ListEntry {
        id_tag: get(row, "id_tag")?,
        changed_in: get(row, "changed_in")?,
        removed: get(row, "removed")?,
        reservation_id: get(row, "reservation_id")?,
        until: get(row, "until")?,
    })
}

fn sync_of(row: &Row) -> Result<ListSync> {
    Ok(ListSync {
        charger_version: get(row, "charger_version")?,
        outcome: get(row, "outcome")?,
        at: get(row, "synced_at")?,
        list_enabled: get(row, "list_enabled")?,
        cache_enabled: get(row, "cache_enabled")?,
        max_items: get::<Option<i32>>(row, "max_items")?.and_then(|n| u32::try_from(n).ok()),
    })
}

async fn read(conn: &mut Conn, charger_id: Uuid) -> Result<LocalList> {
    let mut list = LocalList::empty(charger_id);
    let head = sqlx::query("select * from local_lists where charger_id = $1")
        .bind(charger_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?;
    if let Some(row) = head {
        list.version = get(&row, "version")?;
        list.sync = sync_of(&row)?;
    }
    let rows =
        sqlx::query("select * from local_list_entries where charger_id = $1 order by id_tag")
            .bind(charger_id)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
    list.entries = all(&rows, entry_of)?;
    Ok(list)
}

#[async_trait]
impl LocalLists for SqlStore<Db> {
    async fn local_list(&self, charger_id: Uuid) -> Result<LocalList> {
        read(&mut *self.conn().await?, charger_id).await
    }

    async fn local_list_version(&self, charger_id: Uuid) -> Result<i32> {
        let row = sqlx::query("select version from local_lists where charger_id = $1")
            .bind(charger_id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        row.map_or(Ok(0), |r| get(&r, "version"))
    }

    async fn change_local_list(&self, charger_id: Uuid, change: &ListChange) -> Result<LocalList> {
        let mut tx = self.begin().await?;
        // Written first: on PostgreSQL the row lock makes concurrent
        // changes of one charger's list take turns.
        sqlx::query(
            "insert into local_lists (charger_id, version) values ($1, 0) \
             on conflict (charger_id) do update set version = local_lists.version",
        )
        .bind(charger_id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let mut list = read(&mut tx, charger_id).await?;
        let touched = list.apply(change);
        if touched.is_empty() {
            return Ok(list);
        }
        for entry in list.entries.iter().filter(|e| touched.contains(&e.id_tag)) {
            sqlx::query(
                "insert into local_list_entries \
                   (charger_id, id_tag, changed_in, removed, reservation_id, until) \
                 values ($1, $2, $3, $4, $5, $6) \
                 on conflict (charger_id, id_tag) do update set changed_in = excluded.changed_in, \
                   removed = excluded.removed, reservation_id = excluded.reservation_id, \
                   until = excluded.until",
            )
            .bind(charger_id)
            .bind(&entry.id_tag)
            .bind(entry.changed_in)
            .bind(entry.removed)
            .bind(entry.reservation_id)
            .bind(opt_ms(entry.until))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        sqlx::query("update local_lists set version = $2 where charger_id = $1")
            .bind(charger_id)
            .bind(list.version)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        commit(tx).await?;
        Ok(list)
    }

    async fn chargers_listing(&self, id_tag: &str) -> Result<Vec<Uuid>> {
        let rows = sqlx::query(
            "select charger_id from local_list_entries where id_tag = $1 and removed = $2 \
             order by charger_id",
        )
        .bind(id_tag)
        .bind(false)
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        rows.iter().map(|r| get(r, "charger_id")).collect()
    }

    async fn record_local_list_sync(&self, charger_id: Uuid, sync: &ListSync) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "insert into local_lists (charger_id, version, charger_version, outcome, synced_at, \
               list_enabled, cache_enabled, max_items) \
             values ($1, 0, $2, $3, $4, $5, $6, $7) \
             on conflict (charger_id) do update set charger_version = excluded.charger_version, \
               outcome = excluded.outcome, synced_at = excluded.synced_at, \
               list_enabled = excluded.list_enabled, cache_enabled = excluded.cache_enabled, \
               max_items = excluded.max_items",
        )
        .bind(charger_id)
        .bind(sync.charger_version)
        .bind(&sync.outcome)
        .bind(sync.at.map(ms))
        .bind(sync.list_enabled)
        .bind(sync.cache_enabled)
        .bind(sync.max_items.map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        // The charger holds the latest version: tombstones are done.
        sqlx::query(
            "delete from local_list_entries where charger_id = $1 and removed = $2 and \
             exists (select 1 from local_lists l where l.charger_id = $1 \
                     and l.charger_version = l.version)",
        )
        .bind(charger_id)
        .bind(true)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        commit(tx).await
    }
}
