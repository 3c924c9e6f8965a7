//! What a 2.0.1 station tells about its limits (block K): the profiles it
//! holds (ReportChargingProfiles, answering GetChargingProfiles, possibly in
//! parts), and limits set by something other than evgate
//! (NotifyChargingLimit, until ClearedChargingLimit). All are kept, readable
//! at `GET /v1/admin/chargers/{id}/charging-profiles`.

use booking::model::{ChargingProfile, ExternalChargingLimit, ProfileOrigin, ProfilePurpose};
use rust_ocpp::v2_0_1::messages::cleared_charging_limit::ClearedChargingLimitRequest;
use rust_ocpp::v2_0_1::messages::notify_charging_limit::NotifyChargingLimitRequest;
use rust_ocpp::v2_0_1::messages::report_charging_profiles::ReportChargingProfilesRequest;
use serde_json::{Value, json};

use crate::context::{Context, decode, encode};
use crate::domain::internal;
use crate::rpc::RpcError;

/// An enum's OCPP spelling (`EMS`, `ChargingStationMaxProfile`).
fn spelled<T: serde::Serialize>(value: &T) -> Result<String, RpcError> {
    Ok(encode(value)?.as_str().unwrap_or_default().to_owned())
}

pub(super) async fn report_charging_profiles(
    ctx: &Context,
    payload: Value,
) -> Result<Value, RpcError> {
    let req: ReportChargingProfilesRequest = decode(payload)?;
    for profile in &req.charging_profile {
        let purpose = ProfilePurpose::from_ocpp(&spelled(&profile.charging_profile_purpose)?)
            .ok_or_else(|| RpcError::PropertyConstraint("chargingProfilePurpose".into()))?;
        let reported = ChargingProfile {
            charger_id: ctx.charger.id,
            profile_id: profile.id,
            origin: ProfileOrigin::Reported,
            evse_id: req.evse_id,
            purpose,
            stack_level: profile.stack_level,
            profile: encode(profile)?,
            updated_at: ctx.now(),
        };
        ctx.deps
            .store
            .save_charging_profile(&reported)
            .await
            .map_err(internal)?;
    }
    tracing::info!(charger.id = %ctx.charger.charge_point_id, request.id = req.request_id,
        source = %spelled(&req.charging_limit_source)?, profiles = req.charging_profile.len(),
        "charging profiles reported");
    Ok(json!({}))
}

pub(super) async fn notify_charging_limit(
    ctx: &Context,
    payload: Value,
) -> Result<Value, RpcError> {
    let req: NotifyChargingLimitRequest = decode(payload)?;
    let limit = ExternalChargingLimit {
        charger_id: ctx.charger.id,
        source: spelled(&req.charging_limit.charging_limit_source)?,
        evse_id: req.evse_id.unwrap_or(0),
        limit: encode(&req)?,
        updated_at: ctx.now(),
    };
    ctx.deps
        .store
        .save_charging_limit(&limit)
        .await
        .map_err(internal)?;
    Ok(json!({}))
}

pub(super) async fn cleared_charging_limit(
    ctx: &Context,
    payload: Value,
) -> Result<Value, RpcError> {
    let req: ClearedChargingLimitRequest = decode(payload)?;
    let source = spelled(&req.charging_limit_source)?;
    ctx.deps
        .store
        .clear_charging_limits(ctx.charger.id, &source, req.evse_id)
        .await
        .map_err(internal)?;
    Ok(json!({}))
}
