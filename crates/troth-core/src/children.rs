//! Children's data collected without the guardian consent the pack requires (seed 002
//! R22, seed 004 R22): which stored records the retention sweep must delete.
//!
//! A pack with `minors.delete_if_collected_without_consent` promises to delete what
//! it holds about a child that it should not have collected. The rule is the decision
//! engine's own: a record collected for a purpose is due exactly when a decision for
//! that purpose would now be denied on age grounds (`child_not_accepted`,
//! `guardian_consent_required`, `guardian_authorisation_required`,
//! `written_guardian_evidence_required`), or when the account is marked
//! `child_blocked`. Purposes that do not rest on consent (contract, legal
//! obligation) need no guardian consent under a guardian rule and are kept; under a
//! `blocked` child rule nothing of the child's is kept.
//!
//! The rule is evaluated when the sweep runs, from the ledger as it stands then. So a
//! guardian's consent that arrives before the sweep keeps the data; a child whose
//! birth date makes them older than `child_age` by then is no longer a child and
//! keeps theirs too. Only the child band is swept: the pack's promise is about
//! children.
//!
//! Pure: time is passed in.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_policy::GuardianRule;

use crate::compiled::CompiledPolicy;
use crate::decide::age_reason;
use crate::state::SubjectState;
use crate::subject::{AccountStatus, AgeBand};

/// Why a child's record is due for deletion. The codes are stable and carry no
/// personal information, so they can be written to the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildDataReason {
    /// The pack accepts no children at all.
    ChildNotAccepted,
    /// The purpose needs the guardian's consent (or authorisation, or written
    /// evidence of it) and there is none.
    GuardianConsentAbsent,
    /// The account is marked as a child the service does not keep.
    ChildBlocked,
}

impl ChildDataReason {
    /// The stable code (`child_not_accepted`, `guardian_consent_absent`,
    /// `child_blocked`).
    pub fn code(self) -> &'static str {
        match self {
            Self::ChildNotAccepted => "child_not_accepted",
            Self::GuardianConsentAbsent => "guardian_consent_absent",
            Self::ChildBlocked => "child_blocked",
        }
    }
}

/// Whether any record of `subject` can be due under [`child_record_due`] at `at`; a
/// cheap filter that lets a sweep skip everyone else without reading their records.
pub fn child_sweep_candidate(
    policy: &CompiledPolicy,
    subject: &SubjectState,
    at: Timestamp,
) -> bool {
    policy.minors.delete_if_collected_without_consent
        && (subject.account() == AccountStatus::ChildBlocked
            || (subject.age_band(&policy.minors, at) == AgeBand::Child
                && policy.guardian_rule(AgeBand::Child) != GuardianRule::None))
}

/// Whether a record of `subject` collected for `purpose` (`None`: not recorded) must
/// be deleted at `at` because it is a child's, collected without the guardian consent
/// the pack requires; and why. See the module documentation for the rule.
///
/// A purpose the policy in force does not declare has no rule to read: under a
/// guardian rule such a record is kept only while the child has some guardian
/// consent or authorisation from the linked guardian on record.
pub fn child_record_due(
    policy: &CompiledPolicy,
    subject: &SubjectState,
    purpose: Option<&str>,
    at: Timestamp,
) -> Option<ChildDataReason> {
    if !policy.minors.delete_if_collected_without_consent {
        return None;
    }
    if subject.account() == AccountStatus::ChildBlocked {
        return Some(ChildDataReason::ChildBlocked);
    }
    if subject.age_band(&policy.minors, at) != AgeBand::Child {
        return None;
    }
    match policy.guardian_rule(AgeBand::Child) {
        GuardianRule::None => None,
        GuardianRule::Blocked => Some(ChildDataReason::ChildNotAccepted),
        GuardianRule::GuardianConsent | GuardianRule::GuardianAuthorisation => {
            match purpose.and_then(|id| policy.purpose_any(id)) {
                Some(p) => age_reason(policy, subject, p, at)
                    .map(|_| ChildDataReason::GuardianConsentAbsent),
                None => (!any_guardian_consent(subject))
                    .then_some(ChildDataReason::GuardianConsentAbsent),
            }
        }
    }
}

