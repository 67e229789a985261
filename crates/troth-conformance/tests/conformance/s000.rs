//! S000 — UCOMMUNE (`packs/s000-ucommune`).

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

const PACK: &str = "s000-ucommune";

pub async fn s000_r01_registration_fields_viewed_and_corrected_audited(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "registration").await;
    let path = format!("/v1/subjects/{sub}/vault/phone/primary");
    for value in ["13800000001", "13900000002"] {
        let r = t
            .send(
                Method::PUT,
                &path,
                &t.app,
                json!({ "value": value, "purpose": "registration" }),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    }
    // The person, with a key for their own subject only, sees the corrected value.
    let own = t.key("subject", Some(&sub)).await;
    let r = t
        .get_as(&format!("{path}?purpose=registration"), &own)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["value"], "13900000002");
    // Both writes (the value and its correction) are in the audit log.
    let writes = t
        .audit_actions()
        .await
        .into_iter()
        .filter(|e| e["action"] == "vault.write")
        .count();
    assert_eq!(writes, 2);
}

pub async fn s000_r02_log_categories_only_for_logging(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let logs = [
        "ip-address",
        "visited-url",
        "browser-type",
        "language",
        "access-time",
        "service-usage",
    ];
    allowed(&t.ask(&sub, "service-logging", &logs).await);
    denied(
        &t.ask(&sub, "service-logging", &["ip-address", "location"])
            .await,
        "category_not_declared_for_purpose",
    );
    denied(
        &t.ask(&sub, "service-logging", &["shoe-size"]).await,
        "undeclared_category",
    );
}

pub async fn s000_r03_device_identifiers_only_for_declared_purposes(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    denied(
        &t.ask(&sub, "device-optimisation", &["imei", "mac"]).await,
        "consent_missing",
    );
    t.give(&sub, "device-optimisation").await;
    allowed(
        &t.ask(
            &sub,
            "device-optimisation",
            &["hardware-model", "imei", "mac"],
        )
        .await,
    );
    denied(
        &t.ask(&sub, "software-updates", &["imei"]).await,
        "category_not_declared_for_purpose",
    );
    denied(
        &t.ask(&sub, "site-cookies", &["mac"]).await,
        "category_not_declared_for_purpose",
    );
}

pub async fn s000_r04_location_only_for_location_purpose(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "location-services").await;
    t.give(&sub, "personalisation").await;
    t.give_scope(&sub, "location-services", cat("location"))
        .await;
    allowed(&t.ask(&sub, "location-services", &["location"]).await);
    denied(
        &t.ask(&sub, "personalisation", &["location"]).await,
        "category_not_declared_for_purpose",
    );
    denied(
        &t.ask(&sub, "service-logging", &["location"]).await,
        "category_not_declared_for_purpose",
    );
}

pub async fn s000_r05_refused_cookies_denied_only_where_needed(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.consent(json!({ "subject": sub, "purpose": "partner-cookies", "status": "refused", "method": "banner" }))
        .await;
    denied(
        &t.ask(&sub, "partner-cookies", &["cookie-id"]).await,
        "consent_refused",
    );
    // The site's own cookies, a basic function, keep working.
    allowed(&t.ask(&sub, "site-cookies", &["cookie-id"]).await);
}

pub async fn s000_r06_pi_encrypted_no_plaintext_in_database(b: Backend) {
    let t = T::start(b, PACK).await;
    let email = "zhang.wei.r06@example.com";
    let phone = "13712345606";
    let sub = t
        .subject(json!({ "identities": [{ "kind": "email", "value": email }], "age": { "band": "adult" } }))
        .await;
    t.give(&sub, "registration").await;
    let r = t
        .send(
            Method::PUT,
            &format!("/v1/subjects/{sub}/vault/phone/primary"),
            &t.app,
            json!({ "value": phone, "purpose": "registration" }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    // Readable through the API, so it is stored somewhere…
    let r = t
        .get(&format!(
            "/v1/subjects/{sub}/vault/phone/primary?purpose=registration"
        ))
        .await;
    assert_eq!(r.json()["value"], phone);
    // …but never in plain text in the database.
    let raw = t.raw_database().await;
    assert!(!raw.is_empty());
    for needle in [email, phone, "zhang.wei.r06"] {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "`{needle}` found in plain text in the database"
        );
    }
}

pub async fn s000_r07_personalisation_consent_gated_withdrawal_stops_it(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let cats = ["service-usage", "visited-url", "language", "cookie-id"];
    denied(
        &t.ask(&sub, "personalisation", &cats).await,
        "consent_missing",
    );
    t.give(&sub, "personalisation").await;
    allowed(&t.ask(&sub, "personalisation", &cats).await);
    t.set(&sub, "withdrawn", "personalisation").await;
    denied(
        &t.ask(&sub, "personalisation", &cats).await,
        "consent_withdrawn",
    );
}

pub async fn s000_r08_undeclared_recipient_denied_affiliate_logged(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "registration").await;
    let to_affiliate = json!({ "subject": sub, "purpose": "registration",
        "categories": ["account-name", "phone"], "recipient": "affiliates" });
    let d = t.decide(to_affiliate.clone()).await;
    allowed(&d);
    assert!(must_record(&d, "sharing"), "affiliate sharing is logged");
    let r = t.disclose(to_affiliate).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let broker = json!({ "subject": sub, "purpose": "registration",
        "categories": ["account-name"], "recipient": "data-broker" });
    denied(&t.decide(broker.clone()).await, "undeclared_recipient");
    let r = t.disclose(broker).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let ledger = t.disclosures(&sub).await;
    assert_eq!(ledger.len(), 1, "only the allowed disclosure is recorded");
    assert_eq!(ledger[0]["recipient"], "affiliates");
}

