//! Network-wide counts for metrics and the console.

use async_trait::async_trait;
use booking::Result;
use booking::model::ConnectorStatus;
use booking::store::Tallies;

use super::{Conn, Db, total};
use crate::SqlStore;
use crate::error::{bad_column, db_error};

pub(super) async fn connectors_by_status(conn: &mut Conn) -> Result<Vec<(ConnectorStatus, u64)>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("select status, count(*) from connectors group by status order by status")
            .fetch_all(conn)
            .await
            .map_err(db_error)?;
    rows.into_iter()
        .map(|(status, n)| {
            let status = status.parse().map_err(|e| bad_column("status", e))?;
            Ok((status, total(n)))
        })
        .collect()
}

async fn refunds_pending(conn: &mut Conn) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("select count(*) from refund_requests where state = 'PENDING'")
        .fetch_one(conn)
        .await
        .map_err(db_error)?;
    Ok(total(n))
}

#[async_trait]
impl Tallies for SqlStore<Db> {
    async fn connectors_by_status(&self) -> Result<Vec<(ConnectorStatus, u64)>> {
        connectors_by_status(&mut *self.conn().await?).await
    }

    async fn refunds_pending(&self) -> Result<u64> {
        refunds_pending(&mut *self.conn().await?).await
    }
}
