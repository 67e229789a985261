//! S002 — user privacy policy template (`packs/s002-template`).

use crate::common::*;
use troth_core::*;

const PACK: &str = "s002-template";

fn registered() -> H {
    let mut h = H::pack(PACK);
    h.give("registration");
    // The password is sensitive: its separate consent is part of sign-up.
    h.give_scope("registration", cat("password"));
    h
}

const REQUIRED: [&str; 4] = ["name", "email", "username", "password"];

#[test]
fn s002_r01_optional_fields_never_block_registration() {
    let mut h = registered();
    allowed(&h.ask("registration", &REQUIRED));
    allowed(&h.ask(
        "registration",
        &[
            "name",
            "email",
            "username",
            "password",
            "phone",
            "job-title",
        ],
    ));
    // Refusing everything additional changes nothing for registration.
    for p in [
        "photo-access",
        "analytics",
        "email-tracking",
        "marketing",
        "public-disclosure",
    ] {
        h.set(ConsentStatus::Refused, p);
    }
    allowed(&h.ask("registration", &REQUIRED));
}

#[test]
fn s002_r02_cancelled_account_stops_all_decisions() {
    let mut h = registered();
    h.fact(Fact::Account(AccountStatus::Cancelled));
    denied(&h.ask("registration", &REQUIRED), "account_cancelled");
    denied(
        &h.ask("site-operation", &["cookie-id"]),
        "account_cancelled",
    );
    denied(&h.ask("legal-compliance", &["email"]), "account_cancelled");
}

#[test]
fn s002_r18_cancel_account() {
    s002_r02_cancelled_account_stops_all_decisions();
}

#[test]
fn s002_r03_cross_border_only_with_separate_authorisation() {
    let mut h = H::pack(PACK);
    h.give("cross-border-service");
    let sg = H::req("cross-border-service", &["name", "email"])
        .with_recipient(rid("overseas-service-node"));
    let d = h.ask_req(&sg);
    denied(&d, "cross_border_consent_missing");
    h.give_scope("cross-border-service", Scope::Destination(cc("SG")));
    h.give_scope(
        "cross-border-service",
        Scope::Recipient(rid("overseas-service-node")),
    );
    let d = h.ask_req(&sg);
    allowed(&d);
    assert!(
        disclosure(&d, DisclosureKind::Transfer).is_some(),
        "transfer logged"
    );
    // Residency is CN: anywhere without a declared transfer is denied.
    let us = H::req("cross-border-service", &["email"]).with_destination(cc("US"));
    denied(&h.ask_req(&us), "transfer_not_declared");
}

#[test]
fn s002_r04_photo_access_needs_its_own_consent() {
    let mut h = registered();
    denied(&h.ask("photo-access", &["photos"]), "consent_missing");
    h.give("photo-access");
    allowed(&h.ask("photo-access", &["photos"]));
}

#[test]
fn s002_r05_analytics_allows_exactly_the_sdk_categories() {
    let policy = load(PACK);
    let sdk = policy
        .sdks
        .iter()
        .find(|s| s.id.as_str() == "statistics-sdk")
        .unwrap();
    let mut h = H::new(&policy);
    h.give("analytics");
    let cats: Vec<&str> = sdk.categories.iter().map(|c| c.as_str()).collect();
    allowed(&h.ask("analytics", &cats));
    denied(
        &h.ask("analytics", &["photos"]),
        "category_not_declared_for_purpose",
    );
    denied(
        &h.ask("analytics", &["email"]),
        "category_not_declared_for_purpose",
    );
}

#[test]
fn s002_r06_new_purpose_needs_consent() {
    let v1 = load(PACK);
    let v2 = with_new_purpose(&v1, "marketing", "newsletter");
    let (mut h, h1, h2) = with_history(&v1, &v2);
    // Consents under v1 for existing purposes carry over (renewal = notice).
    h.consent(ConsentFact::given(pid("marketing"), h1));
    allowed(&h.ask("marketing", &["email"]));
    denied(&h.ask("newsletter", &["email"]), "consent_missing");
    h.consent(ConsentFact::given(pid("newsletter"), h2));
    allowed(&h.ask("newsletter", &["email"]));
}

#[test]
fn s002_r07_tracking_consent_gated_unsubscribe_withdraws() {
    let mut h = H::pack(PACK);
    let cats = ["email", "email-interaction"];
    denied(&h.ask("email-tracking", &cats), "consent_missing");
    h.give("email-tracking");
    allowed(&h.ask("email-tracking", &cats));
    h.set(ConsentStatus::Withdrawn, "email-tracking");
    denied(&h.ask("email-tracking", &cats), "consent_withdrawn");
}

#[test]
fn s002_r08_dnt_denies_tracking() {
    let mut h = H::pack(PACK);
    h.give_all(&["analytics", "email-tracking"]);
    let dnt = Signals {
        gpc: false,
        dnt: true,
    };
    let gpc = Signals {
        gpc: true,
        dnt: false,
    };
    for (p, c) in [
        ("analytics", "device-id"),
        ("email-tracking", "email-interaction"),
    ] {
        denied(
            &h.ask_req(&H::req(p, &[c]).with_signals(dnt)),
            "dnt_opt_out",
        );
        denied(
            &h.ask_req(&H::req(p, &[c]).with_signals(gpc)),
            "gpc_opt_out",
        );
        allowed(&h.ask(p, &[c]));
    }
    allowed(&h.ask_req(&H::req("site-operation", &["cookie-id"]).with_signals(dnt)));
}

