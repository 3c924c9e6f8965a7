//! Chargers: registration, boot facts, presence, id sequences, credentials,
//! and identities nobody registered.

use async_trait::async_trait;
use booking::Result;
use booking::model::{
    Charger, ChargerAdmission, Page, PreviousCredentials, SecurityProfile, UnassignedCharger,
};
use booking::store::{
    BootFollowUps, BootInfo, ChargerCredentials, ChargerPresence, ChargerRegistry, PresenceUpdate,
    UnassignedChargers,
};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{
    Conn, Db, Row, all, commit, found, get, ms, one, opt_ms, page_binds, parse_opt, total,
};
use crate::SqlStore;
use crate::error::{bad_column, db_error};

fn profile_of(column: &str, profile: i16) -> Result<SecurityProfile> {
    u8::try_from(profile)
        .map_err(|e| e.to_string())
        .and_then(SecurityProfile::try_from)
        .map_err(|e| bad_column(column, e))
}

fn charger_of(row: &Row) -> Result<Charger> {
    let previous_profile: Option<i16> = get(row, "previous_security_profile")?;
    let previous_until: Option<DateTime<Utc>> = get(row, "previous_credentials_until")?;
    let previous_credentials = match (previous_profile, previous_until) {
        (Some(profile), Some(until)) => Some(PreviousCredentials {
            security_profile: profile_of("previous_security_profile", profile)?,
            password_hash: get(row, "previous_password_hash")?,
            until,
        }),
        _ => None,
    };
    Ok(Charger {
        id: get(row, "id")?,
        station_id: get(row, "station_id")?,
        charge_point_id: get(row, "charge_point_id")?,
        security_profile: profile_of("security_profile", get(row, "security_profile")?)?,
        password_hash: get(row, "password_hash")?,
        ocpp_version: parse_opt(row, "ocpp_version")?,
        vendor: get(row, "vendor")?,
        model: get(row, "model")?,
        firmware_version: get(row, "firmware_version")?,
        online: get(row, "online")?,
        last_seen_at: get(row, "last_seen_at")?,
        created_at: get(row, "created_at")?,
        admission: parse_opt(row, "admission")?,
        previous_credentials,
        pending_credentials: get(row, "pending_credentials")?,
    })
}

fn unassigned_of(row: &Row) -> Result<UnassignedCharger> {
    Ok(UnassignedCharger {
        charge_point_id: get(row, "charge_point_id")?,
        ocpp_version: parse_opt(row, "ocpp_version")?,
        vendor: get(row, "vendor")?,
        model: get(row, "model")?,
        firmware_version: get(row, "firmware_version")?,
        serial_number: get(row, "serial_number")?,
        first_seen_at: get(row, "first_seen_at")?,
        last_seen_at: get(row, "last_seen_at")?,
    })
}

