//! Firmware and logs of one charger, each audited when it asks something
//! of the charger: `GET /v1/admin/chargers/{id}/firmware` and `…/logs`
//! (the requests evgate sent, the statuses the charger reported, newest
//! first); `POST …/firmware` orders an update from an operator's URL,
//! `POST …/logs` a log upload (to evgate itself unless a location is
//! given); `GET …/logs/files` and `…/logs/files/{name}` list and fetch
//! what chargers uploaded.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use booking::iso;
use booking::model::{Charger, MaintenanceKind, MaintenanceRequest, MaintenanceStatus};
use booking::store::MAINTENANCE_HISTORY;
use chrono::{DateTime, Utc};
use csms::maintenance::{self as m, FirmwareOrder, LogOrder, LogType, Signed};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, ok};
use super::extract::ApiJson;
use super::openapi::{ErrorEnvelope, envelope};
use super::uploads::safe_name;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(firmware, update_firmware))
        .routes(routes!(logs, request_logs))
        .routes(routes!(log_files))
        .routes(routes!(log_file))
}

/// A request evgate sent.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RequestJson {
    /// evgate's id of it (the `requestId` sent, where the message has one).
    request_id: i32,
    /// The OCPP action sent.
    #[schema(example = "UpdateFirmware")]
    action: String,
    /// Where the firmware came from, or where the log was to go.
    location: String,
    /// The charger's answer (`Accepted`, `Rejected`, …), or why none came.
    answer: Option<String>,
    requested_at: String,
}

impl From<&MaintenanceRequest> for RequestJson {
    fn from(r: &MaintenanceRequest) -> Self {
        Self {
            request_id: r.request_id,
            action: r.action.clone(),
            location: r.location.clone(),
            answer: r.answer.clone(),
            requested_at: iso(r.requested_at),
        }
    }
}

/// A status the charger reported.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StatusJson {
    /// The OCPP status as sent.
    #[schema(example = "Installed")]
    status: String,
    /// The request it is about (absent from 1.6's core notifications).
    request_id: Option<i32>,
    reported_at: String,
}

impl From<&MaintenanceStatus> for StatusJson {
    fn from(s: &MaintenanceStatus) -> Self {
        Self {
            status: s.status.clone(),
            request_id: s.request_id,
            reported_at: iso(s.reported_at),
        }
    }
}

/// A charger's firmware or log track.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Track {
    charge_point_id: String,
    /// The newest status the charger reported; `null` before any.
    status: Option<StatusJson>,
    /// The newest requests first (at most 20).
    requests: Vec<RequestJson>,
    /// The reported statuses, newest first (at most 20).
    history: Vec<StatusJson>,
}

envelope!(
    /// A charger's firmware or log track.
    TrackEnvelope,
    Track
);

async fn track(state: &AppState, charger: Charger, kind: MaintenanceKind) -> ApiResult<Track> {
    let requests = state
        .store
        .maintenance_requests(charger.id, kind, MAINTENANCE_HISTORY)
        .await?;
    let history = state.store.maintenance_statuses(charger.id, kind).await?;
    Ok(Track {
        charge_point_id: charger.charge_point_id,
        status: history.first().map(StatusJson::from),
        requests: requests.iter().map(RequestJson::from).collect(),
        history: history.iter().map(StatusJson::from).collect(),
    })
}

/// The firmware updates evgate asked for and what the charger reported.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/firmware",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The firmware track", body = TrackEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn firmware(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    Ok(ok(track(&state, charger, MaintenanceKind::Firmware).await?))
}

/// The log and diagnostics uploads evgate asked for and what the charger
/// reported.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/logs",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The log track", body = TrackEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn logs(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    Ok(ok(track(&state, charger, MaintenanceKind::Log).await?))
}

