//! Rotating a charger's credentials (password and/or security profile).
//!
//! The charger is told first; the new credentials are stored only once it
//! accepts, and the old ones keep working until it reconnects with the new
//! ones or the grace period passes. A charger that is away gets the change
//! at its next connection (queued sealed: the password must reach it in
//! clear over its own connection). Every attempt is audited.

use std::sync::Arc;

use booking::audit::{self, AuditEntry};
use booking::credentials as passwords;
use booking::model::{Charger, OcppVersion, SecurityProfile};
use booking::{Clock, Store};
use chrono::TimeDelta;
use csms::commands::CommandError;
use csms::credentials::{PublicUrls, RotationCall, accepted, password_call, profile_calls};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::sealed::Sealer;
use evgate_cluster::Chargers;

/// What the operator asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialChange {
    /// The new Basic-auth password (profiles 1 and 2); `None` keeps it.
    pub password: Option<String>,
    /// The profile to move the charger to; `None` keeps it.
    pub security_profile: Option<SecurityProfile>,
}

/// How the charger answered one part of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Answer {
    /// The charger took it; evgate stored it.
    Accepted,
    /// The charger refused; nothing of that part changed.
    Rejected,
}

impl Answer {
    fn of(ok: bool) -> Self {
        if ok { Self::Accepted } else { Self::Rejected }
    }
}

/// The result of a rotation the charger was asked about, or one queued.
#[derive(Debug, Clone)]
pub enum Rotation {
    /// The charger answered; what it accepted is stored (`charger` is the
    /// row after). A part not asked for is `None`.
    Answered {
        /// The charger row after the change.
        charger: Charger,
        /// The answer to the password part, if asked.
        password: Option<Answer>,
        /// The answer to the profile part, if asked.
        security_profile: Option<Answer>,
    },
    /// The charger is away: applied at its next connection.
    Pending {
        /// The charger row with the change queued.
        charger: Charger,
    },
}

impl Rotation {
    /// `ACCEPTED`, `REJECTED` (nothing changed), `PARTIAL` or `PENDING`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Rotation::Pending { .. } => "PENDING",
            Rotation::Answered {
                password,
                security_profile,
                ..
            } => {
                let answers = [*password, *security_profile];
                let asked = answers.iter().flatten();
                if asked.clone().all(|a| *a == Answer::Accepted) {
                    "ACCEPTED"
                } else if asked.clone().all(|a| *a == Answer::Rejected) {
                    "REJECTED"
                } else {
                    "PARTIAL"
                }
            }
        }
    }
}

/// Why a rotation was not made; the HTTP edge maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// Unknown charger, invalid password, store failure.
    #[error(transparent)]
    Domain(#[from] booking::Error),
    /// The gateway is not set up for this change (no TLS listener, no public
    /// URL, no key to queue a password with).
    #[error("{0}")]
    NotConfigured(String),
    /// No answer (or an error) from the charger: nothing changed.
    #[error(transparent)]
    Charger(CommandError),
}

/// Deployment facts a rotation is checked against.
#[derive(Debug, Clone)]
pub struct RotationSettings {
    /// How long old credentials keep working after the charger accepted new
    /// ones and has not reconnected yet.
    pub grace: TimeDelta,
    /// The public `ws://`/`wss://` addresses a profile change points the charger to.
    pub urls: PublicUrls,
    /// Whether the `wss://` listener runs (profiles 2 and 3).
    pub tls: bool,
    /// Whether it verifies client certificates (profile 3).
    pub client_certificates: bool,
}

/// Rotates credentials through whichever instance holds the charger.
#[derive(Debug, Clone)]
pub struct CredentialRotation {
    /// Where credentials and the audit log are kept.
    pub store: Arc<dyn Store>,
    /// Chargers connected here or, in a cluster, to another instance.
    pub chargers: Chargers,
    /// The time rotations and grace periods are judged by.
    pub clock: Arc<dyn Clock>,
    /// `None` when no key is configured: changes for offline chargers are refused.
    pub sealer: Option<Arc<Sealer>>,
    /// What this deployment allows (grace, URLs, TLS).
    pub settings: RotationSettings,
    /// Hashes new passwords on the OCPP listener's argon2 threads.
    pub passwords: Arc<csms::password_gate::PasswordGate>,
}

