//! `/v1/disclosures`: the disclosure ledger. A disclosure (sharing, cross-border
//! transfer, public disclosure) is recorded only when the decision engine allows it,
//! and, where the pack lists the cases in which data may be disclosed
//! (`disclosure_bases`), only with one of them unless the person consented.
//!
//! The disclosure basis is stored with the legal basis as `<legal>:<disclosure
//! basis id>` (neither contains a `:`), so the ledger needs no extra column.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_store::{Disclosure, Store};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::decisions::{Question, request};
use crate::api::state::{AppState, TenantRuntime, store_subject};
use crate::api::{existing_subject, no_policy, runtime, signals, store_error};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;

/// A disclosure to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDisclosure {
    /// Whose data.
    pub subject: String,
    /// Purpose id.
    pub purpose: String,
    /// Category ids disclosed.
    pub categories: Vec<String>,
    /// Recipient id (sharing or transfer).
    pub recipient: Option<String>,
    /// Destination country for a transfer.
    pub destination: Option<String>,
    /// When it happened; default now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
    /// Which of the pack's `disclosure_bases` applies (its id). Required when the
    /// pack lists disclosure bases and the decision's legal basis is not consent.
    pub disclosure_basis: Option<String>,
}

/// A recorded disclosure.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisclosureInfo {
    /// Its id.
    pub disclosure_id: String,
    /// Recipient id.
    pub recipient: String,
    /// Categories.
    pub categories: Vec<String>,
    /// Purpose.
    pub purpose: String,
    /// Legal basis the decision rested on.
    pub basis: String,
    /// The pack's disclosure basis (id) it was made under, if one was given.
    pub disclosure_basis: Option<String>,
    /// Destination country.
    pub destination: Option<String>,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub time: Timestamp,
}

impl From<Disclosure> for DisclosureInfo {
    fn from(d: Disclosure) -> Self {
        let (basis, disclosure_basis) = match d.basis.split_once(':') {
            Some((legal, db)) => (legal.to_owned(), Some(db.to_owned())),
            None => (d.basis, None),
        };
        Self {
            disclosure_id: d.disclosure_id,
            recipient: d.recipient,
            categories: d.categories,
            purpose: d.purpose,
            basis,
            disclosure_basis,
            destination: d.destination,
            time: d.time,
        }
    }
}

/// Checks `disclosure_basis` against the pack in force: an unknown id is 422; none
/// is 422 when the pack lists disclosure bases and the legal basis is not consent.
async fn disclosure_basis(
    rt: &TenantRuntime,
    given: Option<&str>,
    legal: &str,
) -> Result<Option<String>, ApiError> {
    let published = rt.in_force(Timestamp::now()).await.ok_or_else(no_policy)?;
    let bases = &published.policy.disclosure_bases;
    let listed = || {
        bases
            .iter()
            .map(|b| format!("`{}`", b.id.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match given {
        Some(id) if bases.iter().any(|b| b.id.as_str() == id) => Ok(Some(id.to_owned())),
        Some(_) => Err(ApiError::new(
            ProblemKind::Unprocessable,
            "the policy lists no disclosure basis with that id",
        )
        .field("disclosure_basis")
        .hint(if bases.is_empty() {
            "this policy lists no disclosure bases; leave the field out".to_owned()
        } else {
            format!("one of {}", listed())
        })),
        None if !bases.is_empty() && legal != "consent" => Err(ApiError::new(
            ProblemKind::Unprocessable,
            format!(
                "the policy discloses data only in the cases it lists, and this disclosure rests on `{legal}`, not consent: name the case"
            ),
        )
        .field("disclosure_basis")
        .hint(format!("one of {}", listed()))),
        None => Ok(None),
    }
}

/// Records a disclosure after asking the decision engine; a denied one is 422 with
/// the reason codes and nothing is recorded. Where the pack lists disclosure bases,
/// one of them is required unless the decision rests on consent.
#[utoipa::path(post, path = "/v1/disclosures", tag = "disclosures", request_body = NewDisclosure,
    responses((status = 201, body = DisclosureInfo), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn record(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(d): ApiJson<NewDisclosure>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::WriteDisclosures)?;
    let rt = runtime(&state, &caller).await?;
    let at = d.at.unwrap_or_else(Timestamp::now);
    let q = Question {
        subject: Some(d.subject.clone()),
        purpose: d.purpose.clone(),
        categories: d.categories.clone(),
        recipient: d.recipient.clone(),
        destination: d.destination.clone(),
        service: None,
        anonymous: false,
        at: Some(at),
        record: false,
    };
    let (subject, req) = request(&state, &rt, &caller, &q, signals(&headers), "").await?;
    let stopped = crate::api::decisions::ceased(&state, &caller).await?;
    let decision = if stopped.covers(None) {
        crate::cessation::ceased_decision()
    } else {
        let ix = rt.index.read().await;
        ix.as_ref().ok_or_else(no_policy)?.decide(subject, &req)
    };
    if !decision.allow {
        let codes: Vec<&str> = decision.reasons.iter().map(|r| r.code()).collect();
        return Err(ApiError::new(
            ProblemKind::Unprocessable,
            format!(
                "the policy does not allow this disclosure: {}",
                codes.join(", ")
            ),
        )
        .hint("POST /v1/decisions with the same question shows every reason"));
    }
    let Some(subject) = subject else {
        return Err(ApiError::not_found("subject"));
    };
    let legal = decision
        .basis
        .as_ref()
        .map(|b| b.legal.as_str().to_owned())
        .ok_or_else(|| {
            tracing::error!("allowed disclosure without a basis");
            ApiError::internal()
        })?;
    let basis = match disclosure_basis(&rt, d.disclosure_basis.as_deref(), &legal).await? {
        Some(db) => format!("{legal}:{db}"),
        None => legal,
    };
    let record = Disclosure {
        tenant: caller.tenant.clone(),
        subject: store_subject(subject),
        disclosure_id: uuid::Uuid::now_v7().to_string(),
        recipient: d.recipient.clone().unwrap_or_else(|| "public".to_owned()),
        categories: d.categories,
        purpose: d.purpose,
        basis,
        destination: d.destination,
        time: at,
    };
    state
        .store
        .record_disclosure(&record, &caller.actor())
        .await
        .map_err(store_error)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(DisclosureInfo::from(record)),
    ))
}

/// A subject's disclosures, oldest first.
#[utoipa::path(get, path = "/v1/subjects/{subject}/disclosures", tag = "disclosures",
    params(("subject" = String, Path, description = "Subject id")),
    responses((status = 200, body = [DisclosureInfo]), (status = 404)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
) -> Result<axum::Json<Vec<DisclosureInfo>>, ApiError> {
    caller.require(Permission::ReadDisclosures)?;
    let rt = runtime(&state, &caller).await?;
    let id = existing_subject(&state, &rt, &caller, &subject, "subject").await?;
    let list = state
        .store
        .disclosures(&caller.tenant, &store_subject(id))
        .await
        .map_err(store_error)?;
    Ok(axum::Json(
        list.into_iter().map(DisclosureInfo::from).collect(),
    ))
}
