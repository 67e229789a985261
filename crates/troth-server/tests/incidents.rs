//! Breach incidents on SQLite and PostgreSQL: affected people found from the vault
//! and identities, the PIPL Art.57 notice in both languages, individual notices in a
//! real (loopback) SMTP inbox and through the push webhook, an announcement above
//! the pack's threshold, the regulator report, and the timeline in the audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Server, SmtpSink};
use troth_server::config::{OutboxConfig, SmtpConfig};
use troth_server::outbox::Courier;

fn incident() -> Value {
    json!({
        "title": { "en": "Unauthorised access to a support database",
                   "zh-CN": "客服数据库遭未授权访问" },
        "description": { "en": "A support tool exposed contact details for six hours.",
                         "zh-CN": "一个客服工具在六小时内暴露了联系信息。" },
        "discovered_at": "2026-11-30T08:00:00Z",
        "occurred_at": "2026-11-30T01:00:00Z",
        "categories": ["identity.email"],
        "cause": { "en": "A misconfigured access rule.", "zh-CN": "访问规则配置错误。" },
        "possible_harm": { "en": "Phishing emails.", "zh-CN": "可能收到钓鱼邮件。" },
        "remedies": { "en": "The rule was fixed and access logs reviewed.",
                      "zh-CN": "已修正规则并审查访问日志。" },
        "advice": { "en": "Be wary of emails asking for passwords.",
                    "zh-CN": "请警惕索要密码的邮件。" }
    })
}

