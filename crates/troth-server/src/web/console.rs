//! The admin console under `/console`: operators sign in with an API key of role
//! `admin` or `operator` (exchanged for a signed session cookie holding only the
//! key's hash, re-checked on every page so a revoked key ends the session) and
//! work the request queue, read consent statistics, manage policy versions and
//! verify the audit chain; the submodules add breach incidents ([`incidents`]),
//! aggregate reports and PIA/RoPA ([`reports`]), legal holds ([`holds`]) and the
//! tenant's holiday calendar ([`calendar`]). Every action calls the `/v1` handler
//! it stands for, as the signed-in key, so a page or action the key's role may not
//! use is refused exactly as the API refuses it.

pub mod calendar;
pub mod holds;
pub mod incidents;
pub mod reports;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use minijinja::context;
use serde::Deserialize;
use troth_core::ConsentStatus;
use troth_policy::Lang;
use troth_store::ServiceStore;

use crate::api::caller::Caller;
use crate::api::requests::{ListQuery, Move};
use crate::api::state::TenantRuntime;
use crate::auth::{KeyHash, Permission, Role, allows, bearer};
use crate::error::ApiError;
use crate::web::center::{diff_view, request_row, version_rows};
use crate::web::session::Session;
use crate::web::{
    FormData, Web, WebError, api_detail, caller, checked_session, html, i18n, see_other, ser,
    session, view,
};

const COOKIE: &str = "troth_console";
const PATH: &str = "/console";
/// Eight hours: a working day.
const LIFETIME: i64 = 8 * 3600;

/// `?lang=`, `?status=`, notices.
#[derive(Debug, Default, Deserialize)]
pub struct ConsoleQuery {
    lang: Option<String>,
    status: Option<String>,
    after: Option<String>,
    from: Option<String>,
    to: Option<String>,
    done: Option<String>,
    /// The language a stored PIA/RoPA is shown in.
    view: Option<String>,
    /// The calendar year shown.
    year: Option<String>,
    /// Lifted holds too.
    all: Option<String>,
}

struct Console {
    web: Arc<Web>,
    lang: Lang,
    session: Session,
    cookies: Vec<HeaderValue>,
    caller: Option<Caller>,
}

impl Console {
    async fn open(web: Arc<Web>, headers: &HeaderMap, q: &ConsoleQuery) -> Self {
        let lang = i18n::negotiate(q.lang.as_deref(), headers);
        let (session, mut cookies) = session(&web, headers, COOKIE, PATH, LIFETIME);
        if let Some(l) = q.lang.as_deref().and_then(i18n::parse) {
            cookies.push(
                web.cookies
                    .set("troth_lang", i18n::code(l), "/", 365 * 86_400),
            );
        }
        let caller = match &session.key {
            Some(hash) => operator(&web, hash).await,
            None => None,
        };
        Self {
            web,
            lang,
            session,
            cookies,
            caller,
        }
    }

    fn ctx(&self, active: &str, here: &str) -> minijinja::Value {
        let other = match self.lang {
            Lang::En => Lang::ZhCn,
            Lang::ZhCn => Lang::En,
        };
        context! {
            t => i18n::strings(self.lang),
            lang => i18n::code(self.lang),
            other_lang => i18n::code(other),
            here => here,
            active => active,
            csrf => self.session.csrf(&self.web.keys),
            role => self.caller.as_ref().map(|c| c.role.as_str()),
            tenant => self.caller.as_ref().map(|c| c.tenant.as_str().to_owned()),
            perms => self.caller.as_ref().map(|c| permissions(c.role)).unwrap_or_default(),
        }
    }

    fn render(self, name: &str, ctx: minijinja::Value) -> Response {
        match view::render(name, ctx) {
            Ok(body) => html(body, self.cookies),
            Err(e) => {
                tracing::error!(template = name, error = %e, "render failed");
                WebError::internal(self.lang).into_response()
            }
        }
    }

    fn signin(self) -> Response {
        see_other("/console/signin", self.cookies)
    }

    /// An API refusal as a page: a permission the key's role lacks is the console's
    /// own 403 page (the API's sentence names the role and the permission, and the
    /// navigation stays); anything else is the error page with the API's status.
    fn refused(self, e: &ApiError, active: &str) -> Result<Response, WebError> {
        if e.kind().status() != StatusCode::FORBIDDEN {
            return Err(WebError::api(self.lang, e));
        }
        let ctx = context! { detail => api_detail(e), ..self.ctx(active, active) };
        let mut res = self.render("console_denied.html", ctx);
        *res.status_mut() = StatusCode::FORBIDDEN;
        Ok(res)
    }

