//! `/v1/incidents`: personal-information breaches (PIPL Art.57). An operator records
//! what happened; troth finds the people affected from the vault and identities,
//! writes the notice the law asks for (categories, cause, possible harm, remedies,
//! what people can do, how to reach the controller) in English and Chinese, queues
//! individual notices through the outbox — or one announcement when more people are
//! affected than the pack's threshold — and produces the regulator's report. Every
//! step is on the incident's timeline and in the audit log.
//!
//! Incident handling is operator work: [`Permission::WorkRequests`].

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_crypto::IdentifierKind;
use troth_policy::{Lang, NoticeChannel, Policy};
use troth_store::{
    IncidentRecord, IncidentStep, IncidentStore, IncidentUpdate, NewOutboxMessage, OutboxChannel,
    OutboxStore,
};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::AppState;
use crate::api::{bad, no_policy, runtime, store_error};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;
use crate::outbox::{self, INCIDENT_ANNOUNCEMENT, INCIDENT_NOTICE};

/// A text in both languages the notices are written in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    /// English.
    pub en: String,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    pub zh: String,
}

impl Bilingual {
    fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::ZhCn => &self.zh,
        }
    }
}

/// A breach to record. Free text must not name anyone: it goes to every person
/// notified and to the regulator.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    /// A short title.
    pub title: Bilingual,
    /// What happened.
    pub description: Bilingual,
    /// When the controller found out.
    #[schema(value_type = String, format = DateTime)]
    pub discovered_at: Timestamp,
    /// When it happened, if known.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<Timestamp>,
    /// The categories involved: the pack's category ids, or `identity.email` /
    /// `identity.phone` for identities.
    pub categories: Vec<String>,
    /// The cause.
    pub cause: Bilingual,
    /// The harm it may cause.
    pub possible_harm: Bilingual,
    /// The remedies taken.
    pub remedies: Bilingual,
    /// What people can do to reduce the harm.
    pub advice: Bilingual,
}

/// An incident and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    /// Id.
    pub incident_id: String,
    /// `open`, `assessed`, `notified`, `closed`.
    pub status: String,
    /// People affected, once assessed.
    pub affected: Option<u64>,
    /// What was recorded.
    pub details: NewIncident,
    /// Every step, oldest first (on single reads).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<StepView>,
}

/// One step.
#[derive(Debug, Serialize)]
pub struct StepView {
    /// When.
    pub at: Timestamp,
    /// What.
    pub action: String,
    /// Counts and modes.
    pub detail: serde_json::Value,
}

fn view(r: &IncidentRecord) -> Result<IncidentView, ApiError> {
    Ok(IncidentView {
        incident_id: r.incident_id.clone(),
        status: r.status.clone(),
        affected: r.affected,
        details: serde_json::from_str(&r.details_json).map_err(|_| ApiError::internal())?,
        timeline: r
            .timeline
            .iter()
            .map(|s| StepView {
                at: s.at,
                action: s.action.clone(),
                detail: serde_json::from_str(&s.detail_json).unwrap_or_default(),
            })
            .collect(),
    })
}

fn check(p: &Policy, n: &NewIncident) -> Result<(), ApiError> {
    let texts = [
        ("title", &n.title),
        ("description", &n.description),
        ("cause", &n.cause),
        ("possible_harm", &n.possible_harm),
        ("remedies", &n.remedies),
        ("advice", &n.advice),
    ];
    for (field, t) in texts {
        for (lang, s) in [("en", &t.en), ("zh-CN", &t.zh)] {
            if s.trim().is_empty() {
                return Err(ApiError::new(
                    ProblemKind::Unprocessable,
                    format!("{field} needs text in {lang}: the notice is sent in both"),
                )
                .field(format!("{field}.{lang}")));
            }
        }
    }
    if n.categories.is_empty() {
        return Err(ApiError::new(
            ProblemKind::Unprocessable,
            "name the categories of personal information involved",
        )
        .field("categories"));
    }
    for (i, c) in n.categories.iter().enumerate() {
        let known = identity_kind(c).is_some() || p.categories.iter().any(|x| x.id.as_str() == c);
        if !known {
            return Err(ApiError::new(
                ProblemKind::Unprocessable,
                format!("the policy in force has no category {c:?}"),
            )
            .field(format!("categories[{i}]"))
            .hint("use the pack's category ids, or identity.email / identity.phone"));
        }
    }
    if n.occurred_at.is_some_and(|o| o > n.discovered_at) {
        return Err(bad(
            "occurred_at",
            "it cannot have happened after it was discovered",
        ));
    }
    Ok(())
}

