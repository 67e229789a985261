//! `/v1/tenant` and `/v1/keys`: the caller's tenant and its API keys.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_store::{ApiKeyRecord, ServiceStore, Store, TenantId};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::{AppState, store_subject};
use crate::api::{bad, existing_subject, runtime, store_error};
use crate::auth::{Permission, Role, new_key};
use crate::error::ApiError;
use crate::extract::ApiJson;

/// The caller's tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantInfo {
    /// Tenant id (UUID).
    pub tenant_id: String,
    /// Controller name.
    pub name: String,
    /// When it was created.
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    /// The calling key's role.
    pub role: String,
}

/// Who the calling key belongs to.
#[utoipa::path(get, path = "/v1/tenant", tag = "keys",
    responses((status = 200, body = TenantInfo)), security(("bearer" = [])))]
pub async fn tenant(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<TenantInfo>, ApiError> {
    let t = state
        .store
        .tenant(&caller.tenant)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    Ok(axum::Json(TenantInfo {
        tenant_id: t.id.as_str().to_owned(),
        name: t.name,
        created: t.created,
        role: caller.role.as_str().to_owned(),
    }))
}

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    /// `admin`, `operator`, `app`, `auditor` or `subject`.
    pub role: String,
    /// What the key is for (shown in lists; no personal information).
    pub label: String,
    /// For `subject` keys: the subject the key acts for.
    pub subject: Option<String>,
}

/// A key as listed (never the token).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyInfo {
    /// Key id, for revocation.
    pub key_id: String,
    /// Role.
    pub role: String,
    /// Label.
    pub label: String,
    /// For subject keys, their subject.
    pub subject: Option<String>,
    /// Created.
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    /// Revoked, if it was.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked: Option<Timestamp>,
}

impl From<ApiKeyRecord> for KeyInfo {
    fn from(r: ApiKeyRecord) -> Self {
        Self {
            key_id: r.key_id,
            role: r.role,
            label: r.label,
            subject: r.subject.map(|s| s.as_str().to_owned()),
            created: r.created,
            revoked: r.revoked,
        }
    }
}

/// A created key: the token is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    /// The key.
    #[serde(flatten)]
    pub key: KeyInfo,
    /// The secret token (`troth_…`). Store it now; the server keeps only its hash.
    pub token: String,
}

/// Creates an API key for the caller's tenant (admin only).
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = NewKeyRequest,
    responses((status = 201, body = CreatedKey), (status = 400), (status = 403)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<NewKeyRequest>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::ManageKeys)?;
    let role = Role::parse(&req.role).ok_or_else(|| {
        bad("role", "unknown role").hint("one of admin, operator, app, auditor, subject")
    })?;
    if req.label.trim().is_empty() || req.label.len() > 200 {
        return Err(bad("label", "a label of 1 to 200 characters is required"));
    }
    let subject = match (role, &req.subject) {
        (Role::Subject, Some(s)) => {
            let rt = runtime(&state, &caller).await?;
            Some(store_subject(
                existing_subject(&state, &rt, &caller, s, "subject").await?,
            ))
        }
        (Role::Subject, None) => {
            return Err(bad(
                "subject",
                "a subject key needs the subject it acts for",
            ));
        }
        (_, Some(_)) => return Err(bad("subject", "only subject keys name a subject")),
        (_, None) => None,
    };
    let created = issue(
        &state,
        &caller.tenant,
        role,
        &req.label,
        subject,
        &caller.actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Makes and stores a key; used by the API and by bootstrap.
pub async fn issue(
    state: &AppState,
    tenant: &TenantId,
    role: Role,
    label: &str,
    subject: Option<troth_store::SubjectId>,
    actor: &str,
) -> Result<CreatedKey, ApiError> {
    let made = new_key().map_err(|e| {
        tracing::error!(error = %e, "key generation failed");
        ApiError::internal()
    })?;
    let record = ApiKeyRecord {
        tenant: tenant.clone(),
        key_id: uuid::Uuid::now_v7().simple().to_string(),
        hash: made.hash.as_str().to_owned(),
        role: role.as_str().to_owned(),
        label: label.to_owned(),
        subject,
        created: Timestamp::now(),
        revoked: None,
    };
    state
        .store
        .create_api_key(&record, actor)
        .await
        .map_err(store_error)?;
    Ok(CreatedKey {
        key: record.into(),
        token: made.token,
    })
}

/// Lists the tenant's keys (admin only).
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, body = [KeyInfo])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<Vec<KeyInfo>>, ApiError> {
    caller.require(Permission::ManageKeys)?;
    let keys = state
        .store
        .api_keys(&caller.tenant)
        .await
        .map_err(store_error)?;
    Ok(axum::Json(keys.into_iter().map(KeyInfo::from).collect()))
}

/// Revokes a key; it stops working immediately.
#[utoipa::path(delete, path = "/v1/keys/{key_id}", tag = "keys",
    params(("key_id" = String, Path, description = "Key id")),
    responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageKeys)?;
    let revoked = state
        .store
        .revoke_api_key(&caller.tenant, &key_id, &caller.actor())
        .await
        .map_err(store_error)?;
    if !revoked {
        return Err(ApiError::not_found("active key"));
    }
    state
        .keys
        .write()
        .await
        .retain(|_, r| !(r.tenant == caller.tenant && r.key_id == key_id));
    Ok(StatusCode::NO_CONTENT)
}
