//! A charger's local authorization list: the id tags it may accept on its
//! own, offline included. evgate keeps the list it wants each charger to
//! hold, numbered by version, and what the charger last said it holds, so
//! it can send only what changed since (a differential update) or all of
//! it (a full one).

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One id tag on a charger's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The tag.
    pub id_tag: String,
    /// The list version in which the entry last changed: an update from
    /// version `v` carries the entries changed after `v`.
    pub changed_in: i32,
    /// Taken off in `changed_in`; kept (a tombstone) until the charger holds
    /// that version, so a differential update can tell it to delete.
    pub removed: bool,
    /// Put there for a booking: its reservation, so the booking's end takes
    /// it off again. `None` for an operator's entry.
    pub reservation_id: Option<i32>,
    /// The end of the booking's window: the charger is told the tag
    /// expires then.
    pub until: Option<DateTime<Utc>>,
}

/// What the charger said about its list, as last heard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListSync {
    /// The version the charger holds: confirmed by an Accepted
    /// SendLocalList, or read back with GetLocalListVersion. `None` when
    /// unknown.
    pub charger_version: Option<i32>,
    /// The last update's outcome (`Accepted`, `Failed`, `VersionMismatch`,
    /// `NotSupported`) or why it was not sent (`Offline`, `Unanswered`).
    pub outcome: Option<String>,
    /// When that was.
    pub at: Option<DateTime<Utc>>,
    /// `LocalAuthListEnabled` (1.6) / `LocalAuthListCtrlr.Enabled` (2.0.1).
    pub list_enabled: Option<bool>,
    /// `AuthorizationCacheEnabled` (1.6) / `AuthCacheCtrlr.Enabled` (2.0.1).
    pub cache_enabled: Option<bool>,
    /// Entries one SendLocalList may carry (`SendLocalListMaxLength`,
    /// `LocalAuthListCtrlr.ItemsPerMessage`).
    pub max_items: Option<u32>,
}

/// A charger's list as evgate wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalList {
    /// The charger.
    pub charger_id: Uuid,
    /// Bumped by every change; 0 before the first (no list).
    pub version: i32,
    /// Entries by tag, tombstones included.
    pub entries: Vec<ListEntry>,
    /// What the charger said.
    pub sync: ListSync,
}

/// A change to a charger's list; each bumps its version when it changes
/// anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListChange {
    /// The operator's entries become exactly these (booking entries stay).
    Replace(Vec<String>),
    /// Operator entries added.
    Add(Vec<String>),
    /// Operator entries taken off.
    Remove(Vec<String>),
    /// A booking's tag, for its window (no change when an operator listed
    /// the tag already).
    Reserve {
        /// The booking's id tag.
        id_tag: String,
        /// Its reservation on the charger.
        reservation_id: i32,
        /// The end of its window.
        until: DateTime<Utc>,
    },
    /// The booking behind this reservation ended: its entry goes.
    Release {
        /// The reservation.
        reservation_id: i32,
    },
    /// The tag's record changed (status, expiry, group): sent again.
    Touch(String),
}

impl LocalList {
    /// No list yet.
    pub fn empty(charger_id: Uuid) -> Self {
        Self {
            charger_id,
            version: 0,
            entries: Vec::new(),
            sync: ListSync::default(),
        }
    }

    /// The entries the charger should hold.
    pub fn listed(&self) -> impl Iterator<Item = &ListEntry> {
        self.entries.iter().filter(|e| !e.removed)
    }

