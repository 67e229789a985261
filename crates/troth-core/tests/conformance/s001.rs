//! S001 — social services (`packs/s001-social-services`).

use crate::common::*;
use troth_core::*;

const PACK: &str = "s001-social-services";

#[test]
fn s001_r01_only_the_declared_purposes() {
    let h = H::pack(PACK);
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
        assert!(!h.ask(p, &[]).has("undeclared_purpose"), "{p} is declared");
    }
    denied(&h.ask("data-sale", &["account-id"]), "undeclared_purpose");
}

#[test]
fn s001_r02_ads_consent_gated_gpc_dnt_withdrawal() {
    let mut h = H::pack(PACK);
    let cats = ["device-id", "ad-interaction"];
    denied(&h.ask("ad-measurement", &cats), "consent_missing");
    h.give_all(&["ad-measurement", "ads-personalised"]);
    allowed(&h.ask("ad-measurement", &cats));
    let gpc = H::req("ads-personalised", &["device-id"]).with_signals(Signals {
        gpc: true,
        dnt: false,
    });
    denied(&h.ask_req(&gpc), "gpc_opt_out");
    let dnt = H::req("ad-measurement", &cats).with_signals(Signals {
        gpc: false,
        dnt: true,
    });
    denied(&h.ask_req(&dnt), "dnt_opt_out");
    h.set(ConsentStatus::Withdrawn, "ad-measurement");
    denied(&h.ask("ad-measurement", &cats), "consent_withdrawn");
}

#[test]
fn s001_r03_cross_service_needs_its_own_consent() {
    let mut h = H::pack(PACK);
    h.give_all(&["personalisation", "service-improvement", "ads-personalised"]);
    denied(
        &h.ask("cross-service", &["account-id", "log-info"]),
        "consent_missing",
    );
    h.give("cross-service");
    allowed(&h.ask("cross-service", &["account-id", "log-info"]));
}

#[test]
fn s001_r04_sharing_only_to_declared_recipients_for_listed_purposes() {
    let mut h = H::pack(PACK);
    h.give("personalisation");
    let ok = H::req("provide-services", &["account-id"]).with_recipient(rid("affiliates"));
    let d = h.ask_req(&ok);
    allowed(&d);
    assert!(disclosure(&d, DisclosureKind::Sharing).is_some());
    let wrong = H::req("personalisation", &["log-info"]).with_recipient(rid("partners"));
    denied(&h.ask_req(&wrong), "recipient_purpose_not_declared");
    let unknown = H::req("provide-services", &["account-id"]).with_recipient(rid("ad-network"));
    denied(&h.ask_req(&unknown), "undeclared_recipient");
}

#[test]
fn s001_r05_transfer_needs_separate_consent_and_is_logged() {
    let mut h = H::pack(PACK);
    let hk = H::req("provide-services", &["account-id"]).with_recipient(rid("overseas-affiliate"));
    let d = h.ask_req(&hk);
    denied(&d, "cross_border_consent_missing");
    h.give_scope("provide-services", Scope::Destination(cc("HK")));
    h.give_scope(
        "provide-services",
        Scope::Recipient(rid("overseas-affiliate")),
    );
    let d = h.ask_req(&hk);
    allowed(&d);
    match disclosure(&d, DisclosureKind::Transfer) {
        Some(Obligation::RecordDisclosure { destination, .. }) => {
            assert_eq!(*destination, Some(cc("HK")))
        }
        other => panic!("transfer not logged: {other:?}"),
    }
}

#[test]
fn s001_r08_sensitive_categories_need_separate_consent() {
    let mut h = H::pack(PACK);
    let social: troth_policy::ids::ServiceId = "social-media".parse().unwrap();
    h.give("public-sharing");
    h.give_scope("public-sharing", Scope::PublicDisclosure);
    let r = H::req("public-sharing", &["user-content", "health"]).with_service(social);
    denied(&h.ask_req(&r), "sensitive_consent_missing");
    h.give_scope("public-sharing", cat("health"));
    allowed(&h.ask_req(&r));
}

#[test]
fn s001_r12_two_minor_bands() {
    let cats = ["settings", "log-info"];
    // Under 14: the guardian's own consent.
    let mut child = H::pack(PACK);
    child.fact(Fact::Age(AgeInfo::Declared(AgeBand::Child)));
    child.give("personalisation");
    denied(
        &child.ask("personalisation", &cats),
        "guardian_consent_required",
    );
    let v = child.hash();
    child.consent(
        ConsentFact::given(pid("personalisation"), v).with_actor(Actor::Guardian {
            guardian: GUARDIAN,
            evidence: troth_policy::GuardianEvidence::Recorded,
            evidence_hash: None,
        }),
    );
    allowed(&child.ask("personalisation", &cats));
    // 14–17: the minor consents, with the guardian's authorisation.
    let mut minor = H::pack(PACK);
    minor.fact(Fact::Age(AgeInfo::Declared(AgeBand::Minor)));
    minor.give("personalisation");
    denied(
        &minor.ask("personalisation", &cats),
        "guardian_authorisation_required",
    );
    minor.fact(Fact::GuardianAuthorisation {
        granted: true,
        guardian: GUARDIAN,
        evidence: troth_policy::GuardianEvidence::Recorded,
        evidence_hash: None,
    });
    allowed(&minor.ask("personalisation", &cats));
    // Adults need neither.
    let mut adult = H::pack(PACK);
    adult.fact(Fact::Age(AgeInfo::Declared(AgeBand::Adult)));
    adult.give("personalisation");
    allowed(&adult.ask("personalisation", &cats));
}

#[test]
fn s001_r13_service_policy_overrides_main_policy() {
    let h = H::pack(PACK);
    let social: troth_policy::ids::ServiceId = "social-media".parse().unwrap();
    let main = h.ask("provide-services", &["account-id", "user-content"]);
    allowed(&main);
    let in_service =
        H::req("provide-services", &["account-id", "user-content"]).with_service(social);
    let d = h.ask_req(&in_service);
    denied(&d, "consent_missing");
    assert_eq!(d.basis.unwrap().legal, troth_policy::LegalBasis::Consent);
}

#[test]
fn s001_r15_rights_reduction_needs_renewed_consent() {
    let v1 = load(PACK);
    let mut v2 = v1.clone();
    v2.policy.version = "2.0".into();
    let before = v2.rights.offered.len();
    v2.rights
        .offered
        .retain(|r| r.kind != troth_policy::RightKind::Complaint);
    assert!(
        v2.rights.offered.len() < before,
        "the pack offers a complaint right"
    );
    let report = troth_policy::diff(&v1, &v2);
    assert!(report.rights_reduced && report.needs_explicit_consent);
    let (mut h, h1, h2) = with_history(&v1, &v2);
    h.consent(ConsentFact::given(pid("personalisation"), h1));
    denied(
        &h.ask("personalisation", &["settings"]),
        "consent_renewal_required",
    );
    h.fact(Fact::AcceptVersion {
        version: h2,
        method: Method::Form,
        evidence: None,
    });
    allowed(&h.ask("personalisation", &["settings"]));
}
