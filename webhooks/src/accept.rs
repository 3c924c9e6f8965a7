//! Accepting a webhook: authenticate, validate, resolve the connector, and
//! store it in the inbox — all before answering, so a 202 means the report
//! is durable and will be applied; anything else means nothing was written.

use std::sync::Arc;

use booking::Error;
use booking::model::Connector;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::{Result, WebhookError};
use crate::inbox::{self, InboxEntry, InboxState};
use crate::lookups;
use crate::report::{self, ConnectorRef, Draft, Kind, Report};
use crate::service::VendorWebhooks;
use crate::signature::TOLERANCE_SECONDS;
use crate::store::WebhookStore;
use crate::vendor::Vendor;

/// Most entries committed in one transaction. Under load, requests that
/// arrive while a batch is written go into the next: one commit serves
/// many acknowledgements (group commit), and the database sees a few
/// writes a second instead of one per webhook.
const MAX_BATCH: usize = 256;

/// An accepted entry waiting for its batch to commit.
#[derive(Debug)]
pub(crate) struct Commit {
    entry: InboxEntry,
    reply: oneshot::Sender<booking::Result<(InboxEntry, bool)>>,
}

/// The one task that writes accepted entries to the inbox; it ends when
/// every sender is gone.
pub(crate) fn spawn_committer(store: Arc<dyn WebhookStore>) -> mpsc::Sender<Commit> {
    let (tx, mut rx) = mpsc::channel::<Commit>(4 * MAX_BATCH);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let (entries, replies): (Vec<InboxEntry>, Vec<_>) =
                batch.drain(..).map(|c| (c.entry, c.reply)).unzip();
            match store.enqueue_many(&entries).await {
                Ok(stored) => {
                    for (reply, result) in replies.into_iter().zip(stored) {
                        let _ = reply.send(Ok(result));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, entries = entries.len(), "inbox commit failed");
                    let unavailable = matches!(e, Error::Unavailable(_));
                    for reply in replies {
                        let e = if unavailable {
                            Error::Unavailable(e.to_string())
                        } else {
                            Error::Internal(e.to_string())
                        };
                        let _ = reply.send(Err(e));
                    }
                }
            }
        }
    });
    tx
}

/// A webhook as it arrived: the authentication headers and the raw body
/// (the signature covers its exact bytes).
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `X-Evgate-Vendor`
    pub vendor: Option<&'a str>,
    /// `X-Evgate-Timestamp`, unix seconds
    pub timestamp: Option<&'a str>,
    /// `X-Evgate-Signature`
    pub signature: Option<&'a str>,
    /// `Idempotency-Key`, optional: a redelivery with the same key is
    /// acknowledged with the first entry and not stored again.
    pub idempotency_key: Option<&'a str>,
    /// The raw body, byte for byte as received: the signature covers exactly
    /// these bytes.
    pub body: &'a [u8],
}

impl VendorWebhooks {
    /// Authenticates, validates and stores one webhook. Returns the inbox
    /// entry and whether it is new (`false` for a redelivery).
    pub async fn accept(&self, kind: Kind, req: SignedRequest<'_>) -> Result<(InboxEntry, bool)> {
        let now = self.ports.clock.now();
        let (vendor, signed_at) = self.authenticate(&req, now).await?;
        self.per_vendor
            .check(&vendor.id)
            .map_err(WebhookError::RateLimited)?;
        let (report, ordering_key) = self
            .validate(&vendor, kind, req.body, now, signed_at)
            .await?;
        let idempotency_key = match req.idempotency_key.map(str::trim) {
            Some(k) if k.is_empty() || k.len() > 200 => {
                return Err(WebhookError::validation(
                    "Idempotency-Key",
                    "must be 1 to 200 bytes",
                ));
            }
            other => other.map(str::to_owned),
        };
        let entry = InboxEntry {
            id: Uuid::now_v7(),
            vendor_id: vendor.id,
            report,
            ordering_key,
            idempotency_key,
            signature: req.signature.map(|s| s.trim().to_ascii_lowercase()),
            body_sha256: Some(hex_sha256(req.body)),
            state: InboxState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            received_at: now,
            processed_at: None,
        };
        let entry_digest = entry.body_sha256.clone();
        let (reply, stored) = oneshot::channel();
        self.commits
            .send(Commit { entry, reply })
            .await
            .map_err(|_| Error::Unavailable("the inbox committer stopped".into()))?;
        let (stored, new) = stored
            .await
            .map_err(|_| Error::Unavailable("the inbox committer stopped".into()))??;
        // The same key for another body is the vendor's mistake, not a
        // redelivery: refused, so the second report is not silently lost.
        if !new
            && let (Some(key), Some(first), Some(ours)) =
                (&stored.idempotency_key, &stored.body_sha256, &entry_digest)
            && first != ours
        {
            return Err(WebhookError::KeyReused(key.clone()));
        }
        if new {
            self.arrived.notify_one();
        }
        Ok((stored, new))
    }

