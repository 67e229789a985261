//! The privacy center, one per tenant under `/t/{tenant}`: the policy in force
//! (English or Chinese), every archived version and readable diffs between them,
//! sign-in by an emailed one-time code, the consent dashboard, re-consent after a
//! significant change, and rights requests with their status.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use minijinja::context;
use serde::{Deserialize, Serialize};
use troth_core::{ConsentStatus, Method, RequestKind};
use troth_policy::{Lang, LegalBasis, Policy};
use troth_store::{
    IdentifierKind, OutboxStore, RequestFilter, RetentionStore, RightsStore, Store, TenantId,
};

use crate::api::consents::{AcceptInput, AcceptMethod, ConsentInput};
use crate::api::requests::{CodeInput, NewRequest, RequestView};
use crate::api::state::{Published, TenantRuntime, store_subject};
use crate::auth::Role;
use crate::error::ProblemKind;
use crate::extract::ApiJson;
use crate::web::session::{Pending, Session};
use crate::web::{
    FormData, Web, WebError, answer_json, api_detail, caller, checked_session, html, i18n,
    see_other, ser, session, view,
};

/// The session cookie of the privacy center (scoped to the tenant's path).
const COOKIE: &str = "troth_pc";
/// Session lifetime: two hours.
const LIFETIME: i64 = 2 * 3600;
/// The audit actor of privacy-center writes (`key:privacy-center`).
const ACTOR: &str = "privacy-center";

/// `?lang=` and the notices a redirect may ask a page to show.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
    saved: Option<String>,
    sent: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// One privacy-center page being built.
struct Page {
    web: Arc<Web>,
    tenant: TenantId,
    rt: Arc<TenantRuntime>,
    lang: Lang,
    session: Session,
    cookies: Vec<HeaderValue>,
}

impl Page {
    async fn open(
        web: Arc<Web>,
        tenant: &str,
        headers: &HeaderMap,
        q: &PageQuery,
    ) -> Result<Self, WebError> {
        let lang = i18n::negotiate(q.lang.as_deref(), headers);
        let id = TenantId::new(tenant);
        // Tenant ids are UUIDs; anything else is not a tenant (and never a query).
        if uuid::Uuid::parse_str(tenant).is_err() {
            return Err(WebError::not_found(lang));
        }
        let rt = web
            .app
            .tenant(&id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "tenant runtime failed");
                WebError::internal(lang)
            })?
            .ok_or_else(|| WebError::not_found(lang))?;
        let (session, mut cookies) = session(&web, headers, COOKIE, &base(tenant), LIFETIME);
        if let Some(l) = q.lang.as_deref().and_then(i18n::parse) {
            cookies.push(
                web.cookies
                    .set("troth_lang", i18n::code(l), "/", 365 * 86_400),
            );
        }
        Ok(Self {
            web,
            tenant: id,
            rt,
            lang,
            session,
            cookies,
        })
    }

    fn base(&self) -> String {
        base(self.tenant.as_str())
    }

    fn subject(&self) -> Option<troth_core::SubjectId> {
        self.session.sub.as_deref().and_then(|s| s.parse().ok())
    }

    fn caller(&self, subject: troth_core::SubjectId) -> crate::api::caller::Caller {
        caller(
            self.tenant.clone(),
            ACTOR,
            Role::Subject,
            Some(store_subject(subject)),
        )
    }

    async fn in_force(&self) -> Result<Published, WebError> {
        self.rt
            .in_force(Timestamp::now())
            .await
            .ok_or_else(|| WebError::new(StatusCode::NOT_FOUND, self.lang, "no_policy"))
    }

    /// The context every page shares.
    fn ctx(&self, policy: Option<&Policy>, active: &str, here: &str) -> minijinja::Value {
        let other = match self.lang {
            Lang::En => Lang::ZhCn,
            Lang::ZhCn => Lang::En,
        };
        context! {
            t => i18n::strings(self.lang),
            lang => i18n::code(self.lang),
            other_lang => i18n::code(other),
            here => here,
            base => self.base(),
            active => active,
            controller => policy.map(|p| p.controller.legal_name.get(self.lang).to_owned()),
            signed_in => self.session.sub.is_some(),
            csrf => self.session.csrf(&self.web.keys),
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

    /// A redirect keeping the cookies this request set.
    fn redirect(self, to: &str) -> Response {
        see_other(to, self.cookies)
    }

    fn signin_redirect(self) -> Response {
        let to = format!("{}/signin", self.base());
        self.redirect(&to)
    }
}

fn base(tenant: &str) -> String {
    format!("/t/{tenant}")
}

/// `/t/{tenant}`: the policy.
pub async fn home(Path(tenant): Path<String>) -> Response {
    see_other(&format!("{}/policy", base(&tenant)), Vec::new())
}

/// The policy in force, rendered in the page's language.
pub async fn policy(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let page = Page::open(web, &tenant, &headers, &q).await?;
    let p = page.in_force().await?;
    let body = render_policy(&p.policy, page.lang)?;
    let versions = page.rt.versions.read().await.clone();
    // Seed 000: a significant change is announced at the top of the policy.
    let changed = p.record.significant.then(|| view::date(p.record.published));
    let previous = previous_of(&versions, &p).map(|v| v.record.content_hash.clone());
    // Seed 001 R14: a version published to take effect later is announced here
    // (and by the notices queued at publication) before it does.
    let now = Timestamp::now();
    let upcoming = versions
        .iter()
        .filter(|v| v.record.effective > now)
        .min_by_key(|v| v.record.effective)
        .map(|v| {
            context! {
                label => v.record.label.clone(),
                effective => view::date(v.record.effective),
                hash => v.record.content_hash.clone(),
            }
        });
    let ctx = context! {
        title => p.policy.policy.title.get(page.lang),
        label => p.record.label.clone(),
        published => view::date(p.record.published),
        effective => view::date(p.record.effective),
        hash => p.record.content_hash.clone(),
        body => body,
        changed => changed,
        previous => previous,
        upcoming => upcoming,
        ..page.ctx(Some(&p.policy), "policy", "policy")
    };
    Ok(page.render("policy.html", ctx))
}

fn render_policy(policy: &Policy, lang: Lang) -> Result<String, WebError> {
    troth_policy::render(policy, lang, troth_policy::Format::Html).map_err(|e| {
        tracing::error!(error = %e, "policy render failed");
        WebError::internal(lang)
    })
}

fn previous_of<'a>(versions: &'a [Published], p: &Published) -> Option<&'a Published> {
    let i = versions
        .iter()
        .position(|v| v.record.content_hash == p.record.content_hash)?;
    i.checked_sub(1).and_then(|j| versions.get(j))
}

/// A version as listed.
#[derive(Debug, Serialize)]
pub struct VersionRow {
    /// Content hash.
    pub hash: String,
    /// Label.
    pub label: String,
    /// Publication date.
    pub published: String,
    /// Effective date.
    pub effective: String,
    /// Whether it changed the policy significantly.
    pub significant: bool,
    /// Whether it is in force.
    pub in_force: bool,
    /// The hash of the version before it.
    pub previous: Option<String>,
}

