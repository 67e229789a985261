//! `/v1/consents`: record consent events (each answered with a signed receipt),
//! read a subject's current consent state and history, re-issue receipts; a
//! subject's targeting opt-out and explicit acceptance of a policy version.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_core::{
    Actor, ConsentFact, ConsentStatus, EventId, EvidenceHash, Fact, LedgerEvent, Method, Scope,
};
use troth_store::Store;
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::{AppState, Published, midnight_utc};
use crate::api::subjects::{append, event_id};
use crate::api::{
    Page, PageQuery, bad, existing_subject, no_policy, runtime, signals, store_error,
};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;

/// A consent event to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// Whose consent (subject id).
    pub subject: String,
    /// Purpose id from the policy.
    pub purpose: String,
    /// `given`, `withdrawn`, `refused` or `expired`.
    #[schema(value_type = String)]
    pub status: ConsentStatus,
    /// The whole purpose (default), or a separate consent within it:
    /// `{"kind":"category","id":"…"}`, `{"kind":"recipient","id":"…"}`,
    /// `{"kind":"destination","id":"US"}`, `{"kind":"public_disclosure"}`.
    #[schema(value_type = Option<Object>)]
    pub scope: Option<Scope>,
    /// `banner`, `form`, `api` (default), `guardian` or `developer_attestation`.
    #[schema(value_type = Option<String>)]
    pub method: Option<Method>,
    /// Who acted: `{"kind":"subject"}` (default), a guardian or an attesting developer.
    #[schema(value_type = Option<Object>)]
    pub actor: Option<Actor>,
    /// Hash (64 hex digits) of the evidence kept elsewhere.
    #[schema(value_type = Option<String>)]
    pub evidence: Option<EvidenceHash>,
    /// When a given consent lapses on its own.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// The policy version (content hash) the person saw; default: the one in force.
    pub version: Option<String>,
    /// When it happened; default: now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
}

/// A recorded consent event and its receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recorded {
    /// The ledger event id.
    pub event_id: String,
    /// Its position in the tenant's ledger (when just recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The receipt id.
    pub receipt_id: String,
    /// The signed receipt (compact JWS, EdDSA), verifiable offline with
    /// `/.well-known/troth-receipt-key.json` and `troth receipt verify`.
    pub receipt: String,
}

async fn version_for(
    rt: &crate::api::state::TenantRuntime,
    requested: Option<&str>,
    at: Timestamp,
) -> Result<Published, ApiError> {
    match requested {
        None => rt.in_force(at).await.ok_or_else(no_policy),
        Some(v) => rt.version(v, at).await.ok_or_else(|| {
            ApiError::new(
                ProblemKind::Unprocessable,
                "no published policy version has that hash",
            )
            .field("version")
        }),
    }
}

fn sign(
    state: &AppState,
    p: &Published,
    event: &LedgerEvent,
) -> Result<(String, String), ApiError> {
    // Built from the version's stored fields: `PolicyRef::of` would re-hash the
    // whole manifest on every consent.
    let published = midnight_utc(p.policy.policy.published).ok_or_else(ApiError::internal)?;
    let r = troth_receipt::PolicyRef {
        policy: &p.policy,
        version_hash: p.version.hash,
        version_label: &p.version.label,
        url: p.policy.policy.url.as_deref(),
        published,
        lang: troth_policy::Lang::En,
    };
    let receipt = troth_receipt::build(&r, event)
        .map_err(|e| ApiError::new(ProblemKind::Unprocessable, e.to_string()))?;
    let id = receipt.consent_receipt_id.clone();
    let jws = troth_receipt::sign(&receipt, &state.receipts).map_err(|e| {
        tracing::error!(error = %e, "receipt signing failed");
        ApiError::internal()
    })?;
    Ok((id, jws))
}