/// A firmware update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"location": "https://firmware.example/cp-2.1.bin"}))]
struct FirmwareBody {
    /// Where the charger downloads the image: an absolute URL (at most 512
    /// characters), passed on as it is.
    location: String,
    /// When to download it at the earliest (default: now).
    retrieve_date: Option<DateTime<Utc>>,
    /// When to install it (2.0.1, and signed updates on 1.6).
    install_date: Option<DateTime<Utc>>,
    /// Download attempts.
    retries: Option<i32>,
    /// Seconds between attempts.
    retry_interval: Option<i32>,
    /// PEM certificate of the image's signer (at most 5500 characters);
    /// with `signature`, makes the update signed (1.6: SignedUpdateFirmware).
    signing_certificate: Option<String>,
    /// Base64 signature of the image (at most 800 characters).
    signature: Option<String>,
}

/// What the charger was sent and how it answered.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Ordered {
    charge_point_id: String,
    request_id: i32,
    /// The OCPP action sent.
    action: &'static str,
    /// Where the firmware comes from, or where the log goes.
    location: String,
    /// The charger's answer in its words (`Accepted`, `Rejected`,
    /// `InvalidCertificate`, …; for 1.6 UpdateFirmware `Accepted`, for 1.6
    /// GetDiagnostics `Accepted` when the charger names its file, `NoFile`
    /// when it has none).
    answer: String,
    /// The charger's CALLRESULT payload.
    #[schema(value_type = Object)]
    response: Value,
}

envelope!(
    /// What the charger was sent and how it answered.
    OrderedEnvelope,
    Ordered
);

fn signed(body: &FirmwareBody) -> ApiResult<Option<Signed>> {
    match (&body.signing_certificate, &body.signature) {
        (None, None) => Ok(None),
        (Some(c), Some(s)) => {
            if c.chars().count() > 5500 {
                return Err(ApiError::bad_request(
                    "signingCertificate",
                    "at most 5500 characters",
                ));
            }
            if s.chars().count() > 800 {
                return Err(ApiError::bad_request("signature", "at most 800 characters"));
            }
            Ok(Some(Signed {
                signing_certificate: c.clone(),
                signature: s.clone(),
            }))
        }
        (None, Some(_)) => Err(ApiError::bad_request(
            "signingCertificate",
            "a signed update needs both signingCertificate and signature",
        )),
        (Some(_), None) => Err(ApiError::bad_request(
            "signature",
            "a signed update needs both signingCertificate and signature",
        )),
    }
}

