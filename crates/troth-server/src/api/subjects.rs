//! `/v1/subjects`: create data subjects with their identities (stored as blind
//! indexes and ciphertext), age and guardian; find them by identity; erase them.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_core::{AccountStatus, AgeBand, AgeInfo, EventId, Fact, LedgerEvent};
use troth_store::{Access, IdentifierKind, Store, SubjectRecord};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::{AppState, TenantRuntime, store_subject};
use crate::api::{bad, existing_subject, runtime, runtime_error, store_error, subject_id};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;

/// An identity: how the tenant knows the person.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// `email`, `phone` or `external_id`.
    #[schema(value_type = String)]
    pub kind: IdentifierKind,
    /// The value; stored only encrypted and as a keyed hash.
    pub value: String,
}

/// Age: a birth date (the band then follows the calendar) or a declared band.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgeInput {
    /// `YYYY-MM-DD`; stored encrypted.
    #[schema(value_type = Option<String>, format = Date)]
    pub birth_date: Option<jiff::civil::Date>,
    /// `child`, `minor` or `adult`.
    #[schema(value_type = Option<String>)]
    pub band: Option<AgeBand>,
}

/// A subject to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubject {
    /// A UUID chosen by the caller; one is made when absent.
    pub subject_id: Option<String>,
    /// Identities to link.
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// ISO region for phone numbers without `+` (default `CN`).
    pub region: Option<String>,
    /// Age information.
    pub age: Option<AgeInput>,
    /// The guardian's subject id (for a child or minor).
    pub guardian: Option<String>,
}

/// A subject as returned (never its identities).
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectInfo {
    /// Pseudonymous id.
    pub subject_id: String,
    /// `child`, `minor`, `adult`, or absent.
    pub age_band: Option<String>,
    /// The guardian's subject id.
    pub guardian: Option<String>,
    /// `active`, `cancelled`, `child_blocked` or `erased`.
    pub status: String,
    /// When it was created.
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
}

impl From<SubjectRecord> for SubjectInfo {
    fn from(r: SubjectRecord) -> Self {
        Self {
            subject_id: r.subject.as_str().to_owned(),
            age_band: r.age_band,
            guardian: r.guardian.map(|g| g.as_str().to_owned()),
            status: r.status,
            created: r.created,
        }
    }
}

fn band_str(b: AgeBand) -> &'static str {
    match b {
        AgeBand::Child => "child",
        AgeBand::Minor => "minor",
        AgeBand::Adult => "adult",
    }
}

/// The age an input gives: exactly one of a birth date and a band.
fn age_info(a: &AgeInput) -> Result<AgeInfo, ApiError> {
    match a {
        AgeInput {
            birth_date: Some(d),
            band: None,
        } => Ok(AgeInfo::BirthDate(*d)),
        AgeInput {
            birth_date: None,
            band: Some(b),
        } => Ok(AgeInfo::Declared(*b)),
        _ => Err(bad("age", "give either birth_date or band")),
    }
}

/// The band shown for `age` now (a birth date against the policy in force; `None`
/// before any policy is published).
async fn band_now(rt: &TenantRuntime, age: AgeInfo, now: Timestamp) -> Option<String> {
    match age {
        AgeInfo::Declared(b) => Some(band_str(b).to_owned()),
        AgeInfo::BirthDate(d) => rt.index.read().await.as_ref().map(|ix| {
            band_str(AgeInfo::BirthDate(d).band(
                ix.policy().minors(),
                jiff::tz::Offset::UTC.to_datetime(now).date(),
            ))
            .to_owned()
        }),
    }
}

/// An identity that does not normalise is the caller's mistake (400), named by
/// field and never echoed.
fn identity_error(e: troth_store::StoreError, field: &str) -> ApiError {
    use troth_crypto::CryptoError as C;
    match e {
        troth_store::StoreError::Crypto(
            C::InvalidEmail(_) | C::InvalidPhone(_) | C::UnknownRegion(_) | C::InvalidExternalId(_),
        ) => bad(field, "not a valid identifier of this kind")
            .hint("emails need an @; phones are digits, with + and country code or a `region`"),
        other => store_error(other),
    }
}

/// A fresh UUIDv7 event id.
pub fn event_id() -> EventId {
    EventId::from_u128(uuid::Uuid::now_v7().as_u128())
}

/// Appends a ledger event and applies it to the tenant's decision index.
pub async fn append(
    state: &AppState,
    rt: &TenantRuntime,
    event: &LedgerEvent,
) -> Result<troth_store::ConsentAck, ApiError> {
    let ack = state
        .store
        .append_ledger_event(event)
        .await
        .map_err(store_error)?;
    rt.apply(event).await.map_err(runtime_error)?;
    Ok(ack)
}

