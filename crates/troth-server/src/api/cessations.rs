//! `/v1/cessations`: cessation of operations (seed 003 R13). Starting one stops every
//! collection decision for the service at once (the whole operation when it is the
//! pack's own id), queues the notices and schedules every record in scope for
//! deletion or anonymization by the pack's deadline; reading one reports progress.
//!
//! Starting is irreversible and reserved to admins ([`Permission::CeaseOperations`]);
//! the progress report is readable with [`Permission::ReadReports`].

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use troth_store::CessationStore;

use crate::api::caller::Caller;
use crate::api::state::AppState;
use crate::api::{no_policy, store_error};
use crate::auth::Permission;
use crate::cessation::{self, CessationReport, StartCessation, StartError};
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;

fn start_error(e: StartError) -> ApiError {
    match e {
        StartError::NoPolicy => no_policy(),
        StartError::NotDeclared => ApiError::new(ProblemKind::Unprocessable, e.to_string())
            .field("service")
            .hint("publish a pack with a [cessation] section (stop_collection, notice_channels, action, within_days)"),
        StartError::UnknownService { .. } => {
            ApiError::new(ProblemKind::Unprocessable, e.to_string())
                .field("service")
                .hint("use the pack's id for the whole operation, or one of its services[].id")
        }
        StartError::AlreadyCeased(_) => ApiError::new(ProblemKind::Conflict, e.to_string()),
        StartError::BadText { field, .. } => {
            ApiError::new(ProblemKind::Unprocessable, e.to_string()).field(field)
        }
        StartError::Store(s) => store_error(s),
    }
}

/// Starts a cessation: collection for the service stops now.
#[utoipa::path(post, path = "/v1/cessations", tag = "cessations", request_body = StartCessation,
    responses((status = 201, body = CessationReport), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn start(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<StartCessation>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::CeaseOperations)?;
    let record = cessation::start(&state, &caller.tenant, &body, &caller.actor())
        .await
        .map_err(start_error)?;
    let report = cessation::progress(&state, &caller.tenant, &record)
        .await
        .map_err(store_error)?;
    Ok((StatusCode::CREATED, axum::Json(report)))
}

/// The tenant's cessations with their progress, oldest first.
#[utoipa::path(get, path = "/v1/cessations", tag = "cessations",
    responses((status = 200, body = Vec<CessationReport>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<Vec<CessationReport>>, ApiError> {
    caller.require(Permission::ReadReports)?;
    let all = state
        .store
        .cessations(&caller.tenant)
        .await
        .map_err(store_error)?;
    let mut out = Vec::with_capacity(all.len());
    for c in &all {
        out.push(
            cessation::progress(&state, &caller.tenant, c)
                .await
                .map_err(store_error)?,
        );
    }
    Ok(axum::Json(out))
}

/// One cessation's progress: notices queued and sent, records deleted or
/// anonymized, what remains and what holds keep, and the deadline.
#[utoipa::path(get, path = "/v1/cessations/{cessation}", tag = "cessations",
    params(("cessation" = String, Path, description = "Cessation id")),
    responses((status = 200, body = CessationReport), (status = 404)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<CessationReport>, ApiError> {
    caller.require(Permission::ReadReports)?;
    let c = state
        .store
        .cessation(&caller.tenant, &id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("cessation"))?;
    Ok(axum::Json(
        cessation::progress(&state, &caller.tenant, &c)
            .await
            .map_err(store_error)?,
    ))
}
