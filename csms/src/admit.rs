//! Who may connect: the OCPP checks of an upgrade request, made against the
//! store before anything is upgraded. Refusals: 400 without a subprotocol
//! we speak, 404 for an unknown identity, 401 for missing or wrong
//! credentials (Basic for profiles 1 and 2, a client certificate naming the
//! charger for profile 3), 403 for a charger whose profile needs TLS
//! arriving on plain `ws://`, 429/503 with Retry-After when password checks
//! are slowed or busy.

use std::time::Duration;

use booking::model::{Charger, OcppVersion, SecurityProfile};
use booking::store::BootInfo;
use tokio::time::Instant;

use crate::handshake;
use crate::password_gate::{PasswordGate, Verdict};
use crate::server::{Csms, Head, Transport};

/// Why a handshake is refused: the HTTP status line, a reason for the
/// body and the log, and when to try again (429, 503).
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) status: &'static str,
    pub(crate) reason: String,
    pub(crate) retry_after: Option<Duration>,
}

impl From<(&'static str, String)> for Refusal {
    fn from((status, reason): (&'static str, String)) -> Self {
        Self {
            status,
            reason,
            retry_after: None,
        }
    }
}

/// Who is connecting, and whether they may: the upgrade is a WebSocket
/// one, speaks a subprotocol we do, names a known identity (or one let in
/// unassigned), and carries the credentials its security profile asks.
pub(crate) async fn admit(
    head: &Head,
    transport: &Transport,
    csms: &Csms,
) -> Result<(Charger, OcppVersion), Refusal> {
    let (version, identity) = requested(head)?;
    let unavailable = |e: booking::Error| ("503 Service Unavailable", e.to_string());
    let charger = match csms
        .deps
        .store
        .charger_by_identity(&identity)
        .await
        .map_err(unavailable)?
    {
        Some(charger) => charger,
        None if csms.deps.config.auto_register => {
            let seen = BootInfo {
                version: Some(version),
                ..BootInfo::default()
            };
            let now = csms.deps.clock.now();
            csms.deps
                .store
                .record_unassigned_charger(&identity, &seen, now)
                .await
                .map_err(unavailable)?;
            tracing::info!(charger.id = %identity, "unknown charger let in unassigned (OCPP_AUTO_REGISTER): held Pending");
            return Ok((unassigned(&identity, now), version));
        }
        None => return Err(("404 Not Found", format!("unknown charge point {identity}")).into()),
    };
    let now = csms.deps.clock.now();
    let previous = charger.previous_credentials_at(now);
    let check = |profile, hash, final_attempt| Attempt {
        identity: &identity,
        profile,
        password_hash: hash,
        head,
        transport,
        gate: &csms.passwords,
        final_attempt,
    };
    // With previous credentials still valid, a miss on the new ones is not
    // yet a failure: the old ones get their try.
    match check_credentials(check(
        charger.security_profile,
        charger.password_hash.clone(),
        previous.is_none(),
    ))
    .await
    {
        Ok(()) => {
            if charger.previous_credentials.is_some() {
                // It holds the new credentials: the old ones stop working.
                if let Err(e) = csms
                    .deps
                    .store
                    .forget_previous_credentials(charger.id)
                    .await
                {
                    tracing::warn!(error = %e, "cannot retire a charger's previous credentials");
                }
            }
        }
        Err(refusal) => {
            let Some(previous) = previous.filter(|_| refusal.retry_after.is_none()) else {
                return Err(refusal);
            };
            check_credentials(check(
                previous.security_profile,
                previous.password_hash.clone(),
                true,
            ))
            .await
            .map_err(|second| {
                if second.retry_after.is_some() {
                    second
                } else {
                    refusal
                }
            })?;
            tracing::info!(charger.id = %identity, until = %previous.until,
                "charger connected with its previous credentials (rotation not applied yet)");
        }
    }
    Ok((charger, version))
}

/// What the request itself asks, checked before any lookup: a WebSocket
/// version 13 upgrade, a subprotocol we speak, and a charge point identity
/// in the path.
pub(crate) fn requested(head: &Head) -> Result<(OcppVersion, String), Refusal> {
    if !head.upgrade || head.key.is_none() {
        return Err(("400 Bad Request", "not a WebSocket upgrade".to_owned()).into());
    }
    if head.ws_version.as_deref() != Some("13") {
        // RFC 6455 §4.4: name the version spoken here.
        return Err((
            "426 Upgrade Required",
            "only WebSocket version 13 is spoken here".to_owned(),
        )
            .into());
    }
    let version = handshake::negotiate(head.protocols.as_deref()).ok_or((
        "400 Bad Request",
        "Sec-WebSocket-Protocol must offer ocpp1.6 or ocpp2.0.1".to_owned(),
    ))?;
    let identity = handshake::identity(&head.path).map_err(|e| ("400 Bad Request", e))?;
    Ok((version, identity))
}

/// The session of an identity no operator registered: no row behind it
/// (its id is nil, so presence writes touch nothing), held Pending so it may
/// only boot until an operator places it at a station.
fn unassigned(identity: &str, now: chrono::DateTime<chrono::Utc>) -> Charger {
    Charger {
        id: uuid::Uuid::nil(),
        station_id: uuid::Uuid::nil(),
        charge_point_id: identity.to_owned(),
        security_profile: SecurityProfile::NONE,
        password_hash: None,
        ocpp_version: None,
        vendor: None,
        model: None,
        firmware_version: None,
        online: true,
        last_seen_at: None,
        created_at: now,
        admission: Some(booking::model::ChargerAdmission::Pending),
        previous_credentials: None,
        pending_credentials: None,
    }
}

/// One credentials check of a handshake: whether the request carries
/// what `profile` asks of this charger.
pub(crate) struct Attempt<'a> {
    pub(crate) identity: &'a str,
    pub(crate) profile: SecurityProfile,
    pub(crate) password_hash: Option<String>,
    pub(crate) head: &'a Head,
    pub(crate) transport: &'a Transport,
    pub(crate) gate: &'a PasswordGate,
    /// Whether a wrong password counts against the guesser (not when
    /// other valid credentials remain to be tried).
    pub(crate) final_attempt: bool,
}

