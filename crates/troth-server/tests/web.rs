//! The web pages at the HTTP level: security headers, cookies, CSRF, languages,
//! and the no-JavaScript flows (sign in by emailed code, toggle a consent, submit
//! and verify a request, work it in the console), checked against the API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{Backend, Reply, Server, SmtpSink};

/// A browser without JavaScript: a cookie jar and form posts.
struct Browser<'a> {
    s: &'a Server,
    jar: Vec<(String, String)>,
    lang: Option<&'static str>,
}

impl<'a> Browser<'a> {
    fn new(s: &'a Server) -> Self {
        Self {
            s,
            jar: Vec::new(),
            lang: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, r: &Reply) {
        for v in r.headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (kv, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            self.jar.retain(|(n, _)| n != k);
            self.jar.push((k.to_owned(), val.to_owned()));
        }
    }

    async fn get(&mut self, path: &str) -> Reply {
        let cookie = self.cookie_header();
        let mut h = vec![("cookie", cookie.as_str())];
        if let Some(l) = self.lang {
            h.push(("accept-language", l));
        }
        let r = self
            .s
            .call(Method::GET, path, None, Body::empty(), &h)
            .await;
        self.keep(&r);
        r
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded(fields);
        let cookie = self.cookie_header();
        let r = self
            .s
            .call(
                Method::POST,
                path,
                None,
                Body::from(body),
                &[
                    ("cookie", cookie.as_str()),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
            )
            .await;
        self.keep(&r);
        r
    }

    /// Loads `page` and posts its form with `fields` plus the page's CSRF token.
    async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Reply {
        let html = self.get(page).await.text();
        let token = csrf(&html);
        let mut all = fields.to_vec();
        all.push(("_csrf", &token));
        self.post(action, &all).await
    }
}

fn serde_urlencoded(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn csrf(html: &str) -> String {
    let start = html
        .find(r#"name="_csrf" value=""#)
        .unwrap_or_else(|| panic!("no CSRF field in:\n{html}"))
        + r#"name="_csrf" value=""#.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn location(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    r.header("location").unwrap().to_owned()
}

async fn mail_server() -> (Server, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = format!("smtp://{}", sink.addr);
    let s = Server::start_with(Backend::Sqlite, move |c| {
        c.smtp = Some(troth_server::config::SmtpConfig {
            url,
            from: "Privacy team <privacy@tenant.example>".into(),
        });
    })
    .await;
    (s, sink)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_has_a_csp_and_security_headers() {
    let s = Server::start(Backend::Sqlite).await;
    let (t, _) = s.tenant("Acme").await;
    let mut b = Browser::new(&s);
    for path in [
        format!("/t/{t}/policy"),
        format!("/t/{t}/policy/versions"),
        format!("/t/{t}/signin"),
        "/console/signin".to_owned(),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        let csp = r.header("content-security-policy").unwrap();
        assert_eq!(csp, troth_server::web::CSP, "{path}");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
    }
    // Unknown tenants are an HTML 404, with the CSP too.
    let r = b
        .get("/t/00000000-0000-4000-8000-000000000000/policy")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.header("content-security-policy").is_some());
    // Static assets are cacheable and revalidated.
    let r = b.get("/static/web.css").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("cache-control").unwrap().contains("max-age"));
    let etag = r.header("etag").unwrap().to_owned();
    let r = s
        .call(
            Method::GET,
            "/static/web.css",
            None,
            Body::empty(),
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookies_are_http_only_lax_and_secure_under_tls() {
    let s = Server::start(Backend::Sqlite).await;
    let (t, _) = s.tenant("Acme").await;
    let mut b = Browser::new(&s);
    let r = b.get(&format!("/t/{t}/signin")).await;
    let c = r.header("set-cookie").unwrap();
    assert!(c.starts_with("troth_pc="), "{c}");
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
    assert!(c.contains(&format!("Path=/t/{t}")), "{c}");
    assert!(!c.contains("Secure"), "plain HTTP: {c}");
    // The same pages behind TLS mark the cookie Secure.
    let mut config = s.config.clone();
    config.tls = Some(troth_server::config::TlsConfig {
        cert: "unused.pem".into(),
        key: "unused.pem".into(),
    });
    let router = troth_server::web::router(std::sync::Arc::clone(&s.state), &config);
    use tower::ServiceExt as _;
    let res = router
        .oneshot(
            axum::http::Request::get("/console/signin")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let c = res.headers()["set-cookie"].to_str().unwrap();
    assert!(c.contains("; Secure") && c.contains("HttpOnly"), "{c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_right_csrf_token_are_refused() {
    let (s, sink) = mail_server().await;
    let (t, admin) = s.tenant("Acme").await;
    s.subject(
        &admin,
        json!({ "identities": [{ "kind": "email", "value": "li.lei@example.com" }] }),
    )
    .await;
    let mut b = Browser::new(&s);
    let path = format!("/t/{t}/signin");
    // No cookie, no token.
    let r = b.post(&path, &[("email", "li.lei@example.com")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("did not come from this site"));
    // A session but a wrong token.
    b.get(&path).await;
    let r = b
        .post(&path, &[("email", "li.lei@example.com"), ("_csrf", "AAAA")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Another session's token does not work either.
    let mut other = Browser::new(&s);
    let foreign = csrf(&other.get(&path).await.text());
    let r = b
        .post(
            &path,
            &[("email", "li.lei@example.com"), ("_csrf", &foreign)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(sink.messages.lock().unwrap().is_empty(), "no code was sent");
    // The console refuses the same way.
    let r = b.post("/console/signin", &[("api_key", &admin)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // With its own token the form works.
    let r = b
        .submit(&path, &path, &[("email", "li.lei@example.com")])
        .await;
    assert_eq!(location(&r), format!("/t/{t}/signin/code"));
    assert_eq!(sink.messages.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_is_shown_in_chinese_or_english() {
    let s = Server::start(Backend::Sqlite).await;
    let (t, _) = s.tenant("Acme").await;
    let policy: toml::Value = toml::from_str(&support::s002()).unwrap();
    let title_zh = policy["policy"]["title"]["zh-CN"].as_str().unwrap();
    let title_en = policy["policy"]["title"]["en"].as_str().unwrap();
    let mut b = Browser::new(&s);
    b.lang = Some("zh-CN,zh;q=0.9,en;q=0.5");
    let html = b.get(&format!("/t/{t}/policy")).await.text();
    assert!(html.contains(r#"<html lang="zh-CN">"#));
    assert!(html.contains(title_zh), "Chinese title");
    assert!(html.contains("隐私中心") && html.contains("历史版本") && html.contains("生效日期"));
    assert!(!html.contains("Earlier versions"));
    // ?lang= wins over Accept-Language and is remembered.
    let r = b.get(&format!("/t/{t}/policy?lang=en")).await;
    assert!(r.text().contains(title_en));
    assert!(r.text().contains(r#"<html lang="en">"#));
    let html = b.get(&format!("/t/{t}/policy/versions")).await.text();
    assert!(html.contains("All versions of this policy"), "remembered");
    assert!(html.contains("In force"));
}

/// Signs in through the privacy center with the emailed code.
async fn sign_in(b: &mut Browser<'_>, t: &str, sink: &SmtpSink, email: &str) {
    let path = format!("/t/{t}/signin");
    let r = b.submit(&path, &path, &[("email", email)]).await;
    let code_page = location(&r);
    let r = b
        .submit(&code_page, &code_page, &[("code", "000000")])
        .await;
    // A wrong code first: refused with the attempts left.
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("Attempts left: 4"), "{}", r.text());
    let code = sink.last_code();
    let r = b.submit(&code_page, &code_page, &[("code", &code)]).await;
    assert_eq!(location(&r), format!("/t/{t}/consents"));
}

/// A loopback SMS gateway: the JSON bodies troth posts to it.
async fn sms_gateway() -> (
    std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    String,
) {
    let texts: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Default::default();
    let seen = std::sync::Arc::clone(&texts);
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |body: axum::body::Bytes| {
            let seen = std::sync::Arc::clone(&seen);
            async move {
                seen.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (texts, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_a_code_by_text_message() {
    let (s, _sink) = mail_server().await;
    let (t, admin) = s.tenant("Acme").await;
    s.subject(
        &admin,
        json!({ "identities": [{ "kind": "phone", "value": "+86 138 0013 8000" }] }),
    )
    .await;
    let mut b = Browser::new(&s);
    let path = format!("/t/{t}/signin");
    // The form offers both; without an SMS gateway a number is refused, saying so.
    assert!(b.get(&path).await.text().contains(r#"name="phone""#));
    let r = b
        .submit(
            &path,
            &path,
            &[("email", ""), ("phone", "+86 138 0013 8000")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.text().contains("text message is not available"));
    let r = b
        .submit(&path, &path, &[("email", ""), ("phone", "call me")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let (texts, url) = sms_gateway().await;
    let r = s
        .send(
            Method::PUT,
            "/v1/notify-targets/sms",
            &admin,
            json!({ "webhook": url, "events": ["verification.sms"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // An unknown number gets the same answer and no message.
    let r = b
        .submit(
            &path,
            &path,
            &[("email", ""), ("phone", "+86 139 0000 0000")],
        )
        .await;
    assert_eq!(location(&r), format!("/t/{t}/signin/code"));
    assert!(texts.lock().unwrap().is_empty());
    // A known one gets a code by text, and the code signs the person in.
    let r = b
        .submit(&path, &path, &[("email", ""), ("phone", "138 0013 8000")])
        .await;
    let code_page = location(&r);
    let sent = texts.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["to"], "+8613800138000");
    let text = sent[0]["text"].as_str().unwrap();
    assert!(text.contains("登录验证码"), "{text}");
    let code: String = text
        .split("code is ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    let r = b.submit(&code_page, &code_page, &[("code", &code)]).await;
    assert_eq!(location(&r), format!("/t/{t}/consents"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_a_person_signs_in_and_toggles_a_consent() {
    let (s, sink) = mail_server().await;
    let (t, admin) = s.tenant("Acme").await;
    let sub = s
        .subject(
            &admin,
            json!({ "identities": [{ "kind": "email", "value": "li.lei@example.com" }] }),
        )
        .await;
    let mut b = Browser::new(&s);
    // Signed out, the dashboard sends people to sign in.
    let r = b.get(&format!("/t/{t}/consents")).await;
    assert_eq!(location(&r), format!("/t/{t}/signin"));
    // An unknown address gets the same answer and no mail.
    let path = format!("/t/{t}/signin");
    let r = b
        .submit(&path, &path, &[("email", "nobody@example.com")])
        .await;
    assert_eq!(location(&r), format!("/t/{t}/signin/code"));
    assert!(sink.messages.lock().unwrap().is_empty());
    let code_page = format!("/t/{t}/signin/code");
    let r = b
        .submit(&code_page, &code_page, &[("code", "123456")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    sign_in(&mut b, &t.to_string(), &sink, "li.lei@example.com").await;
    let dash = format!("/t/{t}/consents");
    let html = b.get(&dash).await.text();
    assert!(html.contains("Basic function") && html.contains("Additional function"));
    assert!(html.contains(r#"data-purpose="analytics""#));
    assert!(html.contains("Not yet decided"));

    let r = b
        .submit(
            &dash,
            &dash,
            &[("purpose", "analytics"), ("status", "given")],
        )
        .await;
    assert!(location(&r).starts_with(&format!("/t/{t}/consents?saved=analytics")));
    let state = s.get(&format!("/v1/subjects/{sub}/consents"), &admin).await;
    assert_eq!(state.status, StatusCode::OK);
    let history = s
        .get(&format!("/v1/subjects/{sub}/consents/history"), &admin)
        .await
        .json();
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["fact"]["status"], "given", "{last}");
    assert_eq!(last["fact"]["purpose"], "analytics");
    assert_eq!(last["fact"]["method"], "form");
    let decision = s
        .post(
            "/v1/decisions",
            &admin,
            json!({ "subject": sub, "purpose": "analytics", "categories": ["usage-log"] }),
        )
        .await;
    assert_eq!(decision.json()["allow"], true, "{}", decision.text());
    let html = b.get(&dash).await.text();
    assert!(html.contains("Saved. Your choice is recorded.") || html.contains("Consent given"));

    // Withdrawing is the same single click.
    let r = b
        .submit(
            &dash,
            &dash,
            &[("purpose", "analytics"), ("status", "withdrawn")],
        )
        .await;
    location(&r);
    let decision = s
        .post(
            "/v1/decisions",
            &admin,
            json!({ "subject": sub, "purpose": "analytics", "categories": ["usage-log"] }),
        )
        .await;
    assert_eq!(decision.json()["allow"], false, "{}", decision.text());
    // A purpose the policy does not have is refused by the API's own checks.
    let r = b
        .submit(
            &dash,
            &dash,
            &[("purpose", "mind-reading"), ("status", "given")],
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_submitted_verified_and_completed_without_javascript() {
    let (s, sink) = mail_server().await;
    let (t, admin) = s.tenant("Acme").await;
    s.subject(
        &admin,
        json!({ "identities": [{ "kind": "email", "value": "li.lei@example.com" }] }),
    )
    .await;
    let mut b = Browser::new(&s);
    sign_in(&mut b, &t.to_string(), &sink, "li.lei@example.com").await;
    let list = format!("/t/{t}/requests");
    let html = b.get(&list).await.text();
    for kind in ["access", "deletion", "complaint"] {
        assert!(
            html.contains(&format!(r#"value="{kind}""#)),
            "{kind} offered"
        );
    }
    let r = b.submit(&list, &list, &[("kind", "access")]).await;
    let page = location(&r);
    let id = page.rsplit('/').next().unwrap().to_owned();
    let html = b.get(&page).await.text();
    assert!(html.contains(r#"data-status="received""#), "{html}");
    let r = b.submit(&page, &format!("{page}/code"), &[]).await;
    assert_eq!(location(&r), format!("{page}?sent=1"));
    let code = sink.last_code();
    let r = b
        .submit(&page, &format!("{page}/confirm"), &[("code", &code)])
        .await;
    assert_eq!(location(&r), page);
    let html = b.get(&page).await.text();
    assert!(html.contains(r#"data-status="in_progress""#), "{html}");
    assert!(html.contains("Identity verified"));
    let api = s.get(&format!("/v1/requests/{id}"), &admin).await.json();
    assert_eq!(api["status"], "in_progress");
    assert_eq!(api["channel"], "privacy_center");
    assert!(api["due"].is_string());

    // The operator signs in to the console with an operator key and completes it.
    let op_key = s.key(&admin, "operator", None).await;
    let mut op = Browser::new(&s);
    let r = op
        .submit(
            "/console/signin",
            "/console/signin",
            &[("api_key", "troth_wrong")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = op
        .submit(
            "/console/signin",
            "/console/signin",
            &[("api_key", &op_key)],
        )
        .await;
    assert_eq!(location(&r), "/console/requests");
    let html = op.get("/console/requests").await.text();
    assert!(html.contains(&format!("/console/requests/{id}")), "{html}");
    assert!(html.contains("left"), "countdown");
    let detail = format!("/console/requests/{id}");
    let r = op
        .submit(
            &detail,
            &format!("{detail}/move"),
            &[("command", "refuse"), ("reason", "not-a-pack-reason")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a refusal cites the pack");
    let r = op
        .submit(
            &detail,
            &format!("{detail}/move"),
            &[("command", "complete"), ("outcome", "fulfilled")],
        )
        .await;
    assert_eq!(location(&r), detail);
    let api = s.get(&format!("/v1/requests/{id}"), &admin).await.json();
    assert_eq!(api["status"], "completed");
    let html = b.get(&page).await.text();
    assert!(html.contains(r#"data-status="completed""#));
    // The audit log shows the console's key as the actor, and the chain verifies.
    let html = op.get("/console/audit/verify").await.text();
    assert!(html.contains("The chain is intact"), "{html}");
    assert!(html.contains("request.completed"));
    // Auditor keys cannot use the console.
    let auditor = s.key(&admin, "auditor", None).await;
    let mut a = Browser::new(&s);
    let r = a
        .submit(
            "/console/signin",
            "/console/signin",
            &[("api_key", &auditor)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_validates_uploads_by_line_and_publishes() {
    let s = Server::start(Backend::Sqlite).await;
    let (_, admin) = s.tenant("Acme").await;
    let mut op = Browser::new(&s);
    let r = op
        .submit("/console/signin", "/console/signin", &[("api_key", &admin)])
        .await;
    location(&r);
    let bad = support::s002().replace("function = \"additional\"", "function = \"extra\"");
    let r = op
        .submit(
            "/console/policies",
            "/console/policies/check",
            &[("toml", &bad)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("line "), "{}", r.text());
    let good = support::s002().replace(
        "Unsubscribe from our mailing list to stop it.",
        "Unsubscribe from our mailing list at any time to stop it.",
    );
    assert_ne!(good, support::s002());
    let r = op
        .submit(
            "/console/policies",
            "/console/policies/check",
            &[("toml", &good)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("The manifest is valid."));
    let token = csrf(&r.text());
    let r = op
        .post(
            "/console/policies/publish",
            &[("toml", &good), ("_csrf", &token)],
        )
        .await;
    assert_eq!(location(&r), "/console/policies?done=published");
    let versions = s.get("/v1/policies", &admin).await.json();
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let stats = op.get("/console/consents").await;
    assert_eq!(stats.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banner_records_choices_for_a_pseudonymous_browser() {
    let s = Server::start(Backend::Sqlite).await;
    let (t, admin) = s.tenant("Acme").await;
    let cfg = s
        .call(
            Method::GET,
            &format!("/t/{t}/banner/config"),
            None,
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(cfg.status, StatusCode::OK);
    assert_eq!(cfg.header("access-control-allow-origin"), Some("*"));
    let cfg = cfg.json();
    let version = cfg["version"].as_str().unwrap().to_owned();
    let analytics = cfg["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "analytics")
        .unwrap();
    assert_eq!(analytics["tracking"], true);
    let secret = "A".repeat(43);
    let body = json!({
        "browser": secret, "version": version, "gpc": true, "dnt": false,
        "choices": [{ "purpose": "analytics", "status": "refused" },
                    { "purpose": "photo-access", "status": "given" }]
    });
    let consent_path = format!("/t/{t}/banner/consent");
    let post = |b: serde_json::Value| {
        s.call(
            Method::POST,
            &consent_path,
            None,
            Body::from(b.to_string()),
            &[("content-type", "text/plain")],
        )
    };
    let r = post(body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let subject = r.json()["subject"].as_str().unwrap().to_owned();
    // The same browser secret is the same subject; the API shows its events.
    let again = post(body).await.json();
    assert_eq!(again["subject"], subject.as_str());
    let history = s
        .get(&format!("/v1/subjects/{subject}/consents/history"), &admin)
        .await
        .json();
    let first = &history["items"][0]["fact"];
    assert_eq!(first["purpose"], "analytics");
    assert_eq!(first["status"], "refused");
    assert_eq!(first["method"], "banner");
    assert_eq!(first["signals"]["gpc"], true, "{first}");
    // Bad input: a short secret, an unknown status.
    let r = post(json!({ "browser": "short", "version": version, "choices": [] })).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post(json!({
        "browser": "B".repeat(43), "version": version,
        "choices": [{ "purpose": "analytics", "status": "maybe" }]
    }))
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[test]
fn banner_script_is_under_15_kb_gzipped() {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(troth_server::web::BANNER_JS.as_bytes())
        .unwrap();
    let size = gz.finish().unwrap().len();
    assert!(size < 15 * 1024, "banner.js is {size} bytes gzipped");
    // Served as JavaScript to any origin.
    assert!(troth_server::web::BANNER_JS.contains("globalPrivacyControl"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banner_script_is_served_with_cache_headers() {
    let s = Server::start(Backend::Sqlite).await;
    let r = s
        .call(Method::GET, "/banner.js", None, Body::empty(), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(r.header("cache-control").unwrap().contains("max-age=3600"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_page_in_chinese_snapshot() {
    let s = Server::start(Backend::Sqlite).await;
    let (t, _) = s.tenant("Acme").await;
    let mut b = Browser::new(&s);
    b.lang = Some("zh-CN");
    let html = b.get(&format!("/t/{t}/signin")).await.text();
    let token = csrf(&html);
    let page = html
        .replace(&token, "[csrf]")
        .replace(&t.to_string(), "[tenant]");
    insta::assert_snapshot!(page);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_consents_for_a_linked_child() {
    let (s, sink) = mail_server().await;
    let (t, admin) = s.tenant("Acme").await;
    let parent = s
        .subject(
            &admin,
            json!({ "identities": [{ "kind": "email", "value": "parent@example.com" }] }),
        )
        .await;
    let child = s
        .subject(
            &admin,
            json!({ "age": { "band": "child" }, "guardian": parent }),
        )
        .await;
    let stranger = s
        .subject(&admin, json!({ "age": { "band": "child" } }))
        .await;
    let mut b = Browser::new(&s);
    sign_in(&mut b, &t.to_string(), &sink, "parent@example.com").await;
    let dash = format!("/t/{t}/consents");
    let html = b.get(&dash).await.text();
    assert!(html.contains("Consent for your child"), "{html}");
    assert!(html.contains(&format!(r#"data-child="{child}""#)));
    assert!(!html.contains(&stranger));
    let r = b
        .submit(
            &dash,
            &dash,
            &[
                ("child", &child),
                ("purpose", "photo-access"),
                ("status", "given"),
            ],
        )
        .await;
    assert!(location(&r).ends_with(&format!("#c-{child}")));
    let history = s
        .get(&format!("/v1/subjects/{child}/consents/history"), &admin)
        .await
        .json();
    let fact = &history["items"].as_array().unwrap().last().unwrap()["fact"];
    assert_eq!(fact["purpose"], "photo-access");
    assert_eq!(fact["status"], "given");
    assert_eq!(fact["method"], "guardian");
    assert_eq!(fact["actor"]["kind"], "guardian", "{fact}");
    assert_eq!(fact["actor"]["guardian"], parent.as_str());
    // A child the person is not the guardian of is "not found".
    let r = b
        .submit(
            &dash,
            &dash,
            &[
                ("child", &stranger),
                ("purpose", "photo-access"),
                ("status", "given"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// The form fields of a complete incident, in both languages.
fn incident_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("title_en", "Unauthorised access to a support database"),
        ("title_zh", "客服数据库遭未授权访问"),
        (
            "description_en",
            "A support tool exposed contact details for six hours.",
        ),
        ("description_zh", "一个客服工具在六小时内暴露了联系信息。"),
        ("cause_en", "A misconfigured access rule."),
        ("cause_zh", "访问规则配置错误。"),
        ("possible_harm_en", "Phishing emails."),
        ("possible_harm_zh", "可能收到钓鱼邮件。"),
        ("remedies_en", "The rule was fixed."),
        ("remedies_zh", "已修正规则。"),
        ("advice_en", "Be wary of emails asking for passwords."),
        ("advice_zh", "请警惕索要密码的邮件。"),
        ("discovered_at", "2026-11-30T08:00"),
        ("occurred_at", "2026-11-30T01:00"),
        ("cat.identity.email", "on"),
    ]
}

async fn console_sign_in(b: &mut Browser<'_>, key: &str) {
    let r = b
        .submit("/console/signin", "/console/signin", &[("api_key", key)])
        .await;
    assert_eq!(location(&r), "/console/requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_records_assesses_notifies_and_reports_an_incident() {
    let s = Server::start(Backend::Sqlite).await;
    let (_, admin) = s.tenant("Acme").await;
    for i in 0..3 {
        s.subject(
            &admin,
            json!({ "identities": [{ "kind": "email", "value": format!("user{i}@example.com") }] }),
        )
        .await;
    }
    let operator = s.key(&admin, "operator", None).await;
    let mut op = Browser::new(&s);
    console_sign_in(&mut op, &operator).await;
    let page = op.get("/console/incidents").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("No incidents recorded."));

    // Missing Chinese text, no category, occurred after discovery: every problem is
    // shown at its field, and nothing is recorded.
    let mut bad: Vec<(&str, &str)> = incident_form()
        .into_iter()
        .filter(|(k, _)| *k != "cause_zh" && *k != "cat.identity.email" && *k != "occurred_at")
        .collect();
    bad.push(("occurred_at", "2026-12-01T00:00"));
    let r = op
        .submit("/console/incidents", "/console/incidents", &bad)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    for id in ["cause-zh-error", "categories-error", "occurred-at-error"] {
        assert!(html.contains(&format!(r#"id="{id}""#)), "{id} in {html}");
    }
    assert!(html.contains("Write this in Chinese"), "{html}");
    assert!(html.contains("It cannot have happened after it was discovered."));
    assert!(html.contains(r#"aria-invalid="true""#));
    // What was typed is kept.
    assert!(html.contains("A misconfigured access rule."));
    assert!(html.contains("3</strong> problem(s)"), "{html}");
    assert_eq!(s.get("/v1/incidents", &admin).await.json(), json!([]));

    // Without the CSRF token nothing happens.
    let r = op.post("/console/incidents", &incident_form()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = op
        .submit("/console/incidents", "/console/incidents", &incident_form())
        .await;
    let detail = location(&r);
    let id = detail.rsplit('/').next().unwrap().to_owned();
    let api = s.get(&format!("/v1/incidents/{id}"), &admin).await.json();
    assert_eq!(api["status"], "open");
    assert_eq!(api["details"]["categories"], json!(["identity.email"]));
    assert_eq!(api["details"]["discovered_at"], "2026-11-30T08:00:00Z");

    // The notice in both languages, before anything is sent.
    let html = op.get(&detail).await.text();
    assert!(html.contains(r#"data-status="open""#));
    assert!(html.contains("What you can do: Be wary of emails asking for passwords."));
    assert!(html.contains("涉及的个人信息种类：电子邮箱地址"), "{html}");
    assert!(!html.contains("Send the notices"), "not before assessment");

    let act = format!("{detail}/act");
    let r = op.submit(&detail, &act, &[("command", "assess")]).await;
    assert_eq!(location(&r), detail);
    let api = s.get(&format!("/v1/incidents/{id}"), &admin).await.json();
    assert_eq!(api["status"], "assessed");
    assert_eq!(api["affected"], 3);
    let html = op.get(&detail).await.text();
    assert!(
        html.contains(r#"<dd id="incident-affected">3</dd>"#),
        "{html}"
    );
    assert!(html.contains("Each person individually"));

    let r = op.submit(&detail, &act, &[("command", "notify")]).await;
    assert_eq!(location(&r), detail);
    let api = s.get(&format!("/v1/incidents/{id}"), &admin).await.json();
    assert_eq!(api["status"], "notified");
    let outbox = s.get("/v1/outbox", &admin).await.json();
    assert!(
        outbox.to_string().matches("incident.notice").count() >= 3,
        "{outbox}"
    );
    // Once only: the API's refusal is shown on the page.
    let r = op.submit(&detail, &act, &[("command", "notify")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("notified once"), "{}", r.text());

    // The regulator's report, bilingual, and as a JSON file.
    let html = op.get(&format!("{detail}/report")).await.text();
    assert!(html.contains("个人信息安全事件报告"));
    assert!(html.contains("What individuals can do"));
    let file = op.get(&format!("{detail}/report.json")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(
        file.header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(file.json()["incident_id"], id.as_str());
    assert_eq!(file.json()["affected"], 3);

    let r = op.submit(&detail, &act, &[("command", "close")]).await;
    assert_eq!(location(&r), detail);
    let html = op.get(&detail).await.text();
    assert!(html.contains(r#"data-status="closed""#));
    assert!(html.contains("This incident is closed."));
    for step in ["Recorded", "Assessed", "Notices queued", "Closed"] {
        assert!(html.contains(&format!("<strong>{step}</strong>")), "{step}");
    }
    let list = op.get("/console/incidents?lang=zh-CN").await.text();
    assert!(list.contains("客服数据库遭未授权访问"));
    assert!(list.contains("已关闭"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_reports_show_suppressed_cells_and_stored_documents() {
    let s = Server::start(Backend::Sqlite).await;
    let (_, admin) = s.tenant("Acme").await;
    // Twelve people consent to photo access, two of them withdraw later: the
    // withdrawals (2 < k = 10) are suppressed, so is whatever would reveal them.
    for i in 0..12 {
        let sub = s.subject(&admin, json!({})).await;
        s.consent(
            &admin,
            json!({ "subject": sub, "purpose": "photo-access", "status": "given" }),
        )
        .await;
        if i < 2 {
            s.consent(
                &admin,
                json!({ "subject": sub, "purpose": "photo-access", "status": "withdrawn" }),
            )
            .await;
        }
    }
    let api = s.get("/v1/reports/aggregate", &admin).await.json();
    let mut op = Browser::new(&s);
    console_sign_in(&mut op, &admin).await;
    let page = op.get("/console/reports").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains(&format!(r#"<strong id="report-k">{}</strong>"#, api["k"])));
    let photo = api["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "consent_state:photo-access")
        .unwrap();
    let withdrawn = photo["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == "withdrawn")
        .unwrap();
    assert!(withdrawn["count"].is_null(), "{photo}");
    // The same cell on the page reads "suppressed", never a number.
    let table = html
        .split(r#"data-distribution="consent_state:photo-access""#)
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    let row = table.split("<code>withdrawn</code>").nth(1).unwrap();
    let cell = row.split("</tr>").next().unwrap();
    assert!(cell.contains("suppressed"), "{cell}");
    assert!(!cell.contains(">2<"), "{cell}");

    let csv = op.get("/console/reports/aggregate.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(
        csv.header("content-disposition")
            .unwrap()
            .contains("troth-aggregate-report.csv")
    );
    assert!(
        csv.text()
            .contains("consent_state:photo-access,withdrawn,suppressed")
    );
    let json_file = op.get("/console/reports/aggregate.json").await;
    assert_eq!(json_file.json()["k"], api["k"]);

    // Generate a PIA twice and a RoPA once; each is listed by version and readable
    // in both languages.
    for kind in ["pia", "pia", "ropa"] {
        let r = op
            .submit("/console/reports", &format!("/console/reports/{kind}"), &[])
            .await;
        let to = location(&r);
        assert!(to.starts_with(&format!("/console/reports/{kind}/")), "{to}");
    }
    let pias = s.get("/v1/reports/pia", &admin).await.json();
    assert_eq!(pias.as_array().unwrap().len(), 2);
    let newest = pias[0]["report_id"].as_str().unwrap();
    let html = op
        .get(&format!("/console/reports/pia/{newest}"))
        .await
        .text();
    assert!(html.contains(r#"id="doc-version">v2"#), "{html}");
    assert!(html.contains("<h1>Personal Information Protection Impact Assessment</h1>"));
    let zh = op
        .get(&format!("/console/reports/pia/{newest}?view=zh-CN"))
        .await
        .text();
    assert!(zh.contains("<h1>个人信息保护影响评估报告</h1>"), "{zh}");
    let html = op.get("/console/reports").await.text();
    // Only the list's own rows: the rest of the page carries random tokens
    // (CSRF) that may contain "v2".
    let list = |id: &str| {
        html.split(&format!(r#"id="{id}""#))
            .nth(1)
            .unwrap()
            .split("</section>")
            .next()
            .unwrap()
            .to_owned()
    };
    let pia_list = list("pia-list");
    assert!(pia_list.contains(">v2</th>") && pia_list.contains(">v1</th>"));
    let ropa_list = list("ropa-list");
    assert!(ropa_list.contains(">v1</th>") && !ropa_list.contains(">v2</th>"));
    // Unknown documents are not found.
    let r = op.get("/console/reports/pia/no-such-report").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_places_and_lifts_legal_holds() {
    let s = Server::start(Backend::Sqlite).await;
    let (_, admin) = s.tenant("Acme").await;
    let subject = s.subject(&admin, json!({})).await;
    let operator = s.key(&admin, "operator", None).await;
    let mut op = Browser::new(&s);
    console_sign_in(&mut op, &operator).await;
    let r = op
        .submit("/console/holds", "/console/holds", &[("note", "x")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains(r#"id="subject-error""#));
    assert!(r.text().contains(r#"id="reason-error""#));
    // The API's refusal lands at its field.
    let r = op
        .submit(
            "/console/holds",
            "/console/holds",
            &[("subject", "not-a-uuid"), ("reason", "legal-requirement")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains(r#"id="subject-error""#), "{}", r.text());
    let r = op
        .submit(
            "/console/holds",
            "/console/holds",
            &[
                ("subject", &subject),
                ("category", "email"),
                ("reason", "legal-requirement"),
                ("note", "tax audit 2026"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/console/holds?done=placed");
    let holds = s.get("/v1/holds", &admin).await.json();
    assert_eq!(holds.as_array().unwrap().len(), 1);
    let hold = holds[0]["hold_id"].as_str().unwrap().to_owned();
    assert_eq!(holds[0]["subject"], subject.as_str());
    let html = op.get("/console/holds?done=placed").await.text();
    assert!(html.contains("The hold is in force."));
    assert!(html.contains("Laws and regulations require us to keep the information"));
    let r = op
        .submit(
            "/console/holds",
            &format!("/console/holds/{hold}/lift"),
            &[],
        )
        .await;
    assert_eq!(location(&r), "/console/holds?done=lifted");
    assert_eq!(s.get("/v1/holds", &admin).await.json(), json!([]));
    let all = op.get("/console/holds?all=1").await.text();
    assert!(all.contains("Lifted"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_calendar_is_changed_by_admins_and_refused_to_operators() {
    let s = Server::start(Backend::Sqlite).await;
    let (_, admin) = s.tenant_with_pack("Acme", "s000-ucommune").await;
    let mut a = Browser::new(&s);
    console_sign_in(&mut a, &admin).await;
    let page = "/console/calendar?year=2026";
    let r = a
        .submit(
            page,
            "/console/calendar",
            &[
                ("year", "2026"),
                (
                    "holidays",
                    "2026-10-01 National Day
2026-10-32",
                ),
                ("working_days", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().contains("Line 2: a date is written YYYY-MM-DD"),
        "{}",
        r.text()
    );
    let r = a
        .submit(
            page,
            "/console/calendar",
            &[
                ("year", "2026"),
                (
                    "holidays",
                    "2026-10-01 National Day
2026-10-02
2026-10-05",
                ),
                (
                    "working_days",
                    "2026-09-27
2026-10-10",
                ),
            ],
        )
        .await;
    assert_eq!(location(&r), "/console/calendar?year=2026&done=saved");
    let api = s.get("/v1/calendar?year=2026", &admin).await.json();
    assert_eq!(api["holidays"].as_array().unwrap().len(), 3);
    assert_eq!(api["holidays"][0]["name"], "National Day");
    assert_eq!(api["working_days"][1]["date"], "2026-10-10");
    let html = a.get("/console/calendar?year=2026&lang=zh-CN").await.text();
    assert!(html.contains("法定节假日") && html.contains("2026-10-05"));

    // Operators see it, may not change it: the console says so with the API's reason.
    let operator = s.key(&admin, "operator", None).await;
    let mut op = Browser::new(&s);
    console_sign_in(&mut op, &operator).await;
    let html = op.get(page).await.text();
    assert!(html.contains("2026-10-10"));
    assert!(html.contains("Only admin keys may change the calendar."));
    let r = op
        .submit(
            page,
            "/console/calendar",
            &[("year", "2026"), ("holidays", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let html = r.text();
    assert!(html.contains(r#"id="denied""#), "{html}");
    assert!(html.contains("may not"), "{html}");
    assert_eq!(
        s.get("/v1/calendar?year=2026", &admin).await.json()["holidays"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "nothing changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_console_pages_need_a_session_carry_the_csp_and_speak_chinese() {
    let s = Server::start(Backend::Sqlite).await;
    let (_, admin) = s.tenant("Acme").await;
    let pages = [
        ("/console/incidents", "登记安全事件"),
        ("/console/reports", "汇总报告"),
        ("/console/holds", "设立保留"),
        ("/console/calendar", "法定节假日"),
    ];
    let mut anon = Browser::new(&s);
    for (path, _) in pages {
        assert_eq!(location(&anon.get(path).await), "/console/signin", "{path}");
    }
    let mut b = Browser::new(&s);
    b.lang = Some("zh-CN");
    console_sign_in(&mut b, &admin).await;
    for (path, zh) in pages {
        let r = b.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        assert_eq!(
            r.header("content-security-policy"),
            Some(troth_server::web::CSP)
        );
        assert!(r.text().contains(zh), "{path} in Chinese");
        assert!(
            r.text().contains(r#"aria-current="page""#),
            "{path} marked in the nav"
        );
    }
}

/// The request id a successful request form redirected to.
fn request_id(r: &Reply) -> String {
    location(r).rsplit('/').next().unwrap().to_owned()
}

/// Moves a request through verification (where it waits for it) to completion, as
/// an operator would.
async fn complete(s: &Server, admin: &str, id: &str) {
    let status = s.get(&format!("/v1/requests/{id}"), admin).await.json()["status"].clone();
    let mut cmds = Vec::new();
    if status == "received" {
        cmds.push(json!({ "command": "start_verification" }));
        cmds.push(json!({ "command": "verified" }));
    }
    cmds.push(json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }));
    for cmd in cmds {
        let r = s
            .post(&format!("/v1/requests/{id}/transitions"), admin, cmd)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
}

/// A person with an account, two consents given and their email stored.
async fn person_with_data(s: &Server, admin: &str) -> String {
    let sub = s
        .subject(
            admin,
            json!({ "identities": [{ "kind": "email", "value": "li.lei@example.com" }],
                    "age": { "band": "adult" } }),
        )
        .await;
    for purpose in ["registration", "analytics"] {
        let r = s
            .consent(
                admin,
                json!({ "subject": sub, "purpose": purpose, "status": "given" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = s
        .send(
            Method::PUT,
            &format!("/v1/subjects/{sub}/vault/email/main"),
            admin,
            json!({ "value": "li.lei@example.com", "purpose": "registration" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    sub
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_offered_kind_has_a_form_that_sends_what_it_needs() {
    let (s, sink) = mail_server().await;
    let (t, admin) = s.tenant("Acme").await;
    let sub = person_with_data(&s, &admin).await;
    let mut b = Browser::new(&s);
    sign_in(&mut b, &t.to_string(), &sink, "li.lei@example.com").await;
    let list = format!("/t/{t}/requests");
    let html = b.get(&list).await.text();
    // The s002 pack offers all nine kinds: one form each, with its own CSRF token.
    for kind in [
        "access",
        "copy",
        "correction",
        "deletion",
        "withdraw_consent",
        "cancel_account",
        "explanation",
        "opt_out_targeting",
        "complaint",
    ] {
        assert!(
            html.contains(&format!(r#"<details class="kind" id="kind-{kind}""#)),
            "{kind} offered"
        );
        assert!(
            html.contains(&format!(r#"id="form-{kind}""#)),
            "{kind} form"
        );
    }
    assert_eq!(
        html.matches(r#"name="_csrf""#).count(),
        10,
        "nine forms and sign-out"
    );
    // Corrections pick a record held (its category in words, never its value).
    assert!(
        html.contains(r#"<option value="email:main">Email address · main</option>"#),
        "{html}"
    );
    assert!(
        !html.contains("li.lei@example.com"),
        "no stored value is shown"
    );
    // Withdrawal offers the consents given now, and no other purpose.
    assert!(html.contains(r#"name="purpose.registration""#));
    assert!(html.contains(r#"name="purpose.analytics""#));
    assert!(!html.contains(r#"name="purpose.marketing""#));
    // No copy target yet: the copy is the person's download only.
    assert!(html.contains(r#"id="copy-no-third-party""#));
    assert!(!html.contains(r#"name="third_party""#));

    // A correction carries the record and the new value; the value stays hidden.
    let r = b
        .submit(
            &list,
            &list,
            &[
                ("kind", "correction"),
                ("record", "email:main"),
                ("value", "lei.li@example.org"),
            ],
        )
        .await;
    let id = request_id(&r);
    let api = s.get(&format!("/v1/requests/{id}"), &admin).await.json();
    assert_eq!(api["kind"], "correction");
    assert_eq!(api["channel"], "privacy_center");
    assert_eq!(
        api["asks"]["corrections"],
        json!([{ "category": "email", "record": "main" }])
    );
    let page = format!("/t/{t}/requests/{id}");
    let html = b.get(&page).await.text();
    assert!(html.contains("Email address (main)"), "{html}");
    assert!(!html.contains("lei.li@example.org"));
    // The operator sees the same in the console, without the value either.
    let op_key = s.key(&admin, "operator", None).await;
    let mut op = Browser::new(&s);
    console_sign_in(&mut op, &op_key).await;
    let html = op.get(&format!("/console/requests/{id}")).await.text();
    assert!(html.contains(r#"id="request-asked""#), "{html}");
    assert!(html.contains("Email address (main)"));
    assert!(!html.contains("lei.li@example.org"));
    complete(&s, &admin, &id).await;
    let html = op.get(&format!("/console/requests/{id}")).await.text();
    assert!(html.contains("We corrected:"), "{html}");
    let html = b.get(&page).await.text();
    assert!(html.contains(r#"id="request-result""#), "{html}");
    assert!(html.contains("We corrected:"));
    let r = s
        .get(
            &format!("/v1/subjects/{sub}/vault/email/main?purpose=registration"),
            &admin,
        )
        .await;
    assert_eq!(r.json()["value"], "lei.li@example.org", "{}", r.text());

    // A withdrawal names exactly the purposes ticked.
    let r = b
        .submit(
            &list,
            &list,
            &[("kind", "withdraw_consent"), ("purpose.analytics", "on")],
        )
        .await;
    let id = request_id(&r);
    let api = s.get(&format!("/v1/requests/{id}"), &admin).await.json();
    assert_eq!(api["asks"]["purposes"], json!(["analytics"]));
    complete(&s, &admin, &id).await;
    let html = b.get(&format!("/t/{t}/requests/{id}")).await.text();
    assert!(html.contains("Your consent is withdrawn for:"), "{html}");
    assert!(html.contains("Internal data analysis, SDK statistics and product improvement"));
    let history = s
        .get(&format!("/v1/subjects/{sub}/consents/history"), &admin)
        .await
        .json();
    let last = &history["items"].as_array().unwrap().last().unwrap()["fact"];
    assert_eq!(last["purpose"], "analytics", "{history}");
    assert_eq!(last["status"], "withdrawn");
    // The registration consent is still given, so the form now offers only it.
    let html = b.get(&list).await.text();
    assert!(html.contains(r#"name="purpose.registration""#));
    assert!(!html.contains(r#"name="purpose.analytics""#));

    // A copy to the person, then (once the company has a copy target) to a third party.
    let r = b.submit(&list, &list, &[("kind", "copy")]).await;
    let id = request_id(&r);
    let api = s.get(&format!("/v1/requests/{id}"), &admin).await.json();
    assert_eq!(api["kind"], "copy");
    assert!(api.get("asks").is_none(), "{api}");
    let (portability, portability_url) = support::Receiver::start(0).await;
    let r = s
        .send(
            Method::PUT,
            "/v1/notify-targets/portability",
            &admin,
            json!({ "webhook": portability_url, "events": ["copy.transfer"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = b.get(&list).await.text();
    assert!(
        html.contains(r#"<option value="portability">portability</option>"#),
        "{html}"
    );
    let r = b
        .submit(
            &list,
            &list,
            &[
                ("kind", "copy"),
                ("destination", "third_party"),
                ("third_party", "portability"),
            ],
        )
        .await;
    let id = request_id(&r);
    let api = s.get(&format!("/v1/requests/{id}"), &admin).await.json();
    assert_eq!(api["asks"]["third_party"], "portability");
    let html = b.get(&format!("/t/{t}/requests/{id}")).await.text();
    assert!(html.contains("Copy sent to"), "{html}");
    // Completed, the page gives the transfer's receipt in words.
    complete(&s, &admin, &id).await;
    assert_eq!(portability.calls().len(), 1, "the zip was posted once");
    let html = b.get(&format!("/t/{t}/requests/{id}")).await.text();
    assert!(
        html.contains("A copy of your information was sent to <strong>portability</strong>"),
        "{html}"
    );
    assert!(html.contains("HTTP 200"));

    // A decision kept for explanation is explained in the page's words.
    let app = s.key(&admin, "app", None).await;
    let r = s
        .post(
            "/v1/decisions",
            &app,
            json!({ "subject": sub, "purpose": "registration", "categories": ["email"],
                    "record": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // The kinds that need nothing more send the kind alone.
    for kind in [
        "access",
        "deletion",
        "cancel_account",
        "explanation",
        "opt_out_targeting",
        "complaint",
    ] {
        let r = b.submit(&list, &list, &[("kind", kind)]).await;
        let id = request_id(&r);
        let api = s.get(&format!("/v1/requests/{id}"), &admin).await.json();
        assert_eq!(api["kind"], kind);
        assert!(api.get("asks").is_none(), "{api}");
        if kind == "opt_out_targeting" || kind == "explanation" {
            complete(&s, &admin, &id).await;
            let html = b.get(&format!("/t/{t}/requests/{id}")).await.text();
            let words: &[&str] = if kind == "explanation" {
                &[
                    "How your information is processed",
                    "Allowed: “Register and keep a user account” may use Email address \
                     on the basis of consent.",
                ]
            } else {
                &["Targeted push and advertising are turned off"]
            };
            for w in words {
                assert!(html.contains(w), "{kind}: {w}: {html}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_field_is_shown_next_to_it_with_the_input_kept() {
    let (s, sink) = mail_server().await;
    let (t, admin) = s.tenant("Acme").await;
    person_with_data(&s, &admin).await;
    let r = s
        .send(
            Method::PUT,
            "/v1/notify-targets/portability",
            &admin,
            json!({ "webhook": "http://127.0.0.1:9/copies", "events": ["copy.transfer"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut b = Browser::new(&s);
    sign_in(&mut b, &t.to_string(), &sink, "li.lei@example.com").await;
    let list = format!("/t/{t}/requests");

    // An empty value: the API names `corrections[0].value`; the form shows it there
    // with the record still chosen, the correction form open.
    let r = b
        .submit(
            &list,
            &list,
            &[
                ("kind", "correction"),
                ("record", "email:main"),
                ("value", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let html = r.text();
    assert!(
        html.contains(r#"id="correction-value-error">Type the correct value"#),
        "{html}"
    );
    assert!(html.contains(r#"aria-invalid="true" aria-describedby="correction-value-error""#));
    assert!(html.contains(r#"<option value="email:main" selected>"#));
    assert!(html.contains(r#"<details class="kind" id="kind-correction" open>"#));
    assert!(!html.contains(r#"id="kind-access" open"#));
    // A record the person does not hold is refused at the record.
    let r = b
        .submit(
            &list,
            &list,
            &[
                ("kind", "correction"),
                ("record", "phone:main"),
                ("value", "+86 1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert!(html.contains(r#"id="correction-record-error""#), "{html}");
    assert!(html.contains(r#"value="+86 1""#), "the typed value is kept");

    // A third party the company does not deliver to: the API names `third_party`.
    let r = b
        .submit(
            &list,
            &list,
            &[
                ("kind", "copy"),
                ("destination", "third_party"),
                ("third_party", "somebody-else"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let html = r.text();
    assert!(html.contains(r#"id="copy-third-party-error""#), "{html}");
    assert!(
        html.contains(r#"id="copy-to-third-party" name="destination" value="third_party" checked"#)
    );
    // None chosen: the same field.
    let r = b
        .submit(
            &list,
            &list,
            &[
                ("kind", "copy"),
                ("destination", "third_party"),
                ("third_party", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains(r#"id="copy-third-party-error""#));

    // A withdrawal with nothing ticked would withdraw everything: refused, in Chinese
    // once the person chose Chinese.
    b.get(&format!("{list}?lang=zh-CN")).await;
    let r = b
        .submit(&list, &list, &[("kind", "withdraw_consent")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert!(html.contains("请至少选择一项要撤回的同意。"), "{html}");
    assert!(html.contains(r#"<details class="kind" id="kind-withdraw_consent" open>"#));
    let r = b
        .submit(
            &list,
            &list,
            &[("kind", "correction"), ("record", ""), ("value", "x")],
        )
        .await;
    assert!(r.text().contains("请从我们持有的您的信息中选择一项。"));
    // Nothing was submitted by any of these.
    let all = s.get("/v1/requests?status=all", &admin).await.json();
    assert_eq!(all, json!([]));
    // And a form without its CSRF token is refused as everywhere.
    let r = b.post(&list, &[("kind", "access")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_the_policy_does_not_offer_have_no_form() {
    let (s, sink) = mail_server().await;
    let (t, admin) = s.tenant_with_pack("Ucommune", "s000-ucommune").await;
    s.subject(
        &admin,
        json!({ "identities": [{ "kind": "email", "value": "li.lei@example.com" }] }),
    )
    .await;
    let mut b = Browser::new(&s);
    sign_in(&mut b, &t.to_string(), &sink, "li.lei@example.com").await;
    let list = format!("/t/{t}/requests");
    let html = b.get(&list).await.text();
    for kind in [
        "access",
        "correction",
        "deletion",
        "withdraw_consent",
        "complaint",
    ] {
        assert!(
            html.contains(&format!(r#"id="kind-{kind}""#)),
            "{kind} offered"
        );
    }
    for kind in ["copy", "cancel_account", "explanation", "opt_out_targeting"] {
        assert!(
            !html.contains(&format!(r#"id="kind-{kind}""#)),
            "{kind} not offered"
        );
    }
    // Nothing held, nothing consented: the forms say so instead of asking.
    assert!(html.contains(r#"id="correction-nothing""#));
    assert!(html.contains(r#"id="withdraw-nothing""#));
    // Posting a kind that is not offered anyway is refused on the page.
    let r = b.submit(&list, &list, &[("kind", "copy")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("not offered under the policy in force"));
}