/// Records a consent event. The end user's `Sec-GPC` / `DNT` headers, forwarded by
/// the application, are stored with it. Answers with a signed receipt.
#[utoipa::path(post, path = "/v1/consents", tag = "consent", request_body = ConsentInput,
    params(("Sec-GPC" = Option<String>, Header, description = "forwarded end-user signal"),
           ("DNT" = Option<String>, Header, description = "forwarded end-user signal"),
           ("Idempotency-Key" = Option<String>, Header, description = "retry-safe writes")),
    responses((status = 201, body = Recorded), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn record(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ConsentInput>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::WriteConsent)?;
    let rt = runtime(&state, &caller).await?;
    let subject = existing_subject(&state, &rt, &caller, &req.subject, "subject").await?;
    let at = req.at.unwrap_or_else(Timestamp::now);
    let version = version_for(&rt, req.version.as_deref(), at).await?;
    let purpose = req
        .purpose
        .parse()
        .map_err(|_| bad("purpose", "not a valid purpose id"))?;
    let mut fact = ConsentFact::new(req.status, purpose, version.version.hash);
    fact.scope = req.scope.unwrap_or(Scope::Purpose);
    fact.method = req.method.unwrap_or(Method::Api);
    fact.actor = req.actor.unwrap_or(Actor::Subject);
    fact.evidence = req.evidence;
    fact.signals = signals(&headers);
    fact.expires_at = req.expires_at;
    let event = LedgerEvent {
        id: event_id(),
        tenant: rt.core,
        subject,
        at,
        fact: Fact::Consent(fact),
    };
    // Building the receipt first validates purpose, category and recipient against
    // the policy, so nothing undeclared reaches the ledger.
    let (receipt_id, receipt) = sign(&state, &version, &event)?;
    let ack = append(&state, &rt, &event).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Recorded {
            event_id: event.id.to_string(),
            seq: Some(ack.seq),
            receipt_id,
            receipt,
        }),
    ))
}

/// A subject's current consent state, folded from the ledger.
#[utoipa::path(get, path = "/v1/subjects/{subject}/consents", tag = "consent",
    params(("subject" = String, Path, description = "Subject id")),
    responses((status = 200, description = "the subject's state: consents per purpose and scope, age, guardian, account"), (status = 404)),
    security(("bearer" = [])))]
pub async fn current(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReadConsent)?;
    let rt = runtime(&state, &caller).await?;
    let id = existing_subject(&state, &rt, &caller, &subject, "subject").await?;
    let ix = rt.index.read().await;
    let value = match ix.as_ref().and_then(|ix| ix.state(id)) {
        Some(s) => serde_json::to_value(s).map_err(|_| ApiError::internal())?,
        None => serde_json::json!({ "subject": id.to_string(), "purposes": {} }),
    };
    Ok(axum::Json(value))
}

/// A subject's ledger events, oldest first, paginated by event id.
#[utoipa::path(get, path = "/v1/subjects/{subject}/consents/history", tag = "consent",
    params(("subject" = String, Path, description = "Subject id"), PageQuery),
    responses((status = 200, description = "a page of ledger events"), (status = 404)),
    security(("bearer" = [])))]
pub async fn history(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<LedgerEvent>>, ApiError> {
    caller.require(Permission::ReadConsent)?;
    let limit = page.limit()? as usize;
    let rt = runtime(&state, &caller).await?;
    let id = existing_subject(&state, &rt, &caller, &subject, "subject").await?;
    let events = state
        .store
        .ledger_events(&rt.core, &id)
        .await
        .map_err(store_error)?;
    let start = match &page.after {
        None => 0,
        Some(after) => {
            let after: EventId = after
                .parse()
                .map_err(|_| bad("after", "not a cursor from this list"))?;
            events
                .iter()
                .position(|e| e.id == after)
                .map_or(events.len(), |i| i + 1)
        }
    };
    let items: Vec<LedgerEvent> = events.into_iter().skip(start).take(limit + 1).collect();
    let (items, next) = if items.len() > limit {
        let mut items = items;
        items.truncate(limit);
        let next = items.last().map(|e| e.id.to_string());
        (items, next)
    } else {
        (items, None)
    };
    Ok(axum::Json(Page { items, next }))
}

/// Re-issues the signed receipt of one consent event (identical bytes each time).
#[utoipa::path(get, path = "/v1/subjects/{subject}/consents/{event}/receipt", tag = "consent",
    params(("subject" = String, Path, description = "Subject id"), ("event" = String, Path, description = "Event id")),
    responses((status = 200, body = Recorded), (status = 404)), security(("bearer" = [])))]
pub async fn receipt(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path((subject, event)): Path<(String, String)>,
) -> Result<axum::Json<Recorded>, ApiError> {
    caller.require(Permission::ReadConsent)?;
    let rt = runtime(&state, &caller).await?;
    let id = existing_subject(&state, &rt, &caller, &subject, "subject").await?;
    let event_id: EventId = event
        .parse()
        .map_err(|_| ApiError::not_found("consent event"))?;
    let events = state
        .store
        .ledger_events(&rt.core, &id)
        .await
        .map_err(store_error)?;
    let ev = events
        .iter()
        .find(|e| e.id == event_id && matches!(e.fact, Fact::Consent(_)))
        .ok_or_else(|| ApiError::not_found("consent event"))?;
    let Fact::Consent(fact) = &ev.fact else {
        return Err(ApiError::not_found("consent event"));
    };
    let hash = fact.version.to_string();
    let version = rt
        .version(&hash, Timestamp::now())
        .await
        .ok_or_else(|| ApiError::not_found("policy version of this event"))?;
    let (receipt_id, receipt) = sign(&state, &version, ev)?;
    Ok(axum::Json(Recorded {
        event_id: ev.id.to_string(),
        seq: None,
        receipt_id,
        receipt,
    }))
}

