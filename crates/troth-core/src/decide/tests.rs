//! One test per decision rule; each fails if its rule is removed.

use jiff::Timestamp;
use troth_policy::ids::{PurposeId, RecipientId, ServiceId};
use troth_policy::{GuardianEvidence, GuardianRule, Policy, Renewal};

use crate::*;

const T: TenantId = TenantId::from_u128(7);
const S: SubjectId = SubjectId::from_u128(9);
const G: SubjectId = SubjectId::from_u128(10);

pub(crate) fn fixture() -> Policy {
    toml::from_str(include_str!("../../tests/fixtures/engine.toml")).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn pid(s: &str) -> PurposeId {
    s.parse().unwrap()
}

fn rid(s: &str) -> RecipientId {
    s.parse().unwrap()
}

fn cc(s: &str) -> CountryCode {
    CountryCode::new(s).unwrap()
}

struct World {
    compiled: CompiledPolicy,
    state: SubjectState,
    n: u64,
}

impl World {
    fn new() -> Self {
        Self::with(&fixture())
    }

    fn with(p: &Policy) -> Self {
        Self {
            compiled: CompiledPolicy::compile(p, PolicyVersion::of(p)).unwrap(),
            state: SubjectState::new(T, S),
            n: 0,
        }
    }

    fn hash(&self) -> PolicyHash {
        self.compiled.version().hash
    }

    fn push(&mut self, fact: Fact) {
        self.n += 1;
        let at = ts("2025-05-01T00:00:00Z") + jiff::SignedDuration::from_secs(self.n as i64);
        let e = LedgerEvent {
            id: EventId::from_parts(self.n, u128::from(self.n)),
            tenant: T,
            subject: S,
            at,
            fact,
        };
        self.state.apply(&e).unwrap();
    }

    fn consent(&mut self, f: ConsentFact) {
        self.push(Fact::Consent(f));
    }

    fn give(&mut self, purpose: &str) {
        let h = self.hash();
        self.consent(ConsentFact::given(pid(purpose), h));
    }

    fn give_scope(&mut self, purpose: &str, scope: Scope) {
        let h = self.hash();
        self.consent(ConsentFact::given(pid(purpose), h).with_scope(scope));
    }

    fn set(&mut self, status: ConsentStatus, purpose: &str) {
        let h = self.hash();
        self.consent(ConsentFact::new(status, pid(purpose), h));
    }

    fn req(purpose: &str, cats: &[&str]) -> DecisionRequest {
        DecisionRequest::try_new(purpose, cats, ts("2025-06-01T00:00:00Z")).unwrap()
    }

    fn ask(&self, purpose: &str, cats: &[&str]) -> Decision {
        self.ask_req(&Self::req(purpose, cats))
    }

    fn ask_req(&self, r: &DecisionRequest) -> Decision {
        decide(&self.compiled, &self.state, r)
    }
}

fn codes(d: &Decision) -> Vec<&'static str> {
    d.reasons.iter().map(Reason::code).collect()
}

#[track_caller]
fn allowed(d: &Decision) {
    assert!(d.allow, "expected allow, got {:?}", codes(d));
}

#[track_caller]
fn denied(d: &Decision, code: &str) {
    assert!(!d.allow, "expected deny with {code}");
    assert!(d.has(code), "expected {code}, got {:?}", codes(d));
}

#[test]
fn undeclared_purpose_is_denied() {
    let w = World::new();
    denied(&w.ask("mining", &["email"]), "undeclared_purpose");
    allowed(&w.ask("account", &["email"]));
}

#[test]
fn unknown_category_is_denied() {
    denied(
        &World::new().ask("account", &["shoe-size"]),
        "undeclared_category",
    );
}

#[test]
fn category_must_be_declared_for_the_purpose() {
    let w = World::new();
    denied(
        &w.ask("account", &["device-id"]),
        "category_not_declared_for_purpose",
    );
    // Optional categories count as declared (seed 002 R01).
    allowed(&w.ask("account", &["email", "phone"]));
}