/// Every version, newest first.
pub async fn version_rows(rt: &TenantRuntime) -> Vec<VersionRow> {
    let now = Timestamp::now();
    let in_force = rt
        .in_force(now)
        .await
        .map(|p| p.record.content_hash.clone());
    let versions = rt.versions.read().await;
    let mut rows: Vec<VersionRow> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| VersionRow {
            hash: v.record.content_hash.clone(),
            label: v.record.label.clone(),
            published: view::date(v.record.published),
            effective: view::date(v.record.effective),
            significant: v.record.significant,
            in_force: in_force.as_deref() == Some(v.record.content_hash.as_str()),
            previous: i
                .checked_sub(1)
                .and_then(|j| versions.get(j))
                .map(|p| p.record.content_hash.clone()),
        })
        .collect();
    rows.reverse();
    rows
}

/// The archive: every published version with its dates.
pub async fn versions(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let page = Page::open(web, &tenant, &headers, &q).await?;
    let p = page.in_force().await?;
    let rows = version_rows(&page.rt).await;
    let ctx = context! { versions => ser(&rows), ..page.ctx(Some(&p.policy), "versions", "policy/versions") };
    Ok(page.render("versions.html", ctx))
}

/// One version, archived or in force.
pub async fn version(
    State(web): State<Arc<Web>>,
    Path((tenant, hash)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let page = Page::open(web, &tenant, &headers, &q).await?;
    let now = Timestamp::now();
    let p = page
        .rt
        .version(&hash, now)
        .await
        .ok_or_else(|| WebError::not_found(page.lang))?;
    let current = page.in_force().await?;
    let archived = current.record.content_hash != p.record.content_hash;
    let body = render_policy(&p.policy, page.lang)?;
    let versions = page.rt.versions.read().await.clone();
    let previous = previous_of(&versions, &p).map(|v| v.record.content_hash.clone());
    let here = format!("policy/versions/{}", p.record.content_hash);
    let ctx = context! {
        title => p.policy.policy.title.get(page.lang),
        label => p.record.label.clone(),
        published => view::date(p.record.published),
        effective => view::date(p.record.effective),
        hash => p.record.content_hash.clone(),
        body => body,
        archived => archived,
        previous => previous,
        ..page.ctx(Some(&current.policy), "versions", &here)
    };
    Ok(page.render("policy.html", ctx))
}

/// A change as shown.
#[derive(Debug, Serialize)]
pub struct ChangeRow {
    section: String,
    path: String,
    kind: String,
    before: String,
    after: String,
    criteria: Vec<&'static str>,
    significant: bool,
    reduces_rights: bool,
}

/// The rows and flags of a diff, in `lang`.
pub fn diff_view(old: &Policy, new: &Policy, lang: Lang) -> minijinja::Value {
    let report = troth_policy::diff(old, new);
    let rows: Vec<ChangeRow> = report
        .changes
        .iter()
        .map(|c| ChangeRow {
            // The section in words where it has a name; the path stays beside it.
            section: match i18n::t(lang, &format!("sec_{}", c.section)) {
                "" => c.section.clone(),
                named => named.to_owned(),
            },
            path: c.path.clone(),
            kind: i18n::t(
                lang,
                match c.kind {
                    troth_policy::ChangeKind::Added => "kind_added",
                    troth_policy::ChangeKind::Removed => "kind_removed",
                    troth_policy::ChangeKind::Changed => "kind_changed",
                },
            )
            .to_owned(),
            before: c.before.as_ref().map(show).unwrap_or_default(),
            after: c.after.as_ref().map(show).unwrap_or_default(),
            criteria: c
                .criteria
                .iter()
                .map(|k| i18n::t(lang, &format!("crit_{}", k.as_str())))
                .collect(),
            significant: !c.criteria.is_empty(),
            reduces_rights: c.reduces_rights,
        })
        .collect();
    context! {
        changes => ser(&rows),
        significant => report.significant,
        rights_reduced => report.rights_reduced,
        needs_consent => report.needs_explicit_consent,
    }
}

/// A manifest value as a reader sees it: text in the page's language where the
/// value is a `{en, zh-CN}` pair, lists joined, anything else compact JSON.
fn show(v: &serde_json::Value) -> String {
    use serde_json::Value as V;
    match v {
        V::String(s) => s.clone(),
        V::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        V::Null => String::new(),
        V::Object(m) if m.len() == 2 && m.contains_key("en") && m.contains_key("zh-CN") => {
            format!(
                "{} / {}",
                m.get("en").map(show).unwrap_or_default(),
                m.get("zh-CN").map(show).unwrap_or_default()
            )
        }
        other => other.to_string(),
    }
}

/// A readable diff between two versions (`?from=&to=`; default: the version in
/// force against the one before it).
pub async fn diff(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let page = Page::open(web, &tenant, &headers, &q).await?;
    let now = Timestamp::now();
    let current = page.in_force().await?;
    let new = match q.to.as_deref() {
        Some(h) => page.rt.version(h, now).await,
        None => Some(current.clone()),
    }
    .ok_or_else(|| WebError::not_found(page.lang))?;
    let versions = page.rt.versions.read().await.clone();
    let old = match q.from.as_deref() {
        Some(h) => page.rt.version(h, now).await,
        None => previous_of(&versions, &new).cloned(),
    }
    .ok_or_else(|| WebError::not_found(page.lang))?;
    let here = format!(
        "policy/diff?from={}&to={}",
        old.record.content_hash, new.record.content_hash
    );
    let ctx = context! {
        old_label => old.record.label.clone(),
        old_date => view::date(old.record.published),
        new_label => new.record.label.clone(),
        new_date => view::date(new.record.published),
        diff => diff_view(&old.policy, &new.policy, page.lang),
        ..page.ctx(Some(&current.policy), "versions", &here)
    };
    Ok(page.render("diff.html", ctx))
}

/// The sign-in form.
pub async fn signin_page(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let page = Page::open(web, &tenant, &headers, &q).await?;
    let p = page.in_force().await?;
    let ctx = context! { ..page.ctx(Some(&p.policy), "signin", "signin") };
    Ok(page.render("signin.html", ctx))
}

/// Sends a sign-in code to a known address. The answer is the same whether the
/// address is known or not, so the form does not reveal who has an account.
pub async fn signin(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut page = Page::open(Arc::clone(&web), &tenant, &headers, &q).await?;
    page.session = checked_session(&web, &headers, COOKIE, &form, page.lang)?;
    let p = page.in_force().await?;
    let refuse = |page: Page, key: &str, status: StatusCode| {
        let ctx = context! { error => i18n::t(page.lang, key), ..page.ctx(Some(&p.policy), "signin", "signin") };
        let mut res = page.render("signin.html", ctx);
        *res.status_mut() = status;
        res
    };
    let email = form.get("email").trim().to_owned();
    let phone = form.get("phone").trim().to_owned();
    // Email when given, else the mobile number (a code by text message through the
    // tenant's SMS gateway, as for rights requests).
    let by_phone = email.is_empty() && !phone.is_empty();
    let (kind, address) = if by_phone {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let allowed = phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
        if !allowed || !(6..=15).contains(&digits) {
            return Ok(refuse(
                page,
                "phone_invalid",
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        (IdentifierKind::Phone, phone)
    } else {
        if !email.contains('@') || email.len() > 320 {
            return Ok(refuse(
                page,
                "email_invalid",
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        (IdentifierKind::Email, email)
    };
    // Whether the channel works is checked before the lookup, so the answer never
    // depends on whether the address is known.
    let mailer = web.app.mailer.clone();
    let gateway = if by_phone {
        let targets = web
            .app
            .store
            .notify_targets(&page.tenant)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "reading notify targets failed");
                WebError::internal(page.lang)
            })?;
        if !targets.iter().any(|t| {
            t.channel == troth_store::OutboxChannel::Webhook
                && t.events
                    .iter()
                    .any(|e| e == crate::outbox::VERIFICATION_SMS)
        }) {
            return Ok(refuse(page, "sms_off", StatusCode::SERVICE_UNAVAILABLE));
        }
        targets
    } else {
        if mailer.is_none() {
            return Ok(refuse(page, "mail_off", StatusCode::SERVICE_UNAVAILABLE));
        }
        Vec::new()
    };
    let found = web
        .app
        .store
        .find_subject(&page.tenant, kind, &address, "CN")
        .await
        .unwrap_or(None);
    let attempt = uuid::Uuid::new_v4().to_string();
    if let Some(subject) = &found {
        let code = crate::api::requests::new_code().map_err(|_| WebError::internal(page.lang))?;
        let key = format!("signin:{attempt}");
        let c = caller(
            page.tenant.clone(),
            ACTOR,
            Role::Subject,
            Some(subject.clone()),
        );
        let hash = crate::api::requests::code_hash(&web.app, &c, &key, &code);
        let expires =
            Timestamp::now() + jiff::SignedDuration::from_mins(crate::api::requests::CODE_MINUTES);
        web.app
            .store
            .put_verification_code(&page.tenant, &key, &hash, expires)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "storing a sign-in code failed");
                WebError::internal(page.lang)
            })?;
        let controller = p.policy.controller.legal_name.en.clone();
        let minutes = crate::api::requests::CODE_MINUTES;
        let sent = match &mailer {
            Some(mailer) if !by_phone => mailer
                .send_code(&address, &controller, &code, minutes)
                .await
                .map_err(|e| e.to_string()),
            _ => {
                let text = format!(
                    "{controller}: your sign-in code is {code} ({minutes} min). \
                     您的登录验证码是 {code}，{minutes}分钟内有效。"
                );
                // To the number in international form, however it was typed.
                let to = troth_crypto::normalize_phone(&address, "CN")
                    .unwrap_or_else(|_| address.clone());
                crate::outbox::send_sms(&web.app, &page.tenant, &gateway, &to, &text)
                    .await
                    .map_err(|e| e.to_string())
            }
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "sign-in code not sent");
            return Err(WebError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                page.lang,
                "server_error",
            ));
        }
    }
    page.session.pend = Some(Pending {
        id: attempt,
        subject: found.map(|s| s.as_str().to_owned()),
    });
    set_session(&mut page);
    let to = format!("{}/signin/code", page.base());
    Ok(page.redirect(&to))
}

