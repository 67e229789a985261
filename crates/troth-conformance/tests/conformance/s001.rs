//! S001 — social services (`packs/s001-social-services`).

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

const PACK: &str = "s001-social-services";

pub async fn s001_r01_only_the_declared_purposes(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let ten = [
        "provide-services",
        "service-operations",
        "security",
        "service-improvement",
        "personalisation",
        "ads-personalised",
        "ad-measurement",
        "software-updates",
        "surveys",
        "cross-service",
    ];
    for p in ten {
        let d = t.ask(&sub, p, &[]).await;
        assert!(
            !codes(&d).iter().any(|c| c == "undeclared_purpose"),
            "{p} is declared"
        );
    }
    denied(
        &t.ask(&sub, "data-sale", &["account-id"]).await,
        "undeclared_purpose",
    );
}

pub async fn s001_r02_ads_consent_gated_gpc_dnt_withdrawal(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let cats = ["device-id", "ad-interaction"];
    denied(
        &t.ask(&sub, "ad-measurement", &cats).await,
        "consent_missing",
    );
    t.give(&sub, "ad-measurement").await;
    t.give(&sub, "ads-personalised").await;
    allowed(&t.ask(&sub, "ad-measurement", &cats).await);
    allowed(&t.ask(&sub, "ads-personalised", &["device-id"]).await);
    let q = json!({ "subject": sub, "purpose": "ads-personalised", "categories": ["device-id"] });
    denied(
        &t.decide_with(q.clone(), &[("sec-gpc", "1")]).await,
        "gpc_opt_out",
    );
    // Only the exact value 1 counts.
    allowed(&t.decide_with(q, &[("sec-gpc", "0")]).await);
    let q = json!({ "subject": sub, "purpose": "ad-measurement", "categories": cats });
    denied(&t.decide_with(q, &[("dnt", "1")]).await, "dnt_opt_out");
    t.set(&sub, "withdrawn", "ad-measurement").await;
    denied(
        &t.ask(&sub, "ad-measurement", &cats).await,
        "consent_withdrawn",
    );
}

pub async fn s001_r03_cross_service_needs_its_own_consent(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    for p in ["personalisation", "service-improvement", "ads-personalised"] {
        t.give(&sub, p).await;
    }
    let cats = ["account-id", "log-info"];
    denied(
        &t.ask(&sub, "cross-service", &cats).await,
        "consent_missing",
    );
    t.give(&sub, "cross-service").await;
    allowed(&t.ask(&sub, "cross-service", &cats).await);
}

pub async fn s001_r04_sharing_only_to_declared_recipients_logged(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "personalisation").await;
    let ok = json!({ "subject": sub, "purpose": "provide-services",
        "categories": ["account-id"], "recipient": "affiliates" });
    let d = t.decide(ok.clone()).await;
    allowed(&d);
    assert!(must_record(&d, "sharing"));
    // Sharing on the contract basis names the policy's case for it.
    let mut ok = ok;
    ok["disclosure_basis"] = json!("affiliates-and-partners");
    let r = t.disclose(ok).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let wrong = json!({ "subject": sub, "purpose": "personalisation",
        "categories": ["log-info"], "recipient": "partners" });
    denied(
        &t.decide(wrong.clone()).await,
        "recipient_purpose_not_declared",
    );
    assert_eq!(
        t.disclose(wrong).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let unknown = json!({ "subject": sub, "purpose": "provide-services",
        "categories": ["account-id"], "recipient": "ad-network" });
    denied(&t.decide(unknown.clone()).await, "undeclared_recipient");
    assert_eq!(
        t.disclose(unknown).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let ledger = t.disclosures(&sub).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["recipient"], "affiliates");
    assert_eq!(ledger[0]["purpose"], "provide-services");
}