fn identity_kind(category: &str) -> Option<IdentifierKind> {
    match category {
        "identity.email" => Some(IdentifierKind::Email),
        "identity.phone" => Some(IdentifierKind::Phone),
        _ => None,
    }
}

/// Records a breach.
#[utoipa::path(post, path = "/v1/incidents", tag = "incidents", request_body = NewIncident,
    responses((status = 201, body = IncidentView), (status = 422)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<NewIncident>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let rt = runtime(&state, &caller).await?;
    let p = rt.in_force(Timestamp::now()).await.ok_or_else(no_policy)?;
    check(&p.policy, &body)?;
    let now = Timestamp::now();
    let record = IncidentRecord {
        tenant: caller.tenant.clone(),
        incident_id: uuid::Uuid::now_v7().to_string(),
        details_json: serde_json::to_string(&body).map_err(|_| ApiError::internal())?,
        status: "open".into(),
        affected: None,
        created: now,
        updated: now,
        timeline: vec![IncidentStep {
            at: now,
            action: "created".into(),
            detail_json: serde_json::json!({ "categories": body.categories }).to_string(),
        }],
    };
    state
        .store
        .create_incident(&record, &caller.actor())
        .await
        .map_err(store_error)?;
    let stored = load(&state, &caller, &record.incident_id).await?;
    Ok((StatusCode::CREATED, axum::Json(view(&stored)?)))
}

async fn load(state: &AppState, caller: &Caller, id: &str) -> Result<IncidentRecord, ApiError> {
    state
        .store
        .incident(&caller.tenant, id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("incident"))
}

/// The tenant's incidents, newest first.
#[utoipa::path(get, path = "/v1/incidents", tag = "incidents",
    responses((status = 200, body = Vec<IncidentView>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<Vec<IncidentView>>, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let all = state
        .store
        .incidents(&caller.tenant)
        .await
        .map_err(store_error)?;
    Ok(axum::Json(all.iter().map(view).collect::<Result<_, _>>()?))
}

/// One incident with its timeline.
#[utoipa::path(get, path = "/v1/incidents/{incident}", tag = "incidents",
    params(("incident" = String, Path, description = "Incident id")),
    responses((status = 200, body = IncidentView), (status = 404)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    caller.require(Permission::WorkRequests)?;
    Ok(axum::Json(view(&load(&state, &caller, &id).await?)?))
}

/// How the people affected are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeMode {
    /// Each person individually.
    Individual,
    /// One public announcement: more people than the pack's threshold.
    Announcement,
}

/// Individual notice unless more people are affected than the threshold.
pub fn notice_mode(affected: u64, threshold: Option<u64>) -> NoticeMode {
    match threshold {
        Some(t) if affected > t => NoticeMode::Announcement,
        _ => NoticeMode::Individual,
    }
}

async fn affected(
    state: &AppState,
    caller: &Caller,
    details: &NewIncident,
) -> Result<Vec<troth_crypto::SubjectId>, ApiError> {
    let kinds: Vec<IdentifierKind> = details
        .categories
        .iter()
        .filter_map(|c| identity_kind(c))
        .collect();
    let categories: Vec<String> = details
        .categories
        .iter()
        .filter(|c| identity_kind(c).is_none())
        .cloned()
        .collect();
    state
        .store
        .affected_subjects(&caller.tenant, &categories, &kinds)
        .await
        .map_err(store_error)
}

/// Finds the people affected and records how many (and so whether they are told
/// individually or by announcement).
#[utoipa::path(post, path = "/v1/incidents/{incident}/assess", tag = "incidents",
    params(("incident" = String, Path, description = "Incident id")),
    responses((status = 200, body = IncidentView), (status = 404), (status = 409)),
    security(("bearer" = [])))]