#[test]
fn forbidden_category_is_always_denied() {
    let mut p = fixture();
    // Even a purpose that lists it cannot use it.
    p.purposes[0].categories.push("religion".parse().unwrap());
    let w = World::with(&p);
    denied(&w.ask("account", &["religion"]), "forbidden_category");
}

#[test]
fn non_consent_basis_allows_without_consent_and_names_basis_and_exemption() {
    let w = World::new();
    let d = w.ask("account", &["email"]);
    allowed(&d);
    assert_eq!(d.basis.unwrap().legal, troth_policy::LegalBasis::Contract);
    let d = w.ask("legal", &["email", "health"]);
    allowed(&d);
    let b = d.basis.unwrap();
    assert_eq!(b.legal, troth_policy::LegalBasis::LegalObligation);
    assert_eq!(b.exemption.unwrap().as_str(), "law");
}

#[test]
fn consent_basis_needs_current_consent() {
    let mut w = World::new();
    denied(&w.ask("promo", &["email"]), "consent_missing");
    w.give("promo");
    allowed(&w.ask("promo", &["email"]));
    w.set(ConsentStatus::Withdrawn, "promo");
    denied(&w.ask("promo", &["email"]), "consent_withdrawn");
    w.set(ConsentStatus::Refused, "promo");
    denied(&w.ask("promo", &["email"]), "consent_refused");
    w.set(ConsentStatus::Expired, "promo");
    denied(&w.ask("promo", &["email"]), "consent_expired");
    let h = w.hash();
    w.consent(ConsentFact::given(pid("promo"), h).expiring(ts("2025-05-15T00:00:00Z")));
    denied(&w.ask("promo", &["email"]), "consent_expired");
}

#[test]
fn sensitive_category_needs_separate_consent() {
    let mut w = World::new();
    w.give("nearby");
    denied(&w.ask("nearby", &["location"]), "sensitive_consent_missing");
    w.give_scope("nearby", Scope::Category("location".parse().unwrap()));
    allowed(&w.ask("nearby", &["location"]));
}

#[test]
fn sharing_with_a_partner_needs_separate_consent_and_is_recorded() {
    let mut w = World::new();
    w.give("promo");
    let r = World::req("promo", &["email"]).with_recipient(rid("partner"));
    denied(&w.ask_req(&r), "sharing_consent_missing");
    w.give_scope("promo", Scope::Recipient(rid("partner")));
    let d = w.ask_req(&r);
    allowed(&d);
    assert!(d.obligations.iter().any(|o| matches!(o,
        Obligation::RecordDisclosure { kind: DisclosureKind::Sharing, recipient: Some(r), .. } if r.as_str() == "partner")));
    // Affiliates for their declared purpose need no separate consent, but are logged.
    let d = w.ask_req(&World::req("account", &["email"]).with_recipient(rid("affiliate")));
    allowed(&d);
    assert!(
        d.obligations
            .iter()
            .any(|o| matches!(o, Obligation::RecordDisclosure { .. }))
    );
}

#[test]
fn recipient_requiring_explicit_consent_needs_it_even_without_consent_basis() {
    let mut w = World::new();
    let r = World::req("finance", &["email"]).with_recipient(rid("finance-partner"));
    denied(&w.ask_req(&r), "sharing_consent_missing");
    w.give_scope("finance", Scope::Recipient(rid("finance-partner")));
    allowed(&w.ask_req(&r));
}

#[test]
fn recipient_gets_only_declared_categories() {
    let w = World::new();
    let r = World::req("account", &["email", "phone"]).with_recipient(rid("affiliate"));
    denied(&w.ask_req(&r), "category_not_declared_for_recipient");
}

