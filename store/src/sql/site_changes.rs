//! Edits and removals of stations, chargers and connectors. Removing one
//! takes what is under it (the schema cascades), unless bookings or
//! charging sessions refer to it: history stays.

use async_trait::async_trait;
use booking::model::{Connector, Station};
use booking::store::{Removed, SiteChanges, SiteThing};
use booking::{Error, Result};
use uuid::Uuid;

use super::stations::{connector_of, station_of};
use super::{Conn, Db, one, total};
use crate::SqlStore;
use crate::error::db_error;

/// The statements that judge and remove one kind of thing, each with the
/// thing's id as `$1`.
struct Removal {
    what: &'static str,
    /// The thing's station.
    station: &'static str,
    /// The identities of the chargers it takes (a connector takes none).
    chargers: Option<&'static str>,
    live: &'static str,
    history: &'static str,
    delete: &'static str,
}

fn removal(thing: SiteThing) -> (Removal, Uuid) {
    match thing {
        SiteThing::Station(id) => (
            Removal {
                what: "station",
                station: "select id from stations where id = $1",
                chargers: Some("select charge_point_id from chargers where station_id = $1"),
                live: "select count(*) from bookings where station_id = $1 \
                       and status in ('CONFIRMED', 'ACTIVE')",
                history: "select (select count(*) from bookings where station_id = $1) \
                          + (select count(*) from charging_sessions where connector_id in \
                             (select id from connectors where station_id = $1))",
                delete: "delete from stations where id = $1",
            },
            id,
        ),
        SiteThing::Charger(id) => (
            Removal {
                what: "charger",
                station: "select station_id from chargers where id = $1",
                chargers: Some("select charge_point_id from chargers where id = $1"),
                live: "select count(*) from bookings where connector_id in \
                       (select id from connectors where charger_id = $1) \
                       and status in ('CONFIRMED', 'ACTIVE')",
                history: "select (select count(*) from bookings where connector_id in \
                             (select id from connectors where charger_id = $1)) \
                          + (select count(*) from charging_sessions where charger_id = $1)",
                delete: "delete from chargers where id = $1",
            },
            id,
        ),
        SiteThing::Connector(id) => (
            Removal {
                what: "connector",
                station: "select station_id from connectors where id = $1",
                chargers: None,
                live: "select count(*) from bookings where connector_id = $1 \
                       and status in ('CONFIRMED', 'ACTIVE')",
                history: "select (select count(*) from bookings where connector_id = $1) \
                          + (select count(*) from charging_sessions where connector_id = $1)",
                delete: "delete from connectors where id = $1",
            },
            id,
        ),
    }
}

async fn count(conn: &mut Conn, sql: &'static str, id: Uuid) -> Result<u64> {
    let n: i64 = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(conn)
        .await
        .map_err(db_error)?;
    Ok(total(n))
}

#[async_trait]
impl SiteChanges for SqlStore<Db> {
    async fn update_station(&self, s: &Station) -> Result<Option<Station>> {
        let row = sqlx::query(
            "update stations set name = $2, latitude = $3, longitude = $4, address = $5 \
             where id = $1 returning *",
        )
        .bind(s.id)
        .bind(&s.name)
        .bind(s.latitude)
        .bind(s.longitude)
        .bind(s.address.as_deref())
        .fetch_optional(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        one(row, station_of)
    }

    async fn update_connector(
        &self,
        id: Uuid,
        connector_number: &str,
        connector_type: &str,
        power_kw: f64,
    ) -> Result<Option<Connector>> {
        let row = sqlx::query(
            "update connectors set connector_number = $2, connector_type = $3, power_kw = $4 \
             where id = $1 returning *",
        )
        .bind(id)
        .bind(connector_number)
        .bind(connector_type)
        .bind(power_kw)
        .fetch_optional(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        one(row, connector_of)
    }

    async fn delete_site_thing(&self, thing: SiteThing) -> Result<Removed> {
        let (r, id) = removal(thing);
        let mut tx = self.begin().await?;
        let station_id: Option<Uuid> = sqlx::query_scalar(r.station)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        let Some(station_id) = station_id else {
            return Err(Error::not_found(r.what, id));
        };
        let live = count(&mut tx, r.live, id).await?;
        if live > 0 {
            return Err(Error::Conflict(format!(
                "{live} confirmed or active booking(s) are on this {}: cancel them first",
                r.what
            )));
        }
        if count(&mut tx, r.history, id).await? > 0 {
            return Err(Error::Conflict(format!(
                "bookings or charging sessions refer to this {}: its history stays, so it \
                 cannot be removed",
                r.what
            )));
        }
        let charge_point_ids: Vec<String> = match r.chargers {
            Some(sql) => sqlx::query_scalar(sql)
                .bind(id)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?,
            None => Vec::new(),
        };
        sqlx::query(r.delete)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        super::commit(tx).await?;
        Ok(Removed {
            station_id,
            charge_point_ids,
        })
    }
}
