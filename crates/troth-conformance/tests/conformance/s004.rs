//! S004 — MobTech SDK platform (`packs/s004-mobtech`, `packs/s004-mobtech/v2`).

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

const PACK: &str = "s004-mobtech";

const MOBLINK: [&str; 3] = ["deep-link-params", "app-info", "device-id"];

pub async fn s004_r03_sdk_needs_attestation(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    // The end user's own consent, without the developer's attestation, is not enough.
    t.give(&sub, "sdk-moblink").await;
    denied(
        &t.ask(&sub, "sdk-moblink", &MOBLINK).await,
        "attestation_missing",
    );
    t.attest(&sub, "sdk-moblink").await;
    allowed(&t.ask(&sub, "sdk-moblink", &MOBLINK).await);
    // An attestation for one SDK says nothing about another.
    t.give(&sub, "sdk-ads").await;
    denied(
        &t.ask(&sub, "sdk-ads", &["device-id"]).await,
        "attestation_missing",
    );
}

pub async fn s004_r04_cross_sdk_use_denied(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.attest(&sub, "sdk-moblink").await;
    t.give_scope(&sub, "sdk-moblink", cat("location")).await;
    denied(
        &t.ask(&sub, "sdk-moblink", &["device-id", "location"]).await,
        "category_not_declared_for_purpose",
    );
    denied(
        &t.ask(&sub, "sdk-moblink", &["address-book"]).await,
        "category_not_declared_for_purpose",
    );
    // Each SDK, as published, is a purpose with exactly its own categories.
    let src = t.get("/v1/policies/current").await.json()["source_toml"]
        .as_str()
        .unwrap()
        .to_owned();
    let policy = troth_policy::parse_policy("policy.toml", &src).unwrap();
    assert!(policy.sdks.len() >= 6, "ShareSDK … Ads SDK are declared");
    for sdk in &policy.sdks {
        for p in &sdk.purposes {
            let purpose = policy.purpose(p.as_str()).unwrap();
            for c in &sdk.categories {
                assert!(
                    purpose.categories.contains(c) || purpose.optional_categories.contains(c),
                    "{} collects {c} outside {p}",
                    sdk.id
                );
            }
        }
    }
}

pub async fn s004_r05_separate_consent_per_sensitive_category(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.attest(&sub, "sdk-smssdk").await;
    let cats = ["phone", "app-info", "address-book"];
    denied(
        &t.ask(&sub, "sdk-smssdk", &cats).await,
        "sensitive_consent_missing",
    );
    t.give_scope(&sub, "sdk-smssdk", cat("phone")).await;
    let d = t.ask(&sub, "sdk-smssdk", &cats).await;
    denied(&d, "sensitive_consent_missing");
    assert_eq!(codes(&d).len(), 1, "only address-book is missing: {d}");
    t.give_scope(&sub, "sdk-smssdk", cat("address-book")).await;
    allowed(&t.ask(&sub, "sdk-smssdk", &cats).await);
}

pub async fn s004_r06_forbidden_categories_rejected(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.attest(&sub, "sdk-ads").await;
    for c in [
        "race",
        "political-views",
        "religion",
        "genetic",
        "biometric",
        "sexual-orientation",
    ] {
        // A separate consent cannot make it allowed…
        let r = t
            .post(
                "/v1/consents",
                json!({ "subject": sub, "purpose": "sdk-ads", "status": "given", "scope": cat(c) }),
            )
            .await;
        assert!(
            r.status == StatusCode::CREATED || r.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            r.text()
        );
        denied(&t.ask(&sub, "sdk-ads", &[c]).await, "forbidden_category");
        denied(
            &t.ask(&sub, "legal-compliance", &[c]).await,
            "forbidden_category",
        );
        // …and nothing is stored.
        let r = t
            .send(
                Method::PUT,
                &format!("/v1/subjects/{sub}/vault/{c}/x"),
                &t.app,
                json!({ "value": "x", "purpose": "legal-compliance" }),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains("forbidden_category"), "{}", r.text());
    }
}

pub async fn s004_r08_affiliate_declared_logged_purpose_change_needs_consent(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.attest(&sub, "security-fraud").await;
    let ok = json!({ "subject": sub, "purpose": "security-fraud",
        "categories": ["web-log", "device-id"], "recipient": "guangzhou-zhangtao" });
    let d = t.decide(ok.clone()).await;
    allowed(&d);
    assert!(must_record(&d, "sharing"));
    // Not on consent: the disclosure names the policy's case for affiliates.
    let mut ok = ok;
    ok["disclosure_basis"] = json!("affiliates");
    assert_eq!(t.disclose(ok).await.status, StatusCode::CREATED);
    assert_eq!(
        t.disclosures(&sub).await[0]["recipient"],
        "guangzhou-zhangtao"
    );
    t.give(&sub, "developer-marketing").await;
    let changed = json!({ "subject": sub, "purpose": "developer-marketing",
        "categories": ["email"], "recipient": "guangzhou-zhangtao" });
    denied(
        &t.decide(changed.clone()).await,
        "recipient_purpose_not_declared",
    );
    t.give_scope(&sub, "developer-marketing", rec("guangzhou-zhangtao"))
        .await;
    allowed(&t.decide(changed).await);
}

