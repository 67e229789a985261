//! One request of every kind, end to end, on the S002 and S004 packs and on SQLite
//! and PostgreSQL: the person submits it with their own key, proves who they are
//! with a one-time code read from a real SMTP inbox, an operator completes it, and
//! the test checks what the person and the company see — the company's own
//! database (through the tenant's data map), the export bundle, the copy at the third
//! party, the corrected value, consents and decisions, the deletion notices, the
//! due dates and the audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;
use support::{Backend, Receiver, Server, SmtpSink, unzip};
use troth_store::TenantId;

/// What differs between the packs.
struct Pack {
    dir: &'static str,
    /// A consent purpose that collects the email.
    collect: &'static str,
    /// A marketing purpose (consent, refused by an opt-out of targeting).
    marketing: &'static str,
    /// A processor the email is shared with for `collect`.
    recipient: &'static str,
    /// Days to reply, and whether they count from verification (else from receipt).
    days: i64,
    from_verification: bool,
    /// Whether the pack offers explanations of automated decisions.
    explains: bool,
}

const S002: Pack = Pack {
    dir: "s002-template",
    collect: "registration",
    marketing: "marketing",
    recipient: "authorised-partners",
    days: 30,
    from_verification: false,
    explains: true,
};

const S004: Pack = Pack {
    dir: "s004-mobtech",
    collect: "developer-registration",
    marketing: "developer-marketing",
    recipient: "suppliers",
    days: 15,
    from_verification: true,
    explains: false,
};

const MAP: &str = r#"
[databases.crm]
url = "sqlite://DB?mode=rw"

[databases.crm.tables.customers]
key = "id"
identity = { email = "email" }
columns.email = { category = "email", erase = "hash" }
columns.phone = { category = "phone", erase = "set-null" }

[databases.crm.tables.orders]
key = "id"
relations = [{ column = "customer_id", references = "customers" }]
erase = "delete-row"
columns.note = { category = "email", erase = "keep" }
"#;

async fn company_db(path: &Path) {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for sql in [
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, phone TEXT)",
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), note TEXT)",
        "INSERT INTO customers VALUES (1, 'li.lei@example.com', '+8613800138000')",
        "INSERT INTO customers VALUES (2, 'han.meimei@example.com', '+8613900139000')",
        "INSERT INTO orders VALUES (10, 1, 'tea set'), (11, 2, 'cups')",
    ] {
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
    c.close().await.unwrap();
}

