//! Differential test: the troth engine and the same rules written in Cedar
//! (`tests/support/cedar_model.rs`) give the same allow/deny on 10,000 generated
//! requests against the S004 pack.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/cedar_model.rs"]
mod cedar_model;

use std::path::PathBuf;

use cedar_model::*;
use troth_core::*;

fn pack(name: &str) -> troth_policy::Policy {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../packs")
        .join(name);
    troth_policy::load_pack(&dir).unwrap().policy
}

#[test]
fn troth_and_cedar_agree_on_10k_requests_s004() {
    let policy = pack("s004-mobtech");
    let model = CedarModel::new(&policy).unwrap();
    let version = PolicyVersion::of(&policy);
    let compiled = CompiledPolicy::compile(&policy, version.clone()).unwrap();
    let at: jiff::Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
    let mut rng = Rng(0x5eed_0004);
    let subjects = 500u64;
    let mut events = Vec::new();
    for i in 0..subjects {
        subject_events(
            &mut rng,
            &policy,
            version.hash,
            SubjectId::from_u128(u128::from(i) + 1),
            &mut events,
        );
    }
    let index = DecisionIndex::rebuild(TENANT, compiled.clone(), events.iter()).unwrap();
    let entities = model.entities(
        (0..subjects)
            .map(|i| {
                let s = SubjectId::from_u128(u128::from(i) + 1);
                let empty = SubjectState::new(TENANT, s);
                CedarModel::subject_entity(
                    &s.to_string(),
                    index.state(s).unwrap_or(&empty),
                    &compiled,
                    at,
                )
            })
            .collect(),
    );
    let authorizer = cedar_policy::Authorizer::new();
    let (mut allowed, mut mismatches) = (0, Vec::new());
    for n in 0..10_000 {
        let s = SubjectId::from_u128(rng.below(subjects as usize) as u128 + 1);
        let req = request(&mut rng, &policy, at);
        let t = index.decide(Some(s), &req);
        let c = model.allows(
            &authorizer,
            &CedarModel::request(&s.to_string(), &req),
            &entities,
        );
        allowed += usize::from(t.allow);
        if t.allow != c {
            mismatches.push(format!(
                "#{n}: troth {} cedar {c} reasons {:?} request {req:?}",
                t.allow,
                t.reasons.iter().map(Reason::code).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("troth and cedar agree on 10000 requests; {allowed} allowed");
    // The generator must exercise both outcomes in earnest.
    assert!(
        allowed > 500 && allowed < 9_500,
        "allowed {allowed} of 10000"
    );
}

#[test]
fn cedar_model_refuses_rules_it_does_not_model() {
    // s002 needs guardian consent for children, which the Cedar model does not express.
    assert!(CedarModel::new(&pack("s002-template")).is_err());
}
