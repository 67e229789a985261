//! The decision index: a compiled policy plus every subject's current state, in memory.
//!
//! A server keeps one per tenant, answers decisions from it without I/O, and feeds it
//! each ledger event after the event is committed (`apply`). On start, or after
//! missing notifications, it rebuilds from the ledger (`rebuild`).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::compiled::{CompiledPolicy, Fnv};
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
    subjects: HashMap<SubjectId, SubjectState, BuildHasherDefault<Fnv>>,
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
