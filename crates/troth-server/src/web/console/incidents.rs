//! Console pages for personal-information breaches (PIPL Art.57): the list and the
//! form that records one, and an incident's page (assess the people affected,
//! preview the notice in English and Chinese, send the notices, close, timeline,
//! the regulator's report). Every action is the `/v1/incidents` handler's, called
//! as the signed-in key.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use minijinja::context;
use troth_policy::Lang;

use super::{COOKIE, Console, ConsoleQuery, say};
use crate::api::caller::Caller;
use crate::api::incidents::{
    self as api, Bilingual, IncidentView, LangQuery, NewIncident, ReportQuery,
};
use crate::extract::ApiJson;
use crate::web::{
    FormData, Web, WebError, answer_json, api_detail, checked_session, see_other, view,
};

/// The free-text fields of an incident, each written in both languages, with the
/// interface string that labels it and whether it is one line.
const TEXTS: &[(&str, &str, bool)] = &[
    ("title", "i_title", true),
    ("description", "i_description", false),
    ("cause", "i_cause", false),
    ("possible_harm", "i_harm", false),
    ("remedies", "i_remedies", false),
    ("advice", "i_advice", false),
];

/// Identity categories an incident may name besides the pack's categories.
const IDENTITIES: &[(&str, (&str, &str))] = &[
    ("identity.email", ("Email addresses", "电子邮箱地址")),
    ("identity.phone", ("Phone numbers", "手机号码")),
];

/// A `datetime-local` value read as UTC (the form says so), or an RFC 3339 time.
fn when(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok().or_else(|| {
        s.parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|d| jiff::tz::Offset::UTC.to_timestamp(d).ok())
    })
}

/// The form field an API problem's `field` points at (`cause.zh-CN` → `cause_zh`,
/// `categories[2]` → `categories`).
fn form_field(api_field: &str) -> String {
    let f = api_field.split('[').next().unwrap_or(api_field);
    f.replace(".zh-CN", "_zh").replace(".en", "_en")
}

/// Reads the form into an incident, or every problem by form field.
fn read_form(
    form: &FormData,
    categories: &[String],
    lang: Lang,
) -> Result<NewIncident, BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let mut text = |name: &str| {
        let pair =
            [("en", "English", "英文"), ("zh", "Chinese", "中文")].map(|(suffix, en, zh)| {
                let field = format!("{name}_{suffix}");
                let v = form.get(&field).to_owned();
                if v.is_empty() {
                    let msg = match lang {
                        Lang::En => {
                            format!("Write this in {en}: the notice is sent in both languages.")
                        }
                        Lang::ZhCn => format!("请填写{zh}内容：告知将以两种语言发送。"),
                    };
                    errors.insert(field, msg);
                }
                v
            });
        let [en, zh] = pair;
        Bilingual { en, zh }
    };
    let title = text("title");
    let description = text("description");
    let cause = text("cause");
    let possible_harm = text("possible_harm");
    let remedies = text("remedies");
    let advice = text("advice");
    let discovered_at = when(form.get("discovered_at"));
    if discovered_at.is_none() {
        errors.insert(
            "discovered_at".into(),
            say(
                lang,
                (
                    "Give the date and time the breach was discovered (UTC).",
                    "请填写发现事件的日期和时间（UTC）。",
                ),
            ),
        );
    }
    let occurred_raw = form.get("occurred_at");
    let occurred_at = if occurred_raw.is_empty() {
        None
    } else {
        let t = when(occurred_raw);
        if t.is_none() {
            errors.insert(
                "occurred_at".into(),
                say(
                    lang,
                    (
                        "This is not a date and time; leave it empty if unknown.",
                        "日期时间格式不正确；如不清楚请留空。",
                    ),
                ),
            );
        }
        t
    };
    if let (Some(o), Some(d)) = (occurred_at, discovered_at)
        && o > d
    {
        errors.insert(
            "occurred_at".into(),
            say(
                lang,
                (
                    "It cannot have happened after it was discovered.",
                    "发生时间不能晚于发现时间。",
                ),
            ),
        );
    }
    if categories.is_empty() {
        errors.insert(
            "categories".into(),
            say(
                lang,
                (
                    "Choose the categories of personal information involved.",
                    "请选择涉及的个人信息种类。",
                ),
            ),
        );
    }
    match discovered_at {
        Some(discovered_at) if errors.is_empty() => Ok(NewIncident {
            title,
            description,
            discovered_at,
            occurred_at,
            categories: categories.to_vec(),
            cause,
            possible_harm,
            remedies,
            advice,
        }),
        _ => Err(errors),
    }
}

