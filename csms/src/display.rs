//! Display messages (OCPP 2.0.1 block O): what evgate knows each charger
//! shows, and the announcement no other CSMS makes — when evgate reserves a
//! connector for a booking it puts "Reserved 14:00–15:00" on the charger's
//! screen, and takes it down when the booking is fulfilled, cancelled or a
//! no-show (`BOOKING_DISPLAY_MESSAGES`).
//!
//! The announcement's message id is the reservation id, so the charger's
//! own reservation and its message share a number; operators setting their
//! own messages pick ids of their own. Announcing never delays or fails a
//! booking: the reservation is the commit point, the message is courtesy.

use std::sync::Arc;

use booking::charger_control::ReserveRequest;
use booking::events::Event;
use booking::iso;
use booking::model::{BookingStatus, DisplayMessage, DisplayOrigin, OcppVersion};
use booking::{Clock, Store};
use chrono::{DateTime, Utc};
pub use chrono_tz::Tz;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::registry::Registry;

/// How bookings are announced on chargers' screens.
#[derive(Debug, Clone, Copy)]
pub struct Announcements {
    /// `BOOKING_DISPLAY_MESSAGES`: off, nothing is set on any screen.
    pub enabled: bool,
    /// `BOOKING_DISPLAY_TIME_ZONE`: the zone the slot's times are written in.
    pub time_zone: Tz,
}

impl Default for Announcements {
    fn default() -> Self {
        Self {
            enabled: true,
            time_zone: Tz::UTC,
        }
    }
}

/// An IANA time zone name (`Europe/Amsterdam`), or why it is not one.
pub fn time_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone name (e.g. Europe/Amsterdam)"))
}

/// The announcement's words, in the charger's language where evgate knows
/// them (English otherwise), with the slot in `zone`.
pub fn reserved_text(language: &str, slot: (DateTime<Utc>, DateTime<Utc>), zone: Tz) -> String {
    let word = match language.get(..2).unwrap_or_default() {
        "de" => "Reserviert",
        "nl" => "Gereserveerd",
        "fr" => "Réservé",
        "es" => "Reservado",
        "it" => "Prenotato",
        "da" | "no" | "nb" => "Reserveret",
        "sv" => "Reserverad",
        _ => "Reserved",
    };
    let (start, end) = (slot.0.with_timezone(&zone), slot.1.with_timezone(&zone));
    let same_day = start.date_naive() == end.date_naive();
    let end_format = if same_day { "%H:%M" } else { "%d.%m. %H:%M" };
    let utc = if zone == Tz::UTC { " UTC" } else { "" };
    format!(
        "{word} {}–{}{utc}",
        start.format("%H:%M"),
        end.format(end_format)
    )
}

/// SetDisplayMessage for a booking's reservation: shown from now until the
/// reservation lapses (slot start plus the no-show grace).
pub fn announcement(
    request: &ReserveRequest,
    slot: (DateTime<Utc>, DateTime<Utc>),
    language: &str,
    zone: Tz,
) -> Value {
    json!({"message": {
        "id": request.reservation_id,
        "priority": "NormalCycle",
        "endDateTime": iso(request.expires_at),
        "message": {
            "format": "UTF8",
            "language": language,
            "content": reserved_text(language, slot, zone),
        },
    }})
}

/// Whether a SetDisplayMessage or ClearDisplayMessage answer took effect
/// (Clear's `Unknown`: the charger no longer shows it either).
fn done(answer: &Value) -> bool {
    matches!(
        answer.get("status").and_then(Value::as_str),
        Some("Accepted" | "Unknown")
    )
}

/// Sets and clears messages on chargers connected here, and remembers what
/// each shows.
#[derive(Debug, Clone)]
pub struct Displays {
    /// The chargers connected here.
    pub registry: Arc<Registry>,
    /// Where the messages are remembered.
    pub store: Arc<dyn Store>,
    /// For `updated_at`.
    pub clock: Arc<dyn Clock>,
    /// Where the charger's `DisplayMessageCtrlr.Language` is read.
    pub device_model: Arc<dyn crate::device_model::DeviceModelStore>,
    /// Whether and how bookings are announced.
    pub announcements: Announcements,
}

