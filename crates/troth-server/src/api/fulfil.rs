//! What completing a rights request does, kind by kind (deletion and account
//! cancellation, which erase, live in [`crate::api::requests`]):
//!
//! * `correction`: the new values the person gave, kept encrypted in the vault
//!   ([`CORRECTION_CATEGORY`]) since submission, replace the records they name,
//!   keeping each record's retention;
//! * `withdraw_consent`: a withdrawal is recorded for each purpose named (or every
//!   purpose whose consent is given now);
//! * `opt_out_targeting`: the person's targeting opt-out is recorded;
//! * `explanation`: the purposes, and each decision kept for the person
//!   (`"record": true` on `POST /v1/decisions`) with its inputs and logic;
//! * `copy` to a third party: the export bundle is POSTed, signed, to the notify
//!   target the person chose (one subscribed to [`outbox::COPY_TRANSFER`]).
//!
//! What a completion produced is kept encrypted with the subject's data
//! ([`RESULT_CATEGORY`], one record per request) and shown on the request; each one
//! is audited as `request.executed` with ids and counts, never values. A step that
//! fails (a third party that does not answer, a record that no longer exists) stops
//! the completion: the request stays where it was, and completing again repeats the
//! (idempotent) steps.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_core::{
    ConsentFact, ConsentStatus, Fact, LedgerEvent, Method, RequestKind, Scope,
    SubjectId as CoreSubject,
};
use troth_store::{
    Access, AuditEvent, Categories, OutboxStore, Store, StoreError, SubjectId, VaultKey,
    VaultListStore,
};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::requests::{Loaded, NewRequest};
use crate::api::state::{AppState, Published};
use crate::api::subjects::{append, event_id};
use crate::api::{bad, runtime, store_error};
use crate::error::{ApiError, ProblemKind};
use crate::export::{CORRECTION_CATEGORY, DECISION_CATEGORY, RESULT_CATEGORY};
use crate::outbox;

/// Most corrections one request may carry.
pub const MAX_CORRECTIONS: usize = 50;
/// Largest corrected value, in bytes.
pub const MAX_VALUE: usize = 64 * 1024;

/// A corrected value, as submitted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionInput {
    /// The category of the record (a pack category id).
    pub category: String,
    /// The record id (as in the person's export).
    pub record: String,
    /// The correct value. Encrypted at once; never shown on the request.
    pub value: String,
}

/// A record a correction request changes (the value is in the vault).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CorrectionRef {
    /// Category id.
    pub category: String,
    /// Record id.
    pub record: String,
}

/// What a request asks for beyond its kind, kept with it (no personal data: the
/// corrected values are in the vault).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Asks {
    /// `withdraw_consent`: the purposes (empty: every purpose consented to).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purposes: Vec<String>,
    /// `correction`: the records corrected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<CorrectionRef>,
    /// `copy`: the notify target the bundle goes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party: Option<String>,
}

impl Asks {
    /// Nothing beyond the kind.
    pub fn is_empty(&self) -> bool {
        self.purposes.is_empty() && self.corrections.is_empty() && self.third_party.is_none()
    }
}

/// Well-formed, but not something the policy declares.
fn unknown(field: &str, detail: String) -> ApiError {
    ApiError::new(ProblemKind::Unprocessable, detail).field(field)
}

