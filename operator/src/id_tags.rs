//! After an id tag is blocked or expires, chargers that cached it as
//! accepted (1.6 Authorization Cache, 2.0.1 AuthCacheCtrlr) could still let
//! it charge offline: every connected charger is told to clear its cache.

use std::sync::Arc;

use booking::audit::{self, AuditEntry};
use booking::model::{IdTag, IdTagStatus};
use booking::{Clock, Store};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::json;

use csms::commands::{clear_cache, clear_cache_accepted};
use evgate_cluster::Chargers;

/// Chargers told at once.
const CONCURRENCY: usize = 32;

/// Whether a tag in this state must not be let through from a cache.
pub fn must_leave_caches(tag: &IdTag, now: DateTime<Utc>) -> bool {
    tag.status != IdTagStatus::Accepted || tag.expiry_date.is_some_and(|e| e <= now)
}

/// Sends ClearCache to every connected charger in the background; returns
/// how many are being told. The tally is audited when all have answered.
pub async fn clear_caches(
    store: Arc<dyn Store>,
    chargers: Chargers,
    clock: Arc<dyn Clock>,
    actor: String,
    id_tag: String,
) -> booking::Result<usize> {
    let request = clear_cache().map_err(|e| booking::Error::Internal(e.to_string()))?;
    let targets = store.online_charger_identities().await?;
    let count = targets.len();
    tokio::spawn(async move {
        let answers: Vec<bool> = futures_util::stream::iter(targets)
            .map(|cp| {
                let (chargers, request) = (chargers.clone(), request.clone());
                async move {
                    chargers
                        .command(&cp, "ClearCache", request)
                        .await
                        .is_ok_and(|a| clear_cache_accepted(&a))
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let accepted = answers.iter().filter(|ok| **ok).count();
        tracing::info!(id_tag = %id_tag, chargers = answers.len(), accepted, "chargers told to clear their authorization caches");
        let details = json!({ "chargers": answers.len(), "accepted": accepted });
        let entry = AuditEntry::new(
            clock.now(),
            actor,
            "id_tag.clear_caches",
            id_tag,
            details,
            if accepted == answers.len() {
                "ACCEPTED"
            } else {
                "PARTIAL"
            },
        );
        audit::record(&*store, entry).await;
    });
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(status: IdTagStatus, expiry: Option<DateTime<Utc>>) -> IdTag {
        IdTag {
            id_tag: "T".into(),
            status,
            expiry_date: expiry,
            parent_id_tag: None,
            user_id: None,
        }
    }

    #[test]
    fn blocked_expired_and_invalid_tags_leave_caches() {
        let now = Utc::now();
        let hour = chrono::TimeDelta::hours(1);
        assert!(!must_leave_caches(&tag(IdTagStatus::Accepted, None), now));
        assert!(!must_leave_caches(
            &tag(IdTagStatus::Accepted, Some(now + hour)),
            now
        ));
        assert!(must_leave_caches(
            &tag(IdTagStatus::Accepted, Some(now - hour)),
            now
        ));
        assert!(must_leave_caches(&tag(IdTagStatus::Blocked, None), now));
        assert!(must_leave_caches(&tag(IdTagStatus::Expired, None), now));
        assert!(must_leave_caches(&tag(IdTagStatus::Invalid, None), now));
    }
}