impl Displays {
    fn remembered(
        &self,
        charger_id: uuid::Uuid,
        origin: DisplayOrigin,
        info: Value,
    ) -> DisplayMessage {
        DisplayMessage {
            charger_id,
            message_id: info.get("id").and_then(Value::as_i64).unwrap_or_default() as i32,
            origin,
            info,
            updated_at: self.clock.now(),
        }
    }

    /// Puts a booking's reservation on the 2.0.1 charger's screen; 1.6 has
    /// no display messages. Failures are logged: the reservation stands.
    pub async fn announce(self, request: ReserveRequest) {
        let cp = &request.charge_point_id;
        let Some(slot) = request.slot else {
            return;
        };
        if !self.announcements.enabled || self.registry.version(cp) != Some(OcppVersion::V201) {
            return;
        }
        let Ok(Some(charger)) = self.store.charger_by_identity(cp).await else {
            return;
        };
        let language = self.language(charger.id).await;
        let payload = announcement(&request, slot, &language, self.announcements.time_zone);
        let info = payload["message"].clone();
        match self.registry.call(cp, "SetDisplayMessage", payload).await {
            Ok(answer) if done(&answer) => {
                let message = self.remembered(charger.id, DisplayOrigin::Booking, info);
                if let Err(e) = self.store.save_display_message(&message).await {
                    tracing::warn!(charger.id = %cp, error = %e, "cannot remember a booking's display message");
                }
            }
            Ok(answer) => tracing::info!(charger.id = %cp, reservation.id = request.reservation_id,
                answer = %answer, "the charger did not take the booking's display message"),
            Err(e) => tracing::info!(charger.id = %cp, reservation.id = request.reservation_id,
                error = ?e, "the booking's display message was not set"),
        }
    }

    /// The charger's display language as its device model says
    /// (`DisplayMessageCtrlr.Language`, the first of a list), else `en`.
    async fn language(&self, charger_id: uuid::Uuid) -> String {
        let filter = crate::device_model::Filter {
            component: Some("DisplayMessageCtrlr".into()),
            variable: Some("Language".into()),
            evse: None,
        };
        let page = booking::model::Page {
            limit: 1,
            offset: 0,
        };
        let reported = self
            .device_model
            .device_model(charger_id, &filter, page)
            .await;
        reported
            .ok()
            .and_then(|(rows, _)| {
                let value = rows.first()?.reported.value("Actual")?;
                let first = value.split(',').next()?.trim();
                (!first.is_empty() && first.len() <= 8).then(|| first.to_owned())
            })
            .unwrap_or_else(|| "en".to_owned())
    }