/// Records the request, sends it, records the answer, audits; the caller
/// gets the charger's answer or the command's error.
async fn order(
    state: &AppState,
    admin: &AdminUser,
    cp: String,
    request: MaintenanceRequest,
    call: impl FnOnce(i32) -> (&'static str, Value),
    audit_action: &str,
) -> ApiResult<Ordered> {
    let request = state.store.add_maintenance_request(&request).await?;
    let (action, payload) = call(request.request_id);
    let sent = state.chargers.command(&cp, action, payload).await;
    let answer = match &sent {
        Ok(response) => m::answer_status(action, response),
        Err(e) => format!("not sent or not answered: {e}"),
    };
    state
        .store
        .answer_maintenance_request(request.charger_id, request.request_id, &answer)
        .await?;
    tracing::info!(admin.sub = admin.0.user_id, charger.id = %cp, ocpp.action = action,
        request.id = request.request_id, answer = %answer, "maintenance request");
    let outcome = match &sent {
        Ok(_) if m::accepted(&answer) => "ACCEPTED",
        Ok(_) => "REJECTED",
        Err(_) => "FAILED",
    };
    let details = json!({ "action": action, "requestId": request.request_id,
        "location": request.location, "answer": answer });
    state
        .audit(admin, audit_action, &cp, details, outcome)
        .await;
    let response = sent?;
    Ok(Ordered {
        charge_point_id: cp,
        request_id: request.request_id,
        action,
        location: request.location,
        answer,
        response,
    })
}

/// Orders a firmware update in the charger's version: 1.6 UpdateFirmware,
/// or SignedUpdateFirmware (security whitepaper) when signed; 2.0.1
/// UpdateFirmware. Its progress comes back as status notifications (`GET
/// …/firmware`). Audited as `charger.firmware`.
#[utoipa::path(
    post,
    path = "/v1/admin/chargers/{id}/firmware",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    request_body = FirmwareBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered (`answer` says whether it accepted)", body = OrderedEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: no absolute URL, too long, half a signature", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_OFFLINE`", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: the charger answered with a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
async fn update_firmware(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
    ApiJson(body): ApiJson<FirmwareBody>,
) -> ApiResult<axum::Json<Value>> {
    m::check_location(&body.location).map_err(|e| ApiError::bad_request("location", e))?;
    let signed = signed(&body)?;
    let charger = state.charger(&charge_point_id).await?;
    let version = super::version_of(&charger)?;
    let now = state.clock.now();
    let firmware = FirmwareOrder {
        location: body.location.clone(),
        retrieve_at: body.retrieve_date.unwrap_or(now),
        install_at: body.install_date,
        retries: body.retries,
        retry_interval: body.retry_interval,
        signed,
    };
    let action = m::firmware_call(version, &firmware, 0).0;
    let request = MaintenanceRequest {
        charger_id: charger.id,
        request_id: 0,
        kind: MaintenanceKind::Firmware,
        action: action.to_owned(),
        location: body.location,
        upload_token: None,
        answer: None,
        requested_at: now,
    };
    let ordered = order(
        &state,
        &admin,
        charger.charge_point_id,
        request,
        |id| m::firmware_call(version, &firmware, id),
        "charger.firmware",
    )
    .await?;
    Ok(ok(ordered))
}

/// A log upload.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LogsBody {
    /// `DiagnosticsLog` (default) or `SecurityLog`.
    #[schema(example = "DiagnosticsLog")]
    log_type: Option<String>,
    /// The oldest entries wanted.
    from: Option<DateTime<Utc>>,
    /// The newest entries wanted.
    to: Option<DateTime<Utc>>,
    /// Where the charger uploads: default, evgate itself (a location made
    /// for this request, see `PUT /ocpp-uploads/…`).
    location: Option<String>,
    /// Upload attempts.
    retries: Option<i32>,
    /// Seconds between attempts.
    retry_interval: Option<i32>,
}

/// The base chargers reach evgate at: `OCPP_UPLOAD_BASE_URL`, else the host
/// the admin's request named.
fn upload_base(state: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    if let Some(base) = &state.uploads.base_url {
        return Ok(base.clone());
    }
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .map(|h| format!("http://{h}"))
        .ok_or_else(|| {
            ApiError::Conflict(
                "NOT_CONFIGURED",
                "no OCPP_UPLOAD_BASE_URL and no Host header: give a location".into(),
            )
        })
}

/// Asks the charger to upload a log: 1.6 GetDiagnostics for diagnostics,
/// GetLog (security whitepaper) for the security log; 2.0.1 GetLog. By
/// default to evgate's own upload endpoint, at a location that works for
/// this request only; the files are listed at `…/logs/files`. Audited as
/// `charger.logs`.
#[utoipa::path(
    post,
    path = "/v1/admin/chargers/{id}/logs",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    request_body = LogsBody,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The charger answered (`answer` says whether it accepted)", body = OrderedEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: an unknown log type, a location that is no absolute URL, `from` after `to`", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
        (status = 409, description = "`CHARGER_OFFLINE`; `NOT_CONFIGURED`: no base URL for evgate's own location", body = ErrorEnvelope),
        (status = 502, description = "`CHARGER_ERROR`: the charger answered with a CALLERROR", body = ErrorEnvelope),
        (status = 504, description = "`CHARGER_TIMEOUT`: no answer in time", body = ErrorEnvelope),
    ),
)]
async fn request_logs(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(charge_point_id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LogsBody>,
) -> ApiResult<axum::Json<Value>> {
    let log_type = match body.log_type.as_deref() {
        None => LogType::Diagnostics,
        Some(t) => LogType::parse(t).ok_or_else(|| {
            ApiError::bad_request("logType", "logType is DiagnosticsLog or SecurityLog")
        })?,
    };
    if let (Some(from), Some(to)) = (body.from, body.to)
        && from > to
    {
        return Err(ApiError::bad_request("from", "from is after to"));
    }
    if let Some(location) = &body.location {
        m::check_location(location).map_err(|e| ApiError::bad_request("location", e))?;
    }
    let charger = state.charger(&charge_point_id).await?;
    let version = super::version_of(&charger)?;
    let (location, upload_token) = match body.location {
        Some(location) => (location, None),
        None => {
            let token = m::upload_token();
            let base = upload_base(&state, &headers)?;
            let location = m::upload_location(&base, &charger.charge_point_id, &token);
            m::check_location(&location).map_err(|e| {
                ApiError::Conflict("NOT_CONFIGURED", format!("evgate's upload {e}"))
            })?;
            (location, Some(token))
        }
    };
    let log = LogOrder {
        log_type,
        location: location.clone(),
        from: body.from,
        to: body.to,
        retries: body.retries,
        retry_interval: body.retry_interval,
    };
    let request = MaintenanceRequest {
        charger_id: charger.id,
        request_id: 0,
        kind: MaintenanceKind::Log,
        action: m::log_call(version, &log, 0).0.to_owned(),
        location,
        upload_token,
        answer: None,
        requested_at: state.clock.now(),
    };
    let ordered = order(
        &state,
        &admin,
        charger.charge_point_id,
        request,
        |id| m::log_call(version, &log, id),
        "charger.logs",
    )
    .await?;
    Ok(ok(ordered))
}

/// An uploaded file.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct FileJson {
    /// `{requestId}-{the charger's file name}`.
    name: String,
    /// Bytes.
    size: u64,
    /// When it was stored.
    stored_at: Option<String>,
}

/// A charger's uploaded files.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Files {
    charge_point_id: String,
    /// By name.
    files: Vec<FileJson>,
}

