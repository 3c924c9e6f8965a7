//! Tariffs and their assignments to stations and connectors.

use async_trait::async_trait;
use booking::Result;
use booking::model::Page;
use booking::store::TariffStore;
use booking::tariffs::{Tariff, TariffScope};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, Row, all, get, ms, one, page_binds, total};
use crate::SqlStore;
use crate::error::db_error;

fn tariff_of(row: &Row) -> Result<Tariff> {
    Ok(Tariff {
        id: get(row, "id")?,
        name: get(row, "name")?,
        currency: get(row, "currency")?,
        price_per_kwh: get(row, "price_per_kwh")?,
        price_per_minute_charging: get(row, "price_per_minute_charging")?,
        price_per_minute_idle: get(row, "price_per_minute_idle")?,
        session_fee: get(row, "session_fee")?,
        tax_rate_percent: get(row, "tax_rate_percent")?,
        created_at: get(row, "created_at")?,
    })
}

fn scope_of(scope: TariffScope) -> (&'static str, Uuid) {
    match scope {
        TariffScope::Station(id) => ("station", id),
        TariffScope::Connector(id) => ("connector", id),
    }
}

#[async_trait]
impl TariffStore for SqlStore<Db> {
    async fn insert_tariff(&self, t: &Tariff) -> Result<()> {
        sqlx::query(
            "insert into tariffs (id, name, currency, price_per_kwh, price_per_minute_charging, \
               price_per_minute_idle, session_fee, tax_rate_percent, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(t.id)
        .bind(&t.name)
        .bind(&t.currency)
        .bind(t.price_per_kwh)
        .bind(t.price_per_minute_charging)
        .bind(t.price_per_minute_idle)
        .bind(t.session_fee)
        .bind(t.tax_rate_percent)
        .bind(ms(t.created_at))
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn update_tariff(&self, t: &Tariff) -> Result<bool> {
        let done = sqlx::query(
            "update tariffs set name = $2, currency = $3, price_per_kwh = $4, \
               price_per_minute_charging = $5, price_per_minute_idle = $6, session_fee = $7, \
               tax_rate_percent = $8 where id = $1",
        )
        .bind(t.id)
        .bind(&t.name)
        .bind(&t.currency)
        .bind(t.price_per_kwh)
        .bind(t.price_per_minute_charging)
        .bind(t.price_per_minute_idle)
        .bind(t.session_fee)
        .bind(t.tax_rate_percent)
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn tariff(&self, id: Uuid) -> Result<Option<Tariff>> {
        let row = sqlx::query("select * from tariffs where id = $1")
            .bind(id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        one(row, tariff_of)
    }

    async fn tariffs(&self, page: Page) -> Result<(Vec<Tariff>, u64)> {
        let (limit, offset) = page_binds(page);
        let mut conn = self.conn().await?;
        let rows = sqlx::query("select * from tariffs order by name, id limit $1 offset $2")
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        let n: i64 = sqlx::query_scalar("select count(*) from tariffs")
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
        Ok((all(&rows, tariff_of)?, total(n)))
    }

    async fn assign_tariff(
        &self,
        scope: TariffScope,
        tariff: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (kind, target) = scope_of(scope);
        let mut conn = self.write().await?;
        match tariff {
            Some(tariff) => sqlx::query(
                "insert into tariff_assignments (scope, target_id, tariff_id, assigned_at) \
                 values ($1, $2, $3, $4) \
                 on conflict (scope, target_id) do update set tariff_id = excluded.tariff_id, \
                   assigned_at = excluded.assigned_at",
            )
            .bind(kind)
            .bind(target)
            .bind(tariff)
            .bind(ms(now)),
            None => {
                sqlx::query("delete from tariff_assignments where scope = $1 and target_id = $2")
                    .bind(kind)
                    .bind(target)
            }
        }
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn tariff_for_connector(&self, connector_id: Uuid) -> Result<Option<Tariff>> {
        let row = sqlx::query(
            "select t.* from tariff_assignments a join tariffs t on t.id = a.tariff_id \
             where (a.scope = 'connector' and a.target_id = $1) \
                or (a.scope = 'station' and a.target_id = \
                    (select station_id from connectors where id = $1)) \
             order by case a.scope when 'connector' then 0 else 1 end \
             limit 1",
        )
        .bind(connector_id)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        one(row, tariff_of)
    }
}
