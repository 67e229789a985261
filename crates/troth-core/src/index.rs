//! The decision index: a compiled policy plus every subject's current state, in memory.
//!
//! A server keeps one per tenant, answers decisions from it without I/O, and feeds it
//! each ledger event after the event is committed (`apply`). On start, or after
//! missing notifications, it rebuilds from the ledger (`rebuild`).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::compiled::{CompiledPolicy, Fx};
use crate::decide::{Decision, DecisionRequest, decide};
use crate::ids::{EventId, SubjectId, TenantId};
use crate::ledger::LedgerEvent;
use crate::state::{ApplyError, SubjectState};

/// Why an event could not be applied to the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// The event belongs to another tenant's ledger.
    #[error("event {event} belongs to another tenant; route it to that tenant's index")]
    WrongTenant {
        /// The event.
        event: EventId,
    },
}

/// Compiled policy + per-subject state for one tenant.
#[derive(Debug, Clone)]
pub struct DecisionIndex {
    tenant: TenantId,
    policy: CompiledPolicy,
    subjects: HashMap<SubjectId, SubjectState, BuildHasherDefault<Fx>>,
    /// The state of a subject with no events (and of anonymous sessions).
    empty: SubjectState,
}

impl DecisionIndex {
    /// An index with no subjects yet.
    pub fn new(tenant: TenantId, policy: CompiledPolicy) -> Self {
        Self {
            tenant,
            policy,
            subjects: HashMap::default(),
            empty: SubjectState::new(tenant, SubjectId::from_u128(0)),
        }
    }

