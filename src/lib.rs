//! evgate: the server binary's library — configuration, the keys tokens are
//! verified with, and the wiring that builds the crates into one gateway and
//! serves it. `main.rs` only parses the command line and calls in.

#![warn(missing_docs)]

pub mod app;
pub mod config;
pub mod demo;
pub mod keys;
pub mod metrics;
pub mod open_files;
pub mod operators;
pub mod refunds;
pub mod roaming;
pub mod serve;
pub mod workers;