async fn insert(conn: &mut Conn, c: &Charger) -> Result<()> {
    let previous = c.previous_credentials.as_ref();
    sqlx::query(
        "insert into chargers (id, station_id, charge_point_id, security_profile, password_hash, \
           ocpp_version, vendor, model, firmware_version, online, last_seen_at, created_at, \
           admission, previous_security_profile, previous_password_hash, \
           previous_credentials_until, pending_credentials) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(c.id)
    .bind(c.station_id)
    .bind(&c.charge_point_id)
    .bind(i16::from(c.security_profile.get()))
    .bind(&c.password_hash)
    .bind(c.ocpp_version.map(|v| v.as_str()))
    .bind(&c.vendor)
    .bind(&c.model)
    .bind(&c.firmware_version)
    .bind(c.online)
    .bind(opt_ms(c.last_seen_at))
    .bind(ms(c.created_at))
    .bind(c.admission.map(|a| a.as_str()))
    .bind(previous.map(|p| i16::from(p.security_profile.get())))
    .bind(previous.and_then(|p| p.password_hash.clone()))
    .bind(previous.map(|p| ms(p.until)))
    .bind(&c.pending_credentials)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn by_id(conn: &mut Conn, id: Uuid) -> Result<Option<Charger>> {
    let row = sqlx::query("select * from chargers where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    one(row, charger_of)
}

async fn at_boot(conn: &mut Conn, id: Uuid) -> Result<Option<(Charger, BootFollowUps)>> {
    let row = sqlx::query(
        "select c.*, \
           cast(coalesce((select l.version from local_lists l where l.charger_id = c.id), 0) \
             as bigint) as follow_local_list, \
           cast(case when exists(select 1 from charging_profiles p where p.charger_id = c.id) \
             then 1 else 0 end as bigint) as follow_profiles, \
           cast(case when (select s.refresh_on_boot from device_model_settings s \
             where s.charger_id = c.id) then 1 else 0 end as bigint) as follow_device_model \
         from chargers c where c.id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, |row| {
        let follow_ups = BootFollowUps {
            local_list_version: i32::try_from(get::<i64>(row, "follow_local_list")?)
                .map_err(|e| bad_column("follow_local_list", e))?,
            charging_profiles: get::<i64>(row, "follow_profiles")? != 0,
            refresh_device_model: get::<i64>(row, "follow_device_model")? != 0,
        };
        Ok((charger_of(row)?, follow_ups))
    })
}

async fn by_identity(conn: &mut Conn, charge_point_id: &str) -> Result<Option<Charger>> {
    let row = sqlx::query("select * from chargers where charge_point_id = $1")
        .bind(charge_point_id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    one(row, charger_of)
}

/// A page of chargers by identity; with `search`, only those whose identity
/// contains it (`%` and `_` taken literally).
pub(super) async fn page(
    conn: &mut Conn,
    search: Option<&str>,
    page: Page,
) -> Result<(Vec<Charger>, u64)> {
    let (limit, offset) = page_binds(page);
    let pattern = search.map(|s| {
        let escaped = s
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let rows = sqlx::query(
        "select * from chargers \
         where cast($3 as text) is null or charge_point_id like $3 escape '\\' \
         order by charge_point_id limit $1 offset $2",
    )
    .bind(limit)
    .bind(offset)
    .bind(pattern.as_deref())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let n: i64 = sqlx::query_scalar(
        "select count(*) from chargers \
         where cast($1 as text) is null or charge_point_id like $1 escape '\\'",
    )
    .bind(pattern.as_deref())
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    Ok((all(&rows, charger_of)?, total(n)))
}

async fn set_admission(
    conn: &mut Conn,
    charge_point_id: &str,
    admission: Option<ChargerAdmission>,
) -> Result<Option<Charger>> {
    let row =
        sqlx::query("update chargers set admission = $2 where charge_point_id = $1 returning *")
            .bind(charge_point_id)
            .bind(admission.map(|a| a.as_str()))
            .fetch_optional(conn)
            .await
            .map_err(db_error)?;
    one(row, charger_of)
}

async fn online_identities(conn: &mut Conn) -> Result<Vec<String>> {
    sqlx::query_scalar(
        "select charge_point_id from chargers where online = $1 order by charge_point_id",
    )
    .bind(true)
    .fetch_all(conn)
    .await
    .map_err(db_error)
}

/// Rows per statement when presence facts are written: a reconnect storm's
/// group of thousands is a few statements, not one or two per charger.
const PRESENCE_ROWS: usize = 256;

/// What chargers said at boot (presence is [`set_presences`]'s), one
/// statement for the lot.
async fn record_boots(conn: &mut Conn, boots: &[(Uuid, &BootInfo)]) -> Result<()> {
    let mut query = QueryBuilder::<Db>::new(
        "with v (v_id, v_vendor, v_model, v_firmware, v_serial, v_version) as (",
    );
    query.push_values(boots, |mut row, (id, boot)| {
        row.push_bind(*id)
            .push_bind(boot.vendor.as_deref())
            .push_bind(boot.model.as_deref())
            .push_bind(boot.firmware_version.as_deref())
            .push_bind(boot.serial_number.as_deref())
            .push_bind(boot.version.map(|v| v.as_str()));
    });
    query.push(
        ") update chargers set vendor = v.v_vendor, model = v.v_model, \
           firmware_version = v.v_firmware, serial_number = v.v_serial, \
           ocpp_version = coalesce(v.v_version, chargers.ocpp_version) \
         from v where chargers.id = v.v_id",
    );
    // Not kept prepared: each group size is a statement text of its own,
    // and hundreds of them would push the hot statements out of the cache.
    query
        .build()
        .persistent(false)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Online or not, version and last seen of many chargers (one fact each),
/// in one statement.
async fn set_presences(conn: &mut Conn, updates: &[PresenceUpdate]) -> Result<()> {
    let mut query = QueryBuilder::<Db>::new("with v (v_id, v_online, v_version, v_seen) as (");
    query.push_values(updates, |mut row, update| {
        row.push_bind(update.charger_id)
            .push_bind(update.online)
            .push_bind(update.version.map(|v| v.as_str()))
            .push_bind(ms(update.seen_at));
    });
    query.push(
        ") update chargers set online = v.v_online, \
           ocpp_version = coalesce(v.v_version, chargers.ocpp_version), last_seen_at = v.v_seen \
         from v where chargers.id = v.v_id",
    );
    // Not kept prepared: each group size is a statement text of its own,
    // and hundreds of them would push the hot statements out of the cache.
    query
        .build()
        .persistent(false)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Advances one of a charger's id sequences (1 to i32::MAX, then 1 again)
/// in one statement: atomic on both backends, so concurrent callers never
/// get the same id.
async fn advance(conn: &mut Conn, charger_id: Uuid, sequence: Sequence) -> Result<i32> {
    let sql = match sequence {
        Sequence::Transaction => {
            "update chargers set transaction_seq = case when transaction_seq >= 2147483647 then 1 \
               else transaction_seq + 1 end \
             where id = $1 returning transaction_seq"
        }
        Sequence::Reservation => {
            "update chargers set reservation_seq = case when reservation_seq >= 2147483647 then 1 \
               else reservation_seq + 1 end \
             where id = $1 returning reservation_seq"
        }
    };
    let next = sqlx::query_scalar(sql)
        .bind(charger_id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    found(next, "charger", charger_id)
}

/// A charger's id sequences.
#[derive(Debug, Clone, Copy)]
enum Sequence {
    /// OCPP 1.6 transaction ids.
    Transaction,
    /// OCPP reservation ids.
    Reservation,
}

/// Both backends evaluate every right-hand side on the row as it was: the
/// old pair moves to previous_*.
async fn rotate_credentials(
    conn: &mut Conn,
    charger_id: Uuid,
    security_profile: SecurityProfile,
    password_hash: Option<&str>,
    previous_until: DateTime<Utc>,
) -> Result<Option<Charger>> {
    let row = sqlx::query(
        "update chargers set previous_security_profile = security_profile, \
           previous_password_hash = password_hash, previous_credentials_until = $4, \
           security_profile = $2, password_hash = $3, pending_credentials = null \
         where id = $1 \
         returning *",
    )
    .bind(charger_id)
    .bind(i16::from(security_profile.get()))
    .bind(password_hash)
    .bind(ms(previous_until))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, charger_of)
}

async fn forget_previous_credentials(conn: &mut Conn, charger_id: Uuid) -> Result<()> {
    sqlx::query(
        "update chargers set previous_security_profile = null, previous_password_hash = null, \
           previous_credentials_until = null \
         where id = $1 and previous_security_profile is not null",
    )
    .bind(charger_id)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn set_pending_credentials(
    conn: &mut Conn,
    charge_point_id: &str,
    sealed: Option<&str>,
) -> Result<Option<Charger>> {
    let row = sqlx::query(
        "update chargers set pending_credentials = $2 where charge_point_id = $1 returning *",
    )
    .bind(charge_point_id)
    .bind(sealed)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, charger_of)
}

async fn record_unassigned(
    conn: &mut Conn,
    charge_point_id: &str,
    boot: &BootInfo,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "insert into unassigned_chargers (charge_point_id, ocpp_version, vendor, model, \
           firmware_version, serial_number, first_seen_at, last_seen_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $7) \
         on conflict (charge_point_id) do update set last_seen_at = excluded.last_seen_at, \
           ocpp_version = coalesce(excluded.ocpp_version, unassigned_chargers.ocpp_version), \
           vendor = coalesce(excluded.vendor, unassigned_chargers.vendor), \
           model = coalesce(excluded.model, unassigned_chargers.model), \
           firmware_version = coalesce(excluded.firmware_version, unassigned_chargers.firmware_version), \
           serial_number = coalesce(excluded.serial_number, unassigned_chargers.serial_number)",
    )
    .bind(charge_point_id)
    .bind(boot.version.map(|v| v.as_str()))
    .bind(&boot.vendor)
    .bind(&boot.model)
    .bind(&boot.firmware_version)
    .bind(&boot.serial_number)
    .bind(ms(at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn unassigned_page(conn: &mut Conn, page: Page) -> Result<(Vec<UnassignedCharger>, u64)> {
    let (limit, offset) = page_binds(page);
    let rows = sqlx::query(
        "select * from unassigned_chargers \
         order by last_seen_at desc, charge_point_id limit $1 offset $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let n: i64 = sqlx::query_scalar("select count(*) from unassigned_chargers")
        .fetch_one(conn)
        .await
        .map_err(db_error)?;
    Ok((all(&rows, unassigned_of)?, total(n)))
}

async fn forget_unassigned(conn: &mut Conn, charge_point_id: &str) -> Result<bool> {
    let done = sqlx::query("delete from unassigned_chargers where charge_point_id = $1")
        .bind(charge_point_id)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected() > 0)
}

#[async_trait]
impl ChargerRegistry for SqlStore<Db> {
    async fn insert_charger(&self, charger: &Charger) -> Result<()> {
        insert(&mut *self.write().await?, charger).await
    }

    async fn charger(&self, id: Uuid) -> Result<Option<Charger>> {
        by_id(&mut *self.conn().await?, id).await
    }

    async fn charger_at_boot(&self, id: Uuid) -> Result<Option<(Charger, BootFollowUps)>> {
        at_boot(&mut *self.conn().await?, id).await
    }

    async fn charger_by_identity(&self, charge_point_id: &str) -> Result<Option<Charger>> {
        by_identity(&mut *self.conn().await?, charge_point_id).await
    }

    async fn chargers(&self, p: Page) -> Result<(Vec<Charger>, u64)> {
        page(&mut *self.conn().await?, None, p).await
    }

    async fn set_charger_admission(
        &self,
        charge_point_id: &str,
        admission: Option<ChargerAdmission>,
    ) -> Result<Option<Charger>> {
        set_admission(&mut *self.write().await?, charge_point_id, admission).await
    }

    async fn online_charger_identities(&self) -> Result<Vec<String>> {
        online_identities(&mut *self.conn().await?).await
    }

    async fn next_transaction_id(&self, charger_id: Uuid) -> Result<i32> {
        advance(&mut *self.write().await?, charger_id, Sequence::Transaction).await
    }

    async fn next_reservation_id(&self, charger_id: Uuid) -> Result<i32> {
        advance(&mut *self.write().await?, charger_id, Sequence::Reservation).await
    }
}

#[async_trait]
impl ChargerPresence for SqlStore<Db> {
    async fn record_presence(&self, batch: &[PresenceUpdate]) -> Result<()> {
        let mut tx = self.begin().await?;
        for rows in batch.chunks(PRESENCE_ROWS) {
            let boots: Vec<(Uuid, &BootInfo)> = rows
                .iter()
                .filter_map(|u| u.boot.as_ref().map(|boot| (u.charger_id, boot)))
                .collect();
            if !boots.is_empty() {
                record_boots(&mut tx, &boots).await?;
            }
            set_presences(&mut tx, rows).await?;
        }
        commit(tx).await
    }
}

#[async_trait]
impl ChargerCredentials for SqlStore<Db> {
    async fn rotate_charger_credentials(
        &self,
        charger_id: Uuid,
        security_profile: SecurityProfile,
        password_hash: Option<&str>,
        previous_until: DateTime<Utc>,
    ) -> Result<Option<Charger>> {
        let conn = &mut *self.write().await?;
        rotate_credentials(
            conn,
            charger_id,
            security_profile,
            password_hash,
            previous_until,
        )
        .await
    }

    async fn forget_previous_credentials(&self, charger_id: Uuid) -> Result<()> {
        forget_previous_credentials(&mut *self.write().await?, charger_id).await
    }

    async fn set_pending_credentials(
        &self,
        charge_point_id: &str,
        sealed: Option<&str>,
    ) -> Result<Option<Charger>> {
        set_pending_credentials(&mut *self.write().await?, charge_point_id, sealed).await
    }
}

#[async_trait]
impl UnassignedChargers for SqlStore<Db> {
    async fn record_unassigned_charger(
        &self,
        charge_point_id: &str,
        boot: &BootInfo,
        at: DateTime<Utc>,
    ) -> Result<()> {
        record_unassigned(&mut *self.write().await?, charge_point_id, boot, at).await
    }

    async fn unassigned_chargers(&self, page: Page) -> Result<(Vec<UnassignedCharger>, u64)> {
        unassigned_page(&mut *self.conn().await?, page).await
    }

    async fn forget_unassigned_charger(&self, charge_point_id: &str) -> Result<bool> {
        forget_unassigned(&mut *self.write().await?, charge_point_id).await
    }
}
