//! `/v1/subjects/{subject}/certification`: developer real-name certification.
//!
//! A natural-person developer submits a legal name and a PRC resident ID number, a
//! company its name and unified social credit code. The number's check character is
//! verified first (422 naming the field, nothing stored); the values go into the
//! subject's vault under the pack's categories (`legal-name` + `id-number`, or
//! `company-name` + `credit-code`) for the purpose the caller names, which the
//! decision engine must allow — a sensitive ID number needs its separate consent.
//!
//! Then the third-party check: the values are POSTed, signed, to the webhook target
//! subscribed to `certification.check` whose policy recipient the engine allows to
//! receive them (recorded in the disclosure ledger), and its answer decides:
//! `{"result": "pass"}` certifies, anything else (a failure, no answer, no target)
//! sends the certification to manual review. There the developer hands in a copy of
//! the ID card or business licence (`id-card-copy` / `business-licence-copy`, into
//! the vault), and an operator approves or rejects it with a reason code. A rejected
//! certification may be submitted again.
//!
//! The certification itself (state, kind, who decided, reason code) holds no
//! personal information, and neither do its audit entries; nothing here answers a
//! name or number — they are read back through the vault, for the purpose.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_core::{
    Certification, CertificationCommand, CertificationError, CertificationKind, CertificationState,
    CreditCode, DecisionRequest, Obligation, ReasonCode, ResidentId, SubjectId as CoreSubject,
};
use troth_store::{
    Access, CertificationChange, CertificationRecord, CertificationStore, CertificationValue,
    Disclosure, NotifyTarget, OutboxStore, RecordRetention, Store, VaultKey,
};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::{AppState, TenantRuntime, store_subject};
use crate::api::vault::check_purpose;
use crate::api::{existing_subject, no_policy, runtime, store_error};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;
use crate::outbox;

/// The category of a natural person's legal name.
pub const LEGAL_NAME: &str = "legal-name";
/// The category of a resident ID number.
pub const ID_NUMBER: &str = "id-number";
/// The category of a company's name.
pub const COMPANY_NAME: &str = "company-name";
/// The category of a unified social credit code.
pub const CREDIT_CODE: &str = "credit-code";
/// The category of a copy of an ID card (manual review).
pub const ID_CARD_COPY: &str = "id-card-copy";
/// The category of a copy of a business licence (manual review).
pub const LICENCE_COPY: &str = "business-licence-copy";

/// Every category a certification stores values under.
const ALL_CATEGORIES: [&str; 6] = [
    LEGAL_NAME,
    ID_NUMBER,
    COMPANY_NAME,
    CREDIT_CODE,
    ID_CARD_COPY,
    LICENCE_COPY,
];

/// How long the third-party check may take before the certification goes to manual
/// review.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long after its check started a certification still `checking` is taken as
/// interrupted (many times [`CHECK_TIMEOUT`]).
const INTERRUPTED_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);
/// The largest copy accepted, decoded.
const MAX_COPY: usize = 8 * 1024 * 1024;

/// Person or company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KindInput {
    /// A natural person: `legal_name` and `id_number`.
    Person,
    /// A legal person: `company_name` and `credit_code`.
    Company,
}

impl From<KindInput> for CertificationKind {
    fn from(k: KindInput) -> Self {
        match k {
            KindInput::Person => CertificationKind::Person,
            KindInput::Company => CertificationKind::Company,
        }
    }
}

/// A certification submitted. No `Debug`: it holds an ID number.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// `person` or `company`.
    pub kind: KindInput,
    /// The purpose the values are collected for (the pack's certification purpose).
    pub purpose: String,
    /// A person's legal name.
    pub legal_name: Option<String>,
    /// A person's PRC resident identity card number (18 characters).
    pub id_number: Option<String>,
    /// A company's name.
    pub company_name: Option<String>,
    /// A company's unified social credit code (18 characters).
    pub credit_code: Option<String>,
}