#[test]
fn recipient_gets_data_only_for_declared_purposes() {
    let mut w = World::new();
    w.give("signup");
    let r = World::req("signup", &["email"]).with_recipient(rid("affiliate"));
    denied(&w.ask_req(&r), "recipient_purpose_not_declared");
    // A new consent for the changed purpose makes it lawful (seed 002 R09).
    w.give_scope("signup", Scope::Recipient(rid("affiliate")));
    allowed(&w.ask_req(&r));
    let r = World::req("account", &["email"]).with_recipient(rid("stranger"));
    denied(&w.ask_req(&r), "undeclared_recipient");
}

#[test]
fn public_disclosure_needs_separate_consent() {
    let mut w = World::new();
    w.give("publish");
    denied(
        &w.ask("publish", &["email"]),
        "public_disclosure_consent_missing",
    );
    w.give_scope("publish", Scope::PublicDisclosure);
    let d = w.ask("publish", &["email"]);
    allowed(&d);
    assert!(d.obligations.iter().any(|o| matches!(
        o,
        Obligation::RecordDisclosure {
            kind: DisclosureKind::PublicDisclosure,
            ..
        }
    )));
}

#[test]
fn cross_border_needs_declared_transfer_and_separate_consent() {
    let mut w = World::new();
    w.give("overseas");
    let sg = World::req("overseas", &["email"]).with_recipient(rid("sg-node"));
    denied(&w.ask_req(&sg), "cross_border_consent_missing");
    w.give_scope("overseas", Scope::Destination(cc("SG")));
    let d = w.ask_req(&sg);
    allowed(&d);
    assert!(d.obligations.iter().any(|o| matches!(o,
        Obligation::RecordDisclosure { kind: DisclosureKind::Transfer, destination: Some(c), .. } if c.as_str() == "SG")));
    // Destination stated without a recipient works the same way.
    allowed(&w.ask_req(&World::req("overseas", &["email"]).with_destination(cc("SG"))));
    // The transfer does not cover phone, although the recipient may get it.
    let phone = World::req("overseas", &["email", "phone"]).with_recipient(rid("sg-node"));
    denied(&w.ask_req(&phone), "category_not_declared_for_transfer");
    // No transfer is declared for the US node.
    w.give_scope("overseas", Scope::Destination(cc("US")));
    let us = World::req("overseas", &["email"]).with_recipient(rid("us-node"));
    denied(&w.ask_req(&us), "transfer_not_declared");
}

fn child_world(p: &Policy) -> World {
    let mut w = World::with(p);
    w.push(Fact::Age(AgeInfo::BirthDate(jiff::civil::date(2015, 1, 1))));
    w.push(Fact::GuardianLink { guardian: Some(G) });
    w
}

fn guardian(evidence: GuardianEvidence) -> Actor {
    Actor::Guardian {
        guardian: G,
        evidence,
        evidence_hash: None,
    }
}

#[test]
fn child_needs_guardian_consent() {
    let mut w = child_world(&fixture());
    w.give("promo");
    denied(&w.ask("promo", &["email"]), "guardian_consent_required");
    let h = w.hash();
    // A guardian other than the linked one does not count.
    w.consent(
        ConsentFact::given(pid("promo"), h).with_actor(Actor::Guardian {
            guardian: SubjectId::from_u128(99),
            evidence: GuardianEvidence::Recorded,
            evidence_hash: None,
        }),
    );
    denied(&w.ask("promo", &["email"]), "guardian_consent_required");
    w.consent(
        ConsentFact::given(pid("promo"), h)
            .with_actor(guardian(GuardianEvidence::Recorded))
            .with_method(Method::Guardian),
    );
    allowed(&w.ask("promo", &["email"]));
    // The band is computed at the decision's date: at 14 the child rule stops.
    let mut adult_later = child_world(&fixture());
    adult_later.give("promo");
    let r = DecisionRequest::try_new("promo", &["email"], ts("2033-01-02T00:00:00Z")).unwrap();
    allowed(&adult_later.ask_req(&r));
}

