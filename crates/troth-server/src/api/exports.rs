//! Export bundles for completed access and copy requests.
//!
//! `POST /v1/requests/{id}/export` (an operator, or the request's own subject) builds
//! the bundle ([`crate::export`]), stores it encrypted in the vault under the
//! subject's data key (category [`EXPORT_CATEGORY`], record = request id, so erasing
//! the subject shreds it) and answers a one-time link valid for 24 hours:
//! `GET /v1/exports/{token}`. The token is `<tenant>.<request>.<secret>`; only the
//! BLAKE3 hash of the 256-bit secret is stored beside the bundle. The first download
//! deletes the stored bundle, so any later one (or one after expiry or erasure) is
//! 410 Gone. Creation and download are audited (`export.created`,
//! `export.downloaded`); neither entry holds PI.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use troth_store::{Access, AuditEvent, RightsStore, Store, TenantId, VaultKey};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::requests::load_record;
use crate::api::state::AppState;
use crate::api::store_error;
use crate::auth::{Permission, Role};
use crate::error::{ApiError, ProblemKind};
use crate::export::{EXPORT_CATEGORY, ManifestFile, build, gather};

/// How long a download link stays valid.
pub const LINK_HOURS: i64 = 24;

const HEADER: &str = "troth-export-v1";

/// A created export and its one-time download link.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportCreated {
    /// The request it answers.
    pub request_id: String,
    /// The one-time token (shown once; only its hash is stored).
    pub token: String,
    /// Where to download it: `GET` this path once.
    pub download: String,
    /// When the link expires.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// Size of the zip in bytes.
    pub size: u64,
    /// SHA-256 of the bundle's `manifest.json` (also in `manifest.sha256`).
    pub manifest_sha256: String,
    /// The bundle's files (besides the manifest and its checksum).
    #[schema(value_type = Vec<Object>)]
    pub files: Vec<ManifestFile>,
}

fn secret_hash(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

fn gone() -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": "Gone",
        "status": 410,
        "detail": "this download link has been used, has expired, or its data was erased",
    });
    let mut res = (StatusCode::GONE, axum::Json(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}

async fn audit(
    state: &AppState,
    tenant: &TenantId,
    actor: String,
    action: &str,
    target: String,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    state
        .store
        .append_audit(
            tenant,
            vec![AuditEvent {
                time: Timestamp::now(),
                actor,
                action: action.to_owned(),
                target,
                detail: detail.to_string(),
            }],
        )
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Builds the export of a completed access or copy request and answers a one-time
/// download link.
#[utoipa::path(post, path = "/v1/requests/{request}/export", tag = "requests",
    params(("request" = String, Path, description = "Request id")),
    responses((status = 201, body = ExportCreated), (status = 404), (status = 409)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<(StatusCode, axum::Json<ExportCreated>), ApiError> {
    if caller.role != Role::Subject {
        caller.require(Permission::WorkRequests)?;
    }
    let record = state
        .store
        .request(&caller.tenant, &id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("request"))?;
    caller.may_act_for(&record.subject)?;
    let loaded = load_record(&state, &caller.tenant, record).await?;
    let kind = loaded.details.kind.as_str();
    if kind != "access" && kind != "copy" {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            format!("a `{kind}` request has no export"),
        )
        .hint("exports answer access and copy requests"));
    }
    let status = loaded.request.state().status().as_str();
    if status != "completed" {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            format!("the request is `{status}`; its export is made once it is completed"),
        )
        .hint("complete the request first (POST /v1/requests/{id}/transitions)"));
    }
    let tenant = caller.tenant.clone();
    let subject = loaded.record.subject.clone();
    let now = Timestamp::now();
    let access = Access::new(caller.actor(), "rights.export");
    let bundle = bundle(&state, &tenant, &loaded.record, &access, now).await?;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|_| ApiError::internal())?;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let expires = now + SignedDuration::from_hours(LINK_HOURS);
    let mut stored = format!(
        "{HEADER}\n{}\n{}\n",
        secret_hash(&secret),
        expires.as_second()
    )
    .into_bytes();
    stored.extend_from_slice(&bundle.zip);
    let key = VaultKey::new(tenant.clone(), subject.clone(), EXPORT_CATEGORY, id.clone());
    state
        .store
        .vault_put(&key, &stored, None, &access)
        .await
        .map_err(store_error)?;
    audit(
        &state,
        &tenant,
        caller.actor(),
        "export.created",
        format!("subject:{subject}"),
        serde_json::json!({ "request": id, "files": bundle.manifest.files.len(),
            "bytes": bundle.zip.len(), "manifest_sha256": bundle.manifest_sha256 }),
    )
    .await?;
    let token = format!("{tenant}.{id}.{secret}");
    Ok((
        StatusCode::CREATED,
        axum::Json(ExportCreated {
            request_id: id,
            download: format!("/v1/exports/{token}"),
            token,
            expires_at: expires,
            size: bundle.zip.len() as u64,
            manifest_sha256: bundle.manifest_sha256,
            files: bundle.manifest.files,
        }),
    ))
}