/// A copy of the ID card or business licence, for manual review.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyInput {
    /// The purpose it is collected for (as on submission).
    pub purpose: String,
    /// The scan or photo, base64 (standard alphabet), at most 8 MiB decoded.
    pub content_base64: String,
}

/// An operator's decision in manual review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Certify (a copy must have been handed in).
    Approve,
    /// Reject (with a reason code).
    Reject,
}

/// `POST …/certification/review`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// Approve or reject.
    pub decision: Verdict,
    /// Why it is rejected: a code of `a-z`, `0-9`, `_`, `-` (`document_unreadable`),
    /// never free text.
    pub reason: Option<String>,
}

/// A certification as the API shows it: its state, never the values.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificationView {
    /// Its id; the vault records of its values use it as record id.
    pub certification_id: String,
    /// The developer.
    pub subject: String,
    /// `person` or `company`.
    pub kind: String,
    /// The purpose the values were collected for.
    pub purpose: String,
    /// `submitted`, `checking`, `certified`, `manual_review` or `rejected`.
    pub state: String,
    /// `check` or `operator`, once certified.
    pub certified_by: Option<String>,
    /// Why it went to manual review or was rejected (`check_failed`,
    /// `check_unavailable`, `check_interrupted`, `no_check_target`,
    /// `check_not_allowed`, or the
    /// operator's code).
    pub reason: Option<String>,
    /// Whether a copy of the document was handed in.
    pub copy_received: bool,
    /// Who made the last decision: `check:<target>` or the operator's key.
    pub decided_by: Option<String>,
    /// The vault categories its values are stored under.
    pub categories: Vec<String>,
    /// When it was (last) submitted.
    #[schema(value_type = String, format = DateTime)]
    pub submitted: Timestamp,
    /// When it last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated: Timestamp,
}

fn categories(kind: CertificationKind) -> [&'static str; 2] {
    match kind {
        CertificationKind::Person => [LEGAL_NAME, ID_NUMBER],
        CertificationKind::Company => [COMPANY_NAME, CREDIT_CODE],
    }
}

fn copy_category(kind: CertificationKind) -> &'static str {
    match kind {
        CertificationKind::Person => ID_CARD_COPY,
        CertificationKind::Company => LICENCE_COPY,
    }
}

impl From<&CertificationRecord> for CertificationView {
    fn from(r: &CertificationRecord) -> Self {
        let w = &r.workflow;
        let mut cats: Vec<String> = categories(w.kind).map(str::to_owned).to_vec();
        if w.copy_received {
            cats.push(copy_category(w.kind).to_owned());
        }
        Self {
            certification_id: r.certification_id.clone(),
            subject: r.subject.as_str().to_owned(),
            kind: w.kind.as_str().to_owned(),
            purpose: r.purpose.clone(),
            state: w.state.as_str().to_owned(),
            certified_by: w.certified_by.map(|c| {
                match c {
                    troth_core::CertifiedBy::Check => "check",
                    troth_core::CertifiedBy::Operator => "operator",
                }
                .to_owned()
            }),
            reason: w.reason.as_ref().map(|c| c.as_str().to_owned()),
            copy_received: w.copy_received,
            decided_by: r.decided_by.clone(),
            categories: cats,
            submitted: r.submitted,
            updated: r.updated,
        }
    }
}

fn unprocessable(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(ProblemKind::Unprocessable, detail).field(field)
}