fn set_session(page: &mut Page) {
    let v = page.session.encode(&page.web.keys, COOKIE);
    let c = page.web.cookies.set(COOKIE, &v, &page.base(), LIFETIME);
    page.cookies.push(c);
}

/// The code form.
pub async fn code_page(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let page = Page::open(web, &tenant, &headers, &q).await?;
    if page.session.pend.is_none() {
        return Ok(page.signin_redirect());
    }
    let p = page.in_force().await?;
    let ctx = context! { ..page.ctx(Some(&p.policy), "signin", "signin/code") };
    Ok(page.render("code.html", ctx))
}

/// Checks the code; the right one signs the person in with a fresh session.
pub async fn code(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut page = Page::open(Arc::clone(&web), &tenant, &headers, &q).await?;
    page.session = checked_session(&web, &headers, COOKIE, &form, page.lang)?;
    let Some(pend) = page.session.pend.clone() else {
        return Ok(page.signin_redirect());
    };
    let p = page.in_force().await?;
    let key = format!("signin:{}", pend.id);
    let c = caller(page.tenant.clone(), ACTOR, Role::Subject, None);
    let hash = crate::api::requests::code_hash(&web.app, &c, &key, form.get("code"));
    let check = web
        .app
        .store
        .check_verification_code(
            &page.tenant,
            &key,
            &hash,
            crate::api::requests::CODE_ATTEMPTS,
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "checking a sign-in code failed");
            WebError::internal(page.lang)
        })?;
    let error = match (check, &pend.subject) {
        (troth_store::CodeCheck::Valid, Some(subject)) => {
            page.session.renew(LIFETIME);
            page.session.sub = Some(subject.clone());
            page.session.pend = None;
            set_session(&mut page);
            let to = format!("{}/consents", page.base());
            return Ok(page.redirect(&to));
        }
        (troth_store::CodeCheck::Wrong { attempts_left }, _) => {
            format!("{} {attempts_left}", i18n::t(page.lang, "code_wrong"))
        }
        // An unknown address has no code stored: it reads as "no code pending",
        // exactly like an expired one.
        _ => i18n::t(page.lang, "code_gone").to_owned(),
    };
    let ctx = context! { error => error, ..page.ctx(Some(&p.policy), "signin", "signin/code") };
    let mut res = page.render("code.html", ctx);
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

/// Signs out: a fresh anonymous session.
pub async fn signout(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut page = Page::open(Arc::clone(&web), &tenant, &headers, &q).await?;
    checked_session(&web, &headers, COOKIE, &form, page.lang)?;
    page.session = Session::new(LIFETIME);
    set_session(&mut page);
    let to = format!("{}/policy", page.base());
    Ok(page.redirect(&to))
}

/// One purpose on the dashboard.
#[derive(Debug, Serialize)]
struct PurposeRow {
    id: String,
    name: String,
    description: String,
    basic: bool,
    by_consent: bool,
    basis: &'static str,
    categories: Vec<String>,
    optional: Vec<String>,
    recipients: Vec<String>,
    destinations: Vec<String>,
    status: &'static str,
    given: bool,
}

fn category_names(p: &Policy, ids: &[troth_policy::ids::CategoryId], lang: Lang) -> Vec<String> {
    ids.iter()
        .map(|id| {
            p.categories
                .iter()
                .find(|c| &c.id == id)
                .map_or_else(|| id.to_string(), |c| c.name.get(lang).to_owned())
        })
        .collect()
}

