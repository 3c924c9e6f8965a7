//! What the operator console reads across the network.

use async_trait::async_trait;
use booking::Result;
use booking::model::{BookingStatus, Charger, ChargingSession, Connector, OcppVersion, Page};
use booking::store::{NetworkOverview, OperatorViews};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{Conn, Db, all, ms, page_binds, total};
use crate::SqlStore;
use crate::error::{bad_column, db_error};

/// `(word, count)` rows of a `group by`, the word parsed.
fn counted<T>(rows: Vec<(String, i64)>, column: &str) -> Result<Vec<(T, u64)>>
where
    T: std::str::FromStr<Err = String>,
{
    rows.into_iter()
        .map(|(word, n)| {
            let value = word.parse().map_err(|e| bad_column(column, e))?;
            Ok((value, total(n)))
        })
        .collect()
}

async fn overview(
    conn: &mut Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<NetworkOverview> {
    let chargers: i64 = sqlx::query_scalar("select count(*) from chargers")
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
    let online = sqlx::query_as(
        "select ocpp_version, count(*) from chargers \
         where online and ocpp_version is not null group by ocpp_version order by ocpp_version",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let sessions: i64 =
        sqlx::query_scalar("select count(*) from charging_sessions where ended_at is null")
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
    let bookings = sqlx::query_as(
        "select status, count(*) from bookings where start_ts >= $1 and start_ts < $2 \
         group by status order by status",
    )
    .bind(ms(from))
    .bind(ms(to))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(NetworkOverview {
        chargers: total(chargers),
        online_by_version: counted::<OcppVersion>(online, "ocpp_version")?,
        connectors_by_status: super::tallies::connectors_by_status(conn).await?,
        sessions_active: total(sessions),
        bookings_by_status: counted::<BookingStatus>(bookings, "status")?,
    })
}

async fn station_connectors(
    conn: &mut Conn,
    station_id: Uuid,
    page: Page,
) -> Result<(Vec<Connector>, u64)> {
    let (limit, offset) = page_binds(page);
    // Safe: two constants, no input.
    let sql = format!(
        "select * from connectors where station_id = $1{} limit $2 offset $3",
        super::stations::CONNECTOR_ORDER
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(station_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
    let n: i64 = sqlx::query_scalar("select count(*) from connectors where station_id = $1")
        .bind(station_id)
        .fetch_one(conn)
        .await
        .map_err(db_error)?;
    Ok((all(&rows, super::stations::connector_of)?, total(n)))
}

async fn sessions_between(
    conn: &mut Conn,
    connector_ids: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ChargingSession>> {
    if connector_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new("select * from charging_sessions where connector_id in (");
    let mut list = q.separated(", ");
    for id in connector_ids {
        list.push_bind(*id);
    }
    q.push(") and started_at < ")
        .push_bind(ms(to))
        .push(" and (ended_at is null or ended_at > ")
        .push_bind(ms(from))
        .push(") order by started_at");
    let rows = q
        .build()
        .persistent(false)
        .fetch_all(conn)
        .await
        .map_err(db_error)?;
    all(&rows, super::sessions::session_of)
}

#[async_trait]
impl OperatorViews for SqlStore<Db> {
    async fn network_overview(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<NetworkOverview> {
        overview(&mut *self.conn().await?, from, to).await
    }

    async fn find_chargers(&self, search: Option<&str>, page: Page) -> Result<(Vec<Charger>, u64)> {
        super::chargers::page(&mut *self.conn().await?, search, page).await
    }

    async fn station_connectors(
        &self,
        station_id: Uuid,
        page: Page,
    ) -> Result<(Vec<Connector>, u64)> {
        station_connectors(&mut *self.conn().await?, station_id, page).await
    }

    async fn sessions_between(
        &self,
        connector_ids: &[Uuid],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ChargingSession>> {
        sessions_between(&mut *self.conn().await?, connector_ids, from, to).await
    }
}
