//! `/v1/retention/sweeps`: run the caller's tenant's retention sweep now, or (with
//! `dry_run`) list what it would remove and what legal holds keep.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_store::{DueRecord, HeldCount};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::AppState;
use crate::api::{bad, store_error};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;
use crate::retention::{SweepError, dry_run, sweep_tenant};

/// A sweep to run.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    /// List what would go; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Records listed in a dry run (1–10,000, default 1,000).
    pub limit: Option<u32>,
}

/// A due record in a dry run.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueView {
    /// Subject id.
    pub subject: String,
    /// Category.
    pub category: String,
    /// Record id.
    pub record: String,
    /// Purpose it was collected for.
    pub purpose: Option<String>,
    /// When it expired.
    #[schema(value_type = String, format = DateTime)]
    pub expires: Timestamp,
    /// `delete` or `anonymize`.
    pub action: String,
}

/// Due records kept by one hold.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldView {
    /// The hold.
    pub hold_id: String,
    /// Its reason id.
    pub reason: String,
    /// Due records it keeps.
    pub records: u64,
}

/// What a sweep did, or would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct SweepResult {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The run id (absent in a dry run).
    pub run_id: Option<String>,
    /// Records deleted (in a dry run: that would be).
    pub deleted: u64,
    /// Records anonymized (in a dry run: that would be).
    pub anonymized: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Due records kept by legal holds, per hold.
    pub held: Vec<HeldView>,
    /// Dry run: the records that would go (up to `limit`).
    pub records: Vec<DueView>,
    /// Dry run: how many would go in all.
    pub due_total: Option<u64>,
}

fn held(h: Vec<HeldCount>) -> Vec<HeldView> {
    h.into_iter()
        .map(|c| HeldView {
            hold_id: c.hold_id,
            reason: c.reason,
            records: c.records,
        })
        .collect()
}

fn due(r: DueRecord) -> DueView {
    DueView {
        subject: r.subject,
        category: r.category,
        record: r.record,
        purpose: r.purpose,
        expires: r.expires,
        action: r.action,
    }
}

/// Sweeps the tenant now: due records no hold covers are deleted or anonymized as
/// the pack says, in audited batches. With `dry_run`, lists them instead.
#[utoipa::path(post, path = "/v1/retention/sweeps", tag = "retention", request_body = SweepRequest,
    responses((status = 200, body = SweepResult), (status = 409)), security(("bearer" = [])))]
pub async fn sweep(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<SweepRequest>,
) -> Result<axum::Json<SweepResult>, ApiError> {
    caller.require(Permission::RunReports)?;
    let limit = match body.limit {
        None => 1000,
        Some(n @ 1..=10_000) => n,
        Some(_) => return Err(bad("limit", "1 to 10,000 records")),
    };
    if body.dry_run {
        let p = dry_run(&state, &caller.tenant, limit)
            .await
            .map_err(store_error)?;
        let anonymized = p.due.iter().filter(|r| r.action == "anonymize").count() as u64;
        return Ok(axum::Json(SweepResult {
            dry_run: true,
            run_id: None,
            deleted: (p.due.len() as u64).saturating_sub(anonymized),
            anonymized,
            batches: 0,
            held: held(p.held),
            records: p.due.into_iter().map(due).collect(),
            due_total: Some(p.due_total),
        }));
    }
    let owner = format!("api-{}", uuid::Uuid::new_v4());
    let s = sweep_tenant(
        &state,
        &caller.tenant,
        &owner,
        5000,
        Duration::from_secs(60),
    )
    .await
    .map_err(|e| match e {
        SweepError::Busy => ApiError::new(
            ProblemKind::Conflict,
            "another sweep of this tenant is running",
        )
        .hint("retry when it has finished; its results are in the audit log"),
        SweepError::Store(e) => store_error(e),
    })?;
    Ok(axum::Json(SweepResult {
        dry_run: false,
        run_id: Some(s.run_id),
        deleted: s.deleted,
        anonymized: s.anonymized,
        batches: s.batches,
        held: held(s.held),
        records: Vec::new(),
        due_total: None,
    }))
}
