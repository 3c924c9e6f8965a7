//! Stations and connectors, with the connectors' live status.

use async_trait::async_trait;
use booking::Result;
use booking::geo::BoundingBox;
use booking::model::{Connector, ConnectorStatus, NewConnector, Page, Station};
use booking::store::{ReservationVoid, StationStore, StatusChange};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{
    Conn, Db, Row, all, bookings, commit, get, ms, one, page_binds, parse, parse_opt, total,
};
use crate::SqlStore;
use crate::error::db_error;
use crate::status_groups::{StatusGroups, StatusWrite};

pub(super) fn station_of(row: &Row) -> Result<Station> {
    Ok(Station {
        id: get(row, "id")?,
        name: get(row, "name")?,
        latitude: get(row, "latitude")?,
        longitude: get(row, "longitude")?,
        address: get(row, "address")?,
        created_at: get(row, "created_at")?,
    })
}

pub(super) fn connector_of(row: &Row) -> Result<Connector> {
    Ok(Connector {
        id: get(row, "id")?,
        station_id: get(row, "station_id")?,
        charger_id: get(row, "charger_id")?,
        evse_id: get(row, "evse_id")?,
        ocpp_connector_id: get(row, "ocpp_connector_id")?,
        connector_number: get(row, "connector_number")?,
        connector_type: get(row, "connector_type")?,
        power_kw: get(row, "power_kw")?,
        status: parse(row, "status")?,
        status_updated_at: get(row, "status_updated_at")?,
        current_booking_id: get(row, "current_booking_id")?,
        vendor_connector_id: get(row, "vendor_connector_id")?,
        last_known_status: parse_opt(row, "last_known_status")?,
        vendor_id: get(row, "vendor_id")?,
    })
}

/// Connectors in the order drivers read them: "2" before "10".
pub(super) const CONNECTOR_ORDER: &str =
    " order by station_id, length(connector_number), connector_number";