async fn drain(courier: &Courier) {
    for _ in 0..50 {
        if courier.deliver_due().await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn breach_is_assessed_notified_and_reported(backend: Backend) {
    let sink = SmtpSink::start().await;
    let addr = sink.addr;
    let s = Server::start_with(backend, move |c| {
        c.smtp = Some(SmtpConfig {
            url: format!("smtp://{addr}"),
            from: "Privacy <privacy@acme.example>".into(),
        });
    })
    .await;
    let (_, admin) = s.tenant("Acme").await;
    // Three people with an email address, one with only a phone number.
    for i in 0..3 {
        s.subject(
            &admin,
            json!({ "identities": [{ "kind": "email", "value": format!("user{i}@example.com") }] }),
        )
        .await;
    }
    s.subject(
        &admin,
        json!({ "identities": [{ "kind": "phone", "value": "+8613800138000" }] }),
    )
    .await;

    // Bad input names the field.
    let mut bad = incident();
    bad["categories"] = json!(["no-such-category"]);
    let r = s.post("/v1/incidents", &admin, bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["field"], "categories[0]");
    let mut bad = incident();
    bad["cause"]["zh-CN"] = json!(" ");
    let r = s.post("/v1/incidents", &admin, bad).await;
    assert_eq!(r.json()["field"], "cause.zh-CN", "{}", r.text());

    let r = s.post("/v1/incidents", &admin, incident()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["incident_id"].as_str().unwrap().to_owned();
    let base = format!("/v1/incidents/{id}");
    // Not before assessment.
    let r = s.post(&format!("{base}/notify"), &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = s.post(&format!("{base}/assess"), &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["affected"], 3, "the three with an email address");
    assert_eq!(r.json()["status"], "assessed");

    // The notice has what Art.57 asks for, in both languages.
    let zh = s
        .get(&format!("{base}/notice?lang=zh-CN"), &admin)
        .await
        .json();
    let body = zh["body"].as_str().unwrap();
    for part in [
        "涉及的个人信息种类：电子邮箱地址",
        "事件原因：访问规则配置错误。",
        "可能造成的危害",
        "补救措施",
        "您可以采取",
        "联系我们",
    ] {
        assert!(body.contains(part), "{part} missing from {body}");
    }
    let en = s.get(&format!("{base}/notice"), &admin).await.json();
    assert!(
        en["body"]
            .as_str()
            .unwrap()
            .contains("What you can do: Be wary")
    );

    let r = s.post(&format!("{base}/notify"), &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "notified");
    // Once only.
    assert_eq!(
        s.post(&format!("{base}/notify"), &admin, json!({}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let fast = OutboxConfig {
        backoff_ms: 10,
        ..OutboxConfig::default()
    };
    drain(&Courier::new(Arc::clone(&s.state), fast).unwrap()).await;
    let mail: Vec<String> = sink
        .messages
        .lock()
        .unwrap()
        .iter()
        .map(|m| support::decoded(m))
        .collect();
    assert_eq!(mail.len(), 3, "one notice per affected person");
    for i in 0..3 {
        let to = format!("user{i}@example.com");
        let m = mail.iter().find(|m| m.contains(&to)).expect("mailed");
        assert!(m.contains("What you can do"), "{m}");
        assert!(m.contains("您可以采取的减轻危害的措施"), "{m}");
    }
    // The outbox never held an address.
    let out = s.get("/v1/outbox?status=delivered", &admin).await.json();
    let items = out["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|m| m["channel"] == "subject_email"));
    assert!(!out.to_string().contains("@example.com"));

    // Report for the regulator, JSON and HTML.
    let rep = s.get(&format!("{base}/report"), &admin).await.json();
    assert_eq!(rep["affected"], 3);
    assert_eq!(rep["notification"]["mode"], "individual");
    let actions: Vec<&str> = rep["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "assessed", "notified"]);
    let html = s.get(&format!("{base}/report?format=html"), &admin).await;
    assert_eq!(html.status, StatusCode::OK);
    let text = html.text();
    assert!(text.contains("个人信息安全事件报告"));
    assert!(text.contains("访问规则配置错误"));
    assert!(text.contains("A misconfigured access rule."));

    // The timeline is in the audit log, and the chain holds.
    let audit = s.get("/v1/audit?limit=1000", &admin).await.json();
    for a in ["incident.created", "incident.assessed", "incident.notified"] {
        assert!(audit.to_string().contains(a), "{a} missing");
    }
    assert_eq!(
        s.get("/v1/audit/verify", &admin).await.json()["intact"],
        true
    );
    let r = s.post(&format!("{base}/close"), &admin, json!({})).await;
    assert_eq!(r.json()["status"], "closed");
}

/// A person no individual channel reaches (no email address on file, no push) is
/// told by the public announcement rather than not at all.
async fn unreachable_people_are_told_by_announcement(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    s.subject(
        &admin,
        json!({ "identities": [{ "kind": "email", "value": "user0@example.com" }] }),
    )
    .await;
    s.subject(
        &admin,
        json!({ "identities": [{ "kind": "phone", "value": "+8613800138000" }] }),
    )
    .await;
    let (_site, url) = support::Receiver::start(0).await;
    let r = s
        .send(
            Method::PUT,
            "/v1/notify-targets/site",
            &admin,
            json!({ "webhook": url, "events": ["incident.announcement"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut both = incident();
    both["categories"] = json!(["identity.email", "identity.phone"]);
    let id = s.post("/v1/incidents", &admin, both).await.json()["incident_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .post(&format!("/v1/incidents/{id}/assess"), &admin, json!({}))
        .await;
    assert_eq!(r.json()["affected"], 2, "{}", r.text());
    let r = s
        .post(&format!("/v1/incidents/{id}/notify"), &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let out = s.get("/v1/outbox?limit=100", &admin).await.json();
    let items = out["items"].as_array().unwrap();
    let emails = items
        .iter()
        .filter(|m| m["kind"] == "incident.notice" && m["channel"] == "subject_email")
        .count();
    assert_eq!(emails, 1, "the person with an address is mailed: {out}");
    let announced: Vec<&Value> = items
        .iter()
        .filter(|m| m["kind"] == "incident.announcement")
        .collect();
    assert_eq!(announced.len(), 1, "{out}");
    assert_eq!(announced[0]["target"], "site");
    assert_eq!(announced[0]["payload"]["unreachable"], 1);
    assert!(
        !out.to_string().contains("8613800138000"),
        "no number in the outbox"
    );
}

/// A pack whose threshold is 2 people: three affected means one announcement.
async fn above_the_threshold_one_announcement(backend: Backend) {
    let s = Server::start(backend).await;
    let pack = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../packs/s002-template/policy.toml"
    ))
    .unwrap();
    let pack = pack.replacen(
        "announcement_threshold = 10000",
        "announcement_threshold = 2",
        1,
    );
    assert!(pack.contains("announcement_threshold = 2"));
    let key = troth_server::bootstrap::create_tenant(
        &s.state,
        &troth_store::TenantId::new(uuid::Uuid::new_v4().to_string()),
        "Acme",
    )
    .await
    .unwrap();
    let admin = key.token;
    let r = s
        .call(
            Method::POST,
            "/v1/policies",
            Some(&admin),
            axum::body::Body::from(pack),
            &[("content-type", "application/toml")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let (receiver_calls, url) = {
        let calls = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
        let c = Arc::clone(&calls);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::body::Bytes| {
                let c = Arc::clone(&c);
                async move {
                    c.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap());
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (calls, url)
    };
    let r = s
        .send(
            Method::PUT,
            "/v1/notify-targets/site",
            &admin,
            json!({ "webhook": url, "events": ["incident.announcement"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    for i in 0..3 {
        s.subject(
            &admin,
            json!({ "identities": [{ "kind": "email", "value": format!("p{i}@example.com") }] }),
        )
        .await;
    }
    let id = s.post("/v1/incidents", &admin, incident()).await.json()["incident_id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.post(&format!("/v1/incidents/{id}/assess"), &admin, json!({}))
        .await;
    let r = s
        .post(&format!("/v1/incidents/{id}/notify"), &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    drain(&Courier::new(Arc::clone(&s.state), OutboxConfig::default()).unwrap()).await;
    let calls = receiver_calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "one announcement, no individual notices");
    assert_eq!(calls[0]["kind"], "incident.announcement");
    assert!(
        calls[0]["data"]["body_zh"]
            .as_str()
            .unwrap()
            .contains("事件原因")
    );
    assert!(calls[0]["data"]["subject"].is_null());
    let rep = s
        .get(&format!("/v1/incidents/{id}/report"), &admin)
        .await
        .json();
    assert_eq!(rep["notification"]["mode"], "announcement");
}

on_both!(
    unreachable_people_are_told_by_announcement,
    breach_is_assessed_notified_and_reported,
    above_the_threshold_one_announcement,
);