impl CredentialRotation {
    /// The operator's request: validated, sent to the charger (or queued),
    /// stored as the charger answered, audited.
    pub async fn rotate(
        &self,
        actor: &str,
        charge_point_id: &str,
        change: CredentialChange,
    ) -> Result<Rotation, RotationError> {
        let charger = self
            .store
            .charger_by_identity(charge_point_id)
            .await?
            .ok_or_else(|| booking::Error::not_found("charger", charge_point_id))?;
        self.check(&charger, &change)?;
        let result = match self.apply(&charger, charger.ocpp_version, &change).await {
            Ok(Some(rotation)) => Ok(rotation),
            Ok(None) => self.queue(&charger, &change).await,
            Err(e) => Err(e),
        };
        self.audit(actor, charge_point_id, &change, &result).await;
        result
    }

    /// Applies a queued change to a charger that has just connected with
    /// `version`.
    pub async fn apply_pending(&self, charge_point_id: &str, version: OcppVersion) {
        let charger = match self.store.charger_by_identity(charge_point_id).await {
            Ok(Some(c)) => c,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a connecting charger");
                return;
            }
        };
        let Some(sealed) = &charger.pending_credentials else {
            return;
        };
        let change = self
            .sealer
            .as_ref()
            .ok_or_else(|| "no CREDENTIAL_KEY to open it with".to_owned())
            .and_then(|s| s.open(charge_point_id, sealed))
            .and_then(|plain| serde_json::from_slice(&plain).map_err(|e| e.to_string()));
        let change: CredentialChange = match change {
            Ok(change) => change,
            Err(e) => {
                tracing::error!(charger.id = %charge_point_id, error = %e,
                    "a queued credential change cannot be read; dropped");
                let _ = self
                    .store
                    .set_pending_credentials(charge_point_id, None)
                    .await;
                let details = json!({ "error": e });
                let entry = AuditEntry::new(
                    self.clock.now(),
                    audit::GATEWAY,
                    "charger.credentials.apply",
                    charge_point_id,
                    details,
                    "FAILED",
                );
                audit::record(&*self.store, entry).await;
                return;
            }
        };
        let result = match self.apply(&charger, Some(version), &change).await {
            Ok(Some(rotation)) => {
                if matches!(rotation.outcome(), "REJECTED") {
                    let _ = self
                        .store
                        .set_pending_credentials(charge_point_id, None)
                        .await;
                }
                Ok(rotation)
            }
            // Gone again before it answered: still queued.
            Ok(None) => return,
            Err(e) => Err(e),
        };
        tracing::info!(charger.id = %charge_point_id, ok = result.is_ok(),
            "queued credential change applied at connection");
        self.audit(audit::GATEWAY, charge_point_id, &change, &result)
            .await;
    }

    /// Sets the stored password without telling the charger: a technician
    /// already set it on the charger itself (issue #22, item 9), so a
    /// rotation, which needs the old password to reach the charger, would
    /// lock it out. The old password keeps working for the grace period (in
    /// case the technician did not finish), and a change still queued for
    /// the charger is dropped: it carries a password the charger never got.
    /// Returns the charger row after, and whether a queued change was dropped.
    pub async fn store_password(
        &self,
        actor: &str,
        charge_point_id: &str,
        password: &str,
    ) -> Result<(Charger, bool), RotationError> {
        let charger = self
            .store
            .charger_by_identity(charge_point_id)
            .await?
            .ok_or_else(|| booking::Error::not_found("charger", charge_point_id))?;
        let profile = charger.security_profile;
        if !profile.uses_password() {
            return Err(booking::Error::validation(
                "password",
                format!("security profile {profile} uses no password"),
            )
            .into());
        }
        passwords::validate_password("password", password)?;
        let hash = self.passwords.hash(password.to_owned()).await?;
        let until = self.clock.now() + self.settings.grace;
        let stored = self
            .store
            .rotate_charger_credentials(charger.id, profile, Some(&hash), until)
            .await?
            .ok_or_else(|| booking::Error::not_found("charger", charge_point_id))?;
        let dropped = charger.pending_credentials.is_some();
        let stored = if dropped {
            self.store
                .set_pending_credentials(charge_point_id, None)
                .await?
                .unwrap_or(stored)
        } else {
            stored
        };
        let details = json!({
            "passwordChanged": true,
            "toldCharger": false,
            "queuedChangeDropped": dropped,
        });
        let entry = AuditEntry::new(
            self.clock.now(),
            actor,
            "charger.credentials.stored",
            charge_point_id,
            details,
            "STORED",
        );
        audit::record(&*self.store, entry).await;
        tracing::info!(charger.id = %charge_point_id, queued_dropped = dropped,
            "charger password stored without telling the charger");
        Ok((stored, dropped))
    }

    /// Rejects changes the gateway or the charger could not carry out.
    fn check(&self, charger: &Charger, change: &CredentialChange) -> Result<(), RotationError> {
        if change.password.is_none() && change.security_profile.is_none() {
            return Err(booking::Error::validation(
                "password",
                "give a password, a securityProfile, or both",
            )
            .into());
        }
        if let Some(password) = &change.password {
            passwords::validate_password("password", password)?;
        }
        let target = change.security_profile.unwrap_or(charger.security_profile);
        match (&change.password, target.uses_password()) {
            (None, true) if charger.password_hash.is_none() => {
                return Err(booking::Error::validation(
                    "password",
                    format!("security profile {target} needs a password"),
                )
                .into());
            }
            (Some(_), false) => {
                return Err(booking::Error::validation(
                    "password",
                    format!("is not used by security profile {target}; leave it out"),
                )
                .into());
            }
            _ => {}
        }
        self.servable(target)
    }

    /// Whether this deployment can serve chargers on `profile`: 2 and 3
    /// need the TLS listener, 3 also a CA for client certificates. A
    /// charger created or moved to a profile nobody can connect with would
    /// be locked out.
    pub fn servable(&self, profile: SecurityProfile) -> Result<(), RotationError> {
        let s = &self.settings;
        if profile.get() >= 2 && !s.tls {
            return Err(RotationError::NotConfigured(format!(
                "security profile {profile} needs the OCPP TLS listener (OCPP_TLS_CERT, OCPP_TLS_KEY)"
            )));
        }
        if profile == SecurityProfile::TLS_CLIENT_CERT && !s.client_certificates {
            return Err(RotationError::NotConfigured(
                "security profile 3 needs OCPP_TLS_CLIENT_CA to verify charger certificates".into(),
            ));
        }
        Ok(())
    }

    /// Tells the charger (speaking `version`, `None` if it never connected)
    /// and stores what it accepted; `None` when it is not connected (nothing
    /// was sent).
    async fn apply(
        &self,
        charger: &Charger,
        version: Option<OcppVersion>,
        change: &CredentialChange,
    ) -> Result<Option<Rotation>, RotationError> {
        let Some(version) = version else {
            return Ok(None);
        };
        let profile_change = change
            .security_profile
            .filter(|p| *p != charger.security_profile);
        let profile_calls = profile_change
            .map(|p| profile_calls(version, p, &self.settings.urls))
            .transpose()
            .map_err(RotationError::NotConfigured)?;
        let cp = charger.charge_point_id.as_str();

        let mut password = None;
        let mut new_hash = charger.password_hash.clone();
        if let Some(clear) = &change.password {
            let call = password_call(version, clear)
                .map_err(|e| RotationError::Domain(booking::Error::Internal(e)))?;
            let hash = self.passwords.hash(clear.to_owned()).await?;
            match self.send(cp, &call).await {
                Err(CommandError::Offline) => return Ok(None),
                Err(e) => return Err(RotationError::Charger(e)),
                Ok(ok) => password = Some(Answer::of(ok)),
            }
            if password == Some(Answer::Rejected) {
                return Ok(Some(Rotation::Answered {
                    charger: charger.clone(),
                    password,
                    security_profile: profile_change.map(|_| Answer::Rejected),
                }));
            }
            new_hash = Some(hash);
        }

        let mut security_profile = None;
        let mut new_profile = charger.security_profile;
        if let (Some(target), Some(calls)) = (profile_change, profile_calls) {
            let mut ok = true;
            for call in &calls {
                match self.send(cp, call).await {
                    Ok(true) => {}
                    Ok(false) => ok = false,
                    // Nothing accepted yet: as if never asked.
                    Err(CommandError::Offline) if password.is_none() => return Ok(None),
                    Err(e) if password.is_none() => return Err(RotationError::Charger(e)),
                    Err(e) => {
                        tracing::warn!(charger.id = %cp, error = %e, action = call.action,
                            "security profile change failed after the password was accepted");
                        ok = false;
                    }
                }
                if !ok {
                    break;
                }
            }
            security_profile = Some(Answer::of(ok));
            if ok {
                new_profile = target;
            }
        }

        let changed = new_profile != charger.security_profile || password.is_some();
        let charger = if changed {
            let until = self.clock.now() + self.settings.grace;
            self.store
                .rotate_charger_credentials(charger.id, new_profile, new_hash.as_deref(), until)
                .await?
                .ok_or_else(|| booking::Error::not_found("charger", cp))?
        } else {
            charger.clone()
        };
        Ok(Some(Rotation::Answered {
            charger,
            password,
            security_profile,
        }))
    }

    /// Whether the charger accepted one call.
    async fn send(&self, cp: &str, call: &RotationCall) -> Result<bool, CommandError> {
        let answer = self
            .chargers
            .command(cp, call.action, call.payload.clone())
            .await?;
        Ok(accepted(call.action, &answer))
    }

    async fn queue(
        &self,
        charger: &Charger,
        change: &CredentialChange,
    ) -> Result<Rotation, RotationError> {
        let sealer = self.sealer.as_ref().ok_or_else(|| {
            RotationError::NotConfigured(
                "the charger is offline and no CREDENTIAL_KEY (or JWT_SECRET) is set to queue \
                 the change with"
                    .into(),
            )
        })?;
        let plain =
            serde_json::to_vec(change).map_err(|e| booking::Error::Internal(e.to_string()))?;
        let sealed = sealer
            .seal(&charger.charge_point_id, &plain)
            .map_err(booking::Error::Internal)?;
        let charger = self
            .store
            .set_pending_credentials(&charger.charge_point_id, Some(&sealed))
            .await?
            .ok_or_else(|| booking::Error::not_found("charger", &charger.charge_point_id))?;
        Ok(Rotation::Pending { charger })
    }

    async fn audit(
        &self,
        actor: &str,
        charge_point_id: &str,
        change: &CredentialChange,
        result: &Result<Rotation, RotationError>,
    ) {
        let mut details = json!({
            "passwordChanged": change.password.is_some(),
            "securityProfile": change.security_profile,
        });
        let outcome = match result {
            Ok(rotation) => rotation.outcome(),
            Err(RotationError::Domain(booking::Error::Validation { .. })) => return,
            Err(RotationError::Domain(booking::Error::NotFound { .. })) => return,
            Err(e) => {
                details["error"] = json!(e.to_string());
                "FAILED"
            }
        };
        let action = if actor == audit::GATEWAY {
            "charger.credentials.apply"
        } else {
            "charger.credentials"
        };
        let entry = AuditEntry::new(
            self.clock.now(),
            actor,
            action,
            charge_point_id,
            details,
            outcome,
        );
        audit::record(&*self.store, entry).await;
    }
}

/// Applies queued changes as chargers connect to this instance.
pub fn apply_on_connect(
    rotation: CredentialRotation,
    registry: &csms::Registry,
) -> tokio::task::JoinHandle<()> {
    let mut connects = registry.connects();
    tokio::spawn(async move {
        loop {
            match connects.recv().await {
                // Only a charger with a change waiting costs a read.
                Ok(connected) if connected.charger.pending_credentials.is_some() => {
                    let rotation = rotation.clone();
                    let identity = connected.charger.charge_point_id;
                    tokio::spawn(async move {
                        rotation.apply_pending(&identity, connected.version).await
                    });
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "connect announcements missed; queued credential changes wait for the next connection"
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    })
}