/// The checked values of a submission, in the order of [`categories`].
fn checked_values(s: &Submission) -> Result<[String; 2], ApiError> {
    let (name_field, number_field, name, number, other) = match s.kind {
        KindInput::Person => (
            "legal_name",
            "id_number",
            &s.legal_name,
            &s.id_number,
            [
                ("company_name", &s.company_name),
                ("credit_code", &s.credit_code),
            ],
        ),
        KindInput::Company => (
            "company_name",
            "credit_code",
            &s.company_name,
            &s.credit_code,
            [("legal_name", &s.legal_name), ("id_number", &s.id_number)],
        ),
    };
    // One complete set: mixing a person's and a company's values is refused.
    if let Some((field, _)) = other.iter().find(|(_, v)| v.is_some()) {
        return Err(unprocessable(
            field,
            format!(
                "`{field}` does not belong to a `{}` certification",
                CertificationKind::from(s.kind).as_str()
            ),
        ));
    }
    let name = name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| unprocessable(name_field, format!("`{name_field}` is required")))?;
    if name.chars().count() > 200 {
        return Err(unprocessable(name_field, "at most 200 characters"));
    }
    let number = number
        .as_deref()
        .ok_or_else(|| unprocessable(number_field, format!("`{number_field}` is required")))?;
    // The error says what is wrong, never the number.
    let number = match s.kind {
        KindInput::Person => ResidentId::parse(number)
            .map(|n| n.as_str().to_owned())
            .map_err(|e| {
                unprocessable(number_field, format!("not a valid resident ID number: {e}"))
                    .hint("18 characters: 17 digits and a check digit or X (GB 11643)")
            })?,
        KindInput::Company => CreditCode::parse(number)
            .map(|n| n.as_str().to_owned())
            .map_err(|e| {
                unprocessable(
                    number_field,
                    format!("not a valid unified social credit code: {e}"),
                )
                .hint("18 characters of 0-9 and A-Y without I, O, S, V, Z (GB 32100)")
            })?,
    };
    Ok([name.to_owned(), number])
}

/// Refuses unless `purpose` may store `category` for the subject now (and does not
/// oblige the caller never to store it).
async fn may_store(
    state: &AppState,
    caller: &Caller,
    rt: &TenantRuntime,
    subject: CoreSubject,
    purpose: &str,
    category: &str,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let stopped = crate::api::decisions::ceased(state, caller).await?;
    if stopped.covers(None) {
        return Err(unprocessable(
            "purpose",
            "the operation has ceased: no personal information is collected any more: service_ceased",
        ));
    }
    let decision = check_purpose(rt, subject, purpose, category, headers).await?;
    if decision
        .obligations
        .iter()
        .any(|o| matches!(o, Obligation::DoNotStore { category: c } if c.as_str() == category))
    {
        return Err(unprocessable(
            "purpose",
            format!("the policy never lets purpose `{purpose}` store `{category}`: do_not_store"),
        ));
    }
    Ok(())
}

fn workflow_error(e: CertificationError) -> ApiError {
    let hint = match &e {
        CertificationError::CopyMissing => {
            "the developer hands in a copy first: POST …/certification/copy"
        }
        CertificationError::NotAllowed { .. } => "GET …/certification shows where it stands",
    };
    ApiError::new(ProblemKind::Conflict, e.to_string()).hint(hint)
}

fn changed_meanwhile() -> ApiError {
    ApiError::new(
        ProblemKind::Conflict,
        "the certification changed while this request was handled",
    )
    .hint("GET …/certification and try again")
}

/// The subject's latest certification, if any.
async fn latest(
    state: &AppState,
    caller: &Caller,
    subject: CoreSubject,
) -> Result<Option<CertificationRecord>, ApiError> {
    Ok(state
        .store
        .certifications(&caller.tenant, &store_subject(subject))
        .await
        .map_err(store_error)?
        .into_iter()
        .next())
}

