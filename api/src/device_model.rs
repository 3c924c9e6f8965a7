//! The OCPP 2.0.1 device model for operators (B06–B08):
//! `GET /v1/admin/chargers/{id}/device-model` reads what the charger
//! reported (filtered, paged); `POST …/device-model/refresh` asks it for a
//! FullInventory report now; `PUT …/device-model/settings` turns on a
//! FullInventory request after each of its boots. Changes are audited.

use axum::extract::{Path, State};
use booking::catalog;
use booking::iso;
use csms::device_model::{Filter, Settings, StoredVariable};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::{ApiJson, ApiQuery};
use super::openapi::{ErrorEnvelope, envelope};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read_device_model))
        .routes(routes!(refresh_device_model))
        .routes(routes!(set_device_model_settings))
}

/// OCPP component and variable names are at most 50 characters.
const MAX_NAME: usize = 50;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeviceModelQuery {
    /// Only this component (e.g. `DeviceDataCtrlr`), any case.
    component: Option<String>,
    /// Only this variable (e.g. `ItemsPerMessage`), any case.
    variable: Option<String>,
    /// Only components of this EVSE (0 or more).
    #[param(minimum = 0)]
    evse: Option<i64>,
    /// Rows per page, 1 to 200 (default 50).
    limit: Option<i64>,
    /// Rows to skip (default 0).
    offset: Option<i64>,
}

/// A component as the charger named it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReportedComponent {
    name: String,
    instance: Option<String>,
    /// `{id, connectorId}` for an EVSE- or connector-level component.
    #[schema(value_type = Option<Object>)]
    evse: Option<Value>,
}

/// A variable as the charger named it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReportedVariableName {
    name: String,
    instance: Option<String>,
}

/// One reported variable with its attributes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeviceVariable {
    component: ReportedComponent,
    variable: ReportedVariableName,
    /// `variableAttribute[]` as reported: `{type, value, mutability,
    /// persistent, constant}`.
    #[schema(value_type = Vec<Object>)]
    attributes: Value,
    /// `variableCharacteristics` as reported: `{unit, dataType, minLimit,
    /// maxLimit, valuesList, supportsMonitoring}`; `null` when not sent.
    #[schema(value_type = Option<Object>)]
    characteristics: Option<Value>,
    /// The `requestId` of the report that wrote it last.
    request_id: i32,
    updated_at: String,
}

impl From<StoredVariable> for DeviceVariable {
    fn from(v: StoredVariable) -> Self {
        let k = v.reported.key;
        let evse = k.evse_id.map(|id| match k.connector_id {
            Some(c) => json!({ "id": id, "connectorId": c }),
            None => json!({ "id": id }),
        });
        Self {
            component: ReportedComponent {
                name: k.component,
                instance: k.component_instance,
                evse,
            },
            variable: ReportedVariableName {
                name: k.variable,
                instance: k.variable_instance,
            },
            attributes: v.reported.attributes,
            characteristics: v.reported.characteristics,
            request_id: v.request_id,
            updated_at: iso(v.updated_at),
        }
    }
}

/// A page of a charger's device model.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeviceModelPage {
    charge_point_id: String,
    /// Whether evgate asks for a FullInventory after each boot.
    refresh_on_boot: bool,
    variables: Vec<DeviceVariable>,
    total: u64,
    limit: u32,
    offset: u64,
}

envelope!(
    /// A page of a charger's device model.
    DeviceModelEnvelope,
    DeviceModelPage
);

fn name_filter(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        None => Ok(None),
        Some(v) if !v.trim().is_empty() && v.chars().count() <= MAX_NAME => Ok(Some(v)),
        Some(_) => Err(ApiError::bad_request(
            field,
            format!("{field} must be 1 to {MAX_NAME} characters"),
        )),
    }
}

