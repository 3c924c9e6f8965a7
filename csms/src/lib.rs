//! OCPP 1.6J and 2.0.1 central system: listeners, RPC framing, per-version
//! handlers and charger sessions. It implements the booking core's
//! charger-control port.
//!
//! Empty until the CSMS issue (#3) lands; the crate exists so the workspace
//! already has the shape of the design card and dependencies point inward.