/// Applies `cmd` to `current` and saves it with `values`; answers the new record.
async fn step(
    state: &AppState,
    actor: &str,
    current: &CertificationRecord,
    cmd: &CertificationCommand,
    decided_by: Option<String>,
    values: &[CertificationValue],
    remove: &[&str],
) -> Result<CertificationRecord, ApiError> {
    let (workflow, t) = current.workflow.apply(cmd).map_err(workflow_error)?;
    let now = Timestamp::now();
    let next = CertificationRecord {
        workflow,
        decided_by: decided_by.or_else(|| current.decided_by.clone()),
        submitted: if t.action == "certification.resubmitted" {
            now
        } else {
            current.submitted
        },
        updated: now,
        ..current.clone()
    };
    let saved = state
        .store
        .save_certification(CertificationChange {
            record: &next,
            expected: Some(current.workflow.state),
            values,
            remove,
            access: &Access::new(actor, next.purpose.as_str()),
            action: t.action,
        })
        .await
        .map_err(store_error)?;
    if saved {
        Ok(next)
    } else {
        Err(changed_meanwhile())
    }
}

/// Records each value's retention from the pack (after the write, as a vault write
/// does).
async fn plan_retention(
    state: &AppState,
    plan: Option<&RecordRetention>,
    r: &CertificationRecord,
    cats: &[&str],
) -> Result<(), ApiError> {
    let Some(plan) = plan else {
        return Ok(());
    };
    for c in cats {
        let key = VaultKey::new(
            r.tenant.clone(),
            r.subject.clone(),
            *c,
            r.certification_id.as_str(),
        );
        crate::retention::record_plan(state, &key, plan)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

/// Submits a certification (or resubmits a rejected one) and runs the third-party
/// check. Answers the certification as it stands after the check: `certified` or
/// `manual_review`.
#[utoipa::path(post, path = "/v1/subjects/{subject}/certification", tag = "certification",
    request_body = Submission,
    params(("subject" = String, Path, description = "Subject id (the developer)")),
    responses((status = 201, body = CertificationView), (status = 404),
        (status = 409, description = "A certification is already under way or granted"),
        (status = 422, description = "A value is missing or invalid (the field is named), or the policy does not allow storing it")),
    security(("bearer" = [])))]
pub async fn submit(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Submission>,
) -> Result<(StatusCode, axum::Json<CertificationView>), ApiError> {
    caller.require(Permission::VaultWrite)?;
    let rt = runtime(&state, &caller).await?;
    let id = existing_subject(&state, &rt, &caller, &subject, "subject").await?;
    // Checked before anything is stored or sent.
    let values = checked_values(&body)?;
    let kind = CertificationKind::from(body.kind);
    let cats = categories(kind);
    for c in cats {
        may_store(&state, &caller, &rt, id, &body.purpose, c, &headers).await?;
    }
    let previous = latest(&state, &caller, id).await?;
    if let Some(p) = &previous
        && p.workflow.state != CertificationState::Rejected
    {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            format!(
                "this developer's certification is already `{}`",
                p.workflow.state
            ),
        )
        .hint("only a rejected certification may be submitted again"));
    }
    let now = Timestamp::now();
    let record = CertificationRecord {
        tenant: caller.tenant.clone(),
        subject: store_subject(id),
        certification_id: previous.as_ref().map_or_else(
            || uuid::Uuid::now_v7().to_string(),
            |p| p.certification_id.clone(),
        ),
        purpose: body.purpose.clone(),
        workflow: Certification::submitted(kind),
        decided_by: None,
        submitted: now,
        updated: now,
    };
    let plan = crate::retention::plan_record(&rt, &record.purpose, None).await;
    let expires = plan.as_ref().and_then(|p| p.expires);
    let vault_values: Vec<CertificationValue> = cats
        .iter()
        .zip(values)
        .map(|(c, v)| CertificationValue {
            category: (*c).to_owned(),
            record: record.certification_id.clone(),
            plaintext: troth_crypto::Zeroizing::new(v.into_bytes()),
            expires,
        })
        .collect();
    let actor = caller.actor();
    let record = match &previous {
        None => {
            let saved = state
                .store
                .save_certification(CertificationChange {
                    record: &record,
                    expected: None,
                    values: &vault_values,
                    remove: &[],
                    access: &Access::new(actor.as_str(), record.purpose.as_str()),
                    action: "certification.submitted",
                })
                .await
                .map_err(store_error)?;
            if !saved {
                return Err(changed_meanwhile());
            }
            record
        }
        Some(p) => {
            step(
                &state,
                &actor,
                &CertificationRecord {
                    purpose: body.purpose.clone(),
                    ..p.clone()
                },
                &CertificationCommand::Resubmit { kind },
                None,
                &vault_values,
                // The earlier submission's values that these do not replace, and
                // its copy: a new submission is reviewed on its own.
                &ALL_CATEGORIES
                    .into_iter()
                    .filter(|c| !cats.contains(c))
                    .collect::<Vec<_>>(),
            )
            .await?
        }
    };
    plan_retention(&state, plan.as_ref(), &record, &cats).await?;
    let done = third_party_check(&state, &caller, &rt, id, record, &vault_values).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CertificationView::from(&done)),
    ))
}