fn status_key(status: &str) -> &'static str {
    match status {
        "open" => "i_status_open",
        "assessed" => "i_status_assessed",
        "notified" => "i_status_notified",
        _ => "i_status_closed",
    }
}

fn row(v: &IncidentView, lang: Lang) -> minijinja::Value {
    let discovered = view::date_time(v.details.discovered_at);
    context! {
        id => v.incident_id.clone(),
        title => match lang { Lang::En => v.details.title.en.clone(), Lang::ZhCn => v.details.title.zh.clone() },
        status => v.status.clone(),
        status_text => crate::web::i18n::t(lang, status_key(&v.status)),
        affected => v.affected,
        discovered => discovered,
    }
}

/// The category choices of the form: the pack's categories and the identities.
async fn category_choices(c: &Console, op: &Caller) -> Result<Vec<minijinja::Value>, WebError> {
    let rt = c.runtime(op).await?;
    let p = rt.in_force(Timestamp::now()).await;
    let mut out: Vec<minijinja::Value> = IDENTITIES
        .iter()
        .map(|(id, names)| context! { id => *id, name => say(c.lang, *names) })
        .collect();
    if let Some(p) = p {
        out.extend(p.policy.categories.iter().map(|x| {
            context! { id => x.id.to_string(), name => x.name.get(c.lang).to_owned() }
        }));
    }
    Ok(out)
}

