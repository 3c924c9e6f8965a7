//! Operator accounts and their console sessions.

use async_trait::async_trait;
use booking::Result;
use booking::operators::{ConsoleSession, Operator};
use booking::store::OperatorAccounts;
use chrono::{DateTime, Utc};

use super::{Db, Row, get, ms, one, parse};
use crate::SqlStore;
use crate::error::db_error;

fn operator_of(row: &Row) -> Result<Operator> {
    Ok(Operator {
        id: get(row, "id")?,
        name: get(row, "name")?,
        role: parse(row, "role")?,
        password_hash: get(row, "password_hash")?,
        created_at: get(row, "created_at")?,
    })
}

fn session_of(row: &Row) -> Result<(ConsoleSession, Operator)> {
    let session = ConsoleSession {
        token_hash: get(row, "token_hash")?,
        operator_id: get(row, "operator_id")?,
        csrf_token: get(row, "csrf_token")?,
        expires_at: get(row, "expires_at")?,
    };
    Ok((session, operator_of(row)?))
}

#[async_trait]
impl OperatorAccounts for SqlStore<Db> {
    async fn add_operator(&self, op: &Operator) -> Result<Operator> {
        let row = sqlx::query(
            "insert into operators (name, role, password_hash, created_at) \
             values ($1, $2, $3, $4) returning *",
        )
        .bind(&op.name)
        .bind(op.role.as_str())
        .bind(&op.password_hash)
        .bind(ms(op.created_at))
        .fetch_one(&mut *self.write().await?)
        .await
        .map_err(db_error)?;
        operator_of(&row)
    }

    async fn operator_by_name(&self, name: &str) -> Result<Option<Operator>> {
        let row = sqlx::query("select * from operators where name = $1")
            .bind(name)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        one(row, operator_of)
    }

    async fn set_operator_password(
        &self,
        operator_id: i64,
        password_hash: &str,
        keep: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("update operators set password_hash = $2 where id = $1")
            .bind(operator_id)
            .bind(password_hash)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "delete from console_sessions where operator_id = $1 \
             and (cast($2 as text) is null or token_hash <> $2)",
        )
        .bind(operator_id)
        .bind(keep)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        super::commit(tx).await
    }

    async fn open_console_session(&self, s: &ConsoleSession, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("delete from console_sessions where expires_at <= $1")
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "insert into console_sessions (token_hash, operator_id, csrf_token, expires_at) \
             values ($1, $2, $3, $4)",
        )
        .bind(&s.token_hash)
        .bind(s.operator_id)
        .bind(&s.csrf_token)
        .bind(ms(s.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        super::commit(tx).await
    }

    async fn console_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(ConsoleSession, Operator)>> {
        let row = sqlx::query(
            "select * from console_sessions s join operators o on o.id = s.operator_id \
             where s.token_hash = $1 and s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(ms(now))
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        one(row, session_of)
    }

    async fn close_console_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("delete from console_sessions where token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.write().await?)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
