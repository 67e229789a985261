//! Rights requests reaching the company's own systems through a tenant's data map
//! (`[connectors]` in the configuration), on SQLite and PostgreSQL: an access export
//! carries the rows of the connected database, a completed deletion erases them
//! there (and audits what each system did), and a category under a legal hold
//! stays in the connected database too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;
use support::{Backend, Server, unzip};
use troth_store::TenantId;

const MAP: &str = r#"
[databases.crm]
url = "sqlite://DB?mode=rw"

[databases.crm.tables.customers]
key = "id"
identity = { email = "email" }
columns.email = { category = "email", erase = "hash" }
columns.name = { category = "name", erase = "mask" }
columns.phone = { category = "phone", erase = "set-null" }

[databases.crm.tables.orders]
key = "id"
relations = [{ column = "customer_id", references = "customers" }]
erase = "delete-row"
columns.note = { category = "usage-log", erase = "keep" }
"#;

/// A company database with two customers; the subject is the first.
async fn company_db(path: &Path) {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for sql in [
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT, phone TEXT)",
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), note TEXT)",
        "INSERT INTO customers VALUES (1, 'li.lei@example.com', 'Li Lei', '+8613800138000')",
        "INSERT INTO customers VALUES (2, 'han.meimei@example.com', 'Han Meimei', '+8613900139000')",
        "INSERT INTO orders VALUES (10, 1, 'tea set'), (11, 1, 'kettle'), (12, 2, 'cups')",
    ] {
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
    c.close().await.unwrap();
}

async fn rows(path: &Path, sql: &'static str) -> Vec<(i64, Option<String>)> {
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let r = sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
    c.close().await.unwrap();
    r
}

