//! Retention sweeps, legal holds, aggregate reports and PIA/RoPA over the API, on
//! SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Server};
use troth_store::RetentionStore;

const PAST: &str = "2020-01-01T00:00:00Z";

/// Stores a value; `expires_at` may only shorten what the pack says.
async fn put(
    s: &Server,
    token: &str,
    sub: &str,
    category: &str,
    purpose: &str,
    expires: Option<&str>,
) {
    let mut body = json!({ "value": format!("{category} of {sub}"), "purpose": purpose });
    if let Some(e) = expires {
        body["expires_at"] = json!(e);
    }
    let r = s
        .send(
            Method::PUT,
            &format!("/v1/subjects/{sub}/vault/{category}/main"),
            token,
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
}

async fn read(s: &Server, token: &str, sub: &str, category: &str, purpose: &str) -> StatusCode {
    s.get(
        &format!("/v1/subjects/{sub}/vault/{category}/main?purpose={purpose}"),
        token,
    )
    .await
    .status
}

async fn consent(s: &Server, token: &str, sub: &str, purpose: &str, status: &str) {
    let r = s
        .consent(
            token,
            json!({ "subject": sub, "purpose": purpose, "status": status }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

async fn sweep(s: &Server, token: &str, dry_run: bool) -> Value {
    let r = s
        .post("/v1/retention/sweeps", token, json!({ "dry_run": dry_run }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

async fn audit(s: &Server, token: &str) -> Vec<Value> {
    let r = s.get("/v1/audit?limit=1000", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["items"].as_array().unwrap().clone()
}

async fn expired_data_is_gone_and_audited(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let gone = s.subject(&admin, json!({})).await;
    let anon = s.subject(&admin, json!({})).await;
    let kept = s.subject(&admin, json!({})).await;
    // legal-compliance keeps data "until purpose-fulfilled": only the caller's
    // earlier expiry ends it. analytics is anonymized at its end.
    put(&s, &admin, &gone, "email", "legal-compliance", Some(PAST)).await;
    consent(&s, &admin, &anon, "analytics", "given").await;
    put(&s, &admin, &anon, "ip-address", "analytics", Some(PAST)).await;
    put(&s, &admin, &kept, "email", "legal-compliance", None).await;
    // A fresh analytics value gets the pack's 180 days: not due.
    put(&s, &admin, &anon, "device-id", "analytics", None).await;

    // The dry run lists what would go and changes nothing.
    let dry = sweep(&s, &admin, true).await;
    assert_eq!(dry["due_total"], 2, "{dry}");
    let listed: Vec<(&str, &str)> = dry["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["category"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(listed.contains(&("email", "delete")), "{dry}");
    assert!(listed.contains(&("ip-address", "anonymize")), "{dry}");
    assert_eq!(
        read(&s, &admin, &gone, "email", "legal-compliance").await,
        StatusCode::OK
    );

    let done = sweep(&s, &admin, false).await;
    assert_eq!(
        (done["deleted"].as_u64(), done["anonymized"].as_u64()),
        (Some(1), Some(1)),
        "{done}"
    );
    assert_eq!(
        read(&s, &admin, &gone, "email", "legal-compliance").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        read(&s, &admin, &anon, "ip-address", "analytics").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        read(&s, &admin, &kept, "email", "legal-compliance").await,
        StatusCode::OK
    );
    assert_eq!(
        read(&s, &admin, &anon, "device-id", "analytics").await,
        StatusCode::OK
    );

    let log = audit(&s, &admin).await;
    let swept: Vec<&Value> = log
        .iter()
        .filter(|e| e["action"] == "retention.swept")
        .collect();
    assert_eq!(swept.len(), 1);
    let detail = swept[0]["detail"].as_str().unwrap();
    assert!(detail.contains(&gone) && detail.contains(&anon), "{detail}");
    assert!(!detail.contains(&kept));
    assert!(
        log.iter()
            .any(|e| e["action"] == "retention.sweep_finished")
    );
    // Nothing left to do: the next sweep removes nothing.
    let again = sweep(&s, &admin, false).await;
    assert_eq!(again["deleted"], 0);
}

async fn withdrawing_consent_ends_consent_bound_retention(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let sub = s.subject(&admin, json!({})).await;
    consent(&s, &admin, &sub, "photo-access", "given").await;
    // photo-access keeps photos "until consent-withdrawn".
    put(&s, &admin, &sub, "photos", "photo-access", None).await;
    assert_eq!(sweep(&s, &admin, false).await["deleted"], 0);
    consent(&s, &admin, &sub, "photo-access", "withdrawn").await;
    let done = sweep(&s, &admin, false).await;
    assert_eq!(done["deleted"], 1, "{done}");
}

async fn held_data_survives_until_the_hold_is_lifted(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let sub = s.subject(&admin, json!({})).await;
    put(&s, &admin, &sub, "email", "legal-compliance", Some(PAST)).await;
    put(&s, &admin, &sub, "phone", "legal-compliance", Some(PAST)).await;

    // A hold cites one of the pack's reasons; anything else is refused by field.
    let r = s
        .post(
            "/v1/holds",
            &admin,
            json!({ "subject": sub, "reason": "because" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "reason");
    assert!(
        r.text().contains("legal-requirement"),
        "lists the pack's reasons"
    );
    let r = s
        .post(
            "/v1/holds",
            &admin,
            json!({ "reason": "legal-requirement" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let app = s.key(&admin, "app", None).await;
    let r = s
        .post(
            "/v1/holds",
            &app,
            json!({ "subject": sub, "reason": "legal-requirement" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = s
        .post(
            "/v1/holds",
            &admin,
            json!({ "subject": sub, "category": "email", "reason": "legal-requirement", "note": "case 42" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let hold = r.json();
    let hold_id = hold["hold_id"].as_str().unwrap().to_owned();
    assert_eq!(hold["active"], true);
    assert_eq!(
        hold["reason_text"],
        "Laws and regulations require us to keep the information"
    );

    // The dry run and the sweep both cite the hold; only the unheld phone goes.
    let dry = sweep(&s, &admin, true).await;
    assert_eq!(dry["held"][0]["hold_id"], hold_id.as_str());
    let done = sweep(&s, &admin, false).await;
    assert_eq!(done["deleted"], 1, "{done}");
    assert_eq!(done["held"][0]["hold_id"], hold_id.as_str());
    assert_eq!(done["held"][0]["reason"], "legal-requirement");
    assert_eq!(done["held"][0]["records"], 1);
    assert_eq!(
        read(&s, &admin, &sub, "email", "legal-compliance").await,
        StatusCode::OK
    );
    assert_eq!(
        read(&s, &admin, &sub, "phone", "legal-compliance").await,
        StatusCode::NOT_FOUND
    );

    // Erasure would shred the held data too: refused, citing the hold.
    let r = s.delete(&format!("/v1/subjects/{sub}"), &admin).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains(&hold_id), "{}", r.text());
    assert_eq!(
        read(&s, &admin, &sub, "email", "legal-compliance").await,
        StatusCode::OK
    );

    let list = s.get("/v1/holds", &admin).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let r = s.delete(&format!("/v1/holds/{hold_id}"), &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["active"], false);
    assert_eq!(
        s.delete(&format!("/v1/holds/{hold_id}"), &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(
        s.get("/v1/holds", &admin)
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.get("/v1/holds?active=false", &admin)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The next sweep proceeds.
    assert_eq!(sweep(&s, &admin, false).await["deleted"], 1);
    assert_eq!(
        read(&s, &admin, &sub, "email", "legal-compliance").await,
        StatusCode::NOT_FOUND
    );
    let log = audit(&s, &admin).await;
    for action in ["hold.placed", "hold.lifted"] {
        assert!(log.iter().any(|e| e["action"] == action), "{action}");
    }
}

async fn a_crash_mid_sweep_resumes_without_loss_or_double_work(backend: Backend) {
    let s = Server::start(backend).await;
    let (tenant, admin) = s.tenant("Acme").await;
    let mut subs = Vec::new();
    for _ in 0..5 {
        let sub = s.subject(&admin, json!({})).await;
        put(&s, &admin, &sub, "email", "legal-compliance", Some(PAST)).await;
        subs.push(sub);
    }
    // A replica takes the lease, commits two batches of one, and dies.
    let store = &s.state.store;
    let now = jiff::Timestamp::now();
    let lease_until = now + jiff::SignedDuration::from_millis(500);
    let run = store
        .begin_sweep(&tenant, "replica-dead", now, lease_until)
        .await
        .unwrap()
        .unwrap();
    for _ in 0..2 {
        let b = store
            .sweep_batch(&run, now, 1, lease_until, "system:retention")
            .await
            .unwrap();
        assert_eq!(b.deleted, 1);
    }
    drop(run);
    // While its lease lives, nobody else sweeps.
    let r = s.post("/v1/retention/sweeps", &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    // After it ran out, the API's sweep resumes the run.
    let done = sweep(&s, &admin, false).await;
    assert_eq!(done["deleted"], 5, "the run counts all five once: {done}");
    for sub in &subs {
        assert_eq!(
            read(&s, &admin, sub, "email", "legal-compliance").await,
            StatusCode::NOT_FOUND
        );
    }
    let deleted_in_log: u64 = audit(&s, &admin)
        .await
        .iter()
        .filter(|e| e["action"] == "retention.swept")
        .map(|e| {
            let d: Value = serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
            d["deleted"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(deleted_in_log, 5, "each record audited exactly once");
}

async fn reports_never_show_a_cell_below_k(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant_with_pack("Acme", "s004-mobtech").await;
    let rt = s.get("/v1/reports/aggregate", &admin).await;
    assert_eq!(rt.status, StatusCode::OK, "{}", rt.text());
    let k = rt.json()["k"].as_u64().unwrap();
    assert_eq!(k, 10, "s004 sets report_k = 10");
    let purpose = "developer-marketing";
    let mut subs = Vec::new();
    for i in 0..15 {
        let sub = s.subject(&admin, json!({})).await;
        let status = if i < 12 { "given" } else { "withdrawn" };
        let r = s
            .consent(
                &admin,
                json!({ "subject": sub, "purpose": purpose, "status": status }),
            )
            .await;
        if r.status != StatusCode::CREATED {
            panic!("{}", r.text());
        }
        subs.push(sub);
    }
    let r = s.get("/v1/reports/aggregate", &admin).await;
    let report = r.json();
    for d in report["distributions"].as_array().unwrap() {
        for c in d["cells"].as_array().unwrap() {
            if let Some(n) = c["count"].as_u64() {
                assert!(n == 0 || n >= k, "cell below k shown: {d}");
            }
        }
        if let Some(t) = d["total"].as_u64() {
            assert!(t == 0 || t >= k, "total below k shown: {d}");
        }
    }
    let dist = report["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == format!("consent_state:{purpose}"))
        .unwrap_or_else(|| panic!("{report}"));
    // 12 given and 3 withdrawn: 3 is hidden, and 12 too, or 15 − 12 would tell it.
    assert_eq!(dist["total"], 15, "{dist}");
    let count = |label: &str| {
        dist["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["label"] == label)
            .unwrap()["count"]
            .clone()
    };
    assert_eq!(count("withdrawn"), Value::Null);
    assert_eq!(count("given"), Value::Null);

    let csv = s.get("/v1/reports/aggregate?format=csv", &admin).await;
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    assert!(text.starts_with("distribution,label,count\n"));
    assert!(
        text.contains(&format!("consent_state:{purpose},withdrawn,suppressed")),
        "{text}"
    );
    assert!(
        text.contains(&format!("consent_state:{purpose},total,15")),
        "{text}"
    );
    assert_eq!(
        s.get("/v1/reports/aggregate?format=xml", &admin)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    // Auditors read reports; apps do not.
    let auditor = s.key(&admin, "auditor", None).await;
    assert_eq!(
        s.get("/v1/reports/aggregate", &auditor).await.status,
        StatusCode::OK
    );
    let app = s.key(&admin, "app", None).await;
    assert_eq!(
        s.get("/v1/reports/aggregate", &app).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn pia_and_ropa_are_stored_with_version_date_and_keep_until(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant_with_pack("Acme", "s004-mobtech").await;
    let first = s.post("/v1/reports/pia", &admin, json!({})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let first = first.json();
    assert_eq!(first["version"], 1);
    let cases: Vec<&str> = first["document"]["content"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["case"].as_str().unwrap())
        .collect();
    assert!(cases.contains(&"sensitive_data"), "{cases:?}");
    let created: jiff::Timestamp = first["created"].as_str().unwrap().parse().unwrap();
    let keep: jiff::Timestamp = first["keep_until"].as_str().unwrap().parse().unwrap();
    let days = (keep - created).as_secs() / 86_400;
    assert!(
        (1095..=1097).contains(&days),
        "kept 3 years, got {days} days"
    );
    let second = s.post("/v1/reports/pia", &admin, json!({})).await.json();
    assert_eq!(second["version"], 2);
    let ropa = s.post("/v1/reports/ropa", &admin, json!({})).await;
    assert_eq!(ropa.status, StatusCode::CREATED, "{}", ropa.text());
    assert_eq!(ropa.json()["version"], 1);

    let auditor = s.key(&admin, "auditor", None).await;
    let list = s.get("/v1/reports/pia", &auditor).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json().as_array().unwrap().len(), 2);
    assert_eq!(
        s.post("/v1/reports/pia", &auditor, json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    let id = first["report_id"].as_str().unwrap();
    let zh = s
        .get(
            &format!("/v1/reports/pia/{id}?format=html&lang=zh-CN"),
            &auditor,
        )
        .await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(
        zh.text().contains("个人信息保护影响评估报告"),
        "{}",
        zh.text()
    );
    let en = s
        .get(&format!("/v1/reports/pia/{id}?format=html"), &auditor)
        .await;
    assert!(
        en.text()
            .contains("Processing sensitive personal information")
    );
    assert_eq!(
        s.get(&format!("/v1/reports/ropa/{id}"), &auditor)
            .await
            .status,
        StatusCode::NOT_FOUND,
        "a PIA is not a RoPA"
    );
    assert_eq!(
        s.get("/v1/reports/nope", &auditor).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn the_background_worker_sweeps_on_its_interval(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let sub = s.subject(&admin, json!({})).await;
    put(&s, &admin, &sub, "email", "legal-compliance", Some(PAST)).await;
    // Off unless started (tests never start it implicitly).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        read(&s, &admin, &sub, "email", "legal-compliance").await,
        StatusCode::OK
    );
    troth_server::retention::spawn_worker(
        std::sync::Arc::clone(&s.state),
        troth_server::retention::RetentionConfig {
            enabled: true,
            interval_secs: 1,
            batch: 100,
            lease_secs: 10,
        },
    );
    let mut gone = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if read(&s, &admin, &sub, "email", "legal-compliance").await == StatusCode::NOT_FOUND {
            gone = true;
            break;
        }
    }
    assert!(gone, "the worker swept the expired record");
    let log = audit(&s, &admin).await;
    let swept = log
        .iter()
        .find(|e| e["action"] == "retention.swept")
        .expect("audited");
    assert_eq!(swept["actor"], "system:retention");
}

on_both!(
    expired_data_is_gone_and_audited,
    withdrawing_consent_ends_consent_bound_retention,
    held_data_survives_until_the_hold_is_lifted,
    a_crash_mid_sweep_resumes_without_loss_or_double_work,
    reports_never_show_a_cell_below_k,
    pia_and_ropa_are_stored_with_version_date_and_keep_until,
    the_background_worker_sweeps_on_its_interval,
);

/// The PIA and RoPA HTML and JSON for s004, pinned (the date is fixed).
#[test]
fn pia_and_ropa_snapshots() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../packs/s004-mobtech/policy.toml"
    ))
    .unwrap();
    let policy = troth_policy::parse_policy("policy.toml", &text).unwrap();
    for (kind, content) in [
        (
            "pia",
            serde_json::to_value(troth_core::reports::pia(&policy)).unwrap(),
        ),
        (
            "ropa",
            serde_json::to_value(troth_core::reports::ropa(&policy)).unwrap(),
        ),
    ] {
        let doc = troth_server::api::reports::AssessmentDoc {
            kind: kind.into(),
            generated: "2026-01-01T00:00:00Z".into(),
            keep_until: "2029-01-01T00:00:00Z".into(),
            policy_hash: "0123abcd".into(),
            content,
            affected: if kind == "pia" {
                [
                    ("sensitive_data".to_owned(), None),
                    ("sharing".to_owned(), Some(42)),
                ]
                .into_iter()
                .collect()
            } else {
                Default::default()
            },
        };
        insta::assert_json_snapshot!(format!("{kind}_json"), doc);
        for lang in troth_policy::Lang::ALL {
            let html = troth_server::api::reports::render_html(&doc, 1, lang).unwrap();
            insta::assert_snapshot!(format!("{kind}_html_{}", lang.tag()), html);
        }
    }
}
