//! `/v1/requests`: data-subject rights requests. The state machine, deadlines and
//! refusal rules are `troth-core`'s; this module persists each transition (audited),
//! computes due dates with the tenant's calendar and carries out what completion
//! means for the kinds troth holds the data of (deletion and account cancellation
//! crypto-shred the subject).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_core::{
    Alarm, Channel, FeeDecision, HolidayCalendar, Outcome, RequestDetails, RequestKind,
    RequestRules, RequestStatus, RightsRequest, Submitter, Transition, TransitionEvent, repeat_fee,
};
use troth_crypto::TenantId;
use troth_store::{
    Access, CodeCheck, NewOutboxMessage, OutboxStore, RequestFilter, RequestRecord, RequestUpdate,
    RightsStore, Store, StoreError,
};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::fulfil::{self, Asks, CorrectionInput};
use crate::api::state::{AppState, Published, store_subject};
use crate::api::subjects::shred;
use crate::api::{bad, existing_subject, no_policy, runtime, store_error};
use crate::auth::{Permission, Role};
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;
use crate::outbox;

/// A request to submit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// Whose request (subject id).
    pub subject: String,
    /// `access`, `copy`, `correction`, `deletion`, `withdraw_consent`,
    /// `cancel_account`, `explanation`, `opt_out_targeting` or `complaint`.
    #[schema(value_type = String)]
    pub kind: RequestKind,
    /// How it arrived: `email`, `phone`, `web`, `post`, `in_app`, `privacy_center`,
    /// `api` (default).
    #[schema(value_type = Option<String>)]
    pub channel: Option<Channel>,
    /// For `copy`: transfer to a third party the person names.
    #[serde(default)]
    pub to_third_party: bool,
    /// For `copy` with `to_third_party`: the third party, a notify target subscribed
    /// to `copy.transfer`; the bundle is POSTed to it when the request completes.
    pub third_party: Option<String>,
    /// For `withdraw_consent`: the purposes (default: every purpose consented to).
    #[serde(default)]
    pub purposes: Vec<String>,
    /// For `correction`: the records to correct and their correct values (kept
    /// encrypted; written when the request completes).
    #[serde(default)]
    pub corrections: Vec<CorrectionInput>,
    /// The developer tenant (its id) that routed its end user's request here (seed
    /// 004 F.2: the end user went through the app provider). Not for subject keys:
    /// a person submitting directly proves who they are with a one-time code.
    pub developer: Option<String>,
}

/// A request as stored: the state machine's details and what it asks for.
#[derive(Debug, Serialize, Deserialize)]
struct StoredDetails {
    #[serde(flatten)]
    details: RequestDetails,
    #[serde(default, skip_serializing_if = "Asks::is_empty")]
    asks: Asks,
}

/// A request and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    /// Request id.
    pub request_id: String,
    /// Subject id.
    pub subject: String,
    /// Kind.
    pub kind: String,
    /// How it arrived (`email`, `phone`, `web`, `post`, `in_app`, `privacy_center`, `api`).
    #[schema(value_type = String)]
    pub channel: Channel,
    /// Who submitted it: `{"kind":"subject"}`, `{"kind":"operator"}` or a developer tenant.
    #[schema(value_type = Object)]
    pub submitter: Submitter,
    /// `received`, `verifying`, `in_progress`, `extended`, `completed`, `refused`.
    pub status: String,
    /// The due date (the end of that day in the tenant's calendar), once the clock runs.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due: Option<Timestamp>,
    /// `none`, `half`, `eighty_percent`, `overdue`.
    #[schema(value_type = String)]
    pub alarm: Alarm,
    /// When it was received.
    #[schema(value_type = String, format = DateTime)]
    pub received: Timestamp,
    /// On submission: whether this request is within the pack's free requests per
    /// period or a fee may be charged (`no_limit`, `free`, `fee_may_apply`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub fee: Option<FeeDecision>,
    /// Every transition, oldest first (on single reads).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<TransitionEvent>,
    /// What it asks for beyond its kind (purposes, records to correct, third party).
    #[serde(skip_serializing_if = "Asks::is_empty")]
    pub asks: Asks,
    /// What completing it produced (on single reads): the records corrected, the
    /// purposes withdrawn, the explanation, the transfer's receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
}