#[test]
fn blocked_child_rule_denies_everything() {
    let mut p = fixture();
    p.minors.child_rule = GuardianRule::Blocked;
    let w = child_world(&p);
    denied(&w.ask("account", &["email"]), "child_not_accepted");
    p.minors.minor_rule = GuardianRule::Blocked;
    let mut w = World::with(&p);
    w.push(Fact::Age(AgeInfo::Declared(AgeBand::Minor)));
    denied(&w.ask("account", &["email"]), "minor_not_accepted");
}

#[test]
fn minor_needs_guardian_authorisation() {
    let mut w = World::new();
    w.push(Fact::Age(AgeInfo::Declared(AgeBand::Minor)));
    w.give("promo");
    denied(
        &w.ask("promo", &["email"]),
        "guardian_authorisation_required",
    );
    w.push(Fact::GuardianAuthorisation {
        granted: true,
        guardian: G,
        evidence: GuardianEvidence::Recorded,
        evidence_hash: None,
    });
    allowed(&w.ask("promo", &["email"]));
    w.push(Fact::GuardianAuthorisation {
        granted: false,
        guardian: G,
        evidence: GuardianEvidence::Recorded,
        evidence_hash: None,
    });
    denied(
        &w.ask("promo", &["email"]),
        "guardian_authorisation_required",
    );
}

#[test]
fn written_guardian_evidence_when_the_pack_says_so() {
    let mut p = fixture();
    p.minors.guardian_evidence = GuardianEvidence::Written;
    let mut w = child_world(&p);
    let h = w.hash();
    w.consent(ConsentFact::given(pid("promo"), h).with_actor(guardian(GuardianEvidence::Recorded)));
    denied(
        &w.ask("promo", &["email"]),
        "written_guardian_evidence_required",
    );
    w.consent(ConsentFact::given(pid("promo"), h).with_actor(guardian(GuardianEvidence::Written)));
    allowed(&w.ask("promo", &["email"]));
}

#[test]
fn gpc_and_dnt_deny_tracking_advertising_and_sale() {
    let mut w = World::new();
    for p in ["tracking", "ads", "account"] {
        w.give(p);
    }
    let gpc = Signals {
        gpc: true,
        dnt: false,
    };
    let dnt = Signals {
        gpc: false,
        dnt: true,
    };
    let with = |p: &str, s| World::req(p, &["device-id"]).with_signals(s);
    denied(&w.ask_req(&with("tracking", gpc)), "gpc_opt_out");
    denied(&w.ask_req(&with("ads", gpc)), "gpc_opt_out");
    denied(&w.ask_req(&with("tracking", dnt)), "dnt_opt_out");
    allowed(&w.ask_req(&World::req("account", &["email"]).with_signals(gpc)));
    allowed(&w.ask_req(&with("tracking", Signals::default())));
    // Where the tenant does not honour DNT, only GPC counts.
    w.compiled.set_honour_dnt(false);
    allowed(&w.ask_req(&with("tracking", dnt)));
    denied(&w.ask_req(&with("tracking", gpc)), "gpc_opt_out");
}

#[test]
fn targeting_opt_out_denies_marketing_but_not_service_notices() {
    let mut w = World::new();
    for p in ["push", "ads", "tracking"] {
        w.give(p);
    }
    w.push(Fact::TargetingOptOut { opted_out: true });
    denied(&w.ask("push", &["device-id"]), "targeting_opt_out");
    denied(&w.ask("ads", &["device-id"]), "targeting_opt_out");
    allowed(&w.ask("notices", &["email"]));
    allowed(&w.ask("tracking", &["device-id"]));
    w.push(Fact::TargetingOptOut { opted_out: false });
    allowed(&w.ask("push", &["device-id"]));
}

fn two_versions(change: impl FnOnce(&mut Policy)) -> (Policy, Policy) {
    let v1 = fixture();
    let mut v2 = v1.clone();
    v2.policy.version = "2.0".into();
    change(&mut v2);
    (v1, v2)
}

