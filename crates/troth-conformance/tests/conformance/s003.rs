//! S003 — coach app (`packs/s003-coach-app`).

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

const PACK: &str = "s003-coach-app";

pub async fn s003_r01_basic_never_blocked(b: Backend) {
    let t = T::start(b, PACK).await;
    let src = t.get("/v1/policies/current").await.json()["source_toml"]
        .as_str()
        .unwrap()
        .to_owned();
    let policy = troth_policy::parse_policy("policy.toml", &src).unwrap();
    let additional: Vec<String> = policy
        .purposes
        .iter()
        .filter(|p| p.function == troth_policy::Function::Additional)
        .map(|p| p.id.to_string())
        .collect();
    assert!(!additional.is_empty());
    let sub = t.adult().await;
    let basic = |sub: &str| {
        json!({ "items": [
            { "subject": sub, "purpose": "browse-search", "categories": ["device-info", "service-log"] },
            { "subject": sub, "purpose": "registration", "categories": ["phone", "sms-code"] },
            { "subject": sub, "purpose": "security", "categories": ["device-id", "ip-address"] },
        ] })
    };
    let ask_basic = async |t: &T| -> Vec<Value> {
        let r = t.post("/v1/decisions/batch", basic(&sub)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()["items"].as_array().unwrap().clone()
    };
    let before = ask_basic(&t).await;
    for d in &before {
        allowed(d);
    }
    // A pseudo-random walk over every additional purpose, status and scope
    // (deterministic, so a failure reproduces).
    let statuses = ["given", "withdrawn", "refused", "expired"];
    let scopes = [
        Value::Null,
        cat("location"),
        json!({ "kind": "public_disclosure" }),
    ];
    let mut x: u64 = 0x5eed_0003;
    for _ in 0..40 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let n = (x >> 33) as usize;
        let mut c = json!({ "subject": sub, "purpose": additional[n % additional.len()],
            "status": statuses[(n / 7) % statuses.len()] });
        let scope = &scopes[(n / 31) % scopes.len()];
        if !scope.is_null() {
            c["scope"] = scope.clone();
        }
        let r = t.post("/v1/consents", c).await;
        assert!(
            r.status == StatusCode::CREATED || r.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            r.text()
        );
        let after = ask_basic(&t).await;
        for (a, b) in before.iter().zip(&after) {
            assert_eq!(a["allow"], b["allow"]);
            assert_eq!(a["reasons"], b["reasons"]);
        }
    }
}

pub async fn s003_r02_browse_without_registering(b: Backend) {
    let t = T::start(b, PACK).await;
    allowed(
        &t.decide(json!({ "anonymous": true, "purpose": "browse-search",
            "categories": ["device-info", "service-log", "ip-address"] }))
            .await,
    );
    denied(
        &t.decide(json!({ "anonymous": true, "purpose": "personalised-content", "categories": ["device-info"] }))
            .await,
        "anonymous_not_allowed",
    );
}

pub async fn s003_r04_login_provider_gets_only_agreed_fields(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "third-party-login").await;
    t.attest(&sub, "third-party-login").await;
    let share = json!({ "subject": sub, "purpose": "third-party-login",
        "categories": ["third-party-account"], "recipient": "login-providers" });
    denied(&t.decide(share.clone()).await, "sharing_consent_missing");
    t.give_scope(&sub, "third-party-login", rec("login-providers"))
        .await;
    allowed(&t.decide(share.clone()).await);
    assert_eq!(t.disclose(share).await.status, StatusCode::CREATED);
    let more = json!({ "subject": sub, "purpose": "third-party-login",
        "categories": ["third-party-account", "phone"], "recipient": "login-providers" });
    denied(
        &t.decide(more.clone()).await,
        "category_not_declared_for_recipient",
    );
    assert_eq!(
        t.disclose(more).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

pub async fn s003_r06_location_withdrawal_denies_at_once(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "location-services").await;
    t.give_scope(&sub, "location-services", cat("location"))
        .await;
    allowed(&t.ask(&sub, "location-services", &["location"]).await);
    t.set(&sub, "withdrawn", "location-services").await;
    denied(
        &t.ask(&sub, "location-services", &["location"]).await,
        "consent_withdrawn",
    );
}

