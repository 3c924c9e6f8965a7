//! Local authorization lists (1.6 Local Auth List Management, 2.0.1 D01/D02):
//! evgate keeps the list each charger should hold ([`LocalList`], in the
//! store) and brings the charger to it — a differential update from the
//! version the charger is known to hold, else a full one, cut to the
//! entries one SendLocalList may carry. Lists are checked after a boot
//! (GetLocalListVersion, and the settings read with GetConfiguration /
//! GetVariables), after every change, and a booking's id tag is put on its
//! charger's list for the booking's window, so its driver can start while
//! the charger is offline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use booking::authorization::{self, Authorization};
use booking::events::Event;
use booking::model::{
    BookingStatus, Charger, IdTagStatus, ListChange, ListEntry, ListSync, LocalList, OcppVersion,
};
use booking::{Clock, Store};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::commands::{CommandError, SendCommand};
use crate::registry::Registry;

/// The id token type of an entry in 2.0.1: evgate issued a booking's tag
/// (`Central`, as in its ReserveNow); an operator's tags are taken to be
/// RFID cards.
fn token_type(entry: &ListEntry) -> &'static str {
    if entry.reservation_id.is_some() {
        "Central"
    } else {
        "ISO14443"
    }
}

/// One entry of a SendLocalList: a tag with its verdict, or (differential
/// only) without one, which deletes it.
fn authorization_data(
    version: OcppVersion,
    tag: &str,
    entry: Option<&ListEntry>,
    verdict: Option<&Authorization>,
) -> Value {
    match version {
        OcppVersion::V16 => {
            let mut data = json!({ "idTag": tag });
            if let Some(v) = verdict {
                data["idTagInfo"] = crate::v16::authorize::info_of(v);
            }
            data
        }
        OcppVersion::V201 => {
            let kind = entry.map_or("ISO14443", token_type);
            let mut data = json!({ "idToken": { "idToken": tag, "type": kind } });
            if let Some(v) = verdict {
                data["idTokenInfo"] = crate::v201::authorize::info_of(v);
            }
            data
        }
    }
}

/// Longest id tag each version carries (1.6 CiString20, 2.0.1 36).
fn fits(version: OcppVersion, tag: &str) -> bool {
    tag.chars().count()
        <= match version {
            OcppVersion::V16 => 20,
            OcppVersion::V201 => 36,
        }
}

/// SendLocalList payloads for one update: the first says Full or
/// Differential, the rest are Differential (a list longer than one message
/// takes, D01.FR.11), all with the list's version.
pub fn send_local_list(
    version: OcppVersion,
    list_version: i32,
    full: bool,
    items: Vec<Value>,
    max_items: Option<u32>,
) -> Vec<Value> {
    let per = max_items.map_or(usize::MAX, |n| (n as usize).max(1));
    let mut chunks: Vec<Vec<Value>> = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(per).collect());
    }
    if chunks.is_empty() {
        chunks.push(Vec::new());
    }
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let kind = if full && i == 0 {
                "Full"
            } else {
                "Differential"
            };
            let mut p = match version {
                OcppVersion::V16 => json!({ "listVersion": list_version, "updateType": kind }),
                OcppVersion::V201 => json!({ "versionNumber": list_version, "updateType": kind }),
            };
            // Left out when empty: a Full update without one clears the list.
            if !chunk.is_empty() {
                p["localAuthorizationList"] = json!(chunk);
            }
            p
        })
        .collect()
}

/// The settings to read after a boot: whether the charger uses a local
/// list and a cache, and how many entries one message may carry. 2.0.1
/// asks one variable per call: a charger's ItemsPerMessageGetVariables may
/// be smaller than three, and is not known before its device model is.
pub fn settings_queries(version: OcppVersion) -> Vec<(&'static str, Value)> {
    match version {
        OcppVersion::V16 => vec![(
            "GetConfiguration",
            json!({ "key": ["LocalAuthListEnabled", "AuthorizationCacheEnabled",
                "SendLocalListMaxLength"] }),
        )],
        OcppVersion::V201 => [
            ("LocalAuthListCtrlr", "Enabled"),
            ("AuthCacheCtrlr", "Enabled"),
            ("LocalAuthListCtrlr", "ItemsPerMessage"),
        ]
        .into_iter()
        .map(|(c, v)| {
            let item = json!({ "component": {"name": c}, "variable": {"name": v} });
            ("GetVariables", json!({ "getVariableData": [item] }))
        })
        .collect(),
    }
}

