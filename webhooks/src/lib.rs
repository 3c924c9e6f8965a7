//! Vendor webhooks: a vendor cloud reports what its chargers do, signed
//! with its secret; evgate acknowledges once the report is durable in the
//! inbox, then applies it through the booking core's update path — the same
//! calls the CSMS makes — so the same facts leave the same rows and events
//! whichever way they arrived.
//!
//! Framework-free: the HTTP adapter in the root crate hands over headers and
//! the raw body ([`SignedRequest`]) and maps [`WebhookError`] to a status.

#![warn(missing_docs)]

mod accept;
mod apply;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod health;
pub mod inbox;
mod lookups;
pub mod report;
mod service;
pub mod signature;
pub mod store;
pub mod vendor;

pub use accept::SignedRequest;
pub use apply::{transaction, transaction_key};
pub use error::{Result, WebhookError};
pub use health::{ApplierHealth, STALL_AFTER};
pub use inbox::{InboxEntry, InboxRecord, InboxState, Outcome, StoredReport};
pub use report::Kind;
pub use service::{VendorWebhooks, WebhookPorts};
pub use store::WebhookStore;
pub use vendor::Vendor;
