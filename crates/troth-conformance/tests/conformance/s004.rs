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

pub async fn s004_r22_children_blocked_and_their_data_swept(b: Backend) {
    let t = T::start(b, PACK).await;
    let guardian = t.adult().await;
    // Collected unknowingly: nobody said this developer was 12.
    let child = t.subject(json!({})).await;
    let adult = t.adult().await;
    for sub in [&child, &adult] {
        t.give(sub, "developer-registration").await;
        t.store(
            sub,
            "email",
            "main",
            "developer-registration",
            "dev@example.com",
            None,
        )
        .await;
    }
    t.store(
        &child,
        "email",
        "notices",
        "service-notices",
        "kid@example.com",
        None,
    )
    .await;
    let birth = format!("{}-03-01", today().year() - 12);
    let r = t
        .post(
            &format!("/v1/subjects/{child}/age"),
            json!({ "age": { "birth_date": birth }, "guardian": guardian }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["age_band"], "child");
    // No children are accepted, whoever consents.
    t.consent(json!({ "subject": child, "purpose": "developer-registration", "status": "given",
        "method": "guardian",
        "actor": { "kind": "guardian", "guardian": guardian, "evidence": "recorded", "evidence_hash": null } }))
        .await;
    for purpose in ["developer-registration", "service-notices"] {
        denied(
            &t.ask(&child, purpose, &["email"]).await,
            "child_not_accepted",
        );
    }
    allowed(&t.ask(&adult, "service-notices", &["email"]).await);

    // The sweep deletes everything of the child's (the pack would anonymize
    // developer-registration records at their end; a child's are deleted), nothing
    // of the adult's.
    let swept = t.sweep(false).await;
    assert_eq!(swept["deleted"], 2, "{swept}");
    assert_eq!(swept["anonymized"], 0, "{swept}");
    let r = t
        .read(&adult, "email", "main", "developer-registration")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let log = t.audit_actions().await;
    let due = log
        .iter()
        .find(|e| e["action"] == "retention.child_data_due")
        .expect("the deletion's reason is audited");
    let detail: serde_json::Value = serde_json::from_str(due["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["reasons"], json!({ "child_not_accepted": 2 }));
    assert_eq!(detail["subjects"], json!([child]));
    let text = due.to_string();
    assert!(!text.contains("dev@example.com") && !text.contains("kid@example.com"));
    // Had the age been a mistake, corrected later, the data would still be gone.
    let r = t
        .post(
            &format!("/v1/subjects/{child}/age"),
            json!({ "age": { "band": "adult" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    for (rec, purpose) in [
        ("main", "developer-registration"),
        ("notices", "service-notices"),
    ] {
        let r = t.read(&child, "email", rec, purpose).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{rec}: {}", r.text());
    }
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

/// Every count a report shows is 0 or at least `k`.
#[track_caller]
fn no_group_below_k(report: &serde_json::Value, k: u64) {
    for d in report["distributions"].as_array().unwrap() {
        for n in d["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["count"])
            .chain([&d["total"]])
        {
            if let Some(n) = n.as_u64() {
                assert!(n == 0 || n >= k, "a group below k is shown: {d}");
            }
        }
    }
}

/// The count of `label` in distribution `name` (null when hidden).
fn count(report: &serde_json::Value, name: &str, label: &str) -> serde_json::Value {
    let d = report["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"));
    d["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == label)
        .map_or(serde_json::Value::Null, |c| c["count"].clone())
}

pub async fn s004_r07_data_service_deidentified_reports_k_anonymous(b: Backend) {
    let t = T::start(b, PACK).await;
    let mut ids = Vec::new();
    for i in 0..15 {
        let sub = t.adult().await;
        let status = if i < 12 { "given" } else { "withdrawn" };
        t.set(&sub, status, "developer-marketing").await;
        ids.push(sub);
    }
    // The data service keeps nothing identifiable: due at collection, swept.
    let user = t.adult().await;
    t.attest(&user, "data-service").await;
    let d = t.ask(&user, "data-service", &["device-id"]).await;
    allowed(&d);
    assert!(
        d["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["obligation"] == "deidentify_on_collection"),
        "the caller is told to de-identify: {d}"
    );
    t.store(
        &user,
        "device-id",
        "d1",
        "data-service",
        "a3f9-device",
        None,
    )
    .await;
    let dry = t.sweep(true).await;
    let due = dry["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"] == user.as_str())
        .unwrap_or_else(|| panic!("due at once: {dry}"))
        .clone();
    assert_eq!(due["purpose"], "data-service");
    // Either way the identifiable value goes (the pack says no `on_expiry`: delete).
    assert!(
        due["action"] == "delete" || due["action"] == "anonymize",
        "{due}"
    );
    assert!(ts(&due["expires"]) <= jiff::Timestamp::now());
    let swept = t.sweep(false).await;
    assert_eq!(
        swept["deleted"].as_u64().unwrap() + swept["anonymized"].as_u64().unwrap(),
        1,
        "{swept}"
    );
    assert_eq!(
        t.read(&user, "device-id", "d1", "data-service")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let auditor = t.key("auditor", None).await;
    let r = t.get_as("/v1/reports/aggregate", &auditor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let report = r.json();
    assert_eq!(report["k"], 10, "the pack's report_k");
    no_group_below_k(&report, 10);
    // 12 given and 3 withdrawn of 15: the 3 are hidden, and so are the 12, or
    // 15 − 12 would tell.
    let state = "consent_state:developer-marketing";
    assert_eq!(count(&report, state, "withdrawn"), serde_json::Value::Null);
    assert_eq!(count(&report, state, "given"), serde_json::Value::Null);
    assert_eq!(
        count(&report, "consent_given_by_purpose", "developer-marketing"),
        12
    );
    // No identifier leaves.
    let text = r.text();
    for sub in ids.iter().chain([&user]) {
        assert!(!text.contains(sub.as_str()), "a subject id in the report");
    }
    assert!(!text.contains("a3f9-device"));
    // Apps do not read reports.
    assert_eq!(
        t.get("/v1/reports/aggregate").await.status,
        StatusCode::FORBIDDEN
    );
}

pub async fn s004_r11_incident_workflow_notice_and_regulator_report(b: Backend) {
    let sink = SmtpSink::start().await;
    let t = T::start_with(b, PACK, |c| sink.configure(c)).await;
    t.run_outbox();
    let push = Receiver::start().await;
    t.notify_target(
        "app-push",
        json!({ "webhook": push.url, "events": ["incident.notice"] }),
    )
    .await;
    for i in 0..2 {
        t.subject(
            json!({ "identities": [{ "kind": "email", "value": format!("dev{i}@example.com") }],
            "age": { "band": "adult" } }),
        )
        .await;
    }
    // Bad input names the field.
    let r = t
        .send(
            Method::POST,
            "/v1/incidents",
            &t.operator,
            incident(&["no-such-category"]),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "categories[0]");

    let r = t
        .send(
            Method::POST,
            "/v1/incidents",
            &t.operator,
            incident(&["identity.email"]),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["incident_id"].as_str().unwrap().to_owned();
    let (server, incident_id) = (&t, id.clone());
    let step = move |s: &'static str| {
        let path = format!("/v1/incidents/{incident_id}/{s}");
        async move {
            server
                .send(Method::POST, &path, &server.operator, json!({}), &[])
                .await
        }
    };
    assert_eq!(
        step("notify").await.status,
        StatusCode::CONFLICT,
        "assess first"
    );
    let r = step("assess").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["affected"], 2);
    // The notice, before it goes: what happened, what it means, what to do, whom to ask.
    let zh = t
        .get_as(
            &format!("/v1/incidents/{id}/notice?lang=zh-CN"),
            &t.operator,
        )
        .await
        .json();
    let body = zh["body"].as_str().unwrap();
    for part in [
        "事件原因",
        "可能造成的危害",
        "补救措施",
        "您可以采取",
        "联系我们：400-685-2216",
        "datacommissioner@mob.com",
    ] {
        assert!(body.contains(part), "{part} missing from {body}");
    }
    let r = step("notify").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(step("notify").await.status, StatusCode::CONFLICT, "once");
    t.settle_outbox().await;
    // By email and by push, to each.
    let mail = sink.all();
    assert_eq!(mail.len(), 2);
    for i in 0..2 {
        assert!(
            mail.iter().any(
                |m| m.contains(&format!("dev{i}@example.com")) && m.contains("What you can do")
            ),
            "{mail:?}"
        );
    }
    assert_eq!(push.bodies().len(), 2);
    // The regulator's report, then closing.
    let rep = t
        .get_as(&format!("/v1/incidents/{id}/report"), &t.operator)
        .await
        .json();
    assert_eq!(rep["affected"], 2);
    assert_eq!(rep["notification"]["mode"], "individual");
    let html = t
        .get_as(
            &format!("/v1/incidents/{id}/report?format=html"),
            &t.operator,
        )
        .await;
    assert!(html.text().contains("个人信息安全事件报告"));
    let r = step("close").await;
    assert_eq!(r.json()["status"], "closed", "{}", r.text());
    let log = t.audit_actions().await;
    for a in [
        "incident.created",
        "incident.assessed",
        "incident.notified",
        "incident.closed",
    ] {
        assert!(log.iter().any(|e| e["action"] == a), "{a} not audited");
    }
    let v = t.get_as("/v1/audit/verify", &t.admin).await.json();
    assert_eq!(v["intact"], true, "{v}");
}

pub async fn s004_r12_pia_and_ropa_from_pack_and_ledgers(b: Backend) {
    let t = T::start(b, PACK).await;
    // Ten developers registered with their (sensitive) phone numbers.
    for i in 0..10 {
        let sub = t.adult().await;
        t.give(&sub, "developer-registration").await;
        t.give_scope(&sub, "developer-registration", cat("phone"))
            .await;
        t.store(
            &sub,
            "phone",
            "primary",
            "developer-registration",
            &format!("1380000{i:04}"),
            None,
        )
        .await;
    }
    let r = t
        .send(Method::POST, "/v1/reports/pia", &t.admin, json!({}), &[])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let pia = r.json();
    assert_eq!(pia["version"], 1);
    let doc = &pia["document"];
    assert_eq!(doc["content"]["pack"], "s004-mobtech");
    let sensitive = doc["content"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["case"] == "sensitive_data")
        .expect("the pack processes sensitive data");
    assert!(
        sensitive["categories"]
            .as_array()
            .unwrap()
            .contains(&json!("phone")),
        "{sensitive}"
    );
    // From the ledgers: how many people it concerns (shown at k = 10 and above).
    assert_eq!(doc["affected"]["sensitive_data"], 10, "{doc}");
    let days = secs(ts(&pia["created"]), ts(&pia["keep_until"])) / DAY;
    assert!(
        (1095..=1097).contains(&days),
        "kept 3 years, got {days} days"
    );

    let r = t
        .send(Method::POST, "/v1/reports/ropa", &t.admin, json!({}), &[])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let ropa = r.json()["document"]["content"].clone();
    let registration = ropa["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["purpose"] == "developer-registration")
        .expect("an activity per purpose")
        .clone();
    assert_eq!(registration["retention"], "until account-cancelled");
    assert!(
        ropa["protection_officer"]["en"]
            .as_str()
            .unwrap()
            .contains("Chun Ling")
    );

    // Available on request: auditors list and read them, in Chinese too.
    let auditor = t.key("auditor", None).await;
    let list = t.get_as("/v1/reports/pia", &auditor).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    let id = pia["report_id"].as_str().unwrap();
    let zh = t
        .get_as(
            &format!("/v1/reports/pia/{id}?format=html&lang=zh-CN"),
            &auditor,
        )
        .await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.text().contains("个人信息保护影响评估报告"));
}

pub async fn s004_r14_deletion_propagates_to_recipients(b: Backend) {
    let t = T::start(b, PACK).await;
    t.run_outbox();
    let affiliate = Receiver::start().await;
    let secret = t
        .notify_target(
            "zhangtao",
            json!({ "webhook": affiliate.url, "recipient": "guangzhou-zhangtao",
                "events": ["deletion.notice"] }),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let (sub, other) = (t.adult().await, t.adult().await);
    for s in [&sub, &other] {
        t.attest(s, "security-fraud").await;
        let r = t
            .disclose(json!({ "subject": s, "purpose": "security-fraud",
                "categories": ["web-log", "device-id"], "recipient": "guangzhou-zhangtao",
                "disclosure_basis": "affiliates" }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = t
        .disclose(json!({ "subject": sub, "purpose": "legal-compliance",
            "categories": ["email"], "recipient": "authorities",
            "disclosure_basis": "law-or-authority" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());

    let r = t
        .delete_by_request(&sub, json!({ "kind": "fulfilled" }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let request_id = r.json()["request_id"].as_str().unwrap().to_owned();
    t.settle_outbox().await;

    // The affiliate is told which of this person's data to delete…
    let told = affiliate.bodies();
    assert_eq!(told.len(), 1, "only about the deleted person");
    let data = &told[0]["data"];
    assert_eq!(data["subject"], sub.as_str());
    assert_eq!(data["request_id"], request_id.as_str());
    assert_eq!(data["action"], "delete");
    let mut categories: Vec<&str> = data["disclosures"][0]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    categories.sort_unstable();
    assert_eq!(categories, ["device-id", "web-log"]);
    affiliate.assert_signed(&secret);
    // …and a recipient with no route shows in the outbox as undelivered, by name.
    let out = t.outbox().await;
    let gap = out
        .iter()
        .find(|m| m["kind"] == "deletion.notice" && m["channel"] == "unrouted")
        .expect("the recipient without a target");
    assert_eq!(gap["status"], "dead");
    assert!(
        gap["last_error"].as_str().unwrap().contains("authorities"),
        "{gap}"
    );
    // Sharing stops.
    denied(
        &t.decide(json!({ "subject": sub, "purpose": "security-fraud",
            "categories": ["web-log"], "recipient": "guangzhou-zhangtao" }))
            .await,
        "account_cancelled",
    );
}

pub async fn s004_r24_retention_per_purpose_holds_cite_one_of_four(b: Backend) {
    let t = T::start(b, PACK).await;
    // Marketing email goes when consent is withdrawn; service-notice email stays
    // until the account is cancelled.
    let sub = t.adult().await;
    t.give(&sub, "developer-marketing").await;
    t.store(
        &sub,
        "email",
        "marketing",
        "developer-marketing",
        "li.na@example.com",
        None,
    )
    .await;
    t.store(
        &sub,
        "email",
        "notices",
        "service-notices",
        "li.na@example.com",
        None,
    )
    .await;
    assert_eq!(t.sweep(true).await["due_total"], 0, "nothing due yet");
    t.set(&sub, "withdrawn", "developer-marketing").await;
    let dry = t.sweep(true).await;
    let due: Vec<(&str, &str)> = dry["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["record"].as_str().unwrap(),
                r["purpose"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(due, [("marketing", "developer-marketing")], "{dry}");

    // Holds cite one of the four cases, and nothing else.
    let r = t
        .send(
            Method::POST,
            "/v1/holds",
            &t.admin,
            json!({ "subject": sub, "reason": "court-order" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "reason");
    let four = [
        "laws-and-regulations",
        "legal-procedure",
        "authority-requirement",
        "agreement-and-disputes",
    ];
    for reason in four {
        assert!(r.text().contains(reason), "lists {reason}: {}", r.text());
    }
    let mut held = Vec::new();
    for reason in four {
        let s = t.adult().await;
        t.give(&s, "developer-marketing").await;
        t.store(
            &s,
            "email",
            "marketing",
            "developer-marketing",
            "kept@example.com",
            None,
        )
        .await;
        t.set(&s, "withdrawn", "developer-marketing").await;
        let h = t.hold(json!({ "subject": s, "reason": reason })).await;
        assert!(h["reason_text"].is_string(), "{h}");
        held.push((s, reason));
    }
    let done = t.sweep(false).await;
    assert_eq!(done["deleted"], 1, "only the unheld record: {done}");
    let mut cited: Vec<&str> = done["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert_eq!(h["records"], 1);
            h["reason"].as_str().unwrap()
        })
        .collect();
    cited.sort_unstable();
    let mut want = four.to_vec();
    want.sort_unstable();
    assert_eq!(cited, want);
    // Whether the record is still there, read for legal compliance (email is one of
    // its categories; the marketing purpose itself is withdrawn).
    let present = |s: &str| {
        let s = s.to_owned();
        let t = &t;
        async move {
            t.read(&s, "email", "marketing", "legal-compliance")
                .await
                .status
        }
    };
    assert_eq!(present(&sub).await, StatusCode::NOT_FOUND);
    assert_eq!(
        t.read(&sub, "email", "notices", "service-notices")
            .await
            .status,
        StatusCode::OK
    );
    for (s, reason) in &held {
        assert_eq!(present(s).await, StatusCode::OK, "held for {reason}");
    }
}

pub async fn s004_r17_copy_exported_and_pushed_to_a_designated_third_party(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.store(
        &sub,
        "email",
        "primary",
        "service-notices",
        "dev.copy@example.com",
        None,
    )
    .await;
    let (third, secret, done) = t.copy_to_third_party(&sub).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["asks"]["third_party"], "portability");
    assert_eq!(done["result"]["transferred_to"], "portability", "{done}");
    third.assert_signed(&secret);
    let calls = third.calls();
    assert_eq!(calls.len(), 1, "one transfer");
    let files = unzip(&calls[0].1);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for name in [
        "data.json",
        "categories/email.csv",
        "index.html",
        "manifest.json",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let data = &files.iter().find(|(n, _)| n == "data.json").unwrap().1;
    assert!(
        String::from_utf8_lossy(data).contains("dev.copy@example.com"),
        "the copy holds the person's data"
    );
    assert_eq!(
        calls[0].0["troth-message-id"],
        format!("copy:{}", done["request_id"].as_str().unwrap())
    );
    // Recorded without the data: the audit names the target and the bundle's checksum.
    let actions = t.audit_actions().await;
    let executed = actions
        .iter()
        .find(|a| a["action"] == "request.executed")
        .expect("the transfer is audited");
    assert_eq!(detail(executed)["transferred_to"], "portability");
    assert!(!executed.to_string().contains("dev.copy@example.com"));
}

pub async fn s004_r20_end_user_routed_by_developer_or_verified_directly(b: Backend) {
    let sink = SmtpSink::start().await;
    let t = T::start_with(b, PACK, |c| sink.configure(c)).await;
    // The app provider is a developer tenant of the same deployment.
    let dev = uuid::Uuid::new_v4().to_string();
    troth_server::bootstrap::create_tenant(
        &t.state,
        &troth_store::TenantId::new(dev.clone()),
        "App Co",
    )
    .await
    .unwrap();
    let sub = t
        .subject(json!({ "age": { "band": "adult" },
            "identities": [{ "kind": "email", "value": "end.user@example.com" }] }))
        .await;

    // Through the app provider: the request arrives routed by the developer, and
    // MobTech verifies the person with the app provider before acting.
    let routed = t
        .request(json!({ "subject": sub, "kind": "access", "channel": "api", "developer": dev }))
        .await;
    assert_eq!(
        routed["submitter"],
        json!({ "kind": "developer_tenant", "tenant": dev })
    );
    assert_eq!(routed["status"], "received");
    assert!(routed["due"].is_null(), "no clock before verification");
    let id = routed["request_id"].as_str().unwrap().to_owned();
    for cmd in ["start_verification", "verified"] {
        let r = t.transition(&id, json!({ "command": cmd })).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let v = t.rights_request(&id).await;
    assert_eq!(v["status"], "in_progress");
    assert!(v["due"].is_string(), "the clock runs from verification");
    // Only developers served here can route requests.
    let r = t
        .send(
            Method::POST,
            "/v1/requests",
            &t.app,
            json!({ "subject": sub, "kind": "access",
                    "developer": uuid::Uuid::new_v4().to_string() }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "developer");

    // Directly: the end user proves who they are with a code sent to their email.
    let own = t.key("subject", Some(&sub)).await;
    let r = t
        .send(
            Method::POST,
            "/v1/requests",
            &own,
            json!({ "subject": sub, "kind": "access", "developer": dev }),
            &[],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a person is not a developer: {}",
        r.text()
    );
    let direct = t
        .request_as(&own, json!({ "subject": sub, "kind": "access" }))
        .await;
    assert_eq!(direct["submitter"], json!({ "kind": "subject" }));
    let id = direct["request_id"].as_str().unwrap().to_owned();
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
    assert_eq!(r.json()["status"], "in_progress");
}

pub async fn s004_r01_developer_registration_keeps_the_phone_in_the_vault(b: Backend) {
    let t = T::start(b, PACK).await;
    // A developer registering on the platform is a person MobTech serves: its account
    // is a subject found by the phone number's blind index, whatever its spelling.
    let dev = t
        .subject(json!({ "age": { "band": "adult" },
            "identities": [{ "kind": "phone", "value": "+86 139 1234 5678" }] }))
        .await;
    let found = t
        .post(
            "/v1/subjects/lookup",
            json!({ "kind": "phone", "value": "13912345678", "region": "CN" }),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    assert_eq!(found.json()["subject_id"], dev.as_str());
    // The number is sensitive here: stored only once the developer agreed to
    // registration and to the phone number's separate consent.
    let put = |purpose: &'static str| {
        let t = &t;
        let dev = dev.clone();
        async move {
            t.send(
                Method::PUT,
                &format!("/v1/subjects/{dev}/vault/phone/account"),
                &t.app,
                json!({ "value": "+86 139 1234 5678", "purpose": purpose }),
                &[],
            )
            .await
        }
    };
    let r = put("developer-registration").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    t.give(&dev, "developer-registration").await;
    t.give_scope(&dev, "developer-registration", cat("phone"))
        .await;
    let r = put("developer-registration").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    // Not for another purpose than the one it was collected for.
    let r = put("developer-marketing").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = t
        .read(&dev, "phone", "account", "developer-registration")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["value"], "+86 139 1234 5678");
    // Encrypted at rest: neither spelling of the number is in the database.
    let raw = t.raw_database().await;
    for needle in ["+86 139 1234 5678", "13912345678", "+8613912345678"] {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} in clear"
        );
    }
}

pub async fn s004_r25_significant_change_prominent_notice_and_email(b: Backend) {
    let sink = SmtpSink::start().await;
    let t = T::start_with(b, PACK, |c| sink.configure(c)).await;
    t.run_outbox();
    let home = Receiver::start().await;
    t.notify_target(
        "official-website",
        json!({ "webhook": home.url, "events": ["policy.announcement"] }),
    )
    .await;
    let sub = t
        .subject(json!({ "age": { "band": "adult" },
            "identities": [{ "kind": "email", "value": "dev@example.com" }] }))
        .await;

    let r = t.publish(&pack("s004-mobtech/v2")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_eq!(v["significant"], true, "{v}");
    assert_eq!(v["notices"]["by_email"], 1, "{v}");
    assert_eq!(v["notices"]["announcement"], true, "{v}");
    let diff = t.get("/v1/policies/2020-06-01/diff").await.json();
    let criteria = diff["criteria"].clone();
    assert!(!criteria.as_array().unwrap().is_empty(), "{diff}");

    // The prominent notice on the website and the email both carry the criteria the
    // classifier flagged and a link to the diff.
    t.settle_outbox().await;
    let shown = home.bodies();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["kind"], "policy.announcement");
    assert_eq!(shown[0]["data"]["significant"], true);
    assert_eq!(shown[0]["data"]["criteria"], criteria);
    assert!(
        shown[0]["data"]["diff_url"]
            .as_str()
            .unwrap()
            .contains(v["content_hash"].as_str().unwrap())
    );
    let notices = of_kind(&t.outbox().await, "policy.notice");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["target"], sub.as_str());
    assert_eq!(notices[0]["status"], "delivered", "{notices:?}");
    let mails = sink.all();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("dev@example.com"));
    assert!(mails[0].contains("significant change"), "{}", mails[0]);

    // An editorial change already in effect is not announced.
    let v3 = next_version(&pack("s004-mobtech/v2"), "2020-07-01", |s| {
        s.replacen(
            "title = { en = \"MobTech Privacy Policy\"",
            "title = { en = \"MobTech Privacy Notice\"",
            1,
        )
    });
    let r = t.publish(&v3).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["significant"], false, "{}", r.text());
    assert!(r.json().get("notices").is_none(), "{}", r.text());
    assert_eq!(of_kind(&t.outbox().await, "policy.notice").len(), 1);
}

/// A resident ID number: `body` (17 digits) and its ISO 7064 MOD 11-2 check
/// character, computed here independently of the server.
fn resident_id(body: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!(
        "{body}{}",
        "10X98765432".as_bytes()[(sum % 11) as usize] as char
    )
}

/// A unified social credit code: `body` (17 characters) and its mod-31 check
/// character (GB 32100), computed here independently of the server.
fn credit_code(body: &str) -> String {
    const A: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: usize = body
        .chars()
        .zip(W)
        .map(|(c, w)| A.find(c).unwrap() * w)
        .sum();
    format!("{body}{}", A.as_bytes()[(31 - sum % 31) % 31] as char)
}

/// The same number with its check character changed: a typing mistake.
fn mistyped(number: &str) -> String {
    let (body, check) = number.split_at(17);
    let other = if check == "1" { "2" } else { "1" };
    format!("{body}{other}")
}

pub async fn s004_r02_developer_certification_checked_then_manual_review(b: Backend) {
    let t = T::start(b, PACK).await;
    let id_number = resident_id("11010819850612041");
    let licence = credit_code("91310114MA1GT3LX0");
    let check = Receiver::start().await;
    let secret = t
        .notify_target(
            "id-check",
            json!({ "webhook": check.url, "recipient": "identity-verification-service",
                    "events": ["certification.check"] }),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let cert = |sub: &str| format!("/v1/subjects/{sub}/certification");
    let person = |number: &str| {
        json!({ "kind": "person", "purpose": "developer-certification",
                "legal_name": "Wang Fang", "id_number": number })
    };
    let company = |code: &str| {
        json!({ "kind": "company", "purpose": "developer-certification",
                "company_name": "Shanghai Example Technology Co., Ltd.", "credit_code": code })
    };

    // A natural person: the ID number is sensitive, so it needs its own consent.
    let dev = t.adult().await;
    t.give(&dev, "developer-certification").await;
    let r = t.post(&cert(&dev), person(&id_number)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(
        r.text().contains("sensitive_consent_missing"),
        "{}",
        r.text()
    );
    t.give_scope(&dev, "developer-certification", cat("id-number"))
        .await;
    // A mistyped number is refused naming the field, without repeating it, and
    // nothing is stored or sent.
    let bad = mistyped(&id_number);
    let r = t.post(&cert(&dev), person(&bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "id_number");
    assert!(r.text().contains("check character"), "{}", r.text());
    assert!(!r.text().contains(&bad));
    assert_eq!(t.get(&cert(&dev)).await.status, StatusCode::NOT_FOUND);
    assert!(check.calls().is_empty());

    // The third-party check passes: certified.
    check.answer_with(json!({ "result": "pass" }));
    let r = t.post(&cert(&dev), person(&id_number)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_eq!(v["state"], "certified", "{v}");
    assert_eq!(v["certified_by"], "check");
    assert_eq!(v["decided_by"], "check:id-check");
    assert!(!r.text().contains(&id_number), "no ID number in the answer");
    let cid = v["certification_id"].as_str().unwrap().to_owned();
    // The checking service got the values, signed, and the disclosure is recorded.
    check.assert_signed(&secret);
    let calls = check.bodies();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["kind"], "certification.check");
    assert_eq!(calls[0]["data"]["id_number"], id_number.as_str());
    assert_eq!(calls[0]["data"]["legal_name"], "Wang Fang");
    let shared = t.disclosures(&dev).await;
    assert_eq!(shared.len(), 1, "{shared:?}");
    assert_eq!(shared[0]["recipient"], "identity-verification-service");
    assert_eq!(shared[0]["purpose"], "developer-certification");
    // Only one certification at a time.
    let r = t.post(&cert(&dev), person(&id_number)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let got = t.get(&cert(&dev)).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    assert_eq!(got.json()["state"], "certified");
    assert!(!got.text().contains(&id_number));

    // The values are in the vault, read back only for the purpose.
    let r = t
        .read(&dev, "id-number", &cid, "developer-certification")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["value"], id_number.as_str());
    let r = t.read(&dev, "id-number", &cid, "developer-marketing").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = t
        .get(&format!("/v1/subjects/{dev}/vault/id-number/{cid}"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());

    // A company: a mistyped credit code is refused naming the field.
    let co = t.adult().await;
    t.give(&co, "developer-certification").await;
    let r = t.post(&cert(&co), company(&mistyped(&licence))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "credit_code");
    // The check fails: manual review, where an operator needs a copy to decide.
    check.answer_with(json!({ "result": "fail" }));
    let r = t.post(&cert(&co), company(&licence)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["state"], "manual_review", "{}", r.text());
    assert_eq!(r.json()["reason"], "check_failed");
    let operator = t.key("operator", None).await;
    let review = |body: serde_json::Value| {
        let t = &t;
        let path = format!("{}/review", cert(&co));
        let operator = operator.clone();
        async move { t.send(Method::POST, &path, &operator, body, &[]).await }
    };
    let r = review(json!({ "decision": "approve" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "no copy yet: {}", r.text());
    // The application cannot decide for the operator.
    let r = t
        .post(
            &format!("{}/review", cert(&co)),
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let scan = "scan of the business licence";
    let r = t
        .post(
            &format!("{}/copy", cert(&co)),
            json!({ "purpose": "developer-certification",
                    "content_base64": base64_encode(scan.as_bytes()) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["copy_received"], true);
    let r = review(json!({ "decision": "approve" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["state"], "certified", "{v}");
    assert_eq!(v["certified_by"], "operator");
    assert!(v["decided_by"].as_str().unwrap().starts_with("key:"));
    let co_cid = v["certification_id"].as_str().unwrap().to_owned();
    let r = t
        .read(
            &co,
            "business-licence-copy",
            &co_cid,
            "developer-certification",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["value"], scan);

    // A rejection names a code, not free text; a rejected developer submits again.
    let again = t.adult().await;
    t.give(&again, "developer-certification").await;
    t.give_scope(&again, "developer-certification", cat("id-number"))
        .await;
    let other_id = resident_id("44030519921130002");
    let r = t.post(&cert(&again), person(&other_id)).await;
    assert_eq!(r.json()["state"], "manual_review", "{}", r.text());
    let again_cid = r.json()["certification_id"].as_str().unwrap().to_owned();
    // A copy of an ID card is sensitive too: it needs its own consent.
    let copy_path = format!("{}/copy", cert(&again));
    let card = json!({ "purpose": "developer-certification",
                       "content_base64": base64_encode(b"photo of an ID card") });
    let upload = || t.post(&copy_path, card.clone());
    let r = upload().await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(
        r.text().contains("sensitive_consent_missing"),
        "{}",
        r.text()
    );
    t.give_scope(&again, "developer-certification", cat("id-card-copy"))
        .await;
    assert_eq!(upload().await.status, StatusCode::OK);
    let path = format!("{}/review", cert(&again));
    let r = t
        .send(
            Method::POST,
            &path,
            &operator,
            json!({ "decision": "reject", "reason": "Wang Fang looks different" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "reason");
    let r = t
        .send(
            Method::POST,
            &path,
            &operator,
            json!({ "decision": "reject", "reason": "document_mismatch" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "rejected");
    let held = t
        .read(
            &again,
            "id-card-copy",
            &again_cid,
            "developer-certification",
        )
        .await;
    assert_eq!(
        held.status,
        StatusCode::OK,
        "the copy is held until a resubmission"
    );
    check.answer_with(json!({ "result": "pass" }));
    let r = t.post(&cert(&again), person(&other_id)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["state"], "certified", "{}", r.text());
    assert_eq!(r.json()["certification_id"], again_cid.as_str());
    // The rejected submission's copy went with it.
    let r = t
        .read(
            &again,
            "id-card-copy",
            &again_cid,
            "developer-certification",
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());

    // An answer that is neither pass nor fail, or no checking service at all, leaves
    // the decision to a person too.
    let newcomer = || async {
        let sub = t.adult().await;
        t.give(&sub, "developer-certification").await;
        t.give_scope(&sub, "developer-certification", cat("id-number"))
            .await;
        sub
    };
    check.answer_with(json!({ "verdict": "looks fine" }));
    let sub = newcomer().await;
    let r = t
        .post(&cert(&sub), person(&resident_id("32010619780101003")))
        .await;
    assert_eq!(r.json()["state"], "manual_review", "{}", r.text());
    assert_eq!(r.json()["reason"], "check_unavailable");
    let r = t
        .send(
            Method::DELETE,
            "/v1/notify-targets/id-check",
            &t.admin,
            json!(null),
            &[],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let sent = check.calls().len();
    let sub = newcomer().await;
    let r = t
        .post(&cert(&sub), person(&resident_id("51010719660915004")))
        .await;
    assert_eq!(r.json()["state"], "manual_review", "{}", r.text());
    assert_eq!(r.json()["reason"], "no_check_target");
    assert_eq!(check.calls().len(), sent, "nothing sent");

    // A check cut short by a restart (still `checking` long after any answer could
    // come) is finished by a person: the copy moves it to manual review first.
    let stuck = t.adult().await;
    t.give(&stuck, "developer-certification").await;
    let tenant = t.get("/v1/tenant").await.json()["tenant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let long_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10);
    let interrupted = troth_store::CertificationRecord {
        tenant: troth_store::TenantId::new(tenant),
        subject: troth_store::SubjectId::new(stuck.clone()),
        certification_id: "interrupted".into(),
        purpose: "developer-certification".into(),
        workflow: troth_core::Certification {
            state: troth_core::CertificationState::Checking,
            ..troth_core::Certification::submitted(troth_core::CertificationKind::Company)
        },
        decided_by: None,
        submitted: long_ago,
        updated: long_ago,
    };
    let saved = troth_store::CertificationStore::save_certification(
        &t.state.store,
        troth_store::CertificationChange {
            record: &interrupted,
            expected: None,
            values: &[],
            remove: &[],
            access: &troth_store::Access::new("test", "developer-certification"),
            action: "certification.checking",
        },
    )
    .await
    .unwrap();
    assert!(saved);
    assert_eq!(t.get(&cert(&stuck)).await.json()["state"], "checking");
    let r = t
        .post(
            &format!("{}/copy", cert(&stuck)),
            json!({ "purpose": "developer-certification",
                    "content_base64": base64_encode(b"licence") }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "manual_review");
    assert_eq!(r.json()["reason"], "check_interrupted");
    assert_eq!(r.json()["copy_received"], true);

    // Every step is audited by ids and codes; no number is in the log or in clear
    // in the database.
    let log = t.audit_actions().await;
    let steps: Vec<&str> = log
        .iter()
        .filter(|e| e["target"] == format!("subject:{co}"))
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("certification."))
        .collect();
    assert_eq!(
        steps,
        [
            "certification.submitted",
            "certification.checking",
            "certification.manual_review",
            "certification.copy_received",
            "certification.certified"
        ]
    );
    let text = serde_json::to_string(&log).unwrap();
    for secret_value in [&id_number, &licence, &other_id] {
        assert!(
            !text.contains(secret_value.as_str()),
            "a number in the audit log"
        );
    }
    assert!(!text.contains("Wang Fang"));
    let raw = t.raw_database().await;
    for needle in [&id_number, &licence] {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "a number in clear in the database"
        );
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
