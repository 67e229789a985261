//! S000 — UCOMMUNE (`packs/s000-ucommune`).

use crate::common::*;
use troth_core::*;

const PACK: &str = "s000-ucommune";

#[test]
fn s000_r02_log_categories_only_for_logging() {
    let h = H::pack(PACK);
    let logs = [
        "ip-address",
        "visited-url",
        "browser-type",
        "language",
        "access-time",
        "service-usage",
    ];
    allowed(&h.ask("service-logging", &logs));
    denied(
        &h.ask("service-logging", &["ip-address", "location"]),
        "category_not_declared_for_purpose",
    );
    denied(
        &h.ask("service-logging", &["shoe-size"]),
        "undeclared_category",
    );
}

#[test]
fn s000_r03_device_identifiers_only_for_declared_purposes() {
    let mut h = H::pack(PACK);
    denied(
        &h.ask("device-optimisation", &["imei", "mac"]),
        "consent_missing",
    );
    h.give("device-optimisation");
    allowed(&h.ask("device-optimisation", &["hardware-model", "imei", "mac"]));
    denied(
        &h.ask("software-updates", &["imei"]),
        "category_not_declared_for_purpose",
    );
    denied(
        &h.ask("site-cookies", &["mac"]),
        "category_not_declared_for_purpose",
    );
}

#[test]
fn s000_r04_location_only_for_location_purpose() {
    let mut h = H::pack(PACK);
    h.give_all(&["location-services", "personalisation"]);
    h.give_scope("location-services", cat("location"));
    let d = h.ask("location-services", &["location"]);
    allowed(&d);
    assert!(
        d.obligations
            .iter()
            .any(|o| matches!(o, Obligation::DoNotStore { .. }))
    );
    denied(
        &h.ask("personalisation", &["location"]),
        "category_not_declared_for_purpose",
    );
    denied(
        &h.ask("service-logging", &["location"]),
        "category_not_declared_for_purpose",
    );
}

#[test]
fn s000_r05_refused_cookies_denied_only_where_needed() {
    let mut h = H::pack(PACK);
    h.set(ConsentStatus::Refused, "partner-cookies");
    denied(&h.ask("partner-cookies", &["cookie-id"]), "consent_refused");
    // The site's own cookies, a basic function, keep working.
    allowed(&h.ask("site-cookies", &["cookie-id"]));
}

#[test]
fn s000_r07_personalisation_consent_gated_withdrawal_stops_it() {
    let mut h = H::pack(PACK);
    let cats = ["service-usage", "visited-url", "language", "cookie-id"];
    denied(&h.ask("personalisation", &cats), "consent_missing");
    h.give("personalisation");
    allowed(&h.ask("personalisation", &cats));
    h.set(ConsentStatus::Withdrawn, "personalisation");
    denied(&h.ask("personalisation", &cats), "consent_withdrawn");
}

#[test]
fn s000_r08_undeclared_recipient_denied_affiliate_allowed_and_logged() {
    let mut h = H::pack(PACK);
    h.give("registration");
    let to_affiliate =
        H::req("registration", &["account-name", "phone"]).with_recipient(rid("affiliates"));
    let d = h.ask_req(&to_affiliate);
    allowed(&d);
    assert!(
        disclosure(&d, DisclosureKind::Sharing).is_some(),
        "affiliate sharing is logged"
    );
    let broker = H::req("registration", &["account-name"]).with_recipient(rid("data-broker"));
    denied(&h.ask_req(&broker), "undeclared_recipient");
}

#[test]
fn s000_r09_partners_get_only_declared_categories_and_purposes() {
    let mut h = H::pack(PACK);
    h.give_all(&["partner-services", "product-improvement", "registration"]);
    h.give_scope("partner-services", Scope::Recipient(rid("partners")));
    let ok = H::req("partner-services", &["account-name", "phone"]).with_recipient(rid("partners"));
    allowed(&h.ask_req(&ok));
    let other_purpose =
        H::req("product-improvement", &["service-usage"]).with_recipient(rid("partners"));
    denied(&h.ask_req(&other_purpose), "recipient_purpose_not_declared");
    let other_cat = H::req("registration", &["password"]).with_recipient(rid("affiliates"));
    denied(
        &h.ask_req(&other_cat),
        "category_not_declared_for_recipient",
    );
}

#[test]
fn s000_r13_under_18_needs_guardian_consent() {
    let mut h = H::pack(PACK);
    h.fact(Fact::Age(AgeInfo::BirthDate(jiff::civil::date(2010, 3, 1))));
    h.fact(Fact::GuardianLink {
        guardian: Some(GUARDIAN),
    });
    h.give("personalisation");
    let cats = ["service-usage", "language"];
    denied(
        &h.ask("personalisation", &cats),
        "guardian_consent_required",
    );
    // Contract-based processing is not consent-based: unaffected.
    allowed(&h.ask("service-logging", &["ip-address"]));
    let v = h.hash();
    h.consent(
        ConsentFact::given(pid("personalisation"), v)
            .with_method(Method::Guardian)
            .with_actor(Actor::Guardian {
                guardian: GUARDIAN,
                evidence: troth_policy::GuardianEvidence::Recorded,
                evidence_hash: None,
            }),
    );
    allowed(&h.ask("personalisation", &cats));
}