/// Creates a subject. Identities already linked to another subject are a 409.
#[utoipa::path(post, path = "/v1/subjects", tag = "subjects", request_body = NewSubject,
    responses((status = 201, body = SubjectInfo), (status = 400), (status = 409)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<NewSubject>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::WriteSubjects)?;
    let rt = runtime(&state, &caller).await?;
    let id = match &req.subject_id {
        Some(s) => subject_id(s, "subject_id")?,
        None => troth_core::SubjectId::from_u128(uuid::Uuid::new_v4().as_u128()),
    };
    let sid = store_subject(id);
    if state
        .store
        .subject(&caller.tenant, &sid)
        .await
        .map_err(store_error)?
        .is_some()
    {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            "a subject with this id already exists",
        )
        .field("subject_id"));
    }
    let guardian = match &req.guardian {
        Some(g) => Some(existing_subject(&state, &rt, &caller, g, "guardian").await?),
        None => None,
    };
    let region = req.region.as_deref().unwrap_or("CN");
    // Check identities before writing anything.
    for (i, ident) in req.identities.iter().enumerate() {
        if ident.value.trim().is_empty() {
            return Err(bad(
                &format!("identities[{i}].value"),
                "an identity value is required",
            ));
        }
        let found = state
            .store
            .find_subject(&caller.tenant, ident.kind, &ident.value, region)
            .await
            .map_err(|e| identity_error(e, &format!("identities[{i}].value")))?;
        if found.is_some() {
            return Err(ApiError::new(
                ProblemKind::Conflict,
                "this identity is already linked to a subject",
            )
            .field(format!("identities[{i}]"))
            .hint("find the existing subject with POST /v1/subjects/lookup"));
        }
    }
    let age = req.age.as_ref().map(age_info).transpose()?;
    let now = Timestamp::now();
    let band = match age {
        Some(a) => band_now(&rt, a, now).await,
        None => None,
    };
    let record = SubjectRecord {
        tenant: caller.tenant.clone(),
        subject: sid.clone(),
        age_band: band,
        guardian: guardian.map(store_subject),
        status: "active".into(),
        created: now,
    };
    state
        .store
        .upsert_subject(&record, &caller.actor())
        .await
        .map_err(store_error)?;
    rt.known.write().await.insert(id);
    let access = troth_store::Access::new(caller.actor(), "account");
    for ident in &req.identities {
        state
            .store
            .put_identity(
                &caller.tenant,
                &sid,
                ident.kind,
                &ident.value,
                region,
                &access,
            )
            .await
            .map_err(store_error)?;
    }
    let mut facts = Vec::new();
    if let Some(a) = age {
        facts.push(Fact::Age(a));
    }
    if let Some(g) = guardian {
        facts.push(Fact::GuardianLink { guardian: Some(g) });
    }
    for fact in facts {
        let e = LedgerEvent {
            id: event_id(),
            tenant: rt.core,
            subject: id,
            at: now,
            fact,
        };
        append(&state, &rt, &e).await?;
    }
    Ok((StatusCode::CREATED, axum::Json(SubjectInfo::from(record))))
}

/// Age learned after the subject was created, and their guardian if named.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgeUpdate {
    /// The age.
    pub age: AgeInput,
    /// The guardian's subject id.
    pub guardian: Option<String>,
}

/// Records what the service learned about a subject's age after creating them (an
/// age gate asked later, a report from a guardian). Decisions follow at once; a
/// child's data the pack says must not be kept without guardian consent goes with
/// the next retention sweep unless that consent arrives first.
#[utoipa::path(post, path = "/v1/subjects/{subject}/age", tag = "subjects", request_body = AgeUpdate,
    params(("subject" = String, Path, description = "Subject id")),
    responses((status = 200, body = SubjectInfo), (status = 400), (status = 404)),
    security(("bearer" = [])))]
pub async fn set_age(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
    ApiJson(req): ApiJson<AgeUpdate>,
) -> Result<axum::Json<SubjectInfo>, ApiError> {
    caller.require(Permission::WriteSubjects)?;
    let rt = runtime(&state, &caller).await?;
    let id = existing_subject(&state, &rt, &caller, &subject, "subject").await?;
    let age = age_info(&req.age)?;
    let guardian = match &req.guardian {
        Some(g) => Some(existing_subject(&state, &rt, &caller, g, "guardian").await?),
        None => None,
    };
    let mut record = state
        .store
        .subject(&caller.tenant, &store_subject(id))
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("subject"))?;
    let now = Timestamp::now();
    record.age_band = band_now(&rt, age, now).await;
    if let Some(g) = guardian {
        record.guardian = Some(store_subject(g));
    }
    state
        .store
        .upsert_subject(&record, &caller.actor())
        .await
        .map_err(store_error)?;
    let mut facts = vec![Fact::Age(age)];
    if let Some(g) = guardian {
        facts.push(Fact::GuardianLink { guardian: Some(g) });
    }
    for fact in facts {
        let e = LedgerEvent {
            id: event_id(),
            tenant: rt.core,
            subject: id,
            at: now,
            fact,
        };
        append(&state, &rt, &e).await?;
    }
    Ok(axum::Json(record.into()))
}

