//! S003 — coach app (`packs/s003-coach-app`).

use crate::common::*;
use proptest::prelude::*;
use troth_core::*;

const PACK: &str = "s003-coach-app";

fn written_guardian() -> Actor {
    Actor::Guardian {
        guardian: GUARDIAN,
        evidence: troth_policy::GuardianEvidence::Written,
        evidence_hash: Some(PolicyHash::from_bytes([7; 32])),
    }
}

#[test]
fn s003_r01_basic_never_blocked() {
    let policy = load(PACK);
    let additional: Vec<String> = policy
        .purposes
        .iter()
        .filter(|p| p.function == troth_policy::Function::Additional)
        .map(|p| p.id.to_string())
        .collect();
    let basic = [
        H::req("browse-search", &["device-info", "service-log"]),
        H::req("registration", &["phone", "sms-code"]),
        H::req("security", &["device-id", "ip-address"]),
    ];
    let statuses = [
        ConsentStatus::Given,
        ConsentStatus::Withdrawn,
        ConsentStatus::Refused,
        ConsentStatus::Expired,
    ];
    let mut runner = proptest::test_runner::TestRunner::default();
    let events = proptest::collection::vec((0..additional.len(), 0..statuses.len(), 0u8..3), 0..40);
    runner
        .run(&events, |evs| {
            let mut h = H::new(&policy);
            let before: Vec<Decision> = basic.iter().map(|r| h.ask_req(r)).collect();
            for d in &before {
                prop_assert!(d.allow);
            }
            for (p, s, scope) in evs {
                let v = h.hash();
                let scope = match scope {
                    0 => Scope::Purpose,
                    1 => cat("location"),
                    _ => Scope::PublicDisclosure,
                };
                h.consent(ConsentFact::new(statuses[s], pid(&additional[p]), v).with_scope(scope));
            }
            let after: Vec<Decision> = basic.iter().map(|r| h.ask_req(r)).collect();
            prop_assert_eq!(before, after);
            Ok(())
        })
        .unwrap();
}

#[test]
fn s003_r02_browse_without_registering() {
    let h = H::pack(PACK);
    let anon = H::req(
        "browse-search",
        &["device-info", "service-log", "ip-address"],
    )
    .anonymous();
    allowed(&h.index.decide(None, &anon));
    let not_anon = H::req("personalised-content", &["device-info"]).anonymous();
    denied(&h.index.decide(None, &not_anon), "anonymous_not_allowed");
}

#[test]
fn s003_r04_login_provider_gets_only_agreed_fields() {
    let mut h = H::pack(PACK);
    h.give("third-party-login");
    h.attest("third-party-login");
    let share = H::req("third-party-login", &["third-party-account"])
        .with_recipient(rid("login-providers"));
    denied(&h.ask_req(&share), "sharing_consent_missing");
    h.give_scope(
        "third-party-login",
        Scope::Recipient(rid("login-providers")),
    );
    allowed(&h.ask_req(&share));
    let more = H::req("third-party-login", &["third-party-account", "phone"])
        .with_recipient(rid("login-providers"));
    denied(&h.ask_req(&more), "category_not_declared_for_recipient");
}

#[test]
fn s003_r05_location_used_at_the_moment_never_stored() {
    let mut h = H::pack(PACK);
    h.give("location-services");
    h.give_scope("location-services", cat("location"));
    let d = h.ask("location-services", &["location"]);
    allowed(&d);
    assert!(d.obligations.iter().any(
        |o| matches!(o, Obligation::DoNotStore { category } if category.as_str() == "location")
    ));
    assert!(d.obligations.contains(&Obligation::DeleteAfter {
        retention: troth_policy::Retention::None
    }));
}

#[test]
fn s003_r06_location_withdrawal_denies_at_once() {
    let mut h = H::pack(PACK);
    h.give("location-services");
    h.give_scope("location-services", cat("location"));
    allowed(&h.ask("location-services", &["location"]));
    h.set(ConsentStatus::Withdrawn, "location-services");
    denied(
        &h.ask("location-services", &["location"]),
        "consent_withdrawn",
    );
}

#[test]
fn s003_r07_device_info_and_logs_for_their_purposes() {
    let mut h = H::pack(PACK);
    allowed(&h.ask(
        "security",
        &[
            "device-info",
            "device-id",
            "app-info",
            "service-log",
            "ip-address",
        ],
    ));
    h.give("bookmarks-downloads");
    denied(
        &h.ask("bookmarks-downloads", &["device-id"]),
        "category_not_declared_for_purpose",
    );
}

#[test]
fn s003_r09_profiling_consent_gated_opt_out_honoured() {
    let mut h = H::pack(PACK);
    let cats = ["device-info", "preference-profile"];
    denied(&h.ask("personalised-content", &cats), "consent_missing");
    h.give("personalised-content");
    allowed(&h.ask("personalised-content", &cats));
    h.fact(Fact::TargetingOptOut { opted_out: true });
    denied(&h.ask("personalised-content", &cats), "targeting_opt_out");
}

#[test]
fn s003_r10_storage_permission_only_for_bookmarks() {
    let mut h = H::pack(PACK);
    h.give_all(&["bookmarks-downloads", "personalised-content"]);
    allowed(&h.ask("bookmarks-downloads", &["saved-media"]));
    denied(
        &h.ask("personalised-content", &["saved-media"]),
        "category_not_declared_for_purpose",
    );
}

