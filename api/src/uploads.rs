//! Where chargers deliver the diagnostics and logs evgate asked for:
//! `PUT` or `POST /ocpp-uploads/{chargePointId}/{token}/{fileName}` (or the
//! location itself, `…/{token}/`), the body being the file. No auth header:
//! many chargers cannot send one to an upload location, so the location
//! carries an unguessable token evgate made for that one request, good for
//! that charger only and for `csms::maintenance::UPLOAD_WINDOW`. Files are
//! kept under the upload directory, one folder per charger, named
//! `{requestId}-{fileName}`.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, header};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::{ApiError, ApiResult, created};
use super::openapi::{ErrorEnvelope, envelope};

/// The path every upload location starts with (exempt from the JSON body
/// limit: its own limit is [`UploadSettings::max_bytes`]).
pub const UPLOAD_PREFIX: &str = "/ocpp-uploads/";

/// Where uploads go and how big they may be.
#[derive(Debug, Clone)]
pub struct UploadSettings {
    /// The directory holding one folder per charger (`OCPP_UPLOAD_DIR`).
    pub dir: PathBuf,
    /// The largest file taken, in bytes (`OCPP_UPLOAD_MAX_MB`).
    pub max_bytes: u64,
    /// How chargers reach this HTTP listener (`OCPP_UPLOAD_BASE_URL`).
    pub base_url: Option<String>,
}

impl UploadSettings {
    /// A charger's folder (by its id: identities may hold any character).
    pub(crate) fn folder(&self, charger_id: uuid::Uuid) -> PathBuf {
        self.dir.join(charger_id.to_string())
    }
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_named))
        .routes(routes!(upload_unnamed))
}

/// A file name a charger may give, and an admin may ask for: 1–200
/// characters of letters, digits, `.`, `_`, `-`, `+`, not starting with a
/// dot — nothing that could leave the folder or hide in it.
pub(crate) fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
}

/// A file as stored.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Stored {
    /// The name it is listed and downloaded under (`{requestId}-{fileName}`).
    name: String,
    /// Bytes.
    size: u64,
}

envelope!(
    /// The file as stored.
    StoredEnvelope,
    Stored
);

/// Takes a charger's file for the request whose location this is.
#[utoipa::path(
    method(put, post),
    path = "/ocpp-uploads/{chargePointId}/{token}/{fileName}",
    tag = "uploads",
    params(
        ("chargePointId" = String, Path, description = "The charger's identity"),
        ("token" = String, Path, description = "The secret of the request's upload location"),
        ("fileName" = String, Path, description = "The file's name: letters, digits, `._-+`"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file"),
    responses(
        (status = 201, description = "Stored", body = StoredEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`: a file name outside the allowed characters (`field`: `fileName`)", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no upload is awaited at this location (unknown or expired token, another charger's)", body = ErrorEnvelope),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: over `OCPP_UPLOAD_MAX_MB`", body = ErrorEnvelope),
    ),
)]
async fn upload_named(
    State(state): State<AppState>,
    UrlPath((charge_point_id, token, file_name)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(axum::http::StatusCode, axum::Json<Value>)> {
    upload(&state, &charge_point_id, &token, &file_name, &headers, body).await
}

/// Takes a charger's file sent to the location itself, with no name of
/// its own: stored as `{requestId}-upload`.
#[utoipa::path(
    method(put, post),
    path = "/ocpp-uploads/{chargePointId}/{token}/",
    tag = "uploads",
    params(
        ("chargePointId" = String, Path, description = "The charger's identity"),
        ("token" = String, Path, description = "The secret of the request's upload location"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file"),
    responses(
        (status = 201, description = "Stored", body = StoredEnvelope),
        (status = 404, description = "`NOT_FOUND`: no upload is awaited at this location", body = ErrorEnvelope),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: over `OCPP_UPLOAD_MAX_MB`", body = ErrorEnvelope),
    ),
)]
async fn upload_unnamed(
    State(state): State<AppState>,
    UrlPath((charge_point_id, token)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(axum::http::StatusCode, axum::Json<Value>)> {
    upload(&state, &charge_point_id, &token, "upload", &headers, body).await
}

async fn upload(
    state: &AppState,
    charge_point_id: &str,
    token: &str,
    file_name: &str,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<(axum::http::StatusCode, axum::Json<Value>)> {
    let nothing_awaited = || ApiError::NotFound("no upload is awaited at this location".to_owned());
    let request = state
        .store
        .maintenance_request_by_token(token)
        .await?
        .filter(|r| csms::maintenance::upload_open(r.requested_at, state.clock.now()))
        .ok_or_else(nothing_awaited)?;
    let charger = state
        .store
        .charger_by_identity(charge_point_id)
        .await?
        .filter(|c| c.id == request.charger_id)
        .ok_or_else(nothing_awaited)?;
    if !safe_name(file_name) {
        return Err(ApiError::bad_request(
            "fileName",
            "a file name has 1–200 letters, digits, '.', '_', '-' or '+', and no leading dot",
        ));
    }
    let max = state.uploads.max_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let folder = state.uploads.folder(charger.id);
    let name = format!("{}-{file_name}", request.request_id);
    let size = store_file(&folder, &name, body, max).await?;
    tracing::info!(charger.id = %charger.charge_point_id, request.id = request.request_id,
        file = %name, size, "charger upload stored");
    Ok(created(Stored { name, size }))
}

fn too_large(max: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!("uploads may have at most {} MB", max >> 20))
}

/// Writes the body beside its final name and renames it there once whole,
/// so a listing never shows half a file; over `max` bytes, nothing is kept.
async fn store_file(folder: &Path, name: &str, body: Body, max: u64) -> ApiResult<u64> {
    let io = |e: std::io::Error| ApiError::Internal(format!("storing an upload: {e}"));
    tokio::fs::create_dir_all(folder).await.map_err(io)?;
    let part = folder.join(format!(".{name}.{}.part", uuid::Uuid::new_v4().simple()));
    let mut file = tokio::fs::File::create(&part).await.map_err(io)?;
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    let outcome = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::BadRequest {
                field: None,
                message: format!("the upload broke off: {e}"),
            })?;
            size += chunk.len() as u64;
            if size > max {
                return Err(too_large(max));
            }
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        tokio::fs::rename(&part, folder.join(name))
            .await
            .map_err(io)
    }
    .await;
    if outcome.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    outcome.map(|()| size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_taken() {
        for good in ["diag.zip", "CP-1_2030-01-01.log", "a+b.tar.gz"] {
            assert!(safe_name(good), "{good}");
        }
        for bad in [
            "",
            ".hidden",
            "..",
            "../x",
            "a/b",
            "a\\b",
            "a b",
            "é.log",
            &"a".repeat(201),
        ] {
            assert!(!safe_name(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_file_over_the_limit_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let big = Body::from(vec![7u8; 2048]);
        assert!(matches!(
            store_file(dir.path(), "1-big", big, 1024).await,
            Err(ApiError::PayloadTooLarge(_))
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let small = Body::from(vec![7u8; 1000]);
        assert_eq!(
            store_file(dir.path(), "1-small", small, 1024)
                .await
                .unwrap(),
            1000
        );
        assert_eq!(
            std::fs::read(dir.path().join("1-small")).unwrap().len(),
            1000
        );
    }
}
