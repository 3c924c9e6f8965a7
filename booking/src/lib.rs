//! evgate's domain core.
//!
//! Stations, chargers, connectors, bookings, charging sessions, id tags and the
//! refund outbox, with the rules that keep them consistent. Everything that
//! touches the outside world is a port (a trait) defined here and implemented
//! at the edges: [`store::Store`] by the SQL adapters, [`clock::Clock`] by the
//! system clock or a manual one in tests. This crate knows nothing of OCPP,
//! WebSockets or HTTP frameworks.

#![warn(missing_docs)]

pub mod audit;
pub mod authorization;
pub mod cache;
pub mod catalog;
pub mod charger_control;
pub mod clock;
pub mod credentials;
pub mod error;
pub mod events;
pub mod geo;
pub mod holds;
pub mod id_tags;
pub mod model;
pub mod operators;
pub mod provisioning;
pub mod rate;
pub mod refunds;
pub mod secrets;
pub mod service;
pub mod store;
pub mod sync;
pub mod tariffs;

pub use clock::{Clock, ManualClock, SystemClock, backoff, iso};
pub use error::{Error, Result};
pub use store::Store;
