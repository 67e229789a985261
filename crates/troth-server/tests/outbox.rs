//! The outbox on SQLite and PostgreSQL: a completed deletion notifies every
//! recipient of the subject's data in the same transaction, deliveries are signed,
//! retried with backoff, dead-lettered and retried by hand, and deadline alarms are
//! raised once per level and reach a real (loopback) SMTP inbox.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Receiver, Server, SmtpSink};
use troth_server::config::{OutboxConfig, SmtpConfig};
use troth_server::outbox::Courier;

fn fast() -> OutboxConfig {
    OutboxConfig {
        backoff_ms: 20,
        max_backoff_secs: 1,
        max_attempts: 3,
        webhook_timeout_secs: 2,
        ..OutboxConfig::default()
    }
}

/// Delivers until nothing is pending (or gives up after a few seconds).
async fn drain(s: &Server, courier: &Courier, admin: &str) {
    for _ in 0..200 {
        courier.deliver_due().await.unwrap();
        let pending = s.get("/v1/outbox?status=pending", admin).await.json();
        if pending["items"].as_array().unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    panic!("messages still pending");
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).unwrap().to_str().unwrap()
}

/// A subject whose data went to two recipients, and a deletion request taken as far
/// as `in_progress`. Returns (subject, request id).
async fn subject_with_disclosures(s: &Server, admin: &str) -> (String, String) {
    let sub = s.subject(admin, json!({})).await;
    // A transfer abroad needs the purpose, the recipient and the destination consented.
    for scope in [
        json!(null),
        json!({ "kind": "destination", "id": "SG" }),
        json!({ "kind": "recipient", "id": "overseas-service-node" }),
    ] {
        let mut c = json!({ "subject": sub, "purpose": "cross-border-service", "status": "given" });
        if !scope.is_null() {
            c["scope"] = scope;
        }
        assert_eq!(s.consent(admin, c).await.status, StatusCode::CREATED);
    }
    for d in [
        json!({ "subject": sub, "purpose": "legal-compliance", "categories": ["email"],
                "recipient": "authorities", "disclosure_basis": "law-or-authority" }),
        json!({ "subject": sub, "purpose": "cross-border-service", "categories": ["email"],
                "recipient": "overseas-service-node", "destination": "SG" }),
    ] {
        let r = s.post("/v1/disclosures", admin, d).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = s
        .post(
            "/v1/requests",
            admin,
            json!({ "subject": sub, "kind": "deletion", "channel": "web" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["request_id"].as_str().unwrap().to_owned();
    for cmd in ["start_verification", "verified"] {
        let r = s
            .post(
                &format!("/v1/requests/{id}/transitions"),
                admin,
                json!({ "command": cmd }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{cmd}: {}", r.text());
    }
    (sub, id)
}

async fn deletion_notifies_recipients(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let (receiver, url) = Receiver::start(2).await;
    let r = s
        .send(
            Method::PUT,
            "/v1/notify-targets/sg-node",
            &admin,
            json!({ "webhook": url, "recipient": "overseas-service-node", "events": ["deletion.notice"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let secret = r.json()["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    // Listing never shows the secret again.
    let listed = s.get("/v1/notify-targets", &admin).await.json();
    assert_eq!(listed[0]["target_id"], "sg-node");
    assert!(listed[0].get("secret").is_none());

    let (sub, id) = subject_with_disclosures(&s, &admin).await;
    let r = s
        .post(
            &format!("/v1/requests/{id}/transitions"),
            &admin,
            json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Committed with the completion: one routed notice, one unrouted naming the gap.
    let all = s.get("/v1/outbox", &admin).await.json();
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{all}");
    let routed = items
        .iter()
        .find(|m| m["channel"] == "webhook")
        .expect("a webhook notice");
    assert_eq!(routed["status"], "pending");
    assert_eq!(routed["kind"], "deletion.notice");
    assert_eq!(routed["payload"]["subject"], sub.as_str());
    assert_eq!(
        routed["payload"]["disclosures"][0]["categories"][0],
        "email"
    );
    let unrouted = items.iter().find(|m| m["channel"] == "unrouted").unwrap();
    assert_eq!(unrouted["status"], "dead");
    assert!(
        unrouted["last_error"]
            .as_str()
            .unwrap()
            .contains("authorities"),
        "{unrouted}"
    );
    let message_id = routed["message_id"].as_str().unwrap().to_owned();

    // Two 503s, then the acknowledgement.
    let courier = Courier::new(Arc::clone(&s.state), fast()).unwrap();
    courier.deliver_due().await.unwrap();
    let m = s
        .get(&format!("/v1/outbox/{message_id}"), &admin)
        .await
        .json();
    assert_eq!(m["status"], "pending");
    assert_eq!(m["attempts"], 1);
    assert_eq!(m["response_status"], 503);
    assert_eq!(m["last_error"], "receiver answered 503");
    drain(&s, &courier, &admin).await;
    let m = s
        .get(&format!("/v1/outbox/{message_id}"), &admin)
        .await
        .json();
    assert_eq!(m["status"], "delivered", "{m}");
    assert_eq!(m["attempts"], 3);
    assert_eq!(m["response_status"], 200);

    // Every attempt carried the same id and a signature the receiver can check.
    let calls = receiver.calls();
    assert_eq!(calls.len(), 3);
    for (h, body) in &calls {
        assert_eq!(header(h, "troth-message-id"), message_id);
        assert_eq!(header(h, "troth-event"), "deletion.notice");
        troth_connectors::http::verify_signature(
            secret.as_bytes(),
            header(h, "troth-timestamp"),
            header(h, "troth-signature"),
            body,
            jiff::Timestamp::now().as_second(),
        )
        .expect("signed with the target's secret");
        let wrong = troth_connectors::http::verify_signature(
            b"whsec_wrong",
            header(h, "troth-timestamp"),
            header(h, "troth-signature"),
            body,
            jiff::Timestamp::now().as_second(),
        );
        assert!(wrong.is_err());
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["id"], message_id.as_str());
        assert_eq!(v["data"]["request_id"], id.as_str());
        assert_eq!(v["data"]["recipient"], "overseas-service-node");
    }

    // The acknowledgement is in the audit log; the subject is shredded.
    let actions: Vec<String> = s.get("/v1/audit?limit=1000", &admin).await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for a in ["subject.erased", "request.completed", "outbox.delivered"] {
        assert!(actions.iter().any(|x| x == a), "{a} missing: {actions:?}");
    }
    assert_eq!(
        s.get("/v1/audit/verify", &admin).await.json()["intact"],
        true,
        "the chain verifies"
    );
}

async fn dead_letters_and_manual_retry(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let r = s
        .send(
            Method::PUT,
            "/v1/notify-targets/sg-node",
            &admin,
            json!({ "webhook": url, "recipient": "overseas-service-node" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let (_, id) = subject_with_disclosures(&s, &admin).await;
    let r = s
        .post(
            &format!("/v1/requests/{id}/transitions"),
            &admin,
            json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let courier = Courier::new(Arc::clone(&s.state), fast()).unwrap();
    drain(&s, &courier, &admin).await;
    let dead = s.get("/v1/outbox?status=dead", &admin).await.json();
    let m = dead["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel"] == "webhook")
        .expect("dead-lettered after max attempts")
        .clone();
    assert_eq!(m["attempts"], 3);
    assert_eq!(m["last_error"], "connection failed");
    let mid = m["message_id"].as_str().unwrap();

    // Unrouted messages cannot be retried; routed dead ones can, once the receiver is up.
    let unrouted = dead["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel"] == "unrouted")
        .unwrap();
    let r = s
        .post(
            &format!(
                "/v1/outbox/{}/retry",
                unrouted["message_id"].as_str().unwrap()
            ),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let (receiver, url) = Receiver::start(0).await;
    s.send(
        Method::PUT,
        "/v1/notify-targets/sg-node",
        &admin,
        json!({ "webhook": url, "recipient": "overseas-service-node" }),
    )
    .await;
    let r = s
        .post(&format!("/v1/outbox/{mid}/retry"), &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "pending");
    drain(&s, &courier, &admin).await;
    let m = s.get(&format!("/v1/outbox/{mid}"), &admin).await.json();
    assert_eq!(m["status"], "delivered");
    assert_eq!(receiver.calls().len(), 1);

    // Bad targets are refused with the field named.
    for (body, field) in [
        (
            json!({ "webhook": "http://hooks.example.com/x" }),
            "webhook",
        ),
        (json!({ "email": "not-an-address" }), "email"),
        (json!({ "webhook": url, "events": ["nope"] }), "events[0]"),
        (
            json!({ "webhook": url, "recipient": "nobody" }),
            "recipient",
        ),
    ] {
        let r = s
            .send(Method::PUT, "/v1/notify-targets/x", &admin, body)
            .await;
        assert!(r.status.is_client_error(), "{}", r.text());
        assert_eq!(r.json()["field"], field, "{}", r.text());
    }
    // Operators read the outbox; only admins manage targets.
    let op = s.key(&admin, "operator", None).await;
    assert_eq!(s.get("/v1/outbox", &op).await.status, StatusCode::OK);
    assert_eq!(
        s.get("/v1/notify-targets", &op).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn alarms_reach_the_inbox_once_per_level(backend: Backend) {
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
    let r = s
        .send(
            Method::PUT,
            "/v1/notify-targets/dpo",
            &admin,
            json!({ "email": "dpo@acme.example", "events": ["request.alarm"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.json().get("secret").is_none(),
        "mail targets have no secret"
    );
    let sub = s.subject(&admin, json!({})).await;
    let r = s
        .post(
            "/v1/requests",
            &admin,
            json!({ "subject": sub, "kind": "access" }),
        )
        .await;
    let req = r.json();
    let id = req["request_id"].as_str().unwrap().to_owned();
    let received: jiff::Timestamp = req["received"].as_str().unwrap().parse().unwrap();
    let due: jiff::Timestamp = req["due"].as_str().unwrap().parse().unwrap();
    let half = received + (due - received) / 2 + jiff::SignedDuration::from_secs(60);

    // Nothing yet at the start; at half time one alarm; again at half time nothing new.
    let state = &s.state;
    assert_eq!(
        troth_server::outbox::raise_alarms(state, received)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        troth_server::outbox::raise_alarms(state, half)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        troth_server::outbox::raise_alarms(state, half)
            .await
            .unwrap(),
        0
    );
    let late = due + jiff::SignedDuration::from_secs(3600);
    assert_eq!(
        troth_server::outbox::raise_alarms(state, late)
            .await
            .unwrap(),
        1
    );
    let courier = Courier::new(Arc::clone(&s.state), fast()).unwrap();
    drain(&s, &courier, &admin).await;
    let delivered = s.get("/v1/outbox?status=delivered", &admin).await.json();
    let ids: Vec<&str> = delivered["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&format!("alarm:{id}:half:dpo").as_str()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&format!("alarm:{id}:overdue:dpo").as_str()),
        "{ids:?}"
    );
    let mail: Vec<String> = sink
        .messages
        .lock()
        .unwrap()
        .iter()
        .map(|m| support::decoded(m))
        .collect();
    assert_eq!(mail.len(), 2);
    assert!(mail.iter().all(|m| m.contains("dpo@acme.example")));
    assert!(mail.iter().any(|m| m.contains("overdue")), "{mail:?}");
    // No personal information in the mail: the subject appears only by its id.
    assert!(mail.iter().all(|m| !m.contains("@example.com")));
}

async fn sms_codes_go_through_the_tenant_gateway(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let sub = s
        .subject(
            &admin,
            json!({ "identities": [{ "kind": "phone", "value": "+86 138 0013 8000" }] }),
        )
        .await;
    let id = s
        .post(
            "/v1/requests",
            &admin,
            json!({ "subject": sub, "kind": "deletion", "channel": "phone" }),
        )
        .await
        .json()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let send = format!("/v1/requests/{id}/verification?channel=sms");
    // No gateway yet: refused, naming the channel and how to configure one.
    let r = s.post(&send, &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "channel");
    let r = s
        .post(
            &format!("/v1/requests/{id}/verification?channel=fax"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // A catch-all webhook does not get codes; only an explicit SMS gateway does.
    let (other, other_url) = Receiver::start(0).await;
    s.send(
        Method::PUT,
        "/v1/notify-targets/ops",
        &admin,
        json!({ "webhook": other_url }),
    )
    .await;
    let (gateway, url) = Receiver::start(0).await;
    let r = s
        .send(
            Method::PUT,
            "/v1/notify-targets/sms",
            &admin,
            json!({ "webhook": url, "events": ["verification.sms"] }),
        )
        .await;
    let secret = r.json()["secret"].as_str().unwrap().to_owned();
    let r = s.post(&send, &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(r.json()["channel"], "sms");
    assert_eq!(r.json()["to"], "***8000");
    assert!(other.calls().is_empty());
    let calls = gateway.calls();
    assert_eq!(calls.len(), 1);
    let (h, body) = &calls[0];
    troth_connectors::http::verify_signature(
        secret.as_bytes(),
        header(h, "troth-timestamp"),
        header(h, "troth-signature"),
        body,
        jiff::Timestamp::now().as_second(),
    )
    .expect("signed");
    let v: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["to"], "+8613800138000");
    let text = v["text"].as_str().unwrap();
    let code: String = text
        .split("code is ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{text}");
    // The code is not kept anywhere troth shows: not in the outbox.
    let out = s.get("/v1/outbox", &admin).await.json();
    assert!(!out.to_string().contains(&code));
    let r = s
        .post(
            &format!("/v1/requests/{id}/verification/confirm"),
            &admin,
            json!({ "code": code }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "in_progress");
}

on_both!(
    deletion_notifies_recipients,
    dead_letters_and_manual_retry,
    alarms_reach_the_inbox_once_per_level,
    sms_codes_go_through_the_tenant_gateway,
);
