//! A small harness: one tenant, one subject, a decision index fed with ledger events.
#![allow(dead_code)]

use std::path::PathBuf;

use jiff::Timestamp;
use troth_core::*;
use troth_policy::Policy;
use troth_policy::ids::{PurposeId, RecipientId};

pub const TENANT: TenantId = TenantId::from_u128(0x7e4a);
pub const SUBJECT: SubjectId = SubjectId::from_u128(0x5b1);
pub const GUARDIAN: SubjectId = SubjectId::from_u128(0x6a2);
pub const DEVELOPER: TenantId = TenantId::from_u128(0xde7);

pub fn pack_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../packs")
        .join(name)
}

pub fn load(name: &str) -> Policy {
    match troth_policy::load_pack(&pack_dir(name)) {
        Ok(p) => p.policy,
        Err(e) => panic!("pack {name} does not load: {e}"),
    }
}

pub fn pid(s: &str) -> PurposeId {
    s.parse().unwrap()
}

pub fn rid(s: &str) -> RecipientId {
    s.parse().unwrap()
}

pub fn cc(s: &str) -> CountryCode {
    CountryCode::new(s).unwrap()
}

pub fn cat(s: &str) -> Scope {
    Scope::Category(s.parse().unwrap())
}

/// Decisions are asked at this time, after every event.
pub fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

pub struct H {
    pub index: DecisionIndex,
    n: u64,
}

impl H {
    pub fn new(policy: &Policy) -> Self {
        let c = CompiledPolicy::compile(policy, PolicyVersion::of(policy)).unwrap();
        Self::compiled(c)
    }

    pub fn pack(name: &str) -> Self {
        Self::new(&load(name))
    }

    pub fn compiled(c: CompiledPolicy) -> Self {
        Self {
            index: DecisionIndex::new(TENANT, c),
            n: 0,
        }
    }

    pub fn hash(&self) -> PolicyHash {
        self.index.policy().version().hash
    }

    pub fn fact(&mut self, fact: Fact) {
        self.n += 1;
        let at: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
        let e = LedgerEvent {
            id: EventId::from_parts(self.n, u128::from(self.n)),
            tenant: TENANT,
            subject: SUBJECT,
            at: at + jiff::SignedDuration::from_secs(self.n as i64),
            fact,
        };
        self.index.apply(&e).unwrap();
    }

    pub fn consent(&mut self, f: ConsentFact) {
        self.fact(Fact::Consent(f));
    }

    pub fn give(&mut self, purpose: &str) {
        let h = self.hash();
        self.consent(ConsentFact::given(pid(purpose), h).with_method(Method::Banner));
    }

    pub fn give_all(&mut self, purposes: &[&str]) {
        for p in purposes {
            self.give(p);
        }
    }

    pub fn give_scope(&mut self, purpose: &str, scope: Scope) {
        let h = self.hash();
        self.consent(ConsentFact::given(pid(purpose), h).with_scope(scope));
    }

    pub fn set(&mut self, status: ConsentStatus, purpose: &str) {
        let h = self.hash();
        self.consent(ConsentFact::new(status, pid(purpose), h));
    }

    pub fn attest(&mut self, purpose: &str) {
        let h = self.hash();
        self.consent(
            ConsentFact::given(pid(purpose), h)
                .with_method(Method::DeveloperAttestation)
                .with_actor(Actor::Developer { tenant: DEVELOPER }),
        );
    }

    pub fn req(purpose: &str, cats: &[&str]) -> DecisionRequest {
        DecisionRequest::try_new(purpose, cats, now()).unwrap()
    }

    pub fn ask(&self, purpose: &str, cats: &[&str]) -> Decision {
        self.ask_req(&Self::req(purpose, cats))
    }

    pub fn ask_req(&self, r: &DecisionRequest) -> Decision {
        self.index.decide(Some(SUBJECT), r)
    }
}

pub fn codes(d: &Decision) -> Vec<&'static str> {
    d.reasons.iter().map(Reason::code).collect()
}

#[track_caller]
pub fn allowed(d: &Decision) {
    assert!(d.allow, "expected allow, got {:?}", codes(d));
}

#[track_caller]
pub fn denied(d: &Decision, code: &str) {
    assert!(!d.allow, "expected deny with {code}, got allow");
    assert!(d.has(code), "expected {code}, got {:?}", codes(d));
}

/// The obligation to log a disclosure of `kind`, if present.
pub fn disclosure(d: &Decision, kind: DisclosureKind) -> Option<&Obligation> {
    d.obligations
        .iter()
        .find(|o| matches!(o, Obligation::RecordDisclosure { kind: k, .. } if *k == kind))
}

/// Compiles `new` with the consent validity of the history `[old, new]`.
/// A version 2.0 of `v1` that adds purpose `new_id`, a copy of purpose `from` (a new
/// purpose the person has never been asked about).
pub fn with_new_purpose(v1: &Policy, from: &str, new_id: &str) -> Policy {
    let mut v2 = v1.clone();
    v2.policy.version = "2.0".into();
    let mut q = v2
        .purposes
        .iter()
        .find(|p| p.id.as_str() == from)
        .unwrap()
        .clone();
    q.id = new_id.parse().unwrap();
    v2.purposes.push(q);
    v2
}

pub fn with_history(old: &Policy, new: &Policy) -> (H, PolicyHash, PolicyHash) {
    let history = vec![
        (PolicyVersion::of(old), old.clone()),
        (PolicyVersion::of(new), new.clone()),
    ];
    let c = CompiledPolicy::compile_history(&history).unwrap().unwrap();
    (H::compiled(c), history[0].0.hash, history[1].0.hash)
}