/// The tenant's working-day calendar (`/v1/calendar`) as it stood when a request
/// was received: a later change never moves a due date already given.
async fn calendar(
    state: &AppState,
    tenant: &TenantId,
    policy: &troth_policy::Policy,
    received: Timestamp,
) -> Result<HolidayCalendar, ApiError> {
    crate::api::calendar::holiday_calendar(state, tenant, policy, received).await
}

fn rules(p: &Published, kind: RequestKind) -> Result<RequestRules, ApiError> {
    RequestRules::from_policy(&p.policy, kind).map_err(|e| {
        ApiError::new(ProblemKind::Unprocessable, e.to_string())
            .field("kind")
            .hint("the policy in force lists the rights it offers")
    })
}

fn end_of(cal: &HolidayCalendar, d: Option<jiff::civil::Date>) -> Option<Timestamp> {
    d.and_then(|d| cal.end_of_day(d))
}

/// A stored request replayed through the state machine, with the rules and
/// calendar of the policy version it was received under.
pub(crate) struct Loaded {
    pub(crate) record: RequestRecord,
    pub(crate) details: RequestDetails,
    pub(crate) asks: Asks,
    pub(crate) events: Vec<TransitionEvent>,
    pub(crate) request: RightsRequest,
    pub(crate) rules: RequestRules,
    pub(crate) calendar: HolidayCalendar,
}

impl Loaded {
    /// The due instant (the end of the due day), once the clock runs.
    pub(crate) fn due(&self) -> Option<Timestamp> {
        end_of(
            &self.calendar,
            self.request.due(&self.rules, &self.calendar),
        )
    }
}

fn corrupt() -> ApiError {
    tracing::error!("stored rights request does not replay");
    ApiError::internal()
}

async fn load(state: &AppState, caller: &Caller, id: &str) -> Result<Loaded, ApiError> {
    let record = state
        .store
        .request(&caller.tenant, id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("request"))?;
    caller.may_act_for(&record.subject)?;
    load_record(state, &caller.tenant, record).await
}

/// The developer tenant a routed request names: one this deployment serves.
async fn developer_tenant(state: &AppState, id: &str) -> Result<troth_core::TenantId, ApiError> {
    let tenant: troth_core::TenantId = id
        .parse()
        .map_err(|_| bad("developer", "a developer tenant id (a UUID)"))?;
    let known = state
        .store
        .tenant(&TenantId::new(tenant.to_string()))
        .await
        .map_err(store_error)?;
    if known.is_none() {
        return Err(ApiError::new(
            ProblemKind::Unprocessable,
            format!("no developer tenant `{id}` is served here"),
        )
        .field("developer"));
    }
    Ok(tenant)
}

/// Replays a stored request (read with its events).
pub(crate) async fn load_record(
    state: &AppState,
    tenant: &TenantId,
    record: RequestRecord,
) -> Result<Loaded, ApiError> {
    let rt = state
        .tenant(tenant)
        .await
        .map_err(crate::api::runtime_error)?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    let StoredDetails { details, asks } =
        serde_json::from_str(&record.details_json).map_err(|_| corrupt())?;
    let events: Vec<TransitionEvent> = record
        .events
        .iter()
        .map(|e| serde_json::from_str(e))
        .collect::<Result<_, _>>()
        .map_err(|_| corrupt())?;
    // The rules of the version in force when the request was received.
    let version = rt
        .in_force(details.received_at)
        .await
        .or(rt.in_force(Timestamp::now()).await)
        .ok_or_else(no_policy)?;
    let rules = rules(&version, details.kind)?;
    let calendar = calendar(state, tenant, &version.policy, details.received_at).await?;
    let request =
        RightsRequest::replay(details, &events[1..], &rules, &calendar).map_err(|_| corrupt())?;
    Ok(Loaded {
        record,
        details,
        asks,
        events,
        request,
        rules,
        calendar,
    })
}