#[test]
fn s003_r11_third_party_source_needs_attestation() {
    let mut h = H::pack(PACK);
    h.give("third-party-login");
    denied(
        &h.ask("third-party-login", &["third-party-account"]),
        "attestation_missing",
    );
    h.attest("third-party-login");
    allowed(&h.ask("third-party-login", &["third-party-account"]));
}

#[test]
fn s003_r12_decision_on_an_exemption_records_it() {
    let h = H::pack(PACK);
    let d = h.ask("security", &["device-id"]);
    allowed(&d);
    let b = d.basis.unwrap();
    assert_eq!(b.legal, troth_policy::LegalBasis::Contract);
    assert_eq!(b.exemption.unwrap().as_str(), "safe-operation");
    let d = h.ask("registration", &["phone"]);
    assert_eq!(d.basis.unwrap().exemption.unwrap().as_str(), "other-law");
}

#[test]
fn s003_r13_cessation_stops_all_collection() {
    let mut h = H::pack(PACK);
    allowed(&h.ask("security", &["device-id"]));
    h.index.policy_mut().set_cessation(CessationScope::All);
    denied(&h.ask("security", &["device-id"]), "service_ceased");
    denied(
        &h.index
            .decide(None, &H::req("browse-search", &["device-info"]).anonymous()),
        "service_ceased",
    );
}

#[test]
fn s003_r15_cross_border_gate() {
    let mut h = H::pack(PACK);
    h.give("personalised-content");
    h.give_scope("personalised-content", Scope::Destination(cc("US")));
    // No transfer is declared: consent alone is not enough.
    let us = H::req("personalised-content", &["device-info"]).with_destination(cc("US"));
    denied(&h.ask_req(&us), "transfer_not_declared");
}

#[test]
fn s003_r19_purpose_change_needs_consent() {
    let v1 = load(PACK);
    let v2 = with_new_purpose(&v1, "partner-promotions", "coach-matching");
    let (mut h, _, h2) = with_history(&v1, &v2);
    h.fact(Fact::AcceptVersion {
        version: h2,
        method: Method::Form,
        evidence: None,
    });
    denied(&h.ask("coach-matching", &["device-id"]), "consent_missing");
    h.consent(ConsentFact::given(pid("coach-matching"), h2));
    allowed(&h.ask("coach-matching", &["device-id"]));
}

#[test]
fn s003_r20_partner_sharing_gated_and_logged() {
    let mut h = H::pack(PACK);
    h.give("partner-promotions");
    let r = H::req("partner-promotions", &["device-id", "preference-profile"])
        .with_recipient(rid("app-partners"));
    denied(&h.ask_req(&r), "sharing_consent_missing");
    h.give_scope("partner-promotions", Scope::Recipient(rid("app-partners")));
    let d = h.ask_req(&r);
    allowed(&d);
    assert!(disclosure(&d, DisclosureKind::Sharing).is_some());
}

#[test]
fn s003_r21_public_disclosure_gate() {
    let mut h = H::pack(PACK);
    h.give("public-disclosure");
    denied(
        &h.ask("public-disclosure", &["nickname"]),
        "public_disclosure_consent_missing",
    );
    h.give_scope("public-disclosure", Scope::PublicDisclosure);
    allowed(&h.ask("public-disclosure", &["nickname"]));
}

#[test]
fn s003_r23_explicit_accept_after_significant_change() {
    let v1 = load(PACK);
    let mut v2 = v1.clone();
    v2.policy.version = "2.0".into();
    v2.purposes
        .iter_mut()
        .find(|p| p.id.as_str() == "personalised-content")
        .unwrap()
        .optional_categories
        .push("app-info".parse().unwrap());
    let report = troth_policy::diff(&v1, &v2);
    assert!(report.significant && report.needs_explicit_consent);
    let (mut h, h1, h2) = with_history(&v1, &v2);
    let cats = ["device-info", "preference-profile"];
    h.consent(ConsentFact::given(pid("personalised-content"), h1));
    denied(
        &h.ask("personalised-content", &cats),
        "consent_renewal_required",
    );
    // Non-consent purposes are not affected.
    allowed(&h.ask("security", &["device-id"]));
    h.fact(Fact::AcceptVersion {
        version: h2,
        method: Method::Form,
        evidence: None,
    });
    allowed(&h.ask("personalised-content", &cats));
}

#[test]
fn s003_r24_written_guardian_consent_below_18() {
    let mut h = H::pack(PACK);
    h.fact(Fact::Age(AgeInfo::Declared(AgeBand::Minor)));
    h.fact(Fact::GuardianLink {
        guardian: Some(GUARDIAN),
    });
    let v = h.hash();
    h.consent(
        ConsentFact::given(pid("bookmarks-downloads"), v).with_actor(Actor::Guardian {
            guardian: GUARDIAN,
            evidence: troth_policy::GuardianEvidence::Recorded,
            evidence_hash: None,
        }),
    );
    denied(
        &h.ask("bookmarks-downloads", &["saved-media"]),
        "written_guardian_evidence_required",
    );
    h.consent(ConsentFact::given(pid("bookmarks-downloads"), v).with_actor(written_guardian()));
    allowed(&h.ask("bookmarks-downloads", &["saved-media"]));
}