/// A subject's opt-out of targeted marketing, advertising and profiling.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetingInput {
    /// `true` to opt out, `false` to opt back in.
    pub opted_out: bool,
}

/// A ledger event recorded for a subject (no receipt: it is not a consent).
#[derive(Debug, Serialize, ToSchema)]
pub struct Appended {
    /// The ledger event id.
    pub event_id: String,
    /// Its position in the tenant's ledger.
    pub seq: u64,
}

/// Appends `fact` for `subject` now and answers 201 with the event.
async fn append_fact(
    state: &AppState,
    rt: &crate::api::state::TenantRuntime,
    subject: troth_core::SubjectId,
    fact: Fact,
) -> Result<(StatusCode, axum::Json<Appended>), ApiError> {
    let event = LedgerEvent {
        id: event_id(),
        tenant: rt.core,
        subject,
        at: Timestamp::now(),
        fact,
    };
    let ack = append(state, rt, &event).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Appended {
            event_id: event.id.to_string(),
            seq: ack.seq,
        }),
    ))
}

/// Records that the subject opted out of targeting (or back in). While opted out,
/// decisions deny marketing, advertising and profiling purposes, never service
/// notices. Subject keys may record it for their own subject.
#[utoipa::path(post, path = "/v1/subjects/{subject}/targeting", tag = "consent",
    request_body = TargetingInput,
    params(("subject" = String, Path, description = "Subject id"),
           ("Idempotency-Key" = Option<String>, Header, description = "retry-safe writes")),
    responses((status = 201, body = Appended), (status = 404)),
    security(("bearer" = [])))]
pub async fn targeting(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
    ApiJson(req): ApiJson<TargetingInput>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::WriteConsent)?;
    let rt = runtime(&state, &caller).await?;
    let subject = existing_subject(&state, &rt, &caller, &subject, "subject").await?;
    let fact = Fact::TargetingOptOut {
        opted_out: req.opted_out,
    };
    append_fact(&state, &rt, subject, fact).await
}

/// How an acceptance was captured.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AcceptMethod {
    /// A banner.
    Banner,
    /// A form or settings page.
    Form,
    /// The tenant's backend through the API.
    Api,
}

/// The subject's explicit acceptance ("Agree") of a policy version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    /// The version's content hash (or label), or `current` for the one in force.
    pub version: String,
    /// `banner`, `form` or `api`.
    pub method: AcceptMethod,
    /// Hash (64 hex digits) of the evidence kept elsewhere.
    #[schema(value_type = Option<String>)]
    pub evidence: Option<EvidenceHash>,
}

/// Records that the subject accepted a policy version: consents given under earlier
/// versions count again for purposes that needed renewal under it.
#[utoipa::path(post, path = "/v1/subjects/{subject}/accept-version", tag = "consent",
    request_body = AcceptInput,
    params(("subject" = String, Path, description = "Subject id"),
           ("Idempotency-Key" = Option<String>, Header, description = "retry-safe writes")),
    responses((status = 201, body = Appended), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn accept_version(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
    ApiJson(req): ApiJson<AcceptInput>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::WriteConsent)?;
    let rt = runtime(&state, &caller).await?;
    let subject = existing_subject(&state, &rt, &caller, &subject, "subject").await?;
    let version = version_for(&rt, Some(&req.version), Timestamp::now()).await?;
    let fact = Fact::AcceptVersion {
        version: version.version.hash,
        method: match req.method {
            AcceptMethod::Banner => Method::Banner,
            AcceptMethod::Form => Method::Form,
            AcceptMethod::Api => Method::Api,
        },
        evidence: req.evidence,
    };
    append_fact(&state, &rt, subject, fact).await
}

/// The public key receipts are signed with, as a JWK (no authentication needed).
#[utoipa::path(get, path = "/.well-known/troth-receipt-key.json", tag = "consent",
    responses((status = 200, description = "Ed25519 public key as a JWK")))]
pub async fn receipt_key(State(state): State<Arc<AppState>>) -> axum::Json<troth_crypto::Jwk> {
    axum::Json(state.receipts.public_key().to_jwk())
}