fn history_world(v1: &Policy, v2: &Policy) -> (World, PolicyHash, PolicyHash) {
    let history = vec![
        (PolicyVersion::of(v1), v1.clone()),
        (PolicyVersion::of(v2), v2.clone()),
    ];
    let compiled = CompiledPolicy::compile_history(&history).unwrap().unwrap();
    let w = World {
        compiled,
        state: SubjectState::new(T, S),
        n: 0,
    };
    (w, history[0].0.hash, history[1].0.hash)
}

#[test]
fn significant_change_under_explicit_accept_needs_renewal() {
    let (v1, v2) = two_versions(|p| {
        // A new category for a purpose: purpose_type_use, significant.
        p.purposes
            .iter_mut()
            .find(|x| x.id.as_str() == "promo")
            .unwrap()
            .categories
            .push("phone".parse().unwrap());
    });
    assert_eq!(v2.changes.renewal, Renewal::ExplicitAccept);
    let (mut w, h1, h2) = history_world(&v1, &v2);
    w.consent(ConsentFact::given(pid("promo"), h1));
    denied(&w.ask("promo", &["email"]), "consent_renewal_required");
    w.push(Fact::AcceptVersion {
        version: h2,
        method: Method::Form,
        evidence: None,
    });
    allowed(&w.ask("promo", &["email"]));
    // Consent given under the new version counts without an accept event.
    let (mut w, _, h2) = history_world(&v1, &v2);
    w.consent(ConsentFact::given(pid("promo"), h2));
    allowed(&w.ask("promo", &["email"]));
}

#[test]
fn non_significant_change_carries_consent_over() {
    let (v1, v2) = two_versions(|p| {
        // Display names are editorial, not significant.
        p.purposes[0].name.en = "Your account".into();
    });
    let (mut w, h1, _) = history_world(&v1, &v2);
    w.consent(ConsentFact::given(pid("promo"), h1));
    allowed(&w.ask("promo", &["email"]));
    // Under renewal = notice even a significant change carries consent over.
    let (v1, v2) = two_versions(|p| {
        p.changes.renewal = Renewal::Notice;
        p.purposes
            .iter_mut()
            .find(|x| x.id.as_str() == "promo")
            .unwrap()
            .categories
            .push("phone".parse().unwrap());
    });
    let (mut w, h1, _) = history_world(&v1, &v2);
    w.consent(ConsentFact::given(pid("promo"), h1));
    allowed(&w.ask("promo", &["email"]));
}

#[test]
fn purpose_new_in_a_version_has_no_consent_until_asked() {
    let (v1, v2) = two_versions(|p| {
        let mut q = p
            .purposes
            .iter()
            .find(|x| x.id.as_str() == "promo")
            .unwrap()
            .clone();
        q.id = "newsletter".parse().unwrap();
        p.purposes.push(q);
    });
    let (mut w, _, h2) = history_world(&v1, &v2);
    w.push(Fact::AcceptVersion {
        version: h2,
        method: Method::Form,
        evidence: None,
    });
    denied(&w.ask("newsletter", &["email"]), "consent_missing");
    w.consent(ConsentFact::given(pid("newsletter"), h2));
    allowed(&w.ask("newsletter", &["email"]));
}

#[test]
fn validity_from_history_records_earliest_valid_version() {
    let (v1, v2) = two_versions(|p| p.controller.legal_name.en = "X".into());
    let mut v3 = v2.clone();
    v3.policy.version = "3.0".into();
    v3.purposes
        .iter_mut()
        .find(|x| x.id.as_str() == "promo")
        .unwrap()
        .categories
        .push("phone".parse().unwrap());
    let h: Vec<_> = [&v1, &v2, &v3]
        .iter()
        .map(|p| (PolicyVersion::of(p), (*p).clone()))
        .collect();
    let v = ConsentValidity::from_history(&h);
    assert_eq!(
        v.valid_from("account"),
        Some(h[2].0.hash),
        "v3 is significant under explicit_accept"
    );
    let mut notice = h.clone();
    for (_, p) in &mut notice {
        p.changes.renewal = Renewal::Notice;
    }
    let notice: Vec<_> = notice
        .into_iter()
        .map(|(_, p)| (PolicyVersion::of(&p), p))
        .collect();
    let v = ConsentValidity::from_history(&notice);
    assert_eq!(v.valid_from("account"), Some(notice[0].0.hash));
}