pub async fn s001_r05_transfer_needs_separate_consent_logged_with_destination(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let hk = json!({ "subject": sub, "purpose": "provide-services",
        "categories": ["account-id"], "recipient": "overseas-affiliate" });
    denied(&t.decide(hk.clone()).await, "cross_border_consent_missing");
    assert_eq!(
        t.disclose(hk.clone()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    t.give_scope(&sub, "provide-services", dest("HK")).await;
    t.give_scope(&sub, "provide-services", rec("overseas-affiliate"))
        .await;
    let d = t.decide(hk.clone()).await;
    allowed(&d);
    assert!(must_record(&d, "transfer"));
    let mut with_dest = hk;
    with_dest["destination"] = json!("HK");
    with_dest["disclosure_basis"] = json!("consent");
    let r = t.disclose(with_dest).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let ledger = t.disclosures(&sub).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["destination"], "HK");
    assert_eq!(ledger[0]["recipient"], "overseas-affiliate");
}

pub async fn s001_r08_sensitive_categories_need_separate_consent(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "public-sharing").await;
    t.give_scope(
        &sub,
        "public-sharing",
        json!({ "kind": "public_disclosure" }),
    )
    .await;
    let q = json!({ "subject": sub, "purpose": "public-sharing",
        "categories": ["user-content", "health"], "service": "social-media" });
    denied(&t.decide(q.clone()).await, "sensitive_consent_missing");
    t.give_scope(&sub, "public-sharing", cat("health")).await;
    allowed(&t.decide(q).await);
}