/// The answer a checking service gives.
#[derive(Deserialize)]
struct CheckAnswer {
    result: String,
}

/// Where the values go for the check, and on what basis.
struct CheckTarget {
    target: NotifyTarget,
    /// The policy recipient the target speaks for.
    recipient: String,
    /// The legal basis the engine allowed the disclosure on.
    legal: &'static str,
}

/// The checking target the engine lets receive the values: a webhook subscribed to
/// `certification.check` that speaks for a policy recipient allowed to receive
/// these categories for this purpose. `Err` carries the reason code when there is
/// none.
async fn check_target(
    state: &AppState,
    caller: &Caller,
    rt: &TenantRuntime,
    subject: CoreSubject,
    r: &CertificationRecord,
) -> Result<Result<CheckTarget, &'static str>, ApiError> {
    let targets: Vec<NotifyTarget> = state
        .store
        .notify_targets(&caller.tenant)
        .await
        .map_err(store_error)?
        .into_iter()
        .filter(|t| outbox::takes_direct(t, outbox::CERTIFICATION_CHECK))
        .collect();
    if targets.is_empty() {
        return Ok(Err("no_check_target"));
    }
    let cats = categories(r.workflow.kind);
    let ix = rt.index.read().await;
    let ix = ix.as_ref().ok_or_else(no_policy)?;
    for t in targets {
        let Some(recipient) = t.recipient.clone() else {
            continue;
        };
        let Ok(rid) = recipient.parse::<troth_policy::ids::RecipientId>() else {
            continue;
        };
        let Ok(req) = DecisionRequest::try_new(&r.purpose, &cats, Timestamp::now()) else {
            continue;
        };
        let d = ix.decide(Some(subject), &req.with_recipient(rid));
        if !d.allow {
            continue;
        }
        let legal = d.basis.as_ref().map(|b| b.legal.as_str()).ok_or_else(|| {
            tracing::error!("allowed disclosure without a basis");
            ApiError::internal()
        })?;
        return Ok(Ok(CheckTarget {
            target: t,
            recipient,
            legal,
        }));
    }
    Ok(Err("check_not_allowed"))
}