    /// Rebuilds from a tenant's whole ledger, in any order.
    pub fn rebuild<'a>(
        tenant: TenantId,
        policy: CompiledPolicy,
        events: impl IntoIterator<Item = &'a LedgerEvent>,
    ) -> Result<Self, IndexError> {
        let mut index = Self::new(tenant, policy);
        let events = events.into_iter();
        // Events per subject are few; a quarter of the event count is a fair guess
        // that saves most rehashing.
        index.reserve(events.size_hint().0 / 4);
        for e in events {
            index.apply(e)?;
        }
        Ok(index)
    }

    /// Reserves room for `n` more subjects (speeds up a large rebuild).
    pub fn reserve(&mut self, n: usize) {
        self.subjects.reserve(n);
    }

    /// The tenant.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The compiled policy in force.
    pub fn policy(&self) -> &CompiledPolicy {
        &self.policy
    }

    /// Mutable access to the policy (cessation, DNT setting).
    pub fn policy_mut(&mut self) -> &mut CompiledPolicy {
        &mut self.policy
    }

    /// Switches to a new policy version. Subject states are kept: they hold consent
    /// facts, and the new policy's validity decides which still count.
    pub fn set_policy(&mut self, policy: CompiledPolicy) {
        self.policy = policy;
    }

    /// Applies a committed ledger event: the subject's next decision sees it.
    pub fn apply(&mut self, e: &LedgerEvent) -> Result<(), IndexError> {
        if e.tenant != self.tenant {
            return Err(IndexError::WrongTenant { event: e.id });
        }
        let state = self
            .subjects
            .entry(e.subject)
            .or_insert_with(|| SubjectState::new(e.tenant, e.subject));
        state.apply(e).map_err(|err| match err {
            // Unreachable: tenant and subject were checked and keyed above.
            ApplyError::WrongTenant { event } | ApplyError::WrongSubject { event } => {
                IndexError::WrongTenant { event }
            }
        })
    }

    /// Drops a subject from memory (after erasure; their ledger stays in the store).
    pub fn forget(&mut self, subject: SubjectId) -> Option<SubjectState> {
        self.subjects.remove(&subject)
    }

    /// A subject's current state.
    pub fn state(&self, subject: SubjectId) -> Option<&SubjectState> {
        self.subjects.get(&subject)
    }

    /// Subjects some of whose stored records may be due under the children's rule at
    /// `at` ([`crate::children::child_sweep_candidate`]), in no particular order.
    pub fn child_sweep_candidates(&self, at: jiff::Timestamp) -> Vec<SubjectId> {
        self.subjects
            .values()
            .filter(|s| crate::children::child_sweep_candidate(&self.policy, s, at))
            .map(SubjectState::subject)
            .collect()
    }

    /// Number of subjects held.
    pub fn len(&self) -> usize {
        self.subjects.len()
    }

    /// Whether no subject is held.
    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }

    /// Decides for a subject (`None` or an unknown subject: no consents at all; for an
    /// anonymous session also set `req.anonymous`).
    pub fn decide(&self, subject: Option<SubjectId>, req: &DecisionRequest) -> Decision {
        let state = subject
            .and_then(|s| self.subjects.get(&s))
            .unwrap_or(&self.empty);
        decide(&self.policy, state, req)
    }

    /// Decides many (subject, request) pairs.
    pub fn decide_many<'a>(
        &self,
        items: impl IntoIterator<Item = (Option<SubjectId>, &'a DecisionRequest)>,
    ) -> Vec<Decision> {
        items.into_iter().map(|(s, r)| self.decide(s, r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PolicyVersion;
    use crate::ledger::{ConsentFact, Fact};

    fn index() -> DecisionIndex {
        let p = crate::decide::tests::fixture();
        let c = CompiledPolicy::compile(&p, PolicyVersion::of(&p)).unwrap();
        DecisionIndex::new(TenantId::from_u128(1), c)
    }

    fn ev(n: u64, subject: u128, fact: Fact) -> LedgerEvent {
        LedgerEvent {
            id: EventId::from_parts(n, 0),
            tenant: TenantId::from_u128(1),
            subject: SubjectId::from_u128(subject),
            at: jiff::Timestamp::from_second(1_750_000_000 + n as i64).unwrap(),
            fact,
        }
    }

    #[test]
    fn apply_invalidates_and_rebuild_matches() {
        let mut ix = index();
        let h = ix.policy().version().hash;
        let req = DecisionRequest::try_new(
            "promo",
            &["email"],
            jiff::Timestamp::from_second(1_760_000_000).unwrap(),
        )
        .unwrap();
        let s = SubjectId::from_u128(5);
        assert!(!ix.decide(Some(s), &req).allow);
        let events = [
            ev(
                1,
                5,
                Fact::Consent(ConsentFact::given("promo".parse().unwrap(), h)),
            ),
            ev(
                2,
                6,
                Fact::Consent(ConsentFact::given("promo".parse().unwrap(), h)),
            ),
            ev(
                3,
                5,
                Fact::Consent(ConsentFact::withdrawn("promo".parse().unwrap(), h)),
            ),
        ];
        ix.apply(&events[0]).unwrap();
        assert!(
            ix.decide(Some(s), &req).allow,
            "a consent write is seen at once"
        );
        ix.apply(&events[1]).unwrap();
        ix.apply(&events[2]).unwrap();
        assert!(
            !ix.decide(Some(s), &req).allow,
            "a withdrawal is seen at once"
        );
        let rebuilt =
            DecisionIndex::rebuild(ix.tenant(), ix.policy().clone(), events.iter().rev()).unwrap();
        assert_eq!(rebuilt.len(), 2);
        for sub in [5, 6] {
            let sub = SubjectId::from_u128(sub);
            assert_eq!(rebuilt.state(sub), ix.state(sub));
        }
        let many = ix.decide_many([
            (Some(s), &req),
            (Some(SubjectId::from_u128(6)), &req),
            (None, &req),
        ]);
        assert_eq!(
            many.iter().map(|d| d.allow).collect::<Vec<_>>(),
            [false, true, false]
        );
    }

    #[test]
    fn events_of_another_tenant_are_rejected() {
        let mut ix = index();
        let mut e = ev(1, 5, Fact::TargetingOptOut { opted_out: true });
        e.tenant = TenantId::from_u128(2);
        assert!(matches!(ix.apply(&e), Err(IndexError::WrongTenant { .. })));
        assert!(ix.is_empty());
    }
}
