//! `/v1/audit`: read the tenant's hash-chained audit log and verify it.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use serde::Serialize;
use troth_store::{AuditEntry, Store, StoreError};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::AppState;
use crate::api::{Page, PageQuery, bad, store_error};
use crate::auth::Permission;
use crate::error::ApiError;

/// A page of audit entries, oldest first (`after` is a sequence number).
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(PageQuery),
    responses((status = 200, description = "a page of audit entries")), security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<AuditEntry>>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let limit = page.limit()?;
    let after = match &page.after {
        None => 0,
        Some(a) => a.parse().map_err(|_| bad("after", "a sequence number"))?,
    };
    let items = state
        .store
        .audit_entries(&caller.tenant, after, limit)
        .await
        .map_err(store_error)?;
    let next = (items.len() == limit as usize)
        .then(|| items.last().map(|e| e.seq.to_string()))
        .flatten();
    Ok(axum::Json(Page { items, next }))
}

/// The outcome of verifying the chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// Whether every entry, link and checkpoint checked out.
    pub intact: bool,
    /// Entries checked (when intact).
    pub entries: u64,
    /// Signed checkpoints verified (when intact).
    pub checkpoints_verified: u64,
    /// The first bad entry's sequence number (when broken).
    pub first_bad_seq: Option<u64>,
    /// What is wrong there.
    pub problem: Option<String>,
}

/// Verifies the tenant's audit chain against its signed checkpoints.
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit",
    responses((status = 200, body = Verification)), security(("bearer" = [])))]
pub async fn verify(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<Verification>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    match state.store.verify_audit(&caller.tenant).await {
        Ok(r) => Ok(axum::Json(Verification {
            intact: true,
            entries: r.entries,
            checkpoints_verified: r.checkpoints_verified,
            first_bad_seq: None,
            problem: None,
        })),
        Err(StoreError::AuditBroken(v)) => Ok(axum::Json(Verification {
            intact: false,
            entries: 0,
            checkpoints_verified: 0,
            first_bad_seq: Some(v.seq),
            problem: Some(v.kind.to_string()),
        })),
        Err(e) => Err(store_error(e)),
    }
}