/// Sends the values to the checking service and moves the certification by its
/// answer; with no service it goes to manual review at once.
async fn third_party_check(
    state: &AppState,
    caller: &Caller,
    rt: &TenantRuntime,
    subject: CoreSubject,
    r: CertificationRecord,
    values: &[CertificationValue],
) -> Result<CertificationRecord, ApiError> {
    let actor = caller.actor();
    let failed = |code: &str| {
        ReasonCode::parse(code).map(|reason| CertificationCommand::CheckFailed { reason })
    };
    let CheckTarget {
        target,
        recipient,
        legal,
    } = match check_target(state, caller, rt, subject, &r).await? {
        Ok(found) => found,
        Err(code) => {
            let cmd = failed(code).map_err(|_| ApiError::internal())?;
            return step(state, &actor, &r, &cmd, None, &[], &[]).await;
        }
    };
    let r = step(
        state,
        &actor,
        &r,
        &CertificationCommand::StartCheck,
        None,
        &[],
        &[],
    )
    .await?;
    let mut data = serde_json::Map::new();
    data.insert("certification_id".into(), r.certification_id.clone().into());
    data.insert("kind".into(), r.workflow.kind.as_str().into());
    for v in values {
        // The field names of the submission: `legal_name`, `id_number`, …
        let text = String::from_utf8_lossy(&v.plaintext).into_owned();
        data.insert(v.category.replace('-', "_"), text.into());
    }
    let message_id = format!(
        "certification:{}:{}",
        r.certification_id,
        r.submitted.as_millisecond()
    );
    let body = serde_json::json!({
        "id": message_id,
        "kind": outbox::CERTIFICATION_CHECK,
        "tenant": caller.tenant.as_str(),
        "created": Timestamp::now().to_string(),
        "data": data,
    });
    let answer = outbox::post_now_answer(
        state,
        &caller.tenant,
        &target,
        outbox::DirectCall {
            id: &message_id,
            kind: outbox::CERTIFICATION_CHECK,
            content_type: "application/json",
            body: body.to_string().into_bytes(),
            timeout: CHECK_TIMEOUT,
        },
    )
    .await;
    // The values reached the recipient whenever it answered at all.
    if !matches!(answer, Err(outbox::DirectError::Unreachable(_))) {
        let disclosure = Disclosure {
            tenant: caller.tenant.clone(),
            subject: r.subject.clone(),
            disclosure_id: uuid::Uuid::now_v7().to_string(),
            recipient,
            categories: categories(r.workflow.kind).map(str::to_owned).to_vec(),
            purpose: r.purpose.clone(),
            basis: legal.to_owned(),
            destination: None,
            time: Timestamp::now(),
        };
        state
            .store
            .record_disclosure(&disclosure, &actor)
            .await
            .map_err(store_error)?;
    }
    let passed = answer
        .as_ref()
        .ok()
        .and_then(|b| serde_json::from_slice::<CheckAnswer>(b).ok())
        .map(|a| a.result);
    let cmd = match passed.as_deref() {
        Some("pass") => CertificationCommand::CheckPassed,
        Some("fail") => failed("check_failed").map_err(|_| ApiError::internal())?,
        _ => {
            if let Err(e) = &answer {
                tracing::warn!(target_id = %target.target_id, error = %e, "certification check failed");
            }
            failed("check_unavailable").map_err(|_| ApiError::internal())?
        }
    };
    let by = format!("check:{}", target.target_id);
    step(state, &actor, &r, &cmd, Some(by), &[], &[]).await
}

/// The subject's latest certification. With `recover`, one whose check was
/// interrupted (the server stopped while waiting for the answer: still `checking`
/// long after any check would have timed out) goes to manual review first, so a
/// person can finish it.
async fn current(
    state: &AppState,
    caller: &Caller,
    subject: &str,
    recover: bool,
) -> Result<(Arc<TenantRuntime>, CoreSubject, CertificationRecord), ApiError> {
    let rt = runtime(state, caller).await?;
    let id = existing_subject(state, &rt, caller, subject, "subject").await?;
    let r = latest(state, caller, id)
        .await?
        .ok_or_else(|| ApiError::not_found("certification"))?;
    let stuck = r.workflow.state == CertificationState::Checking
        && Timestamp::now().duration_since(r.updated) > INTERRUPTED_AFTER;
    if recover && stuck {
        let reason = ReasonCode::parse("check_interrupted").map_err(|_| ApiError::internal())?;
        let cmd = CertificationCommand::CheckFailed { reason };
        let r = step(state, &caller.actor(), &r, &cmd, None, &[], &[]).await?;
        return Ok((rt, id, r));
    }
    Ok((rt, id, r))
}