pub async fn assess(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let r = load(&state, &caller, &id).await?;
    if r.status == "closed" {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            "the incident is closed",
        ));
    }
    let details: NewIncident =
        serde_json::from_str(&r.details_json).map_err(|_| ApiError::internal())?;
    let rt = runtime(&state, &caller).await?;
    let p = rt.in_force(Timestamp::now()).await.ok_or_else(no_policy)?;
    let people = affected(&state, &caller, &details).await?.len() as u64;
    let mode = notice_mode(people, p.policy.security.announcement_threshold);
    let status = if r.status == "notified" {
        "notified"
    } else {
        "assessed"
    };
    let update = IncidentUpdate {
        status: status.into(),
        affected: Some(people),
        step: IncidentStep {
            at: Timestamp::now(),
            action: "assessed".into(),
            detail_json: serde_json::json!({ "affected": people, "mode": mode }).to_string(),
        },
    };
    state
        .store
        .record_incident_step(&caller.tenant, &id, &update, &[], &caller.actor())
        .await
        .map_err(store_error)?;
    Ok(axum::Json(view(&load(&state, &caller, &id).await?)?))
}

/// A notice's subject line and body in one language.
#[derive(Debug, Serialize, ToSchema)]
pub struct Notice {
    /// Subject line.
    pub subject: String,
    /// Body (plain text).
    pub body: String,
}

/// The incident's categories as people read them.
fn category_names(p: &Policy, d: &NewIncident, lang: Lang) -> Vec<String> {
    d.categories
        .iter()
        .map(|c| match identity_kind(c) {
            Some(IdentifierKind::Email) => match lang {
                Lang::En => "email address".to_owned(),
                Lang::ZhCn => "电子邮箱地址".to_owned(),
            },
            Some(_) => match lang {
                Lang::En => "phone number".to_owned(),
                Lang::ZhCn => "手机号码".to_owned(),
            },
            None => p
                .categories
                .iter()
                .find(|x| x.id.as_str() == c)
                .map_or_else(|| c.clone(), |x| x.name.get(lang).to_owned()),
        })
        .collect()
}

/// The notice PIPL Art.57 asks for, in `lang`.
pub fn notice(p: &Policy, d: &NewIncident, lang: Lang) -> Notice {
    let names = category_names(p, d, lang);
    let controller = p.controller.legal_name.get(lang);
    let contacts: Vec<String> = p
        .controller
        .protection_officer
        .as_ref()
        .map(|o| o.contacts.clone())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| p.controller.contacts.clone())
        .iter()
        .map(|c| c.value.clone())
        .collect();
    let (sep, contact) = match lang {
        Lang::En => (", ", contacts.join(", ")),
        Lang::ZhCn => ("、", contacts.join("；")),
    };
    let categories = names.join(sep);
    match lang {
        Lang::En => Notice {
            subject: format!("{controller}: a personal information incident"),
            body: format!(
                "{title}\n\n{description}\n\n\
                 Personal information involved: {categories}.\n\
                 Cause: {cause}\n\
                 Possible harm: {harm}\n\
                 What we have done: {remedies}\n\
                 What you can do: {advice}\n\n\
                 Contact us: {contact}\n",
                title = d.title.get(lang),
                description = d.description.get(lang),
                cause = d.cause.get(lang),
                harm = d.possible_harm.get(lang),
                remedies = d.remedies.get(lang),
                advice = d.advice.get(lang),
            ),
        },
        Lang::ZhCn => Notice {
            subject: format!("{controller}：个人信息安全事件告知"),
            body: format!(
                "{title}\n\n{description}\n\n\
                 涉及的个人信息种类：{categories}。\n\
                 事件原因：{cause}\n\
                 可能造成的危害：{harm}\n\
                 我们已采取的补救措施：{remedies}\n\
                 您可以采取的减轻危害的措施：{advice}\n\n\
                 联系我们：{contact}\n",
                title = d.title.get(lang),
                description = d.description.get(lang),
                cause = d.cause.get(lang),
                harm = d.possible_harm.get(lang),
                remedies = d.remedies.get(lang),
                advice = d.advice.get(lang),
            ),
        },
    }
}

/// `?lang=en|zh-CN`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LangQuery {
    /// `en` (default) or `zh-CN`.
    pub lang: Option<String>,
}

fn lang(q: &LangQuery) -> Result<Lang, ApiError> {
    match q.lang.as_deref() {
        None | Some("en") => Ok(Lang::En),
        Some("zh-CN") => Ok(Lang::ZhCn),
        Some(_) => Err(bad("lang", "lang is en or zh-CN")),
    }
}