envelope!(
    /// A charger's uploaded files.
    FilesEnvelope,
    Files
);

/// The files the charger uploaded to evgate, by name.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/logs/files",
    tag = "operator",
    params(("id" = String, Path, description = "The charger's identity (`chargePointId`)")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The files", body = FilesEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger", body = ErrorEnvelope),
    ),
)]
async fn log_files(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(charge_point_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let charger = state.charger(&charge_point_id).await?;
    let mut files = Vec::new();
    if let Ok(mut dir) = tokio::fs::read_dir(state.uploads.folder(charger.id)).await {
        while let Ok(Some(entry)) = dir.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.metadata().await else {
                continue;
            };
            if !meta.is_file() || !safe_name(&name) {
                continue; // a part still being written
            }
            let stored_at = meta.modified().ok().map(|t| iso(DateTime::<Utc>::from(t)));
            files.push(FileJson {
                name,
                size: meta.len(),
                stored_at,
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ok(Files {
        charge_point_id: charger.charge_point_id,
        files,
    }))
}

/// One uploaded file, as the charger sent it.
#[utoipa::path(
    get,
    path = "/v1/admin/chargers/{id}/logs/files/{name}",
    tag = "operator",
    params(
        ("id" = String, Path, description = "The charger's identity (`chargePointId`)"),
        ("name" = String, Path, description = "The file's name as listed"),
    ),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "`VALIDATION_ERROR`: not a file name evgate stores (`field`: `name`)", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such charger or file", body = ErrorEnvelope),
    ),
)]
async fn log_file(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path((charge_point_id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    if !safe_name(&name) {
        return Err(ApiError::bad_request(
            "name",
            "not a file name evgate stores",
        ));
    }
    let charger = state.charger(&charge_point_id).await?;
    let path = state.uploads.folder(charger.id).join(&name);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::NotFound(format!("no file {name} from {charge_point_id}")))?;
    let stream = futures_util::stream::try_unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut chunk = vec![0u8; 64 * 1024];
        let n = file.read(&mut chunk).await?;
        if n == 0 {
            return Ok::<_, std::io::Error>(None);
        }
        chunk.truncate(n);
        Ok(Some((axum::body::Bytes::from(chunk), file)))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