fn view(l: &Loaded, with_events: bool) -> RequestView {
    let now = Timestamp::now();
    RequestView {
        request_id: l.record.request_id.clone(),
        subject: l.record.subject.as_str().to_owned(),
        kind: l.details.kind.as_str().to_owned(),
        channel: l.details.channel,
        submitter: l.details.submitter,
        status: l.request.state().status().as_str().to_owned(),
        due: l.due(),
        alarm: l.request.alarm(now, &l.rules, &l.calendar),
        received: l.details.received_at,
        fee: None,
        events: if with_events {
            l.events.clone()
        } else {
            Vec::new()
        },
        asks: l.asks.clone(),
        result: None,
    }
}

/// A request with its transitions, without what completion produced (lists: no
/// vault read per row).
pub(crate) async fn summary(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<RequestView, ApiError> {
    if caller.role != Role::Subject {
        caller.require(Permission::WorkRequests)?;
    }
    Ok(view(&load(state, caller, id).await?, true))
}

/// The single-read view: transitions and what completion produced.
async fn full_view(state: &AppState, caller: &Caller, l: &Loaded) -> Result<RequestView, ApiError> {
    let mut v = view(l, true);
    if l.request.state().status() == RequestStatus::Completed {
        v.result = fulfil::result(state, caller, l).await?;
    }
    Ok(v)
}

/// Submits a request. Kinds that need no identity check start at once; the others
/// wait in `received` until verification starts.
#[utoipa::path(post, path = "/v1/requests", tag = "requests", request_body = NewRequest,
    responses((status = 201, body = RequestView), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn submit(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<NewRequest>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::SubmitRequests)?;
    let rt = runtime(&state, &caller).await?;
    let subject = existing_subject(&state, &rt, &caller, &req.subject, "subject").await?;
    let now = Timestamp::now();
    let version = rt.in_force(now).await.ok_or_else(no_policy)?;
    let rules = rules(&version, req.kind)?;
    let calendar = calendar(&state, &caller.tenant, &version.policy, now).await?;
    let submitter = match (&req.developer, caller.role) {
        (None, Role::Subject) => Submitter::Subject,
        (None, _) => Submitter::Operator,
        (Some(_), Role::Subject) => {
            return Err(bad(
                "developer",
                "a person's own request is not routed by a developer",
            ));
        }
        (Some(d), _) => Submitter::DeveloperTenant {
            tenant: developer_tenant(&state, d).await?,
        },
    };
    let details = RequestDetails {
        kind: req.kind,
        submitter,
        channel: req.channel.unwrap_or(Channel::Api),
        to_third_party: req.to_third_party,
        received_at: now,
    };
    // Free requests are counted per subject over the pack's period (seed 002 Five.8).
    let previous: Vec<Timestamp> = state
        .store
        .requests(
            &caller.tenant,
            &RequestFilter::Subject(store_subject(subject)),
            10_000,
        )
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|r| r.received)
        .collect();
    let fee = repeat_fee(&previous, now, rules.free_requests.as_ref());
    let asks = fulfil::check(&state, &caller, &version, &req).await?;
    let (mut request, first) = RightsRequest::receive(details, &rules, &calendar)
        .map_err(|e| ApiError::new(ProblemKind::Unprocessable, e.to_string()))?;
    let mut events = vec![first];
    if !rules.verification_required() {
        events.push(
            request
                .apply(Transition::Start, now, &rules, &calendar)
                .map_err(|e| ApiError::new(ProblemKind::Unprocessable, e.to_string()))?,
        );
    }
    let id = uuid::Uuid::now_v7().to_string();
    // The values first: a request is never stored without what it asks for.
    fulfil::seal_corrections(
        &state,
        &caller,
        &store_subject(subject),
        &id,
        &req.corrections,
    )
    .await?;
    let json = |e: &TransitionEvent| serde_json::to_string(e).map_err(|_| ApiError::internal());
    let record = RequestRecord {
        tenant: caller.tenant.clone(),
        request_id: id.clone(),
        subject: store_subject(subject),
        kind: req.kind.as_str().to_owned(),
        details_json: serde_json::to_string(&StoredDetails { details, asks })
            .map_err(|_| ApiError::internal())?,
        status: "received".to_owned(),
        due: end_of(&calendar, events[0].due),
        received: now,
        updated: now,
        events: vec![json(&events[0])?],
    };
    state
        .store
        .create_request(&record, &caller.actor())
        .await
        .map_err(store_error)?;
    if let Some(started) = events.get(1) {
        let update = RequestUpdate {
            expected_events: 1,
            status: started.to.status().as_str().to_owned(),
            due: end_of(&calendar, started.due),
            at: now,
            event_json: json(started)?,
        };
        state
            .store
            .append_request_event(&caller.tenant, &id, &update, &caller.actor())
            .await
            .map_err(store_error)?;
    }
    let loaded = load(&state, &caller, &id).await?;
    let mut body = full_view(&state, &caller, &loaded).await?;
    body.fee = Some(fee);
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// One request with its transitions.
#[utoipa::path(get, path = "/v1/requests/{request}", tag = "requests",
    params(("request" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestView), (status = 404)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<RequestView>, ApiError> {
    if caller.role != Role::Subject {
        caller.require(Permission::WorkRequests)?;
    }
    let loaded = load(&state, &caller, &id).await?;
    Ok(axum::Json(full_view(&state, &caller, &loaded).await?))
}

/// `?status=`: `open` (default), `overdue` or `all`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Which requests.
    pub status: Option<String>,
}

/// Lists requests: open ones (default), overdue ones, or all.
#[utoipa::path(get, path = "/v1/requests", tag = "requests", params(ListQuery),
    responses((status = 200, body = [RequestView])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Vec<RequestView>>, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let now = Timestamp::now();
    let filter = match q.status.as_deref().unwrap_or("open") {
        "open" => RequestFilter::Open,
        "overdue" => RequestFilter::OverdueAt(now),
        "all" => RequestFilter::All,
        _ => return Err(bad("status", "status is `open`, `overdue` or `all`")),
    };
    let records = state
        .store
        .requests(&caller.tenant, &filter, 1000)
        .await
        .map_err(store_error)?;
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        out.push(view(&load(&state, &caller, &r.request_id).await?, false));
    }
    Ok(axum::Json(out))
}

