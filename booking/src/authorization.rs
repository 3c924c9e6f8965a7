//! Who may charge: an id tag an operator registered (with its status, expiry
//! and group), or the id tag of a live booking. Everything else is Invalid.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::model::IdTagStatus;
use crate::store::{BookingLedger, IdTagStore};

/// What a charger is told about an id tag: the verdict, until when it may
/// keep it cached, and the group the tag belongs to. Chargers compare
/// groups themselves: a member of the group that started a transaction may
/// stop it (OCPP 1.6 `parentIdTag`, 2.0.1 `groupIdToken`), and a tag of the
/// charger's `MasterPassGroupId` stops every transaction on it (2.0.1 C16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Accepted, Blocked, Expired or Invalid.
    pub status: IdTagStatus,
    /// The tag's expiry, when it has one and is not past it.
    pub expires_at: Option<DateTime<Utc>>,
    /// The group tag, when the operator gave it one.
    pub group: Option<String>,
}

impl Authorization {
    fn only(status: IdTagStatus) -> Self {
        Self {
            status,
            expires_at: None,
            group: None,
        }
    }
}

/// The verdict on an id tag at `now`: a registered tag's status (Accepted
/// past its expiry is Expired) with its group, else Accepted while a
/// CONFIRMED or ACTIVE booking carries it, else Invalid.
pub async fn authorize<S: IdTagStore + BookingLedger + ?Sized>(
    store: &S,
    id_tag: &str,
    now: DateTime<Utc>,
) -> Result<Authorization> {
    if let Some(tag) = store.id_tag(id_tag).await? {
        let expired = tag.expiry_date.is_some_and(|e| e <= now);
        return Ok(Authorization {
            status: match tag.status {
                IdTagStatus::Accepted if expired => IdTagStatus::Expired,
                status => status,
            },
            expires_at: tag.expiry_date.filter(|_| !expired),
            group: tag.parent_id_tag,
        });
    }
    if store.id_tag_has_live_booking(id_tag).await? {
        return Ok(Authorization::only(IdTagStatus::Accepted));
    }
    Ok(Authorization::only(IdTagStatus::Invalid))
}
