//! Operator controls that reach chargers: credential rotation (queued for
//! chargers that are away), and telling chargers to forget cached id tags.
//! The HTTP edge is `evgate-api` (`chargers`, `id_tags`); every action is
//! written to the audit log (`booking::audit`).

#![warn(missing_docs)]

pub mod credentials;
pub mod id_tags;
pub mod sealed;

pub use credentials::{CredentialChange, CredentialRotation, Rotation, RotationError};
pub use sealed::Sealer;
