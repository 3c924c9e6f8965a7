//! Who may charge: an id tag an operator registered (with its status, expiry
//! and group), or the id tag of a live booking; while a charger waits on an
//! Authorize, also whoever else vouches for a tag (a roaming partner's
//! driver). Everything else is Invalid.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::model::{IdTag, IdTagStatus};
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

/// Someone besides the operator who may decide on an id tag: the roaming
/// partner whose driver it is (OCPI real-time authorization). Asked only
/// while a charger waits on an Authorize, never for local lists or caches
/// built ahead of time.
#[async_trait]
pub trait RemoteAuthorizer: Send + Sync + std::fmt::Debug + 'static {
    /// The verdict on `id_tag` at station `at` of whoever vouches for it,
    /// given evgate's own record of the tag (`known`, `None` when evgate
    /// has none); `None` leaves the verdict to evgate. Answers within a
    /// few seconds: a charger is waiting.
    async fn authorize(&self, id_tag: &str, known: Option<&IdTag>, at: Uuid)
    -> Option<IdTagStatus>;
}

/// Nobody else: evgate decides alone.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRemote;

#[async_trait]
impl RemoteAuthorizer for NoRemote {
    async fn authorize(&self, _: &str, _: Option<&IdTag>, _: Uuid) -> Option<IdTagStatus> {
        None
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
        return Ok(registered(tag, now));
    }
    if store.id_tag_has_live_booking(id_tag).await? {
        return Ok(Authorization::only(IdTagStatus::Accepted));
    }
    Ok(Authorization::only(IdTagStatus::Invalid))
}

/// [`authorize`] for a charger waiting at station `at`: `remote` is asked
/// first about a tag evgate knows (it may defer to evgate's record) and
/// about a tag that is neither registered nor a live booking's; its
/// verdict stands when it gives one.
pub async fn authorize_online<S: IdTagStore + BookingLedger + ?Sized>(
    store: &S,
    remote: &dyn RemoteAuthorizer,
    id_tag: &str,
    at: Uuid,
    now: DateTime<Utc>,
) -> Result<Authorization> {
    let known = store.id_tag(id_tag).await?;
    if known.is_none() && store.id_tag_has_live_booking(id_tag).await? {
        return Ok(Authorization::only(IdTagStatus::Accepted));
    }
    Ok(
        match (remote.authorize(id_tag, known.as_ref(), at).await, known) {
            (Some(status), known) => Authorization {
                status,
                expires_at: None,
                group: known.and_then(|t| t.parent_id_tag),
            },
            (None, Some(tag)) => registered(tag, now),
            (None, None) => Authorization::only(IdTagStatus::Invalid),
        },
    )
}

/// A registered tag's own verdict: Accepted past its expiry is Expired.
fn registered(tag: IdTag, now: DateTime<Utc>) -> Authorization {
    let expired = tag.expiry_date.is_some_and(|e| e <= now);
    Authorization {
        status: match tag.status {
            IdTagStatus::Accepted if expired => IdTagStatus::Expired,
            status => status,
        },
        expires_at: tag.expiry_date.filter(|_| !expired),
        group: tag.parent_id_tag,
    }
}