#[test]
fn withdrawing_an_additional_consent_never_denies_a_basic_purpose() {
    let mut w = World::new();
    w.give("signup");
    allowed(&w.ask("signup", &["email"]));
    for p in ["promo", "push", "ads", "nearby"] {
        w.set(ConsentStatus::Refused, p);
        w.set(ConsentStatus::Withdrawn, p);
    }
    w.push(Fact::TargetingOptOut { opted_out: true });
    allowed(&w.ask("signup", &["email"]));
    allowed(&w.ask("account", &["email", "phone"]));
}

#[test]
fn sdk_purpose_needs_developer_attestation() {
    let mut w = World::new();
    w.give("sdk-push");
    denied(&w.ask("sdk-push", &["device-id"]), "attestation_missing");
    let h = w.hash();
    let attest = ConsentFact::given(pid("sdk-push"), h)
        .with_method(Method::DeveloperAttestation)
        .with_actor(Actor::Developer {
            tenant: TenantId::from_u128(5),
        });
    w.consent(attest.clone());
    allowed(&w.ask("sdk-push", &["device-id"]));
    // The end user withdraws directly: the attestation no longer counts.
    w.set(ConsentStatus::Withdrawn, "sdk-push");
    let d = w.ask("sdk-push", &["device-id"]);
    denied(&d, "attestation_missing");
    denied(&d, "consent_withdrawn");
    w.consent(attest);
    allowed(&w.ask("sdk-push", &["device-id"]));
}

#[test]
fn cancelled_or_child_blocked_account_denies_everything() {
    let mut w = World::new();
    w.push(Fact::Account(AccountStatus::Cancelled));
    denied(&w.ask("account", &["email"]), "account_cancelled");
    w.push(Fact::Account(AccountStatus::ChildBlocked));
    denied(&w.ask("legal", &["email"]), "child_blocked");
    w.push(Fact::Account(AccountStatus::Active));
    allowed(&w.ask("account", &["email"]));
}

#[test]
fn anonymous_sessions_only_for_anonymous_purposes() {
    let w = World::new();
    allowed(&w.ask_req(&World::req("browse", &["device-id"]).anonymous()));
    denied(
        &w.ask_req(&World::req("account", &["email"]).anonymous()),
        "anonymous_not_allowed",
    );
}

#[test]
fn service_sub_policy_is_used_first() {
    let w = World::new();
    let lite: ServiceId = "lite".parse().unwrap();
    denied(&w.ask("nearby", &["location"]), "consent_missing");
    let d = w.ask_req(&World::req("nearby", &["location"]).with_service(lite.clone()));
    allowed(&d);
    assert_eq!(d.basis.unwrap().legal, troth_policy::LegalBasis::Contract);
    // A service without an override of the purpose falls back to the main policy.
    allowed(&w.ask_req(&World::req("account", &["email"]).with_service(lite)));
    let other = World::req("account", &["email"]).with_service("nope".parse().unwrap());
    denied(&w.ask_req(&other), "undeclared_service");
}

#[test]
fn cessation_stops_all_collection() {
    let mut w = World::new();
    let lite: ServiceId = "lite".parse().unwrap();
    w.compiled
        .set_cessation(CessationScope::Service(lite.clone()));
    denied(
        &w.ask_req(&World::req("account", &["email"]).with_service(lite)),
        "service_ceased",
    );
    allowed(&w.ask("account", &["email"]));
    w.compiled.set_cessation(CessationScope::All);
    denied(&w.ask("account", &["email"]), "service_ceased");
    denied(&w.ask("legal", &["email"]), "service_ceased");
}

