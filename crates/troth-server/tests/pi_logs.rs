//! Personal information sent through every endpoint never reaches the logs, even
//! at TRACE level and on error paths.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{Backend, Server};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const EMAIL: &str = "wang.fang.pi-canary@example.com";
const PHONE: &str = "+8613912345678";
const PHONE_DIGITS: &str = "13912345678";
const EXTERNAL: &str = "member-canary-99173";
const BIRTH: &str = "2009-07-14";
const SECRET_VALUE: &str = "Room 1701, Canary Tower, 88 Huaihai Road";

async fn run(backend: Backend, capture: &Capture) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let app = s.key(&admin, "app", None).await;
    let guardian = s.subject(&app, json!({ "age": { "band": "adult" } })).await;
    let sub = s
        .subject(
            &app,
            json!({
                "identities": [
                    { "kind": "email", "value": EMAIL },
                    { "kind": "phone", "value": PHONE },
                    { "kind": "external_id", "value": EXTERNAL }
                ],
                "age": { "birth_date": BIRTH },
                "guardian": guardian
            }),
        )
        .await;
    // Duplicates and malformed identities (409, 400) must not echo them either.
    let r = s
        .post(
            "/v1/subjects",
            &app,
            json!({ "identities": [{ "kind": "email", "value": EMAIL }] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(!r.text().contains(EMAIL));
    let r = s
        .post(
            "/v1/subjects",
            &app,
            json!({ "identities": [{ "kind": "phone", "value": format!("{PHONE_DIGITS}999") }] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.text().contains(PHONE_DIGITS), "{}", r.text());
    // A wrongly typed field holding PI: 400 without the value.
    let r = s
        .post(
            "/v1/subjects/lookup",
            &app,
            json!({ "kind": "email", "value": [EMAIL] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.text().contains(EMAIL), "{}", r.text());
    for (kind, value) in [
        ("email", EMAIL),
        ("phone", PHONE),
        ("external_id", EXTERNAL),
    ] {
        let r = s
            .post(
                "/v1/subjects/lookup",
                &app,
                json!({ "kind": kind, "value": value }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    s.consent(
        &app,
        json!({ "subject": sub, "purpose": "registration", "status": "given" }),
    )
    .await;
    let path = format!("/v1/subjects/{sub}/vault/name/main");
    s.send(
        Method::PUT,
        &path,
        &app,
        json!({ "value": SECRET_VALUE, "purpose": "registration" }),
    )
    .await;
    s.send(
        Method::PUT,
        &path,
        &app,
        json!({ "value": SECRET_VALUE, "purpose": "marketing" }),
    )
    .await;
    s.get(&format!("{path}?purpose=registration"), &app).await;
    s.get(&format!("{path}?purpose=analytics"), &app).await;
    s.post(
        "/v1/decisions",
        &app,
        json!({ "subject": sub, "purpose": "registration", "categories": ["email"] }),
    )
    .await;
    s.post("/v1/disclosures", &app, json!({ "subject": sub, "purpose": "registration", "categories": ["email"], "recipient": "affiliates" })).await;
    s.get(&format!("/v1/subjects/{sub}/consents/history"), &app)
        .await;
    s.get("/v1/audit?limit=1000", &admin).await;
    // A body too large to read, full of PI.
    let big = format!("{{\"value\":\"{}\"}}", SECRET_VALUE.repeat(60_000));
    let r = s
        .call(
            Method::PUT,
            &path,
            Some(&app),
            Body::from(big),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    s.delete(&format!("/v1/subjects/{sub}"), &app).await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/v1/subjects"),
        "the request log is captured at all"
    );
    for pi in [
        EMAIL,
        PHONE,
        PHONE_DIGITS,
        EXTERNAL,
        BIRTH,
        SECRET_VALUE,
        "wang.fang",
        "Canary Tower",
    ] {
        assert!(!logs.contains(pi), "`{pi}` appears in the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pi_in_logs_sqlite_and_postgres() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();
    run(Backend::Sqlite, &capture).await;
    run(Backend::Postgres, &capture).await;
}