/// Builds the bundle answering an access or copy request: everything troth holds
/// about the subject (read as `access`) plus every connected system's rows.
pub(crate) async fn bundle(
    state: &AppState,
    tenant: &TenantId,
    record: &troth_store::RequestRecord,
    access: &Access,
    now: Timestamp,
) -> Result<crate::export::Bundle, ApiError> {
    let subject = &record.subject;
    let policy_version = match state
        .tenant(tenant)
        .await
        .map_err(crate::api::runtime_error)?
    {
        Some(rt) => rt
            .in_force(now)
            .await
            .map(|p| format!("{} ({})", p.version.label, p.version.hash)),
        None => None,
    };
    let mut data = gather(
        &state.store,
        tenant,
        subject,
        &record.request_id,
        policy_version,
        now,
        access,
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "gathering an export failed");
        ApiError::internal()
    })?;
    // The company's own systems too; an export missing one of them would tell the
    // person less than we hold, so a failing system fails the export.
    if let Some(systems) = state.connectors.tenant(tenant) {
        // The identities `gather` decrypted find the subject there: no second read.
        let who = crate::connectors::known_as(
            subject,
            data.identities
                .iter()
                .map(|i| (i.kind.as_str(), i.value.as_str())),
        );
        data.connected = crate::connectors::access(systems, &who)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "a connected system failed during an export");
                ApiError::new(
                    ProblemKind::Unavailable,
                    format!("a connected system could not be read: {e}"),
                )
                .hint("fix the system or its data map, then ask for the export again")
            })?;
    }
    build(&data).map_err(|e| {
        tracing::error!(error = %e, "building an export failed");
        ApiError::internal()
    })
}

/// The stored header: secret hash and expiry, then the zip.
fn parse_stored(bytes: &[u8]) -> Option<(&str, i64, &[u8])> {
    let mut parts = bytes.splitn(4, |b| *b == b'\n');
    if parts.next()? != HEADER.as_bytes() {
        return None;
    }
    let hash = std::str::from_utf8(parts.next()?).ok()?;
    let expires = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    Some((hash, expires, parts.next()?))
}

/// Downloads an export once. The token is the credential (no API key): unknown or
/// wrong tokens are 404; a used, expired or erased export is 410 Gone.
#[utoipa::path(get, path = "/v1/exports/{token}", tag = "requests",
    params(("token" = String, Path, description = "The one-time token from POST /v1/requests/{request}/export")),
    responses((status = 200, description = "The zip", content_type = "application/zip"),
        (status = 404), (status = 410)))]
pub async fn download(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("export");
    let mut parts = token.splitn(3, '.');
    let (Some(tenant), Some(id), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(not_found());
    };
    let tenant = TenantId::new(tenant);
    let record = match state.store.request(&tenant, id).await {
        Ok(Some(r)) => r,
        Ok(None) | Err(troth_store::StoreError::TenantNotFound(_)) => return Err(not_found()),
        Err(e) => return Err(store_error(e)),
    };
    let subject = record.subject.clone();
    let key = VaultKey::new(tenant.clone(), subject.clone(), EXPORT_CATEGORY, id);
    let access = Access::new(format!("subject:{subject}"), "rights.export");
    let stored = match state.store.vault_get(&key, &access).await {
        Ok(b) => b,
        // Downloaded already, or the subject was erased (record and key gone).
        Err(troth_store::StoreError::NotFound(_)) => return Ok(gone()),
        Err(e) if e.is_key_destroyed() => return Ok(gone()),
        Err(e) => return Err(store_error(e)),
    };
    let Some((hash, expires, zip)) = parse_stored(&stored) else {
        tracing::error!("stored export does not parse");
        return Err(ApiError::internal());
    };
    // Constant-time comparison of the hashes: the token is a bearer credential.
    let given = blake3::Hash::from_hex(secret_hash(secret)).map_err(|_| not_found())?;
    let want = blake3::Hash::from_hex(hash).map_err(|_| ApiError::internal())?;
    if given != want {
        return Err(not_found());
    }
    let expired = Timestamp::now().as_second() >= expires;
    let zip = zip.to_vec();
    // One time: delete before answering, so a concurrent second download finds nothing.
    let existed = state
        .store
        .vault_delete(&key, &access)
        .await
        .map_err(store_error)?;
    if expired || !existed {
        return Ok(gone());
    }
    audit(
        &state,
        &tenant,
        format!("subject:{subject}"),
        "export.downloaded",
        format!("subject:{subject}"),
        serde_json::json!({ "request": id, "bytes": zip.len() }),
    )
    .await?;
    let mut res = Response::new(Body::from(zip));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let disposition = format!("attachment; filename=\"troth-export-{id}.zip\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