async fn list_page(
    c: Console,
    op: Caller,
    form: Option<(&FormData, BTreeMap<String, String>)>,
    done: Option<&str>,
) -> Result<Response, WebError> {
    let list = match api::list(State(Arc::clone(&c.web.app)), Extension(op.clone())).await {
        Ok(l) => l.0,
        Err(e) => return c.refused(&e, "incidents"),
    };
    let rows: Vec<minijinja::Value> = list.iter().map(|v| row(v, c.lang)).collect();
    let choices = category_choices(&c, &op).await?;
    let texts: Vec<minijinja::Value> = TEXTS
        .iter()
        .map(|(name, label, short)| context! { name => *name, label => *label, short => *short })
        .collect();
    let failed = form.as_ref().is_some_and(|(_, e)| !e.is_empty());
    let (values, errors) = match form {
        Some((f, e)) => (f.0.clone(), e),
        None => Default::default(),
    };
    // The problem summary lists problems in the form's order, each with its field.
    let t = |k: &str| crate::web::i18n::t(c.lang, k);
    let mut fields: Vec<(String, String)> = Vec::new();
    for (name, label, _) in TEXTS {
        for (suffix, lang) in [("en", "English"), ("zh", "简体中文")] {
            fields.push((format!("{name}_{suffix}"), format!("{} ({lang})", t(label))));
        }
    }
    fields.push(("discovered_at".into(), t("i_discovered").to_owned()));
    fields.push(("occurred_at".into(), t("i_occurred").to_owned()));
    fields.push(("categories".into(), t("i_categories").to_owned()));
    let summary: Vec<minijinja::Value> = fields
        .iter()
        .filter_map(|(f, label)| {
            errors
                .get(f)
                .map(|m| context! { anchor => f.replace('_', "-"), label => label, message => m })
        })
        .chain(
            errors
                .get("form")
                .map(|m| context! { anchor => "new-h", label => t("i_new"), message => m }),
        )
        .collect();
    let ctx = context! {
        summary => summary,
        incidents => rows,
        choices => choices,
        texts => texts,
        values => values,
        errors => errors,
        done => done,
        ..c.ctx("incidents", "incidents")
    };
    let mut res = c.render("console_incidents.html", ctx);
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// The incidents, newest first, and the form that records one.
pub async fn list(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let done = q.done.clone();
    list_page(c, op, None, done.as_deref()).await
}

/// Records an incident from the form: every problem is shown at its field, and
/// nothing is recorded until there are none.
pub async fn create(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut c = Console::open(Arc::clone(&web), &headers, &q).await;
    c.session = checked_session(&web, &headers, COOKIE, &form, c.lang)?;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    if let Err(e) = op.require(crate::auth::Permission::WorkRequests) {
        return c.refused(&e, "incidents");
    }
    // Checkboxes are named `cat.<id>`; keep the order the form lists them in.
    let choices = category_choices(&c, &op).await?;
    let categories: Vec<String> = choices
        .iter()
        .filter_map(|v| v.get_attr("id").ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .filter(|id| !form.get(&format!("cat.{id}")).is_empty())
        .collect();
    let incident = match read_form(&form, &categories, c.lang) {
        Ok(i) => i,
        Err(errors) => return list_page(c, op, Some((&form, errors)), None).await,
    };
    match api::create(
        State(Arc::clone(&web.app)),
        Extension(op.clone()),
        ApiJson(incident),
    )
    .await
    {
        Ok(r) => {
            let v = answer_json(r.into_response()).await.unwrap_or_default();
            let id = v["incident_id"].as_str().unwrap_or_default();
            Ok(see_other(&format!("/console/incidents/{id}"), c.cookies))
        }
        Err(e) if e.kind().status() == StatusCode::FORBIDDEN => c.refused(&e, "incidents"),
        Err(e) => {
            let v = serde_json::to_value(&e).unwrap_or_default();
            let field = v["field"].as_str().map_or("form".to_owned(), form_field);
            let mut errors = BTreeMap::new();
            errors.insert(field, api_detail(&e));
            list_page(c, op, Some((&form, errors)), None).await
        }
    }
}

async fn show(
    c: Console,
    op: Caller,
    id: &str,
    error: Option<(StatusCode, String)>,
) -> Result<Response, WebError> {
    let app = Arc::clone(&c.web.app);
    let v = match api::get(
        State(Arc::clone(&app)),
        Extension(op.clone()),
        Path(id.to_owned()),
    )
    .await
    {
        Ok(v) => v.0,
        Err(e) => return c.refused(&e, "incidents"),
    };
    let mut notices = Vec::new();
    for (l, code) in [(Lang::En, "en"), (Lang::ZhCn, "zh-CN")] {
        let n = api::notice_text(
            State(Arc::clone(&app)),
            Extension(op.clone()),
            Path(id.to_owned()),
            Query(LangQuery {
                lang: Some(code.to_owned()),
            }),
        )
        .await
        .map_err(|e| WebError::api(c.lang, &e))?;
        notices.push(context! {
            lang => code,
            name => crate::web::i18n::t(l, "lang_name"),
            subject => n.0.subject.clone(),
            body => n.0.body.clone(),
        });
    }
    let mode = v.timeline.iter().rev().find_map(|s| {
        s.detail
            .get("mode")
            .and_then(|m| m.as_str())
            .map(str::to_owned)
    });
    let timeline: Vec<minijinja::Value> = v
        .timeline
        .iter()
        .map(|s| {
            let key = match s.action.as_str() {
                "created" => "i_step_created",
                "assessed" => "i_step_assessed",
                "notified" => "i_step_notified",
                _ => "i_step_closed",
            };
            context! {
                at => view::date_time(s.at),
                what => crate::web::i18n::t(c.lang, key),
                affected => s.detail.get("affected").and_then(serde_json::Value::as_u64),
                mode => s.detail.get("mode").and_then(|m| m.as_str()).map(str::to_owned),
            }
        })
        .collect();
    let d = &v.details;
    let pick = |b: &Bilingual| match c.lang {
        Lang::En => b.en.clone(),
        Lang::ZhCn => b.zh.clone(),
    };
    let here = format!("incidents/{id}");
    let status = error.as_ref().map(|(s, _)| *s);
    let ctx = context! {
        i => row(&v, c.lang),
        description => pick(&d.description),
        categories => d.categories.clone(),
        occurred => d.occurred_at.map(view::date_time),
        mode => mode,
        notices => notices,
        timeline => timeline,
        error => error.map(|(_, m)| m),
        ..c.ctx("incidents", &here)
    };
    let mut res = c.render("console_incident.html", ctx);
    if let Some(s) = status {
        *res.status_mut() = s;
    }
    Ok(res)
}

/// One incident: where it stands, the notice in both languages, the actions its
/// state allows and its timeline.
pub async fn detail(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    show(c, op, &id, None).await
}

/// Assess, notify or close, with the API's handler.
pub async fn act(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut c = Console::open(Arc::clone(&web), &headers, &q).await;
    c.session = checked_session(&web, &headers, COOKIE, &form, c.lang)?;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let (st, ex, p) = (
        State(Arc::clone(&web.app)),
        Extension(op.clone()),
        Path(id.clone()),
    );
    let res = match form.get("command") {
        "assess" => api::assess(st, ex, p).await,
        "notify" => api::notify(st, ex, p).await,
        "close" => api::close(st, ex, p).await,
        _ => {
            let msg = say(c.lang, ("Choose an action.", "请选择操作。"));
            return show(c, op, &id, Some((StatusCode::BAD_REQUEST, msg))).await;
        }
    };
    match res {
        Ok(_) => Ok(see_other(&format!("/console/incidents/{id}"), c.cookies)),
        Err(e) if e.kind().status() == StatusCode::FORBIDDEN => c.refused(&e, "incidents"),
        Err(e) if e.kind().status() == StatusCode::NOT_FOUND => Err(WebError::api(c.lang, &e)),
        Err(e) => {
            let status = e.kind().status();
            show(c, op, &id, Some((status, api_detail(&e)))).await
        }
    }
}

async fn report_json(c: &Console, op: &Caller, id: &str) -> Result<serde_json::Value, Response> {
    let res = api::report(
        State(Arc::clone(&c.web.app)),
        Extension(op.clone()),
        Path(id.to_owned()),
        Query(ReportQuery { format: None }),
    )
    .await;
    match res {
        Ok(r) => answer_json(r)
            .await
            .map_err(|_| WebError::internal(c.lang).into_response()),
        Err(e) => Err(e.into_response()),
    }
}

/// The regulator's report, bilingual, as the console shows it.
pub async fn report(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    if let Err(e) = op.require(crate::auth::Permission::WorkRequests) {
        return c.refused(&e, "incidents");
    }
    let doc = match report_json(&c, &op, &id).await {
        Ok(d) => d,
        Err(_) => return Err(WebError::not_found(c.lang)),
    };
    let here = format!("incidents/{id}/report");
    let ctx = context! { r => crate::web::ser(&doc), id => id, ..c.ctx("incidents", &here) };
    Ok(c.render("console_incident_report.html", ctx))
}

/// The regulator's report as a JSON file to hand over.
pub async fn report_download(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    if let Err(e) = op.require(crate::auth::Permission::WorkRequests) {
        return c.refused(&e, "incidents");
    }
    let doc = report_json(&c, &op, &id)
        .await
        .map_err(|_| WebError::not_found(c.lang))?;
    let body = serde_json::to_string_pretty(&doc).map_err(|_| WebError::internal(c.lang))?;
    let mut res = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"incident-report-{id}.json\""
    )) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
