//! OCPI: partners, the stations published to them, the pushes owed.

use async_trait::async_trait;
use booking::Result;
use booking::model::Station;
use chrono::{DateTime, Utc};
use ocpi::{
    AuthMethod, Authorized, Backlog, LocationDetails, OcpiBooking, OcpiStore, OcpiVersion, Partner,
    Push, StoredToken, TokenKey,
};
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::stations::station_of;
use super::{Conn, Db, Row, all, get, ms, one, parse, parse_opt};
use crate::SqlStore;
use crate::error::{bad_column, db_error};

fn json_column<T: serde::de::DeserializeOwned>(row: &Row, column: &str) -> Result<T> {
    serde_json::from_str(&get::<String>(row, column)?).map_err(|e| bad_column(column, e))
}

fn partner_of(row: &Row) -> Result<Partner> {
    let version = get::<Option<String>>(row, "version")?
        .map(|v| OcpiVersion::parse(&v).ok_or_else(|| bad_column("version", v)))
        .transpose()?;
    Ok(Partner {
        id: get(row, "id")?,
        name: get(row, "name")?,
        state: parse(row, "state")?,
        token_hash: get(row, "token_hash")?,
        their_token: get(row, "their_token")?,
        versions_url: get(row, "versions_url")?,
        version,
        endpoints: json_column(row, "endpoints")?,
        roles: json_column(row, "roles")?,
        country_code: get(row, "country_code")?,
        party_id: get(row, "party_id")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn published_of(row: &Row) -> Result<(Station, LocationDetails)> {
    let station = station_of(row)?;
    let details = LocationDetails {
        station_id: station.id,
        city: get(row, "city")?,
        postal_code: get(row, "postal_code")?,
        country: get(row, "country")?,
        time_zone: get(row, "time_zone")?,
        publish: get(row, "publish")?,
        updated_at: get(row, "ocpi_updated_at")?,
    };
    Ok((station, details))
}

fn push_of(row: &Row) -> Result<Push> {
    Ok(Push {
        partner_id: get(row, "partner_id")?,
        module: parse(row, "module")?,
        object_id: get(row, "object_id")?,
        location_id: get(row, "location_id")?,
        body: json_column(row, "body")?,
        last_updated: get(row, "last_updated")?,
        attempts: get(row, "attempts")?,
        next_attempt: get(row, "next_attempt")?,
    })
}

/// Published stations with their OCPI details, then `$tail`.
macro_rules! published {
    ($tail:literal) => {
        concat!(
            "select s.*, l.city, l.postal_code, l.country, l.time_zone, l.publish, \
             l.updated_at as ocpi_updated_at from ocpi_locations l \
             join stations s on s.id = l.station_id where l.publish ",
            $tail
        )
    };
}

fn ocpi_booking_of(row: &Row) -> Result<OcpiBooking> {
    Ok(OcpiBooking {
        booking_id: get(row, "booking_id")?,
        partner_id: get(row, "partner_id")?,
        request_id: get(row, "request_id")?,
        authorization_reference: get(row, "authorization_reference")?,
        tokens: json_column(row, "tokens")?,
        requests: json_column(row, "requests")?,
        canceled: get::<Option<String>>(row, "canceled")?
            .map(|c| serde_json::from_str(&c).map_err(|e| bad_column("canceled", e)))
            .transpose()?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn token_of(row: &Row) -> Result<(TokenKey, StoredToken)> {
    let key = TokenKey {
        country_code: get(row, "country_code")?,
        party_id: get(row, "party_id")?,
        uid: get(row, "uid")?,
        token_type: get(row, "token_type")?,
    };
    let token = StoredToken {
        partner_id: get(row, "partner_id")?,
        body: json_column(row, "body")?,
        last_updated: get(row, "last_updated")?,
        authorized: match (
            get::<Option<DateTime<Utc>>>(row, "authorized_at")?,
            parse_opt::<AuthMethod>(row, "auth_method")?,
        ) {
            (Some(at), Some(method)) => Some(Authorized {
                method,
                reference: get(row, "authorization_reference")?,
                at,
            }),
            _ => None,
        },
    };
    Ok((key, token))
}

/// Narrows published Locations to those whose last change — details,
/// station, or any connector's status — falls in `[from, to)`.
fn push_window(q: &mut QueryBuilder<Db>, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) {
    if let Some(f) = from {
        q.push(" and (l.updated_at >= ")
            .push_bind(ms(f))
            .push(" or s.created_at >= ")
            .push_bind(ms(f))
            .push(" or exists (select 1 from connectors c where c.station_id = s.id and c.status_updated_at >= ")
            .push_bind(ms(f))
            .push("))");
    }
    if let Some(t) = to {
        q.push(" and l.updated_at < ")
            .push_bind(ms(t))
            .push(" and s.created_at < ")
            .push_bind(ms(t))
            .push(" and not exists (select 1 from connectors c where c.station_id = s.id and c.status_updated_at >= ")
            .push_bind(ms(t))
            .push(")");
    }
}

fn text(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

async fn replace_partner(conn: &mut Conn, p: &Partner, expected: &str) -> Result<bool> {
    let done = sqlx::query(
        "update ocpi_partners set name = $2, state = $3, token_hash = $4, their_token = $5, \
           versions_url = $6, version = $7, endpoints = $8, roles = $9, country_code = $10, \
           party_id = $11, updated_at = $12 \
         where id = $1 and token_hash = $13",
    )
    .bind(p.id)
    .bind(&p.name)
    .bind(p.state.as_str())
    .bind(&p.token_hash)
    .bind(&p.their_token)
    .bind(&p.versions_url)
    .bind(p.version.map(OcpiVersion::as_str))
    .bind(text(&p.endpoints))
    .bind(text(&p.roles))
    .bind(&p.country_code)
    .bind(&p.party_id)
    .bind(ms(p.updated_at))
    .bind(expected)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl OcpiStore for SqlStore<Db> {
    async fn insert_partner(&self, p: &Partner) -> Result<()> {
        sqlx::query(
            "insert into ocpi_partners (id, name, state, token_hash, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(p.id)
        .bind(&p.name)
        .bind(p.state.as_str())
        .bind(&p.token_hash)
        .bind(ms(p.created_at))
        .bind(ms(p.updated_at))
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn partner(&self, id: Uuid) -> Result<Option<Partner>> {
        let row = sqlx::query("select * from ocpi_partners where id = $1")
            .bind(id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        one(row, partner_of)
    }

    async fn partner_by_token(&self, token_hash: &str) -> Result<Option<Partner>> {
        let row = sqlx::query("select * from ocpi_partners where token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        one(row, partner_of)
    }

    async fn partners(&self) -> Result<Vec<Partner>> {
        let rows = sqlx::query("select * from ocpi_partners order by created_at, id")
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        all(&rows, partner_of)
    }

    async fn replace_partner(&self, p: &Partner, expected: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        if !replace_partner(&mut tx, p, expected).await? {
            return Ok(false);
        }
        if p.state != ocpi::PartnerState::Registered {
            sqlx::query("delete from ocpi_pushes where partner_id = $1")
                .bind(p.id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        super::commit(tx).await?;
        Ok(true)
    }

    async fn delete_partner(&self, id: Uuid) -> Result<bool> {
        let mut tx = self.begin().await?;
        sqlx::query("delete from ocpi_pushes where partner_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let gone = sqlx::query("delete from ocpi_partners where id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        super::commit(tx).await?;
        Ok(gone.rows_affected() == 1)
    }

    async fn set_location(&self, d: &LocationDetails) -> Result<()> {
        let mut tx = self.begin().await?;
        let exists = sqlx::query("select id from stations where id = $1")
            .bind(d.station_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        if exists.is_none() {
            return Err(booking::Error::not_found("station", d.station_id));
        }
        sqlx::query(
            "insert into ocpi_locations (station_id, city, postal_code, country, time_zone, \
               publish, updated_at) values ($1, $2, $3, $4, $5, $6, $7) \
             on conflict (station_id) do update set city = $2, postal_code = $3, country = $4, \
               time_zone = $5, publish = $6, updated_at = $7",
        )
        .bind(d.station_id)
        .bind(&d.city)
        .bind(&d.postal_code)
        .bind(&d.country)
        .bind(&d.time_zone)
        .bind(d.publish)
        .bind(ms(d.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        super::commit(tx).await
    }

    async fn published_locations(&self) -> Result<Vec<(Station, LocationDetails)>> {
        let rows = sqlx::query(published!("order by s.created_at, s.id"))
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        all(&rows, published_of)
    }

    async fn published_page(
        &self,
        (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<(Station, LocationDetails)>, u64)> {
        let mut conn = self.conn().await?;
        let mut q = QueryBuilder::<Db>::new(published!(""));
        push_window(&mut q, from, to);
        q.push(" order by s.created_at, s.id limit ")
            .push_bind(i64::from(limit))
            .push(" offset ")
            .push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
        let rows = q.build().fetch_all(&mut *conn).await.map_err(db_error)?;
        let mut c = QueryBuilder::<Db>::new(
            "select count(*) as n from ocpi_locations l join stations s on s.id = l.station_id \
             where l.publish ",
        );
        push_window(&mut c, from, to);
        let n: i64 = get(
            &c.build().fetch_one(&mut *conn).await.map_err(db_error)?,
            "n",
        )?;
        Ok((all(&rows, published_of)?, u64::try_from(n).unwrap_or(0)))
    }

    async fn published_location(
        &self,
        station_id: Uuid,
    ) -> Result<Option<(Station, LocationDetails)>> {
        let row = sqlx::query(published!("and s.id = $1"))
            .bind(station_id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        one(row, published_of)
    }

    async fn insert_ocpi_booking(&self, b: &OcpiBooking) -> Result<()> {
        sqlx::query(
            "insert into ocpi_bookings (booking_id, partner_id, request_id, \
               authorization_reference, tokens, requests, canceled, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(b.booking_id)
        .bind(b.partner_id)
        .bind(&b.request_id)
        .bind(&b.authorization_reference)
        .bind(b.tokens.to_string())
        .bind(b.requests.to_string())
        .bind(b.canceled.as_ref().map(ToString::to_string))
        .bind(ms(b.created_at))
        .bind(ms(b.updated_at))
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn delete_ocpi_booking(&self, booking_id: Uuid) -> Result<()> {
        sqlx::query("delete from ocpi_bookings where booking_id = $1")
            .bind(booking_id)
            .execute(&mut *self.write().await?)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn update_ocpi_booking(&self, b: &OcpiBooking) -> Result<()> {
        sqlx::query(
            "update ocpi_bookings set requests = $2, canceled = $3, updated_at = $4 \
             where booking_id = $1",
        )
        .bind(b.booking_id)
        .bind(b.requests.to_string())
        .bind(b.canceled.as_ref().map(ToString::to_string))
        .bind(ms(b.updated_at))
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn ocpi_booking(&self, booking_id: Uuid) -> Result<Option<OcpiBooking>> {
        let row = sqlx::query("select * from ocpi_bookings where booking_id = $1")
            .bind(booking_id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        one(row, ocpi_booking_of)
    }

    async fn ocpi_booking_by_request(
        &self,
        partner_id: Uuid,
        request_id: &str,
    ) -> Result<Option<OcpiBooking>> {
        let row =
            sqlx::query("select * from ocpi_bookings where partner_id = $1 and request_id = $2")
                .bind(partner_id)
                .bind(request_id)
                .fetch_optional(&mut *self.conn().await?)
                .await
                .map_err(db_error)?;
        one(row, ocpi_booking_of)
    }

    async fn ocpi_bookings_of(&self, partner_id: Uuid) -> Result<Vec<OcpiBooking>> {
        let rows = sqlx::query(
            "select * from ocpi_bookings where partner_id = $1 order by created_at, booking_id",
        )
        .bind(partner_id)
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        all(&rows, ocpi_booking_of)
    }

    async fn put_ocpi_token(&self, key: &TokenKey, t: &StoredToken) -> Result<()> {
        sqlx::query(
            "insert into ocpi_tokens (country_code, party_id, uid, token_type, partner_id, body, \
               last_updated, authorization_reference, authorized_at, auth_method) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             on conflict (country_code, party_id, uid, token_type) do update set \
               partner_id = $5, body = $6, last_updated = $7, \
               authorization_reference = case when $10 is null \
                 then ocpi_tokens.authorization_reference else $8 end, \
               authorized_at = coalesce($9, ocpi_tokens.authorized_at), \
               auth_method = coalesce($10, ocpi_tokens.auth_method)",
        )
        .bind(&key.country_code)
        .bind(&key.party_id)
        .bind(&key.uid)
        .bind(&key.token_type)
        .bind(t.partner_id)
        .bind(t.body.to_string())
        .bind(ms(t.last_updated))
        .bind(t.authorized.as_ref().and_then(|a| a.reference.as_deref()))
        .bind(t.authorized.as_ref().map(|a| ms(a.at)))
        .bind(t.authorized.as_ref().map(|a| a.method.as_str()))
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn ocpi_token(&self, key: &TokenKey) -> Result<Option<StoredToken>> {
        let row = sqlx::query(
            "select * from ocpi_tokens where country_code = $1 and party_id = $2 and uid = $3 \
             and token_type = $4",
        )
        .bind(&key.country_code)
        .bind(&key.party_id)
        .bind(&key.uid)
        .bind(&key.token_type)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        Ok(one(row, token_of)?.map(|(_, t)| t))
    }

    async fn ocpi_tokens_by_uid(&self, uid: &str) -> Result<Vec<(TokenKey, StoredToken)>> {
        let rows =
            sqlx::query("select * from ocpi_tokens where uid = $1 order by last_updated desc")
                .bind(uid)
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_error)?;
        all(&rows, token_of)
    }

    async fn published_tariffs(&self, stations: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>> {
        if stations.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = QueryBuilder::<Db>::new(
            "select c.id as connector_id, coalesce( \
               (select a.tariff_id from tariff_assignments a \
                  where a.scope = 'connector' and a.target_id = c.id), \
               (select a.tariff_id from tariff_assignments a \
                  where a.scope = 'station' and a.target_id = c.station_id)) as tariff_id \
             from connectors c join ocpi_locations l on l.station_id = c.station_id \
             where l.publish and c.station_id in (",
        );
        let mut list = q.separated(", ");
        for id in stations {
            list.push_bind(*id);
        }
        q.push(")");
        let rows = q
            .build()
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        let mut out = Vec::new();
        for row in &rows {
            if let Some(tariff) = get::<Option<Uuid>>(row, "tariff_id")? {
                out.push((get(row, "connector_id")?, tariff));
            }
        }
        Ok(out)
    }

    async fn queue_pushes(&self, pushes: &[Push]) -> Result<()> {
        if pushes.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for p in pushes {
            sqlx::query(
                "insert into ocpi_pushes (partner_id, module, object_id, location_id, body, \
                   last_updated, attempts, next_attempt) values ($1, $7, $3, $2, $4, $5, 0, $6) \
                 on conflict (partner_id, module, object_id) do update set body = $4, \
                   last_updated = $5 where ocpi_pushes.last_updated <= $5",
            )
            .bind(p.partner_id)
            .bind(p.location_id)
            .bind(p.object_id)
            .bind(p.body.to_string())
            .bind(ms(p.last_updated))
            .bind(ms(p.next_attempt))
            .bind(p.module.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        super::commit(tx).await
    }

    async fn due_pushes(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Push>> {
        let rows = sqlx::query(
            "select * from ocpi_pushes where next_attempt <= $1 order by next_attempt limit $2",
        )
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        all(&rows, push_of)
    }

    async fn push_delivered(&self, p: &Push) -> Result<()> {
        sqlx::query(
            "delete from ocpi_pushes where partner_id = $1 and object_id = $2 and module = $5 \
             and last_updated = $3 and body = $4",
        )
        .bind(p.partner_id)
        .bind(p.object_id)
        .bind(ms(p.last_updated))
        .bind(p.body.to_string())
        .bind(p.module.as_str())
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn push_failed(&self, p: &Push, next_attempt: DateTime<Utc>, error: &str) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        sqlx::query(
            "update ocpi_pushes set attempts = attempts + 1, next_attempt = $3, last_error = $4 \
             where partner_id = $1 and object_id = $2 and module = $5",
        )
        .bind(p.partner_id)
        .bind(p.object_id)
        .bind(ms(next_attempt))
        .bind(error)
        .bind(p.module.as_str())
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn push_backlog(&self) -> Result<Vec<Backlog>> {
        let rows = sqlx::query(
            "select partner_id, count(*) as waiting, min(next_attempt) as next_attempt, \
               max(attempts) as attempts, \
               (select last_error from ocpi_pushes q where q.partner_id = p.partner_id \
                  order by q.attempts desc limit 1) as last_error \
             from ocpi_pushes p group by partner_id",
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(Backlog {
                    partner_id: get(row, "partner_id")?,
                    waiting: get(row, "waiting")?,
                    next_attempt: get(row, "next_attempt")?,
                    attempts: get(row, "attempts")?,
                    last_error: get(row, "last_error")?,
                })
            })
            .collect()
    }

    async fn lease(
        &self,
        name: &str,
        owner: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        super::webhooks::lease(&mut *self.write().await?, name, owner, now, until).await
    }
}