fn basis_key(b: LegalBasis) -> &'static str {
    let name = serde_json::to_value(b)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    match name.as_str() {
        "consent" => "basis_consent",
        "contract" => "basis_contract",
        "legal_obligation" => "basis_legal_obligation",
        "vital_interests" => "basis_vital_interests",
        "public_interest" => "basis_public_interest",
        "legitimate_interest" => "basis_legitimate_interest",
        "news_reporting" => "basis_news_reporting",
        "public_data" => "basis_public_data",
        _ => "basis_hr_management",
    }
}

fn status_key(s: Option<ConsentStatus>) -> &'static str {
    match s {
        Some(ConsentStatus::Given) => "st_given",
        Some(ConsentStatus::Withdrawn) => "st_withdrawn",
        Some(ConsentStatus::Refused) => "st_refused",
        Some(ConsentStatus::Expired) => "st_expired",
        None => "st_none",
    }
}

/// Whether the person still has to agree to the version in force: it changed the
/// policy significantly and they have not accepted it.
async fn needs_reconsent(
    rt: &TenantRuntime,
    p: &Published,
    subject: troth_core::SubjectId,
) -> bool {
    if !p.record.significant {
        return false;
    }
    let ix = rt.index.read().await;
    !ix.as_ref()
        .and_then(|ix| ix.state(subject))
        .is_some_and(|s| s.accepted_versions().contains(&p.version.hash))
}

/// A child the signed-in person is the linked guardian of, with the purposes a
/// guardian decides for.
#[derive(Debug, Serialize)]
struct ChildRow {
    id: String,
    short: String,
    purposes: Vec<ChildPurpose>,
}

#[derive(Debug, Serialize)]
struct ChildPurpose {
    id: String,
    name: String,
    status: &'static str,
    given: bool,
}

