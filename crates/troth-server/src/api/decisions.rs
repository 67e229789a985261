//! `/v1/decisions`: may these data be used for this purpose (with this recipient,
//! in this country), now? Answered from the in-memory index, with reasons.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_core::{Decision, DecisionRequest, Signals, SubjectId as CoreSubject};
use troth_store::Store;
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::{AppState, TenantRuntime};
use crate::api::{bad, existing_subject, no_policy, runtime, signals};
use crate::auth::Permission;
use crate::cessation::ceased_decision;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;

/// One question.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The subject (absent for an anonymous session).
    pub subject: Option<String>,
    /// Purpose id.
    pub purpose: String,
    /// Category ids to be used.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Recipient id, when data is shared.
    pub recipient: Option<String>,
    /// Destination country (ISO alpha-2), when data leaves the country.
    pub destination: Option<String>,
    /// Service whose sub-policy applies.
    pub service: Option<String>,
    /// An anonymous session (no subject).
    #[serde(default)]
    pub anonymous: bool,
    /// When the processing happens; default now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
    /// Keep this decision, with its inputs and reasons, for the subject's
    /// explanation requests (PIPL Art.24: an automated decision that affects the
    /// person). Stored encrypted with the subject's data; single questions only.
    #[serde(default)]
    pub record: bool,
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Answer {
    /// Whether the processing may happen.
    pub allow: bool,
    /// Why not: `{code, …}` objects with stable codes (empty when allowed).
    #[schema(value_type = Vec<Object>)]
    pub reasons: Vec<troth_core::Reason>,
    /// What the caller must do when it proceeds.
    #[schema(value_type = Vec<Object>)]
    pub obligations: Vec<troth_core::Obligation>,
    /// The legal basis, once the purpose is known.
    #[schema(value_type = Option<Object>)]
    pub basis: Option<troth_core::Basis>,
    /// The policy version (content hash) decided under.
    pub version: String,
    /// The id the decision was kept under (`"record": true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
}

fn answer(d: Decision, version: &str) -> Answer {
    metrics::counter!("troth_decisions_total", "outcome" => if d.allow { "allow" } else { "deny" })
        .increment(1);
    Answer {
        allow: d.allow,
        reasons: d.reasons,
        obligations: d.obligations,
        basis: d.basis,
        version: version.to_owned(),
        recorded: None,
    }
}

/// Keeps a decision in the subject's vault (category
/// [`crate::export::DECISION_CATEGORY`]) for explanation requests, for as long as the
/// pack keeps data of its purpose. Answers the record id.
async fn keep(
    state: &AppState,
    rt: &TenantRuntime,
    caller: &Caller,
    subject: CoreSubject,
    q: &Question,
    answer: &Answer,
    at: Timestamp,
) -> Result<String, ApiError> {
    let id = uuid::Uuid::now_v7().to_string();
    let kept = serde_json::json!({
        "decision_id": id,
        "time": at,
        "purpose": q.purpose,
        "categories": q.categories,
        "recipient": q.recipient,
        "destination": q.destination,
        "service": q.service,
        "allow": answer.allow,
        "reasons": answer.reasons,
        "obligations": answer.obligations,
        "basis": answer.basis,
        "version": answer.version,
    });
    let key = troth_store::VaultKey::new(
        caller.tenant.clone(),
        crate::api::state::store_subject(subject),
        crate::export::DECISION_CATEGORY,
        id.as_str(),
    );
    let plan = crate::retention::plan_record(rt, &q.purpose, None).await;
    let bytes = serde_json::to_vec(&kept).map_err(|_| ApiError::internal())?;
    state
        .store
        .vault_put(
            &key,
            &bytes,
            plan.as_ref().and_then(|p| p.expires),
            &troth_store::Access::new(caller.actor(), q.purpose.as_str()),
        )
        .await
        .map_err(crate::api::store_error)?;
    if let Some(plan) = &plan {
        crate::retention::record_plan(state, &key, plan)
            .await
            .map_err(crate::api::store_error)?;
    }
    Ok(id)
}

/// What has ceased in the caller's tenant. Asked before the decision index, so a
/// cessation wins over anything cached there (staleness bound: [`crate::cessation::REFRESH`]).
pub async fn ceased(
    state: &AppState,
    caller: &Caller,
) -> Result<Arc<crate::cessation::Stopped>, ApiError> {
    state
        .cessations
        .stopped(&state.store, &caller.tenant)
        .await
        .map_err(crate::api::store_error)
}