/// Reads a subject's non-personal attributes.
#[utoipa::path(get, path = "/v1/subjects/{subject}", tag = "subjects",
    params(("subject" = String, Path, description = "Subject id")),
    responses((status = 200, body = SubjectInfo), (status = 404)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
) -> Result<axum::Json<SubjectInfo>, ApiError> {
    caller.require(Permission::ReadSubjects)?;
    let id = subject_id(&subject, "subject")?;
    caller.may_act_for(&store_subject(id))?;
    let r = state
        .store
        .subject(&caller.tenant, &store_subject(id))
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("subject"))?;
    Ok(axum::Json(r.into()))
}

/// Finds a subject by one identity (blind-index lookup; nothing is decrypted).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// `email`, `phone` or `external_id`.
    #[schema(value_type = String)]
    pub kind: IdentifierKind,
    /// The value.
    pub value: String,
    /// Region for phone numbers without `+` (default `CN`).
    pub region: Option<String>,
}

/// The subject an identity belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct Found {
    /// Its id.
    pub subject_id: String,
}

/// Finds a subject by identity. POST so the identity never appears in a URL or log.
#[utoipa::path(post, path = "/v1/subjects/lookup", tag = "subjects", request_body = Lookup,
    responses((status = 200, body = Found), (status = 404)), security(("bearer" = [])))]
pub async fn lookup(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<Lookup>,
) -> Result<axum::Json<Found>, ApiError> {
    caller.require(Permission::ReadSubjects)?;
    let region = req.region.as_deref().unwrap_or("CN");
    let found = state
        .store
        .find_subject(&caller.tenant, req.kind, &req.value, region)
        .await
        .map_err(|e| identity_error(e, "value"))?
        .ok_or_else(|| ApiError::not_found("subject"))?;
    caller.may_act_for(&found)?;
    Ok(axum::Json(Found {
        subject_id: found.as_str().to_owned(),
    }))
}

/// What an erasure removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    /// Whether the subject's data key was destroyed (every copy of its data, backups
    /// included, is now unreadable).
    pub key_destroyed: bool,
    /// Vault records deleted.
    pub records_deleted: u64,
    /// Identity index rows deleted.
    pub identities_deleted: u64,
}

/// Crypto-shreds a subject (data key destroyed, vault records and identities
/// deleted) and closes their account for every later decision.
pub async fn shred(
    state: &AppState,
    rt: &TenantRuntime,
    caller: &Caller,
    subject: troth_core::SubjectId,
    purpose: &str,
) -> Result<troth_store::ErasureReport, ApiError> {
    let report = state
        .store
        .erase_subject(
            &caller.tenant,
            &store_subject(subject),
            &Access::new(caller.actor(), purpose),
        )
        .await
        .map_err(store_error)?;
    let e = LedgerEvent {
        id: event_id(),
        tenant: rt.core,
        subject,
        at: Timestamp::now(),
        fact: Fact::Account(AccountStatus::Cancelled),
    };
    append(state, rt, &e).await?;
    Ok(report)
}

/// Erases a subject by crypto-shredding: its data key is destroyed, its vault
/// records and identities deleted, its account closed for every decision.
#[utoipa::path(delete, path = "/v1/subjects/{subject}", tag = "subjects",
    params(("subject" = String, Path, description = "Subject id")),
    responses((status = 200, body = Erased), (status = 404)), security(("bearer" = [])))]
pub async fn erase(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(subject): Path<String>,
) -> Result<axum::Json<Erased>, ApiError> {
    caller.require(Permission::VaultDelete)?;
    let rt = runtime(&state, &caller).await?;
    let id = existing_subject(&state, &rt, &caller, &subject, "subject").await?;
    // Crypto-shredding cannot spare part of a subject's data: a legal hold on any of
    // it refuses the erasure, citing the hold.
    let holds = crate::retention::active_holds(&state, &caller.tenant, &store_subject(id))
        .await
        .map_err(store_error)?;
    if let Some(h) = holds.first() {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            format!(
                "a legal hold keeps this subject's data: hold `{}` (reason `{}`){}",
                h.hold_id,
                h.reason,
                if holds.len() > 1 {
                    format!(" and {} more", holds.len() - 1)
                } else {
                    String::new()
                }
            ),
        )
        .field("subject")
        .hint("lift the hold with DELETE /v1/holds/{hold} once the legal reason has ended"));
    }
    let report = shred(&state, &rt, &caller, id, "erasure").await?;
    Ok(axum::Json(Erased {
        key_destroyed: report.key_destroyed,
        records_deleted: report.records_deleted,
        identities_deleted: report.identities_deleted,
    }))
}