/// The subjects whose linked guardian is `guardian` (from the ledger fold: the link
/// is a ledger fact, so every child is in the index).
async fn children_of(
    rt: &TenantRuntime,
    guardian: troth_core::SubjectId,
    policy: &Policy,
    lang: Lang,
) -> Vec<ChildRow> {
    let known: Vec<troth_core::SubjectId> = rt.known.read().await.iter().copied().collect();
    let ix = rt.index.read().await;
    let Some(ix) = ix.as_ref() else {
        return Vec::new();
    };
    let mut out: Vec<ChildRow> = known
        .into_iter()
        .filter_map(|c| ix.state(c).filter(|st| st.guardian() == Some(guardian)))
        .map(|st| {
            let id = st.subject().to_string();
            ChildRow {
                short: id.chars().take(8).collect(),
                purposes: policy
                    .purposes
                    .iter()
                    .filter(|pu| pu.basis == LegalBasis::Consent)
                    .map(|pu| {
                        let status = st
                            .purpose(pu.id.as_str())
                            .and_then(|c| c.general.as_ref())
                            .map(|r| r.status);
                        ChildPurpose {
                            id: pu.id.to_string(),
                            name: pu.name.get(lang).to_owned(),
                            status: i18n::t(lang, status_key(status)),
                            given: status == Some(ConsentStatus::Given),
                        }
                    })
                    .collect(),
                id,
            }
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Whether `child`'s linked guardian is `guardian`.
async fn is_guardian_of(
    rt: &TenantRuntime,
    guardian: troth_core::SubjectId,
    child: troth_core::SubjectId,
) -> bool {
    let ix = rt.index.read().await;
    ix.as_ref()
        .and_then(|ix| ix.state(child))
        .is_some_and(|st| st.guardian() == Some(guardian))
}

/// The consent dashboard.
pub async fn consents(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let page = Page::open(web, &tenant, &headers, &q).await?;
    let Some(subject) = page.subject() else {
        return Ok(page.signin_redirect());
    };
    let p = page.in_force().await?;
    let policy = &p.policy;
    let lang = page.lang;
    let states: Vec<(String, Option<ConsentStatus>)> = {
        let ix = page.rt.index.read().await;
        let st = ix.as_ref().and_then(|ix| ix.state(subject));
        policy
            .purposes
            .iter()
            .map(|pu| {
                let s = st
                    .and_then(|s| s.purpose(pu.id.as_str()))
                    .and_then(|c| c.general.as_ref())
                    .map(|r| r.status);
                (pu.id.to_string(), s)
            })
            .collect()
    };
    let rows: Vec<PurposeRow> = policy
        .purposes
        .iter()
        .zip(states)
        .map(|(pu, (_, status))| PurposeRow {
            id: pu.id.to_string(),
            name: pu.name.get(lang).to_owned(),
            description: pu.description.get(lang).to_owned(),
            basic: pu.function == troth_policy::Function::Basic,
            by_consent: pu.basis == LegalBasis::Consent,
            basis: i18n::t(lang, basis_key(pu.basis)),
            categories: category_names(policy, &pu.categories, lang),
            optional: category_names(policy, &pu.optional_categories, lang),
            recipients: policy
                .recipients
                .iter()
                .filter(|r| r.purposes.contains(&pu.id))
                .map(|r| format!("{} ({})", r.name.get(lang), r.country))
                .collect(),
            destinations: policy
                .transfers
                .iter()
                .filter(|t| t.purposes.contains(&pu.id))
                .map(|t| {
                    let who = policy
                        .recipients
                        .iter()
                        .find(|r| r.id == t.recipient)
                        .map_or_else(|| t.recipient.to_string(), |r| r.name.get(lang).to_owned());
                    format!("{} — {who}", t.destination)
                })
                .collect(),
            status: i18n::t(lang, status_key(status)),
            given: status == Some(ConsentStatus::Given),
        })
        .collect();
    let children = children_of(&page.rt, subject, policy, lang).await;
    let (basic, additional): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.basic);
    let reconsent = needs_reconsent(&page.rt, &p, subject).await;
    let saved = q.saved.is_some();
    let ctx = context! {
        basic => ser(&basic),
        additional => ser(&additional),
        reconsent => reconsent,
        saved => saved,
        children => ser(&children),
        ..page.ctx(Some(policy), "consents", "consents")
    };
    Ok(page.render("consents.html", ctx))
}

/// Records a consent decision from the dashboard, through the API's own handler.
pub async fn set_consent(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut page = Page::open(Arc::clone(&web), &tenant, &headers, &q).await?;
    page.session = checked_session(&web, &headers, COOKIE, &form, page.lang)?;
    let Some(subject) = page.subject() else {
        return Ok(page.signin_redirect());
    };
    let status = match form.get("status") {
        "given" => ConsentStatus::Given,
        "withdrawn" => ConsentStatus::Withdrawn,
        _ => {
            return Err(WebError::new(
                StatusCode::BAD_REQUEST,
                page.lang,
                "error_title",
            ));
        }
    };
    let purpose = form.get("purpose").to_owned();
    // A guardian decides for a linked child: the event is the child's, recorded
    // with the guardian as the actor (seed 003: consent on behalf of a child).
    let child = match form.get("child") {
        "" => None,
        raw => {
            let c: troth_core::SubjectId =
                raw.parse().map_err(|_| WebError::not_found(page.lang))?;
            if !is_guardian_of(&page.rt, subject, c).await {
                return Err(WebError::not_found(page.lang));
            }
            Some(c)
        }
    };
    let (whose, method, actor) = match child {
        Some(c) => (
            c,
            Method::Guardian,
            Some(troth_core::Actor::Guardian {
                guardian: subject,
                evidence: troth_policy::GuardianEvidence::Recorded,
                evidence_hash: None,
            }),
        ),
        None => (subject, Method::Form, None),
    };
    let input = ConsentInput {
        subject: whose.to_string(),
        purpose: purpose.clone(),
        status,
        scope: None,
        method: Some(method),
        actor,
        evidence: None,
        expires_at: None,
        version: None,
        at: None,
    };
    // The browser's own privacy signals travel with the decision, as the API
    // expects applications to forward them.
    let mut signals = HeaderMap::new();
    for name in ["sec-gpc", "dnt"] {
        if let Some(v) = headers.get(name) {
            signals.insert(name, v.clone());
        }
    }
    crate::api::consents::record(
        State(Arc::clone(&web.app)),
        Extension(page.caller(whose)),
        signals,
        ApiJson(input),
    )
    .await
    .map_err(|e| WebError::api(page.lang, &e))?;
    let anchor = match child {
        Some(c) => format!("c-{c}"),
        None => format!("p-{purpose}"),
    };
    let to = format!("{}/consents?saved={purpose}#{anchor}", page.base());
    Ok(page.redirect(&to))
}

/// The re-consent page: what changed in the version in force, and "Agree".
pub async fn reconsent(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let page = Page::open(web, &tenant, &headers, &q).await?;
    let Some(subject) = page.subject() else {
        return Ok(page.signin_redirect());
    };
    let p = page.in_force().await?;
    let versions = page.rt.versions.read().await.clone();
    let needed = needs_reconsent(&page.rt, &p, subject).await;
    let diff = previous_of(&versions, &p).map(|old| diff_view(&old.policy, &p.policy, page.lang));
    let ctx = context! {
        needed => needed,
        diff => diff,
        label => p.record.label.clone(),
        published => view::date(p.record.published),
        hash => p.record.content_hash.clone(),
        saved => q.saved.is_some(),
        ..page.ctx(Some(&p.policy), "consents", "reconsent")
    };
    Ok(page.render("reconsent.html", ctx))
}

/// "Agree": records the explicit acceptance of the version shown.
pub async fn agree(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut page = Page::open(Arc::clone(&web), &tenant, &headers, &q).await?;
    page.session = checked_session(&web, &headers, COOKIE, &form, page.lang)?;
    let Some(subject) = page.subject() else {
        return Ok(page.signin_redirect());
    };
    let input = AcceptInput {
        version: form.get("version").to_owned(),
        method: AcceptMethod::Form,
        evidence: None,
    };
    crate::api::consents::accept_version(
        State(Arc::clone(&web.app)),
        Extension(page.caller(subject)),
        Path(subject.to_string()),
        ApiJson(input),
    )
    .await
    .map_err(|e| WebError::api(page.lang, &e))?;
    let to = format!("{}/reconsent?saved=1", page.base());
    Ok(page.redirect(&to))
}

/// A request as listed or shown.
#[derive(Debug, Serialize)]
pub struct RequestRow {
    /// Request id.
    pub id: String,
    /// Kind code.
    pub kind: String,
    /// Kind, in words.
    pub kind_text: &'static str,
    /// Status code.
    pub status: String,
    /// Status, in words.
    pub status_text: &'static str,
    /// Received date.
    pub received: String,
    /// Due date, once the clock runs.
    pub due: Option<String>,
    /// Countdown to the due date.
    pub countdown: Option<String>,
    /// Alarm code (`none`, `half`, `eighty_percent`, `overdue`).
    pub alarm: String,
    /// Seconds left (negative when overdue), for sorting and live countdowns.
    pub due_epoch: Option<i64>,
    /// Transitions, oldest first.
    pub timeline: Vec<TimelineRow>,
}

/// One transition.
#[derive(Debug, Serialize)]
pub struct TimelineRow {
    /// When.
    pub at: String,
    /// What happened.
    pub what: &'static str,
    /// The state it led to.
    pub to: &'static str,
    /// Extension or refusal reason, completion outcome.
    pub note: Option<String>,
}

/// A request view in words.
pub fn request_row(v: &RequestView, lang: Lang) -> RequestRow {
    let now = Timestamp::now();
    RequestRow {
        id: v.request_id.clone(),
        kind: v.kind.clone(),
        kind_text: i18n::t(lang, &format!("rq_{}", v.kind)),
        status: v.status.clone(),
        status_text: i18n::t(lang, &format!("rs_{}", v.status)),
        received: view::date_time(v.received),
        due: v.due.map(view::date),
        countdown: v.due.map(|d| view::countdown(d, now, lang)),
        alarm: serde_json::to_value(v.alarm)
            .ok()
            .and_then(|a| a.as_str().map(str::to_owned))
            .unwrap_or_default(),
        due_epoch: v.due.map(Timestamp::as_second),
        timeline: v
            .events
            .iter()
            .map(|e| {
                let note = e.command.as_ref().and_then(|c| {
                    let v = serde_json::to_value(c).ok()?;
                    v.get("reason")
                        .or_else(|| v.get("outcome").and_then(|o| o.get("kind")))
                        .and_then(|r| r.as_str())
                        .map(str::to_owned)
                });
                TimelineRow {
                    at: view::date_time(e.at),
                    what: i18n::t(
                        lang,
                        &format!(
                            "cmd_{}",
                            e.command.as_ref().map_or("receive", |c| c.as_str())
                        ),
                    ),
                    to: i18n::t(lang, &format!("rs_{}", e.to.status().as_str())),
                    note,
                }
            })
            .collect(),
    }
}

/// What a request form was sent with, and what was wrong with it: the page is shown
/// again with that kind's form open, each problem next to its field in the page's
/// language, and the person's input kept.
#[derive(Debug, Default, Serialize)]
struct FormState {
    /// The kind whose form was sent.
    open: Option<String>,
    /// Form field (`record`, `value`, `purposes`, `third_party`) → message.
    errors: std::collections::BTreeMap<&'static str, &'static str>,
    /// A problem that is about no one field.
    general: Option<String>,
    /// The fields as sent (a sensitive category's new value is not kept).
    values: std::collections::BTreeMap<String, String>,
}

/// A record held about the person that a correction may name: its category in
/// words and its record id, never its value.
#[derive(Debug, Serialize)]
struct HeldRecord {
    /// `category:record`, the form's value (category ids never hold a `:`).
    key: String,
    category: String,
    record: String,
    sensitive: bool,
}

/// A purpose, for the withdrawal form and the request page.
#[derive(Debug, Serialize)]
struct NamedItem {
    id: String,
    name: String,
}

/// The person's records that a correction may name: those held now in the policy's
/// categories (ids only; nothing is decrypted).
async fn held_records(
    page: &Page,
    policy: &Policy,
    subject: troth_core::SubjectId,
) -> Result<Vec<HeldRecord>, WebError> {
    let records = page
        .web
        .app
        .store
        .live_records(&page.tenant, &[store_subject(subject)], Timestamp::now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "listing vault records failed");
            WebError::internal(page.lang)
        })?;
    Ok(records
        .into_iter()
        .filter_map(|r| {
            // troth's own records (pending corrections, results, exports) are not the
            // person's data in a policy category.
            let c = policy.category(&r.category)?;
            Some(HeldRecord {
                key: format!("{}:{}", r.category, r.record),
                category: c.name.get(page.lang).to_owned(),
                sensitive: c.sensitivity != troth_policy::Sensitivity::Normal,
                record: r.record,
            })
        })
        .collect())
}

