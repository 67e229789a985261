//! S004 — MobTech SDK platform (`packs/s004-mobtech`, `packs/s004-mobtech/v2`).

use crate::common::*;
use troth_core::*;

const PACK: &str = "s004-mobtech";

const MOBLINK: [&str; 3] = ["deep-link-params", "app-info", "device-id"];

#[test]
fn s004_r03_sdk_needs_attestation() {
    let mut h = H::pack(PACK);
    // The end user's own consent, without the developer's attestation, is not enough.
    h.give("sdk-moblink");
    denied(&h.ask("sdk-moblink", &MOBLINK), "attestation_missing");
    h.attest("sdk-moblink");
    allowed(&h.ask("sdk-moblink", &MOBLINK));
    // An attestation for one SDK says nothing about another.
    h.give("sdk-ads");
    denied(&h.ask("sdk-ads", &["device-id"]), "attestation_missing");
}

#[test]
fn s004_r04_cross_sdk_use_denied() {
    let mut h = H::pack(PACK);
    h.attest("sdk-moblink");
    h.give_scope("sdk-moblink", cat("location"));
    denied(
        &h.ask("sdk-moblink", &["device-id", "location"]),
        "category_not_declared_for_purpose",
    );
    denied(
        &h.ask("sdk-moblink", &["address-book"]),
        "category_not_declared_for_purpose",
    );
    // Each SDK purpose matches its [[sdks]] entry.
    let policy = load(PACK);
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

#[test]
fn s004_r05_separate_consent_per_sensitive_category() {
    let mut h = H::pack(PACK);
    h.attest("sdk-smssdk");
    let cats = ["phone", "app-info", "address-book"];
    let d = h.ask("sdk-smssdk", &cats);
    denied(&d, "sensitive_consent_missing");
    h.give_scope("sdk-smssdk", cat("phone"));
    let d = h.ask("sdk-smssdk", &cats);
    denied(&d, "sensitive_consent_missing");
    assert_eq!(
        d.reasons.len(),
        1,
        "only address-book is missing: {:?}",
        codes(&d)
    );
    h.give_scope("sdk-smssdk", cat("address-book"));
    allowed(&h.ask("sdk-smssdk", &cats));
}

#[test]
fn s004_r06_forbidden_categories_rejected() {
    let mut h = H::pack(PACK);
    h.attest("sdk-ads");
    for c in [
        "race",
        "political-views",
        "religion",
        "genetic",
        "biometric",
        "sexual-orientation",
    ] {
        h.give_scope("sdk-ads", cat(c));
        denied(&h.ask("sdk-ads", &[c]), "forbidden_category");
        denied(&h.ask("legal-compliance", &[c]), "forbidden_category");
    }
}

#[test]
fn s004_r08_affiliate_declared_logged_purpose_change_needs_consent() {
    let mut h = H::pack(PACK);
    let ok = H::req("security-fraud", &["web-log", "device-id"])
        .with_recipient(rid("guangzhou-zhangtao"));
    h.attest("security-fraud");
    let d = h.ask_req(&ok);
    allowed(&d);
    assert!(disclosure(&d, DisclosureKind::Sharing).is_some());
    h.give("developer-marketing");
    let changed =
        H::req("developer-marketing", &["email"]).with_recipient(rid("guangzhou-zhangtao"));
    denied(&h.ask_req(&changed), "recipient_purpose_not_declared");
    h.give_scope(
        "developer-marketing",
        Scope::Recipient(rid("guangzhou-zhangtao")),
    );
    allowed(&h.ask_req(&changed));
}

#[test]
fn s004_r09_per_recipient_categories_finance_needs_explicit_consent() {
    let mut h = H::pack(PACK);
    h.attest("sdk-ads");
    let ads = H::req("sdk-ads", &["os-info", "ad-interaction"])
        .with_recipient(rid("ads-analytics-partners"));
    h.give_scope("sdk-ads", Scope::Recipient(rid("ads-analytics-partners")));
    allowed(&h.ask_req(&ads));
    // Ads and analytics partners get no identifiers.
    let ids = H::req("sdk-ads", &["device-id"]).with_recipient(rid("ads-analytics-partners"));
    denied(&h.ask_req(&ids), "category_not_declared_for_recipient");
    h.attest("finance-analysis");
    h.give_scope("finance-analysis", cat("confidence-label"));
    let fin = H::req("finance-analysis", &["confidence-label", "oaid"])
        .with_recipient(rid("finance-analysis-partners"));
    denied(&h.ask_req(&fin), "sharing_consent_missing");
    h.give_scope(
        "finance-analysis",
        Scope::Recipient(rid("finance-analysis-partners")),
    );
    allowed(&h.ask_req(&fin));
}

#[test]
fn s004_r10_disclosure_by_law_records_its_exemption() {
    let h = H::pack(PACK);
    let r = H::req("legal-compliance", &["email", "web-log"]).with_recipient(rid("authorities"));
    let d = h.ask_req(&r);
    allowed(&d);
    let b = d.basis.clone().unwrap();
    assert_eq!(b.legal, troth_policy::LegalBasis::LegalObligation);
    assert_eq!(b.exemption.unwrap().as_str(), "other-law");
    assert!(disclosure(&d, DisclosureKind::Sharing).is_some());
}

#[test]
fn s004_r15_withdrawal_immediate() {
    let mut h = H::pack(PACK);
    h.attest("sdk-moblink");
    allowed(&h.ask("sdk-moblink", &MOBLINK));
    h.set(ConsentStatus::Withdrawn, "sdk-moblink");
    denied(&h.ask("sdk-moblink", &MOBLINK), "consent_withdrawn");
}

#[test]
fn s004_r18_opt_out_denies_marketing_keeps_service_notices() {
    let mut h = H::pack(PACK);
    h.give("developer-marketing");
    h.fact(Fact::TargetingOptOut { opted_out: true });
    denied(
        &h.ask("developer-marketing", &["email"]),
        "targeting_opt_out",
    );
    allowed(&h.ask("service-notices", &["email"]));
}

#[test]
fn s004_r22_children_blocked() {
    let mut h = H::pack(PACK);
    h.fact(Fact::Age(AgeInfo::BirthDate(jiff::civil::date(2015, 1, 1))));
    h.attest("sdk-moblink");
    denied(&h.ask("sdk-moblink", &MOBLINK), "child_not_accepted");
    denied(&h.ask("service-notices", &["email"]), "child_not_accepted");
}

#[test]
fn s004_r23_cross_border_denied() {
    let mut h = H::pack(PACK);
    h.attest("sdk-moblink");
    h.give_scope("sdk-moblink", Scope::Destination(cc("SG")));
    let abroad = H::req("sdk-moblink", &MOBLINK).with_destination(cc("SG"));
    denied(&h.ask_req(&abroad), "transfer_not_declared");
}

#[test]
fn s004_r25_significant_change_with_rights_reduction_needs_renewal() {
    let v1 = load(PACK);
    let v2 = match troth_policy::load_pack(&pack_dir(PACK).join("v2")) {
        Ok(p) => p.policy,
        Err(e) => panic!("v2 does not load: {e}"),
    };
    let report = troth_policy::diff(&v1, &v2);
    assert!(report.significant && report.rights_reduced && report.needs_explicit_consent);
    let (mut h, h1, h2) = with_history(&v1, &v2);
    h.consent(ConsentFact::given(pid("developer-marketing"), h1));
    denied(
        &h.ask("developer-marketing", &["email"]),
        "consent_renewal_required",
    );
    h.fact(Fact::AcceptVersion {
        version: h2,
        method: Method::Form,
        evidence: None,
    });
    allowed(&h.ask("developer-marketing", &["email"]));
}

#[test]
fn s004_r02_certification_alternative_sets_declared() {
    let mut h = H::pack(PACK);
    h.give("developer-certification");
    h.give_scope("developer-certification", cat("id-number"));
    allowed(&h.ask("developer-certification", &["legal-name", "id-number"]));
    allowed(&h.ask("developer-certification", &["company-name", "credit-code"]));
    denied(
        &h.ask("developer-certification", &["location"]),
        "category_not_declared_for_purpose",
    );
}

#[test]
fn s004_r07_data_service_deidentified_at_collection() {
    let mut h = H::pack(PACK);
    h.attest("data-service");
    let d = h.ask("data-service", &["app-info", "os-info"]);
    allowed(&d);
    assert!(d.obligations.contains(&Obligation::DeidentifyOnCollection));
}
