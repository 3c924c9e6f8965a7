//! evgate: the server binary's library — configuration, authentication, the
//! HTTP API, and the wiring that starts the crates around them. `main.rs` only parses the command line and calls in.

pub mod app;
pub mod auth;
pub mod config;
pub mod events;
pub mod http;
pub mod operator;
pub mod realtime;
pub mod refunds;
pub mod views;
pub mod workers;
