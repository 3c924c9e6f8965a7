//! The booking core's one error type. The HTTP layer maps it once to a status
//! and the error envelope; the CSMS maps it to a CALLERROR.

/// Everything that can go wrong in the booking core or its store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent something that breaks a rule; `field` names the input.
    #[error("{field}: {message}")]
    Validation {
        /// The input's name as the caller spelled it, e.g. `startTs`.
        field: String,
        /// What is wrong with it, for the caller to read.
        message: String,
    },

    /// The thing asked for does not exist (or is not the caller's to see).
    #[error("{what} {id} not found")]
    NotFound {
        /// The kind of thing, e.g. `station`, `booking`.
        what: &'static str,
        /// The id the caller asked for.
        id: String,
    },

    /// A uniqueness rule: the thing already exists.
    #[error("{0}")]
    Conflict(String),

    /// Two live claims would overlap on one connector.
    #[error("the slot is already held or booked on this connector")]
    Overlap,

    /// The user already holds as many slots as a user may at once.
    #[error("you already hold {0} slots: confirm or let one go before holding another")]
    TooManyHolds(u32),

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
    /// Builds [`Error::Validation`]; `field` names the input as the caller
    /// spelled it (`startTs`).
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Builds [`Error::NotFound`]: `what` is the kind of thing (`station`),
    /// `id` the one asked for.
    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }
}

/// The booking core's result type; the error is [`Error`] unless said
/// otherwise.
pub type Result<T, E = Error> = std::result::Result<T, E>;
