//! The `/v1` API end to end, in process, on SQLite and PostgreSQL: what an
//! application backend sees.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Server};

async fn consent_decide_vault_disclose_audit(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let app = s.key(&admin, "app", None).await;
    let sub = s
        .subject(
            &app,
            json!({ "identities": [{ "kind": "email", "value": "li.lei@example.com" }], "age": { "band": "adult" } }),
        )
        .await;

    // Without consent, a consent-based purpose is denied with a reason code.
    let q = json!({ "subject": sub, "purpose": "marketing", "categories": ["email"] });
    let r = s.post("/v1/decisions", &app, q.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["allow"], false);
    assert!(!r.json()["reasons"].as_array().unwrap().is_empty());

    // Consent given: the answer carries a signed receipt that verifies offline.
    let r = s
        .consent(
            &app,
            json!({ "subject": sub, "purpose": "marketing", "status": "given", "method": "form" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let rec = r.json();
    let jwk_reply = s
        .call(
            Method::GET,
            "/.well-known/troth-receipt-key.json",
            None,
            Body::empty(),
            &[],
        )
        .await;
    let jwk: troth_crypto::Jwk = serde_json::from_slice(&jwk_reply.body).unwrap();
    let key = troth_crypto::PublicKey::from_jwk(&jwk).unwrap();
    let receipt = troth_receipt::verify(rec["receipt"].as_str().unwrap(), &key).unwrap();
    assert_eq!(
        receipt.consent_receipt_id,
        rec["receipt_id"].as_str().unwrap()
    );
    assert_eq!(receipt.jurisdiction, "CN");
    // Re-issued later: byte-identical.
    let again = s
        .get(
            &format!(
                "/v1/subjects/{sub}/consents/{}/receipt",
                rec["event_id"].as_str().unwrap()
            ),
            &app,
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["receipt"], rec["receipt"]);

    let r = s.post("/v1/decisions", &app, q.clone()).await;
    assert_eq!(r.json()["allow"], true, "{}", r.text());
    // The end user's GPC signal, forwarded, denies an advertising purpose.
    let r = s
        .send_with(
            Method::POST,
            "/v1/decisions",
            &app,
            q.clone(),
            &[("sec-gpc", "1")],
        )
        .await;
    assert_eq!(r.json()["allow"], false, "{}", r.text());

    // Batch: one consistent answer per question, in order.
    let r = s
        .post(
            "/v1/decisions/batch",
            &app,
            json!({ "items": [q, { "subject": sub, "purpose": "photo-access", "categories": ["photos"] }] }),
        )
        .await;
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(
        (items[0]["allow"].clone(), items[1]["allow"].clone()),
        (json!(true), json!(false))
    );

    // State and history reflect the ledger.
    let r = s.get(&format!("/v1/subjects/{sub}/consents"), &app).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("marketing"));
    let r = s
        .get(
            &format!("/v1/subjects/{sub}/consents/history?limit=1"),
            &app,
        )
        .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert!(
        r.json()["next"].is_string(),
        "the age fact and the consent: two pages"
    );

    // Vault: a write and a read for an allowed purpose; a read for a purpose the
    // subject has not consented to is refused.
    let path = format!("/v1/subjects/{sub}/vault/email/primary");
    let r = s
        .send(
            Method::PUT,
            &path,
            &app,
            json!({ "value": "li.lei@example.com", "purpose": "marketing" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = s.get(&format!("{path}?purpose=marketing"), &app).await;
    assert_eq!(r.json()["value"], "li.lei@example.com");
    let r = s.get(&format!("{path}?purpose=email-tracking"), &app).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = s.get(&path, &app).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a read must name its purpose"
    );

    // Disclosures: a legal obligation to the authorities is recorded; a transfer
    // abroad without separate consent is refused and not recorded.
    let r = s
        .post(
            "/v1/disclosures",
            &app,
            json!({ "subject": sub, "purpose": "legal-compliance", "categories": ["email"], "recipient": "authorities",
                    "disclosure_basis": "law-or-authority" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["basis"], "legal_obligation");
    assert_eq!(r.json()["disclosure_basis"], "law-or-authority");
    let abroad = json!({ "subject": sub, "purpose": "cross-border-service", "categories": ["email"],
                         "recipient": "overseas-service-node", "destination": "SG" });
    let r = s.post("/v1/disclosures", &app, abroad.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    for scope in [
        json!(null),
        json!({ "kind": "destination", "id": "SG" }),
        json!({ "kind": "recipient", "id": "overseas-service-node" }),
    ] {
        let mut c = json!({ "subject": sub, "purpose": "cross-border-service", "status": "given" });
        if !scope.is_null() {
            c["scope"] = scope;
        }
        let r = s.consent(&app, c).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = s.post("/v1/disclosures", &app, abroad).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = s
        .get(&format!("/v1/subjects/{sub}/disclosures"), &app)
        .await;
    assert_eq!(r.json().as_array().unwrap().len(), 2);

    // Lookup by identity, then erasure: the value is gone for good.
    let r = s
        .post(
            "/v1/subjects/lookup",
            &app,
            json!({ "kind": "email", "value": " Li.Lei@Example.com " }),
        )
        .await;
    assert_eq!(r.json()["subject_id"], sub.as_str(), "{}", r.text());
    let r = s.delete(&format!("/v1/subjects/{sub}"), &app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["key_destroyed"], true);
    let r = s.get(&format!("{path}?purpose=marketing"), &app).await;
    assert_ne!(r.status, StatusCode::OK);
    let r = s
        .post(
            "/v1/decisions",
            &app,
            json!({ "subject": sub, "purpose": "marketing", "categories": ["email"] }),
        )
        .await;
    assert_eq!(
        r.json()["allow"],
        false,
        "an erased subject's account is closed"
    );

    // The audit log recorded all of it and verifies.
    let auditor = s.key(&admin, "auditor", None).await;
    let r = s.get("/v1/audit?limit=1000", &auditor).await;
    let actions: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for a in [
        "policy.published",
        "apikey.created",
        "consent.given",
        "vault.write",
        "vault.read",
        "disclosure.recorded",
        "subject.erased",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
    let r = s.get("/v1/audit/verify", &auditor).await;
    assert_eq!(r.json()["intact"], true, "{}", r.text());
}

async fn a_restart_rebuilds_the_decision_index(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let sub = s.subject(&admin, json!({})).await;
    let r = s
        .consent(
            &admin,
            json!({ "subject": sub, "purpose": "photo-access", "status": "given" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // A second server on the same store: the index is rebuilt from the ledger.
    let state = troth_server::bootstrap::open(&s.config).await.unwrap();
    let router = troth_server::bootstrap::router(state, &s.config);
    let other = Server { router, ..s };
    let r = other
        .post(
            "/v1/decisions",
            &admin,
            json!({ "subject": sub, "purpose": "photo-access", "categories": ["photos"] }),
        )
        .await;
    assert_eq!(r.json()["allow"], true, "{}", r.text());
}

/// A replica that starts preloads every tenant's decision cache and says it is not
/// ready until then, so its first requests never wait for a tenant load.
async fn a_starting_replica_is_ready_once_its_tenants_are_loaded(backend: Backend) {
    let s = Server::start(backend).await;
    let (a, _) = s.tenant("Acme").await;
    let (b, _) = s.tenant("Beta").await;
    let state = troth_server::bootstrap::open(&s.config).await.unwrap();
    assert!(state.tenants.read().await.is_empty());
    let router = troth_server::bootstrap::router(Arc::clone(&state), &s.config);
    let loading = troth_server::bootstrap::spawn_preload(Arc::clone(&state), &s.config);
    let other = Server { router, ..s };
    let ready = || async {
        other
            .call(Method::GET, "/readyz", None, Body::empty(), &[])
            .await
    };
    let r = ready().await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.text().contains("decision caches"), "{}", r.text());
    loading.await.unwrap();
    let loaded = state.tenants.read().await;
    assert!(loaded.contains_key(&a) && loaded.contains_key(&b));
    drop(loaded);
    assert_eq!(ready().await.status, StatusCode::OK);
}

/// Tenant A's keys can never read, decide on or erase tenant B's subjects, and the
/// answer is the same 404 as for a subject that does not exist.
async fn tenant_isolation(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, a) = s.tenant("A").await;
    let (_, b) = s.tenant("B").await;
    let theirs = s
        .subject(
            &b,
            json!({ "identities": [{ "kind": "phone", "value": "13800138000" }] }),
        )
        .await;
    let c = s
        .consent(
            &b,
            json!({ "subject": theirs, "purpose": "photo-access", "status": "given" }),
        )
        .await;
    let event = c.json()["event_id"].as_str().unwrap().to_owned();
    let vault = format!("/v1/subjects/{theirs}/vault/phone/main");
    let r = s
        .send(
            Method::PUT,
            &vault,
            &b,
            json!({ "value": "13800138000", "purpose": "registration" }),
        )
        .await;
    assert!(
        r.status.is_success() || r.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        r.text()
    );

    let nobody = uuid::Uuid::new_v4().to_string();
    for who in [theirs.as_str(), nobody.as_str()] {
        let replies = [
            s.get(&format!("/v1/subjects/{who}"), &a).await,
            s.get(&format!("/v1/subjects/{who}/consents"), &a).await,
            s.get(&format!("/v1/subjects/{who}/consents/history"), &a)
                .await,
            s.get(&format!("/v1/subjects/{who}/consents/{event}/receipt"), &a)
                .await,
            s.get(
                &format!("/v1/subjects/{who}/vault/phone/main?purpose=registration"),
                &a,
            )
            .await,
            s.get(&format!("/v1/subjects/{who}/disclosures"), &a).await,
            s.post(
                "/v1/decisions",
                &a,
                json!({ "subject": who, "purpose": "photo-access", "categories": ["photos"] }),
            )
            .await,
            s.post(
                "/v1/consents",
                &a,
                json!({ "subject": who, "purpose": "photo-access", "status": "withdrawn" }),
            )
            .await,
            s.delete(&format!("/v1/subjects/{who}"), &a).await,
        ];
        for r in replies {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
            assert_eq!(r.json()["type"], "/problems/not-found");
        }
    }
    // A's lookup of B's identity finds nothing.
    let r = s
        .post(
            "/v1/subjects/lookup",
            &a,
            json!({ "kind": "phone", "value": "13800138000" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // B's subject is untouched.
    let r = s
        .post(
            "/v1/decisions",
            &b,
            json!({ "subject": theirs, "purpose": "photo-access", "categories": ["photos"] }),
        )
        .await;
    assert_eq!(r.json()["allow"], true);
}

/// Every role against one endpoint per permission: 403 exactly where the matrix
/// says no, never 401 for a valid key.
async fn permission_matrix(backend: Backend) {
    use troth_server::auth::{Permission as P, Role, allows};
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let sub = s.subject(&admin, json!({})).await;
    let vault = format!("/v1/subjects/{sub}/vault/email/x");
    let mut refused = 0;
    for role in Role::ALL {
        let token = match role {
            Role::Admin => admin.clone(),
            Role::Subject => s.key(&admin, "subject", Some(&sub)).await,
            other => s.key(&admin, other.as_str(), None).await,
        };
        let calls: Vec<(P, support::Reply)> = vec![
            (P::ManageKeys, s.get("/v1/keys", &token).await),
            (P::PublishPolicy, s.call(Method::POST, "/v1/policies", Some(&token), Body::from("x"), &[("content-type", "application/toml")]).await),
            (P::ReadPolicy, s.get("/v1/policies", &token).await),
            (P::WriteSubjects, s.post("/v1/subjects", &token, json!({})).await),
            (P::ReadSubjects, s.get(&format!("/v1/subjects/{sub}"), &token).await),
            (P::WriteConsent, s.consent(&token, json!({ "subject": sub, "purpose": "photo-access", "status": "refused" })).await),
            (P::ReadConsent, s.get(&format!("/v1/subjects/{sub}/consents"), &token).await),
            (P::Decide, s.post("/v1/decisions", &token, json!({ "subject": sub, "purpose": "photo-access", "categories": ["photos"] })).await),
            (P::VaultWrite, s.send(Method::PUT, &vault, &token, json!({ "value": "v", "purpose": "legal-compliance" })).await),
            (P::VaultRead, s.get(&format!("{vault}?purpose=legal-compliance"), &token).await),
            (P::VaultDelete, s.delete(&vault, &token).await),
            (P::WriteDisclosures, s.post("/v1/disclosures", &token, json!({ "subject": sub, "purpose": "legal-compliance", "categories": ["email"], "recipient": "authorities" })).await),
            (P::ReadDisclosures, s.get(&format!("/v1/subjects/{sub}/disclosures"), &token).await),
            (P::ReadAudit, s.get("/v1/audit", &token).await),
            (
                P::SubmitRequests,
                s.post("/v1/requests", &token, json!({ "subject": sub, "kind": "complaint" }))
                    .await,
            ),
            (P::WorkRequests, s.get("/v1/requests", &token).await),
            (P::ReadReports, s.get("/v1/reports/aggregate", &token).await),
            (P::RunReports, s.post("/v1/retention/sweeps", &token, json!({ "dry_run": true })).await),
            (P::ManageHolds, s.get("/v1/holds", &token).await),
            // The s002 pack has no [cessation]: an admin is refused 422, nothing stops.
            (P::CeaseOperations, s.post("/v1/cessations", &token, json!({ "service": "s002-template" })).await),
            // No such version: an admin is answered 404, nothing is recorded.
            (P::TransferController, s.post("/v1/controller-transfers", &token, json!({ "version": "none", "new_controller": "X Ltd", "effective": "2026-01-01" })).await),
            // Nothing to review: an operator is answered 404, nothing changes.
            (P::ReviewCertifications, s.post(&format!("/v1/subjects/{sub}/certification/review"), &token, json!({ "decision": "approve" })).await),
        ];
        assert_eq!(calls.len(), P::ALL.len(), "one call per permission");
        // Routes beyond the one per permission, each with the permission it needs.
        let mut calls = calls;
        calls.push((P::ReadPolicy, s.get("/v1/calendar?year=2026", &token).await));
        calls.push((
            P::PublishPolicy,
            s.send(
                Method::PUT,
                "/v1/calendar",
                &token,
                json!({ "year": 2026, "holidays": ["2026-10-01"] }),
            )
            .await,
        ));
        calls.push((P::ReadReports, s.get("/v1/cessations", &token).await));
        let cert = format!("/v1/subjects/{sub}/certification");
        calls.push((P::ReadSubjects, s.get(&cert, &token).await));
        calls.push((
            P::VaultWrite,
            s.post(
                &cert,
                &token,
                json!({ "kind": "person", "purpose": "legal-compliance" }),
            )
            .await,
        ));
        calls.push((
            P::VaultWrite,
            s.post(
                &format!("{cert}/copy"),
                &token,
                json!({ "purpose": "legal-compliance", "content_base64": "eA==" }),
            )
            .await,
        ));
        calls.push((
            P::PublishPolicy,
            s.post("/v1/policies/none/notices", &token, json!({})).await,
        ));
        for (perm, r) in calls {
            assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{role:?} {perm:?}");
            let forbidden = r.status == StatusCode::FORBIDDEN;
            refused += usize::from(forbidden);
            assert_eq!(
                forbidden,
                !allows(role, perm),
                "{role:?} {perm:?}: {} {}",
                r.status,
                r.text()
            );
        }
    }
    // Every refusal is in the audit log: the key, the route template, the permission.
    let log = s.get("/v1/audit?limit=1000", &admin).await.json();
    let denied: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "access.denied")
        .collect();
    assert!(refused > 0);
    assert_eq!(denied.len(), refused);
    for e in denied {
        assert!(e["actor"].as_str().unwrap().starts_with("key:"), "{e}");
        assert!(e["target"].as_str().unwrap().starts_with("/v1/"), "{e}");
        assert!(!e.to_string().contains(&sub), "route templates only: {e}");
        assert!(e["detail"].as_str().unwrap().contains("permission"), "{e}");
    }
}

async fn subject_keys_reach_only_their_subject(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let me = s.subject(&admin, json!({})).await;
    let other = s.subject(&admin, json!({})).await;
    let mine = s.key(&admin, "subject", Some(&me)).await;
    let r = s
        .consent(
            &mine,
            json!({ "subject": me, "purpose": "photo-access", "status": "given" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = s
        .consent(
            &mine,
            json!({ "subject": other, "purpose": "photo-access", "status": "given" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s
        .get(&format!("/v1/subjects/{other}/consents"), &mine)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn errors_are_problem_documents(backend: Backend) {
    let s = Server::start_with(backend, |c| c.body_limit_bytes = 64 * 1024).await;
    let (_, admin) = s.tenant("Acme").await;
    let problem = |r: &support::Reply| {
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{}",
            r.text()
        );
        r.json()
    };
    // 401: no key, a malformed key, an unknown key, a revoked key.
    let r = s
        .call(Method::GET, "/v1/policies", None, Body::empty(), &[])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem(&r)["type"], "/problems/unauthenticated");
    let r = s.get("/v1/policies", "not-a-key").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let unknown = format!("troth_{}", "A".repeat(43));
    assert_eq!(
        s.get("/v1/policies", &unknown).await.status,
        StatusCode::UNAUTHORIZED
    );
    let app = s.key(&admin, "app", None).await;
    let id = s
        .get("/v1/keys", &admin)
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "app")
        .unwrap()["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(s.get("/v1/policies", &app).await.status, StatusCode::OK);
    assert_eq!(
        s.delete(&format!("/v1/keys/{id}"), &admin).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.get("/v1/policies", &app).await.status,
        StatusCode::UNAUTHORIZED,
        "revoked at once"
    );

    // 400 names the field; a wrong type never echoes the value.
    let r = s
        .post(
            "/v1/consents",
            &admin,
            json!({ "subject": "x", "purpose": "p", "status": "maybe" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(problem(&r)["field"], "status");
    let r = s
        .call(
            Method::POST,
            "/v1/decisions",
            Some(&admin),
            Body::from("{not json"),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .call(
            Method::POST,
            "/v1/decisions",
            Some(&admin),
            Body::from("{}"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // 413 for a body over the limit.
    let big =
        json!({ "items": vec![json!({ "purpose": "x".repeat(100), "anonymous": true }); 1000] });
    let r = s.post("/v1/decisions/batch", &admin, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // 422 lists every validation problem with its line.
    let broken = support::s002()
        .replacen("basis = \"consent\"", "basis = \"vibes\"", 1)
        .replacen("version = \"1.0\"", "version = 3", 1);
    let r = s
        .call(
            Method::POST,
            "/v1/policies",
            Some(&admin),
            Body::from(broken),
            &[("content-type", "application/toml")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let p = problem(&r);
    assert_eq!(p["type"], "/problems/invalid-policy");
    assert!(!p["errors"].as_array().unwrap().is_empty());
    assert!(p["errors"][0]["line"].is_u64(), "{p}");
    // 409 for publishing the same content twice.
    let r = s
        .call(
            Method::POST,
            "/v1/policies",
            Some(&admin),
            Body::from(support::s002()),
            &[("content-type", "application/toml")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // 404 for unknown paths, as a problem too.
    let r = s.get("/v1/nothing-here", &admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    problem(&r);
}

async fn idempotent_writes(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let sub = s.subject(&admin, json!({})).await;
    let body = json!({ "subject": sub, "purpose": "photo-access", "status": "given" });
    let h = [("idempotency-key", "retry-7f3a")];
    let first = s
        .send_with(Method::POST, "/v1/consents", &admin, body.clone(), &h)
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.header("idempotent-replayed"), Some("false"));
    let second = s
        .send_with(Method::POST, "/v1/consents", &admin, body.clone(), &h)
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.json(), second.json(), "the first answer, replayed");
    let history = s
        .get(&format!("/v1/subjects/{sub}/consents/history"), &admin)
        .await;
    assert_eq!(
        history.json()["items"].as_array().unwrap().len(),
        1,
        "applied once"
    );
    let other = json!({ "subject": sub, "purpose": "photo-access", "status": "withdrawn" });
    let r = s
        .send_with(Method::POST, "/v1/consents", &admin, other, &h)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

async fn policies_render_diff_and_etag(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant("Acme").await;
    let r = s.get("/v1/policies/current", &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    let etag = r.header("etag").unwrap().to_owned();
    assert!(r.json()["in_force"].as_bool().unwrap());
    let r = s
        .call(
            Method::GET,
            "/v1/policies/current",
            Some(&admin),
            Body::empty(),
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = s
        .get("/v1/policies/current/render?lang=zh-CN&format=html", &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text().contains("个人信息"), "Chinese text");
    let r = s
        .get("/v1/policies/current/render?format=markdown", &admin)
        .await;
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/markdown")
    );
    // A second version with a changed address: the diff lists the change.
    let v2 = support::s002()
        .replacen("version = \"1.0\"", "version = \"1.1\"", 1)
        .replacen("No. 1 Example Road", "No. 2 Example Road", 1);
    let r = s
        .call(
            Method::POST,
            "/v1/policies",
            Some(&admin),
            Body::from(json!({ "toml": v2 }).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = s.get("/v1/policies/1.1/diff", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let changes = r.json()["changes"].as_array().unwrap().clone();
    assert!(
        changes
            .iter()
            .any(|c| c.to_string().contains("No. 2 Example Road")),
        "{changes:?}"
    );
    assert_eq!(
        s.get("/v1/policies", &admin)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn rate_limit_answers_429(backend: Backend) {
    let s = Server::start_with(backend, |c| {
        c.rate_limit.per_second = 1;
        c.rate_limit.burst = 3;
    })
    .await;
    let (_, admin) = s.tenant("Acme").await;
    let mut limited = None;
    for _ in 0..10 {
        let r = s.get("/v1/policies", &admin).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the limit applies");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(r.json()["type"], "/problems/rate-limited");
}

on_both!(
    consent_decide_vault_disclose_audit,
    a_restart_rebuilds_the_decision_index,
    a_starting_replica_is_ready_once_its_tenants_are_loaded,
    tenant_isolation,
    permission_matrix,
    subject_keys_reach_only_their_subject,
    errors_are_problem_documents,
    idempotent_writes,
    policies_render_diff_and_etag,
    rate_limit_answers_429,
);

/// Every `/v1` operation the router serves is described in `/openapi.json` (and so
/// on `/docs`), with the bearer scheme.
#[tokio::test]
async fn openapi_describes_every_operation() {
    let s = Server::start(Backend::Sqlite).await;
    let r = s
        .call(Method::GET, "/openapi.json", None, Body::empty(), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "post", "put", "delete"] {
            if item.get(m).is_some() {
                ops.push(format!("{} {path}", m.to_uppercase()));
            }
        }
    }
    ops.sort();
    let expected = [
        "DELETE /v1/holds/{hold}",
        "DELETE /v1/keys/{key_id}",
        "DELETE /v1/notify-targets/{target}",
        "DELETE /v1/subjects/{subject}",
        "DELETE /v1/subjects/{subject}/vault/{category}/{record}",
        "GET /.well-known/troth-receipt-key.json",
        "GET /v1/audit",
        "GET /v1/audit/verify",
        "GET /v1/calendar",
        "GET /v1/cessations",
        "GET /v1/cessations/{cessation}",
        "GET /v1/exports/{token}",
        "GET /v1/holds",
        "GET /v1/holds/{hold}",
        "GET /v1/incidents",
        "GET /v1/incidents/{incident}",
        "GET /v1/incidents/{incident}/notice",
        "GET /v1/incidents/{incident}/report",
        "GET /v1/keys",
        "GET /v1/notify-targets",
        "GET /v1/outbox",
        "GET /v1/outbox/{message}",
        "GET /v1/policies",
        "GET /v1/policies/{version}",
        "GET /v1/policies/{version}/diff",
        "GET /v1/policies/{version}/render",
        "GET /v1/reports/aggregate",
        "GET /v1/reports/pia",
        "GET /v1/reports/ropa",
        "GET /v1/reports/{kind}/{report}",
        "GET /v1/requests",
        "GET /v1/requests/{request}",
        "GET /v1/subjects/{subject}",
        "GET /v1/subjects/{subject}/certification",
        "GET /v1/subjects/{subject}/consents",
        "GET /v1/subjects/{subject}/consents/history",
        "GET /v1/subjects/{subject}/consents/{event}/receipt",
        "GET /v1/subjects/{subject}/disclosures",
        "GET /v1/subjects/{subject}/vault/{category}/{record}",
        "GET /v1/tenant",
        "POST /v1/cessations",
        "POST /v1/consents",
        "POST /v1/controller-transfers",
        "POST /v1/decisions",
        "POST /v1/decisions/batch",
        "POST /v1/disclosures",
        "POST /v1/holds",
        "POST /v1/incidents",
        "POST /v1/incidents/{incident}/assess",
        "POST /v1/incidents/{incident}/close",
        "POST /v1/incidents/{incident}/notify",
        "POST /v1/keys",
        "POST /v1/outbox/{message}/retry",
        "POST /v1/policies",
        "POST /v1/policies/{version}/notices",
        "POST /v1/reports/pia",
        "POST /v1/reports/ropa",
        "POST /v1/requests",
        "POST /v1/requests/{request}/export",
        "POST /v1/requests/{request}/transitions",
        "POST /v1/requests/{request}/verification",
        "POST /v1/requests/{request}/verification/confirm",
        "POST /v1/retention/sweeps",
        "POST /v1/subjects",
        "POST /v1/subjects/lookup",
        "POST /v1/subjects/{subject}/accept-version",
        "POST /v1/subjects/{subject}/age",
        "POST /v1/subjects/{subject}/certification",
        "POST /v1/subjects/{subject}/certification/copy",
        "POST /v1/subjects/{subject}/certification/review",
        "POST /v1/subjects/{subject}/targeting",
        "PUT /v1/calendar",
        "PUT /v1/notify-targets/{target}",
        "PUT /v1/subjects/{subject}/vault/{category}/{record}",
    ];
    assert_eq!(ops, expected);
    assert!(doc.pointer("/components/securitySchemes/bearer").is_some());
    // Each documented operation answers something other than "no such endpoint".
    let (_, admin) = s.tenant("Acme").await;
    for op in expected {
        let (method, path) = op.split_once(' ').unwrap();
        let path = path
            .replace("{key_id}", "k")
            .replace("{subject}", &uuid::Uuid::new_v4().to_string())
            .replace("{event}", &uuid::Uuid::new_v4().to_string())
            .replace("{version}", "current")
            .replace("{request}", &uuid::Uuid::new_v4().to_string())
            .replace("{category}", "email")
            .replace("{record}", "r");
        let r = s
            .call(
                method.parse().unwrap(),
                &path,
                Some(&admin),
                Body::from("{}"),
                &[("content-type", "application/json")],
            )
            .await;
        assert!(
            !(r.status == StatusCode::NOT_FOUND && r.text().contains("no such endpoint"))
                && r.status != StatusCode::METHOD_NOT_ALLOWED,
            "{op}: {} {}",
            r.status,
            r.text()
        );
    }
    let page = s.call(Method::GET, "/docs", None, Body::empty(), &[]).await;
    assert!(page.text().contains("/v1/decisions/batch"));
}
