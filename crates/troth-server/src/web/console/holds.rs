//! Console page for legal holds: the holds in force (or all, with `?all=1`), the
//! form that places one citing the pack's hold reasons, and lifting. Every action
//! is the `/v1/holds` handler's, called as the signed-in key.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use minijinja::context;

use super::{COOKIE, Console, ConsoleQuery, say};
use crate::api::caller::Caller;
use crate::api::holds::{self as api, HoldQuery, NewHoldBody};
use crate::extract::ApiJson;
use crate::web::{FormData, Web, WebError, api_detail, checked_session, see_other, view};

async fn holds_page(
    c: Console,
    op: Caller,
    all: bool,
    form: Option<(&FormData, BTreeMap<String, String>)>,
    done: Option<&str>,
) -> Result<Response, WebError> {
    let list = match api::list(
        State(Arc::clone(&c.web.app)),
        Extension(op.clone()),
        Query(HoldQuery {
            active: Some(!all),
            subject: None,
        }),
    )
    .await
    {
        Ok(l) => l.0,
        Err(e) => return c.refused(&e, "holds"),
    };
    let rt = c.runtime(&op).await?;
    let policy = rt.in_force(Timestamp::now()).await;
    let reasons: Vec<minijinja::Value> = policy
        .as_ref()
        .map(|p| {
            p.policy
                .hold_reasons
                .iter()
                .map(|r| context! { id => r.id.to_string(), text => r.text.get(c.lang).to_owned() })
                .collect()
        })
        .unwrap_or_default();
    let categories: Vec<minijinja::Value> = policy
        .as_ref()
        .map(|p| {
            p.policy
                .categories
                .iter()
                .map(|x| context! { id => x.id.to_string(), name => x.name.get(c.lang).to_owned() })
                .collect()
        })
        .unwrap_or_default();
    let reason_text = |id: &str| {
        policy.as_ref().and_then(|p| {
            p.policy
                .hold_reasons
                .iter()
                .find(|r| r.id.as_str() == id)
                .map(|r| r.text.get(c.lang).to_owned())
        })
    };
    let rows: Vec<minijinja::Value> = list
        .iter()
        .map(|h| {
            context! {
                id => h.hold_id.clone(),
                subject => h.subject.clone(),
                category => h.category.clone(),
                reason => h.reason.clone(),
                reason_text => reason_text(&h.reason),
                note => h.note.clone(),
                placed => view::date_time(h.placed),
                placed_by => h.placed_by.clone(),
                lifted => h.lifted.map(view::date_time),
                active => h.active,
            }
        })
        .collect();
    let failed = form.as_ref().is_some_and(|(_, e)| !e.is_empty());
    let (values, errors) = match form {
        Some((f, e)) => (f.0.clone(), e),
        None => Default::default(),
    };
    let here = if all { "holds?all=1" } else { "holds" };
    let ctx = context! {
        holds => rows,
        all => all,
        reasons => reasons,
        categories => categories,
        values => values,
        errors => errors,
        done => done,
        ..c.ctx("holds", here)
    };
    let mut res = c.render("console_holds.html", ctx);
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// The holds, and the form that places one.
pub async fn list(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let all = q.all.is_some();
    let done = q.done.clone();
    holds_page(c, op, all, None, done.as_deref()).await
}

/// Places a hold with the API's handler; a refusal is shown at its field.
pub async fn place(
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
    let opt = |name: &str| Some(form.get(name).to_owned()).filter(|v| !v.is_empty());
    let mut errors = BTreeMap::new();
    if opt("subject").is_none() && opt("category").is_none() {
        errors.insert(
            "subject".to_owned(),
            say(
                c.lang,
                (
                    "Name a subject, a category, or both.",
                    "请填写主体编号、选择数据种类，或两者都填。",
                ),
            ),
        );
    }
    if opt("reason").is_none() {
        errors.insert(
            "reason".to_owned(),
            say(
                c.lang,
                (
                    "Choose the policy's reason for the hold.",
                    "请选择政策中规定的保留理由。",
                ),
            ),
        );
    }
    if !errors.is_empty() {
        return holds_page(c, op, false, Some((&form, errors)), None).await;
    }
    let body = NewHoldBody {
        subject: opt("subject"),
        category: opt("category"),
        reason: form.get("reason").to_owned(),
        note: opt("note"),
    };
    match api::place(
        State(Arc::clone(&web.app)),
        Extension(op.clone()),
        ApiJson(body),
    )
    .await
    {
        Ok(_) => Ok(see_other("/console/holds?done=placed", c.cookies)),
        Err(e) if e.kind().status() == StatusCode::FORBIDDEN => c.refused(&e, "holds"),
        Err(e) => {
            let v = serde_json::to_value(&e).unwrap_or_default();
            let field = v["field"].as_str().unwrap_or("subject").to_owned();
            let mut errors = BTreeMap::new();
            errors.insert(field, api_detail(&e));
            holds_page(c, op, false, Some((&form, errors)), None).await
        }
    }
}

/// Lifts a hold with the API's handler.
pub async fn lift(
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
    match api::lift(State(Arc::clone(&web.app)), Extension(op), Path(id)).await {
        Ok(_) => Ok(see_other("/console/holds?done=lifted", c.cookies)),
        Err(e) => c.refused(&e, "holds"),
    }
}