/// What the charger reported of its components and variables (NotifyReport
/// parts, stored as they arrive), ordered by component, EVSE, connector and
/// variable; an empty page until it has reported.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/device-model",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)"), DeviceModelQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "A page of the device model", body = DeviceModelEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: a bad filter or page (`field` names it)", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn read_device_model(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiQuery(q): ApiQuery<DeviceModelQuery>,
) -> ApiResult<axum::Json<Value>> {
    let page = catalog::page(q.limit, q.offset)?;
    let evse = q
        .evse
        .map(|e| {
            i32::try_from(e)
                .ok()
                .filter(|e| *e >= 0)
                .ok_or_else(|| ApiError::bad_request("evse", "evse must be 0 or more"))
        })
        .transpose()?;
    let filter = Filter {
        component: name_filter("component", q.component)?,
        variable: name_filter("variable", q.variable)?,
        evse,
    };
    let charger = state.charger(&charge_point_id).await?;
    let (rows, total) = state
        .device_model
        .device_model(charger.id, &filter, page)
        .await?;
    let settings = state.device_model.device_model_settings(charger.id).await?;
    Ok(ok(DeviceModelPage {
        charge_point_id: charger.charge_point_id,
        refresh_on_boot: settings.refresh_on_boot,
        variables: rows.into_iter().map(DeviceVariable::from).collect(),
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// The charger's answer to a refresh.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeviceModelRefresh {
    charge_point_id: String,
    /// The `requestId` its NotifyReport parts will carry.
    request_id: i32,
    /// The charger's `status`: `Accepted`, `Rejected`, `NotSupported`,
    /// `EmptyResultSet`.
    #[schema(example = "Accepted")]
    status: String,
    /// The charger's whole GetBaseReport answer.
    #[schema(value_type = Object)]
    response: Value,
}

envelope!(
    /// The charger's answer to a refresh.
    DeviceModelRefreshEnvelope,
    DeviceModelRefresh
);

/// Sends GetBaseReport FullInventory now (here or on the instance holding
/// the charger) and answers with the charger's status; the report follows
/// in NotifyReport parts and replaces the stored model once complete.
/// Audited as `charger.device_model.refresh`.
#[utoipa::path(
    post,
    path = "/v1/admin/chargers/{id}/device-model/refresh",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered", body = DeviceModelRefreshEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: the charger speaks OCPP 1.6 (no device model)", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_OFFLINE`: not connected, or busy with another call", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: the charger answered with a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
async fn refresh_device_model(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    let request_id = csms::device_model::new_request_id();
    let payload = json!({ "requestId": request_id, "reportBase": "FullInventory" });
    let answer = state
        .chargers
        .command(&charge_point_id, "GetBaseReport", payload)
        .await;
    let status = answer
        .as_ref()
        .ok()
        .and_then(|a| a.get("status"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    tracing::info!(admin.sub = admin.0.user_id, charger.id = %charge_point_id, request_id,
        status = %status, ok = answer.is_ok(), "device model refresh");
    let (outcome, error) = match &answer {
        Ok(_) => ("ANSWERED", None),
        Err(e) => ("FAILED", Some(e.to_string())),
    };
    let details = json!({ "requestId": request_id, "status": status, "error": error });
    state
        .audit(
            &admin,
            "charger.device_model.refresh",
            &charge_point_id,
            details,
            outcome,
        )
        .await;
    let response = answer?;
    Ok(ok(DeviceModelRefresh {
        charge_point_id: charger.charge_point_id,
        request_id,
        status,
        response,
    }))
}

/// The operator's device-model switches for one charger.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeviceModelSettingsBody {
    /// Ask the charger for a FullInventory report after each accepted boot.
    refresh_on_boot: bool,
}

/// The switches recorded.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeviceModelSettings {
    charge_point_id: String,
    refresh_on_boot: bool,
}

envelope!(
    /// The switches recorded.
    DeviceModelSettingsEnvelope,
    DeviceModelSettings
);

/// Records whether evgate asks this charger for a FullInventory report
/// after each of its accepted boots (2.0.1 chargers; off by default).
/// Audited as `charger.device_model.settings`.
#[utoipa::path(
    put,
    path = "/v1/admin/chargers/{id}/device-model/settings",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    request_body = DeviceModelSettingsBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Recorded", body = DeviceModelSettingsEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: a missing or mistyped `refreshOnBoot`", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn set_device_model_settings(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiJson(body): ApiJson<DeviceModelSettingsBody>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    let settings = Settings {
        refresh_on_boot: body.refresh_on_boot,
    };
    state
        .device_model
        .set_device_model_settings(charger.id, settings, state.clock.now())
        .await?;
    tracing::info!(admin.sub = admin.0.user_id, charger.id = %charge_point_id,
        refresh_on_boot = settings.refresh_on_boot, "device model settings");
    state
        .audit(
            &admin,
            "charger.device_model.settings",
            &charge_point_id,
            json!({ "refreshOnBoot": settings.refresh_on_boot }),
            "ACCEPTED",
        )
        .await;
    Ok(ok(DeviceModelSettings {
        charge_point_id: charger.charge_point_id,
        refresh_on_boot: settings.refresh_on_boot,
    }))
}