/// Checks what a new request asks for against its kind and the policy in force.
pub(crate) async fn check(
    state: &AppState,
    caller: &Caller,
    version: &Published,
    req: &NewRequest,
) -> Result<Asks, ApiError> {
    let policy = &version.policy;
    let (kind, purposes, corrections) = (req.kind, &req.purposes, &req.corrections);
    if !purposes.is_empty() && kind != RequestKind::WithdrawConsent {
        return Err(bad(
            "purposes",
            "only a `withdraw_consent` request names purposes",
        ));
    }
    for (i, p) in purposes.iter().enumerate() {
        if policy.purpose(p).is_none() {
            return Err(unknown(
                &format!("purposes[{i}]"),
                format!("`{p}` is not a purpose of the policy in force"),
            ));
        }
    }
    if !corrections.is_empty() && kind != RequestKind::Correction {
        return Err(bad(
            "corrections",
            "only a `correction` request carries corrected values",
        ));
    }
    if corrections.len() > MAX_CORRECTIONS {
        return Err(bad(
            "corrections",
            format!("at most {MAX_CORRECTIONS} corrections per request"),
        ));
    }
    let mut refs = Vec::with_capacity(corrections.len());
    for (i, c) in corrections.iter().enumerate() {
        if policy.category(&c.category).is_none() {
            return Err(unknown(
                &format!("corrections[{i}].category"),
                format!("`{}` is not a category of the policy in force", c.category),
            ));
        }
        crate::api::vault::check_record(&format!("corrections[{i}].record"), &c.record)?;
        if c.value.is_empty() || c.value.len() > MAX_VALUE {
            return Err(bad(
                &format!("corrections[{i}].value"),
                format!("a value of 1 to {MAX_VALUE} bytes"),
            ));
        }
        let r = CorrectionRef {
            category: c.category.clone(),
            record: c.record.clone(),
        };
        if refs.contains(&r) {
            return Err(bad(
                &format!("corrections[{i}]"),
                "that record is already corrected earlier in this request",
            ));
        }
        refs.push(r);
    }
    let third_party = match (req.to_third_party, req.third_party.as_deref()) {
        (false, None) => None,
        (false, Some(_)) => {
            return Err(bad(
                "third_party",
                "set `to_third_party` on a `copy` request to send it to a third party",
            ));
        }
        (true, None) => {
            return Err(bad(
                "third_party",
                "name the third party: the id of a notify target subscribed to `copy.transfer`",
            )
            .hint("GET /v1/notify-targets lists them"));
        }
        (true, Some(t)) => {
            transfer_target(state, caller, t)
                .await
                .map_err(|e| e.field("third_party"))?;
            Some(t.to_owned())
        }
    };
    Ok(Asks {
        purposes: purposes.clone(),
        corrections: refs,
        third_party,
    })
}

/// The webhook target a copy may be sent to.
async fn transfer_target(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<troth_store::NotifyTarget, ApiError> {
    state
        .store
        .notify_targets(&caller.tenant)
        .await
        .map_err(store_error)?
        .into_iter()
        .find(|t| t.target_id == id && outbox::takes_direct(t, outbox::COPY_TRANSFER))
        .ok_or_else(|| {
            ApiError::new(
                ProblemKind::Unprocessable,
                format!("no webhook target `{id}` subscribed to `copy.transfer`"),
            )
        })
}

fn correction_key(caller: &Caller, subject: &SubjectId, request: &str, n: usize) -> VaultKey {
    VaultKey::new(
        caller.tenant.clone(),
        subject.clone(),
        CORRECTION_CATEGORY,
        format!("{request}.{n}"),
    )
}

/// Keeps a correction request's new values, encrypted under the subject's key, until
/// the request completes.
pub(crate) async fn seal_corrections(
    state: &AppState,
    caller: &Caller,
    subject: &SubjectId,
    request: &str,
    corrections: &[CorrectionInput],
) -> Result<(), ApiError> {
    let access = Access::new(caller.actor(), "rights.correction");
    for (n, c) in corrections.iter().enumerate() {
        let key = correction_key(caller, subject, request, n);
        state
            .store
            .vault_put(&key, c.value.as_bytes(), None, &access)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

/// Drops a closed request's pending corrections (applied, or refused).
pub(crate) async fn discard_corrections(
    state: &AppState,
    caller: &Caller,
    l: &Loaded,
) -> Result<(), ApiError> {
    let access = Access::new(caller.actor(), "rights.correction");
    for n in 0..l.asks.corrections.len() {
        let key = correction_key(caller, &l.record.subject, &l.record.request_id, n);
        state
            .store
            .vault_delete(&key, &access)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

fn result_key(caller: &Caller, l: &Loaded) -> VaultKey {
    VaultKey::new(
        caller.tenant.clone(),
        l.record.subject.clone(),
        RESULT_CATEGORY,
        l.record.request_id.as_str(),
    )
}

/// What completing the request produced, if anything (gone once the subject is
/// erased).
pub(crate) async fn result(
    state: &AppState,
    caller: &Caller,
    l: &Loaded,
) -> Result<Option<serde_json::Value>, ApiError> {
    let access = Access::new(caller.actor(), "rights.result");
    match state.store.vault_get(&result_key(caller, l), &access).await {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).map_err(|_| ApiError::internal())?,
        )),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) if e.is_key_destroyed() => Ok(None),
        Err(e) => Err(store_error(e)),
    }
}

/// Carries out a fulfilled request of a kind other than deletion or cancellation,
/// keeps its result and audits it. Nothing to do for access (the export is made on
/// demand) and complaints (answered outside troth).
pub(crate) async fn execute(
    state: &AppState,
    caller: &Caller,
    l: &Loaded,
    now: Timestamp,
) -> Result<(), ApiError> {
    let (result, summary) = match l.details.kind {
        RequestKind::Correction => correct(state, caller, l).await?,
        RequestKind::WithdrawConsent => withdraw(state, caller, l).await?,
        RequestKind::OptOutTargeting => opt_out(state, caller, l).await?,
        RequestKind::Explanation => explain(state, caller, l).await?,
        RequestKind::Copy if l.asks.third_party.is_some() => {
            transfer(state, caller, l, now).await?
        }
        _ => return Ok(()),
    };
    let bytes = serde_json::to_vec(&result).map_err(|_| ApiError::internal())?;
    state
        .store
        .vault_put(
            &result_key(caller, l),
            &bytes,
            None,
            &Access::new(caller.actor(), "rights.result"),
        )
        .await
        .map_err(store_error)?;
    let mut detail = serde_json::json!({ "kind": l.details.kind.as_str() });
    if let (Some(d), serde_json::Value::Object(s)) =
        (detail.as_object_mut(), summary.unwrap_or(result))
    {
        d.extend(s);
    }
    state
        .store
        .append_audit(
            &caller.tenant,
            vec![AuditEvent {
                time: Timestamp::now(),
                actor: caller.actor(),
                action: "request.executed".to_owned(),
                target: format!("request:{}", l.record.request_id),
                detail: detail.to_string(),
            }],
        )
        .await
        .map_err(store_error)?;
    Ok(())
}

/// What a step produced, and the audit's summary of it where the result itself
/// holds more than ids and counts (`None`: the result is the summary).
type Done = (serde_json::Value, Option<serde_json::Value>);

fn core_subject(l: &Loaded) -> Result<CoreSubject, ApiError> {
    l.record
        .subject
        .as_str()
        .parse()
        .map_err(|_| ApiError::internal())
}

async fn correct(state: &AppState, caller: &Caller, l: &Loaded) -> Result<Done, ApiError> {
    let access = Access::new(caller.actor(), "rights.correction");
    for (n, c) in l.asks.corrections.iter().enumerate() {
        let pending = correction_key(caller, &l.record.subject, &l.record.request_id, n);
        let value = state
            .store
            .vault_get(&pending, &access)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => ApiError::new(
                    ProblemKind::Conflict,
                    format!(
                        "the corrected value for {}/{} is gone",
                        c.category, c.record
                    ),
                )
                .hint("refuse this request and ask the person to submit the correction again"),
                e => store_error(e),
            })?;
        let target = VaultKey::new(
            caller.tenant.clone(),
            l.record.subject.clone(),
            c.category.as_str(),
            c.record.as_str(),
        );
        let existed = state
            .store
            .vault_replace(&target, &value, &access)
            .await
            .map_err(store_error)?;
        if !existed {
            return Err(ApiError::new(
                ProblemKind::Conflict,
                format!(
                    "no record {}/{} is held for this person: nothing to correct",
                    c.category, c.record
                ),
            )
            .field("corrections")
            .hint("refuse the request citing a listed reason, or store the value with the purpose it is collected for"));
        }
    }
    let refs = serde_json::to_value(&l.asks.corrections).map_err(|_| ApiError::internal())?;
    Ok((serde_json::json!({ "corrected": refs }), None))
}