#[test]
fn allowed_decisions_carry_retention_and_non_storage_obligations() {
    let mut w = World::new();
    w.give("nearby");
    w.give_scope("nearby", Scope::Category("location".parse().unwrap()));
    let d = w.ask("nearby", &["location"]);
    allowed(&d);
    assert!(d.obligations.contains(&Obligation::DeleteAfter {
        retention: troth_policy::Retention::None
    }));
    assert!(d.obligations.iter().any(
        |o| matches!(o, Obligation::DoNotStore { category } if category.as_str() == "location")
    ));
}

#[test]
fn reason_codes_are_stable_snake_case() {
    let r = Reason::CategoryNotDeclaredForPurpose {
        purpose: pid("ads"),
        category: "email".parse().unwrap(),
    };
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["code"], "category_not_declared_for_purpose");
    assert_eq!(v["code"], r.code());
    assert_eq!(v["purpose"], "ads");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const ADDITIONAL: [&str; 7] = [
        "nearby", "ads", "tracking", "push", "publish", "sdk-push", "promo",
    ];

    fn additional_event() -> impl Strategy<Value = Fact> {
        (
            0usize..ADDITIONAL.len(),
            0u8..4,
            0u8..5,
            0u8..4,
            any::<bool>(),
        )
            .prop_map(|(p, st, sc, m, opt)| {
                if sc == 4 && m == 3 {
                    return Fact::TargetingOptOut { opted_out: opt };
                }
                let status = [
                    ConsentStatus::Given,
                    ConsentStatus::Withdrawn,
                    ConsentStatus::Refused,
                    ConsentStatus::Expired,
                ][usize::from(st)];
                let scope = match sc {
                    0 => Scope::Purpose,
                    1 => Scope::Category("location".parse().unwrap()),
                    2 => Scope::Recipient(rid("partner")),
                    3 => Scope::Destination(cc("SG")),
                    _ => Scope::PublicDisclosure,
                };
                let method = [
                    Method::Banner,
                    Method::Form,
                    Method::Api,
                    Method::DeveloperAttestation,
                ][usize::from(m)];
                Fact::Consent(
                    ConsentFact::new(status, pid(ADDITIONAL[p]), PolicyHash::from_bytes([0; 32]))
                        .with_scope(scope)
                        .with_method(method),
                )
            })
    }

    fn basic_requests() -> Vec<DecisionRequest> {
        vec![
            World::req("account", &["email", "phone"]),
            World::req("signup", &["email"]),
            World::req("legal", &["email", "health"]),
            World::req("notices", &["email"]),
            World::req("finance", &["email"]),
            World::req("account", &["email"]).with_recipient(rid("affiliate")),
        ]
    }

    proptest! {
        /// Seed 003 R01: refusing or withdrawing additional functions (and opting out
        /// of targeting) never changes a decision about a basic function.
        #[test]
        fn basic_never_blocked_by_additional_refusals(
            facts in proptest::collection::vec(additional_event(), 0..30)
        ) {
            let mut w = World::new();
            w.give("signup");
            let before: Vec<Decision> = basic_requests().iter().map(|r| w.ask_req(r)).collect();
            for d in &before {
                prop_assert!(d.allow, "fixture basic purposes are allowed: {:?}", codes(d));
            }
            for f in facts {
                w.push(f);
            }
            let after: Vec<Decision> = basic_requests().iter().map(|r| w.ask_req(r)).collect();
            prop_assert_eq!(before, after);
        }
    }
}

#[test]
fn alternative_category_sets_count_as_declared() {
    let mut p = fixture();
    p.purposes[0].one_of = vec![vec!["device-id".parse().unwrap()]];
    let w = World::with(&p);
    allowed(&w.ask("account", &["email", "device-id"]));
    denied(
        &World::new().ask("account", &["device-id"]),
        "category_not_declared_for_purpose",
    );
}

#[test]
fn deidentify_on_collection_is_an_obligation() {
    let mut p = fixture();
    p.purposes[0].deidentify_on_collection = true;
    let d = World::with(&p).ask("account", &["email"]);
    allowed(&d);
    assert!(d.obligations.contains(&Obligation::DeidentifyOnCollection));
}
