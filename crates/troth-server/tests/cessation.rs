//! Cessation of operations (seed 003 R13) on SQLite and PostgreSQL: collection
//! decisions deny at once (on this replica, and on another within the staleness
//! bound), notices reach a webhook and a real (loopback) SMTP inbox or fall back to
//! an announcement, the retention sweep drains the data except what legal holds
//! keep, and the progress report counts all of it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Server, SmtpSink};
use troth_server::config::{OutboxConfig, SmtpConfig};
use troth_server::outbox::Courier;

fn pack(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../packs/{name}/policy.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A tenant with `text` published; returns its id and admin token.
async fn tenant_with(s: &Server, text: String) -> (troth_store::TenantId, String) {
    let id = troth_store::TenantId::new(uuid::Uuid::new_v4().to_string());
    let key = troth_server::bootstrap::create_tenant(&s.state, &id, "Coach")
        .await
        .unwrap();
    let r = s
        .call(
            Method::POST,
            "/v1/policies",
            Some(&key.token),
            Body::from(text),
            &[("content-type", "application/toml")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    (id, key.token)
}

/// A loopback webhook receiver; returns what it received and its URL.
async fn receiver() -> (Arc<std::sync::Mutex<Vec<Value>>>, String) {
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
}

async fn target(s: &Server, admin: &str, url: &str, events: &[&str]) {
    let r = s
        .send(
            Method::PUT,
            "/v1/notify-targets/app",
            admin,
            json!({ "webhook": url, "events": events }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn deliver(s: &Server) {
    let courier = Courier::new(
        Arc::clone(&s.state),
        OutboxConfig {
            backoff_ms: 10,
            ..OutboxConfig::default()
        },
    )
    .unwrap();
    for _ in 0..50 {
        if courier.deliver_due().await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn put(s: &Server, token: &str, sub: &str, category: &str, purpose: &str) -> StatusCode {
    s.send(
        Method::PUT,
        &format!("/v1/subjects/{sub}/vault/{category}/main"),
        token,
        json!({ "value": format!("{category} of {sub}"), "purpose": purpose }),
    )
    .await
    .status
}

async fn decide(s: &Server, token: &str, sub: &str, service: Option<&str>) -> Value {
    let mut q = json!({ "subject": sub, "purpose": "registration", "categories": ["phone"] });
    if let Some(sv) = service {
        q["service"] = json!(sv);
    }
    let r = s.post("/v1/decisions", token, q).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

fn denied_as_ceased(d: &Value) -> bool {
    d["allow"] == false && d["reasons"][0]["code"] == "service_ceased"
}

/// The whole operation stops: decisions deny, push notices go out, the sweep drains
/// everything but the held subject's data, and the report counts it.
async fn ceasing_the_operation_denies_notifies_and_drains(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = tenant_with(&s, pack("s003-coach-app")).await;
    let (calls, url) = receiver().await;
    target(
        &s,
        &admin,
        &url,
        &["cessation.notice", "cessation.announcement"],
    )
    .await;
    let mut subs = Vec::new();
    for _ in 0..3 {
        let sub = s.subject(&admin, json!({})).await;
        assert_eq!(
            put(&s, &admin, &sub, "phone", "registration").await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            put(&s, &admin, &sub, "device-id", "security").await,
            StatusCode::NO_CONTENT
        );
        subs.push(sub);
    }
    let before = decide(&s, &admin, &subs[0], None).await;
    assert_eq!(before["allow"], true, "{before}");

    // The pack's own id is the whole operation.
    let r = s
        .post(
            "/v1/cessations",
            &admin,
            json!({ "service": "s003-coach-app", "reason": "closing down",
                    "announcement": "Thank you for coaching with us." }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let started = r.json();
    let id = started["cessation_id"].as_str().unwrap().to_owned();
    assert_eq!(started["whole"], true);
    assert_eq!(started["action"], "delete");
    assert_eq!(started["status"], "draining");
    assert_eq!(started["notices"]["mode"], "individual");
    assert_eq!(started["notices"]["subjects"], 3);
    assert_eq!(started["notices"]["queued"], 3, "one push notice each");
    assert_eq!(started["records"]["scheduled"], 6);
    assert_eq!(started["records"]["remaining"], 6);
    // The deadline is the pack's 30 days after the start.
    let start: jiff::Timestamp = started["started_at"].as_str().unwrap().parse().unwrap();
    let deadline: jiff::Timestamp = started["deadline"].as_str().unwrap().parse().unwrap();
    assert_eq!(deadline.duration_since(start).as_hours(), 30 * 24);

    // Every collection decision denies now, whatever the index holds.
    assert!(denied_as_ceased(&decide(&s, &admin, &subs[0], None).await));
    let batch = s
        .post(
            "/v1/decisions/batch",
            &admin,
            json!({ "items": [
                { "subject": subs[1], "purpose": "security", "categories": ["device-id"] },
                { "anonymous": true, "purpose": "browse-search", "categories": ["device-info"] }
            ] }),
        )
        .await
        .json();
    for item in batch["items"].as_array().unwrap() {
        assert!(denied_as_ceased(item), "{item}");
    }
    let r = s
        .send(
            Method::PUT,
            &format!("/v1/subjects/{}/vault/device-id/new", subs[0]),
            &admin,
            json!({ "value": "x", "purpose": "security" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("service_ceased"));

    // The notices reach the push webhook, one per person, in both languages.
    deliver(&s).await;
    let got = calls.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "{got:?}");
    for sub in &subs {
        let n = got
            .iter()
            .find(|c| c["data"]["subject"] == sub.as_str())
            .expect("a notice for every person");
        assert_eq!(n["kind"], "cessation.notice");
        let en = n["data"]["body_en"].as_str().unwrap();
        assert!(en.contains("deleted by"), "{en}");
        assert!(en.contains("Thank you for coaching with us."), "{en}");
        assert!(n["data"]["body_zh"].as_str().unwrap().contains("停止运营"));
    }

    // A legal hold keeps one person's data; the sweep takes the rest.
    let r = s
        .post(
            "/v1/holds",
            &admin,
            json!({ "subject": subs[2], "reason": "legal-requirement" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let hold_id = r.json()["hold_id"].as_str().unwrap().to_owned();
    let swept = s
        .post("/v1/retention/sweeps", &admin, json!({}))
        .await
        .json();
    assert_eq!(swept["deleted"], 4, "{swept}");
    assert_eq!(swept["held"][0]["hold_id"], hold_id.as_str());
    assert_eq!(swept["held"][0]["records"], 2);

    let report = s.get(&format!("/v1/cessations/{id}"), &admin).await.json();
    assert_eq!(report["status"], "drained", "{report}");
    assert_eq!(report["overdue"], false);
    assert_eq!(report["records"]["deleted"], 4);
    assert_eq!(report["records"]["remaining"], 0);
    assert_eq!(report["records"]["held"], 2);
    assert_eq!(report["notices"]["sent"], 3);
    assert_eq!(report["notices"]["pending"], 0);
    let list = s.get("/v1/cessations", &admin).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    // The held person's data is still there for the hold's purpose.
    assert_eq!(
        s.get(
            &format!(
                "/v1/subjects/{}/vault/phone/main?purpose=registration",
                subs[2]
            ),
            &admin
        )
        .await
        .status,
        StatusCode::OK
    );

    // Lifting the hold lets the next sweep finish the job.
    s.delete(&format!("/v1/holds/{hold_id}"), &admin).await;
    s.post("/v1/retention/sweeps", &admin, json!({})).await;
    let report = s.get(&format!("/v1/cessations/{id}"), &admin).await.json();
    assert_eq!(report["records"]["deleted"], 6);
    assert_eq!(report["records"]["held"], 0);

    // Audited: the start, and each batch of the sweep.
    let log = s.get("/v1/audit?limit=1000", &admin).await.json();
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"cessation.started"));
    assert!(actions.contains(&"retention.swept"));
    assert_eq!(
        s.get("/v1/audit/verify", &admin).await.json()["intact"],
        true
    );
    // Once only.
    let r = s
        .post(
            "/v1/cessations",
            &admin,
            json!({ "service": "s003-coach-app" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
}

/// By email where the pack says so (a real SMTP inbox); people without an address
/// cannot be told individually, so everyone is also told by one announcement.
async fn people_without_contact_get_an_announcement(backend: Backend) {
    let sink = SmtpSink::start().await;
    let addr = sink.addr;
    let s = Server::start_with(backend, move |c| {
        c.smtp = Some(SmtpConfig {
            url: format!("smtp://{addr}"),
            from: "Privacy <privacy@coach.example>".into(),
        });
    })
    .await;
    let text = pack("s003-coach-app").replacen(
        "notice_channels = [\"push\", \"announcement\"]\naction = \"delete\"",
        "notice_channels = [\"email\", \"announcement\"]\naction = \"anonymize\"",
        1,
    );
    assert!(text.contains("notice_channels = [\"email\", \"announcement\"]"));
    let (_, admin) = tenant_with(&s, text).await;
    let (calls, url) = receiver().await;
    target(&s, &admin, &url, &["cessation.announcement"]).await;
    for i in 0..2 {
        s.subject(
            &admin,
            json!({ "identities": [{ "kind": "email", "value": format!("coachee{i}@example.com") }] }),
        )
        .await;
    }
    let phone_only = s
        .subject(
            &admin,
            json!({ "identities": [{ "kind": "phone", "value": "+8613800138000" }] }),
        )
        .await;
    assert_eq!(
        put(&s, &admin, &phone_only, "phone", "registration").await,
        StatusCode::NO_CONTENT
    );

    let r = s
        .post(
            "/v1/cessations",
            &admin,
            json!({ "service": "s003-coach-app" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["cessation_id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["notices"]["mode"], "individual_and_announcement");
    assert_eq!(r.json()["action"], "anonymize");
    deliver(&s).await;

    let mail: Vec<String> = sink
        .messages
        .lock()
        .unwrap()
        .iter()
        .map(|m| support::decoded(m))
        .collect();
    assert_eq!(mail.len(), 2, "one email per person with an address");
    for i in 0..2 {
        let m = mail
            .iter()
            .find(|m| m.contains(&format!("coachee{i}@example.com")))
            .expect("mailed");
        assert!(m.contains("will be anonymized by"), "{m}");
        assert!(m.contains("停止运营"), "{m}");
    }
    let got = calls.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one announcement: {got:?}");
    assert_eq!(got[0]["kind"], "cessation.announcement");
    assert!(got[0]["data"]["subject"].is_null());
    // The outbox never held an address.
    let out = s.get("/v1/outbox?status=delivered", &admin).await.json();
    assert!(!out.to_string().contains("@example.com"));

    s.post("/v1/retention/sweeps", &admin, json!({})).await;
    let report = s.get(&format!("/v1/cessations/{id}"), &admin).await.json();
    assert_eq!(report["notices"]["sent"], 3, "{report}");
    assert_eq!(report["records"]["anonymized"], 1);
    assert_eq!(report["records"]["deleted"], 0);
    assert_eq!(report["status"], "drained");
}

/// Bad input names the field; only admins start one; a sub-service stops alone.
async fn bad_input_permissions_and_sub_services(backend: Backend) {
    let s = Server::start(backend).await;
    // A pack without [cessation] cannot cease.
    let (_, plain) = s.tenant("Acme").await;
    let r = s
        .post(
            "/v1/cessations",
            &plain,
            json!({ "service": "s002-template" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("[cessation]"));

    // s001 has a sub-service; give it a [cessation] section.
    let text = pack("s001-social-services").replacen(
        "[[services]]",
        "[cessation]\nstop_collection = true\nnotice_channels = [\"announcement\"]\naction = \"delete\"\nwithin_days = 15\n\n[[services]]",
        1,
    );
    let (_, admin) = tenant_with(&s, text).await;
    let r = s
        .post(
            "/v1/cessations",
            &admin,
            json!({ "service": "no-such-service" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "service");
    assert!(r.text().contains("social-media"), "lists the services");
    let r = s
        .post(
            "/v1/cessations",
            &admin,
            json!({ "service": "social-media", "extra": 1 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = s
        .post(
            "/v1/cessations",
            &admin,
            json!({ "service": "social-media", "reason": " " }),
        )
        .await;
    assert_eq!(r.json()["field"], "reason", "{}", r.text());
    for role in ["operator", "app", "auditor"] {
        let key = s.key(&admin, role, None).await;
        let r = s
            .post("/v1/cessations", &key, json!({ "service": "social-media" }))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
    }
    let auditor = s.key(&admin, "auditor", None).await;
    assert_eq!(
        s.get("/v1/cessations", &auditor).await.status,
        StatusCode::OK
    );
    assert_eq!(
        s.get(&format!("/v1/cessations/{}", uuid::Uuid::new_v4()), &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let sub = s.subject(&admin, json!({})).await;
    let ask = |service: Option<&'static str>| {
        let mut q =
            json!({ "subject": sub, "purpose": "provide-services", "categories": ["account-id"] });
        if let Some(sv) = service {
            q["service"] = json!(sv);
        }
        q
    };
    let r = s
        .post(
            "/v1/cessations",
            &admin,
            json!({ "service": "social-media" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["whole"], false);
    assert_eq!(r.json()["purposes"], json!(["public-sharing"]));
    let d = s
        .post("/v1/decisions", &admin, ask(Some("social-media")))
        .await
        .json();
    assert!(denied_as_ceased(&d), "{d}");
    let d = s.post("/v1/decisions", &admin, ask(None)).await.json();
    assert!(!denied_as_ceased(&d), "the main service goes on: {d}");
    let r = s
        .post(
            "/v1/cessations",
            &admin,
            json!({ "service": "social-media" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
}

/// Another replica (here a second server on the same store) records a cessation;
/// this one enforces it within the staleness bound, although it had cached that
/// nothing was stopped.
async fn another_replica_enforces_within_the_bound(backend: Backend) {
    let s = Server::start(backend).await;
    let (tenant, admin) = tenant_with(&s, pack("s003-coach-app")).await;
    let sub = s.subject(&admin, json!({})).await;
    assert_eq!(decide(&s, &admin, &sub, None).await["allow"], true);
    let other = troth_server::bootstrap::open(&s.config).await.unwrap();
    troth_server::cessation::start(
        &other,
        &tenant,
        &troth_server::cessation::StartCessation {
            service: "s003-coach-app".into(),
            reason: None,
            announcement: None,
        },
        "cli:cessation",
    )
    .await
    .unwrap();
    tokio::time::sleep(troth_server::cessation::REFRESH + Duration::from_millis(200)).await;
    assert!(denied_as_ceased(&decide(&s, &admin, &sub, None).await));
}

on_both!(
    ceasing_the_operation_denies_notifies_and_drains,
    people_without_contact_get_an_announcement,
    bad_input_permissions_and_sub_services,
    another_replica_enforces_within_the_bound,
);