/// The purposes whose consent the person has given and not withdrawn.
async fn given_purposes(
    page: &Page,
    policy: &Policy,
    subject: troth_core::SubjectId,
) -> Vec<NamedItem> {
    let now = Timestamp::now();
    let ix = page.rt.index.read().await;
    let st = ix.as_ref().and_then(|ix| ix.state(subject));
    policy
        .purposes
        .iter()
        .filter(|pu| {
            st.and_then(|s| s.purpose(pu.id.as_str()))
                .and_then(|c| c.general.as_ref())
                .is_some_and(|g| g.is_given_at(now))
        })
        .map(|pu| NamedItem {
            id: pu.id.to_string(),
            name: pu.name.get(page.lang).to_owned(),
        })
        .collect()
}

/// The third parties a copy may be sent to: the tenant's webhook targets subscribed
/// to `copy.transfer`, named after the policy recipient they speak for.
async fn third_parties(
    web: &Web,
    tenant: &TenantId,
    policy: &Policy,
    lang: Lang,
) -> Result<Vec<NamedItem>, WebError> {
    let targets = web.app.store.notify_targets(tenant).await.map_err(|e| {
        tracing::error!(error = %e, "reading notify targets failed");
        WebError::internal(lang)
    })?;
    Ok(targets
        .into_iter()
        .filter(|t| crate::outbox::takes_direct(t, crate::outbox::COPY_TRANSFER))
        .map(|t| NamedItem {
            name: third_party_name(policy, &t.target_id, t.recipient.as_deref(), lang),
            id: t.target_id,
        })
        .collect())
}

/// A copy target in words: the policy recipient's name where it speaks for one.
fn third_party_name(policy: &Policy, target: &str, recipient: Option<&str>, lang: Lang) -> String {
    recipient
        .and_then(|r| policy.recipients.iter().find(|p| p.id.as_str() == r))
        .map_or_else(|| target.to_owned(), |r| r.name.get(lang).to_owned())
}

/// The person's requests and a form for every kind the policy in force offers.
pub async fn requests(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let page = Page::open(web, &tenant, &headers, &q).await?;
    let Some(subject) = page.subject() else {
        return Ok(page.signin_redirect());
    };
    requests_page(page, subject, FormState::default(), StatusCode::OK).await
}

async fn requests_page(
    page: Page,
    subject: troth_core::SubjectId,
    form: FormState,
    status: StatusCode,
) -> Result<Response, WebError> {
    let p = page.in_force().await?;
    let records = page
        .web
        .app
        .store
        .requests(
            &page.tenant,
            &RequestFilter::Subject(store_subject(subject)),
            200,
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "listing requests failed");
            WebError::internal(page.lang)
        })?;
    let mut rows = Vec::new();
    for r in records.iter().rev() {
        let v = crate::api::requests::summary(&page.web.app, &page.caller(subject), &r.request_id)
            .await
            .map_err(|e| WebError::api(page.lang, &e))?;
        rows.push(request_row(&v, page.lang));
    }
    let offered = |k: &RequestKind| p.policy.rights.offered.iter().find(|r| r.kind == k.right());
    let kinds: Vec<minijinja::Value> = RequestKind::ALL
        .iter()
        .filter_map(|k| {
            let right = offered(k)?;
            let note = right.note.as_ref().map(|n| n.get(page.lang).to_owned());
            Some(context! {
                code => k.as_str(),
                text => i18n::t(page.lang, &format!("rq_{}", k.as_str())),
                note => note,
            })
        })
        .collect();
    // Only what an offered kind's form needs is read.
    let held = if offered(&RequestKind::Correction).is_some() {
        held_records(&page, &p.policy, subject).await?
    } else {
        Vec::new()
    };
    let given = if offered(&RequestKind::WithdrawConsent).is_some() {
        given_purposes(&page, &p.policy, subject).await
    } else {
        Vec::new()
    };
    let parties = if offered(&RequestKind::Copy).is_some() {
        third_parties(&page.web, &page.tenant, &p.policy, page.lang).await?
    } else {
        Vec::new()
    };
    let ctx = context! {
        requests => ser(&rows),
        kinds => kinds,
        held => ser(&held),
        given => ser(&given),
        third_parties => ser(&parties),
        form => ser(&form),
        ..page.ctx(Some(&p.policy), "requests", "requests")
    };
    let mut res = page.render("requests.html", ctx);
    if status != StatusCode::OK {
        *res.status_mut() = status;
    }
    Ok(res)
}

/// The form field an API problem is about (`corrections[0].value` → `value`).
fn form_field(api_field: &str) -> Option<&'static str> {
    if let Some(rest) = api_field.strip_prefix("corrections") {
        Some(if rest.ends_with(".value") {
            "value"
        } else {
            "record"
        })
    } else if api_field.starts_with("purposes") {
        Some("purposes")
    } else if matches!(api_field, "third_party" | "to_third_party") {
        Some("third_party")
    } else {
        None
    }
}

/// The message shown next to a form field, in the page's language.
fn field_message(field: &str) -> &'static str {
    match field {
        "record" => "err_record",
        "value" => "err_value",
        "purposes" => "err_purposes",
        "third_party" => "err_third_party",
        _ => "error_title",
    }
}

