//! The web pages in a real browser: Debian's Chromium driven by `playwright-core`
//! (`tests/browser/run.mjs`) against a troth server listening on loopback, with a
//! loopback SMTP inbox. A second loopback server plays the company's own site (a
//! page embedding `/banner.js`, on another origin) and hands the script the codes
//! mailed to the inbox. An operator also records, assesses and notifies a breach
//! and reads the reports in the console; the person corrects their data and
//! withdraws a consent through the request forms. Screenshots of every page land in `target/browser-artifacts/`.
//!
//! This test fails, never skips, when Chromium, Node or the npm packages are
//! missing: `scripts/test` installs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::json;
use support::{Backend, Server, SmtpSink};

const CHROMIUM: &str = "/usr/bin/chromium";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(serde::Deserialize)]
struct After {
    after: Option<usize>,
}

/// The newest code once more than `after` messages have arrived.
async fn last_code(State(sink): State<Arc<SmtpSink>>, Query(q): Query<After>) -> impl IntoResponse {
    let count = sink.messages.lock().unwrap().len();
    if count <= q.after.unwrap_or(0) {
        return (StatusCode::NOT_FOUND, axum::Json(json!({ "count": count }))).into_response();
    }
    axum::Json(json!({ "count": count, "code": sink.last_code() })).into_response()
}

async fn mail_count(State(sink): State<Arc<SmtpSink>>) -> impl IntoResponse {
    axum::Json(json!({ "count": sink.messages.lock().unwrap().len() }))
}

/// A company page that embeds the banner and two scripts blocked until consent.
fn site(troth: &str, tenant: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example shop</title>
<style>body{{font:16px system-ui,sans-serif;margin:0;background:#fafafa}}header{{background:#222;color:#fff;padding:16px 24px}}main{{padding:24px;max-width:50rem}}</style>
</head><body>
<header><strong>Example shop</strong></header>
<main><h1>Welcome</h1><p>Our products are fine. This page embeds troth's consent banner.</p></main>
<script type="text/plain" data-troth-purpose="analytics">window.analyticsLoaded = true;</script>
<script type="text/plain" data-troth-purpose="photo-access">window.photoLoaded = true;</script>
<script src="{troth}/banner.js" data-troth-tenant="{tenant}" defer></script>
</body></html>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_and_operators_use_the_pages_in_chromium() {
    // Requirements first: a missing browser is a failure, not a skip.
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/test (it installs Debian's chromium)"
    );
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is missing: install Node.js (scripts/test expects it)"
    );
    let browser_dir = repo_root().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "tests/browser/node_modules is missing: run `npm ci --prefix tests/browser`"
    );
    let artifacts = repo_root().join("target/browser-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();

    let sink = Arc::new(SmtpSink::start().await);
    let url = format!("smtp://{}", sink.addr);
    let s = Server::start_with(Backend::Sqlite, move |c| {
        c.smtp = Some(troth_server::config::SmtpConfig {
            url,
            from: "Privacy team <privacy@tenant.example>".into(),
        });
    })
    .await;
    let (tenant, admin) = s.tenant("Example Ltd").await;
    let subject = s
        .subject(
            &admin,
            json!({ "identities": [{ "kind": "email", "value": "li.lei@example.com" }],
                    "age": { "band": "adult" } }),
        )
        .await;
    let child = s
        .subject(
            &admin,
            json!({ "age": { "band": "child" }, "guardian": subject }),
        )
        .await;
    let operator = s.key(&admin, "operator", None).await;
    // A second version with a significant change (a purpose uses more data), so the
    // archive, the diff and the re-consent page have something to show.
    let v2 = support::s002()
        .replace("version = \"1.0\"", "version = \"2.0\"")
        .replace("published = 2024-03-01", "published = 2025-01-10")
        .replace("effective = 2024-03-08", "effective = 2025-01-17")
        .replace(
            "categories = [\"photos\"]",
            "categories = [\"photos\", \"device-info\"]",
        );
    let r = s
        .call(
            axum::http::Method::POST,
            "/v1/policies",
            Some(&admin),
            axum::body::Body::from(v2),
            &[("content-type", "application/toml")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["significant"], true);

    // troth on one loopback port, the company's site and the inbox on another.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = s.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let helper_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let helper = format!("http://{}", helper_listener.local_addr().unwrap());
    let page = site(&base, tenant.as_str());
    let helper_router = axum::Router::new()
        .route("/last-code", get(last_code))
        .route("/mail-count", get(mail_count))
        .with_state(Arc::clone(&sink))
        .route("/site", get(move || async move { Html(page) }));
    tokio::spawn(async move { axum::serve(helper_listener, helper_router).await.unwrap() });

    // run.mjs stops itself after three minutes, so this wait is bounded.
    let script = browser_dir.join("run.mjs");
    let vars: Vec<(&str, String)> = vec![
        ("TROTH_BASE", base.clone()),
        ("TROTH_HELPER", helper.clone()),
        ("TROTH_TENANT", tenant.as_str().to_owned()),
        ("TROTH_ADMIN_KEY", admin.clone()),
        ("TROTH_OPERATOR_KEY", operator.clone()),
        ("TROTH_SUBJECT", subject.clone()),
        ("TROTH_CHILD", child.clone()),
        ("TROTH_EMAIL", "li.lei@example.com".to_owned()),
        ("TROTH_CHROMIUM", CHROMIUM.to_owned()),
        ("TROTH_ARTIFACTS", artifacts.display().to_string()),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .envs(vars)
            .output()
    })
    .await
    .unwrap()
    .expect("node started");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "browser scenarios failed:\n{stdout}\n{stderr}"
    );
    for shot in [
        "01-policy-zh-CN.png",
        "04-consents-zh-CN.png",
        "07-banner-gpc.png",
        "10-request-verified.png",
        "13-console-request-completed.png",
        "19-console-incident.png",
        "20-console-incident-notified.png",
        "21-console-incident-report.png",
        "23-console-reports.png",
        "25-request-correction-form-zh-CN.png",
        "26-request-withdraw-error-zh-CN.png",
        "27-request-corrected-zh-CN.png",
        "28-request-withdrawn-zh-CN.png",
        "29-request-forms-en.png",
        "30-console-correction.png",
    ] {
        let p = artifacts.join(shot);
        assert!(
            std::fs::metadata(&p).is_ok_and(|m| m.len() > 10_000),
            "screenshot {} was saved",
            p.display()
        );
    }
}
