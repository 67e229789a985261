//! Export bundles of access/copy requests on SQLite and PostgreSQL: the zip's files
//! and checksums, one CSV per category, the bilingual page, one-time download, other
//! subjects refused, erasure making the export unreadable; and snapshots of the
//! manifest and page for fixed inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Server, unzip};
use troth_server::export::{
    ExportCategory, ExportData, ExportIdentity, ExportValue, build, sha256_hex,
};

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &files
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} missing from the bundle"))
        .1
}

/// A subject with two vault categories, a consent, and a completed access request.
async fn completed_access(s: &Server, admin: &str) -> (String, String) {
    let sub = s
        .subject(
            admin,
            json!({ "identities": [{ "kind": "email", "value": "li.lei@example.com" }] }),
        )
        .await;
    // Registration uses the phone on consent.
    let r = s
        .consent(
            admin,
            json!({ "subject": sub, "purpose": "registration", "status": "given" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    for (cat, rec, value, purpose) in [
        ("email", "main", "li.lei@example.com", "legal-compliance"),
        ("phone", "main", "+86 138 0013 8000", "registration"),
        ("phone", "work", "+86 10 6552 9988", "registration"),
    ] {
        let r = s
            .send(
                Method::PUT,
                &format!("/v1/subjects/{sub}/vault/{cat}/{rec}"),
                admin,
                json!({ "value": value, "purpose": purpose }),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    }
    let r = s
        .consent(
            admin,
            json!({ "subject": sub, "purpose": "photo-access", "status": "given" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = s
        .post(
            "/v1/requests",
            admin,
            json!({ "subject": sub, "kind": "access" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["request_id"].as_str().unwrap().to_owned();
    (sub, id)
}

async fn complete(s: &Server, admin: &str, id: &str) {
    for cmd in [
        json!({ "command": "start_verification" }),
        json!({ "command": "verified" }),
        json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
    ] {
        let r = s
            .post(&format!("/v1/requests/{id}/transitions"), admin, cmd)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
}

async fn download(s: &Server, path: &str) -> support::Reply {
    s.call(Method::GET, path, None, Body::empty(), &[]).await
}

async fn export_downloads_once_with_verified_files(backend: Backend) {
    let s = Server::start(backend).await;
    let (tenant, admin) = s.tenant("Acme").await;
    let (sub, id) = completed_access(&s, &admin).await;
    let export = format!("/v1/requests/{id}/export");

    // Not before the request is completed.
    let r = s.post(&export, &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("completed"), "{}", r.text());
    complete(&s, &admin, &id).await;

    // Another subject's key cannot export it (404, like a request that does not exist).
    let other = s.subject(&admin, json!({})).await;
    let theirs = s.key(&admin, "subject", Some(&other)).await;
    let r = s.post(&export, &theirs, json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());

    // The request's own subject can.
    let own = s.key(&admin, "subject", Some(&sub)).await;
    let r = s.post(&export, &own, json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    let link = created["download"].as_str().unwrap().to_owned();
    assert!(link.starts_with("/v1/exports/"), "{link}");

    // A wrong secret for the same request is not found and does not use the link up.
    let forged = format!("{}x", &link[..link.len() - 1]);
    assert_eq!(download(&s, &forged).await.status, StatusCode::NOT_FOUND);

    let r = download(&s, &link).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/zip"));
    assert_eq!(
        r.header("content-disposition"),
        Some(format!("attachment; filename=\"troth-export-{id}.zip\"").as_str())
    );
    let files = unzip(&r.body);

    // The manifest names the subject and request, and every file's size and hash hold.
    let manifest_bytes = file(&files, "manifest.json");
    let manifest: Value = serde_json::from_slice(manifest_bytes).unwrap();
    assert_eq!(manifest["subject"], sub.as_str());
    assert_eq!(manifest["request_id"], id.as_str());
    assert_eq!(manifest["tenant"], tenant.as_str());
    let sum = String::from_utf8(file(&files, "manifest.sha256").to_vec()).unwrap();
    assert_eq!(
        sum,
        format!("{}  manifest.json\n", sha256_hex(manifest_bytes))
    );
    assert_eq!(created["manifest_sha256"], sha256_hex(manifest_bytes));
    let listed: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            "categories/email.csv",
            "categories/phone.csv",
            "data.json",
            "index.html"
        ]
    );
    for f in manifest["files"].as_array().unwrap() {
        let bytes = file(&files, f["path"].as_str().unwrap());
        assert_eq!(f["size"], bytes.len() as u64);
        assert_eq!(f["sha256"], sha256_hex(bytes));
    }

    // One CSV per category with the decrypted values.
    let phone = String::from_utf8(file(&files, "categories/phone.csv").to_vec()).unwrap();
    assert_eq!(
        phone,
        "record,value,encoding\nmain,+86 138 0013 8000,text\nwork,+86 10 6552 9988,text\n"
    );
    let data: Value = serde_json::from_slice(file(&files, "data.json")).unwrap();
    assert_eq!(data["identities"][0]["kind"], "email");
    assert_eq!(data["identities"][0]["value"], "li.lei@example.com");
    assert_eq!(data["vault"][0]["values"][0]["value"], "li.lei@example.com");
    assert_eq!(data["consents"][0]["purpose"], "registration");
    assert_eq!(data["consents"][1]["purpose"], "photo-access");
    assert_eq!(data["consents"][1]["action"], "given");
    assert_eq!(data["requests"][0]["request_id"], id.as_str());
    assert_eq!(data["requests"][0]["status"], "completed");
    let html = String::from_utf8(file(&files, "index.html").to_vec()).unwrap();
    assert!(html.contains("Your data") && html.contains("您的数据"));
    assert!(html.contains("li.lei@example.com"));

    // Once only.
    let r = download(&s, &link).await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.text());

    // Both steps are audited, without PI.
    let audit = s.get("/v1/audit?limit=1000", &admin).await.text();
    assert!(audit.contains("export.created") && audit.contains("export.downloaded"));
    assert!(!audit.contains("li.lei@example.com"));
}

async fn erased_subject_export_is_unreadable(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let (sub, id) = completed_access(&s, &admin).await;
    complete(&s, &admin, &id).await;
    let r = s
        .post(&format!("/v1/requests/{id}/export"), &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let link = r.json()["download"].as_str().unwrap().to_owned();
    let r = s.delete(&format!("/v1/subjects/{sub}"), &admin).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text());
    let r = download(&s, &link).await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.text());
    // A link for a request that does not exist is simply not found.
    let fake = format!("/v1/exports/x.{}.y", uuid::Uuid::new_v4());
    assert_eq!(download(&s, &fake).await.status, StatusCode::NOT_FOUND);
}

async fn only_access_and_copy_have_exports(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let sub = s.subject(&admin, json!({})).await;
    let r = s
        .post(
            "/v1/requests",
            &admin,
            json!({ "subject": sub, "kind": "complaint" }),
        )
        .await;
    let id = r.json()["request_id"].as_str().unwrap().to_owned();
    let r = s
        .post(&format!("/v1/requests/{id}/export"), &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("`complaint` request has no export"));
}

on_both!(
    export_downloads_once_with_verified_files,
    erased_subject_export_is_unreadable,
    only_access_and_copy_have_exports,
);

fn fixed() -> ExportData {
    ExportData {
        tenant: "0f2c6b4e-7d1a-4c55-9a0e-3b1f2d4c5e6f".into(),
        subject: "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".into(),
        request_id: "01937a4e-0000-7000-8000-000000000001".into(),
        generated: "2026-03-01T08:30:00Z".parse().unwrap(),
        policy_version: Some("2024-03 (abc123)".into()),
        profile: json!({ "status": "active", "age_band": "adult" }),
        identities: vec![ExportIdentity {
            kind: "email".into(),
            value: "li.lei@example.com".into(),
        }],
        vault: vec![ExportCategory {
            category: "phone".into(),
            values: vec![ExportValue {
                record: "main".into(),
                value: "+86 138 0013 8000".into(),
                encoding: "text",
            }],
        }],
        consents: vec![json!({ "purpose": "photo-access", "action": "given",
            "time": "2026-02-01T00:00:00Z", "event_id": "e1", "actor": "subject" })],
        disclosures: vec![json!({ "recipient": "sms-gateway", "categories": ["phone"],
            "purpose": "registration", "basis": "consent", "destination": null,
            "time": "2026-02-02T00:00:00Z", "disclosure_id": "d1" })],
        requests: vec![
            json!({ "request_id": "01937a4e-0000-7000-8000-000000000001",
            "kind": "access", "status": "completed", "received": "2026-02-20T00:00:00Z",
            "due": null }),
        ],
        connected: vec![troth_connectors::AccessResult {
            connector: "crm".into(),
            tables: vec![troth_connectors::TableRows {
                table: "customers".into(),
                columns: vec![
                    troth_connectors::ExportColumn {
                        name: "email".into(),
                        category: "email".into(),
                    },
                    troth_connectors::ExportColumn {
                        name: "city".into(),
                        category: "address".into(),
                    },
                ],
                rows: vec![vec![json!("li.lei@example.com"), json!(null)]],
            }],
        }],
    }
}

#[test]
fn bundle_is_deterministic_and_snapshotted() {
    let a = build(&fixed()).unwrap();
    let b = build(&fixed()).unwrap();
    assert_eq!(a.zip, b.zip, "same data, same bytes");
    let files = unzip(&a.zip);
    insta::assert_snapshot!(
        "manifest",
        String::from_utf8(file(&files, "manifest.json").to_vec()).unwrap()
    );
    insta::assert_snapshot!(
        "index_html",
        String::from_utf8(file(&files, "index.html").to_vec()).unwrap()
    );
}