/// A server whose tenant has the data map; returns it, the tenant's admin token and
/// the company database's path.
async fn connected_server(backend: Backend) -> (Server, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    company_db(&db).await;
    let map = dir.path().join("crm-map.toml");
    std::fs::write(&map, MAP.replace("DB", &db.display().to_string())).unwrap();
    let tenant = TenantId::new(uuid::Uuid::new_v4().to_string());
    let t = tenant.to_string();
    let s = Server::start_with(backend, |c| {
        c.connectors.insert(t, map);
    })
    .await;
    let key = troth_server::bootstrap::create_tenant(&s.state, &tenant, "Connected Co")
        .await
        .unwrap();
    let text = std::fs::read_to_string(format!(
        "{}/../../packs/s002-template/policy.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
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
    (s, key.token, dir)
}

/// Submits a request of `kind` for a new subject known by the first customer's
/// email and moves it to in progress; returns (subject, request id).
async fn request_in_progress(s: &Server, admin: &str, kind: &str) -> (String, String) {
    let sub = s
        .subject(
            admin,
            json!({ "identities": [{ "kind": "email", "value": "li.lei@example.com" }] }),
        )
        .await;
    let r = s
        .post(
            "/v1/requests",
            admin,
            json!({ "subject": sub, "kind": kind }),
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
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    (sub, id)
}

async fn complete(s: &Server, admin: &str, id: &str, outcome: Value) -> support::Reply {
    s.post(
        &format!("/v1/requests/{id}/transitions"),
        admin,
        json!({ "command": "complete", "outcome": outcome }),
    )
    .await
}

async fn access_export_includes_connected_rows(backend: Backend) {
    let (s, admin, _dir) = connected_server(backend).await;
    let (_, id) = request_in_progress(&s, &admin, "access").await;
    let r = complete(&s, &admin, &id, json!({ "kind": "fulfilled" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = s
        .post(&format!("/v1/requests/{id}/export"), &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let link = r.json()["download"].as_str().unwrap().to_owned();
    let r = s.call(Method::GET, &link, None, Body::empty(), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let files = unzip(&r.body);
    let customers = files
        .iter()
        .find(|(n, _)| n == "connected/crm/customers.csv")
        .map(|(_, b)| String::from_utf8(b.clone()).unwrap())
        .expect("customers.csv in the bundle");
    assert!(
        customers.starts_with("email (email),name (name),phone (phone)"),
        "{customers}"
    );
    assert!(
        customers.contains("li.lei@example.com,Li Lei,+8613800138000"),
        "{customers}"
    );
    assert!(
        !customers.contains("Han Meimei"),
        "another customer's row leaked: {customers}"
    );
    let orders = files
        .iter()
        .find(|(n, _)| n == "connected/crm/orders.csv")
        .map(|(_, b)| String::from_utf8(b.clone()).unwrap())
        .unwrap();
    assert!(orders.contains("tea set") && orders.contains("kettle") && !orders.contains("cups"));
    // The manifest covers the connected files too.
    let manifest: Value =
        serde_json::from_slice(&files.iter().find(|(n, _)| n == "manifest.json").unwrap().1)
            .unwrap();
    assert!(
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "connected/crm/orders.csv")
    );
    let html = String::from_utf8(
        files
            .iter()
            .find(|(n, _)| n == "index.html")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert!(html.contains("我们其他系统中的信息") && html.contains("tea set"));
}

async fn deletion_erases_connected_rows_and_audits(backend: Backend) {
    let (s, admin, dir) = connected_server(backend).await;
    let db = dir.path().join("crm.db");
    let (_, id) = request_in_progress(&s, &admin, "deletion").await;
    let r = complete(&s, &admin, &id, json!({ "kind": "fulfilled" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Customer 1: email hashed, name masked, phone nulled; orders deleted. Customer 2
    // untouched.
    let c = rows(&db, "SELECT id, email FROM customers ORDER BY id").await;
    assert!(c[0].1.as_deref().unwrap().starts_with("hmac:"), "{c:?}");
    assert_eq!(c[1].1.as_deref(), Some("han.meimei@example.com"));
    let names = rows(&db, "SELECT id, name FROM customers ORDER BY id").await;
    assert_eq!(names[0].1.as_deref(), Some("[erased]"));
    let phones = rows(&db, "SELECT id, phone FROM customers ORDER BY id").await;
    assert_eq!(phones[0].1, None);
    let orders = rows(&db, "SELECT id, note FROM orders ORDER BY id").await;
    assert_eq!(orders, vec![(12, Some("cups".to_owned()))]);
    // What each system did is in the audit log, without personal values.
    let auditor = s.key(&admin, "auditor", None).await;
    let r = s.get("/v1/audit?limit=1000", &auditor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let text = r.text();
    assert!(text.contains("request.connected_erased"), "{text}");
    assert!(!text.contains("li.lei@example.com"));
    let entry = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "request.connected_erased")
        .cloned()
        .unwrap();
    let detail: Value = match &entry["detail"] {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    };
    assert_eq!(detail["systems"][0]["connector"], "crm");
    assert_eq!(detail["systems"][0]["deleted"], 2);
    assert_eq!(detail["systems"][0]["updated"], 1);
}

async fn category_hold_keeps_that_category_in_connected_systems(backend: Backend) {
    let (s, admin, dir) = connected_server(backend).await;
    let db = dir.path().join("crm.db");
    let (sub, id) = request_in_progress(&s, &admin, "deletion").await;
    let reason = "independent-authorisation";
    let r = s
        .post(
            "/v1/holds",
            &admin,
            json!({ "subject": sub, "category": "phone", "reason": reason }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = complete(
        &s,
        &admin,
        &id,
        json!({ "kind": "fulfilled_with_holds", "holds": [reason] }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let phones = rows(&db, "SELECT id, phone FROM customers ORDER BY id").await;
    assert_eq!(
        phones[0].1.as_deref(),
        Some("+8613800138000"),
        "held phone kept"
    );
    let names = rows(&db, "SELECT id, name FROM customers ORDER BY id").await;
    assert_eq!(names[0].1.as_deref(), Some("[erased]"), "the rest erased");
}

on_both!(
    access_export_includes_connected_rows,
    deletion_erases_connected_rows_and_audits,
    category_hold_keeps_that_category_in_connected_systems,
);
