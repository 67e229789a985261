//! The web pages `troth serve` offers beside the JSON API: the per-tenant privacy
//! center for people (`/t/{tenant}/…`), the admin console for operators
//! (`/console/…`) and the consent banner a company embeds (`/banner.js`).
//!
//! Pages are rendered on the server (minijinja templates embedded in the binary)
//! and work without JavaScript; every form carries a CSRF token tied to the signed
//! session cookie; every page is sent with a strict Content-Security-Policy. Writes
//! go through the same handlers the `/v1` API uses, called with a [`Caller`] built
//! from the browser session, so the permission checks, audit entries and ledger
//! updates are exactly the API's.

pub mod banner;
pub mod center;
pub mod console;
pub mod i18n;
pub mod session;
pub mod view;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use troth_policy::Lang;
use troth_store::{SubjectId, TenantId};

use crate::api::caller::Caller;
use crate::api::state::AppState;
use crate::auth::Role;
use crate::config::Config;
use crate::error::ApiError;
use session::{CookiePolicy, Keys, Session};

/// What the web handlers share.
pub struct Web {
    /// The API's state.
    pub app: Arc<AppState>,
    /// Cookie and CSRF key.
    pub keys: Keys,
    /// Cookie attributes.
    pub cookies: CookiePolicy,
    /// Limits banner writes per tenant.
    pub banner_limit: banner::Limiter,
}

/// The Content-Security-Policy of every page: only this origin's scripts, styles,
/// images and form targets; no framing, no plugins, no inline code.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'; object-src 'none'";

/// The web routes.
pub fn router(app: Arc<AppState>, config: &Config) -> Router {
    let web = Arc::new(Web {
        keys: Keys::derive(&app.code_key),
        cookies: CookiePolicy {
            secure: config.tls.is_some(),
        },
        banner_limit: banner::limiter(),
        app,
    });
    let pages = Router::new()
        .route("/t/{tenant}", get(center::home))
        .route("/t/{tenant}/policy", get(center::policy))
        .route("/t/{tenant}/policy/versions", get(center::versions))
        .route("/t/{tenant}/policy/versions/{hash}", get(center::version))
        .route("/t/{tenant}/policy/diff", get(center::diff))
        .route(
            "/t/{tenant}/signin",
            get(center::signin_page).post(center::signin),
        )
        .route(
            "/t/{tenant}/signin/code",
            get(center::code_page).post(center::code),
        )
        .route("/t/{tenant}/signout", post(center::signout))
        .route(
            "/t/{tenant}/consents",
            get(center::consents).post(center::set_consent),
        )
        .route(
            "/t/{tenant}/reconsent",
            get(center::reconsent).post(center::agree),
        )
        .route(
            "/t/{tenant}/requests",
            get(center::requests).post(center::submit_request),
        )
        .route("/t/{tenant}/requests/{id}", get(center::request))
        .route("/t/{tenant}/requests/{id}/code", post(center::request_code))
        .route(
            "/t/{tenant}/requests/{id}/confirm",
            post(center::request_confirm),
        )
        .route(
            "/t/{tenant}/requests/{id}/export",
            post(center::request_export),
        )
        .route("/console", get(console::home))
        .route(
            "/console/signin",
            get(console::signin_page).post(console::signin),
        )
        .route("/console/signout", post(console::signout))
        .route("/console/requests", get(console::queue))
        .route("/console/requests/{id}", get(console::request))
        .route("/console/requests/{id}/move", post(console::move_request))
        .route("/console/consents", get(console::stats))
        .route("/console/policies", get(console::policies))
        .route("/console/policies/versions/{hash}", get(console::version))
        .route("/console/policies/diff", get(console::diff))
        .route("/console/policies/check", post(console::check))
        .route("/console/policies/publish", post(console::publish))
        .route("/console/audit", get(console::audit))
        .route("/console/audit/verify", get(console::verify))
        .route(
            "/console/incidents",
            get(console::incidents::list).post(console::incidents::create),
        )
        .route("/console/incidents/{id}", get(console::incidents::detail))
        .route("/console/incidents/{id}/act", post(console::incidents::act))
        .route(
            "/console/incidents/{id}/report",
            get(console::incidents::report),
        )
        .route(
            "/console/incidents/{id}/report.json",
            get(console::incidents::report_download),
        )
        .route("/console/reports", get(console::reports::page))
        .route(
            "/console/reports/{file}",
            get(console::reports::download).post(console::reports::generate),
        )
        .route(
            "/console/reports/{kind}/{id}",
            get(console::reports::document),
        )
        .route(
            "/console/reports/{kind}/{id}/json",
            get(console::reports::document_json),
        )
        .route(
            "/console/holds",
            get(console::holds::list).post(console::holds::place),
        )
        .route("/console/holds/{id}/lift", post(console::holds::lift))
        .route(
            "/console/calendar",
            get(console::calendar::show).post(console::calendar::save),
        )
        .layer(middleware::from_fn(page_headers));
    let assets = Router::new()
        .route("/static/web.css", get(css))
        .route("/static/console.js", get(console_js))
        .route("/banner.js", get(banner_js))
        .route("/t/{tenant}/banner/config", get(banner::config))
        .route("/t/{tenant}/banner/consent", post(banner::record))
        .layer(middleware::from_fn(nosniff));
    pages.merge(assets).with_state(web)
}

/// Security headers on every page.
async fn page_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages show personal state; no shared cache may keep them.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