async fn withdraw(state: &AppState, caller: &Caller, l: &Loaded) -> Result<Done, ApiError> {
    let rt = runtime(state, caller).await?;
    let subject = core_subject(l)?;
    let now = Timestamp::now();
    let version = rt.in_force(now).await.ok_or_else(crate::api::no_policy)?;
    let purposes: Vec<String> = if l.asks.purposes.is_empty() {
        let ix = rt.index.read().await;
        ix.as_ref()
            .and_then(|ix| ix.state(subject))
            .map(|s| {
                s.purposes()
                    .iter()
                    .filter(|p| p.general.as_ref().is_some_and(|g| g.is_given_at(now)))
                    .map(|p| p.purpose.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        l.asks.purposes.clone()
    };
    for p in &purposes {
        let purpose = p.parse().map_err(|_| ApiError::internal())?;
        let mut fact = ConsentFact::new(ConsentStatus::Withdrawn, purpose, version.version.hash);
        fact.scope = Scope::Purpose;
        fact.method = Method::Api;
        let event = LedgerEvent {
            id: event_id(),
            tenant: rt.core,
            subject,
            at: Timestamp::now(),
            fact: Fact::Consent(fact),
        };
        append(state, &rt, &event).await?;
    }
    Ok((serde_json::json!({ "withdrawn": purposes }), None))
}

async fn opt_out(state: &AppState, caller: &Caller, l: &Loaded) -> Result<Done, ApiError> {
    let rt = runtime(state, caller).await?;
    let event = LedgerEvent {
        id: event_id(),
        tenant: rt.core,
        subject: core_subject(l)?,
        at: Timestamp::now(),
        fact: Fact::TargetingOptOut { opted_out: true },
    };
    append(state, &rt, &event).await?;
    Ok((serde_json::json!({ "targeting_opted_out": true }), None))
}

/// The logic of one kept decision in a sentence, from its outcome, basis and reasons.
fn logic(d: &serde_json::Value) -> String {
    let purpose = d["purpose"].as_str().unwrap_or("?");
    let version = d["version"].as_str().unwrap_or("?");
    if d["allow"].as_bool() == Some(true) {
        // `troth_core::Basis` as kept: `{"legal": "consent", "exemption": …}`.
        let basis = d["basis"]["legal"].as_str().unwrap_or("?");
        format!(
            "allowed: purpose `{purpose}` may use these data on the legal basis `{basis}` under policy version {version}"
        )
    } else {
        let codes: Vec<&str> = d["reasons"]
            .as_array()
            .map(|rs| rs.iter().filter_map(|r| r["code"].as_str()).collect())
            .unwrap_or_default();
        format!(
            "refused: purpose `{purpose}` may not use these data under policy version {version} because {}",
            codes.join(", ")
        )
    }
}

async fn explain(state: &AppState, caller: &Caller, l: &Loaded) -> Result<Done, ApiError> {
    let rt = runtime(state, caller).await?;
    let now = Timestamp::now();
    let version = rt.in_force(now).await.ok_or_else(crate::api::no_policy)?;
    let access = Access::new(caller.actor(), "rights.explanation");
    // Only the kept decisions are read (and audited as read), oldest first: their
    // record ids are UUIDv7.
    let mut decisions: Vec<serde_json::Value> = Vec::new();
    for v in state
        .store
        .vault_records(
            &caller.tenant,
            &l.record.subject,
            Categories::Only(DECISION_CATEGORY),
            &access,
        )
        .await
        .map_err(store_error)?
    {
        let mut d: serde_json::Value =
            serde_json::from_slice(&v.plaintext).map_err(|_| ApiError::internal())?;
        let summary = logic(&d);
        d["logic"] = serde_json::Value::String(summary);
        decisions.push(d);
    }
    // The purposes behind the kept decisions, or every purpose of the policy when
    // none was kept (the processing rules as a whole).
    let used: std::collections::BTreeSet<&str> = decisions
        .iter()
        .filter_map(|d| d["purpose"].as_str())
        .collect();
    let purposes: Vec<serde_json::Value> = version
        .policy
        .purposes
        .iter()
        .filter(|p| used.is_empty() || used.contains(p.id.as_str()))
        .map(|p| {
            serde_json::json!({
                "id": p.id.as_str(),
                "name": p.name,
                "description": p.description,
                "basis": p.basis,
                "function": p.function,
                "categories": p.categories,
                "tags": p.tags,
            })
        })
        .collect();
    let n = decisions.len();
    Ok((
        serde_json::json!({
            "policy_version": version.version.hash.to_string(),
            "purposes": purposes,
            "decisions": decisions,
        }),
        Some(serde_json::json!({ "decisions": n, "purposes": purposes.len() })),
    ))
}

async fn transfer(
    state: &AppState,
    caller: &Caller,
    l: &Loaded,
    now: Timestamp,
) -> Result<Done, ApiError> {
    let id = l.asks.third_party.as_deref().unwrap_or_default();
    let target = transfer_target(state, caller, id).await.map_err(|e| {
        e.hint("the third party's target was removed since the request was made; refuse it or add the target back")
    })?;
    let access = Access::new(caller.actor(), "rights.copy");
    let bundle =
        crate::api::exports::bundle(state, &caller.tenant, &l.record, &access, now).await?;
    let bytes = bundle.zip.len();
    let status = outbox::post_now(
        state,
        &caller.tenant,
        &target,
        outbox::DirectCall {
            id: &format!("copy:{}", l.record.request_id),
            kind: outbox::COPY_TRANSFER,
            content_type: "application/zip",
            body: bundle.zip,
            timeout: std::time::Duration::from_secs(30),
        },
    )
    .await
    .map_err(|e| {
        ApiError::new(
            ProblemKind::Unavailable,
            format!("the third party `{id}` did not take the copy: {e}"),
        )
        .hint("the request stays in progress; complete it again once the third party answers")
    })?;
    let receipt = serde_json::json!({
        "transferred_to": id,
        "recipient": target.recipient,
        "status": status,
        "bytes": bytes,
        "manifest_sha256": bundle.manifest_sha256,
    });
    Ok((receipt, None))
}
