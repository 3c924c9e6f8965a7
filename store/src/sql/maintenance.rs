//! Firmware and log requests per charger, and the statuses chargers
//! reported: a short history of each.

use async_trait::async_trait;
use booking::Result;
use booking::model::{MaintenanceKind, MaintenanceRequest, MaintenanceStatus};
use booking::store::{MAINTENANCE_HISTORY, MaintenanceLog};
use uuid::Uuid;

use super::{Conn, Db, Row, all, commit, get, ms, one, parse};
use crate::SqlStore;
use crate::error::db_error;

fn request_of(row: &Row) -> Result<MaintenanceRequest> {
    Ok(MaintenanceRequest {
        charger_id: get(row, "charger_id")?,
        request_id: get(row, "request_id")?,
        kind: parse(row, "kind")?,
        action: get(row, "action")?,
        location: get(row, "location")?,
        upload_token: get(row, "upload_token")?,
        answer: get(row, "answer")?,
        requested_at: get(row, "requested_at")?,
    })
}

fn status_of(row: &Row) -> Result<MaintenanceStatus> {
    Ok(MaintenanceStatus {
        charger_id: get(row, "charger_id")?,
        kind: parse(row, "kind")?,
        status: get(row, "status")?,
        request_id: get(row, "request_id")?,
        reported_at: get(row, "reported_at")?,
    })
}

/// The charger's next request id: one above the highest it has had.
async fn next_request_id(conn: &mut Conn, charger_id: Uuid) -> Result<i32> {
    let row = sqlx::query(
        "select cast(coalesce(max(request_id), 0) as integer) as last \
         from maintenance_requests where charger_id = $1",
    )
    .bind(charger_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    let last: i32 = get(&row, "last")?;
    Ok(last.saturating_add(1))
}

async fn insert_request(conn: &mut Conn, r: &MaintenanceRequest) -> Result<()> {
    sqlx::query(
        "insert into maintenance_requests (charger_id, request_id, kind, action, location, \
           upload_token, answer, requested_at) values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.charger_id)
    .bind(r.request_id)
    .bind(r.kind.as_str())
    .bind(&r.action)
    .bind(&r.location)
    .bind(&r.upload_token)
    .bind(&r.answer)
    .bind(ms(r.requested_at))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Forgets all but the newest requests of the charger's kind.
async fn prune_requests(conn: &mut Conn, charger_id: Uuid, kind: MaintenanceKind) -> Result<()> {
    sqlx::query(
        "delete from maintenance_requests where charger_id = $1 and kind = $2 \
         and request_id not in (select request_id from maintenance_requests \
           where charger_id = $1 and kind = $2 order by request_id desc limit $3)",
    )
    .bind(charger_id)
    .bind(kind.as_str())
    .bind(i64::from(MAINTENANCE_HISTORY))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn prune_statuses(conn: &mut Conn, charger_id: Uuid, kind: MaintenanceKind) -> Result<()> {
    sqlx::query(
        "delete from maintenance_statuses where charger_id = $1 and kind = $2 \
         and id not in (select id from maintenance_statuses \
           where charger_id = $1 and kind = $2 order by id desc limit $3)",
    )
    .bind(charger_id)
    .bind(kind.as_str())
    .bind(i64::from(MAINTENANCE_HISTORY))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl MaintenanceLog for SqlStore<Db> {
    async fn add_maintenance_request(
        &self,
        request: &MaintenanceRequest,
    ) -> Result<MaintenanceRequest> {
        let mut tx = self.begin().await?;
        let stored = MaintenanceRequest {
            request_id: next_request_id(&mut tx, request.charger_id).await?,
            ..request.clone()
        };
        insert_request(&mut tx, &stored).await?;
        prune_requests(&mut tx, stored.charger_id, stored.kind).await?;
        commit(tx).await?;
        Ok(stored)
    }

    async fn answer_maintenance_request(
        &self,
        charger_id: Uuid,
        request_id: i32,
        answer: &str,
    ) -> Result<()> {
        sqlx::query(
            "update maintenance_requests set answer = $3 \
             where charger_id = $1 and request_id = $2",
        )
        .bind(charger_id)
        .bind(request_id)
        .bind(answer)
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn maintenance_requests(
        &self,
        charger_id: Uuid,
        kind: MaintenanceKind,
        limit: u32,
    ) -> Result<Vec<MaintenanceRequest>> {
        let rows = sqlx::query(
            "select * from maintenance_requests where charger_id = $1 and kind = $2 \
             order by request_id desc limit $3",
        )
        .bind(charger_id)
        .bind(kind.as_str())
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        all(&rows, request_of)
    }

    async fn maintenance_request_by_token(
        &self,
        token: &str,
    ) -> Result<Option<MaintenanceRequest>> {
        let row = sqlx::query("select * from maintenance_requests where upload_token = $1")
            .bind(token)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        one(row, request_of)
    }

    async fn add_maintenance_status(&self, s: &MaintenanceStatus) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "insert into maintenance_statuses (charger_id, kind, status, request_id, reported_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(s.charger_id)
        .bind(s.kind.as_str())
        .bind(&s.status)
        .bind(s.request_id)
        .bind(ms(s.reported_at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        prune_statuses(&mut tx, s.charger_id, s.kind).await?;
        commit(tx).await
    }

    async fn maintenance_statuses(
        &self,
        charger_id: Uuid,
        kind: MaintenanceKind,
    ) -> Result<Vec<MaintenanceStatus>> {
        let rows = sqlx::query(
            "select * from maintenance_statuses where charger_id = $1 and kind = $2 \
             order by id desc",
        )
        .bind(charger_id)
        .bind(kind.as_str())
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        all(&rows, status_of)
    }
}
