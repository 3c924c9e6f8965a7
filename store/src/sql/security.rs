//! Chargers' security events and the certificates evgate issued them.

use async_trait::async_trait;
use booking::Result;
use booking::model::{IssuedCertificate, SecurityEvent};
use booking::store::SecurityLog;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, Row, all, get, ms};
use crate::SqlStore;
use crate::error::db_error;

fn event_of(row: &Row) -> Result<SecurityEvent> {
    Ok(SecurityEvent {
        charger_id: get(row, "charger_id")?,
        kind: get(row, "kind")?,
        occurred_at: get(row, "occurred_at")?,
        tech_info: get(row, "tech_info")?,
        received_at: get(row, "received_at")?,
    })
}

fn certificate_of(row: &Row) -> Result<IssuedCertificate> {
    Ok(IssuedCertificate {
        charger_id: get(row, "charger_id")?,
        serial: get(row, "serial")?,
        subject: get(row, "subject")?,
        not_after: get(row, "not_after")?,
        issued_at: get(row, "issued_at")?,
    })
}

#[async_trait]
impl SecurityLog for SqlStore<Db> {
    async fn record_security_event(&self, e: &SecurityEvent) -> Result<()> {
        sqlx::query(
            "insert into security_events (charger_id, kind, occurred_at, tech_info, received_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(e.charger_id)
        .bind(&e.kind)
        .bind(ms(e.occurred_at))
        .bind(e.tech_info.as_deref())
        .bind(ms(e.received_at))
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn security_events(
        &self,
        charger_id: Uuid,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<SecurityEvent>> {
        let rows = match since {
            Some(since) => sqlx::query(
                "select * from security_events where charger_id = $1 and occurred_at >= $2 \
                 order by occurred_at desc, id desc limit $3",
            )
            .bind(charger_id)
            .bind(ms(since))
            .bind(i64::from(limit)),
            None => sqlx::query(
                "select * from security_events where charger_id = $1 \
                 order by occurred_at desc, id desc limit $2",
            )
            .bind(charger_id)
            .bind(i64::from(limit)),
        }
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        all(&rows, event_of)
    }

    async fn record_issued_certificate(&self, c: &IssuedCertificate) -> Result<()> {
        sqlx::query(
            "insert into issued_certificates (charger_id, serial, subject, not_after, issued_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(c.charger_id)
        .bind(&c.serial)
        .bind(&c.subject)
        .bind(ms(c.not_after))
        .bind(ms(c.issued_at))
        .execute(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn issued_certificates(&self, charger_id: Uuid) -> Result<Vec<IssuedCertificate>> {
        let rows = sqlx::query(
            "select * from issued_certificates where charger_id = $1 \
             order by issued_at desc, serial desc",
        )
        .bind(charger_id)
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        all(&rows, certificate_of)
    }
}
