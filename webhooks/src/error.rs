//! The webhooks crate's one error type; the HTTP layer maps it once to a
//! status and the error envelope.

/// Everything that can go wrong accepting a webhook or managing vendors and the
/// inbox.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing, malformed or wrong authentication: nothing was written.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but the connector is another vendor's.
    #[error("{0}")]
    Forbidden(String),
    /// The body breaks the contract; `field` names the input.
    #[error("{field}: {message}")]
    Validation {
        /// The input's name as the vendor spelled it, e.g. `vendorSessionId`.
        field: String,
        /// What is wrong with it, for the vendor to read.
        message: String,
    },
    /// An `Idempotency-Key` the vendor already used for another body.
    #[error("Idempotency-Key {0:?} was already used for a different report")]
    KeyReused(String),
    /// The vendor sends more than its rate (`RATE_LIMIT_WEBHOOKS_PER_VENDOR`).
    #[error("this vendor sends webhooks faster than its limit; try again later")]
    RateLimited(booking::rate::RetryAfter),
    /// An inbox entry whose stored report this build cannot read (written by
    /// an earlier build): it cannot be applied, so it is not requeued.
    #[error(
        "webhook {id}'s stored report cannot be read ({reason}), so it can never be applied as \
         stored: discard the entry (and ask the vendor to send the report again), or repair the \
         stored row and retry"
    )]
    Unreadable {
        /// The entry.
        id: uuid::Uuid,
        /// Why its report cannot be read.
        reason: String,
    },
    /// From the booking core or its store (not found, conflicts, outages).
    #[error(transparent)]
    Core(#[from] booking::Error),
}

impl WebhookError {
    /// Builds [`WebhookError::Validation`]; `field` names the input as the
    /// vendor spelled it (`vendorSessionId`).
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The webhooks' result type; the error is [`WebhookError`] unless said
/// otherwise.
pub type Result<T, E = WebhookError> = std::result::Result<T, E>;
