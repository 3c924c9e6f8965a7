//! Charging profiles, external charging limits and station power caps.

use async_trait::async_trait;
use booking::Result;
use booking::model::{ChargingProfile, ExternalChargingLimit, ProfileFilter, StationPowerLimit};
use booking::store::SmartChargingStore;
use uuid::Uuid;

use super::{Db, Row, all, get, ms, parse};
use crate::SqlStore;
use crate::error::{bad_column, db_error};

fn json(row: &Row, column: &str) -> Result<serde_json::Value> {
    let text: String = get(row, column)?;
    serde_json::from_str(&text).map_err(|e| bad_column(column, e.to_string()))
}

fn profile_of(row: &Row) -> Result<ChargingProfile> {
    Ok(ChargingProfile {
        charger_id: get(row, "charger_id")?,
        profile_id: get(row, "profile_id")?,
        origin: parse(row, "origin")?,
        evse_id: get(row, "evse_id")?,
        purpose: parse(row, "purpose")?,
        stack_level: get(row, "stack_level")?,
        profile: json(row, "profile")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn limit_of(row: &Row) -> Result<ExternalChargingLimit> {
    Ok(ExternalChargingLimit {
        charger_id: get(row, "charger_id")?,
        source: get(row, "source")?,
        evse_id: get(row, "evse_id")?,
        limit: json(row, "payload")?,
        updated_at: get(row, "updated_at")?,
    })
}

#[async_trait]
impl SmartChargingStore for SqlStore<Db> {
    async fn save_charging_profile(&self, p: &ChargingProfile) -> Result<()> {
        sqlx::query(
            "insert into charging_profiles \
               (charger_id, origin, profile_id, evse_id, purpose, stack_level, profile, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) \
             on conflict (charger_id, origin, profile_id) do update set \
               evse_id = excluded.evse_id, purpose = excluded.purpose, \
               stack_level = excluded.stack_level, profile = excluded.profile, \
               updated_at = excluded.updated_at",
        )
        .bind(p.charger_id)
        .bind(p.origin.as_str())
        .bind(p.profile_id)
        .bind(p.evse_id)
        .bind(p.purpose.as_str())
        .bind(p.stack_level)
        .bind(p.profile.to_string())
        .bind(ms(p.updated_at))
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn remove_charging_profiles(&self, charger_id: Uuid, f: &ProfileFilter) -> Result<u64> {
        let done = sqlx::query(
            "delete from charging_profiles where charger_id = $1 and origin <> 'REPORTED' \
               and (cast($2 as integer) is null or profile_id = $2) \
               and (cast($3 as integer) is null or evse_id = $3) \
               and (cast($4 as text) is null or purpose = $4) \
               and (cast($5 as integer) is null or stack_level = $5)",
        )
        .bind(charger_id)
        .bind(f.profile_id)
        .bind(f.evse_id)
        .bind(f.purpose.map(|p| p.as_str()))
        .bind(f.stack_level)
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    async fn forget_reported_profiles(&self, charger_id: Uuid) -> Result<u64> {
        let done = sqlx::query(
            "delete from charging_profiles where charger_id = $1 and origin = 'REPORTED'",
        )
        .bind(charger_id)
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    async fn charging_profiles(&self, charger_id: Uuid) -> Result<Vec<ChargingProfile>> {
        let rows = sqlx::query(
            "select * from charging_profiles where charger_id = $1 \
             order by origin, evse_id, profile_id",
        )
        .bind(charger_id)
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        all(&rows, profile_of)
    }

    async fn save_charging_limit(&self, l: &ExternalChargingLimit) -> Result<()> {
        sqlx::query(
            "insert into charging_limits (charger_id, source, evse_id, payload, updated_at) \
             values ($1, $2, $3, $4, $5) \
             on conflict (charger_id, source, evse_id) do update set \
               payload = excluded.payload, updated_at = excluded.updated_at",
        )
        .bind(l.charger_id)
        .bind(&l.source)
        .bind(l.evse_id)
        .bind(l.limit.to_string())
        .bind(ms(l.updated_at))
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn clear_charging_limits(
        &self,
        charger_id: Uuid,
        source: &str,
        evse_id: Option<i32>,
    ) -> Result<u64> {
        let done = sqlx::query(
            "delete from charging_limits where charger_id = $1 and source = $2 \
               and (cast($3 as integer) is null or evse_id = $3)",
        )
        .bind(charger_id)
        .bind(source)
        .bind(evse_id)
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    async fn charging_limits(&self, charger_id: Uuid) -> Result<Vec<ExternalChargingLimit>> {
        let rows = sqlx::query(
            "select * from charging_limits where charger_id = $1 order by source, evse_id",
        )
        .bind(charger_id)
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        all(&rows, limit_of)
    }

    async fn set_station_power_limit(&self, l: &StationPowerLimit) -> Result<()> {
        sqlx::query(
            "insert into station_power_limits (station_id, max_w, updated_at) \
             values ($1, $2, $3) \
             on conflict (station_id) do update set \
               max_w = excluded.max_w, updated_at = excluded.updated_at",
        )
        .bind(l.station_id)
        .bind(l.max_w)
        .bind(ms(l.updated_at))
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn station_power_limit(&self, station_id: Uuid) -> Result<Option<StationPowerLimit>> {
        let row = sqlx::query("select * from station_power_limits where station_id = $1")
            .bind(station_id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        row.map(|row| {
            Ok(StationPowerLimit {
                station_id: get(&row, "station_id")?,
                max_w: get(&row, "max_w")?,
                updated_at: get(&row, "updated_at")?,
            })
        })
        .transpose()
    }

    async fn remove_station_power_limit(&self, station_id: Uuid) -> Result<bool> {
        let done = sqlx::query("delete from station_power_limits where station_id = $1")
            .bind(station_id)
            .execute(&mut *self.write().await?)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }
}
