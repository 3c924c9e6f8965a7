//! evgate: the server binary's library — configuration, the SQL adapters of
//! the booking core's store, the HTTP API, and the wiring that starts them.

pub mod store;