async fn nosniff(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// The stylesheet shared by the privacy center and the console.
pub const WEB_CSS: &str = include_str!("../../static/web.css");
/// Progressive enhancement for the console (live countdowns); pages work without it.
pub const CONSOLE_JS: &str = include_str!("../../static/console.js");
/// The consent banner.
pub const BANNER_JS: &str = include_str!("../../static/banner.js");

fn asset(body: &'static str, content_type: &'static str, headers: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", &blake3::hash(body.as_bytes()).to_hex()[..32]);
    let mut res = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = res.headers_mut();
    // An hour fresh, then revalidated by ETag: a new release reaches browsers soon.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600, must-revalidate"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}

async fn css(headers: HeaderMap) -> Response {
    asset(WEB_CSS, "text/css; charset=utf-8", &headers)
}

async fn console_js(headers: HeaderMap) -> Response {
    asset(CONSOLE_JS, "text/javascript; charset=utf-8", &headers)
}

async fn banner_js(headers: HeaderMap) -> Response {
    let mut res = asset(BANNER_JS, "text/javascript; charset=utf-8", &headers);
    // Embedded by other origins.
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res.headers_mut().insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    res
}

/// A page that could not be shown, rendered as an HTML error page.
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    lang: Lang,
    key: &'static str,
    detail: Option<String>,
}

impl WebError {
    /// An error page with the interface string `key`.
    pub fn new(status: StatusCode, lang: Lang, key: &'static str) -> Self {
        Self {
            status,
            lang,
            key,
            detail: None,
        }
    }

    /// 404.
    pub fn not_found(lang: Lang) -> Self {
        Self::new(StatusCode::NOT_FOUND, lang, "not_found")
    }

    /// 403 for a missing or wrong CSRF token.
    pub fn csrf(lang: Lang) -> Self {
        Self::new(StatusCode::FORBIDDEN, lang, "csrf_failed")
    }

    /// 500.
    pub fn internal(lang: Lang) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, lang, "server_error")
    }

    /// From an API error: its status, and its detail sentence (never PI).
    pub fn api(lang: Lang, e: &ApiError) -> Self {
        let status = e.kind().status();
        let key = match status {
            StatusCode::NOT_FOUND => "not_found",
            s if s.is_server_error() => "server_error",
            _ => "error_title",
        };
        Self {
            status,
            lang,
            key,
            detail: (!status.is_server_error()).then(|| api_detail(e)),
        }
    }
}

/// The human sentence of an API error.
pub fn api_detail(e: &ApiError) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let ctx = minijinja::context! {
            t => i18n::strings(self.lang),
            lang => i18n::code(self.lang),
            message => i18n::t(self.lang, self.key),
            detail => self.detail,
        };
        let mut res = match view::render("error.html", ctx) {
            Ok(html) => axum::response::Html(html).into_response(),
            Err(_) => "error".into_response(),
        };
        *res.status_mut() = self.status;
        res
    }
}

/// A form body as field → value (the last value wins). A body that does not parse
/// is an empty form, which then fails its CSRF check.
#[derive(Debug, Default)]
pub struct FormData(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(
            axum::Form::<Vec<(String, String)>>::from_request(req, state)
                .await
                .map(|axum::Form(v)| FormData(v.into_iter().collect()))
                .unwrap_or_default(),
        )
    }
}

impl FormData {
    /// A field's value, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", |v| v.trim())
    }
}

/// A caller as the API sees it, for a web session.
pub fn caller(tenant: TenantId, key_id: &str, role: Role, subject: Option<SubjectId>) -> Caller {
    Caller {
        tenant,
        key_id: key_id.to_owned(),
        role,
        subject,
        denied: Arc::new(OnceLock::new()),
    }
}

/// A 303 to `to`, with `Set-Cookie` headers.
pub fn see_other(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut res = Redirect::to(to).into_response();
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// An HTML page with `Set-Cookie` headers.
pub fn html(body: String, cookies: Vec<HeaderValue>) -> Response {
    let mut res = axum::response::Html(body).into_response();
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// Reads the session cookie `name`, or starts an anonymous one (returned with the
/// cookie to set).
pub fn session(
    web: &Web,
    headers: &HeaderMap,
    name: &str,
    path: &str,
    secs: i64,
) -> (Session, Vec<HeaderValue>) {
    match session::cookie(headers, name).and_then(|v| Session::decode(&web.keys, name, &v)) {
        Some(s) => (s, Vec::new()),
        None => {
            let s = Session::new(secs);
            let c = web
                .cookies
                .set(name, &s.encode(&web.keys, name), path, secs);
            (s, vec![c])
        }
    }
}

/// The existing session if the form's CSRF token matches it.
pub fn checked_session(
    web: &Web,
    headers: &HeaderMap,
    name: &str,
    form: &FormData,
    lang: Lang,
) -> Result<Session, WebError> {
    let s = session::cookie(headers, name)
        .and_then(|v| Session::decode(&web.keys, name, &v))
        .ok_or_else(|| WebError::csrf(lang))?;
    if s.csrf_ok(&web.keys, form.get("_csrf")) {
        Ok(s)
    } else {
        Err(WebError::csrf(lang))
    }
}

/// A serialisable value for a template.
pub fn ser<T: serde::Serialize>(v: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

/// An empty body for handler calls that take one.
pub fn empty() -> Body {
    Body::empty()
}

/// Reads a handler's JSON answer (or its problem) into a value.
pub async fn answer_json(res: Response) -> Result<serde_json::Value, serde_json::Value> {
    let ok = res.status().is_success();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if ok { Ok(v) } else { Err(v) }
}
