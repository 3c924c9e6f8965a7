//! OCPI's storage port. The store crate implements it beside the booking
//! core's store, on the same database.

use async_trait::async_trait;
use booking::Result;
use booking::model::Station;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::bookings::OcpiBooking;
use crate::locations::LocationDetails;
use crate::partner::Partner;
use crate::push::{Backlog, Push};
use crate::tokens::{StoredToken, TokenKey};

/// Where partners, published locations and owed pushes persist.
#[async_trait]
pub trait OcpiStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new partner.
    async fn insert_partner(&self, partner: &Partner) -> Result<()>;
    /// A partner by evgate's id.
    async fn partner(&self, id: Uuid) -> Result<Option<Partner>>;
    /// The partner holding the token whose hash this is.
    async fn partner_by_token(&self, token_hash: &str) -> Result<Option<Partner>>;
    /// Every partner, oldest first.
    async fn partners(&self) -> Result<Vec<Partner>>;
    /// Writes `partner` over the stored one if that still holds the token
    /// `expected_token_hash` (so one token A registers once, even when two
    /// requests race); `false` otherwise. `Conflict` when another
    /// registered partner has its country and party id.
    async fn replace_partner(&self, partner: &Partner, expected_token_hash: &str) -> Result<bool>;
    /// Removes a partner and what is owed to it; `false` if unknown.
    async fn delete_partner(&self, id: Uuid) -> Result<bool>;

    /// Sets what OCPI needs of a station (`NotFound` for an unknown one).
    async fn set_location(&self, details: &LocationDetails) -> Result<()>;
    /// Every published station with its OCPI details, oldest station first.
    async fn published_locations(&self) -> Result<Vec<(Station, LocationDetails)>>;
    /// A page of published stations (oldest first) whose Location changed
    /// in `[from, to)` — its details, its station, or a connector's status
    /// — and how many there are.
    async fn published_page(
        &self,
        window: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<(Station, LocationDetails)>, u64)>;
    /// One published station.
    async fn published_location(
        &self,
        station_id: Uuid,
    ) -> Result<Option<(Station, LocationDetails)>>;

    /// Records a booking a partner made (`Conflict` when its request id is
    /// taken).
    async fn insert_ocpi_booking(&self, booking: &OcpiBooking) -> Result<()>;
    /// Forgets the OCPI side of a booking (a replaced reservation).
    async fn delete_ocpi_booking(&self, booking_id: Uuid) -> Result<()>;
    /// Writes a booking's requests, cancellation and change time.
    async fn update_ocpi_booking(&self, booking: &OcpiBooking) -> Result<()>;
    /// The OCPI side of an evgate booking, if a partner made it.
    async fn ocpi_booking(&self, booking_id: Uuid) -> Result<Option<OcpiBooking>>;
    /// A partner's booking by its request id.
    async fn ocpi_booking_by_request(
        &self,
        partner_id: Uuid,
        request_id: &str,
    ) -> Result<Option<OcpiBooking>>;
    /// Every booking a partner made, oldest first.
    async fn ocpi_bookings_of(&self, partner_id: Uuid) -> Result<Vec<OcpiBooking>>;

    /// Stores a partner's token (replacing the one at its key).
    async fn put_ocpi_token(&self, key: &TokenKey, token: &StoredToken) -> Result<()>;
    /// A token by its key.
    async fn ocpi_token(&self, key: &TokenKey) -> Result<Option<StoredToken>>;
    /// The tokens of any partner with this uid (what a charger sends).
    async fn ocpi_tokens_by_uid(&self, uid: &str) -> Result<Vec<(TokenKey, StoredToken)>>;

    /// The tariff each connector of these published stations charges by
    /// (its own, else its station's). A page's stations, not the
    /// network's: a pull reads what it answers with.
    async fn published_tariffs(&self, stations: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>>;

    /// Queues pushes; a newer status replaces an undelivered older one for
    /// the same partner and EVSE (keeping its retry schedule).
    async fn queue_pushes(&self, pushes: &[Push]) -> Result<()>;
    /// Pushes due at `now`, oldest first.
    async fn due_pushes(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Push>>;
    /// A push was acknowledged: removed unless a newer status replaced it
    /// meanwhile.
    async fn push_delivered(&self, push: &Push) -> Result<()>;
    /// A push failed: tried again at `next_attempt`.
    async fn push_failed(
        &self,
        push: &Push,
        next_attempt: DateTime<Utc>,
        error: &str,
    ) -> Result<()>;
    /// What each partner is owed: pushes waiting, the oldest one's next
    /// attempt, the most attempts one has had, and the latest error.
    async fn push_backlog(&self) -> Result<Vec<Backlog>>;
    /// Takes or renews the lease `name` for `owner` until `until`; `false`
    /// while another owner's lease runs (one pusher in a cluster).
    async fn lease(
        &self,
        name: &str,
        owner: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;
}