    async fn runtime(&self, c: &Caller) -> Result<Arc<TenantRuntime>, WebError> {
        crate::api::runtime(&self.web.app, c)
            .await
            .map_err(|e| WebError::api(self.lang, &e))
    }
}

/// The permissions of `role`, by their API names, so pages offer only what the
/// key may do (the handlers check again).
fn permissions(role: Role) -> Vec<String> {
    Permission::ALL
        .iter()
        .filter(|p| allows(role, **p))
        .filter_map(|p| serde_json::to_value(p).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The caller for a stored key hash, if the key still exists, is not revoked and
/// may use the console.
async fn operator(web: &Web, hash: &str) -> Option<Caller> {
    let cached = web.app.keys.read().await.get(hash).cloned();
    let record = match cached {
        Some(r) => r,
        None => web.app.store.api_key_by_hash(hash).await.ok().flatten()?,
    };
    if record.revoked.is_some() {
        return None;
    }
    let role = Role::parse(&record.role)?;
    matches!(role, Role::Admin | Role::Operator)
        .then(|| caller(record.tenant, &record.key_id, role, None))
}

/// `/console`: the queue, or sign-in.
pub async fn home() -> Response {
    see_other("/console/requests", Vec::new())
}

/// The sign-in form.
pub async fn signin_page(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Response {
    let c = Console::open(web, &headers, &q).await;
    let ctx = context! { ..c.ctx("signin", "signin") };
    c.render("console_signin.html", ctx)
}

const SIGNIN_REFUSED: (&str, &str) = (
    "This key is not known, was revoked, or its role cannot use the console (admin and operator keys can).",
    "该密钥不存在、已被撤销，或其角色无权使用控制台（仅限 admin 与 operator 密钥）。",
);

fn say(lang: Lang, (en, zh): (&str, &str)) -> String {
    match lang {
        Lang::En => en.to_owned(),
        Lang::ZhCn => zh.to_owned(),
    }
}

/// Exchanges an API key for a console session.
pub async fn signin(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut c = Console::open(Arc::clone(&web), &headers, &q).await;
    c.session = checked_session(&web, &headers, COOKIE, &form, c.lang)?;
    let token = form.get("api_key").to_owned();
    let hash = bearer(&format!("Bearer {token}")).map(|t| KeyHash::of(t).as_str().to_owned());
    let found = match &hash {
        Some(h) => operator(&web, h).await,
        None => None,
    };
    let (Some(hash), Some(_)) = (hash, found) else {
        let ctx = context! { error => say(c.lang, SIGNIN_REFUSED), ..c.ctx("signin", "signin") };
        let mut res = c.render("console_signin.html", ctx);
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(res);
    };
    c.session.renew(LIFETIME);
    c.session.key = Some(hash);
    let v = c.session.encode(&web.keys, COOKIE);
    c.cookies.push(web.cookies.set(COOKIE, &v, PATH, LIFETIME));
    Ok(see_other("/console/requests", c.cookies))
}

/// Ends the console session.
pub async fn signout(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut c = Console::open(Arc::clone(&web), &headers, &q).await;
    checked_session(&web, &headers, COOKIE, &form, c.lang)?;
    let fresh = Session::new(LIFETIME);
    c.cookies.push(
        web.cookies
            .set(COOKIE, &fresh.encode(&web.keys, COOKIE), PATH, LIFETIME),
    );
    Ok(c.signin())
}

/// The request queue, most urgent first.
pub async fn queue(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(Arc::clone(&web), &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let filter = q.status.clone().unwrap_or_else(|| "open".to_owned());
    let list = crate::api::requests::list(
        State(Arc::clone(&web.app)),
        Extension(op),
        Query(ListQuery {
            status: Some(filter.clone()),
        }),
    )
    .await
    .map_err(|e| WebError::api(c.lang, &e))?;
    let mut rows: Vec<_> = list.0.iter().map(|v| request_row(v, c.lang)).collect();
    // By due date, soonest (or longest overdue) first; requests whose clock has
    // not started yet come last, oldest first.
    rows.sort_by_key(|r| (r.due_epoch.is_none(), r.due_epoch, r.received.clone()));
    let overdue = rows.iter().filter(|r| r.alarm == "overdue").count();
    let ctx = context! {
        requests => ser(&rows),
        filter => filter,
        overdue => overdue,
        now_epoch => Timestamp::now().as_second(),
        ..c.ctx("requests", "requests")
    };
    Ok(c.render("console_queue.html", ctx))
}

async fn show_request(
    c: Console,
    op: Caller,
    id: &str,
    error: Option<String>,
) -> Result<Response, WebError> {
    let v = crate::api::requests::get(
        State(Arc::clone(&c.web.app)),
        Extension(op.clone()),
        Path(id.to_owned()),
    )
    .await
    .map_err(|e| WebError::api(c.lang, &e))?;
    let rt = c.runtime(&op).await?;
    let policy = rt.in_force(Timestamp::now()).await;
    let refusals: Vec<minijinja::Value> = policy
        .as_ref()
        .map(|p| {
            p.policy
                .refusal_reasons
                .iter()
                .map(|r| context! { id => r.id.to_string(), text => r.text.get(c.lang).to_owned() })
                .collect()
        })
        .unwrap_or_default();
    let holds: Vec<minijinja::Value> = policy
        .as_ref()
        .map(|p| {
            p.policy
                .hold_reasons
                .iter()
                .map(|r| context! { id => r.id.to_string(), text => r.text.get(c.lang).to_owned() })
                .collect()
        })
        .unwrap_or_default();
    let row = request_row(&v.0, c.lang);
    // What the person asked for (never a corrected value) and, once done, the result.
    let (asked, outcome) = match policy.as_ref() {
        Some(p) => {
            crate::web::center::asked_and_done(&c.web, &op.tenant, &v.0, &p.policy, c.lang).await?
        }
        None => (minijinja::Value::UNDEFINED, None),
    };
    let failed = error.is_some();
    let here = format!("requests/{id}");
    let ctx = context! {
        r => ser(&row),
        asked => asked,
        outcome => outcome,
        subject => v.0.subject.clone(),
        channel => ser(&v.0.channel),
        refusals => refusals,
        holds => holds,
        error => error,
        ..c.ctx("requests", &here)
    };
    let mut res = c.render("console_request.html", ctx);
    if failed {
        *res.status_mut() = StatusCode::CONFLICT;
    }
    Ok(res)
}

/// One request: timeline and the actions its state allows.
pub async fn request(
    State(web): State<Arc<Web>>,
    Path(id): Path<String>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    show_request(c, op, &id, None).await
}

/// Applies a transition with the API's handler.
pub async fn move_request(
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
    let command = form.get("command");
    let body = match command {
        "start_verification" | "verified" | "start" => serde_json::json!({ "command": command }),
        "extend" => serde_json::json!({ "command": "extend", "reason": form.get("reason") }),
        "refuse" => serde_json::json!({ "command": "refuse", "reason": form.get("reason") }),
        "complete" => match form.get("outcome") {
            "fulfilled_with_holds" => serde_json::json!({
                "command": "complete",
                "outcome": { "kind": "fulfilled_with_holds", "holds": [form.get("hold")] }
            }),
            o => serde_json::json!({ "command": "complete", "outcome": { "kind": o } }),
        },
        "send_code" => {
            let res = crate::api::requests::send_code(
                State(Arc::clone(&web.app)),
                Extension(op.clone()),
                Path(id.clone()),
                axum::extract::Query(crate::api::requests::CodeChannel::default()),
            )
            .await;
            return match res {
                Ok(_) => Ok(see_other(&format!("/console/requests/{id}"), c.cookies)),
                Err(e) => {
                    let msg = api_detail(&e);
                    show_request(c, op, &id, Some(msg)).await
                }
            };
        }
        _ => serde_json::Value::Null,
    };
    let transition = match serde_json::from_value::<troth_core::Transition>(body) {
        Ok(t) => t,
        Err(_) => {
            let msg = say(
                c.lang,
                ("Choose an action and its reason.", "请选择操作及其理由。"),
            );
            return show_request(c, op, &id, Some(msg)).await;
        }
    };
    let res = crate::api::requests::transition(
        State(Arc::clone(&web.app)),
        Extension(op.clone()),
        Path(id.clone()),
        crate::extract::ApiJson(Move { transition }),
    )
    .await;
    match res {
        Ok(_) => Ok(see_other(&format!("/console/requests/{id}"), c.cookies)),
        Err(e) => {
            let msg = api_detail(&e);
            show_request(c, op, &id, Some(msg)).await
        }
    }
}

/// Consent statistics per purpose, from the in-memory ledger fold.
pub async fn stats(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let rt = c.runtime(&op).await?;
    let p = rt.in_force(Timestamp::now()).await;
    let known: Vec<troth_core::SubjectId> = rt.known.read().await.iter().copied().collect();
    let mut counts: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    let mut accepted = 0u64;
    {
        let ix = rt.index.read().await;
        if let Some(ix) = ix.as_ref() {
            for s in &known {
                let Some(st) = ix.state(*s) else { continue };
                if let Some(p) = &p
                    && st.accepted_versions().contains(&p.version.hash)
                {
                    accepted += 1;
                }
                for pc in st.purposes() {
                    let Some(g) = &pc.general else { continue };
                    let slot = match g.status {
                        ConsentStatus::Given => 0,
                        ConsentStatus::Withdrawn => 1,
                        ConsentStatus::Refused => 2,
                        ConsentStatus::Expired => 3,
                    };
                    counts.entry(pc.purpose.to_string()).or_default()[slot] += 1;
                }
            }
        }
    }
    let rows: Vec<minijinja::Value> = p
        .as_ref()
        .map(|p| {
            p.policy
                .purposes
                .iter()
                .filter(|pu| pu.basis == troth_policy::LegalBasis::Consent)
                .map(|pu| {
                    let n = counts.get(pu.id.as_str()).copied().unwrap_or_default();
                    let decided = n.iter().sum::<u64>();
                    let rate = (n[0] * 100).checked_div(decided).unwrap_or(0);
                    context! {
                        id => pu.id.to_string(),
                        name => pu.name.get(c.lang).to_owned(),
                        given => n[0], withdrawn => n[1], refused => n[2], expired => n[3],
                        rate => rate,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let ctx = context! {
        rows => rows,
        subjects => known.len(),
        accepted => accepted,
        label => p.as_ref().map(|p| p.record.label.clone()),
        ..c.ctx("consents", "consents")
    };
    Ok(c.render("console_stats.html", ctx))
}

/// Policy versions and the upload form.
pub async fn policies(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let rt = c.runtime(&op).await?;
    let rows = version_rows(&rt).await;
    let ctx = context! {
        versions => ser(&rows),
        may_publish => op.role == Role::Admin,
        published => q.done.as_deref() == Some("published"),
        ..c.ctx("policies", "policies")
    };
    Ok(c.render("console_policies.html", ctx))
}

/// One version rendered, as people will read it.
pub async fn version(
    State(web): State<Arc<Web>>,
    Path(hash): Path<String>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let rt = c.runtime(&op).await?;
    let p = rt
        .version(&hash, Timestamp::now())
        .await
        .ok_or_else(|| WebError::not_found(c.lang))?;
    let body = troth_policy::render(&p.policy, c.lang, troth_policy::Format::Html)
        .map_err(|_| WebError::internal(c.lang))?;
    let here = format!("policies/versions/{hash}");
    let ctx = context! {
        label => p.record.label.clone(),
        hash => p.record.content_hash.clone(),
        published => view::date(p.record.published),
        effective => view::date(p.record.effective),
        body => body,
        ..c.ctx("policies", &here)
    };
    Ok(c.render("console_version.html", ctx))
}

/// A diff between two published versions.
pub async fn diff(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let rt = c.runtime(&op).await?;
    let now = Timestamp::now();
    let (Some(from), Some(to)) = (q.from.as_deref(), q.to.as_deref()) else {
        return Err(WebError::not_found(c.lang));
    };
    let (Some(old), Some(new)) = (rt.version(from, now).await, rt.version(to, now).await) else {
        return Err(WebError::not_found(c.lang));
    };
    let here = format!("policies/diff?from={from}&to={to}");
    let ctx = context! {
        old_label => old.record.label.clone(),
        new_label => new.record.label.clone(),
        diff => diff_view(&old.policy, &new.policy, c.lang),
        ..c.ctx("policies", &here)
    };
    Ok(c.render("console_diff.html", ctx))
}

/// Validates an uploaded manifest: every problem with its line, or a preview and
/// the diff against the version in force, with a publish button.
pub async fn check(
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
    let toml = form
        .0
        .get("toml")
        .cloned()
        .unwrap_or_default()
        .replace("\r\n", "\n");
    checked_page(c, &op, toml, Vec::new()).await
}

async fn checked_page(
    c: Console,
    op: &Caller,
    toml: String,
    extra: Vec<minijinja::Value>,
) -> Result<Response, WebError> {
    let rt = c.runtime(op).await?;
    let (problems, preview, diff) = match troth_policy::parse_policy("policy.toml", &toml) {
        Err(ds) => (
            ds.iter()
                .map(|d| {
                    context! {
                        line => d.position.map(|p| p.line),
                        column => d.position.map(|p| p.column),
                        field => d.path.to_string(),
                        message => d.message.clone(),
                        help => d.help.clone(),
                    }
                })
                .collect::<Vec<_>>(),
            None,
            None,
        ),
        Ok(policy) => {
            let body = troth_policy::render(&policy, c.lang, troth_policy::Format::Html)
                .map_err(|_| WebError::internal(c.lang))?;
            let current = rt.in_force(Timestamp::now()).await;
            let diff = current.map(|p| diff_view(&p.policy, &policy, c.lang));
            (Vec::new(), Some(body), diff)
        }
    };
    let mut problems = problems;
    problems.extend(extra);
    let failed = !problems.is_empty();
    let ctx = context! {
        problems => problems,
        preview => preview,
        diff => diff,
        toml => toml,
        may_publish => op.role == Role::Admin,
        ..c.ctx("policies", "policies")
    };
    let mut res = c.render("console_check.html", ctx);
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// Publishes a manifest with the API's handler (admins only, as in the API).
pub async fn publish(
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
    let toml = form
        .0
        .get("toml")
        .cloned()
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/toml"),
    );
    let res = crate::api::policies::publish(
        State(Arc::clone(&web.app)),
        Extension(op.clone()),
        h,
        Bytes::from(toml.clone()),
    )
    .await;
    match res {
        Ok(_) => Ok(see_other("/console/policies?done=published", c.cookies)),
        Err(e) => {
            let v = serde_json::to_value(&e).unwrap_or_default();
            let mut extra: Vec<minijinja::Value> = Vec::new();
            if v.get("errors").is_none() {
                extra.push(context! {
                    field => v.get("field").and_then(|f| f.as_str()).map(str::to_owned),
                    message => api_detail(&e),
                });
            }
            checked_page(c, &op, toml, extra).await
        }
    }
}

/// The audit log, a page at a time.
pub async fn audit(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    audit_page(c, op, q.after.clone(), None).await
}

async fn audit_page(
    c: Console,
    op: Caller,
    after: Option<String>,
    verified: Option<minijinja::Value>,
) -> Result<Response, WebError> {
    let page = crate::api::audit::list(
        State(Arc::clone(&c.web.app)),
        Extension(op),
        Query(crate::api::PageQuery {
            after,
            limit: Some(100),
        }),
    )
    .await
    .map_err(|e| WebError::api(c.lang, &e))?;
    let rows: Vec<minijinja::Value> = page
        .0
        .items
        .iter()
        .map(|e| {
            context! {
                seq => e.seq,
                time => view::date_time(e.time),
                actor => e.actor.clone(),
                action => e.action.clone(),
                target => e.target.clone(),
                detail => e.detail.clone(),
                hash => e.hash.to_string().chars().take(16).collect::<String>(),
            }
        })
        .collect();
    let ctx = context! {
        entries => rows,
        next => page.0.next.clone(),
        verified => verified,
        ..c.ctx("audit", "audit")
    };
    Ok(c.render("console_audit.html", ctx))
}

/// "Verify chain": the API's verification, shown above the log.
pub async fn verify(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(Arc::clone(&web), &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let v = crate::api::audit::verify(State(Arc::clone(&web.app)), Extension(op.clone()))
        .await
        .map_err(|e| WebError::api(c.lang, &e))?;
    let result = context! {
        intact => v.0.intact,
        entries => v.0.entries,
        checkpoints => v.0.checkpoints_verified,
        first_bad => v.0.first_bad_seq,
        problem => v.0.problem.clone(),
    };
    audit_page(c, op, None, Some(result)).await
}