/// The notice people are (or will be) sent.
#[utoipa::path(get, path = "/v1/incidents/{incident}/notice", tag = "incidents",
    params(("incident" = String, Path, description = "Incident id"), LangQuery),
    responses((status = 200, body = Notice), (status = 404)), security(("bearer" = [])))]
pub async fn notice_text(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<axum::Json<Notice>, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let lang = lang(&q)?;
    let r = load(&state, &caller, &id).await?;
    let d: NewIncident = serde_json::from_str(&r.details_json).map_err(|_| ApiError::internal())?;
    let rt = runtime(&state, &caller).await?;
    let p = rt.in_force(Timestamp::now()).await.ok_or_else(no_policy)?;
    Ok(axum::Json(notice(&p.policy, &d, lang)))
}

/// Queues the notices: one per affected person and channel of the pack (email to the
/// person, push through the tenant's `incident.notice` webhook), or one announcement
/// above the threshold. Refused until assessed, and once notified.
#[utoipa::path(post, path = "/v1/incidents/{incident}/notify", tag = "incidents",
    params(("incident" = String, Path, description = "Incident id")),
    responses((status = 200, body = IncidentView), (status = 404), (status = 409)),
    security(("bearer" = [])))]
pub async fn notify(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let r = load(&state, &caller, &id).await?;
    if r.status != "assessed" {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            format!(
                "an incident is notified once, after assessment; this one is {}",
                r.status
            ),
        ));
    }
    let d: NewIncident = serde_json::from_str(&r.details_json).map_err(|_| ApiError::internal())?;
    let rt = runtime(&state, &caller).await?;
    let p = rt.in_force(Timestamp::now()).await.ok_or_else(no_policy)?;
    let people = affected(&state, &caller, &d).await?;
    let mode = notice_mode(
        people.len() as u64,
        p.policy.security.announcement_threshold,
    );
    let (en, zh) = (
        notice(&p.policy, &d, Lang::En),
        notice(&p.policy, &d, Lang::ZhCn),
    );
    let targets = state
        .store
        .notify_targets(&caller.tenant)
        .await
        .map_err(store_error)?;
    let channels: BTreeSet<NoticeChannel> =
        p.policy.security.breach_channels.iter().copied().collect();
    let mut messages: Vec<NewOutboxMessage> = Vec::new();
    let body = |subject: Option<&str>| {
        serde_json::json!({
            "incident_id": id,
            "subject": subject,
            "subject_en": en.subject, "subject_zh": zh.subject,
            "body_en": en.body, "body_zh": zh.body,
        })
    };
    match mode {
        NoticeMode::Announcement => {
            messages.extend(outbox::route(
                &outbox::targets_for(&targets, INCIDENT_ANNOUNCEMENT, None),
                &format!("incident:{id}:announcement"),
                INCIDENT_ANNOUNCEMENT,
                &body(None),
                || "no notify target subscribes to incident.announcement".to_owned(),
            ));
        }
        NoticeMode::Individual => {
            let with_email: BTreeSet<String> = if channels.contains(&NoticeChannel::Email) {
                state
                    .store
                    .affected_subjects(&caller.tenant, &[], &[IdentifierKind::Email])
                    .await
                    .map_err(store_error)?
                    .into_iter()
                    .map(|s| s.as_str().to_owned())
                    .collect()
            } else {
                BTreeSet::new()
            };
            let push = outbox::targets_for(&targets, INCIDENT_NOTICE, None);
            if channels.contains(&NoticeChannel::Push) && push.is_empty() && !people.is_empty() {
                messages.push(NewOutboxMessage {
                    message_id: format!("incident:{id}:push"),
                    kind: INCIDENT_NOTICE.into(),
                    channel: OutboxChannel::Unrouted,
                    target: String::new(),
                    payload_json: body(None).to_string(),
                    unrouted_reason: Some(
                        "the pack notifies by push but no notify target subscribes to incident.notice"
                            .into(),
                    ),
                });
            }
            for s in &people {
                let sid = s.as_str();
                let payload = body(Some(sid));
                if with_email.contains(sid) {
                    messages.push(NewOutboxMessage {
                        message_id: format!("incident:{id}:{sid}:email"),
                        kind: INCIDENT_NOTICE.into(),
                        channel: OutboxChannel::SubjectEmail,
                        target: sid.to_owned(),
                        payload_json: payload.to_string(),
                        unrouted_reason: None,
                    });
                }
                if channels.contains(&NoticeChannel::Push) && !push.is_empty() {
                    messages.extend(outbox::route(
                        &push,
                        &format!("incident:{id}:{sid}"),
                        INCIDENT_NOTICE,
                        &payload,
                        String::new,
                    ));
                }
            }
            // People no individual channel reaches (no email on file, no push) are told
            // by the public announcement instead of not at all.
            let pushed = channels.contains(&NoticeChannel::Push) && !push.is_empty();
            let unreachable = if pushed {
                0
            } else {
                people
                    .iter()
                    .filter(|s| !with_email.contains(s.as_str()))
                    .count()
            };
            if unreachable > 0 {
                let mut announced = body(None);
                announced["unreachable"] = serde_json::json!(unreachable);
                messages.extend(outbox::route(
                    &outbox::targets_for(&targets, INCIDENT_ANNOUNCEMENT, None),
                    &format!("incident:{id}:announcement"),
                    INCIDENT_ANNOUNCEMENT,
                    &announced,
                    || "no notify target subscribes to incident.announcement".to_owned(),
                ));
            }
        }
    }
    let update = IncidentUpdate {
        status: "notified".into(),
        affected: Some(people.len() as u64),
        step: IncidentStep {
            at: Timestamp::now(),
            action: "notified".into(),
            detail_json: serde_json::json!({ "affected": people.len(), "mode": mode }).to_string(),
        },
    };
    state
        .store
        .record_incident_step(&caller.tenant, &id, &update, &messages, &caller.actor())
        .await
        .map_err(store_error)?;
    Ok(axum::Json(view(&load(&state, &caller, &id).await?)?))
}

