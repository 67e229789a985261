//! Rights requests over the API on SQLite and PostgreSQL: deadlines from the pack,
//! the state machine's rules, and deletion that crypto-shreds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{Backend, Server};

async fn deletion_request_runs_to_completion(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let sub = s
        .subject(
            &admin,
            json!({ "identities": [{ "kind": "email", "value": "li.lei@example.com" }] }),
        )
        .await;
    let path = format!("/v1/subjects/{sub}/vault/email/main");
    let r = s
        .send(
            Method::PUT,
            &path,
            &admin,
            json!({ "value": "li.lei@example.com", "purpose": "legal-compliance" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());

    // The subject submits with their own key; s002 answers within 30 days of receipt.
    let own = s.key(&admin, "subject", Some(&sub)).await;
    let r = s
        .post(
            "/v1/requests",
            &own,
            json!({ "subject": sub, "kind": "deletion", "channel": "privacy_center" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let req = r.json();
    let id = req["request_id"].as_str().unwrap().to_owned();
    assert_eq!(
        req["status"], "received",
        "deletion needs the identity checked first"
    );
    assert_eq!(req["channel"], "privacy_center");
    assert_eq!(req["submitter"]["kind"], "subject");
    let received: jiff::Timestamp = req["received"].as_str().unwrap().parse().unwrap();
    let due: jiff::Timestamp = req["due"].as_str().unwrap().parse().unwrap();
    let days = (due - received).as_secs() / 86_400;
    assert!((29..=31).contains(&days), "about 30 days, got {days}");
    assert_eq!(req["alarm"], "none");

    // Subjects cannot work requests; operators can. Skipping verification is refused.
    let moves = format!("/v1/requests/{id}/transitions");
    let move_to = |cmd: serde_json::Value| s.post(&moves, &admin, cmd);
    let r = s
        .post(
            &format!("/v1/requests/{id}/transitions"),
            &own,
            json!({ "command": "start" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = move_to(json!({ "command": "start" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = move_to(json!({ "command": "refuse", "reason": "not-in-this-pack" })).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a refusal cites one of the pack's reasons"
    );
    for cmd in ["start_verification", "verified"] {
        let r = move_to(json!({ "command": cmd })).await;
        assert_eq!(r.status, StatusCode::OK, "{cmd}: {}", r.text());
    }
    assert_eq!(
        s.get("/v1/requests?status=open", &admin)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = move_to(json!({ "command": "complete", "outcome": { "kind": "fulfilled" } })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "completed");
    assert_eq!(r.json()["events"].as_array().unwrap().len(), 4);
    // Completed means erased: the value is unreadable, decisions deny.
    let r = s
        .get(&format!("{path}?purpose=legal-compliance"), &admin)
        .await;
    assert_ne!(r.status, StatusCode::OK);
    let r = s
        .post(
            "/v1/decisions",
            &admin,
            json!({ "subject": sub, "purpose": "legal-compliance", "categories": ["email"] }),
        )
        .await;
    assert_eq!(r.json()["allow"], false);
    // A finished request accepts nothing more.
    assert_eq!(
        move_to(json!({ "command": "start" })).await.status,
        StatusCode::CONFLICT
    );
    assert!(
        s.get("/v1/requests?status=open", &admin)
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The subject can read their own request; another subject's key cannot.
    assert_eq!(
        s.get(&format!("/v1/requests/{id}"), &own).await.status,
        StatusCode::OK
    );
    let other = s.subject(&admin, json!({})).await;
    let theirs = s.key(&admin, "subject", Some(&other)).await;
    assert_eq!(
        s.get(&format!("/v1/requests/{id}"), &theirs).await.status,
        StatusCode::NOT_FOUND
    );
    // The audit log has every step.
    let actions: Vec<String> = s.get("/v1/audit?limit=1000", &admin).await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for a in [
        "request.received",
        "request.verifying",
        "request.in_progress",
        "subject.erased",
        "request.completed",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
}

async fn requests_follow_the_pack(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let sub = s.subject(&admin, json!({})).await;
    // A complaint needs no identity check: it starts at once.
    let r = s
        .post(
            "/v1/requests",
            &admin,
            json!({ "subject": sub, "kind": "complaint" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["status"], "in_progress");
    // s002 allows 4 free requests a year; the fifth may carry a fee.
    assert_eq!(r.json()["fee"]["decision"], "free");
    for _ in 0..3 {
        s.post(
            "/v1/requests",
            &admin,
            json!({ "subject": sub, "kind": "complaint" }),
        )
        .await;
    }
    let fifth = s
        .post(
            "/v1/requests",
            &admin,
            json!({ "subject": sub, "kind": "complaint" }),
        )
        .await;
    assert_eq!(
        fifth.json()["fee"]["decision"],
        "fee_may_apply",
        "{}",
        fifth.text()
    );
    // PIPL allows no extension.
    let id = r.json()["request_id"].as_str().unwrap().to_owned();
    let r = s
        .post(
            &format!("/v1/requests/{id}/transitions"),
            &admin,
            json!({ "command": "extend", "reason": "complexity" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    // Unknown kinds and other tenants' subjects.
    let r = s
        .post(
            "/v1/requests",
            &admin,
            json!({ "subject": sub, "kind": "teleport" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let (_, b) = s.tenant("B").await;
    let r = s
        .post(
            "/v1/requests",
            &b,
            json!({ "subject": sub, "kind": "access" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        s.get(&format!("/v1/requests/{id}"), &b).await.status,
        StatusCode::NOT_FOUND
    );
    // Nothing is overdue yet.
    assert!(
        s.get("/v1/requests?status=overdue", &admin)
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// s004 counts 15 days from verification: a code sent over real SMTP, read from
/// the inbox, proves the identity and starts the clock.
async fn email_code_verifies_identity(backend: Backend) {
    let sink = support::SmtpSink::start().await;
    let url = format!("smtp://{}", sink.addr);
    let s = Server::start_with(backend, move |c| {
        c.smtp = Some(troth_server::config::SmtpConfig {
            url,
            from: "Privacy team <privacy@tenant.example>".into(),
        });
    })
    .await;
    let (_, admin) = s.tenant_with_pack("Mob", "s004-mobtech").await;
    let sub = s
        .subject(
            &admin,
            json!({ "identities": [{ "kind": "email", "value": "zhang.wei@example.com" }] }),
        )
        .await;
    let own = s.key(&admin, "subject", Some(&sub)).await;
    let r = s
        .post(
            "/v1/requests",
            &own,
            json!({ "subject": sub, "kind": "access" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(
        r.json()["due"].is_null(),
        "no clock before verification (s004)"
    );
    let id = r.json()["request_id"].as_str().unwrap().to_owned();

    let r = s
        .post(&format!("/v1/requests/{id}/verification"), &own, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(r.json()["to"], "z***@example.com");
    let msg = sink.messages.lock().unwrap().last().cloned().unwrap();
    assert!(
        msg.contains("zhang.wei@example.com"),
        "delivered to the subject"
    );
    let code = sink.last_code();
    assert_eq!(code.len(), 6);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = format!("/v1/requests/{id}/verification/confirm");
    let r = s.post(&confirm, &own, json!({ "code": wrong })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("4 attempt"), "{}", r.text());
    let r = s.post(&confirm, &own, json!({ "code": code })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "in_progress");
    let due: jiff::Timestamp = r.json()["due"].as_str().unwrap().parse().unwrap();
    let days = (due - jiff::Timestamp::now()).as_secs() / 86_400;
    assert!(
        (14..=15).contains(&days),
        "15 days after verification, got {days}"
    );
    // A code works once.
    assert_eq!(
        s.post(&confirm, &own, json!({ "code": code })).await.status,
        StatusCode::CONFLICT
    );
}

/// A deletion request under legal holds completes only by citing them; held data
/// stays (a subject hold keeps everything, a category hold keeps that category).
async fn deletion_under_a_hold_keeps_the_held_data(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let purpose = "legal-compliance";
    let mut subjects = Vec::new();
    for _ in 0..2 {
        let sub = s.subject(&admin, json!({})).await;
        for cat in ["email", "name"] {
            let r = s
                .send(
                    Method::PUT,
                    &format!("/v1/subjects/{sub}/vault/{cat}/main"),
                    &admin,
                    json!({ "value": format!("{cat} value"), "purpose": purpose }),
                )
                .await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
        }
        subjects.push(sub);
    }
    let (whole, by_category) = (&subjects[0], &subjects[1]);
    let r = s
        .post(
            "/v1/holds",
            &admin,
            json!({ "subject": whole, "reason": "legal-requirement" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = s
        .post(
            "/v1/holds",
            &admin,
            json!({ "subject": by_category, "category": "email", "reason": "independent-authorisation" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let read = |sub: &str, cat: &str| {
        let path = format!("/v1/subjects/{sub}/vault/{cat}/main?purpose={purpose}");
        let s = &s;
        let admin = admin.clone();
        async move { s.get(&path, &admin).await.status }
    };
    for (sub, reason) in [
        (whole, "legal-requirement"),
        (by_category, "independent-authorisation"),
    ] {
        let id = s
            .post(
                "/v1/requests",
                &admin,
                json!({ "subject": sub, "kind": "deletion" }),
            )
            .await
            .json()["request_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let moves = format!("/v1/requests/{id}/transitions");
        for cmd in ["start_verification", "verified"] {
            s.post(&moves, &admin, json!({ "command": cmd })).await;
        }
        let r = s
            .post(
                &moves,
                &admin,
                json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
        assert_eq!(r.json()["field"], "outcome");
        assert!(r.text().contains(reason), "{}", r.text());
        let r = s
            .post(
                &moves,
                &admin,
                json!({ "command": "complete",
                        "outcome": { "kind": "fulfilled_with_holds", "holds": [reason] } }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["status"], "completed");
    }
    // The subject hold kept everything; the category hold kept only email.
    assert_eq!(read(whole, "email").await, StatusCode::OK);
    assert_eq!(read(whole, "name").await, StatusCode::OK);
    assert_eq!(read(by_category, "email").await, StatusCode::OK);
    assert_eq!(read(by_category, "name").await, StatusCode::NOT_FOUND);
}

on_both!(
    deletion_under_a_hold_keeps_the_held_data,
    deletion_request_runs_to_completion,
    requests_follow_the_pack,
    email_code_verifies_identity,
);