/// Checks and converts one question (field paths prefixed with `prefix`).
pub async fn request(
    state: &AppState,
    rt: &TenantRuntime,
    caller: &Caller,
    q: &Question,
    sig: Signals,
    prefix: &str,
) -> Result<(Option<CoreSubject>, DecisionRequest), ApiError> {
    let subject = match (&q.subject, q.anonymous) {
        (Some(_), true) => {
            return Err(bad(
                &format!("{prefix}anonymous"),
                "an anonymous question names no subject",
            ));
        }
        (Some(s), false) => {
            Some(existing_subject(state, rt, caller, s, &format!("{prefix}subject")).await?)
        }
        (None, true) => None,
        (None, false) => {
            if caller.subject.is_some() {
                return Err(ApiError::not_found("subject"));
            }
            return Err(bad(
                &format!("{prefix}subject"),
                "name the subject, or set `anonymous`",
            ));
        }
    };
    let cats: Vec<&str> = q.categories.iter().map(String::as_str).collect();
    let at = q.at.unwrap_or_else(Timestamp::now);
    let mut r = DecisionRequest::try_new(&q.purpose, &cats, at)
        .map_err(|e| bad(&format!("{prefix}purpose"), format!("invalid id: {e}")))?
        .with_signals(sig);
    if let Some(rec) = &q.recipient {
        r = r.with_recipient(
            rec.parse()
                .map_err(|_| bad(&format!("{prefix}recipient"), "not a valid recipient id"))?,
        );
    }
    if let Some(d) = &q.destination {
        r = r.with_destination(
            troth_core::CountryCode::new(d)
                .map_err(|_| bad(&format!("{prefix}destination"), "an ISO 3166 alpha-2 code"))?,
        );
    }
    if let Some(s) = &q.service {
        r = r.with_service(
            s.parse()
                .map_err(|_| bad(&format!("{prefix}service"), "not a valid service id"))?,
        );
    }
    if q.anonymous {
        r = r.anonymous();
    }
    Ok((subject, r))
}

/// Decides one question. `Sec-GPC: 1` / `DNT: 1` forwarded from the end user's
/// request deny tracking, advertising and sale purposes.
#[utoipa::path(post, path = "/v1/decisions", tag = "decisions", request_body = Question,
    params(("Sec-GPC" = Option<String>, Header, description = "forwarded end-user signal"),
           ("DNT" = Option<String>, Header, description = "forwarded end-user signal")),
    responses((status = 200, body = Answer), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn single(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(q): ApiJson<Question>,
) -> Result<axum::Json<Answer>, ApiError> {
    caller.require(Permission::Decide)?;
    let rt = runtime(&state, &caller).await?;
    let (subject, req) = request(&state, &rt, &caller, &q, signals(&headers), "").await?;
    let stopped = ceased(&state, &caller).await?;
    let (d, version) = {
        let ix = rt.index.read().await;
        let ix = ix.as_ref().ok_or_else(no_policy)?;
        let version = ix.policy().version().hash.to_string();
        if stopped.covers(q.service.as_deref()) {
            (ceased_decision(), version)
        } else {
            (ix.decide(subject, &req), version)
        }
    };
    let mut a = answer(d, &version);
    if q.record {
        let subject = subject.ok_or_else(|| {
            bad(
                "record",
                "only a subject's decision can be kept; an anonymous one has nobody to explain it to",
            )
        })?;
        a.recorded = Some(keep(&state, &rt, &caller, subject, &q, &a, req.at).await?);
    }
    Ok(axum::Json(a))
}

/// Many questions at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Up to 1000 questions.
    pub items: Vec<Question>,
}

/// Answers, in the order asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    /// One answer per question.
    pub items: Vec<Answer>,
}

/// Most questions in one batch.
pub const MAX_BATCH: usize = 1000;

/// Decides many questions under one consistent view of the index.
#[utoipa::path(post, path = "/v1/decisions/batch", tag = "decisions", request_body = Batch,
    responses((status = 200, body = BatchAnswer), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn batch(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<Batch>,
) -> Result<axum::Json<BatchAnswer>, ApiError> {
    caller.require(Permission::Decide)?;
    if b.items.len() > MAX_BATCH {
        return Err(ApiError::new(
            ProblemKind::BadRequest,
            format!("a batch holds at most {MAX_BATCH} questions"),
        )
        .field("items"));
    }
    let rt = runtime(&state, &caller).await?;
    let sig = signals(&headers);
    let mut reqs = Vec::with_capacity(b.items.len());
    for (i, q) in b.items.iter().enumerate() {
        if q.record {
            return Err(bad(
                &format!("items[{i}].record"),
                "decisions are kept one at a time: ask POST /v1/decisions with `record`",
            ));
        }
        reqs.push(request(&state, &rt, &caller, q, sig, &format!("items[{i}].")).await?);
    }
    let stopped = ceased(&state, &caller).await?;
    let ix = rt.index.read().await;
    let ix = ix.as_ref().ok_or_else(no_policy)?;
    let version = ix.policy().version().hash.to_string();
    let items = reqs
        .iter()
        .zip(&b.items)
        .map(|((s, r), q)| {
            let d = if stopped.covers(q.service.as_deref()) {
                ceased_decision()
            } else {
                ix.decide(*s, r)
            };
            answer(d, &version)
        })
        .collect();
    Ok(axum::Json(BatchAnswer { items }))
}
