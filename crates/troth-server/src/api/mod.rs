//! The `/v1` JSON API: one module per resource, the middleware every `/v1` request
//! passes (authentication, rate limit, idempotency) and the OpenAPI document.
//!
//! Every handler works inside the caller's tenant: ids from other tenants are
//! answered 404, exactly like ids that do not exist.

pub mod audit;
pub mod calendar;
pub mod caller;
pub mod certification;
pub mod cessations;
pub mod consents;
pub mod decisions;
pub mod disclosures;
pub mod exports;
pub mod fulfil;
pub mod holds;
pub mod idempotency;
pub mod incidents;
pub mod keys;
pub mod openapi;
pub mod outbox;
pub mod policies;
pub mod reports;
pub mod requests;
pub mod retention;
pub mod state;
pub mod subjects;
pub mod transfers;
pub mod vault;

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;
use axum::middleware;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use troth_core::{Signals, SubjectId as CoreSubject};
use troth_store::StoreError;

use crate::api::caller::Caller;
use crate::api::state::{AppState, RuntimeError, TenantRuntime};
use crate::error::{ApiError, ProblemKind};

/// The `/v1` routes with their middleware, plus the public receipt-key document.
pub fn router(state: Arc<AppState>) -> Router {
    let v1 = Router::new()
        .route("/v1/tenant", get(keys::tenant))
        .route("/v1/keys", post(keys::create).get(keys::list))
        .route("/v1/keys/{key_id}", axum::routing::delete(keys::revoke))
        .route("/v1/policies", post(policies::publish).get(policies::list))
        .route("/v1/policies/{version}", get(policies::get))
        .route("/v1/policies/{version}/render", get(policies::render))
        .route("/v1/policies/{version}/diff", get(policies::diff))
        .route("/v1/policies/{version}/notices", post(policies::notices))
        .route("/v1/controller-transfers", post(transfers::record))
        .route("/v1/subjects", post(subjects::create))
        .route("/v1/subjects/lookup", post(subjects::lookup))
        .route(
            "/v1/subjects/{subject}",
            get(subjects::get).delete(subjects::erase),
        )
        .route("/v1/subjects/{subject}/age", post(subjects::set_age))
        .route("/v1/subjects/{subject}/consents", get(consents::current))
        .route(
            "/v1/subjects/{subject}/consents/history",
            get(consents::history),
        )
        .route(
            "/v1/subjects/{subject}/consents/{event}/receipt",
            get(consents::receipt),
        )
        .route(
            "/v1/subjects/{subject}/targeting",
            post(consents::targeting),
        )
        .route(
            "/v1/subjects/{subject}/accept-version",
            post(consents::accept_version),
        )
        .route(
            "/v1/subjects/{subject}/vault/{category}/{record}",
            put(vault::put).get(vault::get).delete(vault::delete),
        )
        .route("/v1/subjects/{subject}/disclosures", get(disclosures::list))
        .route(
            "/v1/subjects/{subject}/certification",
            post(certification::submit).get(certification::get),
        )
        .route(
            "/v1/subjects/{subject}/certification/copy",
            post(certification::copy),
        )
        .route(
            "/v1/subjects/{subject}/certification/review",
            post(certification::review),
        )
        .route("/v1/consents", post(consents::record))
        .route("/v1/decisions", post(decisions::single))
        .route("/v1/decisions/batch", post(decisions::batch))
        .route("/v1/disclosures", post(disclosures::record))
        .route("/v1/requests", post(requests::submit).get(requests::list))
        .route("/v1/requests/{request}", get(requests::get))
        .route(
            "/v1/requests/{request}/transitions",
            post(requests::transition),
        )
        .route(
            "/v1/requests/{request}/verification",
            post(requests::send_code),
        )
        .route(
            "/v1/requests/{request}/verification/confirm",
            post(requests::confirm_code),
        )
        .route("/v1/requests/{request}/export", post(exports::create))
        .route(
            "/v1/incidents",
            post(incidents::create).get(incidents::list),
        )
        .route("/v1/incidents/{incident}", get(incidents::get))
        .route("/v1/incidents/{incident}/assess", post(incidents::assess))
        .route("/v1/incidents/{incident}/notify", post(incidents::notify))
        .route("/v1/incidents/{incident}/close", post(incidents::close))
        .route(
            "/v1/incidents/{incident}/notice",
            get(incidents::notice_text),
        )
        .route("/v1/incidents/{incident}/report", get(incidents::report))
        .route("/v1/outbox", get(outbox::list))
        .route("/v1/outbox/{message}", get(outbox::get))
        .route("/v1/outbox/{message}/retry", post(outbox::retry))
        .route("/v1/notify-targets", get(outbox::list_targets))
        .route(
            "/v1/notify-targets/{target}",
            put(outbox::put_target).delete(outbox::delete_target),
        )
        .route("/v1/retention/sweeps", post(retention::sweep))
        .route(
            "/v1/cessations",
            post(cessations::start).get(cessations::list),
        )
        .route("/v1/cessations/{cessation}", get(cessations::get))
        .route("/v1/holds", post(holds::place).get(holds::list))
        .route("/v1/calendar", get(calendar::get).put(calendar::put))
        .route("/v1/holds/{hold}", get(holds::get).delete(holds::lift))
        .route("/v1/reports/aggregate", get(reports::aggregate))
        .route(
            "/v1/reports/pia",
            post(reports::generate_pia).get(reports::list_pia),
        )
        .route(
            "/v1/reports/ropa",
            post(reports::generate_ropa).get(reports::list_ropa),
        )
        .route("/v1/reports/{kind}/{report}", get(reports::get))
        .route("/v1/audit", get(audit::list))
        .route("/v1/audit/verify", get(audit::verify))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            idempotency::idempotent,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            caller::authenticate,
        ))
        .with_state(Arc::clone(&state));
    Router::new()
        .route(
            "/.well-known/troth-receipt-key.json",
            get(consents::receipt_key),
        )
        // The one-time token is the credential: no API key (see `exports`).
        .route("/v1/exports/{token}", get(exports::download))
        .with_state(state)
        .merge(v1)
}