pub(crate) async fn check_credentials(a: Attempt<'_>) -> Result<(), Refusal> {
    let profile = a.profile.get();
    if profile >= 2 && !a.transport.tls {
        return Err((
            "403 Forbidden",
            format!("security profile {profile} requires TLS (wss://)"),
        )
            .into());
    }
    let unauthorized = |why: &str| Refusal::from(("401 Unauthorized", why.to_owned()));
    match profile {
        0 => Ok(()),
        1 | 2 => {
            let missing = || unauthorized("Basic credentials required");
            let (user, password) = a
                .head
                .authorization
                .as_deref()
                .and_then(handshake::basic_credentials)
                .ok_or_else(missing)?;
            let hash = a.password_hash.ok_or_else(missing)?;
            if user != a.identity {
                return Err(missing());
            }
            let verdict = a
                .gate
                .verify(
                    a.identity,
                    a.transport.peer,
                    password,
                    hash,
                    a.final_attempt,
                    Instant::now(),
                )
                .await;
            match verdict {
                Verdict::Valid => Ok(()),
                Verdict::Invalid => Err(missing()),
                Verdict::Busy => Err(Refusal {
                    status: "503 Service Unavailable",
                    reason: "too many password checks at once; retry shortly".to_owned(),
                    retry_after: Some(Duration::from_secs(1)),
                }),
                Verdict::SlowDown { retry_after } => Err(Refusal {
                    status: "429 Too Many Requests",
                    reason: format!(
                        "too many failed passwords; retry in {} s",
                        retry_after.as_secs().max(1)
                    ),
                    retry_after: Some(retry_after),
                }),
            }
        }
        _ if a.transport.client_cn.as_deref() == Some(a.identity) => Ok(()),
        _ => Err(unauthorized(
            "security profile 3 needs a client certificate whose subject names the charger",
        )),
    }
}

/// A refusal's status as a bounded label.
pub(crate) fn refusal_label(status: &str) -> &'static str {
    match status.get(..3) {
        Some("400") => "bad_request",
        Some("401") => "unauthorized",
        Some("403") => "forbidden",
        Some("404") => "unknown_charger",
        Some("426") => "websocket_version",
        Some("429") => "slowed",
        Some("503") => "unavailable",
        _ => "other",
    }
}