#[test]
fn s002_r09_affiliate_changing_purpose_needs_new_consent() {
    let mut h = registered();
    h.give("marketing");
    let ok = H::req("registration", &["name", "email"]).with_recipient(rid("affiliates"));
    let d = h.ask_req(&ok);
    allowed(&d);
    assert!(disclosure(&d, DisclosureKind::Sharing).is_some());
    let changed = H::req("marketing", &["email"]).with_recipient(rid("affiliates"));
    denied(&h.ask_req(&changed), "recipient_purpose_not_declared");
    h.give_scope("marketing", Scope::Recipient(rid("affiliates")));
    allowed(&h.ask_req(&changed));
}

#[test]
fn s002_r11_public_disclosure_needs_separate_consent() {
    let mut h = H::pack(PACK);
    h.give("public-disclosure");
    denied(
        &h.ask("public-disclosure", &["name", "username"]),
        "public_disclosure_consent_missing",
    );
    h.give_scope("public-disclosure", Scope::PublicDisclosure);
    let d = h.ask("public-disclosure", &["name", "username"]);
    allowed(&d);
    assert!(disclosure(&d, DisclosureKind::PublicDisclosure).is_some());
}

#[test]
fn s002_r16_withdrawal_takes_effect_immediately() {
    let mut h = H::pack(PACK);
    h.give("photo-access");
    allowed(&h.ask("photo-access", &["photos"]));
    h.set(ConsentStatus::Withdrawn, "photo-access");
    denied(&h.ask("photo-access", &["photos"]), "consent_withdrawn");
    // The state is a fold: the withdrawal is the current record; the given event is
    // still in the ledger (the caller's), never edited.
    let rec = h
        .index
        .state(SUBJECT)
        .unwrap()
        .consent("photo-access", &Scope::Purpose)
        .unwrap();
    assert_eq!(rec.status, ConsentStatus::Withdrawn);
}

#[test]
fn s002_r17_opt_out_denies_marketing() {
    let mut h = H::pack(PACK);
    h.give("marketing");
    allowed(&h.ask("marketing", &["email"]));
    h.fact(Fact::TargetingOptOut { opted_out: true });
    denied(&h.ask("marketing", &["email"]), "targeting_opt_out");
}

#[test]
fn s002_r22_child_without_guardian_consent_is_blocked() {
    let mut h = H::pack(PACK);
    h.fact(Fact::Age(AgeInfo::BirthDate(jiff::civil::date(2016, 5, 1))));
    h.give("registration");
    h.give_scope("registration", cat("password"));
    denied(
        &h.ask("registration", &REQUIRED),
        "guardian_consent_required",
    );
    h.fact(Fact::Account(AccountStatus::ChildBlocked));
    denied(&h.ask("site-operation", &["cookie-id"]), "child_blocked");
}

#[test]
fn s002_r23_old_version_until_the_new_one_takes_effect() {
    let v1 = load(PACK);
    let mut v2 = v1.clone();
    v2.policy.version = "2.0".into();
    v2.policy.published = jiff::civil::date(2024, 9, 1);
    v2.policy.effective = jiff::civil::date(2024, 9, 8);
    v2.purposes[0].name.en = "Create an account".into();
    let versions = [PolicyVersion::of(&v1), PolicyVersion::of(&v2)];
    let on = |d| PolicyVersion::in_force(&versions, d).map(|v| v.label.clone());
    assert_eq!(on(jiff::civil::date(2024, 9, 7)).as_deref(), Some("1.0"));
    assert_eq!(on(jiff::civil::date(2024, 9, 8)).as_deref(), Some("2.0"));
    assert_eq!(on(jiff::civil::date(2024, 1, 1)), None);
}

#[test]
fn s002_r10_controller_change_keeps_or_renews_consent_as_promised() {
    let v1 = load(PACK);
    let mut v2 = v1.clone();
    v2.policy.version = "2.0".into();
    v2.controller.legal_name.en = "New Holder Technology Co., Ltd.".into();
    // The pack promises the new holder stays bound: consent carries over.
    assert!(
        v1.changes
            .controller_transfer
            .as_ref()
            .unwrap()
            .new_holder_bound
    );
    let (mut h, h1, _) = with_history(&v1, &v2);
    h.consent(ConsentFact::given(pid("marketing"), h1));
    allowed(&h.ask("marketing", &["email"]));
    // Had it not promised that, the new holder must ask again.
    let mut unbound = v1.clone();
    unbound
        .changes
        .controller_transfer
        .as_mut()
        .unwrap()
        .new_holder_bound = false;
    let mut v2u = v2.clone();
    v2u.changes.controller_transfer = unbound.changes.controller_transfer.clone();
    let (mut h, h1, h2) = with_history(&unbound, &v2u);
    h.consent(ConsentFact::given(pid("marketing"), h1));
    denied(&h.ask("marketing", &["email"]), "consent_renewal_required");
    h.consent(ConsentFact::given(pid("marketing"), h2));
    allowed(&h.ask("marketing", &["email"]));
}
