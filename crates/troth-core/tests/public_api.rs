//! The public API as a server uses it: compile a pack, feed ledger events to a
//! decision index, ask questions, read reasons and obligations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use troth_core::*;

fn s002() -> troth_policy::Policy {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../packs/s002-template");
    troth_policy::load_pack(&dir).unwrap().policy
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

const TENANT: TenantId = TenantId::from_u128(1);

fn event(n: u64, subject: SubjectId, fact: Fact) -> LedgerEvent {
    LedgerEvent {
        id: EventId::from_parts(1_700_000_000_000 + n, u128::from(n)),
        tenant: TENANT,
        subject,
        at: at("2025-01-01T00:00:00Z") + jiff::SignedDuration::from_secs(n as i64),
        fact,
    }
}

#[test]
fn compile_apply_decide() {
    let policy = s002();
    let version = PolicyVersion::of(&policy);
    assert_eq!(version.label, "1.0");
    assert_eq!(
        version.hash.to_string(),
        troth_policy::content_hash(&policy)
    );
    let compiled = CompiledPolicy::compile(&policy, version.clone()).unwrap();
    let mut index = DecisionIndex::new(TENANT, compiled);
    let alice: SubjectId = "0190f5c4-7e1a-7c3b-9d2e-5a4b3c2d1e0f".parse().unwrap();
    let req =
        DecisionRequest::try_new("photo-access", &["photos"], at("2025-02-01T00:00:00Z")).unwrap();

    let d = index.decide(Some(alice), &req);
    assert!(!d.allow);
    assert_eq!(d.reasons[0].code(), "consent_missing");

    let given = ConsentFact::given("photo-access".parse().unwrap(), version.hash)
        .with_method(Method::Banner);
    index.apply(&event(1, alice, Fact::Consent(given))).unwrap();
    let d = index.decide(Some(alice), &req);
    assert!(d.allow);
    assert_eq!(
        d.basis.as_ref().unwrap().legal,
        troth_policy::LegalBasis::Consent
    );
    assert!(matches!(
        d.obligations.last(),
        Some(Obligation::DeleteAfter { .. })
    ));
}

#[test]
fn rebuild_equals_incremental_and_batches_agree() {
    let policy = s002();
    let version = PolicyVersion::of(&policy);
    let compiled = CompiledPolicy::compile(&policy, version.clone()).unwrap();
    let subjects: Vec<SubjectId> = (1..=20).map(SubjectId::from_u128).collect();
    let mut events = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        let status = if i % 3 == 0 {
            ConsentStatus::Withdrawn
        } else {
            ConsentStatus::Given
        };
        events.push(event(
            2 * i as u64,
            *s,
            Fact::Consent(ConsentFact::given(
                "marketing".parse().unwrap(),
                version.hash,
            )),
        ));
        events.push(event(
            2 * i as u64 + 1,
            *s,
            Fact::Consent(ConsentFact::new(
                status,
                "marketing".parse().unwrap(),
                version.hash,
            )),
        ));
    }
    let mut incremental = DecisionIndex::new(TENANT, compiled.clone());
    for e in &events {
        incremental.apply(e).unwrap();
    }
    let rebuilt = DecisionIndex::rebuild(TENANT, compiled.clone(), events.iter().rev()).unwrap();
    let req =
        DecisionRequest::try_new("marketing", &["email"], at("2025-02-01T00:00:00Z")).unwrap();
    let a = incremental.decide_many(subjects.iter().map(|s| (Some(*s), &req)));
    let b = rebuilt.decide_many(subjects.iter().map(|s| (Some(*s), &req)));
    assert_eq!(a, b);
    let states: Vec<&SubjectState> = subjects
        .iter()
        .map(|s| rebuilt.state(*s).unwrap())
        .collect();
    let c = decide_batch(&compiled, states.iter().map(|s| (*s, &req)));
    assert_eq!(a, c);
    assert_eq!(a.iter().filter(|d| d.allow).count(), 13);
}

#[test]
fn decisions_serialise_with_stable_codes_and_no_personal_data() {
    let policy = s002();
    let compiled = CompiledPolicy::compile(&policy, PolicyVersion::of(&policy)).unwrap();
    let state = SubjectState::new(TENANT, SubjectId::from_u128(5));
    let req =
        DecisionRequest::try_new("analytics", &["imei", "photos"], at("2025-02-01T00:00:00Z"))
            .unwrap()
            .with_signals(Signals {
                gpc: true,
                dnt: false,
            });
    let d = decide(&compiled, &state, &req);
    let json = serde_json::to_value(&d).unwrap();
    let codes: Vec<&str> = json["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "gpc_opt_out",
            "consent_missing",
            "category_not_declared_for_purpose"
        ]
    );
    assert_eq!(json["reasons"][2]["category"], "photos");
}

#[test]
fn compile_rejects_dangling_ids() {
    let mut policy = s002();
    policy.purposes[0]
        .categories
        .push("nowhere".parse().unwrap());
    let err = CompiledPolicy::compile(&policy, PolicyVersion::of(&policy)).unwrap_err();
    assert!(matches!(err, CompileError::UnknownCategory { .. }));
    assert_eq!(
        err.to_string(),
        "`registration` names category `nowhere`, which the policy does not declare"
    );
}

#[test]
fn ids_parse_and_print() {
    let e = EventId::from_parts(1_700_000_000_000, 42);
    assert_eq!(e.to_string().parse::<EventId>().unwrap(), e);
    assert!("not-an-id".parse::<TenantId>().is_err());
    assert_eq!(CountryCode::new("cn").unwrap().to_string(), "CN");
}