pub async fn s000_r09_partners_get_only_declared_categories_and_purposes(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    for p in ["partner-services", "product-improvement", "registration"] {
        t.give(&sub, p).await;
    }
    t.give_scope(&sub, "partner-services", rec("partners"))
        .await;
    allowed(
        &t.decide(json!({ "subject": sub, "purpose": "partner-services",
            "categories": ["account-name", "phone"], "recipient": "partners" }))
            .await,
    );
    denied(
        &t.decide(json!({ "subject": sub, "purpose": "product-improvement",
            "categories": ["service-usage"], "recipient": "partners" }))
            .await,
        "recipient_purpose_not_declared",
    );
    denied(
        &t.decide(json!({ "subject": sub, "purpose": "registration",
            "categories": ["password"], "recipient": "affiliates" }))
            .await,
        "category_not_declared_for_recipient",
    );
}

pub async fn s000_r13_under_18_needs_guardian_consent(b: Backend) {
    let t = T::start(b, PACK).await;
    let guardian = t.adult().await;
    let this_year = crate::support::today().year();
    let birth = format!("{}-03-01", this_year - 15);
    let sub = t
        .subject(json!({ "age": { "birth_date": birth }, "guardian": guardian }))
        .await;
    t.give(&sub, "personalisation").await;
    let cats = ["service-usage", "language"];
    denied(
        &t.ask(&sub, "personalisation", &cats).await,
        "guardian_consent_required",
    );
    // Contract-based processing is not consent-based: unaffected.
    allowed(&t.ask(&sub, "service-logging", &["ip-address"]).await);
    t.consent(json!({ "subject": sub, "purpose": "personalisation", "status": "given",
        "method": "guardian",
        "actor": { "kind": "guardian", "guardian": guardian, "evidence": "recorded", "evidence_hash": null } }))
        .await;
    allowed(&t.ask(&sub, "personalisation", &cats).await);
}

pub async fn s000_r14_new_version_published_with_changes_highlighted(b: Backend) {
    let t = T::start(b, PACK).await;
    let v2 = next_version(&pack(PACK), "2.0", |s| {
        s.replacen(
            "notice_channels = [\"home_page\"]",
            "notice_channels = [\"home_page\", \"email\"]",
            1,
        )
    });
    let r = t.publish(&v2).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // Published and in force (its date has come), listed after 1.0.
    let r = t.get("/v1/policies").await;
    let labels: Vec<_> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["label"].clone())
        .collect();
    assert_eq!(labels, [json!("1.0"), json!("2.0")]);
    // The change is highlighted: the diff from 1.0 names it.
    let r = t.get("/v1/policies/2.0/diff").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let diff = r.json();
    assert!(
        diff.to_string().contains("notice_channels"),
        "the diff lists the changed field: {diff}"
    );
}

