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
    AccountStatus, Alarm, Channel, Fact, HolidayCalendar, LedgerEvent, RequestDetails, RequestKind,
    RequestRules, RightsRequest, Submitter, Transition, TransitionEvent,
};
use troth_store::{
    Access, RequestFilter, RequestRecord, RequestUpdate, RightsStore, Store, StoreError,
};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::{AppState, Published, store_subject};
use crate::api::subjects::{append, event_id};
use crate::api::{bad, existing_subject, no_policy, runtime, store_error};
use crate::auth::{Permission, Role};
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;

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
    /// Every transition, oldest first (on single reads).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<TransitionEvent>,
}

/// The tenant's working-day calendar.
// Holidays per tenant are configuration still to come; until then weekends only,
// in the PIPL profile's time zone for Chinese packs.
fn calendar(policy: &troth_policy::Policy) -> HolidayCalendar {
    let tz = match policy.law.profile {
        troth_policy::LawProfileId::Pipl => {
            jiff::tz::TimeZone::get("Asia/Shanghai").unwrap_or(jiff::tz::TimeZone::UTC)
        }
        _ => jiff::tz::TimeZone::UTC,
    };
    HolidayCalendar::new(tz)
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

struct Loaded {
    record: RequestRecord,
    details: RequestDetails,
    events: Vec<TransitionEvent>,
    request: RightsRequest,
    rules: RequestRules,
    calendar: HolidayCalendar,
}

fn corrupt() -> ApiError {
    tracing::error!("stored rights request does not replay");
    ApiError::internal()
}

async fn load(state: &AppState, caller: &Caller, id: &str) -> Result<Loaded, ApiError> {
    let rt = runtime(state, caller).await?;
    let record = state
        .store
        .request(&caller.tenant, id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("request"))?;
    caller.may_act_for(&record.subject)?;
    let details: RequestDetails =
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
    let calendar = calendar(&version.policy);
    let request =
        RightsRequest::replay(details, &events[1..], &rules, &calendar).map_err(|_| corrupt())?;
    Ok(Loaded {
        record,
        details,
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
        status: l.request.state().status().as_str().to_owned(),
        due: end_of(&l.calendar, l.request.due(&l.rules, &l.calendar)),
        alarm: l.request.alarm(now, &l.rules, &l.calendar),
        received: l.details.received_at,
        events: if with_events {
            l.events.clone()
        } else {
            Vec::new()
        },
    }
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
    let calendar = calendar(&version.policy);
    let details = RequestDetails {
        kind: req.kind,
        submitter: match caller.role {
            Role::Subject => Submitter::Subject,
            _ => Submitter::Operator,
        },
        channel: req.channel.unwrap_or(Channel::Api),
        to_third_party: req.to_third_party,
        received_at: now,
    };
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
    let json = |e: &TransitionEvent| serde_json::to_string(e).map_err(|_| ApiError::internal());
    let record = RequestRecord {
        tenant: caller.tenant.clone(),
        request_id: id.clone(),
        subject: store_subject(subject),
        kind: req.kind.as_str().to_owned(),
        details_json: serde_json::to_string(&details).map_err(|_| ApiError::internal())?,
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
    Ok((StatusCode::CREATED, axum::Json(view(&loaded, true))))
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
    Ok(axum::Json(view(&loaded, true)))
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
    let event = l
        .request
        .apply(cmd, now, &l.rules, &l.calendar)
        .map_err(|e| {
            ApiError::new(ProblemKind::Conflict, e.to_string()).hint(
                "requests move received → verifying → in_progress → completed, or are refused or extended",
            )
        })?;
    if completing
        && matches!(
            l.details.kind,
            RequestKind::Deletion | RequestKind::CancelAccount
        )
    {
        erase(&state, &caller, &l.record).await?;
    }
    let update = RequestUpdate {
        expected_events: l.events.len() as u64,
        status: event.to.status().as_str().to_owned(),
        due: end_of(&l.calendar, event.due),
        at: now,
        event_json: serde_json::to_string(&event).map_err(|_| ApiError::internal())?,
    };
    state
        .store
        .append_request_event(&caller.tenant, &id, &update, &caller.actor())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::new(
                ProblemKind::Conflict,
                "the request changed since it was read; read it again and retry",
            ),
            other => store_error(other),
        })?;
    let loaded = load(&state, &caller, &id).await?;
    Ok(axum::Json(view(&loaded, true)))
}

/// Crypto-shreds the subject and closes their account for every decision.
async fn erase(state: &AppState, caller: &Caller, r: &RequestRecord) -> Result<(), ApiError> {
    let rt = runtime(state, caller).await?;
    let subject = r
        .subject
        .as_str()
        .parse()
        .map_err(|_| ApiError::internal())?;
    state
        .store
        .erase_subject(
            &caller.tenant,
            &r.subject,
            &Access::new(caller.actor(), "rights-request"),
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
    append(state, &rt, &e).await?;
    Ok(())
}