pub async fn s001_r10_tls_with_hsts(b: Backend) {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let t = T::start(b, PACK).await;
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(t.dir.path().join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(t.dir.path().join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
    let tls = troth_server::config::TlsConfig {
        cert: t.dir.path().join("cert.pem"),
        key: t.dir.path().join("key.pem"),
    };
    let bound = troth_server::serve::bind("127.0.0.1:0".parse().unwrap(), Some(&tls))
        .await
        .unwrap();
    assert!(bound.is_tls());
    let addr = bound.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(troth_server::serve::serve(bound, t.router.clone(), async {
        let _ = stopped.await;
    }));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut s = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let req = format!(
        "GET /v1/policies/current HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        t.app
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let res = String::from_utf8_lossy(&out).to_ascii_lowercase();
    assert!(res.starts_with("http/1.1 200"), "{res}");
    assert!(res.contains("strict-transport-security: max-age="), "{res}");
    assert!(
        res.contains("s001-social-services"),
        "the API answered over TLS"
    );
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

pub async fn s001_r12_two_minor_bands(b: Backend) {
    let t = T::start(b, PACK).await;
    let cats = ["settings", "log-info"];
    let guardian = t.adult().await;
    let by_guardian = |sub: &str| {
        json!({ "subject": sub, "purpose": "personalisation", "status": "given", "method": "guardian",
            "actor": { "kind": "guardian", "guardian": guardian, "evidence": "recorded", "evidence_hash": null } })
    };
    // Under 14: the guardian's own consent.
    let child = t
        .subject(json!({ "age": { "band": "child" }, "guardian": guardian }))
        .await;
    t.give(&child, "personalisation").await;
    denied(
        &t.ask(&child, "personalisation", &cats).await,
        "guardian_consent_required",
    );
    t.consent(by_guardian(&child)).await;
    allowed(&t.ask(&child, "personalisation", &cats).await);
    // 14–17: the minor consents, with the guardian's authorisation.
    let minor = t
        .subject(json!({ "age": { "band": "minor" }, "guardian": guardian }))
        .await;
    t.give(&minor, "personalisation").await;
    denied(
        &t.ask(&minor, "personalisation", &cats).await,
        "guardian_authorisation_required",
    );
    t.consent(by_guardian(&minor)).await;
    allowed(&t.ask(&minor, "personalisation", &cats).await);
    // Adults need neither.
    let adult = t.adult().await;
    t.give(&adult, "personalisation").await;
    allowed(&t.ask(&adult, "personalisation", &cats).await);
}

pub async fn s001_r13_service_policy_overrides_main_policy(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let cats = ["account-id", "user-content"];
    allowed(&t.ask(&sub, "provide-services", &cats).await);
    let d = t
        .decide(json!({ "subject": sub, "purpose": "provide-services",
            "categories": cats, "service": "social-media" }))
        .await;
    denied(&d, "consent_missing");
    assert_eq!(d["basis"]["legal"], "consent", "{d}");
}

pub async fn s001_r15_rights_reduction_needs_renewed_consent(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "personalisation").await;
    allowed(&t.ask(&sub, "personalisation", &["settings"]).await);
    let complaint = "[[rights.offered]]\nkind = \"complaint\"\n";
    let v2 = next_version(&pack(PACK), "2.0", |s| {
        assert!(s.contains(complaint), "the pack offers a complaint right");
        s.replacen(complaint, "[[rights.offered]]\nkind = \"restriction\"\n", 1)
    });
    let r = t.publish(&v2).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let diff = t.get("/v1/policies/2.0/diff").await.json();
    assert_eq!(diff["rights_reduced"], true, "{diff}");
    assert_eq!(diff["needs_explicit_consent"], true, "{diff}");
    denied(
        &t.ask(&sub, "personalisation", &["settings"]).await,
        "consent_renewal_required",
    );
    // Renewed under the new version: allowed again.
    t.give(&sub, "personalisation").await;
    allowed(&t.ask(&sub, "personalisation", &["settings"]).await);
}

/// Stores `value` in `sub`'s vault as `category`/`key` for `provide-services`.
async fn store(t: &T, sub: &str, category: &str, key: &str, value: &str) -> String {
    let path = format!("/v1/subjects/{sub}/vault/{category}/{key}");
    let r = t
        .send(
            Method::PUT,
            &path,
            &t.app,
            json!({ "value": value, "purpose": "provide-services" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    format!("{path}?purpose=provide-services")
}

/// The audit actions on `target`, oldest first.
async fn actions_on(t: &T, target: &str) -> Vec<String> {
    t.audit_actions()
        .await
        .iter()
        .filter(|e| e["target"] == target)
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn s001_r09_requests_stay_verifying_until_identity_proven(b: Backend) {
    let sink = SmtpSink::start().await;
    let t = T::start_with(b, PACK, |c| sink.configure(c)).await;
    let sub = t
        .subject(json!({ "age": { "band": "adult" },
            "identities": [{ "kind": "email", "value": "li.lei@example.com" }] }))
        .await;
    let stored = store(&t, &sub, "email", "primary", "li.lei@example.com").await;
    let own = t.key("subject", Some(&sub)).await;
    let req = t
        .request_as(
            &own,
            json!({ "subject": sub, "kind": "deletion", "channel": "in_app" }),
        )
        .await;
    let id = req["request_id"].as_str().unwrap().to_owned();
    assert_eq!(req["status"], "received", "a deletion waits for identity");
    assert_eq!(
        t.transition(&id, json!({ "command": "start" }))
            .await
            .status,
        StatusCode::CONFLICT,
        "verification cannot be skipped"
    );

    // A one-time code goes to the subject's email; the request is now verifying.
    let r = t
        .send(
            Method::POST,
            &format!("/v1/requests/{id}/verification"),
            &own,
            json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert!(sink.last().contains("li.lei@example.com"), "sent to them");
    let code = sink.last_code();
    assert_eq!(t.rights_request(&id).await["status"], "verifying");

    // A wrong code proves nothing: still verifying, and nothing can be carried out.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = format!("/v1/requests/{id}/verification/confirm");
    let r = t
        .send(Method::POST, &confirm, &own, json!({ "code": wrong }), &[])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(t.rights_request(&id).await["status"], "verifying");
    for cmd in [
        json!({ "command": "start" }),
        json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
    ] {
        let r = t.transition(&id, cmd).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    }
    assert_eq!(t.rights_request(&id).await["status"], "verifying");
    assert_eq!(
        t.get(&stored).await.status,
        StatusCode::OK,
        "not erased yet"
    );

    // The right code proves it; then the deletion is carried out: crypto-shredded.
    let r = t
        .send(Method::POST, &confirm, &own, json!({ "code": code }), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "in_progress");
    let r = t
        .transition(
            &id,
            json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "completed");
    assert_ne!(t.get(&stored).await.status, StatusCode::OK, "shredded");
    denied(
        &t.ask(&sub, "provide-services", &["account-id"]).await,
        "account_cancelled",
    );
    assert_eq!(
        actions_on(&t, &format!("request:{id}")).await,
        [
            "request.received",
            "request.verifying",
            "request.in_progress",
            "request.completed"
        ]
    );
    assert!(
        t.audit_actions()
            .await
            .iter()
            .any(|e| e["action"] == "subject.erased"),
        "the shredding is audited"
    );
}

pub async fn s001_r07_shared_content_deletion_completes_audited(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let post = store(&t, &sub, "user-content", "post-1", "A public post").await;
    let req = t
        .request(json!({ "subject": sub, "kind": "deletion", "channel": "in_app" }))
        .await;
    let id = req["request_id"].as_str().unwrap().to_owned();
    assert_eq!(
        t.get(&post).await.status,
        StatusCode::OK,
        "public until deleted"
    );
    // An operator checks the identity by hand, then carries it out.
    for cmd in [
        json!({ "command": "start_verification" }),
        json!({ "command": "verified" }),
        json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
    ] {
        let r = t.transition(&id, cmd.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{cmd}: {}", r.text());
    }
    let done = t.rights_request(&id).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["kind"], "deletion");
    assert_eq!(done["events"].as_array().unwrap().len(), 4);
    assert_ne!(
        t.get(&post).await.status,
        StatusCode::OK,
        "the content is gone"
    );
    assert_eq!(
        actions_on(&t, &format!("request:{id}")).await,
        [
            "request.received",
            "request.verifying",
            "request.in_progress",
            "request.completed"
        ]
    );
    let all = t.audit_actions().await;
    let pos = |a: &str| all.iter().position(|e| e["action"] == a);
    assert!(
        pos("subject.erased").unwrap() < pos("request.completed").unwrap(),
        "erased before the request is recorded completed"
    );
}

pub async fn s001_r16_complaint_tracked_to_an_answer(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let req = t
        .request(json!({ "subject": sub, "kind": "complaint", "channel": "web" }))
        .await;
    let id = req["request_id"].as_str().unwrap().to_owned();
    assert_eq!(req["kind"], "complaint");
    assert_eq!(
        req["status"], "in_progress",
        "no identity check for a complaint"
    );
    // 15 working days from receipt: three weeks, give or take the weekend it starts on.
    let days = secs(ts(&req["received"]), ts(&req["due"]));
    assert!(
        (20 * DAY..23 * DAY).contains(&days),
        "15 working days, got {days}s"
    );
    assert!(
        t.request_ids("open").await.contains(&id),
        "tracked while open"
    );
    let r = t
        .transition(
            &id,
            json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let answered = t.rights_request(&id).await;
    assert_eq!(answered["status"], "completed");
    let events = answered["events"].as_array().unwrap();
    assert_eq!(events.last().unwrap()["command"]["command"], "complete");
    assert!(!t.request_ids("open").await.contains(&id));
    assert!(t.request_ids("all").await.contains(&id));
    assert_eq!(
        t.transition(&id, json!({ "command": "start" }))
            .await
            .status,
        StatusCode::CONFLICT,
        "an answered complaint is closed"
    );
}

pub async fn s001_r06_legal_hold_keeps_records_through_deletion_citing_basis(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let email = store(&t, &sub, "email", "primary", "wang.fang@example.com").await;
    let post = store(&t, &sub, "user-content", "post-1", "Evidence in a lawsuit").await;
    // A court order keeps this person's posts; a reason outside the pack's is refused.
    let r = t
        .send(
            Method::POST,
            "/v1/holds",
            &t.admin,
            json!({ "subject": sub, "category": "user-content", "reason": "because" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "reason");
    let hold = t
        .hold(
            json!({ "subject": sub, "category": "user-content", "reason": "court-order",
            "note": "case 2026-17" }),
        )
        .await;
    assert_eq!(
        hold["reason_text"],
        "Must be retained to comply with a court order or other legal procedure"
    );

    let req = t
        .request(json!({ "subject": sub, "kind": "deletion", "channel": "in_app" }))
        .await;
    let id = req["request_id"].as_str().unwrap().to_owned();
    for cmd in ["start_verification", "verified"] {
        let r = t.transition(&id, json!({ "command": cmd })).await;
        assert_eq!(r.status, StatusCode::OK, "{cmd}: {}", r.text());
    }
    // Completing as if everything went is refused, naming the hold's reason…
    let r = t
        .transition(
            &id,
            json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.json()["field"], "outcome");
    assert!(r.text().contains("court-order"), "{}", r.text());
    // …and so is citing a basis that is not the hold's.
    let r = t
        .transition(
            &id,
            json!({ "command": "complete",
            "outcome": { "kind": "fulfilled_with_holds", "holds": ["local-law"] } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(t.rights_request(&id).await["status"], "in_progress");
    // The partial completion cites the basis.
    let r = t
        .transition(
            &id,
            json!({ "command": "complete",
            "outcome": { "kind": "fulfilled_with_holds", "holds": ["court-order"] } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let done = r.json();
    assert_eq!(done["status"], "completed");
    let last = done["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last["command"]["outcome"],
        json!({ "kind": "fulfilled_with_holds", "holds": ["court-order"] }),
        "{last}"
    );
    assert!(last["to"].to_string().contains("court-order"), "{last}");
    // The held posts are kept; the rest is gone.
    let r = t.get(&post).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["value"], "Evidence in a lawsuit");
    assert_eq!(t.get(&email).await.status, StatusCode::NOT_FOUND);
    let log = t.audit_actions().await;
    for a in ["hold.placed", "request.completed"] {
        assert!(log.iter().any(|e| e["action"] == a), "{a} not audited");
    }
}

pub async fn s001_r11_sweep_removes_expired_records_keeps_held_ones(b: Backend) {
    const PAST: &str = "2020-01-01T00:00:00Z";
    let t = T::start(b, PACK).await;
    let (gone, anonymous, held) = (t.adult().await, t.adult().await, t.adult().await);
    // Operations logs are deleted at their end; improvement data is anonymized.
    t.store(
        &gone,
        "log-info",
        "l1",
        "service-operations",
        "login from Shenzhen",
        Some(PAST),
    )
    .await;
    t.store(
        &gone,
        "device-id",
        "d1",
        "service-operations",
        "device A",
        None,
    )
    .await;
    t.give(&anonymous, "service-improvement").await;
    t.store(
        &anonymous,
        "log-info",
        "l1",
        "service-improvement",
        "clicked 3 times",
        Some(PAST),
    )
    .await;
    t.store(
        &held,
        "log-info",
        "l1",
        "service-operations",
        "login from Beijing",
        Some(PAST),
    )
    .await;
    let hold = t
        .hold(json!({ "subject": held, "reason": "government-requirement" }))
        .await;
    let hold_id = hold["hold_id"].as_str().unwrap();

    // The dry run says what would go and changes nothing.
    let dry = t.sweep(true).await;
    let planned: Vec<(String, String)> = dry["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["subject"].as_str().unwrap().to_owned(),
                r["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        planned.contains(&(gone.clone(), "delete".to_owned())),
        "{dry}"
    );
    assert!(
        planned.contains(&(anonymous.clone(), "anonymize".to_owned())),
        "{dry}"
    );
    assert!(!planned.iter().any(|(s, _)| *s == held), "held: {dry}");
    assert_eq!(
        t.read(&gone, "log-info", "l1", "service-operations")
            .await
            .status,
        StatusCode::OK
    );

    let done = t.sweep(false).await;
    assert_eq!(done["deleted"], 1, "{done}");
    assert_eq!(done["anonymized"], 1, "{done}");
    assert_eq!(done["held"][0]["hold_id"], hold_id, "{done}");
    assert_eq!(done["held"][0]["reason"], "government-requirement");
    assert_eq!(done["held"][0]["records"], 1);
    for (sub, purpose) in [
        (&gone, "service-operations"),
        (&anonymous, "service-improvement"),
    ] {
        assert_eq!(
            t.read(sub, "log-info", "l1", purpose).await.status,
            StatusCode::NOT_FOUND,
            "expired"
        );
    }
    // Not yet expired, and held: kept.
    assert_eq!(
        t.read(&gone, "device-id", "d1", "service-operations")
            .await
            .status,
        StatusCode::OK
    );
    let r = t.read(&held, "log-info", "l1", "service-operations").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["value"], "login from Beijing");
    assert!(
        t.audit_actions()
            .await
            .iter()
            .any(|e| e["action"] == "retention.swept"),
        "the sweep is audited"
    );
}

pub async fn s001_r14_future_version_notified_to_everyone_before_it_takes_effect(b: Backend) {
    let sink = SmtpSink::start().await;
    let t = T::start_with(b, PACK, |c| sink.configure(c)).await;
    t.run_outbox();
    let home = Receiver::start().await;
    t.notify_target(
        "home-page",
        json!({ "webhook": home.url, "events": ["policy.announcement"] }),
    )
    .await;
    let mut by_mail = Vec::new();
    for who in ["ann", "bo"] {
        let sub = t
            .subject(json!({ "age": { "band": "adult" },
                "identities": [{ "kind": "email", "value": format!("{who}@example.com") }] }))
            .await;
        by_mail.push(sub);
    }
    by_mail.sort();
    let no_address = t.adult().await;

    // Version 2.0 takes effect in 14 days.
    let effective = today().checked_add(jiff::Span::new().days(14)).unwrap();
    let v2 = effective_on(
        &next_version(&pack(PACK), "2.0", |s| {
            s.replacen("notice_days = 7", "notice_days = 10", 1)
        }),
        effective,
    );
    let r = t.publish(&v2).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_eq!(v["in_force"], false, "{v}");
    assert_eq!(v["notices"]["subjects"], 3, "{v}");
    assert_eq!(v["notices"]["by_email"], 2, "{v}");
    assert_eq!(v["notices"]["unreachable"], 1, "{v}");
    assert_eq!(v["notices"]["announcement"], true, "{v}");
    let hash = v["content_hash"].as_str().unwrap().to_owned();

    // Everyone is told while 1.0 is still the policy in force.
    t.settle_outbox().await;
    assert_eq!(t.get("/v1/policies/current").await.json()["label"], "1.0");
    let queued = t.outbox().await;
    let notices = of_kind(&queued, "policy.notice");
    let mut mailed: Vec<String> = notices
        .iter()
        .map(|m| {
            assert_eq!(m["channel"], "subject_email", "{m}");
            assert_eq!(m["status"], "delivered", "{m}");
            assert!(ts(&m["created"]) < ts(&v["effective"]), "{m}");
            // No personal information in the queue: the address is read at delivery.
            assert!(!m["payload"].to_string().contains("@example.com"), "{m}");
            m["target"].as_str().unwrap().to_owned()
        })
        .collect();
    mailed.sort();
    assert_eq!(mailed, by_mail);
    let mails = sink.all();
    assert_eq!(mails.len(), 2, "{mails:?}");
    for who in ["ann", "bo"] {
        let mail = mails
            .iter()
            .find(|m| m.contains(&format!("{who}@example.com")))
            .unwrap_or_else(|| panic!("no mail to {who}: {mails:?}"));
        assert!(mail.contains(&effective.to_string()), "{mail}");
        assert!(mail.contains(&hash), "{mail}");
    }
    // The home page carries it for everyone, the person without an address too.
    let shown = home.bodies();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["kind"], "policy.announcement");
    assert_eq!(shown[0]["data"]["version"], "2.0");
    assert_eq!(
        ts(&shown[0]["data"]["effective"]),
        ts(&v["effective"]),
        "{shown:?}"
    );
    assert!(!shown.iter().any(|s| s.to_string().contains(&no_address)));
    // The privacy center's policy page announces it too, linking to the changes.
    let tenant = t.get_as("/v1/tenant", &t.admin).await.json()["tenant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = t
        .call(
            Method::GET,
            &format!("/t/{tenant}/policy?lang=en"),
            None,
            axum::body::Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.text();
    assert!(
        page.contains(&format!(
            "A new version of this policy takes effect on <time>{effective}</time>"
        )),
        "{page}"
    );
    assert!(page.contains(&format!("to={hash}")), "{page}");

    // Queuing again (after a crash half way) tells nobody twice.
    let again = t
        .admin_post(&format!("/v1/policies/{hash}/notices"), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["queued"], 0, "{}", again.text());
    assert_eq!(t.outbox().await.len(), queued.len());
}