pub async fn s004_r09_per_recipient_categories_finance_needs_explicit_consent(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.attest(&sub, "sdk-ads").await;
    t.give_scope(&sub, "sdk-ads", rec("ads-analytics-partners"))
        .await;
    allowed(
        &t.decide(json!({ "subject": sub, "purpose": "sdk-ads",
            "categories": ["os-info", "ad-interaction"], "recipient": "ads-analytics-partners" }))
            .await,
    );
    // Ads and analytics partners get no identifiers.
    denied(
        &t.decide(json!({ "subject": sub, "purpose": "sdk-ads",
            "categories": ["device-id"], "recipient": "ads-analytics-partners" }))
            .await,
        "category_not_declared_for_recipient",
    );
    t.attest(&sub, "finance-analysis").await;
    t.give_scope(&sub, "finance-analysis", cat("confidence-label"))
        .await;
    let fin = json!({ "subject": sub, "purpose": "finance-analysis",
        "categories": ["confidence-label", "oaid"], "recipient": "finance-analysis-partners" });
    denied(&t.decide(fin.clone()).await, "sharing_consent_missing");
    t.give_scope(&sub, "finance-analysis", rec("finance-analysis-partners"))
        .await;
    allowed(&t.decide(fin).await);
}

pub async fn s004_r10_disclosure_by_law_records_its_exemption(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let q = json!({ "subject": sub, "purpose": "legal-compliance",
        "categories": ["email", "web-log"], "recipient": "authorities" });
    let d = t.decide(q.clone()).await;
    allowed(&d);
    assert_eq!(d["basis"]["legal"], "legal_obligation", "{d}");
    assert_eq!(d["basis"]["exemption"], "other-law", "{d}");
    assert!(must_record(&d, "sharing"));
    let mut q = q;
    q["disclosure_basis"] = json!("law-or-authority");
    let r = t.disclose(q).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["basis"], "legal_obligation");
    assert_eq!(r.json()["disclosure_basis"], "law-or-authority");
    // Without the law, a transfer needs the explicit consent the gate asks for.
    denied(
        &t.decide(json!({ "subject": sub, "purpose": "developer-marketing",
            "categories": ["email"], "recipient": "guangzhou-zhangtao" }))
            .await,
        "consent_missing",
    );
}

pub async fn s004_r15_withdrawal_immediate(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.attest(&sub, "sdk-moblink").await;
    allowed(&t.ask(&sub, "sdk-moblink", &MOBLINK).await);
    t.set(&sub, "withdrawn", "sdk-moblink").await;
    denied(
        &t.ask(&sub, "sdk-moblink", &MOBLINK).await,
        "consent_withdrawn",
    );
}