/// A transition to apply: `{"command":"start_verification"}`, `{"command":"verified"}`,
/// `{"command":"start"}`, `{"command":"extend","reason":"complexity"}`,
/// `{"command":"complete","outcome":{"kind":"fulfilled"}}` or
/// `{"command":"refuse","reason":"<pack refusal reason>"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Move {
    /// The command.
    #[schema(value_type = Object)]
    pub transition: Transition,
}

/// Moves a request (operators). Illegal moves are 409 with the reason; completing
/// a deletion or account cancellation crypto-shreds the subject first.
#[utoipa::path(post, path = "/v1/requests/{request}/transitions", tag = "requests",
    params(("request" = String, Path, description = "Request id")), request_body = Move,
    responses((status = 200, body = RequestView), (status = 404), (status = 409)),
    security(("bearer" = [])))]
pub async fn transition(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(Move { transition: cmd }): ApiJson<Move>,
) -> Result<axum::Json<RequestView>, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let mut l = load(&state, &caller, &id).await?;
    let now = Timestamp::now().max(l.request.last_at());
    let completing = matches!(cmd, Transition::Complete { .. });
    let cited: Vec<String> = match &cmd {
        Transition::Complete {
            outcome: Outcome::FulfilledWithHolds { holds },
        } => holds.iter().map(|h| h.as_str().to_owned()).collect(),
        _ => Vec::new(),
    };
    let erasing = completing
        && matches!(
            l.details.kind,
            RequestKind::Deletion | RequestKind::CancelAccount
        );
    let holds = if erasing {
        crate::retention::active_holds(&state, &caller.tenant, &l.record.subject)
            .await
            .map_err(store_error)?
    } else {
        Vec::new()
    };
    // Held data must survive the deletion, and the completion must say so: every
    // hold's reason cited, no more (the pack's reasons, checked by the state machine).
    if erasing {
        let reasons: std::collections::BTreeSet<&str> =
            holds.iter().map(|h| h.reason.as_str()).collect();
        let cited_set: std::collections::BTreeSet<&str> =
            cited.iter().map(String::as_str).collect();
        if reasons != cited_set {
            let ids: Vec<&str> = holds.iter().map(|h| h.hold_id.as_str()).collect();
            return Err(if holds.is_empty() {
                ApiError::new(
                    ProblemKind::Conflict,
                    "no legal hold covers this subject's data: complete as fulfilled",
                )
            } else {
                ApiError::new(
                    ProblemKind::Conflict,
                    format!(
                        "legal holds {ids:?} keep some of this subject's data (reasons {reasons:?}): \
                         complete with outcome fulfilled_with_holds citing exactly those reasons"
                    ),
                )
            }
            .field("outcome"));
        }
    }
    let event = l
        .request
        .apply(cmd, now, &l.rules, &l.calendar)
        .map_err(|e| {
            ApiError::new(ProblemKind::Conflict, e.to_string()).hint(
                "requests move received → verifying → in_progress → completed, or are refused or extended",
            )
        })?;
    let mut notices = Vec::new();
    if erasing {
        // The disclosure ledger survives shredding, so a retried completion after a
        // crash between the two steps still finds every recipient.
        notices = deletion_notices(&state, &caller.tenant, &l, now).await?;
        // The company's own systems first, while the identities that find the
        // subject's rows there can still be decrypted.
        if !holds.iter().any(|h| h.category.is_none()) {
            let held = if holds.is_empty() {
                crate::connectors::Held::Nothing
            } else {
                let mut keep = std::collections::BTreeSet::new();
                for c in holds.iter().filter_map(|h| h.category.as_deref()) {
                    // Hold categories were checked against the pack when placed.
                    keep.insert(
                        troth_policy::ids::CategoryId::new(c).map_err(|_| ApiError::internal())?,
                    );
                }
                crate::connectors::Held::Categories(keep)
            };
            erase_connected(&state, &caller, &l.record, &held).await?;
        }
        if holds.is_empty() {
            erase(&state, &caller, &l.record).await?;
        } else if !holds.iter().any(|h| h.category.is_none()) {
            // Category holds: everything else goes; the held categories stay,
            // readable, until the holds are lifted and retention ends them.
            let keep: Vec<String> = holds.iter().filter_map(|h| h.category.clone()).collect();
            state
                .store
                .vault_delete_except(
                    &caller.tenant,
                    &l.record.subject,
                    &keep,
                    &Access::new(caller.actor(), "rights-request"),
                )
                .await
                .map_err(store_error)?;
        }
        // A hold on the subject as a whole keeps all of it.
    }
    let fulfilled = completing
        && matches!(
            &event.command,
            Some(Transition::Complete {
                outcome: Outcome::Fulfilled | Outcome::FulfilledWithHolds { .. }
            })
        );
    if fulfilled && !erasing {
        fulfil::execute(&state, &caller, &l, now).await?;
    }
    persist(&state, &caller, &l, &event, &notices).await?;
    if !l.asks.corrections.is_empty() && event.to.status().is_terminal() {
        // Applied or refused: the pending values are not needed any more. A failure
        // here leaves them encrypted with the subject's data, shredded with it.
        if fulfil::discard_corrections(&state, &caller, &l)
            .await
            .is_err()
        {
            tracing::warn!(request = %l.record.request_id, "pending corrections were not discarded");
        }
    }
    let loaded = load(&state, &caller, &id).await?;
    Ok(axum::Json(full_view(&state, &caller, &loaded).await?))
}

