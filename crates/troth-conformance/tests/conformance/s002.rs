//! S002 — user privacy policy template (`packs/s002-template`).

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

const PACK: &str = "s002-template";

const REQUIRED: [&str; 4] = ["name", "email", "username", "password"];

/// A registered adult: the registration consent, with the password's separate one.
async fn registered(t: &T) -> String {
    let sub = t.adult().await;
    t.give(&sub, "registration").await;
    t.give_scope(&sub, "registration", cat("password")).await;
    sub
}

pub async fn s002_r01_optional_fields_never_block_registration(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = registered(&t).await;
    allowed(&t.ask(&sub, "registration", &REQUIRED).await);
    allowed(
        &t.ask(
            &sub,
            "registration",
            &[
                "name",
                "email",
                "username",
                "password",
                "phone",
                "job-title",
            ],
        )
        .await,
    );
    for p in [
        "photo-access",
        "analytics",
        "email-tracking",
        "marketing",
        "public-disclosure",
    ] {
        t.set(&sub, "refused", p).await;
    }
    allowed(&t.ask(&sub, "registration", &REQUIRED).await);
}

/// Cancels `sub`'s account over HTTP and checks everything stops.
async fn cancel_and_check(t: &T, sub: &str) {
    let path = format!("/v1/subjects/{sub}/vault/email/primary");
    let r = t
        .send(
            Method::PUT,
            &path,
            &t.app,
            json!({ "value": "cancel.me@example.com", "purpose": "registration" }),
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
    assert_ne!(
        t.get(&format!("{path}?purpose=registration")).await.status,
        StatusCode::OK,
        "the registration data is gone"
    );
    denied(
        &t.ask(sub, "registration", &REQUIRED).await,
        "account_cancelled",
    );
    denied(
        &t.ask(sub, "site-operation", &["cookie-id"]).await,
        "account_cancelled",
    );
    denied(
        &t.ask(sub, "legal-compliance", &["email"]).await,
        "account_cancelled",
    );
}

pub async fn s002_r02_cancelled_account_shredded_and_all_decisions_stop(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = registered(&t).await;
    allowed(&t.ask(&sub, "registration", &REQUIRED).await);
    cancel_and_check(&t, &sub).await;
}

pub async fn s002_r18_cancel_account(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = registered(&t).await;
    cancel_and_check(&t, &sub).await;
}

pub async fn s002_r03_cross_border_only_with_separate_authorisation(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "cross-border-service").await;
    let sg = json!({ "subject": sub, "purpose": "cross-border-service",
        "categories": ["name", "email"], "recipient": "overseas-service-node" });
    denied(&t.decide(sg.clone()).await, "cross_border_consent_missing");
    assert_eq!(
        t.disclose(sg.clone()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(
        t.disclosures(&sub).await.is_empty(),
        "a refused transfer is not logged"
    );
    t.give_scope(&sub, "cross-border-service", dest("SG")).await;
    t.give_scope(&sub, "cross-border-service", rec("overseas-service-node"))
        .await;
    let d = t.decide(sg.clone()).await;
    allowed(&d);
    assert!(must_record(&d, "transfer"));
    let mut logged = sg;
    logged["destination"] = json!("SG");
    assert_eq!(t.disclose(logged).await.status, StatusCode::CREATED);
    assert_eq!(t.disclosures(&sub).await.len(), 1, "the transfer is logged");
    // Residency is CN: anywhere without a declared transfer is denied.
    denied(
        &t.decide(json!({ "subject": sub, "purpose": "cross-border-service",
            "categories": ["email"], "destination": "US" }))
            .await,
        "transfer_not_declared",
    );
}

pub async fn s002_r04_photo_access_needs_its_own_consent(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = registered(&t).await;
    denied(
        &t.ask(&sub, "photo-access", &["photos"]).await,
        "consent_missing",
    );
    t.give(&sub, "photo-access").await;
    allowed(&t.ask(&sub, "photo-access", &["photos"]).await);
}

pub async fn s002_r05_analytics_allows_exactly_the_sdk_categories(b: Backend) {
    let t = T::start(b, PACK).await;
    // The SDK list as published: read back from the API.
    let src = t.get("/v1/policies/current").await.json()["source_toml"]
        .as_str()
        .unwrap()
        .to_owned();
    let policy = troth_policy::parse_policy("policy.toml", &src).unwrap();
    let sdk = policy
        .sdks
        .iter()
        .find(|s| s.id.as_str() == "statistics-sdk")
        .unwrap();
    let cats: Vec<&str> = sdk.categories.iter().map(|c| c.as_str()).collect();
    assert!(!cats.is_empty());
    let sub = t.adult().await;
    t.give(&sub, "analytics").await;
    allowed(&t.ask(&sub, "analytics", &cats).await);
    for other in ["photos", "email"] {
        denied(
            &t.ask(&sub, "analytics", &[other]).await,
            "category_not_declared_for_purpose",
        );
    }
}

/// A new version adding purpose `new_id`, a copy of purpose `from`.
pub fn with_new_purpose(toml: &str, from: &str, new_id: &str) -> String {
    let start = toml
        .find(&format!("[[purposes]]\nid = \"{from}\"\n"))
        .unwrap_or_else(|| panic!("no purpose {from}"));
    let rest = &toml[start + 1..];
    let end = rest.find("\n[").map_or(toml.len(), |i| start + 1 + i + 1);
    let block = toml[start..end].replacen(
        &format!("id = \"{from}\""),
        &format!("id = \"{new_id}\""),
        1,
    );
    next_version(toml, "2.0", |s| format!("{s}\n{block}"))
}

pub async fn s002_r06_new_purpose_needs_consent(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "marketing").await;
    let r = t
        .publish(&with_new_purpose(&pack(PACK), "marketing", "newsletter"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // Consent for an existing purpose carries over (renewal by notice).
    allowed(&t.ask(&sub, "marketing", &["email"]).await);
    denied(
        &t.ask(&sub, "newsletter", &["email"]).await,
        "consent_missing",
    );
    t.give(&sub, "newsletter").await;
    allowed(&t.ask(&sub, "newsletter", &["email"]).await);
}

pub async fn s002_r07_tracking_consent_gated_unsubscribe_withdraws(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let cats = ["email", "email-interaction"];
    denied(
        &t.ask(&sub, "email-tracking", &cats).await,
        "consent_missing",
    );
    t.give(&sub, "email-tracking").await;
    allowed(&t.ask(&sub, "email-tracking", &cats).await);
    t.set(&sub, "withdrawn", "email-tracking").await;
    denied(
        &t.ask(&sub, "email-tracking", &cats).await,
        "consent_withdrawn",
    );
}

pub async fn s002_r08_dnt_and_gpc_deny_tracking(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "analytics").await;
    t.give(&sub, "email-tracking").await;
    for (p, c) in [
        ("analytics", "device-id"),
        ("email-tracking", "email-interaction"),
    ] {
        let q = json!({ "subject": sub, "purpose": p, "categories": [c] });
        denied(
            &t.decide_with(q.clone(), &[("dnt", "1")]).await,
            "dnt_opt_out",
        );
        denied(
            &t.decide_with(q.clone(), &[("sec-gpc", "1")]).await,
            "gpc_opt_out",
        );
        allowed(&t.decide(q).await);
    }
    let basic = json!({ "subject": sub, "purpose": "site-operation", "categories": ["cookie-id"] });
    allowed(&t.decide_with(basic, &[("dnt", "1")]).await);
}

pub async fn s002_r09_affiliate_changing_purpose_needs_new_consent(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = registered(&t).await;
    t.give(&sub, "marketing").await;
    let ok = json!({ "subject": sub, "purpose": "registration",
        "categories": ["name", "email"], "recipient": "affiliates" });
    let d = t.decide(ok.clone()).await;
    allowed(&d);
    assert!(must_record(&d, "sharing"));
    assert_eq!(t.disclose(ok).await.status, StatusCode::CREATED);
    let changed = json!({ "subject": sub, "purpose": "marketing",
        "categories": ["email"], "recipient": "affiliates" });
    denied(
        &t.decide(changed.clone()).await,
        "recipient_purpose_not_declared",
    );
    t.give_scope(&sub, "marketing", rec("affiliates")).await;
    allowed(&t.decide(changed).await);
}

pub async fn s002_r11_public_disclosure_needs_separate_consent(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "public-disclosure").await;
    let q = json!({ "subject": sub, "purpose": "public-disclosure", "categories": ["name", "username"] });
    denied(
        &t.decide(q.clone()).await,
        "public_disclosure_consent_missing",
    );
    assert_eq!(
        t.disclose(q.clone()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    t.give_scope(
        &sub,
        "public-disclosure",
        json!({ "kind": "public_disclosure" }),
    )
    .await;
    let d = t.decide(q.clone()).await;
    allowed(&d);
    assert!(must_record(&d, "public_disclosure"));
    assert_eq!(t.disclose(q).await.status, StatusCode::CREATED);
}

pub async fn s002_r16_withdrawal_immediate_earlier_events_kept(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    t.give(&sub, "photo-access").await;
    allowed(&t.ask(&sub, "photo-access", &["photos"]).await);
    t.set(&sub, "withdrawn", "photo-access").await;
    denied(
        &t.ask(&sub, "photo-access", &["photos"]).await,
        "consent_withdrawn",
    );
    // The ledger keeps the earlier event: past processing stays accounted for.
    let h = t
        .get(&format!("/v1/subjects/{sub}/consents/history"))
        .await
        .json();
    let statuses: Vec<String> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.to_string().contains("photo-access"))
        .map(|e| e.to_string())
        .collect();
    assert_eq!(statuses.len(), 2, "{h}");
    assert!(statuses[0].contains("\"given\"") && statuses[1].contains("\"withdrawn\""));
}

pub async fn s002_r22_child_data_without_guardian_consent_swept(b: Backend) {
    let t = T::start(b, PACK).await;
    let guardian = t.adult().await;
    let adult = t.adult().await;
    // Two people signed up with no age given; each agreed to registration and the app
    // stored their phone, and a cookie id for the contract-based site operation.
    let (without, with) = (t.subject(json!({})).await, t.subject(json!({})).await);
    for sub in [&without, &with, &adult] {
        t.give(sub, "registration").await;
        t.store(sub, "phone", "main", "registration", "+8613800138000", None)
            .await;
    }
    t.store(&without, "cookie-id", "site", "site-operation", "c-1", None)
        .await;
    // Then the service learns both are 10: their own consent is not enough.
    let birth = format!("{}-03-01", today().year() - 10);
    for sub in [&without, &with] {
        let r = t
            .post(
                &format!("/v1/subjects/{sub}/age"),
                json!({ "age": { "birth_date": birth }, "guardian": guardian }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["age_band"], "child");
        denied(
            &t.ask(sub, "registration", &["phone"]).await,
            "guardian_consent_required",
        );
    }
    // The guardian consents for one of them before the sweep: that child's data stays.
    t.consent(json!({ "subject": with, "purpose": "registration", "status": "given",
        "method": "guardian",
        "actor": { "kind": "guardian", "guardian": guardian, "evidence": "recorded", "evidence_hash": null } }))
        .await;
    allowed(&t.ask(&with, "registration", &["phone"]).await);

    let swept = t.sweep(false).await;
    assert_eq!(swept["deleted"], 1, "{swept}");
    // A guardian's consent after the sweep allows new processing but brings nothing
    // back: the phone collected without it is gone.
    t.consent(json!({ "subject": without, "purpose": "registration", "status": "given",
        "method": "guardian",
        "actor": { "kind": "guardian", "guardian": guardian, "evidence": "recorded", "evidence_hash": null } }))
        .await;
    let gone = t.read(&without, "phone", "main", "registration").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text());
    for (sub, cat, rec, purpose) in [
        (&with, "phone", "main", "registration"),
        (&adult, "phone", "main", "registration"),
        // Contract-based processing needs no guardian consent: kept.
        (&without, "cookie-id", "site", "site-operation"),
    ] {
        let r = t.read(sub, cat, rec, purpose).await;
        assert_eq!(r.status, StatusCode::OK, "{sub} {cat}: {}", r.text());
    }
    // Audited with a reason code and the pseudonymous subject, no personal data.
    let log = t.audit_actions().await;
    let due: Vec<_> = log
        .iter()
        .filter(|e| e["action"] == "retention.child_data_due")
        .collect();
    assert_eq!(due.len(), 1, "{due:?}");
    let detail: serde_json::Value =
        serde_json::from_str(due[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["reasons"], json!({ "guardian_consent_absent": 1 }));
    assert_eq!(detail["subjects"], json!([without]));
    assert!(!due[0].to_string().contains("8613800138000"));
    assert!(log.iter().any(|e| e["action"] == "retention.swept"));
    // Nothing more is due: a second sweep deletes nothing.
    assert_eq!(t.sweep(false).await["deleted"], 0);
}

pub async fn s002_r23_old_version_until_the_new_one_takes_effect(b: Backend) {
    let t = T::start(b, PACK).await;
    let v1 = t.get("/v1/policies/current").await.json()["content_hash"].clone();
    let today = today();
    let v2 = |published: jiff::civil::Date, effective: jiff::civil::Date| {
        next_version(&pack(PACK), "2.0", |s| {
            s.replacen(
                "published = 2025-01-01",
                &format!("published = {published}"),
                1,
            )
            .replacen(
                "effective = 2025-01-08",
                &format!("effective = {effective}"),
                1,
            )
            .replacen(
                "notice_channels = [\"home_page\"]",
                "notice_channels = [\"home_page\", \"email\"]",
                1,
            )
        })
    };
    // Less than 7 days' notice is refused.
    let r = t.publish(&v2(today, today.tomorrow().unwrap())).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("effective"), "{}", r.text());
    // Seven days' notice: published, not yet in force.
    let effective = today.checked_add(jiff::Span::new().days(7)).unwrap();
    let r = t.publish(&v2(today, effective)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["in_force"], false);
    assert_eq!(
        t.get("/v1/policies/current").await.json()["content_hash"],
        v1
    );
    let sub = t.adult().await;
    let d = t.ask(&sub, "site-operation", &["cookie-id"]).await;
    allowed(&d);
    assert_eq!(d["version"], v1, "decisions use the old version until then");
}

pub async fn s002_r17_targeting_opt_out_denies_marketing(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    let other = t.adult().await;
    t.give(&sub, "marketing").await;
    t.give(&sub, "email-tracking").await;
    allowed(&t.ask(&sub, "marketing", &["email"]).await);
    // The opt-out request, sent with the person's own key.
    let own = t.key("subject", Some(&sub)).await;
    let r = t.targeting_as(&sub, true, &own).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    denied(
        &t.ask(&sub, "marketing", &["email"]).await,
        "targeting_opt_out",
    );
    // Not a marketing purpose: unaffected.
    allowed(
        &t.ask(&sub, "email-tracking", &["email", "email-interaction"])
            .await,
    );
    // That key cannot opt anybody else out.
    let r = t.targeting_as(&other, true, &own).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    // Opting back in.
    let r = t.targeting_as(&sub, false, &own).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    allowed(&t.ask(&sub, "marketing", &["email"]).await);
}

pub async fn s002_r24_contact_rendered_complaint_due_in_30_days(b: Backend) {
    let t = T::start(b, PACK).await;
    let page = t.rendered("en").await;
    for contact in [
        "privacy@template.example",
        "https://www.template.example/privacy/contact",
        "Personal Information Protection Department",
        "dpo@template.example",
    ] {
        assert!(page.contains(contact), "{contact} rendered");
    }
    assert!(t.rendered("zh-CN").await.contains("个人信息保护部门"));
    let sub = t.adult().await;
    let req = t
        .request(json!({ "subject": sub, "kind": "complaint", "channel": "email" }))
        .await;
    assert_eq!(req["status"], "in_progress");
    // Due at the end of the 30th calendar day after receipt.
    let left = secs(ts(&req["received"]), ts(&req["due"]));
    assert!(
        (30 * DAY..=31 * DAY).contains(&left),
        "received + 30 days, got {left}s"
    );
}

pub async fn s002_r21_verification_free_limit_and_listed_refusals(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = t.adult().await;
    // Verification step: a deletion waits in `received`; skipping the check is refused.
    let del = t
        .request(json!({ "subject": sub, "kind": "deletion" }))
        .await;
    let id = del["request_id"].as_str().unwrap().to_owned();
    assert_eq!(del["status"], "received");
    let r = t.transition(&id, json!({ "command": "start" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = t
        .transition(&id, json!({ "command": "start_verification" }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "verifying");
    // Refusal needs one of the listed reasons.
    for reason in ["not-a-reason", "commercial-secrets"] {
        let r = t
            .transition(&id, json!({ "command": "refuse", "reason": reason }))
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{reason}: {}", r.text());
    }
    assert_eq!(t.rights_request(&id).await["status"], "verifying");
    let r = t
        .transition(
            &id,
            json!({ "command": "refuse", "reason": "unreasonably-repeated" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "refused");

    // 4 free requests of one kind per 365 days: the fifth is flagged.
    let other = t.adult().await;
    for n in 1..=5 {
        let r = t
            .request(json!({ "subject": other, "kind": "access" }))
            .await;
        if n <= 4 {
            assert_eq!(r["fee"]["decision"], "free", "request {n}: {r}");
            assert_eq!(r["fee"]["remaining"], 4 - n, "request {n}: {r}");
        } else {
            assert_eq!(r["fee"]["decision"], "fee_may_apply", "request {n}: {r}");
            assert_eq!(r["fee"]["previous_in_period"], 4, "{r}");
        }
    }
}

pub async fn s002_r12_breach_notices_every_affected_person_and_reports_to_regulator(b: Backend) {
    let sink = SmtpSink::start().await;
    let t = T::start_with(b, PACK, |c| sink.configure(c)).await;
    t.run_outbox();
    let push = Receiver::start().await;
    let secret = t
        .notify_target(
            "app-push",
            json!({ "webhook": push.url, "events": ["incident.notice"] }),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // Three people whose email addresses leaked; one who gave only a phone number.
    let mut affected = Vec::new();
    for i in 0..3 {
        let email = format!("breach.person{i}@example.com");
        let sub = t
            .subject(json!({ "identities": [{ "kind": "email", "value": email }],
                "age": { "band": "adult" } }))
            .await;
        affected.push((sub, email));
    }
    let spared = t
        .subject(
            json!({ "identities": [{ "kind": "phone", "value": "+8613800138000" }],
            "age": { "band": "adult" } }),
        )
        .await;

    let (id, notified) = t.breach(incident(&["identity.email"])).await;
    assert_eq!(notified["status"], "notified");
    assert_eq!(notified["affected"], 3, "{notified}");
    t.settle_outbox().await;

    // Each affected person gets the notice by mail, with what the law asks for, in
    // both languages…
    let mail = sink.all();
    assert_eq!(mail.len(), 3, "one letter per affected person");
    for (_, email) in &affected {
        let m = mail
            .iter()
            .find(|m| m.contains(email.as_str()))
            .unwrap_or_else(|| panic!("no notice to {email}"));
        for part in [
            "Personal information involved: email address",
            "Cause: A misconfigured access rule.",
            "Possible harm: Phishing messages.",
            "What we have done: The rule was fixed",
            "What you can do: Be wary",
            "Contact us:",
            "涉及的个人信息种类：电子邮箱地址",
            "您可以采取的减轻危害的措施",
        ] {
            assert!(m.contains(part), "{part} missing from {m}");
        }
    }
    // …and a push through the app, signed, naming only the person's id.
    let pushed: Vec<String> = push
        .bodies()
        .iter()
        .map(|v| v["data"]["subject"].as_str().unwrap().to_owned())
        .collect();
    let mut want: Vec<String> = affected.iter().map(|(s, _)| s.clone()).collect();
    let mut got = pushed.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want, "one push per affected person");
    assert!(!pushed.contains(&spared), "not affected, not told");
    push.assert_signed(&secret);
    assert!(
        !push
            .bodies()
            .iter()
            .any(|v| v.to_string().contains("@example.com")),
        "no address leaves through the push"
    );

    // The regulator's report: JSON and a bilingual page.
    let r = t
        .get_as(&format!("/v1/incidents/{id}/report"), &t.operator)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rep = r.json();
    assert_eq!(rep["affected"], 3);
    assert_eq!(rep["notification"]["mode"], "individual");
    let steps: Vec<&str> = rep["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["created", "assessed", "notified"]);
    let html = t
        .get_as(
            &format!("/v1/incidents/{id}/report?format=html"),
            &t.operator,
        )
        .await;
    assert_eq!(html.status, StatusCode::OK);
    for text in [
        "个人信息安全事件报告",
        "A misconfigured access rule.",
        "访问规则配置错误",
    ] {
        assert!(html.text().contains(text), "{text} missing from the report");
    }
}

pub async fn s002_r13_access_due_in_30_days_overdue_alarm_export_produced(b: Backend) {
    let sink = SmtpSink::start().await;
    let t = T::start_with(b, PACK, |c| sink.configure(c)).await;
    t.run_outbox();
    t.notify_target(
        "dpo",
        json!({ "email": "dpo@template.example", "events": ["request.alarm"] }),
    )
    .await;
    let sub = registered(&t).await;
    t.store(
        &sub,
        "email",
        "main",
        "registration",
        "han.mei@example.com",
        None,
    )
    .await;
    let own = t.key("subject", Some(&sub)).await;
    let req = t
        .request_as(
            &own,
            json!({ "subject": sub, "kind": "access", "channel": "privacy_center" }),
        )
        .await;
    let id = req["request_id"].as_str().unwrap().to_owned();
    // Due at the end of the 30th day after receipt.
    let left = secs(ts(&req["received"]), ts(&req["due"]));
    assert!(
        (30 * DAY..=31 * DAY).contains(&left),
        "received + 30 days, got {left}s"
    );
    assert_eq!(req["alarm"], "none");
    assert!(!t.request_ids("overdue").await.contains(&id));

    // The courier's alarm pass, run at an instant past the due date.
    let late = ts(&req["due"]) + jiff::SignedDuration::from_secs(3600);
    let raised = troth_server::outbox::raise_alarms(&t.state, late)
        .await
        .unwrap();
    assert_eq!(raised, 1, "one overdue alarm");
    t.settle_outbox().await;
    let alarm = t
        .outbox()
        .await
        .into_iter()
        .find(|m| m["message_id"] == format!("alarm:{id}:overdue:dpo"))
        .expect("the overdue alarm");
    assert_eq!(alarm["status"], "delivered", "{alarm}");
    let mail = sink.all();
    assert!(
        mail.iter()
            .any(|m| m.contains("dpo@template.example") && m.contains("overdue")),
        "{mail:?}"
    );
    assert!(
        !mail.iter().any(|m| m.contains("han.mei@example.com")),
        "no personal information in the alarm"
    );

    // Carried out: the person downloads their data once.
    for cmd in [
        json!({ "command": "start_verification" }),
        json!({ "command": "verified" }),
        json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
    ] {
        let r = t.transition(&id, cmd.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{cmd}: {}", r.text());
    }
    let r = t
        .send(
            Method::POST,
            &format!("/v1/requests/{id}/export"),
            &own,
            json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let link = r.json()["download"].as_str().unwrap().to_owned();
    let get = || t.call(Method::GET, &link, None, axum::body::Body::empty(), &[]);
    let zip = get().await;
    assert_eq!(zip.status, StatusCode::OK, "{}", zip.text());
    let files = unzip(&zip.body);
    let file = |name: &str| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} missing from the export"))
            .1
            .clone()
    };
    let data: serde_json::Value = serde_json::from_slice(&file("data.json")).unwrap();
    assert_eq!(data["vault"][0]["category"], "email", "{data}");
    assert_eq!(
        data["vault"][0]["values"][0]["value"],
        "han.mei@example.com"
    );
    let csv = String::from_utf8(file("categories/email.csv")).unwrap();
    assert!(csv.contains("han.mei@example.com"), "{csv}");
    let page = String::from_utf8(file("index.html")).unwrap();
    assert!(page.contains("han.mei@example.com"));
    assert_eq!(get().await.status, StatusCode::GONE, "the link works once");
}

pub async fn s002_r15_deletion_notifies_every_recipient_backups_unreadable(b: Backend) {
    let sink = SmtpSink::start().await;
    let t = T::start_with(b, PACK, |c| sink.configure(c)).await;
    t.run_outbox();
    let node = Receiver::start().await;
    let secret = t
        .notify_target(
            "sg-node",
            json!({ "webhook": node.url, "recipient": "overseas-service-node",
                "events": ["deletion.notice"] }),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    t.notify_target(
        "affiliates",
        json!({ "email": "privacy@affiliate.example", "recipient": "affiliates",
            "events": ["deletion.notice"] }),
    )
    .await;
    let (sub, other) = (registered(&t).await, registered(&t).await);
    t.store(
        &sub,
        "email",
        "main",
        "registration",
        "zhao.lei@example.com",
        None,
    )
    .await;
    t.store(
        &other,
        "email",
        "main",
        "registration",
        "qian.yu@example.com",
        None,
    )
    .await;
    // The subject's data went to an affiliate and, with separate consent, abroad.
    t.give(&sub, "cross-border-service").await;
    t.give_scope(&sub, "cross-border-service", dest("SG")).await;
    t.give_scope(&sub, "cross-border-service", rec("overseas-service-node"))
        .await;
    for d in [
        json!({ "subject": sub, "purpose": "registration", "categories": ["name", "email"],
            "recipient": "affiliates" }),
        json!({ "subject": sub, "purpose": "cross-border-service", "categories": ["email"],
            "recipient": "overseas-service-node", "destination": "SG" }),
    ] {
        let r = t.disclose(d).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let backup = t.backup().await;

    let r = t
        .delete_by_request(&sub, json!({ "kind": "fulfilled" }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "completed");
    t.settle_outbox().await;

    // Every recipient in the ledger is told to delete, and the notices went out.
    let notices: Vec<serde_json::Value> = t
        .outbox()
        .await
        .into_iter()
        .filter(|m| m["kind"] == "deletion.notice")
        .collect();
    let mut targets: Vec<&str> = notices
        .iter()
        .map(|m| m["target"].as_str().unwrap())
        .collect();
    targets.sort_unstable();
    assert_eq!(targets, ["affiliates", "sg-node"], "{notices:?}");
    assert!(
        notices.iter().all(|m| m["status"] == "delivered"),
        "{notices:?}"
    );
    let hooks = node.bodies();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["data"]["subject"], sub.as_str());
    assert_eq!(hooks[0]["data"]["recipient"], "overseas-service-node");
    assert_eq!(
        hooks[0]["data"]["disclosures"][0]["categories"],
        json!(["email"])
    );
    node.assert_signed(&secret);
    let mail = sink.all();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("privacy@affiliate.example"), "{}", mail[0]);
    assert!(mail[0].contains(sub.as_str()), "names whose data to delete");
    assert!(
        !mail[0].contains("zhao.lei@example.com"),
        "without the data itself"
    );

    // A backup taken before the deletion, restored: the deleted person's data can
    // no longer be read (their key is gone); everybody else's still can.
    let restored = t.restore(&backup).await;
    let r = t
        .read_on(&restored, &other, "email", "main", "registration")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["value"], "qian.yu@example.com");
    let r = t
        .read_on(&restored, &sub, "email", "main", "registration")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(!r.text().contains("zhao.lei@example.com"));
}

pub async fn s002_r14_correction_request_updates_the_value_audited(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = registered(&t).await;
    t.store(
        &sub,
        "email",
        "main",
        "registration",
        "old.mail@example.com",
        None,
    )
    .await;
    let fix = json!({ "subject": sub, "kind": "correction", "channel": "web",
        "corrections": [{ "category": "email", "record": "main", "value": "new.mail@example.com" }] });
    // The new value is never shown on the request, nor at rest in clear.
    let req = t.request(fix.clone()).await;
    assert_eq!(
        req["asks"]["corrections"],
        json!([{ "category": "email", "record": "main" }])
    );
    assert!(!req.to_string().contains("new.mail@example.com"), "{req}");
    let raw = t.raw_database().await;
    assert!(
        !raw.windows(20).any(|w| w == b"new.mail@example.com"),
        "the pending value is encrypted"
    );
    let id = req["request_id"].as_str().unwrap().to_owned();
    // Until it completes, the old value stands.
    let old = t.read(&sub, "email", "main", "registration").await;
    assert_eq!(old.json()["value"], "old.mail@example.com");
    for cmd in ["start_verification", "verified"] {
        let r = t.transition(&id, json!({ "command": cmd })).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let done = t
        .transition(
            &id,
            json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(
        done.json()["result"]["corrected"],
        json!([{ "category": "email", "record": "main" }])
    );
    let now = t.read(&sub, "email", "main", "registration").await;
    assert_eq!(now.json()["value"], "new.mail@example.com");
    let actions = t.audit_actions().await;
    let corrected = actions
        .iter()
        .find(|a| a["action"] == "vault.correct")
        .expect("the correction is audited");
    assert_eq!(detail(corrected)["category"], "email", "{corrected}");
    let executed = actions
        .iter()
        .find(|a| a["action"] == "request.executed")
        .expect("the request's execution is audited");
    assert_eq!(executed["target"], format!("request:{id}"));
    assert!(
        !actions
            .iter()
            .any(|a| a.to_string().contains("mail@example.com")),
        "no value in the audit log"
    );

    // A record the person does not have cannot be "corrected" into existence: the
    // completion is refused and the request stays open.
    let ghost = json!({ "subject": sub, "kind": "correction",
        "corrections": [{ "category": "phone", "record": "main", "value": "+8613800000000" }] });
    let req = t.request(ghost).await;
    let ghost_id = req["request_id"].as_str().unwrap().to_owned();
    for cmd in ["start_verification", "verified"] {
        t.transition(&ghost_id, json!({ "command": cmd })).await;
    }
    let r = t
        .transition(
            &ghost_id,
            json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(t.rights_request(&ghost_id).await["status"], "in_progress");
    // Corrections name categories of the policy.
    let r = t
        .send(
            Method::POST,
            "/v1/requests",
            &t.app,
            json!({ "subject": sub, "kind": "correction",
                "corrections": [{ "category": "shoe-size", "record": "x", "value": "42" }] }),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "corrections[0].category");
}

pub async fn s002_r19_copy_exported_and_pushed_to_a_named_third_party(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = registered(&t).await;
    t.store(
        &sub,
        "email",
        "main",
        "registration",
        "li.na@example.com",
        None,
    )
    .await;
    let (third, secret, done) = t.copy_to_third_party(&sub).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["result"]["transferred_to"], "portability", "{done}");
    let calls = third.calls();
    assert_eq!(calls.len(), 1, "one transfer");
    let (headers, body) = &calls[0];
    assert_eq!(headers["content-type"], "application/zip");
    assert_eq!(headers["troth-event"], "copy.transfer");
    third.assert_signed(&secret);
    // Machine-readable JSON and CSV, and the human-readable page, with a manifest.
    let files = unzip(body);
    let file = |name: &str| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} missing from the copy"))
            .1
            .clone()
    };
    let data: serde_json::Value = serde_json::from_slice(&file("data.json")).unwrap();
    assert!(data.to_string().contains("li.na@example.com"), "{data}");
    let csv = String::from_utf8(file("categories/email.csv")).unwrap();
    assert!(csv.contains("li.na@example.com"), "{csv}");
    assert!(
        String::from_utf8(file("index.html"))
            .unwrap()
            .contains("li.na@example.com")
    );
    let manifest: serde_json::Value = serde_json::from_slice(&file("manifest.json")).unwrap();
    assert!(!manifest["files"].as_array().unwrap().is_empty());
    assert_eq!(
        done["result"]["manifest_sha256"].as_str().unwrap(),
        String::from_utf8(file("manifest.sha256"))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
    );
    // The person can still download their own copy.
    let r = t
        .send(
            Method::POST,
            &format!(
                "/v1/requests/{}/export",
                done["request_id"].as_str().unwrap()
            ),
            &t.operator,
            json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

pub async fn s002_r20_explanation_returns_purposes_logic_and_inputs(b: Backend) {
    let t = T::start(b, PACK).await;
    let sub = registered(&t).await;
    t.give(&sub, "marketing").await;
    let kept = |allow: bool| {
        let t = &t;
        let sub = sub.clone();
        async move {
            let d = t
                .decide(json!({ "subject": sub, "purpose": "marketing",
                    "categories": ["email"], "record": true }))
                .await;
            assert_eq!(d["allow"], allow, "{d}");
            d
        }
    };
    let first = kept(true).await;
    assert!(first["recorded"].is_string(), "kept: {first}");
    // An unrecorded decision is not part of the explanation.
    let unrecorded = t.ask(&sub, "registration", &["email"]).await;
    assert!(unrecorded.get("recorded").is_none());
    t.set(&sub, "withdrawn", "marketing").await;
    let second = kept(false).await;

    let (id, done) = t
        .fulfil_request(json!({ "subject": sub, "kind": "explanation", "channel": "web" }))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let answer = t.rights_request(&id).await["result"].clone();
    let decisions = answer["decisions"].as_array().expect("decisions").clone();
    assert_eq!(decisions.len(), 2, "{answer}");
    // Inputs as recorded, oldest first.
    for (d, asked) in decisions.iter().zip([&first, &second]) {
        assert_eq!(d["decision_id"], asked["recorded"]);
        assert_eq!(d["purpose"], "marketing");
        assert_eq!(d["categories"], json!(["email"]));
        assert_eq!(d["allow"], asked["allow"]);
        assert_eq!(d["version"], asked["version"]);
    }
    // The logic in words: the basis when allowed, the reasons when refused.
    let logic = |i: usize| decisions[i]["logic"].as_str().unwrap().to_owned();
    assert!(logic(0).starts_with("allowed"), "{}", logic(0));
    assert!(
        logic(0).contains("`consent`"),
        "the legal basis: {}",
        logic(0)
    );
    assert!(logic(1).starts_with("refused"), "{}", logic(1));
    for code in codes(&second) {
        assert!(logic(1).contains(&code), "{} lacks {code}", logic(1));
    }
    // The purpose, described as the policy describes it.
    let purposes = answer["purposes"].as_array().unwrap();
    assert_eq!(purposes.len(), 1, "{answer}");
    assert_eq!(purposes[0]["id"], "marketing");
    assert!(purposes[0]["description"]["en"].as_str().unwrap().len() > 10);
    assert!(purposes[0]["description"]["zh-CN"].is_string());
    assert!(
        t.audit_actions()
            .await
            .iter()
            .any(|a| a["action"] == "request.executed" && detail(a)["decisions"] == 2),
        "the explanation is audited"
    );
}

pub async fn s002_r10_controller_transfer_notifies_and_binds_or_reasks(b: Backend) {
    let sink = SmtpSink::start().await;
    let t = T::start_with(b, PACK, |c| sink.configure(c)).await;
    t.run_outbox();
    let home = Receiver::start().await;
    t.notify_target(
        "home-page",
        json!({ "webhook": home.url, "events": ["controller.announcement"] }),
    )
    .await;
    let sub = t
        .subject(json!({ "age": { "band": "adult" },
            "identities": [{ "kind": "email", "value": "wang@example.com" }] }))
        .await;
    t.give(&sub, "photo-access").await;
    allowed(&t.ask(&sub, "photo-access", &["photos"]).await);

    // The acquirer's version of the policy, then the transfer naming it.
    let buyer = "Acquirer Holdings Co., Ltd.";
    let v2 = next_version(&pack(PACK), "2.0", |s| {
        with_controller(&s, buyer, "收购方控股有限公司")
    });
    let r = t.publish(&v2).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let transfer = json!({ "version": "2.0", "new_controller": buyer, "effective": "2025-01-08" });
    let r = t
        .send(
            Method::POST,
            "/v1/controller-transfers",
            &t.operator,
            transfer.clone(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "admins only: {}", r.text());
    for (field, wrong) in [
        ("new_controller", json!("Someone Else Ltd.")),
        ("effective", json!("2025-02-01")),
    ] {
        let mut body = transfer.clone();
        body[field] = wrong;
        let r = t.admin_post("/v1/controller-transfers", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains(field), "{}", r.text());
    }
    let r = t.admin_post("/v1/controller-transfers", transfer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let x = r.json();
    assert_eq!(x["new_controller"], buyer);
    assert_eq!(x["new_holder_bound"], true, "{x}");
    assert_eq!(x["renewal_required"], false, "{x}");
    assert_eq!(x["notices"]["by_email"], 1, "{x}");
    assert_eq!(x["notices"]["announcement"], true, "{x}");
    assert!(
        t.audit_actions()
            .await
            .iter()
            .any(|e| e["action"] == "controller.transferred")
    );

    // The person is told by email and on the home page, as the pack promises.
    t.settle_outbox().await;
    let mails = sink.all();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("wang@example.com") && mails[0].contains(buyer));
    assert!(
        mails[0].contains("bound by this privacy policy"),
        "{}",
        mails[0]
    );
    let shown = home.bodies();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["kind"], "controller.announcement");
    assert_eq!(shown[0]["data"]["new_controller"], buyer);
    // The new holder is bound: the consent carries over.
    allowed(&t.ask(&sub, "photo-access", &["photos"]).await);

    // A holder the policy does not bind must ask again: 3.0 drops the promise, 4.0
    // moves the data to another controller.
    let v3 = next_version(&v2, "3.0", |s| {
        s.replacen("new_holder_bound = true", "new_holder_bound = false", 1)
    });
    assert_eq!(t.publish(&v3).await.status, StatusCode::CREATED);
    allowed(&t.ask(&sub, "photo-access", &["photos"]).await);
    let second = "Second Buyer Co., Ltd.";
    let v4 = next_version(&v3, "4.0", |s| {
        with_controller(&s, second, "第二买方有限公司")
    });
    assert_eq!(t.publish(&v4).await.status, StatusCode::CREATED);
    let r = t
        .admin_post(
            "/v1/controller-transfers",
            json!({ "version": "4.0", "new_controller": second, "effective": "2025-01-08" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["new_holder_bound"], false, "{}", r.text());
    assert_eq!(r.json()["renewal_required"], true, "{}", r.text());
    denied(
        &t.ask(&sub, "photo-access", &["photos"]).await,
        "consent_renewal_required",
    );
    t.settle_outbox().await;
    let mails = sink.all();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails[1].contains(second) && mails[1].contains("until you consent again"));
    // Asked again, and given: allowed.
    t.give(&sub, "photo-access").await;
    allowed(&t.ask(&sub, "photo-access", &["photos"]).await);
}
