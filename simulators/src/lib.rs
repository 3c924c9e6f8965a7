//! Simulated OCPP chargers of both versions and the `evgate-sim` fleet CLI.
//!
//! - [`model`]: the hardware (connectors, reservations, transactions,
//!   meters) as plain code with time passed in;
//! - [`dialect`]: OCPP 1.6J and 2.0.1 — the messages the hardware's events
//!   become, and the answers to every command evgate sends;
//! - [`charger`]: one simulated charger's connection task (reconnects with
//!   backoff and jitter, queues transaction messages while offline);
//! - [`fleet`]: many chargers, the [`scenario`]s, [`metrics`] and the report;
//! - [`cli`]: `evgate-sim run …`.

#![warn(missing_docs)]

pub mod charger;
pub mod cli;
pub mod dialect;
pub mod fleet;
pub mod frame;
pub mod metrics;
pub mod misbehaviour;
pub mod model;
pub mod profiles;
pub mod provision;
pub mod scenario;
pub mod screen;
pub mod transport;