/// One notice per recipient that received the subject's data (per the disclosure
/// ledger), to each of the recipient's notify targets — or one unrouted message
/// naming the recipient when it has none, so the gap shows in the outbox.
async fn deletion_notices(
    state: &AppState,
    tenant: &TenantId,
    l: &Loaded,
    now: Timestamp,
) -> Result<Vec<NewOutboxMessage>, ApiError> {
    let disclosures = state
        .store
        .disclosures(tenant, &l.record.subject)
        .await
        .map_err(store_error)?;
    if disclosures.is_empty() {
        return Ok(Vec::new());
    }
    let targets = state
        .store
        .notify_targets(tenant)
        .await
        .map_err(store_error)?;
    let mut by_recipient: std::collections::BTreeMap<&str, Vec<&troth_store::Disclosure>> =
        std::collections::BTreeMap::new();
    for d in &disclosures {
        by_recipient
            .entry(d.recipient.as_str())
            .or_default()
            .push(d);
    }
    let mut out = Vec::new();
    for (recipient, ds) in by_recipient {
        let payload = serde_json::json!({
            "request_id": l.record.request_id,
            "request_kind": l.details.kind.as_str(),
            "subject": l.record.subject.as_str(),
            "recipient": recipient,
            "action": "delete",
            "completed_at": now,
            "disclosures": ds.iter().map(|d| serde_json::json!({
                "disclosure_id": d.disclosure_id,
                "categories": d.categories,
                "purpose": d.purpose,
                "time": d.time,
            })).collect::<Vec<_>>(),
        });
        out.extend(outbox::route(
            &outbox::targets_for(&targets, outbox::DELETION_NOTICE, Some(recipient)),
            &format!("deletion:{}:{recipient}", l.record.request_id),
            outbox::DELETION_NOTICE,
            &payload,
            || format!("no notify target for recipient {recipient:?}"),
        ));
    }
    Ok(out)
}

