//! evgate as an OCPI CPO (2.2.1 and 2.3.0): roaming partners register
//! through the credentials handshake, pull the published stations as
//! Locations, and get every EVSE status change pushed.
//!
//! An edge like the webhooks: the booking core knows nothing of OCPI.
//! Partners and what is owed to them live behind [`OcpiStore`]; calls to
//! partners go through [`PartnerApi`]; [`router`] serves `/ocpi/…`.

#![warn(missing_docs)]

mod bookings;
mod client;
mod commands;
mod credentials;
mod envelope;
mod error;
mod http;
mod locations;
mod partner;
mod push;
mod realtime;
mod reservations;
mod sessions;
mod store;
mod tariffs;
mod tokens;

use std::sync::Arc;

use booking::Clock;
use booking::Store;
use booking::service::BookingService;
use tokio::sync::Notify;
use uuid::Uuid;

pub use bookings::{OcpiBooking, reservation_status};
pub use client::{CallError, ChargerCommands, HttpPartners, PartnerApi};
pub use envelope::timestamp;
pub use error::{OcpiError, Result};
pub use http::router;
pub use locations::{LocationDetails, Party, evse_status, plug};
pub use partner::{
    Credentials, CredentialsRole, Endpoint, OcpiVersion, Partner, PartnerState, authorization,
    token_hash,
};
pub use push::{Backlog, PUSH_ATTEMPTS, Push, PushModule, backoff};
pub use store::OcpiStore;
pub use tokens::{AuthMethod, Authorized, StoredToken, TokenKey};

/// Who evgate is towards partners (`OCPI_COUNTRY_CODE`, `OCPI_PARTY_ID`,
/// `OCPI_BUSINESS_NAME`, `OCPI_BASE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcpiSettings {
    /// The CPO role's country and party id.
    pub party: Party,
    /// The name partners show for this CPO.
    pub business_name: String,
    /// The public URL partners reach evgate at (`https://cpo.example`);
    /// `None`: taken from each request's host.
    pub base_url: Option<String>,
}

/// The OCPI service; cheap to clone.
#[derive(Debug, Clone)]
pub struct Ocpi(Arc<Inner>);

/// What [`Ocpi`] works through.
#[derive(Debug)]
pub struct Inner {
    /// Partners, published locations, owed pushes.
    pub store: Arc<dyn OcpiStore>,
    /// The booking core's store: stations' connectors with their live
    /// status, chargers, sessions, id tags.
    pub core: Arc<dyn Store>,
    /// Commands to chargers (remote start and stop, unlock).
    pub chargers: Arc<dyn ChargerCommands>,
    /// Partners' HTTP APIs.
    pub api: Arc<dyn PartnerApi>,
    /// "Now".
    pub clock: Arc<dyn Clock>,
    /// Holds, bookings and free slots: the same service apps book through.
    pub bookings: BookingService,
    /// `None`: OCPI is not configured, and every `/ocpi/` call says so.
    pub settings: Option<OcpiSettings>,
    /// Rings the pusher when something was queued here.
    pub wake: Notify,
}

impl std::ops::Deref for Ocpi {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Ocpi {
    /// The service over its ports.
    pub fn new(
        store: Arc<dyn OcpiStore>,
        core: Arc<dyn Store>,
        chargers: Arc<dyn ChargerCommands>,
        api: Arc<dyn PartnerApi>,
        clock: Arc<dyn Clock>,
        bookings: BookingService,
        settings: Option<OcpiSettings>,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            core,
            chargers,
            api,
            clock,
            bookings,
            settings,
            wake: Notify::new(),
        }))
    }

    /// Which tariff each connector of these published stations charges by.
    pub(crate) async fn tariffs_of_connectors(
        &self,
        stations: &[Uuid],
    ) -> Result<locations::Tariffs> {
        Ok(self
            .store
            .published_tariffs(stations)
            .await?
            .into_iter()
            .collect())
    }

    /// The settings, or the error every call gets while OCPI is off.
    pub fn settings(&self) -> Result<&OcpiSettings> {
        self.settings.as_ref().ok_or(OcpiError::Disabled)
    }

    /// A new partner, waiting to register, and its token A (the only time
    /// it is shown).
    pub async fn invite(&self, name: &str) -> Result<(Partner, String)> {
        self.settings()?;
        let (partner, token) = Partner::invite(name, self.clock.now())?;
        self.store.insert_partner(&partner).await?;
        Ok((partner, token))
    }

    /// Removes a partner outright (its tokens stop working); `false` if
    /// unknown.
    pub async fn remove(&self, id: Uuid) -> Result<bool> {
        Ok(self.store.delete_partner(id).await?)
    }

    /// Sets a station's OCPI details and, when published, queues its
    /// connectors' statuses for every partner.
    pub async fn set_location(&self, details: LocationDetails) -> Result<LocationDetails> {
        self.settings()?;
        details
            .validate()
            .map_err(|(field, m)| OcpiError::InvalidParameters(format!("{field} {m}")))?;
        self.store.set_location(&details).await?;
        if details.publish {
            let one = std::iter::once(details.station_id).collect();
            self.queue_stations(&one, None).await?;
        }
        Ok(details)
    }
}
