//! `/v1/subjects/{subject}/vault/{category}/{record}`: personal information stored
//! encrypted per subject. Every write and read names its purpose, which the decision
//! engine must allow for that category; every access is audited.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_core::{Decision, DecisionRequest, Obligation, SubjectId as CoreSubject};
use troth_store::{Access, Store, VaultKey};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::{AppState, TenantRuntime, store_subject};
use crate::api::{bad, existing_subject, no_policy, runtime, signals, store_error};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;

/// Refuses (422, with the reason codes) unless the policy allows `purpose` to use
/// `category` for the subject now; answers the allowing decision.
pub async fn check_purpose(
    rt: &TenantRuntime,
    subject: CoreSubject,
    purpose: &str,
    category: &str,
    headers: &HeaderMap,
) -> Result<Decision, ApiError> {
    let req = DecisionRequest::try_new(purpose, &[category], Timestamp::now())
        .map_err(|_| bad("purpose", "not a valid purpose or category id"))?
        .with_signals(signals(headers));
    let ix = rt.index.read().await;
    let d = ix
        .as_ref()
        .ok_or_else(no_policy)?
        .decide(Some(subject), &req);
    if d.allow {
        return Ok(d);
    }
    let codes: Vec<&str> = d.reasons.iter().map(|r| r.code()).collect();
    Err(ApiError::new(
        ProblemKind::Unprocessable,
        format!(
            "the policy does not allow purpose `{purpose}` to use `{category}` for this subject: {}",
            codes.join(", ")
        ),
    )
    .field("purpose")
    .hint("POST /v1/decisions with the same question shows every reason"))
}

/// A value to store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutValue {
    /// The value (text). Encrypted before it reaches the database.
    pub value: String,
    /// The purpose it is collected for.
    pub purpose: String,
    /// When it must be gone.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

/// `?purpose=`: why the value is read.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Purpose {
    /// The purpose the read serves.
    pub purpose: Option<String>,
}

/// A value read back.
#[derive(Debug, Serialize, ToSchema)]
pub struct VaultValue {
    /// The value.
    pub value: String,
}

type VaultPath = Path<(String, String, String)>;

/// A record id is 1 to 200 characters (`field` names it in the error).
pub(crate) fn check_record(field: &str, record: &str) -> Result<(), ApiError> {
    if record.is_empty() || record.len() > 200 {
        return Err(bad(field, "a record id of 1 to 200 characters"));
    }
    Ok(())
}

async fn key(
    state: &AppState,
    caller: &Caller,
    (subject, category, record): &(String, String, String),
) -> Result<(Arc<TenantRuntime>, CoreSubject, VaultKey), ApiError> {
    let rt = runtime(state, caller).await?;
    let id = existing_subject(state, &rt, caller, subject, "subject").await?;
    check_record("record", record)?;
    let key = VaultKey::new(
        caller.tenant.clone(),
        store_subject(id),
        category.as_str(),
        record.as_str(),
    );
    Ok((rt, id, key))
}

/// Stores (or replaces) one value. Refused (422) when the decision obliges the
/// caller not to store the category (`do_not_store`).
#[utoipa::path(put, path = "/v1/subjects/{subject}/vault/{category}/{record}", tag = "vault",
    request_body = PutValue,
    params(("subject" = String, Path, description = "Subject id"), ("category" = String, Path, description = "Category id"), ("record" = String, Path, description = "Record id")),
    responses((status = 204), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn put(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(path): VaultPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PutValue>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::VaultWrite)?;
    let (rt, id, key) = key(&state, &caller, &path).await?;
    // Nothing is collected once the operation has ceased (writes carry no service,
    // so only a cessation of the main service applies).
    let stopped = crate::api::decisions::ceased(&state, &caller).await?;
    if stopped.covers(None) {
        return Err(ApiError::new(
            ProblemKind::Unprocessable,
            "the operation has ceased: no personal information is collected any more: service_ceased",
        )
        .field("purpose")
        .hint("GET /v1/cessations shows the cessation"));
    }
    let decision = check_purpose(&rt, id, &body.purpose, &path.1, &headers).await?;
    let never_stored = decision
        .obligations
        .iter()
        .any(|o| matches!(o, Obligation::DoNotStore { category } if category.as_str() == path.1));
    if never_stored {
        return Err(ApiError::new(
            ProblemKind::Unprocessable,
            format!(
                "the policy lets purpose `{}` use `{}` only at the moment and never store it: do_not_store",
                body.purpose, path.1
            ),
        )
        .field("category")
        .hint("use the value when it is collected and do not keep it; the policy marks the category `stored = false`"));
    }
    // The pack decides when the value goes; the caller's `expires_at` may only
    // shorten that.
    let plan = crate::retention::plan_record(&rt, &body.purpose, body.expires_at).await;
    state
        .store
        .vault_put(
            &key,
            body.value.as_bytes(),
            plan.as_ref().map_or(body.expires_at, |p| p.expires),
            &Access::new(caller.actor(), body.purpose.as_str()),
        )
        .await
        .map_err(store_error)?;
    if let Some(plan) = &plan {
        crate::retention::record_plan(&state, &key, plan)
            .await
            .map_err(store_error)?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Reads one value for a purpose (required and checked; the read is audited).
#[utoipa::path(get, path = "/v1/subjects/{subject}/vault/{category}/{record}", tag = "vault",
    params(("subject" = String, Path, description = "Subject id"), ("category" = String, Path, description = "Category id"), ("record" = String, Path, description = "Record id"), Purpose),
    responses((status = 200, body = VaultValue), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(path): VaultPath,
    Query(q): Query<Purpose>,
    headers: HeaderMap,
) -> Result<axum::Json<VaultValue>, ApiError> {
    caller.require(Permission::VaultRead)?;
    let purpose = q
        .purpose
        .ok_or_else(|| bad("purpose", "reads name their purpose: ?purpose=…"))?;
    let (rt, id, key) = key(&state, &caller, &path).await?;
    check_purpose(&rt, id, &purpose, &path.1, &headers).await?;
    let bytes = state
        .store
        .vault_get(&key, &Access::new(caller.actor(), purpose.as_str()))
        .await
        .map_err(|e| {
            if e.is_key_destroyed() {
                ApiError::not_found("value")
            } else {
                store_error(e)
            }
        })?;
    let value = String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::internal())?;
    Ok(axum::Json(VaultValue { value }))
}

/// Deletes one value.
#[utoipa::path(delete, path = "/v1/subjects/{subject}/vault/{category}/{record}", tag = "vault",
    params(("subject" = String, Path, description = "Subject id"), ("category" = String, Path, description = "Category id"), ("record" = String, Path, description = "Record id")),
    responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(path): VaultPath,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::VaultDelete)?;
    let (_, _, key) = key(&state, &caller, &path).await?;
    let existed = state
        .store
        .vault_delete(&key, &Access::new(caller.actor(), "deletion"))
        .await
        .map_err(store_error)?;
    if existed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("value"))
    }
}
