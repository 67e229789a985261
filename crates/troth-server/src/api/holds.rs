//! `/v1/holds`: legal holds on a subject, a category, or one subject's category,
//! each citing one of the pack's `hold_reasons`. Held data survives retention sweeps
//! and erasure; lifting a hold lets the next sweep proceed. Placing and lifting are
//! audited.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_store::{Hold, HoldFilter, NewHold, RetentionStore};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::store_subject;
use crate::api::{bad, existing_subject, no_policy, runtime, store_error};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;

use crate::api::state::AppState;

/// A hold to place. At least one of `subject` and `category`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHoldBody {
    /// The subject whose data is held.
    pub subject: Option<String>,
    /// The category held (for every subject, or only for `subject`).
    pub category: Option<String>,
    /// One of the pack's `hold_reasons` ids.
    pub reason: String,
    /// A note for operators (no personal information).
    pub note: Option<String>,
}

/// A hold.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    /// Hold id.
    pub hold_id: String,
    /// The subject held, if any.
    pub subject: Option<String>,
    /// The category held, if any.
    pub category: Option<String>,
    /// The pack's reason id.
    pub reason: String,
    /// The reason as the pack states it (English).
    pub reason_text: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// Who placed it.
    pub placed_by: String,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub placed: Timestamp,
    /// Who lifted it.
    pub lifted_by: Option<String>,
    /// When it was lifted; absent while active.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub lifted: Option<Timestamp>,
    /// Whether it is in force.
    pub active: bool,
}

/// The pack's text for a hold reason, if the reason is in the policy in force.
async fn reason_text(state: &AppState, caller: &Caller, reason: &str) -> Option<String> {
    let rt = runtime(state, caller).await.ok()?;
    let p = rt.in_force(Timestamp::now()).await?;
    p.policy
        .hold_reasons
        .iter()
        .find(|r| r.id.as_str() == reason)
        .map(|r| r.text.en.clone())
}

/// A hold as the API shows it.
pub async fn view(state: &AppState, caller: &Caller, h: Hold) -> HoldView {
    let reason_text = reason_text(state, caller, &h.reason).await;
    HoldView {
        active: h.lifted.is_none(),
        hold_id: h.hold_id,
        subject: h.subject,
        category: h.category,
        reason: h.reason,
        reason_text,
        note: h.note,
        placed_by: h.placed_by,
        placed: h.placed,
        lifted_by: h.lifted_by,
        lifted: h.lifted,
    }
}

/// Places a hold citing one of the pack's hold reasons.
#[utoipa::path(post, path = "/v1/holds", tag = "holds", request_body = NewHoldBody,
    responses((status = 201, body = HoldView), (status = 400), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn place(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<NewHoldBody>,
) -> Result<(StatusCode, axum::Json<HoldView>), ApiError> {
    caller.require(Permission::ManageHolds)?;
    if body.subject.is_none() && body.category.is_none() {
        return Err(bad(
            "subject",
            "a hold names a subject, a category, or both",
        ));
    }
    if body.note.as_ref().is_some_and(|n| n.len() > 1000) {
        return Err(bad("note", "a note of at most 1,000 characters"));
    }
    let rt = runtime(&state, &caller).await?;
    let published = rt.in_force(Timestamp::now()).await.ok_or_else(no_policy)?;
    let policy = &published.policy;
    if !policy
        .hold_reasons
        .iter()
        .any(|r| r.id.as_str() == body.reason)
    {
        let known: Vec<&str> = policy.hold_reasons.iter().map(|r| r.id.as_str()).collect();
        return Err(ApiError::new(
            ProblemKind::Unprocessable,
            format!(
                "`{}` is not one of the policy's hold reasons: {}",
                body.reason,
                known.join(", ")
            ),
        )
        .field("reason")
        .hint("a hold cites one of the `hold_reasons` ids of the policy in force"));
    }
    if let Some(c) = &body.category
        && policy.category(c).is_none()
    {
        return Err(ApiError::new(
            ProblemKind::Unprocessable,
            format!("`{c}` is not a category of the policy"),
        )
        .field("category"));
    }
    let subject = match &body.subject {
        Some(s) => Some(store_subject(
            existing_subject(&state, &rt, &caller, s, "subject").await?,
        )),
        None => None,
    };
    let hold = state
        .store
        .place_hold(
            &NewHold {
                tenant: caller.tenant.clone(),
                hold_id: uuid::Uuid::new_v4().to_string(),
                subject,
                category: body.category,
                reason: body.reason,
                note: body.note,
                placed: Timestamp::now(),
            },
            &caller.actor(),
        )
        .await
        .map_err(store_error)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(view(&state, &caller, hold).await),
    ))
}

/// `?active=&subject=` on the hold list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HoldQuery {
    /// Only holds in force (default `true`).
    pub active: Option<bool>,
    /// Only holds placed on this subject.
    pub subject: Option<String>,
}

/// Lists holds, oldest first.
#[utoipa::path(get, path = "/v1/holds", tag = "holds", params(HoldQuery),
    responses((status = 200, body = Vec<HoldView>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HoldQuery>,
) -> Result<axum::Json<Vec<HoldView>>, ApiError> {
    caller.require(Permission::ManageHolds)?;
    let subject = match &q.subject {
        Some(s) => Some(store_subject(crate::api::subject_id(s, "subject")?)),
        None => None,
    };
    let holds = state
        .store
        .holds(
            &caller.tenant,
            &HoldFilter {
                active_only: q.active.unwrap_or(true),
                subject,
            },
        )
        .await
        .map_err(store_error)?;
    let mut out = Vec::with_capacity(holds.len());
    for h in holds {
        out.push(view(&state, &caller, h).await);
    }
    Ok(axum::Json(out))
}

/// One hold.
#[utoipa::path(get, path = "/v1/holds/{hold}", tag = "holds",
    params(("hold" = String, Path, description = "Hold id")),
    responses((status = 200, body = HoldView), (status = 404)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(hold): Path<String>,
) -> Result<axum::Json<HoldView>, ApiError> {
    caller.require(Permission::ManageHolds)?;
    let h = state
        .store
        .hold(&caller.tenant, &hold)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("hold"))?;
    Ok(axum::Json(view(&state, &caller, h).await))
}

/// Lifts a hold: the next retention sweep may remove what it kept.
#[utoipa::path(delete, path = "/v1/holds/{hold}", tag = "holds",
    params(("hold" = String, Path, description = "Hold id")),
    responses((status = 200, body = HoldView), (status = 404)), security(("bearer" = [])))]
pub async fn lift(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(hold): Path<String>,
) -> Result<axum::Json<HoldView>, ApiError> {
    caller.require(Permission::ManageHolds)?;
    let h = state
        .store
        .lift_hold(&caller.tenant, &hold, Timestamp::now(), &caller.actor())
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("active hold"))?;
    Ok(axum::Json(view(&state, &caller, h).await))
}
