//! Registering the id tags (RFID cards, app tokens) that may charge, with
//! their status and expiry; chargers hear the verdict at Authorize and at
//! the start of every transaction.

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::model::{IdTag, IdTagStatus};
use crate::store::IdTagStore;

/// OCPP 2.0.1 idToken: at most 36 characters (1.6 idTag: 20).
pub const MAX_ID_TAG_CHARS: usize = 36;

fn check_tag(field: &str, tag: &str) -> Result<()> {
    let n = tag.chars().count();
    if n == 0 || n > MAX_ID_TAG_CHARS || tag.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::validation(
            field,
            format!("must be 1 to {MAX_ID_TAG_CHARS} printable characters without spaces"),
        ));
    }
    Ok(())
}

/// Registers a new id tag after checking its shape (and its parent's);
/// `Conflict` when it exists already.
pub async fn register(store: &dyn IdTagStore, clock: &dyn Clock, tag: IdTag) -> Result<IdTag> {
    check_tag("idTag", &tag.id_tag)?;
    if let Some(parent) = &tag.parent_id_tag {
        check_tag("parentIdTag", parent)?;
    }
    store.insert_id_tag(&tag, clock.now()).await?;
    Ok(tag)
}

/// A change to a registered id tag; `None` leaves a field as it is, and
/// `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdTagChange {
    /// The new verdict.
    pub status: Option<IdTagStatus>,
    /// The new expiry, or none.
    pub expiry_date: Option<Option<DateTime<Utc>>>,
    /// The new group (OCPP `parentIdTag` / `groupIdToken`), or none.
    pub parent_id_tag: Option<Option<String>>,
}

/// Changes status, expiry and/or group; the next Authorize or transaction
/// hears it.
pub async fn update(
    store: &dyn IdTagStore,
    clock: &dyn Clock,
    id_tag: &str,
    change: IdTagChange,
) -> Result<IdTag> {
    let mut tag = store
        .id_tag(id_tag)
        .await?
        .ok_or_else(|| Error::not_found("id tag", id_tag))?;
    if let Some(status) = change.status {
        tag.status = status;
    }
    if let Some(expiry) = change.expiry_date {
        tag.expiry_date = expiry;
    }
    if let Some(parent) = change.parent_id_tag {
        if let Some(p) = &parent {
            check_tag("parentIdTag", p)?;
        }
        tag.parent_id_tag = parent;
    }
    store.upsert_id_tag(&tag, clock.now()).await?;
    Ok(tag)
}