/// Closes an incident.
#[utoipa::path(post, path = "/v1/incidents/{incident}/close", tag = "incidents",
    params(("incident" = String, Path, description = "Incident id")),
    responses((status = 200, body = IncidentView), (status = 404), (status = 409)),
    security(("bearer" = [])))]
pub async fn close(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let r = load(&state, &caller, &id).await?;
    if r.status == "closed" {
        return Err(ApiError::new(ProblemKind::Conflict, "already closed"));
    }
    let update = IncidentUpdate {
        status: "closed".into(),
        affected: None,
        step: IncidentStep {
            at: Timestamp::now(),
            action: "closed".into(),
            detail_json: "{}".into(),
        },
    };
    state
        .store
        .record_incident_step(&caller.tenant, &id, &update, &[], &caller.actor())
        .await
        .map_err(store_error)?;
    Ok(axum::Json(view(&load(&state, &caller, &id).await?)?))
}

/// `?format=json|html`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// `json` (default) or `html`.
    pub format: Option<String>,
}

const REPORT_HTML: &str = r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ r.controller.zh }} — 个人信息安全事件报告 / Incident report</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
th{text-align:left;vertical-align:top;padding:.3rem 1rem .3rem 0;width:14rem}td{padding:.3rem 0}table{border-collapse:collapse}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}.en{color:#4a5568}</style></head>
<body>
<h1>个人信息安全事件报告 <span class="en">/ Personal information incident report</span></h1>
<table>
<tr><th>个人信息处理者 / Controller</th><td>{{ r.controller.zh }}<br><span class="en">{{ r.controller.en }}</span></td></tr>
<tr><th>事件编号 / Incident</th><td>{{ r.incident_id }}</td></tr>
<tr><th>发现时间 / Discovered</th><td>{{ r.discovered_at }}</td></tr>
<tr><th>发生时间 / Occurred</th><td>{{ r.occurred_at or "未知 / unknown" }}</td></tr>
<tr><th>涉及种类 / Categories</th><td>{{ r.categories_zh | join("、") }}<br><span class="en">{{ r.categories_en | join(", ") }}</span></td></tr>
<tr><th>受影响人数 / People affected</th><td>{{ r.affected if r.affected is not none else "未评估 / not assessed" }}</td></tr>
<tr><th>告知方式 / Notification</th><td>{{ r.notification.mode }} · {{ r.notification.channels | join(", ") }}</td></tr>
</table>
{% for s in r.sections %}<h2>{{ s.zh_title }} <span class="en">/ {{ s.en_title }}</span></h2>
<p>{{ s.zh }}</p><p class="en">{{ s.en }}</p>{% endfor %}
<h2>处置经过 <span class="en">/ Timeline</span></h2>
<table>{% for t in r.timeline %}<tr><th>{{ t.at }}</th><td>{{ t.action }}</td></tr>{% endfor %}</table>
<p class="en">Reported {{ r.reported_at }}. Contact: {{ r.contact | join(", ") }}</p>
</body></html>
"#;

/// The report for the regulator, as JSON or a bilingual HTML page.
#[utoipa::path(get, path = "/v1/incidents/{incident}/report", tag = "incidents",
    params(("incident" = String, Path, description = "Incident id"), ReportQuery),
    responses((status = 200, body = Object), (status = 404)), security(("bearer" = [])))]