/// The developer's certification: its state, never the values.
#[utoipa::path(get, path = "/v1/subjects/{subject}/certification", tag = "certification",
    params(("subject" = String, Path, description = "Subject id (the developer)")),
    responses((status = 200, body = CertificationView), (status = 404)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
) -> Result<axum::Json<CertificationView>, ApiError> {
    caller.require(Permission::ReadSubjects)?;
    let (_, _, r) = current(&state, &caller, &subject, false).await?;
    Ok(axum::Json(CertificationView::from(&r)))
}

/// Hands in a copy of the ID card (person) or business licence (company) for manual
/// review; stored in the vault under `id-card-copy` / `business-licence-copy`.
#[utoipa::path(post, path = "/v1/subjects/{subject}/certification/copy", tag = "certification",
    request_body = CopyInput,
    params(("subject" = String, Path, description = "Subject id (the developer)")),
    responses((status = 200, body = CertificationView), (status = 404),
        (status = 409, description = "Not in manual review"), (status = 422)),
    security(("bearer" = [])))]
pub async fn copy(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CopyInput>,
) -> Result<axum::Json<CertificationView>, ApiError> {
    caller.require(Permission::VaultWrite)?;
    let (rt, id, r) = current(&state, &caller, &subject, true).await?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body.content_base64.as_bytes())
        .map_err(|_| unprocessable("content_base64", "not base64 (standard alphabet, padded)"))?;
    if bytes.is_empty() || bytes.len() > MAX_COPY {
        return Err(unprocessable("content_base64", "1 byte to 8 MiB, decoded"));
    }
    if body.purpose != r.purpose {
        return Err(unprocessable(
            "purpose",
            format!(
                "the certification's values were collected for `{}`",
                r.purpose
            ),
        ));
    }
    let category = copy_category(r.workflow.kind);
    may_store(&state, &caller, &rt, id, &body.purpose, category, &headers).await?;
    let plan = crate::retention::plan_record(&rt, &r.purpose, None).await;
    let expires = plan.as_ref().and_then(|p| p.expires);
    let value = CertificationValue {
        category: category.to_owned(),
        record: r.certification_id.clone(),
        plaintext: troth_crypto::Zeroizing::new(bytes),
        expires,
    };
    let next = step(
        &state,
        &caller.actor(),
        &r,
        &CertificationCommand::AddCopy,
        None,
        std::slice::from_ref(&value),
        &[],
    )
    .await?;
    plan_retention(&state, plan.as_ref(), &next, &[category]).await?;
    Ok(axum::Json(CertificationView::from(&next)))
}

/// An operator approves or rejects a certification in manual review.
#[utoipa::path(post, path = "/v1/subjects/{subject}/certification/review", tag = "certification",
    request_body = Review,
    params(("subject" = String, Path, description = "Subject id (the developer)")),
    responses((status = 200, body = CertificationView), (status = 404),
        (status = 409, description = "Not in manual review, or no copy handed in yet"),
        (status = 422, description = "A rejection without a valid reason code")),
    security(("bearer" = [])))]
pub async fn review(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
    ApiJson(body): ApiJson<Review>,
) -> Result<axum::Json<CertificationView>, ApiError> {
    caller.require(Permission::ReviewCertifications)?;
    let reason = body
        .reason
        .as_deref()
        .map(|r| {
            ReasonCode::parse(r).map_err(|e| {
                unprocessable("reason", e.to_string())
                    .hint("a code such as `document_unreadable`, not free text")
            })
        })
        .transpose()?;
    let cmd = match (body.decision, reason) {
        (Verdict::Approve, _) => CertificationCommand::Approve,
        (Verdict::Reject, Some(reason)) => CertificationCommand::Reject { reason },
        (Verdict::Reject, None) => {
            return Err(unprocessable("reason", "a rejection names its reason code"));
        }
    };
    let (_, _, r) = current(&state, &caller, &subject, true).await?;
    let next = step(
        &state,
        &caller.actor(),
        &r,
        &cmd,
        Some(caller.actor()),
        &[],
        &[],
    )
    .await?;
    Ok(axum::Json(CertificationView::from(&next)))
}