/// Reads a settings answer into `sync` (what the charger does not know
/// stays as it was).
pub fn read_settings(version: OcppVersion, answer: &Value, sync: &mut ListSync) {
    let flag = |v: &str| match v.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let pairs: Vec<(String, String)> = match version {
        OcppVersion::V16 => answer["configurationKey"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| {
                Some((
                    k["key"].as_str()?.to_owned(),
                    k["value"].as_str()?.to_owned(),
                ))
            })
            .collect(),
        OcppVersion::V201 => answer["getVariableResult"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["attributeStatus"] == "Accepted")
            .filter_map(|r| {
                let name = format!(
                    "{}.{}",
                    r["component"]["name"].as_str()?,
                    r["variable"]["name"].as_str()?
                );
                Some((name, r["attributeValue"].as_str()?.to_owned()))
            })
            .collect(),
    };
    for (key, value) in pairs {
        match key.as_str() {
            "LocalAuthListEnabled" | "LocalAuthListCtrlr.Enabled" => {
                sync.list_enabled = flag(&value).or(sync.list_enabled)
            }
            "AuthorizationCacheEnabled" | "AuthCacheCtrlr.Enabled" => {
                sync.cache_enabled = flag(&value).or(sync.cache_enabled)
            }
            "SendLocalListMaxLength" | "LocalAuthListCtrlr.ItemsPerMessage" => {
                sync.max_items = value.trim().parse().ok().or(sync.max_items)
            }
            _ => {}
        }
    }
}

/// The version a GetLocalListVersion answer names: `None` when the charger
/// has no list support (1.6 -1) or the answer is unreadable.
pub fn reported_version(version: OcppVersion, answer: &Value) -> Option<i32> {
    let field = match version {
        OcppVersion::V16 => "listVersion",
        OcppVersion::V201 => "versionNumber",
    };
    answer[field]
        .as_i64()
        .and_then(|v| i32::try_from(v).ok())
        .filter(|v| *v >= 0)
}

/// Keeps chargers' local lists in step with evgate's.
#[derive(Debug, Clone, Default)]
pub struct LocalLists {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    registry: Arc<Registry>,
    /// Whether a confirmed booking's tag goes on its charger's list.
    bookings: bool,
    /// One sync at a time per charger in this process.
    turns: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
}

/// Why a list could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] booking::Error),
    /// The charger has never connected: its version is not known.
    #[error("the charger has not connected yet")]
    NeverConnected,
}

