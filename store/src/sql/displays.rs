//! The messages on chargers' screens.

use async_trait::async_trait;
use booking::Result;
use booking::model::DisplayMessage;
use booking::store::DisplayMessages;
use uuid::Uuid;

use super::{Db, Row, all, get, ms, parse};
use crate::SqlStore;
use crate::error::{bad_column, db_error};

fn message_of(row: &Row) -> Result<DisplayMessage> {
    let info: String = get(row, "info")?;
    Ok(DisplayMessage {
        charger_id: get(row, "charger_id")?,
        message_id: get(row, "message_id")?,
        origin: parse(row, "origin")?,
        info: serde_json::from_str(&info).map_err(|e| bad_column("info", e.to_string()))?,
        updated_at: get(row, "updated_at")?,
    })
}

#[async_trait]
impl DisplayMessages for SqlStore<Db> {
    async fn save_display_message(&self, m: &DisplayMessage) -> Result<()> {
        sqlx::query(
            "insert into display_messages (charger_id, message_id, origin, info, updated_at) \
             values ($1, $2, $3, $4, $5) \
             on conflict (charger_id, message_id) do update set origin = excluded.origin, \
               info = excluded.info, updated_at = excluded.updated_at",
        )
        .bind(m.charger_id)
        .bind(m.message_id)
        .bind(m.origin.as_str())
        .bind(m.info.to_string())
        .bind(ms(m.updated_at))
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn remove_display_message(&self, charger_id: Uuid, message_id: i32) -> Result<bool> {
        let done =
            sqlx::query("delete from display_messages where charger_id = $1 and message_id = $2")
                .bind(charger_id)
                .bind(message_id)
                .execute(&mut *self.write().await?)
                .await
                .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn display_messages(&self, charger_id: Uuid) -> Result<Vec<DisplayMessage>> {
        let rows =
            sqlx::query("select * from display_messages where charger_id = $1 order by message_id")
                .bind(charger_id)
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_error)?;
        all(&rows, message_of)
    }
}
