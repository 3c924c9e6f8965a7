//! The booking core's one error type. The HTTP layer maps it once to a status
//! and the error envelope; the CSMS maps it to a CALLERROR.

/// Everything that can go wrong in the booking core or its store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent something that breaks a rule; `field` names the input.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },

    /// The thing asked for does not exist (or is not the caller's to see).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },

    /// A uniqueness rule: the thing already exists.
    #[error("{0}")]
    Conflict(String),

    /// Two live claims would overlap on one connector.
    #[error("the slot is already held or booked on this connector")]
    Overlap,

    /// The hold exists but its time ran out before it was confirmed.
    #[error("the hold has expired; create a new one")]
    HoldExpired,

    /// The connector cannot take the booking right now: its status, or the
    /// charger's answer to ReserveNow, says so.
    #[error("{0}")]
    ConnectorUnavailable(String),

    /// The booking is in a state that does not allow this.
    #[error("{0}")]
    InvalidState(String),

    /// The store cannot be reached right now; retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),

    /// A fault on our side; the details are for the log, not the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