/// Submits a request of the kind the form is for, with what that kind needs,
/// through the API's own handler. A problem with one field shows the form again.
pub async fn submit_request(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut page = Page::open(Arc::clone(&web), &tenant, &headers, &q).await?;
    page.session = checked_session(&web, &headers, COOKIE, &form, page.lang)?;
    let Some(subject) = page.subject() else {
        return Ok(page.signin_redirect());
    };
    let kind: RequestKind =
        serde_json::from_value(serde_json::Value::String(form.get("kind").to_owned()))
            .map_err(|_| WebError::new(StatusCode::BAD_REQUEST, page.lang, "error_title"))?;
    let mut input = NewRequest {
        subject: subject.to_string(),
        kind,
        channel: Some(troth_core::Channel::PrivacyCenter),
        to_third_party: false,
        third_party: None,
        purposes: Vec::new(),
        corrections: Vec::new(),
        developer: None,
    };
    let mut state = FormState {
        open: Some(kind.as_str().to_owned()),
        ..FormState::default()
    };
    let p = page.in_force().await?;
    match kind {
        RequestKind::Correction => {
            let chosen = form.get("record");
            let held = held_records(&page, &p.policy, subject).await?;
            let record = held.iter().find(|r| r.key == chosen);
            state.values.insert("record".into(), chosen.to_owned());
            // A sensitive value (a password, say) is not written back into the page.
            if !record.is_some_and(|r| r.sensitive) {
                state
                    .values
                    .insert("value".into(), form.get("value").to_owned());
            }
            match (record, chosen.split_once(':')) {
                (Some(_), Some((category, rec))) => {
                    input.corrections.push(crate::api::fulfil::CorrectionInput {
                        category: category.to_owned(),
                        record: rec.to_owned(),
                        // As typed: a value may mean its spaces.
                        value: form.0.get("value").cloned().unwrap_or_default(),
                    });
                }
                _ => {
                    state
                        .errors
                        .insert("record", i18n::t(page.lang, "err_record"));
                }
            }
        }
        RequestKind::WithdrawConsent => {
            // One checkbox per purpose (`purpose.<id>`), in the policy's order.
            for pu in &p.policy.purposes {
                let name = format!("purpose.{}", pu.id);
                if !form.get(&name).is_empty() {
                    state.values.insert(name, "on".into());
                    input.purposes.push(pu.id.to_string());
                }
            }
            // An empty list would withdraw every consent: that must be chosen, not
            // fallen into by sending the form untouched.
            if input.purposes.is_empty() {
                state
                    .errors
                    .insert("purposes", i18n::t(page.lang, "err_purposes_none"));
            }
        }
        RequestKind::Copy => {
            let destination = form.get("destination");
            state
                .values
                .insert("destination".into(), destination.to_owned());
            if destination == "third_party" {
                let party = form.get("third_party");
                state.values.insert("third_party".into(), party.to_owned());
                input.to_third_party = true;
                input.third_party = (!party.is_empty()).then(|| party.to_owned());
            }
        }
        _ => {}
    }
    if !state.errors.is_empty() {
        return requests_page(page, subject, state, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let res = crate::api::requests::submit(
        State(Arc::clone(&web.app)),
        Extension(page.caller(subject)),
        ApiJson(input),
    )
    .await;
    let res = match res {
        Ok(res) => res.into_response(),
        Err(e) => {
            let status = e.kind().status();
            if !status.is_client_error() || status == StatusCode::NOT_FOUND {
                return Err(WebError::api(page.lang, &e));
            }
            match e.field_name().and_then(form_field) {
                Some(field) => {
                    state
                        .errors
                        .insert(field, i18n::t(page.lang, field_message(field)));
                }
                None if e.field_name() == Some("kind") => {
                    state.general = Some(i18n::t(page.lang, "err_kind").to_owned());
                }
                None => {
                    state.general = Some(format!(
                        "{} {}",
                        i18n::t(page.lang, "error_title"),
                        api_detail(&e)
                    ));
                }
            }
            return requests_page(page, subject, state, status).await;
        }
    };
    let body = answer_json(res)
        .await
        .map_err(|_| WebError::internal(page.lang))?;
    let id = body
        .get("request_id")
        .and_then(|v| v.as_str())
        .ok_or_else(|| WebError::internal(page.lang))?;
    let to = format!("{}/requests/{id}", page.base());
    Ok(page.redirect(&to))
}

/// What a request asked for beyond its kind, in words: a correction names the
/// category and record, never the value.
#[derive(Debug, Default, Serialize)]
struct Asked {
    purposes: Vec<String>,
    corrections: Vec<String>,
    third_party: Option<String>,
}

/// A kept decision, explained.
#[derive(Debug, Serialize)]
struct DecisionWords {
    time: String,
    allowed: bool,
    text: String,
    reasons: Vec<String>,
}

/// A purpose as an explanation names it.
#[derive(Debug, Serialize)]
struct PurposeWords {
    name: String,
    description: String,
    basis: &'static str,
}

/// What completing a request produced (`result` on the API's single read), in words.
#[derive(Debug, Default, Serialize)]
struct Outcome {
    corrected: Vec<String>,
    /// Set for a withdrawal, even when there was nothing to withdraw.
    withdrawn: Option<Vec<String>>,
    opted_out: bool,
    transferred_to: Option<String>,
    transfer_status: Option<u64>,
    transfer_bytes: Option<u64>,
    transfer_checksum: Option<String>,
    explained: bool,
    purposes: Vec<PurposeWords>,
    decisions: Vec<DecisionWords>,
}

fn purpose_name(policy: &Policy, id: &str, lang: Lang) -> String {
    policy
        .purpose(id)
        .map_or_else(|| id.to_owned(), |p| p.name.get(lang).to_owned())
}

fn record_words(policy: &Policy, category: &str, record: &str, lang: Lang) -> String {
    let name = policy
        .category(category)
        .map_or_else(|| category.to_owned(), |c| c.name.get(lang).to_owned());
    match lang {
        Lang::En => format!("{name} ({record})"),
        Lang::ZhCn => format!("{name}（{record}）"),
    }
}

/// Text kept as `{en, zh-CN}` in a result, in `lang`.
fn text_in(v: &serde_json::Value, lang: Lang) -> String {
    v.get(i18n::code(lang))
        .or_else(|| v.get("en"))
        .and_then(|s| s.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn basis_words(v: &serde_json::Value, lang: Lang) -> &'static str {
    serde_json::from_value::<LegalBasis>(v.clone()).map_or("", |b| i18n::t(lang, basis_key(b)))
}

fn asked(v: &RequestView, policy: &Policy, parties: &[NamedItem], lang: Lang) -> Asked {
    Asked {
        purposes: v
            .asks
            .purposes
            .iter()
            .map(|p| purpose_name(policy, p, lang))
            .collect(),
        corrections: v
            .asks
            .corrections
            .iter()
            .map(|c| record_words(policy, &c.category, &c.record, lang))
            .collect(),
        third_party: v.asks.third_party.as_ref().map(|id| {
            parties
                .iter()
                .find(|t| &t.id == id)
                .map_or_else(|| id.clone(), |t| t.name.clone())
        }),
    }
}

/// One kept decision in a sentence of the page's language.
fn decision_words(d: &serde_json::Value, policy: &Policy, lang: Lang) -> DecisionWords {
    let purpose = purpose_name(policy, d["purpose"].as_str().unwrap_or_default(), lang);
    let categories: Vec<String> = d["categories"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.as_str())
                .map(|c| {
                    policy
                        .category(c)
                        .map_or_else(|| c.to_owned(), |c| c.name.get(lang).to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let allowed = d["allow"].as_bool() == Some(true);
    let basis = basis_words(&d["basis"]["legal"], lang);
    let text = match (lang, allowed) {
        (Lang::En, true) => format!(
            "Allowed: “{purpose}” may use {} on the basis of {basis}.",
            categories.join(", ")
        ),
        (Lang::En, false) => format!(
            "Refused: “{purpose}” may not use {}.",
            categories.join(", ")
        ),
        (Lang::ZhCn, true) => format!(
            "允许：“{purpose}”可依据“{basis}”使用{}。",
            categories.join("、")
        ),
        (Lang::ZhCn, false) => format!("拒绝：“{purpose}”不得使用{}。", categories.join("、")),
    };
    DecisionWords {
        time: d["time"]
            .as_str()
            .and_then(|t| t.parse::<Timestamp>().ok())
            .map(view::date_time)
            .unwrap_or_default(),
        allowed,
        text,
        reasons: d["reasons"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r["code"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn outcome(result: &serde_json::Value, policy: &Policy, lang: Lang) -> Outcome {
    let strs = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut o = Outcome::default();
    if let Some(cs) = result["corrected"].as_array() {
        o.corrected = cs
            .iter()
            .map(|c| {
                record_words(
                    policy,
                    c["category"].as_str().unwrap_or_default(),
                    c["record"].as_str().unwrap_or_default(),
                    lang,
                )
            })
            .collect();
    }
    if result.get("withdrawn").is_some() {
        o.withdrawn = Some(
            strs(&result["withdrawn"])
                .iter()
                .map(|p| purpose_name(policy, p, lang))
                .collect(),
        );
    }
    o.opted_out = result["targeting_opted_out"].as_bool() == Some(true);
    if let Some(id) = result["transferred_to"].as_str() {
        o.transferred_to = Some(third_party_name(
            policy,
            id,
            result["recipient"].as_str(),
            lang,
        ));
        o.transfer_status = result["status"].as_u64();
        o.transfer_bytes = result["bytes"].as_u64();
        o.transfer_checksum = result["manifest_sha256"].as_str().map(str::to_owned);
    }
    if let Some(ps) = result["purposes"].as_array() {
        o.explained = true;
        o.purposes = ps
            .iter()
            .map(|p| PurposeWords {
                name: text_in(&p["name"], lang),
                description: text_in(&p["description"], lang),
                basis: basis_words(&p["basis"], lang),
            })
            .collect();
        o.decisions = result["decisions"]
            .as_array()
            .map(|ds| ds.iter().map(|d| decision_words(d, policy, lang)).collect())
            .unwrap_or_default();
    }
    o
}

/// What a request asked for and what completing it did, in words, for a template's
/// `asked` and `outcome` (the privacy center's request page and the console's).
pub(crate) async fn asked_and_done(
    web: &Web,
    tenant: &TenantId,
    v: &RequestView,
    policy: &Policy,
    lang: Lang,
) -> Result<(minijinja::Value, Option<minijinja::Value>), WebError> {
    let parties = if v.asks.third_party.is_some() {
        third_parties(web, tenant, policy, lang).await?
    } else {
        Vec::new()
    };
    let asked = asked(v, policy, &parties, lang);
    let done = v.result.as_ref().map(|r| outcome(r, policy, lang));
    Ok((ser(&asked), done.as_ref().map(ser)))
}

async fn show_request(
    page: Page,
    id: &str,
    error: Option<String>,
    sent: bool,
) -> Result<Response, WebError> {
    let Some(subject) = page.subject() else {
        return Ok(page.signin_redirect());
    };
    let p = page.in_force().await?;
    let v = crate::api::requests::get(
        State(Arc::clone(&page.web.app)),
        Extension(page.caller(subject)),
        Path(id.to_owned()),
    )
    .await
    .map_err(|e| WebError::api(page.lang, &e))?;
    let row = request_row(&v.0, page.lang);
    let (asked, outcome) =
        asked_and_done(&page.web, &page.tenant, &v.0, &p.policy, page.lang).await?;
    let failed = error.is_some();
    let here = format!("requests/{id}");
    let ctx = context! {
        r => ser(&row),
        asked => asked,
        outcome => outcome,
        error => error,
        sent => sent,
        ..page.ctx(Some(&p.policy), "requests", &here)
    };
    let mut res = page.render("request.html", ctx);
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// One request: status, due date, timeline, identity verification.
pub async fn request(
    State(web): State<Arc<Web>>,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let page = Page::open(web, &tenant, &headers, &q).await?;
    show_request(page, &id, None, q.sent.is_some()).await
}

/// Emails a verification code for a request (the API's handler).
pub async fn request_code(
    State(web): State<Arc<Web>>,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut page = Page::open(Arc::clone(&web), &tenant, &headers, &q).await?;
    page.session = checked_session(&web, &headers, COOKIE, &form, page.lang)?;
    let Some(subject) = page.subject() else {
        return Ok(page.signin_redirect());
    };
    let res = crate::api::requests::send_code(
        State(Arc::clone(&web.app)),
        Extension(page.caller(subject)),
        Path(id.clone()),
        axum::extract::Query(crate::api::requests::CodeChannel::default()),
    )
    .await;
    match res {
        Ok(_) => {
            let to = format!("{}/requests/{id}?sent=1", page.base());
            Ok(page.redirect(&to))
        }
        Err(e) => {
            let msg = api_detail(&e);
            show_request(page, &id, Some(msg), false).await
        }
    }
}

/// Checks a request's verification code (the API's handler).
pub async fn request_confirm(
    State(web): State<Arc<Web>>,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut page = Page::open(Arc::clone(&web), &tenant, &headers, &q).await?;
    page.session = checked_session(&web, &headers, COOKIE, &form, page.lang)?;
    let Some(subject) = page.subject() else {
        return Ok(page.signin_redirect());
    };
    let res = crate::api::requests::confirm_code(
        State(Arc::clone(&web.app)),
        Extension(page.caller(subject)),
        Path(id.clone()),
        ApiJson(CodeInput {
            code: form.get("code").to_owned(),
        }),
    )
    .await;
    match res {
        Ok(_) => {
            let to = format!("{}/requests/{id}", page.base());
            Ok(page.redirect(&to))
        }
        Err(e) => {
            let msg = match e.kind() {
                ProblemKind::Unprocessable => {
                    let left: String = api_detail(&e)
                        .chars()
                        .filter(char::is_ascii_digit)
                        .collect();
                    format!("{} {left}", i18n::t(page.lang, "code_wrong"))
                }
                _ => i18n::t(page.lang, "code_gone").to_owned(),
            };
            show_request(page, &id, Some(msg), true).await
        }
    }
}

/// Prepares the export of a completed access or copy request (the API's handler,
/// as the request's own subject) and sends the browser to its one-time link.
pub async fn request_export(
    State(web): State<Arc<Web>>,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut page = Page::open(Arc::clone(&web), &tenant, &headers, &q).await?;
    page.session = checked_session(&web, &headers, COOKIE, &form, page.lang)?;
    let Some(subject) = page.subject() else {
        return Ok(page.signin_redirect());
    };
    let res = crate::api::exports::create(
        State(Arc::clone(&web.app)),
        Extension(page.caller(subject)),
        Path(id.clone()),
    )
    .await;
    match res {
        Ok((_, created)) => Ok(page.redirect(&created.0.download)),
        Err(e) => {
            let msg = api_detail(&e);
            show_request(page, &id, Some(msg), false).await
        }
    }
}
