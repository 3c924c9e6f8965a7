//! The messages each charger shows on its screen.

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::Result;
use crate::model::DisplayMessage;

/// Messages on chargers' screens, one per (charger, message id).
#[async_trait]
pub trait DisplayMessages: Send + Sync + std::fmt::Debug + 'static {
    /// Stores the message, replacing the charger's message of the same id.
    async fn save_display_message(&self, message: &DisplayMessage) -> Result<()>;
    /// Forgets a message; `false` when there was none.
    async fn remove_display_message(&self, charger_id: Uuid, message_id: i32) -> Result<bool>;
    /// A charger's messages by id.
    async fn display_messages(&self, charger_id: Uuid) -> Result<Vec<DisplayMessage>>;
}