pub async fn s003_r07_device_info_and_logs_for_their_purposes(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    allowed(
        &t.ask(
            &sub,
            "security",
            &[
                "device-info",
                "device-id",
                "app-info",
                "service-log",
                "ip-address",
            ],
        )
        .await,
    );
    t.give(&sub, "bookmarks-downloads").await;
    denied(
        &t.ask(&sub, "bookmarks-downloads", &["device-id"]).await,
        "category_not_declared_for_purpose",
    );
}

pub async fn s003_r08_linked_device_info_erasable_with_the_subject(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let path = format!("/v1/subjects/{sub}/vault/device-id/main");
    let r = t
        .send(
            Method::PUT,
            &path,
            &t.app,
            json!({ "value": "device-4f2a", "purpose": "security" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(
        t.get(&format!("{path}?purpose=security")).await.json()["value"],
        "device-4f2a"
    );
    let r = t
        .send(
            Method::DELETE,
            &format!("/v1/subjects/{sub}"),
            &t.app,
            json!(null),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["key_destroyed"], true, "under the subject's key");
    assert_eq!(r.json()["records_deleted"], 1);
    assert_ne!(
        t.get(&format!("{path}?purpose=security")).await.status,
        StatusCode::OK
    );
}

pub async fn s003_r10_storage_permission_only_for_bookmarks(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "bookmarks-downloads").await;
    t.give(&sub, "personalised-content").await;
    allowed(&t.ask(&sub, "bookmarks-downloads", &["saved-media"]).await);
    denied(
        &t.ask(&sub, "personalised-content", &["saved-media"]).await,
        "category_not_declared_for_purpose",
    );
}

pub async fn s003_r11_third_party_source_needs_attestation(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "third-party-login").await;
    denied(
        &t.ask(&sub, "third-party-login", &["third-party-account"])
            .await,
        "attestation_missing",
    );
    t.attest(&sub, "third-party-login").await;
    allowed(
        &t.ask(&sub, "third-party-login", &["third-party-account"])
            .await,
    );
    // The attestation is in the subject's ledger, with who made it.
    let h = t
        .get(&format!("/v1/subjects/{sub}/consents/history"))
        .await
        .text();
    assert!(h.contains("developer_attestation"), "{h}");
}

pub async fn s003_r12_decision_on_an_exemption_records_it(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let d = t.ask(&sub, "security", &["device-id"]).await;
    allowed(&d);
    assert_eq!(d["basis"]["legal"], "contract", "{d}");
    assert_eq!(d["basis"]["exemption"], "safe-operation", "{d}");
    let d = t.ask(&sub, "registration", &["phone"]).await;
    assert_eq!(d["basis"]["exemption"], "other-law", "{d}");
}

async fn erase(t: &T, sub: &str) -> Value {
    let r = t
        .send(
            Method::DELETE,
            &format!("/v1/subjects/{sub}"),
            &t.app,
            json!(null),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

pub async fn s003_r14_cancelled_account_deleted(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t
        .subject(json!({ "identities": [{ "kind": "phone", "value": "13800138014" }], "age": { "band": "adult" } }))
        .await;
    let path = format!("/v1/subjects/{sub}/vault/phone/primary");
    let r = t
        .send(
            Method::PUT,
            &path,
            &t.app,
            json!({ "value": "13800138014", "purpose": "registration" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let e = erase(&t, &sub).await;
    assert_eq!(e["key_destroyed"], true);
    assert_eq!(e["identities_deleted"], 1);
    assert_eq!(
        t.get(&format!("/v1/subjects/{sub}")).await.json()["status"],
        "erased"
    );
    assert_eq!(
        t.post(
            "/v1/subjects/lookup",
            json!({ "kind": "phone", "value": "13800138014" })
        )
        .await
        .status,
        StatusCode::NOT_FOUND,
        "the identity is gone"
    );
    assert_ne!(
        t.get(&format!("{path}?purpose=registration")).await.status,
        StatusCode::OK
    );
    denied(
        &t.ask(&sub, "security", &["device-id"]).await,
        "account_cancelled",
    );
}

pub async fn s003_r15_cross_border_gate(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "personalised-content").await;
    t.give_scope(&sub, "personalised-content", dest("US")).await;
    // No transfer is declared: consent alone is not enough.
    let q = json!({ "subject": sub, "purpose": "personalised-content",
        "categories": ["device-info"], "destination": "US" });
    denied(&t.decide(q.clone()).await, "transfer_not_declared");
    assert_eq!(t.disclose(q).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

pub async fn s003_r16_user_deletion_removes_vault_records(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "bookmarks-downloads").await;
    let path = format!("/v1/subjects/{sub}/vault/saved-media/img-1");
    let r = t
        .send(
            Method::PUT,
            &path,
            &t.app,
            json!({ "value": "bookmark:img-1", "purpose": "bookmarks-downloads" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = t
        .send(Method::DELETE, &path, &t.app, json!(null), &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(
        t.get(&format!("{path}?purpose=bookmarks-downloads"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "gone at once"
    );
}

pub async fn s003_r17_role_based_access_audit_verified(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "bookmarks-downloads").await;
    // No key, no access.
    let r = t
        .call(
            Method::GET,
            "/v1/audit",
            None,
            axum::body::Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Roles: the app may not read the audit log, the auditor may not write.
    assert_eq!(t.get("/v1/audit").await.status, StatusCode::FORBIDDEN);
    let auditor = t.key("auditor", None).await;
    let r = t
        .send(
            Method::POST,
            "/v1/consents",
            &auditor,
            json!({ "subject": sub, "purpose": "bookmarks-downloads", "status": "withdrawn" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // A subject key sees only its own subject.
    let other = t.adult().await;
    let own = t.key("subject", Some(&sub)).await;
    assert_eq!(
        t.get_as(&format!("/v1/subjects/{sub}/consents"), &own)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        t.get_as(&format!("/v1/subjects/{other}/consents"), &own)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The audit log holds what happened and its chain verifies.
    let r = t.get_as("/v1/audit?limit=1000", &auditor).await;
    let text = r.text();
    assert!(
        text.contains("consent.given") && text.contains("policy.published"),
        "{text}"
    );
    let v = t.get_as("/v1/audit/verify", &auditor).await.json();
    assert_eq!(v["intact"], true, "{v}");
    assert!(v["entries"].as_u64().unwrap() >= 3);
}

pub async fn s003_r19_purpose_change_needs_consent(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let r = t
        .publish(&crate::s002::with_new_purpose(
            &pack(PACK),
            "partner-promotions",
            "coach-matching",
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    denied(
        &t.ask(&sub, "coach-matching", &["device-id"]).await,
        "consent_missing",
    );
    t.give(&sub, "coach-matching").await;
    allowed(&t.ask(&sub, "coach-matching", &["device-id"]).await);
}

pub async fn s003_r20_partner_sharing_gated_and_logged(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "partner-promotions").await;
    let q = json!({ "subject": sub, "purpose": "partner-promotions",
        "categories": ["device-id", "preference-profile"], "recipient": "app-partners" });
    denied(&t.decide(q.clone()).await, "sharing_consent_missing");
    assert_eq!(
        t.disclose(q.clone()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    t.give_scope(&sub, "partner-promotions", rec("app-partners"))
        .await;
    let d = t.decide(q.clone()).await;
    allowed(&d);
    assert!(must_record(&d, "sharing"));
    assert_eq!(t.disclose(q).await.status, StatusCode::CREATED);
    let ledger = t.disclosures(&sub).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["recipient"], "app-partners");
}

pub async fn s003_r21_public_disclosure_gate(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "public-disclosure").await;
    let q = json!({ "subject": sub, "purpose": "public-disclosure", "categories": ["nickname"] });
    denied(
        &t.decide(q.clone()).await,
        "public_disclosure_consent_missing",
    );
    t.give_scope(
        &sub,
        "public-disclosure",
        json!({ "kind": "public_disclosure" }),
    )
    .await;
    allowed(&t.decide(q).await);
}

pub async fn s003_r23_consent_denied_until_new_version_accepted(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let cats = ["device-info", "preference-profile"];
    t.give(&sub, "personalised-content").await;
    allowed(&t.ask(&sub, "personalised-content", &cats).await);
    // 2.0 adds an optional category to the purpose: a significant change.
    let v2 = next_version(&pack(PACK), "2.0", |s| {
        let at = s
            .find("id = \"personalised-content\"")
            .expect("purpose personalised-content");
        let line = at
            + s[at..]
                .find("optional_categories = [")
                .expect("optional categories");
        let open = line + "optional_categories = [".len();
        format!("{}\"app-info\", {}", &s[..open], &s[open..])
    });
    let r = t.publish(&v2).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let diff = t.get("/v1/policies/2.0/diff").await.json();
    assert_eq!(diff["significant"], true, "{diff}");
    assert_eq!(diff["needs_explicit_consent"], true, "{diff}");
    denied(
        &t.ask(&sub, "personalised-content", &cats).await,
        "consent_renewal_required",
    );
    // Non-consent purposes are not affected.
    allowed(&t.ask(&sub, "security", &["device-id"]).await);
    // The person clicks "Agree" on the version in force: the earlier consent counts.
    let r = t
        .post(
            &format!("/v1/subjects/{sub}/accept-version"),
            json!({ "version": "current", "method": "banner", "evidence": "0a".repeat(32) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    allowed(&t.ask(&sub, "personalised-content", &cats).await);
    let history = t
        .get(&format!("/v1/subjects/{sub}/consents/history"))
        .await
        .json();
    let accepted = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["fact"]["type"] == "accept_version")
        .cloned()
        .expect("the acceptance is in the ledger");
    assert_eq!(accepted["fact"]["method"], "banner", "{accepted}");
    // An unknown version is refused, naming the field.
    let r = t
        .post(
            &format!("/v1/subjects/{sub}/accept-version"),
            json!({ "version": "ab".repeat(32), "method": "form" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "version");
}

pub async fn s003_r24_written_guardian_consent_below_18(b: Backend) {
    let t = T::start(b, PACK).await;
    let guardian = t.adult().await;
    let sub = t
        .subject(json!({ "age": { "band": "minor" }, "guardian": guardian }))
        .await;
    let by_guardian = |evidence: &str, hash: Value| {
        json!({ "subject": sub, "purpose": "bookmarks-downloads", "status": "given", "method": "guardian",
            "actor": { "kind": "guardian", "guardian": guardian, "evidence": evidence, "evidence_hash": hash } })
    };
    t.consent(by_guardian("recorded", Value::Null)).await;
    denied(
        &t.ask(&sub, "bookmarks-downloads", &["saved-media"]).await,
        "written_guardian_evidence_required",
    );
    t.consent(by_guardian("written", json!("07".repeat(32))))
        .await;
    allowed(&t.ask(&sub, "bookmarks-downloads", &["saved-media"]).await);
}

pub async fn s003_r05_location_never_stored(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "location-services").await;
    t.give_scope(&sub, "location-services", cat("location"))
        .await;
    // Used at the moment: allowed, with the obligation not to store it.
    let d = t.ask(&sub, "location-services", &["location"]).await;
    allowed(&d);
    assert!(
        d["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["obligation"] == "do_not_store" && o["category"] == "location"),
        "{d}"
    );
    // The vault refuses to keep it, saying why.
    let path = format!("/v1/subjects/{sub}/vault/location/now");
    let r = t
        .send(
            Method::PUT,
            &path,
            &t.app,
            json!({ "value": "39.9042,116.4074", "purpose": "location-services" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("do_not_store"), "{}", r.text());
    assert!(!r.text().contains("39.9042"), "the value is never echoed");
    // No history: nothing was kept.
    let r = t.get(&format!("{path}?purpose=location-services")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(
        !t.audit_actions()
            .await
            .iter()
            .any(|e| e["action"] == "vault.write"),
        "nothing was written"
    );
}

pub async fn s003_r09_profiling_consent_gated_targeting_opt_out(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let cats = ["device-info", "preference-profile"];
    denied(
        &t.ask(&sub, "personalised-content", &cats).await,
        "consent_missing",
    );
    t.give(&sub, "personalised-content").await;
    t.give(&sub, "ads-personalised").await;
    allowed(&t.ask(&sub, "personalised-content", &cats).await);
    allowed(
        &t.ask(
            &sub,
            "ads-personalised",
            &["cookie-id", "preference-profile"],
        )
        .await,
    );
    // The person opts out of targeting with their own key.
    let own = t.key("subject", Some(&sub)).await;
    let r = t.targeting_as(&sub, true, &own).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    denied(
        &t.ask(&sub, "personalised-content", &cats).await,
        "targeting_opt_out",
    );
    denied(
        &t.ask(
            &sub,
            "ads-personalised",
            &["cookie-id", "preference-profile"],
        )
        .await,
        "targeting_opt_out",
    );
    // Purposes that do not target are unaffected.
    allowed(&t.ask(&sub, "security", &["device-id"]).await);
    // Opting back in restores the consented purposes.
    t.targeting(&sub, false).await;
    allowed(&t.ask(&sub, "personalised-content", &cats).await);
}

pub async fn s003_r03_phone_in_vault_verified_by_sms(b: Backend) {
    let t = T::start(b, PACK).await;
    let gateway = Receiver::start().await;
    let sub = t
        .subject(
            json!({ "identities": [{ "kind": "phone", "value": "+86 138 0013 8003" }],
            "age": { "band": "adult" } }),
        )
        .await;
    // Registration takes the phone number and the SMS code, and keeps the number in
    // the vault.
    allowed(&t.ask(&sub, "registration", &["phone", "sms-code"]).await);
    t.store(
        &sub,
        "phone",
        "primary",
        "registration",
        "+86 138 0013 8003",
        None,
    )
    .await;
    let r = t.read(&sub, "phone", "primary", "registration").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["value"], "+86 138 0013 8003");

    // Proving the number: a one-time code by SMS through the tenant's gateway.
    let own = t.key("subject", Some(&sub)).await;
    let id = t
        .request_as(
            &own,
            json!({ "subject": sub, "kind": "deletion", "channel": "in_app" }),
        )
        .await["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let send = format!("/v1/requests/{id}/verification?channel=sms");
    let r = t.send(Method::POST, &send, &own, json!({}), &[]).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no gateway yet: {}",
        r.text()
    );
    assert_eq!(r.json()["field"], "channel");
    let secret = t
        .notify_target(
            "sms",
            json!({ "webhook": gateway.url, "events": ["verification.sms"] }),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = t.send(Method::POST, &send, &own, json!({}), &[]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(r.json()["channel"], "sms");
    assert_eq!(r.json()["to"], "***8003", "masked");
    let sms = gateway.bodies();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0]["to"], "+8613800138003");
    gateway.assert_signed(&secret);
    let text = sms[0]["text"].as_str().unwrap();
    let code: String = text
        .split("code is ")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"))
        .chars()
        .take(6)
        .collect();
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{text}");
    assert_eq!(t.rights_request(&id).await["status"], "verifying");
    let confirm = format!("/v1/requests/{id}/verification/confirm");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = t
        .send(Method::POST, &confirm, &own, json!({ "code": wrong }), &[])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = t
        .send(Method::POST, &confirm, &own, json!({ "code": code }), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "in_progress", "the number is proven");
    // The code is kept nowhere troth shows.
    assert!(
        !serde_json::Value::from(t.outbox().await)
            .to_string()
            .contains(&code)
    );
}

/// R13: ceasing operations stops every collection decision, tells each person, and
/// the sweep deletes what was held (a legal hold keeps its data, cited).
pub async fn s003_r13_cessation_denies_collection_notifies_and_sweeps(b: Backend) {
    let t = T::start(b, PACK).await;
    t.run_outbox();
    let push = Receiver::start().await;
    t.notify_target(
        "app-push",
        json!({ "webhook": push.url, "events": ["cessation.notice", "cessation.announcement"] }),
    )
    .await;
    let mut people = Vec::new();
    for _ in 0..3 {
        let sub = t.adult().await;
        let r = t
            .send(
                Method::PUT,
                &format!("/v1/subjects/{sub}/vault/phone/main"),
                &t.admin,
                json!({ "value": "+8613800138000", "purpose": "registration" }),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
        people.push(sub);
    }
    allowed(&t.ask(&people[0], "registration", &["phone"]).await);

    let r = t
        .send(
            Method::POST,
            "/v1/cessations",
            &t.admin,
            json!({ "service": PACK, "reason": "the app closes" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["cessation_id"].as_str().unwrap().to_owned();

    // Collection stops at once, for everyone.
    denied(
        &t.ask(&people[0], "registration", &["phone"]).await,
        "service_ceased",
    );
    let newcomer = t.adult().await;
    denied(
        &t.ask(&newcomer, "registration", &["phone"]).await,
        "service_ceased",
    );

    // Each person is told.
    t.settle_outbox().await;
    let mut told: Vec<String> = push
        .bodies()
        .iter()
        .filter(|v| v["kind"] == "cessation.notice")
        .map(|v| v["data"]["subject"].as_str().unwrap().to_owned())
        .collect();
    told.sort();
    let mut want = people.clone();
    want.sort();
    assert_eq!(told, want);

    // The sweep deletes everything but what a legal hold keeps.
    let r = t
        .send(
            Method::POST,
            "/v1/holds",
            &t.admin,
            json!({ "subject": people[2], "reason": "legal-requirement" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let swept = t.sweep(false).await;
    assert_eq!(swept["deleted"], 2, "{swept}");
    let report = t
        .get_as(&format!("/v1/cessations/{id}"), &t.admin)
        .await
        .json();
    assert_eq!(report["status"], "drained", "{report}");
    assert_eq!(report["records"]["remaining"], 0);
    assert_eq!(report["records"]["held"], 1);
    for (sub, status) in [
        (&people[0], StatusCode::NOT_FOUND),
        (&people[2], StatusCode::OK),
    ] {
        let r = t
            .get_as(
                &format!("/v1/subjects/{sub}/vault/phone/main?purpose=registration"),
                &t.admin,
            )
            .await;
        assert_eq!(r.status, status, "{}", r.text());
    }
    assert!(
        t.audit_actions()
            .await
            .iter()
            .any(|a| a["action"] == "cessation.started"),
        "the cessation is audited"
    );
}

pub async fn s003_r18_incident_push_to_each_or_one_announcement(b: Backend) {
    let t = T::start(b, PACK).await;
    t.run_outbox();
    let push = Receiver::start().await;
    t.notify_target(
        "app-push",
        json!({ "webhook": push.url, "events": ["incident.notice"] }),
    )
    .await;
    let site = Receiver::start().await;
    t.notify_target(
        "site",
        json!({ "webhook": site.url, "events": ["incident.announcement"] }),
    )
    .await;
    let mut people = Vec::new();
    for i in 0..2 {
        people.push(
            t.subject(
                json!({ "identities": [{ "kind": "phone", "value": format!("+861380013810{i}") }],
                "age": { "band": "adult" } }),
            )
            .await,
        );
    }
    let bystander = t.adult().await;

    // Each affected user is told individually, by push.
    let (first, n) = t.breach(incident(&["identity.phone"])).await;
    assert_eq!(n["affected"], 2, "{n}");
    t.settle_outbox().await;
    let mut told: Vec<String> = push
        .bodies()
        .iter()
        .map(|v| {
            assert_eq!(v["kind"], "incident.notice");
            assert!(
                v["data"]["body_zh"].as_str().unwrap().contains("事件原因"),
                "{v}"
            );
            v["data"]["subject"].as_str().unwrap().to_owned()
        })
        .collect();
    told.sort();
    let mut want = people.clone();
    want.sort();
    assert_eq!(told, want);
    assert!(!told.contains(&bystander));
    assert!(site.bodies().is_empty(), "no announcement");
    let rep = t
        .get_as(&format!("/v1/incidents/{first}/report"), &t.operator)
        .await
        .json();
    assert_eq!(rep["notification"]["mode"], "individual", "{rep}");

    // When telling each one is impractical (more people than the pack's threshold,
    // lowered here to 1), one announcement instead.
    let v2 = next_version(&pack(PACK), "2.0", |s| {
        assert!(s.contains("announcement_threshold = 10000"));
        s.replacen(
            "announcement_threshold = 10000",
            "announcement_threshold = 1",
            1,
        )
    });
    let r = t.publish(&v2).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let (second, _) = t.breach(incident(&["identity.phone"])).await;
    t.settle_outbox().await;
    let news = site.bodies();
    assert_eq!(news.len(), 1, "one announcement");
    assert_eq!(news[0]["kind"], "incident.announcement");
    assert!(news[0]["data"]["subject"].is_null(), "addressed to nobody");
    assert!(
        news[0]["data"]["body_en"]
            .as_str()
            .unwrap()
            .contains("What you can do")
    );
    assert_eq!(push.bodies().len(), 2, "no individual notices this time");
    let rep = t
        .get_as(&format!("/v1/incidents/{second}/report"), &t.operator)
        .await
        .json();
    assert_eq!(rep["notification"]["mode"], "announcement", "{rep}");
}

pub async fn s003_r22_controller_transfer_informs_and_keeps_protection(b: Backend) {
    let t = T::start(b, PACK).await;
    t.run_outbox();
    let push = Receiver::start().await;
    t.notify_target(
        "app-push",
        json!({ "webhook": push.url, "events": ["controller.notice", "controller.announcement"] }),
    )
    .await;
    let mut people = vec![t.adult().await, t.adult().await];
    people.sort();

    // The merger takes effect in 30 days; people hear of it now.
    let effective = today().checked_add(jiff::Span::new().days(30)).unwrap();
    let buyer = "New Coach Holdings Co., Ltd.";
    let v2 = effective_on(
        &next_version(&pack(PACK), "2.0", |s| {
            with_controller(&s, buyer, "新教练控股有限公司")
        }),
        effective,
    );
    let r = t.publish(&v2).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["in_force"], false);
    let r = t
        .admin_post(
            "/v1/controller-transfers",
            json!({ "version": "2.0", "new_controller": "新教练控股有限公司",
                    "effective": effective.to_string() }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let x = r.json();
    assert_eq!(x["new_controller"], buyer);
    assert_eq!(x["new_holder_bound"], true, "{x}");
    // The pack renews consent by explicit acceptance after a significant change.
    let diff = t.get("/v1/policies/2.0/diff").await.json();
    assert_eq!(diff["needs_explicit_consent"], true, "{diff}");
    assert_eq!(x["renewal_required"], true, "{x}");
    assert_eq!(x["notices"]["by_push"], 2, "{x}");

    // Each person gets a push, and the app shows the pop-up from the announcement.
    t.settle_outbox().await;
    let bodies = push.bodies();
    let mut told: Vec<String> = bodies
        .iter()
        .filter(|v| v["kind"] == "controller.notice")
        .map(|v| {
            assert_eq!(v["data"]["new_controller"], buyer, "{v}");
            assert_eq!(v["data"]["new_holder_bound"], true, "{v}");
            assert!(
                v["data"]["body_en"]
                    .as_str()
                    .unwrap()
                    .contains("keeps protecting your personal information"),
                "{v}"
            );
            v["data"]["subject"].as_str().unwrap().to_owned()
        })
        .collect();
    told.sort();
    assert_eq!(told, people);
    assert_eq!(
        bodies
            .iter()
            .filter(|v| v["kind"] == "controller.announcement")
            .count(),
        1
    );
    // Before the date the old controller's policy is still the one in force.
    assert_eq!(t.get("/v1/policies/current").await.json()["label"], "1.0");
}
