//! evgate: the server binary's library — configuration, authentication, the
//! SQL adapters of the booking core's store, the HTTP API, and the wiring
//! that starts them. `main.rs` only parses the command line and calls in.

pub mod app;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod events;
pub mod http;
pub mod operator;
pub mod realtime;
pub mod refunds;
pub mod store;
pub mod workers;
