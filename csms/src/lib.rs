//! OCPP 1.6J and 2.0.1 central system: the WebSocket listener and its
//! handshake, the RPC framing both versions share, per-version handlers that
//! map charger messages onto the booking core's one update path, and the
//! charger-control adapter the booking core reserves connectors through.

#![warn(missing_docs)]

pub mod acks;
pub mod admission;
mod admit;
pub mod california;
pub mod certificates;
pub mod commands;
pub mod connection;
pub mod connectors;
pub mod context;
pub mod control;
pub mod costs;
pub mod credentials;
pub mod data_transfer;
pub mod device_model;
pub mod display;
pub mod domain;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod handshake;
pub mod journal;
pub mod local_list;
pub mod maintenance;
pub mod metrics;
pub mod password_gate;
pub mod power_cap;
pub mod presence;
pub mod registry;
pub mod rpc;
pub mod server;
pub mod session;
pub mod smart_charging;
pub mod tls;
pub mod v16;
pub mod v201;

pub use context::{CsmsConfig, Deps, HeldElsewhere, OnlyHere};
pub use control::OcppChargers;
pub use device_model::DeviceModel;
pub use presence::PresenceWriter;
pub use registry::Registry;
pub use server::{Csms, serve, serve_tls};
pub use v201::pending_start::PendingStarts;