/// Erases the subject in the tenant's connected systems (if it has a data map) and
/// audits what each did. A failing system stops the completion with 503 naming it:
/// the request stays in progress and completing it again re-runs the (idempotent)
/// erasure.
async fn erase_connected(
    state: &AppState,
    caller: &Caller,
    r: &RequestRecord,
    held: &crate::connectors::Held,
) -> Result<(), ApiError> {
    let Some(systems) = state.connectors.tenant(&caller.tenant) else {
        return Ok(());
    };
    let access = Access::new(caller.actor(), "rights-request");
    let reports = crate::connectors::erase(
        &state.store,
        systems,
        &caller.tenant,
        &r.subject,
        held,
        &access,
    )
    .await
    .map_err(|e| {
        tracing::warn!(error = %e, "a connected system failed during an erasure");
        ApiError::new(
            ProblemKind::Unavailable,
            format!("erasure in a connected system failed: {e}"),
        )
        .hint("the request stays in progress; complete it again once the system answers")
    })?;
    state
        .store
        .append_audit(
            &caller.tenant,
            vec![troth_store::AuditEvent {
                time: Timestamp::now(),
                actor: caller.actor(),
                action: "request.connected_erased".to_owned(),
                target: format!("request:{}", r.request_id),
                detail: serde_json::json!({ "systems": reports }).to_string(),
            }],
        )
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Crypto-shreds the subject and closes their account for every decision.
async fn erase(state: &AppState, caller: &Caller, r: &RequestRecord) -> Result<(), ApiError> {
    let rt = runtime(state, caller).await?;
    let subject = r
        .subject
        .as_str()
        .parse()
        .map_err(|_| ApiError::internal())?;
    shred(state, &rt, caller, subject, "rights-request").await?;
    Ok(())
}

/// Minutes a verification code stays valid.
pub(crate) const CODE_MINUTES: i64 = 15;
/// Wrong codes allowed before a new one must be sent.
pub(crate) const CODE_ATTEMPTS: u32 = 5;

fn may_verify(caller: &Caller) -> Result<(), ApiError> {
    // The subject proves their own identity; operators may start it for them.
    if caller.role == Role::Subject {
        Ok(())
    } else {
        caller.require(Permission::WorkRequests)
    }
}

pub(crate) fn code_hash(state: &AppState, caller: &Caller, request: &str, code: &str) -> [u8; 32] {
    let mut h = blake3::Hasher::new_keyed(&state.code_key);
    for part in [caller.tenant.as_str(), request, code] {
        h.update(&(part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    *h.finalize().as_bytes()
}

pub(crate) fn new_code() -> Result<String, ApiError> {
    loop {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).map_err(|_| ApiError::internal())?;
        let n = u32::from_be_bytes(b);
        // Rejection sampling keeps the six digits uniform.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

async fn persist(
    state: &AppState,
    caller: &Caller,
    l: &Loaded,
    event: &TransitionEvent,
    notices: &[NewOutboxMessage],
) -> Result<(), ApiError> {
    let update = RequestUpdate {
        expected_events: l.events.len() as u64,
        status: event.to.status().as_str().to_owned(),
        due: end_of(&l.calendar, event.due),
        at: event.at,
        event_json: serde_json::to_string(event).map_err(|_| ApiError::internal())?,
    };
    state
        .store
        .append_request_event_notifying(
            &caller.tenant,
            &l.record.request_id,
            &update,
            notices,
            &caller.actor(),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::new(
                ProblemKind::Conflict,
                "the request changed since it was read; read it again and retry",
            ),
            other => store_error(other),
        })
}

/// Where a code was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    /// `email`.
    pub channel: String,
    /// The address, masked.
    pub to: String,
    /// Minutes the code stays valid.
    pub expires_in_minutes: i64,
}

/// Sends a one-time code to the subject's email, or with `?channel=sms` by text
/// message through the tenant's SMS gateway (the request moves to `verifying`). A
/// new code replaces the previous one.
#[utoipa::path(post, path = "/v1/requests/{request}/verification", tag = "requests",
    params(("request" = String, Path, description = "Request id"), CodeChannel),
    responses((status = 202, body = CodeSent), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn send_code(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(how): Query<CodeChannel>,
) -> Result<impl IntoResponse, ApiError> {
    may_verify(&caller)?;
    let mut l = load(&state, &caller, &id).await?;
    let sms = match how.channel.as_deref() {
        None | Some("email") => false,
        Some("sms") => true,
        Some(_) => return Err(bad("channel", "channel is email or sms")),
    };
    let mailer = state.mailer.clone();
    if !sms && mailer.is_none() {
        return Err(ApiError::new(
            ProblemKind::Unprocessable,
            "email verification is not configured on this server",
        )
        .hint("set `smtp.url` and `smtp.from` in troth.toml"));
    }
    let targets = if sms {
        state
            .store
            .notify_targets(&caller.tenant)
            .await
            .map_err(store_error)?
    } else {
        Vec::new()
    };
    let identities = state
        .store
        .identities(
            &caller.tenant,
            &l.record.subject,
            &Access::new(caller.actor(), "identity-verification"),
        )
        .await
        .map_err(store_error)?;
    let wanted = if sms {
        troth_store::IdentifierKind::Phone
    } else {
        troth_store::IdentifierKind::Email
    };
    let Some((_, address)) = identities.iter().find(|(k, _)| *k == wanted) else {
        return Err(ApiError::new(
            ProblemKind::Unprocessable,
            if sms {
                "the subject has no phone number to send a code to"
            } else {
                "the subject has no email address to send a code to"
            },
        )
        .field("channel"));
    };
    if matches!(l.request.state().status(), RequestStatus::Received) {
        let now = Timestamp::now().max(l.request.last_at());
        let event = l
            .request
            .apply(Transition::StartVerification, now, &l.rules, &l.calendar)
            .map_err(|e| ApiError::new(ProblemKind::Conflict, e.to_string()))?;
        persist(&state, &caller, &l, &event, &[]).await?;
    } else if !matches!(l.request.state().status(), RequestStatus::Verifying) {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            "only a request waiting for verification can be sent a code",
        ));
    }
    let code = new_code()?;
    let expires = Timestamp::now() + jiff::SignedDuration::from_mins(CODE_MINUTES);
    state
        .store
        .put_verification_code(
            &caller.tenant,
            &id,
            &code_hash(&state, &caller, &id, &code),
            expires,
        )
        .await
        .map_err(store_error)?;
    let rt = runtime(&state, &caller).await?;
    let controller = rt
        .in_force(Timestamp::now())
        .await
        .map(|p| p.policy.controller.legal_name.en.clone())
        .unwrap_or_default();
    if sms {
        let text = format!(
            "{controller}: your verification code is {code} ({CODE_MINUTES} min). \
             您的验证码是 {code}，{CODE_MINUTES}分钟内有效。"
        );
        outbox::send_sms(&state, &caller.tenant, &targets, address, &text)
            .await
            .map_err(|e| match e {
                outbox::SmsError::NoGateway => ApiError::new(
                    ProblemKind::Unprocessable,
                    "SMS verification is not configured for this tenant",
                )
                .field("channel")
                .hint(
                    "PUT /v1/notify-targets/{id} with a webhook and events [\"verification.sms\"]",
                ),
                outbox::SmsError::Gateway(why) => {
                    tracing::warn!(error = %why, "verification SMS not sent");
                    ApiError::new(
                        ProblemKind::Unavailable,
                        "the SMS gateway did not accept the message",
                    )
                    .retry_after(60)
                }
            })?;
        return Ok((
            StatusCode::ACCEPTED,
            axum::Json(CodeSent {
                channel: "sms".into(),
                to: masked_phone(address),
                expires_in_minutes: CODE_MINUTES,
            }),
        ));
    }
    let Some(mailer) = mailer else {
        return Err(ApiError::internal());
    };
    mailer
        .send_code(address, &controller, &code, CODE_MINUTES)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "verification mail not sent");
            ApiError::new(
                ProblemKind::Unavailable,
                "the mail relay did not accept the message",
            )
            .retry_after(60)
        })?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(CodeSent {
            channel: "email".into(),
            to: masked(address),
            expires_in_minutes: CODE_MINUTES,
        }),
    ))
}