async fn insert_station(conn: &mut Conn, s: &Station) -> Result<()> {
    sqlx::query(
        "insert into stations (id, name, latitude, longitude, address, created_at) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(s.id)
    .bind(&s.name)
    .bind(s.latitude)
    .bind(s.longitude)
    .bind(&s.address)
    .bind(ms(s.created_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn station(conn: &mut Conn, id: Uuid) -> Result<Option<Station>> {
    let row = sqlx::query("select * from stations where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    one(row, station_of)
}

async fn stations(conn: &mut Conn, page: Page) -> Result<(Vec<Station>, u64)> {
    let (limit, offset) = page_binds(page);
    let rows = sqlx::query("select * from stations order by created_at, id limit $1 offset $2")
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
    let n: i64 = sqlx::query_scalar("select count(*) from stations")
        .fetch_one(conn)
        .await
        .map_err(db_error)?;
    Ok((all(&rows, station_of)?, total(n)))
}

async fn stations_in_box(conn: &mut Conn, b: BoundingBox) -> Result<Vec<Station>> {
    let sql = if b.crosses_antimeridian() {
        "select * from stations \
         where latitude between $1 and $2 and (longitude >= $3 or longitude <= $4)"
    } else {
        "select * from stations \
         where latitude between $1 and $2 and longitude between $3 and $4"
    };
    let rows = sqlx::query(sql)
        .bind(b.min_latitude)
        .bind(b.max_latitude)
        .bind(b.min_longitude)
        .bind(b.max_longitude)
        .fetch_all(conn)
        .await
        .map_err(db_error)?;
    all(&rows, station_of)
}

async fn connectors_of_stations(conn: &mut Conn, ids: &[Uuid]) -> Result<Vec<Connector>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new("select * from connectors where station_id in (");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(")");
    q.push(CONNECTOR_ORDER);
    let rows = q.build().fetch_all(conn).await.map_err(db_error)?;
    all(&rows, connector_of)
}

async fn insert_connector(conn: &mut Conn, c: &NewConnector) -> Result<Connector> {
    let row = sqlx::query(
        "insert into connectors (id, station_id, charger_id, evse_id, ocpp_connector_id, \
           connector_number, connector_type, power_kw, status, status_updated_at, created_at) \
         values ($1, $2, $3, $4, $5, \
           coalesce($6, cast((select count(*) + 1 from connectors where station_id = $2) as text)), \
           $7, $8, 'OFFLINE', $9, $9) \
         returning *",
    )
    .bind(c.id)
    .bind(c.station_id)
    .bind(c.charger_id)
    .bind(c.evse_id)
    .bind(c.ocpp_connector_id)
    .bind(&c.connector_number)
    .bind(&c.connector_type)
    .bind(c.power_kw)
    .bind(ms(c.created_at))
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    connector_of(&row)
}

pub(super) async fn connector(conn: &mut Conn, id: Uuid) -> Result<Option<Connector>> {
    let row = sqlx::query("select * from connectors where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    one(row, connector_of)
}

async fn connector_by_ocpp(
    conn: &mut Conn,
    charger_id: Uuid,
    evse_id: i32,
    connector_id: i32,
) -> Result<Option<Connector>> {
    let row = sqlx::query(
        "select * from connectors \
         where charger_id = $1 and evse_id = $2 and ocpp_connector_id = $3",
    )
    .bind(charger_id)
    .bind(evse_id)
    .bind(connector_id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, connector_of)
}

async fn connectors_of_charger(conn: &mut Conn, charger_id: Uuid) -> Result<Vec<Connector>> {
    let rows = sqlx::query(
        "select * from connectors where charger_id = $1 order by evse_id, ocpp_connector_id",
    )
    .bind(charger_id)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    all(&rows, connector_of)
}

/// Writes the status unless a newer report is on record. OFFLINE is the
/// gateway's own "not heard from it": any report from the device beats it,
/// even one stamped by a clock a little behind ours (and the first report
/// after provisioning, which starts OFFLINE).
async fn set_status(
    conn: &mut Conn,
    id: Uuid,
    status: ConnectorStatus,
    at: DateTime<Utc>,
) -> Result<Option<Connector>> {
    let row = sqlx::query(
        "update connectors set status = $2, status_updated_at = $3, last_known_status = null \
         where id = $1 and (status_updated_at <= $3 or status = 'OFFLINE') \
         returning *",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(ms(at))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, connector_of)
}

/// Writes a group of status reports in one statement (see
/// `status_groups`): each row as [`set_status`] would, and the rows
/// written. The group holds one report per connector.
async fn set_statuses(conn: &mut Conn, group: &[StatusWrite]) -> Result<Vec<Connector>> {
    let mut query = QueryBuilder::<Db>::new("with v (v_id, v_status, v_at) as (");
    query.push_values(group, |mut row, w| {
        row.push_bind(w.id)
            .push_bind(w.status.as_str())
            .push_bind(ms(w.at));
    });
    query.push(
        ") update connectors \
         set status = v.v_status, status_updated_at = v.v_at, last_known_status = null \
         from v where connectors.id = v.v_id \
         and (connectors.status_updated_at <= v.v_at or connectors.status = 'OFFLINE') \
         returning *",
    );
    // Not kept prepared: each group size is a statement text of its own,
    // and hundreds of them would push the hot statements out of the cache.
    let rows = query
        .build()
        .persistent(false)
        .fetch_all(conn)
        .await
        .map_err(db_error)?;
    all(&rows, connector_of)
}

/// Starts the task that writes this store's status reports in groups.
pub(crate) fn status_writer(writer: sqlx::Pool<Db>) -> StatusGroups {
    let (groups, mut queue) = StatusGroups::new();
    tokio::spawn(async move {
        while let Some(group) = queue.next_group().await {
            write_group(&writer, group).await;
        }
    });
    groups
}

/// One group, and each report's answer. A group that fails is written
/// again one report at a time, so each caller gets its own row's outcome.
async fn write_group(writer: &sqlx::Pool<Db>, group: Vec<StatusWrite>) {
    let one_by_one = |w: &StatusWrite| {
        let (id, status, at) = (w.id, w.status, w.at);
        async move {
            let mut conn = writer.acquire().await.map_err(db_error)?;
            set_status(&mut conn, id, status, at).await
        }
    };
    if group.len() > 1 {
        let written = async {
            let mut conn = writer.acquire().await.map_err(db_error)?;
            set_statuses(&mut conn, &group).await
        };
        match written.await {
            Ok(rows) => {
                let mut rows: std::collections::HashMap<Uuid, Connector> =
                    rows.into_iter().map(|c| (c.id, c)).collect();
                for w in group {
                    let _ = w.reply.send(Ok(rows.remove(&w.id)));
                }
                return;
            }
            Err(e) => tracing::warn!(error = %e, reports = group.len(),
                "a group of status reports failed; writing them one at a time"),
        }
    }
    for w in group {
        let outcome = one_by_one(&w).await;
        let _ = w.reply.send(outcome);
    }
}

async fn mark_charger_offline(
    conn: &mut Conn,
    charger_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Vec<Connector>> {
    let rows = sqlx::query(
        "update connectors \
         set last_known_status = status, status = 'OFFLINE', status_updated_at = $2 \
         where charger_id = $1 and status <> 'OFFLINE' \
         returning *",
    )
    .bind(charger_id)
    .bind(ms(at))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    all(&rows, connector_of)
}

#[async_trait]
impl StationStore for SqlStore<Db> {
    async fn ping(&self) -> Result<()> {
        sqlx::query("select 1")
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn insert_station(&self, station: &Station) -> Result<()> {
        insert_station(&mut *self.write().await?, station).await
    }

    async fn station(&self, id: Uuid) -> Result<Option<Station>> {
        station(&mut *self.conn().await?, id).await
    }

    async fn stations(&self, page: Page) -> Result<(Vec<Station>, u64)> {
        stations(&mut *self.conn().await?, page).await
    }

    async fn stations_in_box(&self, bbox: BoundingBox) -> Result<Vec<Station>> {
        stations_in_box(&mut *self.conn().await?, bbox).await
    }

    async fn connectors_of_stations(&self, station_ids: &[Uuid]) -> Result<Vec<Connector>> {
        connectors_of_stations(&mut *self.conn().await?, station_ids).await
    }

    async fn insert_connector(&self, connector: &NewConnector) -> Result<Connector> {
        insert_connector(&mut *self.write().await?, connector).await
    }

    async fn connector(&self, id: Uuid) -> Result<Option<Connector>> {
        connector(&mut *self.conn().await?, id).await
    }

    async fn connector_by_ocpp(
        &self,
        charger_id: Uuid,
        evse_id: i32,
        connector_id: i32,
    ) -> Result<Option<Connector>> {
        connector_by_ocpp(&mut *self.conn().await?, charger_id, evse_id, connector_id).await
    }

    async fn connectors_of_charger(&self, charger_id: Uuid) -> Result<Vec<Connector>> {
        connectors_of_charger(&mut *self.conn().await?, charger_id).await
    }

    async fn set_connector_status(
        &self,
        id: Uuid,
        status: ConnectorStatus,
        at: DateTime<Utc>,
        void: Option<ReservationVoid>,
    ) -> Result<Option<StatusChange>> {
        let Some(void) = void else {
            let written = self.statuses.write(id, status, at).await?;
            return Ok(written.map(|connector| StatusChange {
                connector,
                voided: Vec::new(),
            }));
        };
        let mut tx = self.begin().await?;
        let Some(connector) = set_status(&mut tx, id, status, at).await? else {
            return Ok(None);
        };
        let voided = bookings::void_reservations(&mut tx, id, void).await?;
        commit(tx).await?;
        Ok(Some(StatusChange { connector, voided }))
    }

    async fn mark_charger_offline(
        &self,
        charger_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Vec<Connector>> {
        mark_charger_offline(&mut *self.write().await?, charger_id, at).await
    }
}
