//! Who may charge: an id tag an operator registered (with its status and
//! expiry), or the id tag of a live booking. Everything else is Invalid.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::model::IdTagStatus;
use crate::store::{BookingLedger, IdTagStore};

/// The verdict on an id tag at `now`: a registered tag's status (Accepted past
/// its expiry is Expired), else Accepted while a CONFIRMED or ACTIVE booking
/// carries it, else Invalid.
pub async fn authorize<S: IdTagStore + BookingLedger + ?Sized>(
    store: &S,
    id_tag: &str,
    now: DateTime<Utc>,
) -> Result<IdTagStatus> {
    if let Some(tag) = store.id_tag(id_tag).await? {
        let expired = tag.expiry_date.is_some_and(|e| e <= now);
        return Ok(match tag.status {
            IdTagStatus::Accepted if expired => IdTagStatus::Expired,
            status => status,
        });
    }
    if store.id_tag_has_live_booking(id_tag).await? {
        return Ok(IdTagStatus::Accepted);
    }
    Ok(IdTagStatus::Invalid)
}