pub async fn report(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let r = load(&state, &caller, &id).await?;
    let d: NewIncident = serde_json::from_str(&r.details_json).map_err(|_| ApiError::internal())?;
    let rt = runtime(&state, &caller).await?;
    let p = rt.in_force(Timestamp::now()).await.ok_or_else(no_policy)?;
    let doc = report_document(&p.policy, &r, &d, Timestamp::now());
    match q.format.as_deref() {
        None | Some("json") => Ok(axum::Json(doc).into_response()),
        Some("html") => {
            let mut env = minijinja::Environment::new();
            env.add_template("report.html", REPORT_HTML)
                .map_err(|_| ApiError::internal())?;
            let html = env
                .get_template("report.html")
                .and_then(|t| t.render(minijinja::context! { r => minijinja::Value::from(minijinja::value::Serde(&doc)) }))
                .map_err(|_| ApiError::internal())?;
            Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
        }
        Some(_) => Err(bad("format", "format is json or html")),
    }
}

/// The regulator report's content.
pub fn report_document(
    p: &Policy,
    r: &IncidentRecord,
    d: &NewIncident,
    now: Timestamp,
) -> serde_json::Value {
    let names = |lang| category_names(p, d, lang);
    let mode = r
        .affected
        .map(|a| notice_mode(a, p.security.announcement_threshold));
    let section = |zh_title: &str, en_title: &str, t: &Bilingual| serde_json::json!({ "zh_title": zh_title, "en_title": en_title, "zh": t.zh, "en": t.en });
    serde_json::json!({
        "incident_id": r.incident_id,
        "controller": { "en": p.controller.legal_name.en, "zh": p.controller.legal_name.zh },
        "title": d.title,
        "discovered_at": d.discovered_at,
        "occurred_at": d.occurred_at,
        "reported_at": now,
        "categories": d.categories,
        "categories_en": names(Lang::En),
        "categories_zh": names(Lang::ZhCn),
        "affected": r.affected,
        "status": r.status,
        "notification": {
            "mode": mode,
            "channels": p.security.breach_channels,
            "threshold": p.security.announcement_threshold,
        },
        "sections": [
            section("事件经过", "What happened", &d.description),
            section("事件原因", "Cause", &d.cause),
            section("可能造成的危害", "Possible harm", &d.possible_harm),
            section("已采取的补救措施", "Remedies taken", &d.remedies),
            section("个人可以采取的措施", "What individuals can do", &d.advice),
        ],
        "timeline": r.timeline.iter().map(|s| serde_json::json!({
            "at": s.at, "action": s.action,
            "detail": serde_json::from_str::<serde_json::Value>(&s.detail_json).unwrap_or_default(),
        })).collect::<Vec<_>>(),
        "contact": p.controller.protection_officer.as_ref()
            .map(|o| o.contacts.iter().map(|c| c.value.clone()).collect::<Vec<_>>())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcement_only_above_the_threshold() {
        assert_eq!(notice_mode(10, Some(10)), NoticeMode::Individual);
        assert_eq!(notice_mode(11, Some(10)), NoticeMode::Announcement);
        assert_eq!(notice_mode(1_000_000, None), NoticeMode::Individual);
        assert_eq!(notice_mode(0, Some(0)), NoticeMode::Individual);
    }
}