/// `?channel=email|sms` on sending a code.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct CodeChannel {
    /// `email` (default) or `sms` (through the tenant's SMS gateway webhook).
    pub channel: Option<String>,
}

/// The last four digits only.
fn masked_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("***{tail}")
}

/// A code to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeInput {
    /// The six digits the subject received.
    pub code: String,
}

/// Checks a code; the right one moves the request to `in_progress` (and starts the
/// clock where the pack counts from verification).
#[utoipa::path(post, path = "/v1/requests/{request}/verification/confirm", tag = "requests",
    params(("request" = String, Path, description = "Request id")), request_body = CodeInput,
    responses((status = 200, body = RequestView), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn confirm_code(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CodeInput>,
) -> Result<axum::Json<RequestView>, ApiError> {
    may_verify(&caller)?;
    let mut l = load(&state, &caller, &id).await?;
    let hash = code_hash(&state, &caller, &id, input.code.trim());
    let check = state
        .store
        .check_verification_code(&caller.tenant, &id, &hash, CODE_ATTEMPTS)
        .await
        .map_err(store_error)?;
    match check {
        CodeCheck::Valid => {}
        CodeCheck::Wrong { attempts_left } => {
            return Err(ApiError::new(
                ProblemKind::Unprocessable,
                format!("the code is not right; {attempts_left} attempt(s) left"),
            )
            .field("code"));
        }
        CodeCheck::Locked | CodeCheck::Expired | CodeCheck::Missing => {
            return Err(ApiError::new(
                ProblemKind::Conflict,
                "no valid code is pending for this request",
            )
            .hint("send a new code with POST /v1/requests/{id}/verification"));
        }
    }
    let now = Timestamp::now().max(l.request.last_at());
    let event = l
        .request
        .apply(Transition::Verified, now, &l.rules, &l.calendar)
        .map_err(|e| ApiError::new(ProblemKind::Conflict, e.to_string()))?;
    persist(&state, &caller, &l, &event, &[]).await?;
    let loaded = load(&state, &caller, &id).await?;
    Ok(axum::Json(full_view(&state, &caller, &loaded).await?))
}