    /// Applies `change`; returns the tags whose entries changed (each now
    /// carrying the new version), empty when nothing did.
    pub fn apply(&mut self, change: &ListChange) -> Vec<String> {
        let next = self.version + 1;
        let mut touched = Vec::new();
        match change {
            ListChange::Replace(tags) => {
                for e in &mut self.entries {
                    let keep = tags.contains(&e.id_tag);
                    if e.reservation_id.is_none() && !e.removed && !keep {
                        e.removed = true;
                        e.changed_in = next;
                        touched.push(e.id_tag.clone());
                    }
                }
                touched.extend(self.add(tags, next));
            }
            ListChange::Add(tags) => touched.extend(self.add(tags, next)),
            ListChange::Remove(tags) => {
                for e in &mut self.entries {
                    if tags.contains(&e.id_tag) && e.reservation_id.is_none() && !e.removed {
                        e.removed = true;
                        e.changed_in = next;
                        touched.push(e.id_tag.clone());
                    }
                }
            }
            ListChange::Reserve {
                id_tag,
                reservation_id,
                until,
            } => {
                let entry = ListEntry {
                    id_tag: id_tag.clone(),
                    changed_in: next,
                    removed: false,
                    reservation_id: Some(*reservation_id),
                    until: Some(*until),
                };
                match self.entries.iter_mut().find(|e| &e.id_tag == id_tag) {
                    Some(e) if !e.removed && e.reservation_id.is_none() => {}
                    Some(e) if !e.removed && e.until.is_some_and(|u| u >= *until) => {}
                    Some(e) => *e = entry,
                    None => self.entries.push(entry),
                }
                if self.entries.iter().any(|e| e.changed_in == next) {
                    touched.push(id_tag.clone());
                }
            }
            ListChange::Release { reservation_id } => {
                for e in &mut self.entries {
                    if e.reservation_id == Some(*reservation_id) && !e.removed {
                        e.removed = true;
                        e.changed_in = next;
                        touched.push(e.id_tag.clone());
                    }
                }
            }
            ListChange::Touch(tag) => {
                for e in &mut self.entries {
                    if &e.id_tag == tag && !e.removed {
                        e.changed_in = next;
                        touched.push(e.id_tag.clone());
                    }
                }
            }
        }
        if !touched.is_empty() {
            self.version = next;
        }
        touched
    }

    /// Operator entries for `tags`: new, brought back, or a booking's
    /// entry turned into the operator's (which has no end).
    fn add(&mut self, tags: &[String], next: i32) -> Vec<String> {
        let mut touched = Vec::new();
        for tag in tags {
            match self.entries.iter_mut().find(|e| &e.id_tag == tag) {
                Some(e) if !e.removed && e.reservation_id.is_none() => {}
                Some(e) => {
                    e.removed = false;
                    e.reservation_id = None;
                    e.until = None;
                    e.changed_in = next;
                    touched.push(tag.clone());
                }
                None => {
                    self.entries.push(ListEntry {
                        id_tag: tag.clone(),
                        changed_in: next,
                        removed: false,
                        reservation_id: None,
                        until: None,
                    });
                    touched.push(tag.clone());
                }
            }
        }
        touched
    }

    /// What to send a charger that holds `holds` (its reported version) to
    /// bring it to this version; `None` when it is there already (or there
    /// never was a list).
    pub fn update_for(&self, holds: Option<i32>) -> Option<ListUpdate<'_>> {
        if self.version == 0 || holds == Some(self.version) {
            return None;
        }
        // A differential update only from a version evgate knows the
        // charger holds, and only forward.
        let from =
            holds.filter(|h| *h > 0 && *h < self.version && Some(*h) == self.sync.charger_version);
        Some(match from {
            Some(from) => ListUpdate {
                full: false,
                upserts: self
                    .entries
                    .iter()
                    .filter(|e| e.changed_in > from && !e.removed)
                    .collect(),
                removals: self
                    .entries
                    .iter()
                    .filter(|e| e.changed_in > from && e.removed)
                    .map(|e| e.id_tag.as_str())
                    .collect(),
            },
            None => ListUpdate {
                full: true,
                upserts: self.listed().collect(),
                removals: Vec::new(),
            },
        })
    }
}