/// Whether the subject's linked guardian (or, with no link recorded, any guardian)
/// has a current consent for some purpose or a granted authorisation.
fn any_guardian_consent(subject: &SubjectState) -> bool {
    let from_linked =
        |g: crate::state::GuardianProof| subject.guardian().is_none_or(|l| l == g.guardian);
    subject.guardian_authorisation().is_some_and(from_linked)
        || subject
            .purposes()
            .iter()
            .filter_map(crate::state::PurposeConsents::guardian_consent_current)
            .any(from_linked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;
    use proptest::prelude::*;
    use troth_policy::ids::PurposeId;
    use troth_policy::{GuardianEvidence, Policy};

    const T: TenantId = TenantId::from_u128(7);
    const S: SubjectId = SubjectId::from_u128(9);
    const G: SubjectId = SubjectId::from_u128(10);
    const OTHER: SubjectId = SubjectId::from_u128(99);
    /// The fixture's purposes: contract, consent, legal obligation, consent, consent.
    const PURPOSES: [&str; 5] = ["account", "signup", "legal", "promo", "ads"];
    const AGE_CODES: [&str; 4] = [
        "child_not_accepted",
        "guardian_consent_required",
        "guardian_authorisation_required",
        "written_guardian_evidence_required",
    ];

    fn fixture() -> Policy {
        toml::from_str(include_str!("../tests/fixtures/engine.toml")).unwrap()
    }

    fn compile(p: &Policy) -> CompiledPolicy {
        CompiledPolicy::compile(p, PolicyVersion::of(p)).unwrap()
    }

    fn at() -> Timestamp {
        "2025-06-01T00:00:00Z".parse().unwrap()
    }

    fn pid(s: &str) -> PurposeId {
        s.parse().unwrap()
    }

    fn event(n: u64, fact: Fact) -> LedgerEvent {
        LedgerEvent {
            id: EventId::from_parts(n, u128::from(n)),
            tenant: T,
            subject: S,
            at: Timestamp::from_second(1_700_000_000 + i64::try_from(n).unwrap()).unwrap(),
            fact,
        }
    }

    fn guardian_consent(
        p: &CompiledPolicy,
        purpose: &str,
        who: SubjectId,
        ev: GuardianEvidence,
        given: bool,
    ) -> Fact {
        let status = if given {
            ConsentStatus::Given
        } else {
            ConsentStatus::Withdrawn
        };
        Fact::Consent(
            ConsentFact::new(status, pid(purpose), p.version().hash)
                .with_actor(Actor::Guardian {
                    guardian: who,
                    evidence: ev,
                    evidence_hash: None,
                })
                .with_method(Method::Guardian),
        )
    }

    fn policy_with(rule: GuardianRule, written: bool, delete: bool) -> CompiledPolicy {
        let mut p = fixture();
        p.minors.child_rule = rule;
        p.minors.guardian_evidence = if written {
            GuardianEvidence::Written
        } else {
            GuardianEvidence::Recorded
        };
        p.minors.delete_if_collected_without_consent = delete;
        compile(&p)
    }

    fn child(facts: impl IntoIterator<Item = Fact>) -> SubjectState {
        let mut all = vec![
            Fact::Age(AgeInfo::BirthDate(jiff::civil::date(2015, 1, 1))),
            Fact::GuardianLink { guardian: Some(G) },
        ];
        all.extend(facts);
        let events: Vec<LedgerEvent> = all
            .into_iter()
            .enumerate()
            .map(|(i, f)| event(i as u64 + 1, f))
            .collect();
        SubjectState::fold(T, S, &events).unwrap()
    }

    #[test]
    fn guardian_consent_keeps_a_childs_consent_based_data() {
        let p = policy_with(GuardianRule::GuardianConsent, false, true);
        let none = child([]);
        assert_eq!(
            child_record_due(&p, &none, Some("promo"), at()),
            Some(ChildDataReason::GuardianConsentAbsent)
        );
        // Contract and legal obligation need no guardian consent: kept.
        assert_eq!(child_record_due(&p, &none, Some("account"), at()), None);
        assert_eq!(child_record_due(&p, &none, Some("legal"), at()), None);
        // Only the linked guardian's consent counts.
        let stranger = child([guardian_consent(
            &p,
            "promo",
            OTHER,
            GuardianEvidence::Recorded,
            true,
        )]);
        assert!(child_record_due(&p, &stranger, Some("promo"), at()).is_some());
        let consented = child([guardian_consent(
            &p,
            "promo",
            G,
            GuardianEvidence::Recorded,
            true,
        )]);
        assert_eq!(child_record_due(&p, &consented, Some("promo"), at()), None);
        // An unknown purpose is kept only while some guardian consent is on record.
        assert!(child_record_due(&p, &none, Some("gone"), at()).is_some());
        assert!(child_record_due(&p, &none, None, at()).is_some());
        assert_eq!(child_record_due(&p, &consented, Some("gone"), at()), None);
        // Without the pack's promise nothing is swept.
        let quiet = policy_with(GuardianRule::GuardianConsent, false, false);
        assert_eq!(child_record_due(&quiet, &none, Some("promo"), at()), None);
        assert!(!child_sweep_candidate(&quiet, &none, at()));
    }

    #[test]
    fn blocked_children_lose_everything_and_grow_out_of_it() {
        let p = policy_with(GuardianRule::Blocked, false, true);
        let c = child([guardian_consent(
            &p,
            "promo",
            G,
            GuardianEvidence::Written,
            true,
        )]);
        for purpose in PURPOSES {
            assert_eq!(
                child_record_due(&p, &c, Some(purpose), at()),
                Some(ChildDataReason::ChildNotAccepted)
            );
        }
        // Born 2015: 14 on 2029-01-01, no longer a child.
        let later: Timestamp = "2029-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(child_record_due(&p, &c, Some("promo"), later), None);
        assert!(!child_sweep_candidate(&p, &c, later));
    }

    fn rule() -> impl Strategy<Value = GuardianRule> {
        prop_oneof![
            Just(GuardianRule::None),
            Just(GuardianRule::GuardianConsent),
            Just(GuardianRule::GuardianAuthorisation),
            Just(GuardianRule::Blocked),
        ]
    }

    fn age() -> impl Strategy<Value = Option<AgeInfo>> {
        prop_oneof![
            Just(None),
            Just(Some(AgeInfo::Declared(AgeBand::Child))),
            Just(Some(AgeInfo::Declared(AgeBand::Minor))),
            Just(Some(AgeInfo::Declared(AgeBand::Adult))),
            (2005i16..2024).prop_map(|y| Some(AgeInfo::BirthDate(jiff::civil::date(y, 6, 1)))),
        ]
    }

    /// Facts that bear on the rule: guardian consents and withdrawals (the linked
    /// guardian's or a stranger's, recorded or written), the person's own consents,
    /// guardian authorisations, links and account status.
    fn fact(hash: PolicyHash) -> impl Strategy<Value = Fact> {
        (
            0u8..6,
            0usize..PURPOSES.len(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(move |(kind, p, flag, linked, written)| {
                let who = if linked { G } else { OTHER };
                let ev = if written {
                    GuardianEvidence::Written
                } else {
                    GuardianEvidence::Recorded
                };
                match kind {
                    0 | 1 => {
                        let status = if flag {
                            ConsentStatus::Given
                        } else {
                            ConsentStatus::Withdrawn
                        };
                        Fact::Consent(
                            ConsentFact::new(status, pid(PURPOSES[p]), hash)
                                .with_actor(Actor::Guardian {
                                    guardian: who,
                                    evidence: ev,
                                    evidence_hash: None,
                                })
                                .with_method(Method::Guardian),
                        )
                    }
                    2 => Fact::Consent(ConsentFact::given(pid(PURPOSES[p]), hash)),
                    3 => Fact::GuardianAuthorisation {
                        granted: flag,
                        guardian: who,
                        evidence: ev,
                        evidence_hash: None,
                    },
                    4 => Fact::GuardianLink {
                        guardian: flag.then_some(G),
                    },
                    _ => Fact::Account(if flag {
                        AccountStatus::ChildBlocked
                    } else {
                        AccountStatus::Active
                    }),
                }
            })
    }

    fn world() -> impl Strategy<Value = (CompiledPolicy, SubjectState)> {
        (rule(), any::<bool>(), any::<bool>(), age()).prop_flat_map(|(r, written, delete, age)| {
            let p = policy_with(r, written, delete);
            let hash = p.version().hash;
            proptest::collection::vec(fact(hash), 0..12).prop_map(move |facts| {
                let mut all: Vec<Fact> = age.map(Fact::Age).into_iter().collect();
                all.extend(facts);
                let events: Vec<LedgerEvent> = all
                    .into_iter()
                    .enumerate()
                    .map(|(i, f)| event(i as u64 + 1, f))
                    .collect();
                (p.clone(), SubjectState::fold(T, S, &events).unwrap())
            })
        })
    }

    proptest! {
        /// A child's record is due exactly when the pack promises deletion and a
        /// decision for its purpose is denied on age grounds (or the account is
        /// blocked as a child's); the candidate filter never hides a due record.
        #[test]
        fn due_exactly_when_the_decision_denies_a_child((p, st) in world()) {
            let child = st.age_band(p.minors(), at()) == AgeBand::Child;
            for purpose in PURPOSES {
                let due = child_record_due(&p, &st, Some(purpose), at());
                let req = DecisionRequest::try_new(purpose, &[], at()).unwrap();
                let d = decide(&p, &st, &req);
                let age_denied = d.reasons.iter().any(|r| AGE_CODES.contains(&r.code()));
                let blocked = d.has("child_blocked");
                let promised = p.minors().delete_if_collected_without_consent;
                prop_assert_eq!(due.is_some(), promised && (blocked || (child && age_denied)),
                    "purpose {} reasons {:?}", purpose, d.reasons);
                if due.is_some() {
                    prop_assert!(child_sweep_candidate(&p, &st, at()));
                }
            }
        }

        /// Under a guardian rule, the linked guardian's written consent for a purpose,
        /// arriving last, keeps that purpose's records (unless the account itself is
        /// blocked); under a blocked rule nothing a guardian does keeps them.
        #[test]
        fn guardian_consent_before_the_sweep_keeps_the_data((p, st) in world(), which in 0usize..PURPOSES.len()) {
            let purpose = PURPOSES[which];
            let mut st = st;
            st.apply(&event(1000, Fact::GuardianLink { guardian: Some(G) })).unwrap();
            st.apply(&event(1001, guardian_consent(&p, purpose, G, GuardianEvidence::Written, true))).unwrap();
            st.apply(&event(1002, Fact::GuardianAuthorisation {
                granted: true, guardian: G, evidence: GuardianEvidence::Written, evidence_hash: None,
            })).unwrap();
            let due = child_record_due(&p, &st, Some(purpose), at());
            let child = st.age_band(p.minors(), at()) == AgeBand::Child;
            let promised = p.minors().delete_if_collected_without_consent;
            let expected = if !promised {
                None
            } else if st.account() == AccountStatus::ChildBlocked {
                Some(ChildDataReason::ChildBlocked)
            } else if child && p.minors().child_rule == GuardianRule::Blocked {
                Some(ChildDataReason::ChildNotAccepted)
            } else {
                None
            };
            prop_assert_eq!(due, expected);
        }
    }
}