async fn company_rows(path: &Path) -> Vec<(i64, Option<String>)> {
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let r = sqlx::query_as("SELECT id, email FROM customers ORDER BY id")
        .fetch_all(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    r
}

fn ts(v: &Value) -> jiff::Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

struct World {
    s: Server,
    admin: String,
    app: String,
    sink: SmtpSink,
    crm: std::path::PathBuf,
    partner: Receiver,
    portability: Receiver,
    _dir: tempfile::TempDir,
}

async fn world(backend: Backend, pack: &Pack) -> World {
    let dir = tempfile::tempdir().unwrap();
    let crm = dir.path().join("crm.db");
    company_db(&crm).await;
    let map = dir.path().join("crm-map.toml");
    std::fs::write(&map, MAP.replace("DB", &crm.display().to_string())).unwrap();
    let tenant = TenantId::new(uuid::Uuid::new_v4().to_string());
    let sink = SmtpSink::start().await;
    let smtp = format!("smtp://{}", sink.addr);
    let t = tenant.to_string();
    let s = Server::start_with(backend, move |c| {
        c.connectors.insert(t, map);
        c.smtp = Some(troth_server::config::SmtpConfig {
            url: smtp,
            from: "Privacy team <privacy@tenant.example>".into(),
        });
    })
    .await;
    let key = troth_server::bootstrap::create_tenant(&s.state, &tenant, "Every Request Co")
        .await
        .unwrap();
    let admin = key.token;
    let text = std::fs::read_to_string(format!(
        "{}/../../packs/{}/policy.toml",
        env!("CARGO_MANIFEST_DIR"),
        pack.dir
    ))
    .unwrap();
    let r = s
        .call(
            Method::POST,
            "/v1/policies",
            Some(&admin),
            Body::from(text),
            &[("content-type", "application/toml")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let app = s.key(&admin, "app", None).await;
    let (partner, partner_url) = Receiver::start(0).await;
    let (portability, portability_url) = Receiver::start(0).await;
    for (id, body) in [
        (
            "partner",
            json!({ "webhook": partner_url, "recipient": pack.recipient,
                    "events": ["deletion.notice"] }),
        ),
        (
            "portability",
            json!({ "webhook": portability_url, "events": ["copy.transfer"] }),
        ),
    ] {
        let r = s
            .send(
                Method::PUT,
                &format!("/v1/notify-targets/{id}"),
                &admin,
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    World {
        s,
        admin,
        app,
        sink,
        crm,
        partner,
        portability,
        _dir: dir,
    }
}

impl World {
    /// A person known to the company's database by `email`, who consented to
    /// collection and marketing, whose email is stored and shared with the processor,
    /// and for whom one marketing decision was kept for explanation.
    async fn person(&self, pack: &Pack, email: &str) -> (String, String) {
        let s = &self.s;
        let sub = s
            .subject(
                &self.app,
                json!({ "identities": [{ "kind": "email", "value": email }],
                        "age": { "band": "adult" } }),
            )
            .await;
        for (purpose, scope) in [
            (pack.collect, Value::Null),
            (
                pack.collect,
                json!({ "kind": "recipient", "id": pack.recipient }),
            ),
            (pack.marketing, Value::Null),
        ] {
            let mut c = json!({ "subject": sub, "purpose": purpose, "status": "given" });
            if !scope.is_null() {
                c["scope"] = scope;
            }
            let r = s.consent(&self.app, c).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        }
        let r = s
            .send(
                Method::PUT,
                &format!("/v1/subjects/{sub}/vault/email/main"),
                &self.app,
                json!({ "value": email, "purpose": pack.collect }),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
        let r = s
            .post(
                "/v1/disclosures",
                &self.app,
                json!({ "subject": sub, "purpose": pack.collect, "categories": ["email"],
                        "recipient": pack.recipient }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let own = s.key(&self.admin, "subject", Some(&sub)).await;
        (sub, own)
    }

    async fn decide(&self, sub: &str, purpose: &str, record: bool) -> Value {
        let r = self
            .s
            .post(
                "/v1/decisions",
                &self.app,
                json!({ "subject": sub, "purpose": purpose, "categories": ["email"],
                        "record": record }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }

    /// Submits with the person's key, verifies with the code from the inbox, checks
    /// the due date, completes with the operator's key; answers the completed request.
    async fn run(&self, pack: &Pack, own: &str, mut body: Value) -> Value {
        let s = &self.s;
        body["channel"] = json!("privacy_center");
        let r = s.post("/v1/requests", own, body.clone()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.text());
        let req = r.json();
        let id = req["request_id"].as_str().unwrap().to_owned();
        let kind = body["kind"].as_str().unwrap();
        let mut clock_start = ts(&req["received"]);
        if req["status"] == "received" {
            let sent = self.sink.messages.lock().unwrap().len();
            let r = s
                .post(&format!("/v1/requests/{id}/verification"), own, json!({}))
                .await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{kind}: {}", r.text());
            assert_eq!(
                self.sink.messages.lock().unwrap().len(),
                sent + 1,
                "one code mail"
            );
            let r = s
                .post(
                    &format!("/v1/requests/{id}/verification/confirm"),
                    own,
                    json!({ "code": self.sink.last_code() }),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{kind}: {}", r.text());
            let v = r.json();
            assert_eq!(v["status"], "in_progress", "{kind}");
            if pack.from_verification {
                clock_start = ts(&v["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["command"]["command"] == "verified")
                    .unwrap()["at"]);
            }
        } else {
            // The pack asks no identity check for this kind: it starts at once.
            assert_eq!(req["status"], "in_progress", "{kind}");
        }
        let v = s
            .get(&format!("/v1/requests/{id}"), &self.admin)
            .await
            .json();
        let days = (ts(&v["due"]).as_second() - clock_start.as_second()) / 86_400;
        if kind != "complaint" {
            assert_eq!(
                days, pack.days,
                "{kind}: due {} days after the clock starts",
                pack.days
            );
        }
        let r = s
            .post(
                &format!("/v1/requests/{id}/transitions"),
                &self.admin,
                json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{kind}: {}", r.text());
        let done = r.json();
        assert_eq!(done["status"], "completed", "{kind}");
        done
    }
}

async fn every_kind(backend: Backend, pack: &Pack) {
    let w = world(backend, pack).await;
    let s = &w.s;
    let (sub, own) = w.person(pack, "li.lei@example.com").await;
    let kept = w.decide(&sub, pack.marketing, true).await;
    assert_eq!(kept["allow"], true);

    // Access: everything troth holds and the company database's rows, downloaded once.
    let done = w
        .run(pack, &own, json!({ "subject": sub, "kind": "access" }))
        .await;
    let id = done["request_id"].as_str().unwrap();
    let r = s
        .post(&format!("/v1/requests/{id}/export"), &own, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let link = r.json()["download"].as_str().unwrap().to_owned();
    let zip = s.call(Method::GET, &link, None, Body::empty(), &[]).await;
    assert_eq!(zip.status, StatusCode::OK);
    let files = unzip(&zip.body);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "data.json",
        "categories/email.csv",
        "connected/crm/customers.csv",
        "connected/crm/orders.csv",
        "index.html",
        "manifest.json",
        "manifest.sha256",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let crm = &files
        .iter()
        .find(|(n, _)| n == "connected/crm/customers.csv")
        .unwrap()
        .1;
    let crm = String::from_utf8_lossy(crm);
    assert!(
        crm.contains("li.lei@example.com") && !crm.contains("han.meimei"),
        "{crm}"
    );

    // Copy, sent to the third party the person chose.
    let done = w
        .run(
            pack,
            &own,
            json!({ "subject": sub, "kind": "copy", "to_third_party": true,
                    "third_party": "portability" }),
        )
        .await;
    assert_eq!(done["result"]["transferred_to"], "portability");
    let calls = w.portability.calls();
    assert_eq!(calls.len(), 1);
    assert!(unzip(&calls[0].1).iter().any(
        |(n, b)| n == "data.json" && String::from_utf8_lossy(b).contains("li.lei@example.com")
    ));

    // Correction: the stored email changes, its retention does not.
    let done = w
        .run(
            pack,
            &own,
            json!({ "subject": sub, "kind": "correction",
                    "corrections": [{ "category": "email", "record": "main",
                                      "value": "lei.li@example.com" }] }),
        )
        .await;
    assert_eq!(done["result"]["corrected"][0]["record"], "main");
    let r = s
        .get(
            &format!(
                "/v1/subjects/{sub}/vault/email/main?purpose={}",
                pack.collect
            ),
            &w.app,
        )
        .await;
    assert_eq!(r.json()["value"], "lei.li@example.com");

    // Explanation: the kept decision with its inputs and logic, where the pack
    // offers it (seed 004 does not).
    if pack.explains {
        let done = w
            .run(pack, &own, json!({ "subject": sub, "kind": "explanation" }))
            .await;
        let decisions = done["result"]["decisions"].as_array().unwrap();
        assert_eq!(decisions.len(), 1, "{done}");
        assert_eq!(decisions[0]["decision_id"], kept["recorded"]);
        assert_eq!(decisions[0]["purpose"], pack.marketing);
        let logic = decisions[0]["logic"].as_str().unwrap();
        assert!(logic.starts_with("allowed"), "{logic}");
        assert_eq!(done["result"]["purposes"][0]["id"], pack.marketing);
    } else {
        let r = s
            .post(
                "/v1/requests",
                &own,
                json!({ "subject": sub, "kind": "explanation" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert_eq!(r.json()["field"], "kind");
    }

    // Opt-out of targeted push and ads: marketing is refused although consented.
    w.run(
        pack,
        &own,
        json!({ "subject": sub, "kind": "opt_out_targeting" }),
    )
    .await;
    let d = w.decide(&sub, pack.marketing, false).await;
    assert_eq!(d["allow"], false);
    assert!(d.to_string().contains("targeting_opt_out"), "{d}");

    // Withdrawal of the marketing consent (named), and only that one.
    let done = w
        .run(
            pack,
            &own,
            json!({ "subject": sub, "kind": "withdraw_consent", "purposes": [pack.marketing] }),
        )
        .await;
    assert_eq!(done["result"]["withdrawn"], json!([pack.marketing]));
    let state = s
        .get(&format!("/v1/subjects/{sub}/consents"), &w.admin)
        .await
        .json();
    assert!(state.to_string().contains("withdrawn"), "{state}");
    assert_eq!(
        w.decide(&sub, pack.collect, false).await["allow"],
        true,
        "collection stands"
    );

    // A complaint: no identity check, tracked to its answer.
    let done = w
        .run(pack, &own, json!({ "subject": sub, "kind": "complaint" }))
        .await;
    assert!(done["result"].is_null(), "{done}");

    // Deletion: the company database, the vault and a notice to the processor.
    w.run(pack, &own, json!({ "subject": sub, "kind": "deletion" }))
        .await;
    let rows = company_rows(&w.crm).await;
    assert_eq!(
        rows.len(),
        2,
        "rows are kept, their personal columns erased"
    );
    assert_ne!(rows[0].1.as_deref(), Some("li.lei@example.com"), "hashed");
    assert_eq!(
        rows[1].1.as_deref(),
        Some("han.meimei@example.com"),
        "others untouched"
    );
    let r = s
        .get(
            &format!(
                "/v1/subjects/{sub}/vault/email/main?purpose={}",
                pack.collect
            ),
            &w.app,
        )
        .await;
    assert_ne!(r.status, StatusCode::OK, "shredded: {}", r.text());
    let out = s.get("/v1/outbox?limit=1000", &w.admin).await.json();
    let notice = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "deletion.notice")
        .unwrap_or_else(|| panic!("a deletion notice in {out}"))
        .clone();
    assert_eq!(notice["target"], "partner", "{notice}");
    // The courier delivers it to the processor's endpoint, without the person's data.
    troth_server::bootstrap::spawn_outbox(std::sync::Arc::clone(&s.state), &s.config).unwrap();
    let mut delivered = Vec::new();
    for _ in 0..500 {
        delivered = w.partner.calls();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(delivered.len(), 1, "one deletion notice delivered");
    let payload: Value = serde_json::from_slice(&delivered[0].1).unwrap();
    assert_eq!(payload["kind"], "deletion.notice");
    assert_eq!(payload["data"]["recipient"], pack.recipient);
    assert_eq!(payload["data"]["action"], "delete");
    assert!(!payload.to_string().contains("li.lei@example.com"));

    // Account cancellation for a second person: erased the same way.
    let (other, other_own) = w.person(pack, "han.meimei@example.com").await;
    w.run(
        pack,
        &other_own,
        json!({ "subject": other, "kind": "cancel_account" }),
    )
    .await;
    let rows = company_rows(&w.crm).await;
    assert_ne!(rows[1].1.as_deref(), Some("han.meimei@example.com"));
    assert_eq!(w.decide(&other, pack.collect, false).await["allow"], false);

    // The audit log: every execution recorded without personal data, chain intact.
    let audit = s.get("/v1/audit?limit=1000", &w.admin).await.json();
    let items = audit["items"].as_array().unwrap();
    let executed: Vec<Value> = items
        .iter()
        .filter(|a| a["action"] == "request.executed")
        .map(|a| {
            serde_json::from_str::<Value>(a["detail"].as_str().unwrap()).unwrap()["kind"].clone()
        })
        .collect();
    for kind in [
        "copy",
        "correction",
        "opt_out_targeting",
        "withdraw_consent",
    ] {
        assert!(
            executed.contains(&json!(kind)),
            "{kind} not in {executed:?}"
        );
    }
    assert_eq!(executed.contains(&json!("explanation")), pack.explains);
    assert_eq!(
        items
            .iter()
            .filter(|a| a["action"] == "request.connected_erased")
            .count(),
        2
    );
    let text = audit.to_string();
    for pi in [
        "li.lei@example.com",
        "lei.li@example.com",
        "han.meimei@example.com",
    ] {
        assert!(!text.contains(pi), "{pi} in the audit log");
    }
    let v = s.get("/v1/audit/verify", &w.admin).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text());
    assert_eq!(v.json()["intact"], true, "{}", v.text());
}

async fn every_kind_s002(backend: Backend) {
    every_kind(backend, &S002).await;
}

async fn every_kind_s004(backend: Backend) {
    every_kind(backend, &S004).await;
}

/// What a request asks for must fit its kind; each mistake names its field.
async fn asks_fit_the_kind(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Asks Co").await;
    let sub = s
        .subject(&admin, json!({ "age": { "band": "adult" } }))
        .await;
    for (body, status, field) in [
        (
            json!({ "kind": "access", "purposes": ["marketing"] }),
            StatusCode::BAD_REQUEST,
            "purposes",
        ),
        (
            json!({ "kind": "withdraw_consent", "purposes": ["no-such-purpose"] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "purposes[0]",
        ),
        (
            json!({ "kind": "deletion", "corrections": [{ "category": "email", "record": "a", "value": "b" }] }),
            StatusCode::BAD_REQUEST,
            "corrections",
        ),
        (
            json!({ "kind": "correction", "corrections": [{ "category": "email", "record": "", "value": "b" }] }),
            StatusCode::BAD_REQUEST,
            "corrections[0].record",
        ),
        (
            json!({ "kind": "copy", "third_party": "portability" }),
            StatusCode::BAD_REQUEST,
            "third_party",
        ),
        (
            json!({ "kind": "copy", "to_third_party": true }),
            StatusCode::BAD_REQUEST,
            "third_party",
        ),
        (
            json!({ "kind": "copy", "to_third_party": true, "third_party": "nobody" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "third_party",
        ),
        (
            json!({ "kind": "access", "developer": "not-a-uuid" }),
            StatusCode::BAD_REQUEST,
            "developer",
        ),
    ] {
        let mut body = body;
        body["subject"] = json!(sub);
        let r = s.post("/v1/requests", &admin, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{body}: {}", r.text());
    }
    let all = s.get("/v1/requests?status=all", &admin).await.json();
    assert_eq!(
        all.as_array().unwrap().len(),
        0,
        "nothing was stored: {all}"
    );
}

on_both!(every_kind_s002, every_kind_s004, asks_fit_the_kind);