    /// Takes a reservation's announcement off the charger's screen, when
    /// evgate put one there.
    pub async fn withdraw(self, charge_point_id: String, reservation_id: i32) {
        let cp = &charge_point_id;
        let Ok(Some(charger)) = self.store.charger_by_identity(cp).await else {
            return;
        };
        let shown = match self.store.display_messages(charger.id).await {
            Ok(shown) => shown,
            Err(e) => {
                tracing::warn!(charger.id = %cp, error = %e, "cannot read the charger's display messages");
                return;
            }
        };
        if !shown
            .iter()
            .any(|m| m.message_id == reservation_id && m.origin == DisplayOrigin::Booking)
        {
            return;
        }
        // Forgotten first: of two withdrawals racing (CancelReservation's
        // and the booking follower's), only the one that forgets it clears
        // the screen. A charger that keeps it drops it at its end time.
        match self
            .store
            .remove_display_message(charger.id, reservation_id)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(charger.id = %cp, error = %e, "cannot forget a display message");
                return;
            }
        }
        let payload = json!({ "id": reservation_id });
        match self.registry.call(cp, "ClearDisplayMessage", payload).await {
            Ok(answer) if done(&answer) => {}
            Ok(answer) => tracing::info!(charger.id = %cp, reservation.id = reservation_id,
                answer = %answer, "the charger kept the booking's display message; it lapses at its end time"),
            Err(e) => tracing::info!(charger.id = %cp, reservation.id = reservation_id,
                error = ?e, "the booking's display message was not cleared; it lapses at its end time"),
        }
    }

    /// After an operator's SetDisplayMessage or ClearDisplayMessage was
    /// answered: remembers what the charger now shows.
    pub async fn after_command(
        &self,
        charge_point_id: &str,
        action: &str,
        sent: &Value,
        answer: &Value,
    ) {
        if !done(answer) || !matches!(action, "SetDisplayMessage" | "ClearDisplayMessage") {
            return;
        }
        let Ok(Some(charger)) = self.store.charger_by_identity(charge_point_id).await else {
            return;
        };
        let outcome = if action == "SetDisplayMessage" {
            let message =
                self.remembered(charger.id, DisplayOrigin::Operator, sent["message"].clone());
            self.store.save_display_message(&message).await
        } else {
            let id = sent.get("id").and_then(Value::as_i64).unwrap_or_default() as i32;
            self.store
                .remove_display_message(charger.id, id)
                .await
                .map(drop)
        };
        if let Err(e) = outcome {
            tracing::warn!(charger.id = %charge_point_id, error = %e, "cannot remember a display message change");
        }
    }

    /// Takes announcements down as bookings end their wait: ACTIVE (the
    /// driver arrived: the charger dropped its reservation itself),
    /// COMPLETED, CANCELLED, NO_SHOW. Cancellations also withdraw through
    /// CancelReservation; this catches fulfilment, which sends nothing.
    /// Only chargers connected here are acted on, so in a cluster each
    /// announcement is withdrawn once, by its charger's instance.
    pub async fn follow(self, mut events: broadcast::Receiver<Event>) {
        loop {
            let booking = match events.recv().await {
                Ok(Event::BookingChanged { booking }) => booking,
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "display messages: missed booking events; their messages lapse at their end time"
                    );
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let Some(reservation_id) = booking.reservation_id else {
                continue;
            };
            if matches!(
                booking.status,
                BookingStatus::Pending | BookingStatus::Confirmed
            ) {
                continue;
            }
            let Ok(Some(connector)) = self.store.connector(booking.connector_id).await else {
                continue;
            };
            let Ok(Some(charger)) = self.store.charger(connector.charger_id).await else {
                continue;
            };
            if self.registry.version(&charger.charge_point_id).is_some() {
                tokio::spawn(
                    self.clone()
                        .withdraw(charger.charge_point_id, reservation_id),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn the_slot_is_written_in_the_zone_and_the_language() {
        let slot = (at("2026-07-01T12:00:00Z"), at("2026-07-01T13:00:00Z"));
        assert_eq!(
            reserved_text("en", slot, Tz::UTC),
            "Reserved 12:00–13:00 UTC"
        );
        let amsterdam = time_zone("Europe/Amsterdam").unwrap();
        assert_eq!(
            reserved_text("de-DE", slot, amsterdam),
            "Reserviert 14:00–15:00"
        );
        assert_eq!(reserved_text("xx", slot, amsterdam), "Reserved 14:00–15:00");
        let overnight = (at("2026-07-01T21:30:00Z"), at("2026-07-01T22:30:00Z"));
        assert_eq!(
            reserved_text("nl", overnight, amsterdam),
            "Gereserveerd 23:30–02.07. 00:30"
        );
        assert!(time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn the_announcement_is_a_valid_set_display_message() {
        let request = ReserveRequest {
            charge_point_id: "CP".into(),
            evse_id: 1,
            connector_id: 1,
            connector_type: "CCS".into(),
            reservation_id: 41,
            id_tag: "BOOK".into(),
            expires_at: at("2026-07-01T12:15:00Z"),
            slot: None,
        };
        let slot = (at("2026-07-01T12:00:00Z"), at("2026-07-01T13:00:00Z"));
        let payload = announcement(&request, slot, "en", Tz::UTC);
        let typed: rust_ocpp::v2_0_1::messages::set_display_message::SetDisplayMessageRequest =
            serde_json::from_value(payload.clone()).unwrap();
        assert_eq!(typed.message.id, 41, "the reservation's id");
        assert_eq!(
            payload["message"]["endDateTime"],
            "2026-07-01T12:15:00.000Z"
        );
        assert_eq!(
            payload["message"]["message"]["content"],
            "Reserved 12:00–13:00 UTC"
        );
    }

    #[test]
    fn only_accepted_or_unknown_answers_change_what_is_remembered() {
        assert!(done(&json!({"status": "Accepted"})));
        assert!(done(&json!({"status": "Unknown"})));
        for refused in ["Rejected", "NotSupportedPriority", "UnknownTransaction"] {
            assert!(!done(&json!({ "status": refused })), "{refused}");
        }
    }
}