/// One update of a charger's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUpdate<'a> {
    /// Full (replace everything) or differential.
    pub full: bool,
    /// Entries to add or update.
    pub upserts: Vec<&'a ListEntry>,
    /// Tags to delete (differential only).
    pub removals: Vec<&'a str>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    fn names<'a>(update: &'a ListUpdate<'a>) -> Vec<&'a str> {
        update.upserts.iter().map(|e| e.id_tag.as_str()).collect()
    }

    fn at(h: u32) -> DateTime<Utc> {
        format!("2026-12-04T{h:02}:00:00Z").parse().unwrap()
    }

    #[test]
    fn each_change_that_changes_something_bumps_the_version_once() {
        let mut list = LocalList::empty(Uuid::nil());
        assert_eq!(
            list.apply(&ListChange::Replace(tags(&["A", "B"]))),
            tags(&["A", "B"])
        );
        assert_eq!(list.version, 1);
        assert!(list.apply(&ListChange::Add(tags(&["A"]))).is_empty());
        assert!(list.apply(&ListChange::Remove(tags(&["Z"]))).is_empty());
        assert_eq!(list.version, 1, "no-op changes keep the version");
        assert_eq!(
            list.apply(&ListChange::Replace(tags(&["B", "C"]))),
            tags(&["A", "C"])
        );
        assert_eq!(list.version, 2);
        let listed: Vec<_> = list.listed().map(|e| e.id_tag.as_str()).collect();
        assert_eq!(listed, ["B", "C"]);
    }

    #[test]
    fn a_charger_at_a_known_version_gets_only_what_changed_since() {
        let mut list = LocalList::empty(Uuid::nil());
        list.apply(&ListChange::Replace(tags(&["A", "B"])));
        // Nothing known of the charger: full.
        let update = list.update_for(None).unwrap();
        assert!(update.full);
        assert_eq!(names(&update), ["A", "B"]);
        list.sync.charger_version = Some(1);
        assert_eq!(list.update_for(Some(1)), None, "it holds this version");
        list.apply(&ListChange::Remove(tags(&["A"])));
        list.apply(&ListChange::Add(tags(&["C"])));
        let update = list.update_for(Some(1)).unwrap();
        assert!(!update.full);
        assert_eq!(names(&update), ["C"]);
        assert_eq!(update.removals, ["A"]);
        // A charger that says another version than evgate last heard (it
        // lost its list, or someone else set one): full again.
        let update = list.update_for(Some(2)).unwrap();
        assert!(update.full);
        assert_eq!(names(&update), ["B", "C"]);
        assert!(list.update_for(Some(0)).unwrap().full);
    }

    #[test]
    fn a_bookings_entry_lives_for_its_reservation_and_yields_to_the_operators() {
        let mut list = LocalList::empty(Uuid::nil());
        let reserve = ListChange::Reserve {
            id_tag: "BK-1".into(),
            reservation_id: 7,
            until: at(12),
        };
        assert_eq!(list.apply(&reserve), tags(&["BK-1"]));
        assert!(list.apply(&reserve).is_empty(), "the same booking again");
        // The operator's Replace keeps booking entries.
        list.apply(&ListChange::Replace(tags(&["OP"])));
        assert_eq!(list.listed().count(), 2);
        assert_eq!(
            list.apply(&ListChange::Release { reservation_id: 7 }),
            tags(&["BK-1"])
        );
        let listed: Vec<_> = list.listed().map(|e| e.id_tag.as_str()).collect();
        assert_eq!(listed, ["OP"]);
        // A tag the operator lists is not taken by a booking, nor released
        // with it.
        list.apply(&ListChange::Reserve {
            id_tag: "OP".into(),
            reservation_id: 8,
            until: at(13),
        });
        list.apply(&ListChange::Release { reservation_id: 8 });
        let op = list.entries.iter().find(|e| e.id_tag == "OP").unwrap();
        assert!(!op.removed && op.until.is_none() && op.reservation_id.is_none());
    }

    #[test]
    fn touching_a_tag_sends_it_again() {
        let mut list = LocalList::empty(Uuid::nil());
        list.apply(&ListChange::Add(tags(&["A", "B"])));
        list.sync.charger_version = Some(1);
        assert_eq!(list.apply(&ListChange::Touch("B".into())), tags(&["B"]));
        assert!(list.apply(&ListChange::Touch("nobody".into())).is_empty());
        assert_eq!(names(&list.update_for(Some(1)).unwrap()), ["B"]);
    }
}