pub async fn s000_r11_every_disclosure_records_one_of_the_bases(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let to_authorities = json!({ "subject": sub, "purpose": "legal-compliance",
        "categories": ["account-name", "phone"], "recipient": "authorities" });
    allowed(&t.decide(to_authorities.clone()).await);
    // A disclosure resting on something other than consent must name its case.
    let r = t.disclose(to_authorities.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "disclosure_basis", "{}", r.text());
    // A case the policy does not list is rejected, naming the field.
    let mut unknown = to_authorities.clone();
    unknown["disclosure_basis"] = json!("because-we-can");
    let r = t.disclose(unknown).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "disclosure_basis", "{}", r.text());
    assert!(t.disclosures(&sub).await.is_empty(), "nothing was recorded");
    // One of the six listed cases: recorded with it.
    let mut listed = to_authorities;
    listed["disclosure_basis"] = json!("law-or-authority");
    let r = t.disclose(listed).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["disclosure_basis"], "law-or-authority");
    // Sharing on consent is itself the "prior authorisation" case; a basis may be named.
    t.give(&sub, "registration").await;
    let mut to_affiliate = json!({ "subject": sub, "purpose": "registration",
        "categories": ["account-name"], "recipient": "affiliates" });
    let r = t.disclose(to_affiliate.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    to_affiliate["disclosure_basis"] = json!("prior-authorisation");
    let r = t.disclose(to_affiliate).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let ledger = t.disclosures(&sub).await;
    assert_eq!(ledger.len(), 3);
    assert_eq!(ledger[0]["basis"], "legal_obligation");
    assert_eq!(ledger[0]["disclosure_basis"], "law-or-authority");
    assert_eq!(ledger[1]["basis"], "consent");
    assert_eq!(ledger[1]["disclosure_basis"], serde_json::Value::Null);
    assert_eq!(ledger[2]["disclosure_basis"], "prior-authorisation");
}

pub async fn s000_r12_wrong_role_denied_and_audited(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "registration").await;
    let path = format!("/v1/subjects/{sub}/vault/phone/primary?purpose=registration");
    // No key: 401.
    let r = t
        .call(Method::GET, &path, None, axum::body::Body::empty(), &[])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    // An auditor may read the audit log but not personal information: 403, audited.
    let auditor = t.key("auditor", None).await;
    let r = t.get_as(&path, &auditor).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let log = t.audit_actions().await;
    let denied: Vec<_> = log
        .iter()
        .filter(|e| e["action"] == "access.denied")
        .collect();
    assert_eq!(denied.len(), 1, "{log:?}");
    let e = denied[0];
    assert!(e["actor"].as_str().unwrap().starts_with("key:"), "{e}");
    assert_eq!(
        e["target"], "/v1/subjects/{subject}/vault/{category}/{record}",
        "the route template, never the URL"
    );
    assert!(e["detail"].as_str().unwrap().contains("vault_read"), "{e}");
    let text = e.to_string();
    assert!(
        !text.contains(&sub),
        "no subject id in the denial entry: {e}"
    );
    assert!(!text.contains("registration"), "no query value in it: {e}");
    // The chain still verifies with the denial in it.
    let v = t.get_as("/v1/audit/verify", &auditor).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text());
    assert_eq!(v.json()["intact"], true, "{}", v.text());
}

pub async fn s000_r10_public_statistics_only_counts_at_or_above_k(b: Backend) {
    let t = T::start(b, PACK).await;
    // Eleven people use personalisation, two device optimisation.
    let mut ids = Vec::new();
    for i in 0..13 {
        let email = format!("stats.person{i}@example.com");
        let sub = t
            .subject(json!({ "identities": [{ "kind": "email", "value": email }],
                "age": { "band": "adult" } }))
            .await;
        let purpose = if i < 11 {
            "personalisation"
        } else {
            "device-optimisation"
        };
        t.give(&sub, purpose).await;
        ids.push((sub, email));
    }
    let auditor = t.key("auditor", None).await;
    let r = t.get_as("/v1/reports/aggregate", &auditor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let report = r.json();
    assert_eq!(report["k"], 10, "the pack's report_k");
    // Every count shown is 0 or at least k; smaller groups are hidden (null).
    for d in report["distributions"].as_array().unwrap() {
        for n in d["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["count"])
            .chain([&d["total"]])
        {
            if let Some(n) = n.as_u64() {
                assert!(n == 0 || n >= 10, "a group below k is shown: {d}");
            }
        }
    }
    let dist = |name: &str| {
        report["distributions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {report}"))
            .clone()
    };
    let cell = |d: &serde_json::Value, label: &str| {
        d["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["label"] == label)
            .unwrap()["count"]
            .clone()
    };
    let given = dist("consent_given_by_purpose");
    assert_eq!(cell(&given, "personalisation"), 11, "{given}");
    assert_eq!(
        cell(&given, "device-optimisation"),
        serde_json::Value::Null,
        "two people are below k: {given}"
    );
    // No identifier leaves: neither subject ids nor contact details, in JSON or CSV.
    let csv = t.get_as("/v1/reports/aggregate?format=csv", &auditor).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
    assert!(
        csv.text()
            .contains("consent_given_by_purpose,personalisation,11"),
        "{}",
        csv.text()
    );
    for text in [r.text(), csv.text()] {
        for (sub, email) in &ids {
            assert!(!text.contains(sub.as_str()), "a subject id in the report");
            assert!(!text.contains(email.as_str()), "an email in the report");
        }
    }
}