impl LocalLists {
    /// Lists in `store`; chargers connected here reached through `registry`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        registry: Arc<Registry>,
        bookings: bool,
    ) -> Self {
        Self {
            inner: Some(Arc::new(Inner {
                store,
                clock,
                registry,
                bookings,
                turns: Mutex::default(),
            })),
        }
    }

    /// Sends nothing (tests that build their own dependencies).
    pub fn none() -> Self {
        Self::default()
    }

    /// After an accepted boot of a charger evgate keeps a list for: checks
    /// what it holds and updates it when it differs (it may have lost its
    /// list, or missed a change while away).
    pub fn after_boot(&self, charger: &Charger, version: OcppVersion) {
        let Some(inner) = self.inner.clone() else {
            return;
        };
        let this = self.clone();
        let mut charger = charger.clone();
        charger.ocpp_version = Some(version);
        tokio::spawn(async move {
            let via = inner.registry.clone();
            if let Err(e) = this.sync(&charger, &*via, true).await {
                tracing::warn!(charger.id = %charger.charge_point_id, error = %e, "local list not checked after boot");
            }
        });
    }

    /// Brings the charger's list to evgate's version through `via`; with
    /// `check`, asks the charger first what it holds (and its settings).
    /// Returns what was recorded.
    pub async fn sync(
        &self,
        charger: &Charger,
        via: &dyn SendCommand,
        check: bool,
    ) -> Result<ListSync, SyncError> {
        let Some(inner) = &self.inner else {
            return Ok(ListSync::default());
        };
        let version = charger.ocpp_version.ok_or(SyncError::NeverConnected)?;
        let turn = inner.turn(charger.id);
        let _turn = turn.lock().await;
        let cp = charger.charge_point_id.as_str();
        let mut list = inner.store.local_list(charger.id).await?;
        let mut sync = list.sync.clone();
        if check {
            for (action, query) in settings_queries(version) {
                if let Ok(answer) = via.command(cp, action, query).await {
                    read_settings(version, &answer, &mut sync);
                }
            }
            let reported = match via.command(cp, "GetLocalListVersion", json!({})).await {
                Ok(answer) => reported_version(version, &answer),
                Err(e) => return Ok(inner.record(charger.id, sync, Some(unsent(&e))).await?),
            };
            // A version evgate did not give it (or none): all of the list.
            sync.charger_version =
                reported.filter(|r| *r == list.version || Some(*r) == list.sync.charger_version);
        }
        // Changes that land while an update is out are sent after it.
        let mut full_retry = false;
        for _ in 0..4 {
            let holds = if full_retry {
                None
            } else {
                sync.charger_version
            };
            list.sync.charger_version = sync.charger_version;
            let Some(update) = list.update_for(holds) else {
                break;
            };
            let items = inner.items(version, &update).await?;
            let mut outcome = "Accepted".to_owned();
            for payload in
                send_local_list(version, list.version, update.full, items, sync.max_items)
            {
                outcome = match via.command(cp, "SendLocalList", payload).await {
                    Ok(answer) => answer["status"].as_str().unwrap_or("Unreadable").to_owned(),
                    Err(e) => unsent(&e).to_owned(),
                };
                if outcome != "Accepted" {
                    break;
                }
            }
            sync.outcome = Some(outcome.clone());
            match outcome.as_str() {
                "Accepted" => sync.charger_version = Some(list.version),
                // The charger's list is not what evgate thought: all of it.
                "VersionMismatch" | "Failed" if !update.full && !full_retry => {
                    full_retry = true;
                    continue;
                }
                "Failed" | "VersionMismatch" | "Unreadable" => sync.charger_version = None,
                _ => {}
            }
            if outcome != "Accepted" {
                break;
            }
            full_retry = false;
            list = inner.store.local_list(charger.id).await?;
        }
        Ok(inner.record(charger.id, sync, None).await?)
    }

    /// Follows bookings: a confirmed booking's tag goes on its charger's
    /// list until the booking's end; when the booking completes, is
    /// cancelled or is a no-show, it comes off. `via` reaches the charger
    /// wherever it is connected.
    pub async fn follow(self, mut events: broadcast::Receiver<Event>, via: Arc<dyn SendCommand>) {
        let Some(inner) = self.inner.clone() else {
            return;
        };
        if !inner.bookings {
            return;
        }
        loop {
            let booking = match events.recv().await {
                Ok(Event::BookingChanged { booking }) => booking,
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "local lists: missed booking events");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let (Some(reservation_id), Some(id_tag)) = (booking.reservation_id, booking.id_tag)
            else {
                continue;
            };
            let change = match booking.status {
                BookingStatus::Confirmed => ListChange::Reserve {
                    id_tag,
                    reservation_id,
                    until: booking.end_ts,
                },
                BookingStatus::Completed | BookingStatus::Cancelled | BookingStatus::NoShow => {
                    ListChange::Release { reservation_id }
                }
                BookingStatus::Pending | BookingStatus::Active => continue,
            };
            let this = self.clone();
            let via = via.clone();
            let connector_id = booking.connector_id;
            tokio::spawn(async move {
                if let Err(e) = this.change_for_booking(connector_id, change, &*via).await {
                    tracing::warn!(error = %e, "a booking's local list entry was not changed");
                }
            });
        }
    }

    /// An operator's change to a charger's list, then the charger brought
    /// to it (when it has ever connected). Returns the list and what was
    /// recorded of the charger.
    pub async fn change(
        &self,
        charger: &Charger,
        change: &ListChange,
        via: &dyn SendCommand,
    ) -> Result<(LocalList, Option<ListSync>), SyncError> {
        let Some(inner) = &self.inner else {
            return Ok((LocalList::empty(charger.id), None));
        };
        inner.store.change_local_list(charger.id, change).await?;
        let sync = match charger.ocpp_version {
            Some(_) => Some(self.sync(charger, via, false).await?),
            None => None,
        };
        Ok((inner.store.local_list(charger.id).await?, sync))
    }

    /// A tag's record changed (status, expiry, group): every list holding
    /// it sends it again, in the background. Returns how many lists.
    pub async fn touch(&self, id_tag: &str, via: Arc<dyn SendCommand>) -> booking::Result<usize> {
        let Some(inner) = &self.inner else {
            return Ok(0);
        };
        let chargers = inner.store.chargers_listing(id_tag).await?;
        for charger_id in &chargers {
            inner
                .store
                .change_local_list(*charger_id, &ListChange::Touch(id_tag.to_owned()))
                .await?;
            let Some(charger) = inner.store.charger(*charger_id).await? else {
                continue;
            };
            if charger.ocpp_version.is_some() {
                let (this, via) = (self.clone(), via.clone());
                tokio::spawn(async move {
                    if let Err(e) = this.sync(&charger, &*via, false).await {
                        tracing::warn!(charger.id = %charger.charge_point_id, error = %e, "local list not updated");
                    }
                });
            }
        }
        Ok(chargers.len())
    }

    async fn change_for_booking(
        &self,
        connector_id: Uuid,
        change: ListChange,
        via: &dyn SendCommand,
    ) -> Result<(), SyncError> {
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        let Some(connector) = inner.store.connector(connector_id).await? else {
            return Ok(());
        };
        let Some(charger) = inner.store.charger(connector.charger_id).await? else {
            return Ok(());
        };
        let before = inner.store.local_list_version(charger.id).await?;
        let after = inner.store.change_local_list(charger.id, &change).await?;
        if after.version != before && charger.ocpp_version.is_some() {
            self.sync(&charger, via, false).await?;
        }
        Ok(())
    }
}