/// A page of results and the cursor for the next one.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next: Option<String>,
}

/// `?after=&limit=` on list endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Cursor from the previous page's `next`.
    pub after: Option<String>,
    /// Items per page (1–1000, default 100).
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The limit, checked.
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(100),
            Some(n @ 1..=1000) => Ok(n),
            Some(_) => Err(
                ApiError::new(ProblemKind::BadRequest, "limit must be 1 to 1000").field("limit"),
            ),
        }
    }
}

/// Maps a store error: "not found" and conflicts keep their meaning, anything
/// else is logged (without PI: store errors carry ids only) and answered 500.
pub fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound(what) => ApiError::not_found(what),
        StoreError::TenantNotFound(_) => ApiError::not_found("tenant"),
        StoreError::Conflict(what) => ApiError::new(
            ProblemKind::Conflict,
            format!("a {what} with that id already exists"),
        ),
        other => {
            tracing::error!(error = %other, "store operation failed");
            ApiError::internal()
        }
    }
}

/// Maps a runtime error (always a server-side problem).
pub fn runtime_error(e: RuntimeError) -> ApiError {
    tracing::error!(error = %e, "tenant runtime failed");
    ApiError::internal()
}

/// The caller's tenant runtime.
pub async fn runtime(state: &AppState, caller: &Caller) -> Result<Arc<TenantRuntime>, ApiError> {
    state
        .tenant(&caller.tenant)
        .await
        .map_err(runtime_error)?
        .ok_or_else(|| ApiError::not_found("tenant"))
}

/// Parses a subject id (a UUID) from a path or body field.
pub fn subject_id(s: &str, field: &str) -> Result<CoreSubject, ApiError> {
    s.parse().map_err(|_| {
        ApiError::new(ProblemKind::BadRequest, "a subject id is a UUID")
            .field(field)
            .hint("use the `subject_id` returned by POST /v1/subjects")
    })
}

/// Checks that a subject exists in the caller's tenant and that the caller may act
/// for it; both failures are 404.
pub async fn existing_subject(
    state: &AppState,
    rt: &TenantRuntime,
    caller: &Caller,
    raw: &str,
    field: &str,
) -> Result<CoreSubject, ApiError> {
    let id = subject_id(raw, field)?;
    caller.may_act_for(&state::store_subject(id))?;
    if state.subject_exists(rt, id).await.map_err(store_error)? {
        Ok(id)
    } else {
        Err(ApiError::not_found("subject"))
    }
}

/// The end user's browser signals, forwarded by the application from the original
/// request: `Sec-GPC: 1` and `DNT: 1`.
pub fn signals(headers: &HeaderMap) -> Signals {
    let on = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "1")
    };
    Signals {
        gpc: on("sec-gpc"),
        dnt: on("dnt"),
    }
}

/// A 422 when no policy version is in force yet.
pub fn no_policy() -> ApiError {
    ApiError::new(
        ProblemKind::Unprocessable,
        "no policy version is in force for this tenant yet",
    )
    .hint("publish one with POST /v1/policies (its effective date must have come)")
}

/// A bad-request error naming a field.
pub fn bad(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(ProblemKind::BadRequest, detail).field(field)
}
