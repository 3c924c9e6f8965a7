//! Operator accounts and their console sessions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::operators::{ConsoleSession, Operator};

/// Operator accounts and signed-in console sessions.
#[async_trait]
pub trait OperatorAccounts: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new operator and returns it with its id; `Conflict` when
    /// the name is taken.
    async fn add_operator(&self, operator: &Operator) -> Result<Operator>;
    /// The operator with this name.
    async fn operator_by_name(&self, name: &str) -> Result<Option<Operator>>;
    /// Replaces an operator's password hash and ends every session of
    /// theirs except `keep` (the browser that changed it).
    async fn set_operator_password(
        &self,
        operator_id: i64,
        password_hash: &str,
        keep: Option<&str>,
    ) -> Result<()>;
    /// Stores a signed-in session; sessions that ended by `now` go with it.
    async fn open_console_session(
        &self,
        session: &ConsoleSession,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The session with this token hash and its operator, unless it ended
    /// by `now`.
    async fn console_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(ConsoleSession, Operator)>>;
    /// Ends a session (sign-out); ending one already gone is fine.
    async fn close_console_session(&self, token_hash: &str) -> Result<()>;
}
