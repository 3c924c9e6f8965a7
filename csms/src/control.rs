//! The booking core's charger-control port over OCPP: ReserveNow and
//! CancelReservation in whichever version the charger speaks, through its
//! connection task, with the typed answer as the outcome.

use std::sync::Arc;

use async_trait::async_trait;
use booking::charger_control::{ChargerControl, Refusal, ReserveRequest};
use booking::model::OcppVersion;

use crate::commands::{self, CommandError};
use crate::registry::{CallFailure, Registry};
use crate::{v16, v201};

/// The booking core's [`ChargerControl`] over OCPP, and the way operator
/// commands reach chargers: calls go through each charger's connection task, in
/// the version it speaks.
#[derive(Debug, Clone)]
pub struct OcppChargers {
    /// The chargers connected here; shared with the [`crate::Csms`] that
    /// accepts their sockets.
    pub registry: Arc<Registry>,
    /// What chargers show on their screens, and the bookings announced there.
    pub displays: crate::display::Displays,
    /// Device models: which reports evgate asked for, and how many items
    /// one GetVariables/SetVariables may carry to each charger.
    pub device_model: crate::DeviceModel,
    /// The charging profiles chargers accepted.
    pub smart_charging: crate::smart_charging::SmartCharging,
}

impl OcppChargers {
    /// Sends an operator command and returns the charger's answer.
    pub async fn command(
        &self,
        charge_point_id: &str,
        action: &str,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, CommandError> {
        let version = self
            .registry
            .version(charge_point_id)
            .ok_or(CommandError::Offline)?;
        let (action, payload) = commands::validate(version, action, payload)?;
        if matches!(action, "GetBaseReport" | "GetReport") {
            self.device_model
                .note_request(charge_point_id, action, &payload);
        }
        self.smart_charging
            .before_command(charge_point_id, action)
            .await;
        // GetVariables/SetVariables within the charger's ItemsPerMessage
        // and BytesPerMessage; every other action as one call.
        let answer = self
            .device_model
            .call_split(&self.registry, charge_point_id, action, payload.clone())
            .await?;
        self.displays
            .after_command(charge_point_id, action, &payload, &answer)
            .await;
        self.smart_charging
            .after_command(charge_point_id, version, action, &payload, &answer)
            .await;
        Ok(answer)
    }
}

fn refusal(failure: CallFailure) -> Refusal {
    match failure {
        CallFailure::Error(e) => Refusal::CallError(e.to_string()),
        CallFailure::Timeout => Refusal::Timeout,
        CallFailure::Offline | CallFailure::Busy => Refusal::Offline,
    }
}

#[async_trait]
impl ChargerControl for OcppChargers {
    async fn reserve_now(&self, request: &ReserveRequest) -> Result<(), Refusal> {
        let version = self
            .registry
            .version(&request.charge_point_id)
            .ok_or(Refusal::Offline)?;
        let payload = match version {
            OcppVersion::V16 => v16::reservation::reserve_now(request),
            OcppVersion::V201 => v201::reservation::reserve_now(request),
        }
        .map_err(|e| Refusal::CallError(e.to_string()))?;
        let answer = self
            .registry
            .call(&request.charge_point_id, "ReserveNow", payload)
            .await
            .map_err(refusal)?;
        match version {
            OcppVersion::V16 => v16::reservation::reserve_now_answer(answer),
            OcppVersion::V201 => v201::reservation::reserve_now_answer(answer),
        }?;
        // After the reservation stands, not before: the message is courtesy.
        tokio::spawn(self.displays.clone().announce(request.clone()));
        Ok(())
    }

    async fn cancel_reservation(
        &self,
        charge_point_id: &str,
        reservation_id: i32,
    ) -> Result<(), Refusal> {
        let version = self
            .registry
            .version(charge_point_id)
            .ok_or(Refusal::Offline)?;
        let payload = match version {
            OcppVersion::V16 => v16::reservation::cancel_reservation(reservation_id),
            OcppVersion::V201 => v201::reservation::cancel_reservation(reservation_id),
        }
        .map_err(|e| Refusal::CallError(e.to_string()))?;
        let answer = self
            .registry
            .call(charge_point_id, "CancelReservation", payload)
            .await
            .map_err(refusal)?;
        let outcome = match version {
            OcppVersion::V16 => v16::reservation::cancel_reservation_answer(answer),
            OcppVersion::V201 => v201::reservation::cancel_reservation_answer(answer),
        };
        // Cancelled, or unknown to the charger already: either way nobody
        // is coming for it.
        tokio::spawn(
            self.displays
                .clone()
                .withdraw(charge_point_id.to_owned(), reservation_id),
        );
        outcome
    }
}