    /// The vendor, and the time it signed the request.
    async fn authenticate(
        &self,
        req: &SignedRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<(Vendor, DateTime<Utc>)> {
        let unauthorized = |m: &str| WebhookError::Unauthorized(m.to_owned());
        let vendor_id = req
            .vendor
            .ok_or_else(|| unauthorized("X-Evgate-Vendor is missing"))?;
        let vendor_id = Uuid::parse_str(vendor_id.trim())
            .map_err(|_| unauthorized("X-Evgate-Vendor is not a vendor id"))?;
        let timestamp: i64 = req
            .timestamp
            .ok_or_else(|| unauthorized("X-Evgate-Timestamp is missing"))?
            .trim()
            .parse()
            .map_err(|_| unauthorized("X-Evgate-Timestamp is not unix seconds"))?;
        if (now.timestamp() - timestamp).abs() > TOLERANCE_SECONDS {
            return Err(unauthorized(&format!(
                "X-Evgate-Timestamp is more than {TOLERANCE_SECONDS} seconds from the server's clock"
            )));
        }
        let signature = req
            .signature
            .ok_or_else(|| unauthorized("X-Evgate-Signature is missing"))?;
        // An unknown vendor and a bad signature read the same to the caller.
        let bad = || unauthorized("the signature does not match");
        let vendor = self.vendor(vendor_id, now).await?.ok_or_else(bad)?;
        if !vendor.signed(timestamp, req.body, signature, now) {
            return Err(bad());
        }
        let signed_at = DateTime::from_timestamp(timestamp, 0).ok_or_else(bad)?;
        Ok((vendor, signed_at))
    }

    async fn validate(
        &self,
        vendor: &Vendor,
        kind: Kind,
        body: &[u8],
        now: DateTime<Utc>,
        signed_at: DateTime<Utc>,
    ) -> Result<(Report, String)> {
        Ok(match report::read(kind, body, now, signed_at)? {
            Draft::OnConnector { connector, report } => {
                let connector = self.connector(vendor, connector).await?;
                if let Report::SessionStart(start) = &report
                    && let Some(id) = start.booking_id
                {
                    let booking = self
                        .ports
                        .ledger
                        .booking(id)
                        .await?
                        .ok_or_else(|| Error::not_found("booking", id))?;
                    if booking.connector_id != connector.id {
                        return Err(WebhookError::validation(
                            "bookingId",
                            "is a booking on another connector",
                        ));
                    }
                }
                (
                    report.on_connector(connector.id),
                    inbox::connector_key(connector.id),
                )
            }
            Draft::Session { session, report } => (report, inbox::session_key(vendor.id, &session)),
        })
    }

    async fn vendor(&self, id: Uuid, now: DateTime<Utc>) -> booking::Result<Option<Vendor>> {
        let load = || self.ports.store.vendor(id);
        lookups::through(&self.lookups.vendors, id, now, load).await
    }

    async fn connector_by_id(&self, id: Uuid) -> booking::Result<Option<Connector>> {
        let load = || self.ports.stations.connector(id);
        lookups::through(&self.lookups.connectors, id, self.ports.clock.now(), load).await
    }

    async fn connector_of_vendor(
        &self,
        vendor_id: Uuid,
        vendor_connector_id: &str,
    ) -> booking::Result<Option<Connector>> {
        let key = (vendor_id, vendor_connector_id.to_owned());
        let load = || {
            self.ports
                .store
                .vendor_connector(vendor_id, vendor_connector_id)
        };
        lookups::through(
            &self.lookups.vendor_connectors,
            key,
            self.ports.clock.now(),
            load,
        )
        .await
    }

    /// The connector a body names, which must be this vendor's.
    async fn connector(&self, vendor: &Vendor, r: ConnectorRef) -> Result<Connector> {
        let connector = match (r.connector_id, &r.vendor_connector_id) {
            (Some(id), _) => {
                let c = self
                    .connector_by_id(id)
                    .await?
                    .ok_or_else(|| Error::not_found("connector", id))?;
                if c.vendor_id != Some(vendor.id) {
                    return Err(WebhookError::Forbidden(format!(
                        "connector {id} is not managed by this vendor"
                    )));
                }
                if let Some(vcid) = &r.vendor_connector_id
                    && c.vendor_connector_id.as_deref() != Some(vcid.as_str())
                {
                    return Err(WebhookError::validation(
                        "vendorConnectorId",
                        "does not name the connector connectorId names",
                    ));
                }
                c
            }
            (None, Some(vcid)) => self
                .connector_of_vendor(vendor.id, vcid)
                .await?
                .ok_or_else(|| Error::not_found("vendor connector", vcid))?,
            (None, None) => {
                return Err(WebhookError::validation(
                    "connectorId",
                    "connectorId or vendorConnectorId is required",
                ));
            }
        };
        if let Some(station_id) = r.station_id
            && station_id != connector.station_id
        {
            return Err(WebhookError::validation(
                "stationId",
                "is not the connector's station",
            ));
        }
        Ok(connector)
    }
}

fn hex_sha256(body: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