/// How a call that got no answer is recorded.
fn unsent(e: &CommandError) -> &'static str {
    match e {
        CommandError::Offline => "Offline",
        CommandError::Charger(_) | CommandError::Relayed(_) => "NotSupported",
        _ => "Unanswered",
    }
}

impl Inner {
    fn turn(&self, charger_id: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
        turns.retain(|_, t| Arc::strong_count(t) > 1);
        turns.entry(charger_id).or_default().clone()
    }

    async fn record(
        &self,
        charger_id: Uuid,
        mut sync: ListSync,
        outcome: Option<&str>,
    ) -> booking::Result<ListSync> {
        if let Some(outcome) = outcome {
            sync.outcome = Some(outcome.to_owned());
        }
        sync.at = Some(self.clock.now());
        self.store.record_local_list_sync(charger_id, &sync).await?;
        Ok(sync)
    }

    /// The update's entries as AuthorizationData: each tag with evgate's
    /// verdict on it now (a booking's tag is Accepted until the booking's
    /// end unless its own record says otherwise), deletions without one.
    async fn items(
        &self,
        version: OcppVersion,
        update: &booking::model::ListUpdate<'_>,
    ) -> booking::Result<Vec<Value>> {
        let now = self.clock.now();
        let mut items = Vec::with_capacity(update.upserts.len() + update.removals.len());
        for entry in &update.upserts {
            if !fits(version, &entry.id_tag) {
                tracing::warn!(id_tag = %entry.id_tag, "too long for this charger's local list; left off");
                continue;
            }
            let mut verdict = authorization::authorize(&*self.store, &entry.id_tag, now).await?;
            if let Some(until) = entry.until {
                if verdict.status == IdTagStatus::Invalid && until > now {
                    verdict.status = IdTagStatus::Accepted;
                }
                verdict.expires_at = Some(verdict.expires_at.map_or(until, |e| e.min(until)));
            }
            items.push(authorization_data(
                version,
                &entry.id_tag,
                Some(entry),
                Some(&verdict),
            ));
        }
        for tag in &update.removals {
            if fits(version, tag) {
                items.push(authorization_data(version, tag, None, None));
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
#[path = "local_list_tests.rs"]
mod tests;
