//! S001 — social services (`packs/s001-social-services`).

use axum::http::StatusCode;
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
