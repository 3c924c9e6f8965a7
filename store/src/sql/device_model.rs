//! The OCPP 2.0.1 device model (csms's [`DeviceModelStore`]): one row per
//! charger and variable, written one report part per transaction with
//! batched upserts.

use async_trait::async_trait;
use booking::Result;
use booking::model::Page;
use chrono::{DateTime, Utc};
use csms::device_model::{
    DeviceModelStore, Filter, PartWrite, ReportedVariable, Settings, StoredVariable, VariableKey,
};
use uuid::Uuid;

use super::{Conn, Db, Row, all, commit, get, ms, page_binds, total};
use crate::SqlStore;
use crate::error::{bad_column, db_error};

/// Rows per insert statement: 13 binds each, well under SQLite's 32,766
/// and PostgreSQL's 65,535 bind limits.
const BATCH: usize = 200;

fn variable_of(row: &Row) -> Result<StoredVariable> {
    let attributes: String = get(row, "attributes")?;
    let characteristics: Option<String> = get(row, "characteristics")?;
    Ok(StoredVariable {
        reported: ReportedVariable {
            key: VariableKey {
                component: get(row, "component")?,
                component_instance: get(row, "component_instance")?,
                evse_id: get(row, "evse_id")?,
                connector_id: get(row, "connector_id")?,
                variable: get(row, "variable")?,
                variable_instance: get(row, "variable_instance")?,
            },
            attributes: serde_json::from_str(&attributes)
                .map_err(|e| bad_column("attributes", e))?,
            characteristics: characteristics
                .map(|c| serde_json::from_str(&c).map_err(|e| bad_column("characteristics", e)))
                .transpose()?,
        },
        request_id: get(row, "request_id")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Upserts `rows` (unique keys) in batches.
async fn upsert(conn: &mut Conn, part: &PartWrite<'_>, rows: &[&ReportedVariable]) -> Result<()> {
    for batch in rows.chunks(BATCH) {
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "insert into device_variables (charger_id, row_key, component, component_instance, \
             evse_id, connector_id, variable, variable_instance, attributes, characteristics, \
             request_id, report_run, updated_at) ",
        );
        q.push_values(batch, |mut b, v| {
            b.push_bind(part.charger_id)
                .push_bind(v.key.row_key())
                .push_bind(v.key.component.clone())
                .push_bind(v.key.component_instance.clone())
                .push_bind(v.key.evse_id)
                .push_bind(v.key.connector_id)
                .push_bind(v.key.variable.clone())
                .push_bind(v.key.variable_instance.clone())
                .push_bind(v.attributes.to_string())
                .push_bind(v.characteristics.as_ref().map(ToString::to_string))
                .push_bind(part.request_id)
                .push_bind(part.run)
                .push_bind(ms(part.at));
        });
        q.push(
            " on conflict (charger_id, row_key) do update set \
             component = excluded.component, component_instance = excluded.component_instance, \
             evse_id = excluded.evse_id, connector_id = excluded.connector_id, \
             variable = excluded.variable, variable_instance = excluded.variable_instance, \
             attributes = excluded.attributes, characteristics = excluded.characteristics, \
             request_id = excluded.request_id, report_run = excluded.report_run, \
             updated_at = excluded.updated_at",
        );
        q.build().execute(&mut *conn).await.map_err(db_error)?;
    }
    Ok(())
}

/// The rows a full report did not write.
async fn delete_other_runs(conn: &mut Conn, charger_id: Uuid, run: Uuid) -> Result<u64> {
    let done =
        sqlx::query("delete from device_variables where charger_id = $1 and report_run <> $2")
            .bind(charger_id)
            .bind(run)
            .execute(conn)
            .await
            .map_err(db_error)?;
    Ok(done.rows_affected())
}

/// NULL filters are off; names match without case. (A macro: sqlx takes
/// only static SQL text, so the two queries are joined with `concat!`.)
macro_rules! filtered {
    () => {
        "charger_id = $1 \
         and (cast($2 as text) is null or lower(component) = lower($2)) \
         and (cast($3 as text) is null or lower(variable) = lower($3)) \
         and (cast($4 as integer) is null or evse_id = $4)"
    };
}

async fn page(
    conn: &mut Conn,
    charger_id: Uuid,
    filter: &Filter,
    page: Page,
) -> Result<(Vec<StoredVariable>, u64)> {
    let (limit, offset) = page_binds(page);
    let rows = sqlx::query(concat!(
        "select * from device_variables where ",
        filtered!(),
        " order by lower(component), coalesce(component_instance, ''), coalesce(evse_id, -1), \
         coalesce(connector_id, -1), lower(variable), coalesce(variable_instance, '') \
         limit $5 offset $6"
    ))
    .bind(charger_id)
    .bind(filter.component.as_deref())
    .bind(filter.variable.as_deref())
    .bind(filter.evse)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let n: i64 = sqlx::query_scalar(concat!(
        "select count(*) from device_variables where ",
        filtered!()
    ))
    .bind(charger_id)
    .bind(filter.component.as_deref())
    .bind(filter.variable.as_deref())
    .bind(filter.evse)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok((all(&rows, variable_of)?, total(n)))
}

async fn settings(conn: &mut Conn, charger_id: Uuid) -> Result<Settings> {
    let on: Option<bool> = sqlx::query_scalar(
        "select refresh_on_boot from device_model_settings where charger_id = $1",
    )
    .bind(charger_id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    Ok(Settings {
        refresh_on_boot: on.unwrap_or(false),
    })
}

async fn set_settings(
    conn: &mut Conn,
    charger_id: Uuid,
    s: Settings,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "insert into device_model_settings (charger_id, refresh_on_boot, updated_at) \
         values ($1, $2, $3) on conflict (charger_id) do update set \
         refresh_on_boot = excluded.refresh_on_boot, updated_at = excluded.updated_at",
    )
    .bind(charger_id)
    .bind(s.refresh_on_boot)
    .bind(ms(at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl DeviceModelStore for SqlStore<Db> {
    async fn write_report_part(&self, part: &PartWrite<'_>) -> Result<()> {
        // A key named twice in one part: the later entry wins (one
        // statement may not upsert a row twice).
        let mut seen = std::collections::HashMap::new();
        for (i, v) in part.variables.iter().enumerate() {
            seen.insert(v.key.row_key(), i);
        }
        let rows: Vec<&ReportedVariable> = part
            .variables
            .iter()
            .enumerate()
            .filter(|(i, v)| seen.get(&v.key.row_key()) == Some(i))
            .map(|(_, v)| v)
            .collect();
        let mut tx = self.begin().await?;
        upsert(&mut tx, part, &rows).await?;
        if part.replace_others {
            delete_other_runs(&mut tx, part.charger_id, part.run).await?;
        }
        commit(tx).await
    }

    async fn device_model(
        &self,
        charger_id: Uuid,
        filter: &Filter,
        p: Page,
    ) -> Result<(Vec<StoredVariable>, u64)> {
        page(&mut *self.conn().await?, charger_id, filter, p).await
    }

    async fn device_model_settings(&self, charger_id: Uuid) -> Result<Settings> {
        settings(&mut *self.conn().await?, charger_id).await
    }

    async fn set_device_model_settings(
        &self,
        charger_id: Uuid,
        s: Settings,
        at: DateTime<Utc>,
    ) -> Result<()> {
        set_settings(&mut *self.write().await?, charger_id, s, at).await
    }
}