pub async fn s004_r16_account_cancellation_deletes(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t
        .subject(json!({ "identities": [{ "kind": "email", "value": "dev.user@example.com" }], "age": { "band": "adult" } }))
        .await;
    let path = format!("/v1/subjects/{sub}/vault/email/primary");
    let r = t
        .send(
            Method::PUT,
            &path,
            &t.app,
            json!({ "value": "dev.user@example.com", "purpose": "service-notices" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
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
    assert_eq!(r.json()["key_destroyed"], true);
    assert_eq!(r.json()["records_deleted"], 1);
    assert_eq!(r.json()["identities_deleted"], 1);
    assert_ne!(
        t.get(&format!("{path}?purpose=service-notices"))
            .await
            .status,
        StatusCode::OK
    );
    denied(
        &t.ask(&sub, "service-notices", &["email"]).await,
        "account_cancelled",
    );
}

pub async fn s004_r23_cross_border_denied(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.attest(&sub, "sdk-moblink").await;
    t.give_scope(&sub, "sdk-moblink", dest("SG")).await;
    let q = json!({ "subject": sub, "purpose": "sdk-moblink", "categories": MOBLINK, "destination": "SG" });
    denied(&t.decide(q.clone()).await, "transfer_not_declared");
    assert_eq!(t.disclose(q).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(t.disclosures(&sub).await.is_empty());
}

pub async fn s004_r26_every_version_retrievable_by_number_and_date(b: Backend) {
    let t = T::start(b, PACK).await;
    let r = t.publish(&pack("s004-mobtech/v2")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let list = t.get("/v1/policies").await.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "both versions are kept");
    for v in list {
        let label = v["label"].as_str().unwrap();
        assert!(v["effective"].is_string() && v["published"].is_string());
        // Retrievable by its number (label) and by its content hash.
        for which in [label, v["content_hash"].as_str().unwrap()] {
            let r = t.get(&format!("/v1/policies/{which}")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert_eq!(r.json()["label"], label);
            assert!(
                r.json()["source_toml"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("version = \"{label}\""))
            );
            let r = t
                .get(&format!("/v1/policies/{which}/render?format=markdown"))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
    }
    assert_eq!(list[0]["label"], "2019-12-13");
}

pub async fn s004_r18_opt_out_denies_marketing_allows_service_notices(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "developer-marketing").await;
    allowed(&t.ask(&sub, "developer-marketing", &["email"]).await);
    allowed(&t.ask(&sub, "service-notices", &["email"]).await);
    t.targeting(&sub, true).await;
    denied(
        &t.ask(&sub, "developer-marketing", &["email"]).await,
        "targeting_opt_out",
    );
    allowed(&t.ask(&sub, "service-notices", &["email"]).await);
}

pub async fn s004_r13_channels_rendered_requests_record_their_channel(b: Backend) {
    let t = T::start(b, PACK).await;
    let page = t.rendered("en").await;
    for text in ["400-685-2216", "notice@mob.com"] {
        assert!(page.contains(text), "{text} rendered");
    }
    let sub = t.adult().await;
    for channel in ["phone", "email", "in_app"] {
        let req = t
            .request(json!({ "subject": sub, "kind": "correction", "channel": channel }))
            .await;
        let id = req["request_id"].as_str().unwrap().to_owned();
        let read = t.rights_request(&id).await;
        assert_eq!(read["channel"], channel, "the channel is recorded");
    }
}

pub async fn s004_r19_deadline_15_days_after_verification(b: Backend) {
    let sink = SmtpSink::start().await;
    let t = T::start_with(b, PACK, |c| sink.configure(c)).await;
    let sub = t
        .subject(json!({ "age": { "band": "adult" },
            "identities": [{ "kind": "email", "value": "zhang.wei@example.com" }] }))
        .await;
    let own = t.key("subject", Some(&sub)).await;
    let req = t
        .request_as(&own, json!({ "subject": sub, "kind": "access" }))
        .await;
    let id = req["request_id"].as_str().unwrap().to_owned();
    assert!(req["due"].is_null(), "no clock before verification");
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
    assert!(
        t.rights_request(&id).await["due"].is_null(),
        "still no clock while verifying"
    );
    let r = t
        .send(
            Method::POST,
            &format!("/v1/requests/{id}/verification/confirm"),
            &own,
            json!({ "code": sink.last_code() }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "in_progress");
    let verified = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["command"]["command"] == "verified")
        .expect("the verification event")
        .clone();
    // Due at the end of the 15th day after verification.
    let left = secs(ts(&verified["at"]), ts(&v["due"]));
    assert!(
        (15 * DAY..=16 * DAY).contains(&left),
        "verified_at + 15 days, got {left}s"
    );
    assert!(
        secs(ts(&v["received"]), ts(&verified["at"])) >= 0,
        "counted from verification, not receipt"
    );
}

pub async fn s004_r21_refusal_cites_a_pack_reason(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let id = t.request(json!({ "subject": sub, "kind": "access" })).await["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Not one of the pack's reasons (`court-order` is another pack's): refused with 409.
    for reason in ["not-a-reason", "court-order", ""] {
        let r = t
            .transition(&id, json!({ "command": "refuse", "reason": reason }))
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{reason:?}: {}", r.text());
    }
    assert_eq!(t.rights_request(&id).await["status"], "received");
    let r = t
        .transition(
            &id,
            json!({ "command": "refuse", "reason": "commercial-secrets" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "refused");
    let last = v["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last["to"]["reason"], "commercial-secrets",
        "the reason is cited"
    );
    assert_eq!(last["command"]["reason"], "commercial-secrets");
    // A request being worked on is refused on the same terms.
    let id = t.request(json!({ "subject": sub, "kind": "access" })).await["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for cmd in ["start_verification", "verified"] {
        let r = t.transition(&id, json!({ "command": cmd })).await;
        assert_eq!(r.status, StatusCode::OK, "{cmd}: {}", r.text());
    }
    let r = t
        .transition(
            &id,
            json!({ "command": "refuse", "reason": "trade-secret" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(t.rights_request(&id).await["status"], "in_progress");
    let r = t
        .transition(
            &id,
            json!({ "command": "refuse", "reason": "unreasonably-repeated" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "refused");
}

pub async fn s004_r27_officer_and_contacts_rendered_complaint_accepted(b: Backend) {
    let t = T::start(b, PACK).await;
    let page = t.rendered("en").await;
    for text in [
        "Chun Ling",
        "datacommissioner@mob.com",
        "400-685-2216",
        "notice@mob.com",
        "Jiading District",
    ] {
        assert!(page.contains(text), "{text} rendered");
    }
    assert!(t.rendered("zh-CN").await.contains("个人信息保护专职部门"));
    let sub = t.adult().await;
    let req = t
        .request(json!({ "subject": sub, "kind": "complaint", "channel": "email" }))
        .await;
    assert_eq!(req["kind"], "complaint");
    assert_eq!(
        req["status"], "in_progress",
        "a complaint needs no identity check"
    );
    assert!(
        req["due"].is_string(),
        "a complaint is answered by a deadline"
    );
}
