//! The current state of one subject: a fold over their ledger events.
//!
//! Per scope the event with the greatest [`EventKey`] wins, so applying the same events
//! in any order (or the same event twice) gives the same state. Nothing is removed:
//! a withdrawal replaces the current record of its scope, the ledger keeps both.

use jiff::Timestamp;
use serde::Serialize;
use troth_policy::ids::PurposeId;
use troth_policy::{GuardianEvidence, Minors};

use crate::compiled::id_hash;
use crate::ids::{CountryCode, PolicyHash, SubjectId, TenantId};
use crate::ledger::{
    Actor, ConsentFact, ConsentStatus, EventKey, Fact, LedgerEvent, Method, Scope,
};
use crate::subject::{AccountStatus, AgeBand, AgeInfo};

/// A value with the key of the event that set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stamped<T> {
    /// The event that set it.
    pub key: EventKey,
    /// The value.
    pub value: T,
}

fn keep_latest<T>(slot: &mut Option<Stamped<T>>, key: EventKey, value: T) {
    if slot.as_ref().is_none_or(|s| key >= s.key) {
        *slot = Some(Stamped { key, value });
    }
}

/// The current record of one consent scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConsentRecord {
    /// The event that set it.
    pub key: EventKey,
    /// Its status.
    pub status: ConsentStatus,
    /// The policy version it was given under.
    pub version: PolicyHash,
    /// How it was captured.
    pub method: Method,
    /// Who acted (without the evidence hash, which the ledger keeps).
    pub actor: RecordActor,
    /// When it lapses, if it does.
    pub expires_at: Option<Timestamp>,
}

/// Who acted, as the current state remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RecordActor {
    /// The subject.
    Subject,
    /// A guardian, with the kind of evidence kept.
    Guardian {
        /// The guardian.
        guardian: SubjectId,
        /// Recorded or written.
        evidence: GuardianEvidence,
    },
    /// A developer tenant attesting.
    Developer {
        /// The developer.
        tenant: TenantId,
    },
}

impl From<Actor> for RecordActor {
    fn from(a: Actor) -> Self {
        match a {
            Actor::Subject => RecordActor::Subject,
            Actor::Guardian {
                guardian, evidence, ..
            } => RecordActor::Guardian { guardian, evidence },
            Actor::Developer { tenant } => RecordActor::Developer { tenant },
        }
    }
}

impl ConsentRecord {
    fn from_fact(key: EventKey, f: &ConsentFact) -> Self {
        Self {
            key,
            status: f.status,
            version: f.version,
            method: f.method,
            actor: f.actor.into(),
            expires_at: f.expires_at,
        }
    }

    /// Given, and not lapsed at `at`.
    pub fn is_given_at(&self, at: Timestamp) -> bool {
        self.status == ConsentStatus::Given && self.expires_at.is_none_or(|e| at < e)
    }
}

/// Proof a guardian gave: who, and what evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GuardianProof {
    /// The guardian.
    pub guardian: SubjectId,
    /// The evidence kind.
    pub evidence: GuardianEvidence,
}

/// Everything known about consent for one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurposeConsents {
    /// Hash of the purpose id: the state is ordered by (hash, id) so lookups compare
    /// integers, not heap strings.
    #[serde(skip)]
    hash: u64,
    /// The purpose.
    pub purpose: PurposeId,
    /// The purpose-wide record.
    pub general: Option<ConsentRecord>,
    /// Separate consents within the purpose (sensitive category, recipient,
    /// destination, public disclosure), one record per scope, sorted by scope.
    pub scoped: Vec<(Scope, ConsentRecord)>,
    /// Latest purpose-wide consent given by developer attestation.
    pub attested: Option<EventKey>,
    /// Latest purpose-wide consent given by a guardian.
    pub by_guardian: Option<Stamped<GuardianProof>>,
    /// Latest purpose-wide withdrawal, refusal or expiry: attestations and guardian
    /// consents older than it no longer count.
    pub last_negative: Option<EventKey>,
}

impl PurposeConsents {
    fn new(hash: u64, purpose: PurposeId) -> Self {
        Self {
            hash,
            purpose,
            general: None,
            scoped: Vec::new(),
            attested: None,
            by_guardian: None,
            last_negative: None,
        }
    }

    /// The record for a scope given by reference (no allocation; the decision path).
    pub fn record_ref(&self, scope: ScopeRef<'_>) -> Option<&ConsentRecord> {
        match scope {
            ScopeRef::Purpose => self.general.as_ref(),
            s => self
                .scoped
                .iter()
                .find(|(k, _)| s.matches(k))
                .map(|(_, r)| r),
        }
    }

    /// The record for a scope.
    pub fn record(&self, scope: &Scope) -> Option<&ConsentRecord> {
        match scope {
            Scope::Purpose => self.general.as_ref(),
            s => self.scoped.iter().find(|(k, _)| k == s).map(|(_, r)| r),
        }
    }

    /// A developer attestation that no later withdrawal, refusal or expiry undid.
    pub fn attestation_current(&self) -> bool {
        match (self.attested, self.last_negative) {
            (Some(a), Some(n)) => a > n,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// A guardian's consent that no later withdrawal, refusal or expiry undid.
    pub fn guardian_consent_current(&self) -> Option<GuardianProof> {
        let g = self.by_guardian?;
        match self.last_negative {
            Some(n) if n >= g.key => None,
            _ => Some(g.value),
        }
    }

    fn apply(&mut self, key: EventKey, f: &ConsentFact) {
        let rec = ConsentRecord::from_fact(key, f);
        match &f.scope {
            Scope::Purpose => {
                if self.general.as_ref().is_none_or(|g| key >= g.key) {
                    self.general = Some(rec);
                }
                if f.status == ConsentStatus::Given {
                    if f.method == Method::DeveloperAttestation
                        && self.attested.is_none_or(|a| key > a)
                    {
                        self.attested = Some(key);
                    }
                    if let Actor::Guardian {
                        guardian, evidence, ..
                    } = f.actor
                    {
                        keep_latest(
                            &mut self.by_guardian,
                            key,
                            GuardianProof { guardian, evidence },
                        );
                    }
                } else if self.last_negative.is_none_or(|n| key > n) {
                    self.last_negative = Some(key);
                }
            }
            // Kept sorted by scope so the state does not depend on arrival order.
            scope => match self.scoped.binary_search_by(|(k, _)| k.cmp(scope)) {
                Ok(i) if key >= self.scoped[i].1.key => self.scoped[i].1 = rec,
                Ok(_) => {}
                Err(i) => self.scoped.insert(i, (scope.clone(), rec)),
            },
        }
    }
}

/// A consent scope by reference, for lookups that must not allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRef<'a> {
    /// The purpose itself.
    Purpose,
    /// A category id.
    Category(&'a str),
    /// A recipient id.
    Recipient(&'a str),
    /// A destination.
    Destination(CountryCode),
    /// Public disclosure.
    PublicDisclosure,
}

impl ScopeRef<'_> {
    fn matches(self, s: &Scope) -> bool {
        match (self, s) {
            (ScopeRef::Purpose, Scope::Purpose)
            | (ScopeRef::PublicDisclosure, Scope::PublicDisclosure) => true,
            (ScopeRef::Category(a), Scope::Category(b)) => a == b.as_str(),
            (ScopeRef::Recipient(a), Scope::Recipient(b)) => a == b.as_str(),
            (ScopeRef::Destination(a), Scope::Destination(b)) => a == *b,
            _ => false,
        }
    }
}

/// A guardian's subject-level authorisation of a minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GuardianAuth {
    /// Granted or revoked.
    pub granted: bool,
    /// Who and what evidence.
    pub proof: GuardianProof,
}

/// The current state of one subject, folded from their ledger events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectState {
    tenant: TenantId,
    subject: SubjectId,
    /// Facts most subjects never have, boxed so a million states stay small.
    extra: Option<Box<Extra>>,
    /// Sorted by (id hash, id).
    purposes: Vec<PurposeConsents>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
struct Extra {
    age: Option<Stamped<AgeInfo>>,
    guardian: Option<Stamped<Option<SubjectId>>>,
    account: Option<Stamped<AccountStatus>>,
    targeting_opt_out: Option<Stamped<bool>>,
    guardian_auth: Option<Stamped<GuardianAuth>>,
    /// Policy versions the person explicitly accepted (a set, sorted).
    accepted: Vec<PolicyHash>,
}

/// Why an event could not be applied to a subject's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The event belongs to another tenant.
    #[error("event {event} belongs to another tenant")]
    WrongTenant {
        /// The event.
        event: crate::ids::EventId,
    },
    /// The event is about another subject.
    #[error("event {event} is about another subject")]
    WrongSubject {
        /// The event.
        event: crate::ids::EventId,
    },
}

impl SubjectState {
    /// A subject with no events yet: no consents, age unknown, account active.
    pub fn new(tenant: TenantId, subject: SubjectId) -> Self {
        Self {
            tenant,
            subject,
            extra: None,
            purposes: Vec::new(),
        }
    }

    /// Folds events into a fresh state (events of other subjects are an error).
    pub fn fold<'a>(
        tenant: TenantId,
        subject: SubjectId,
        events: impl IntoIterator<Item = &'a LedgerEvent>,
    ) -> Result<Self, ApplyError> {
        let mut s = Self::new(tenant, subject);
        for e in events {
            s.apply(e)?;
        }
        Ok(s)
    }

    /// The tenant.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The subject.
    pub fn subject(&self) -> SubjectId {
        self.subject
    }

    /// Applies one event. Idempotent, and commutative with every other event.
    pub fn apply(&mut self, e: &LedgerEvent) -> Result<(), ApplyError> {
        if e.tenant != self.tenant {
            return Err(ApplyError::WrongTenant { event: e.id });
        }
        if e.subject != self.subject {
            return Err(ApplyError::WrongSubject { event: e.id });
        }
        let key = e.key();
        match &e.fact {
            Fact::Consent(f) => {
                let hash = id_hash(f.purpose.as_str());
                let i = match self.find(hash, f.purpose.as_str()) {
                    Ok(i) => i,
                    Err(i) => {
                        self.purposes
                            .insert(i, PurposeConsents::new(hash, f.purpose.clone()));
                        i
                    }
                };
                self.purposes[i].apply(key, f);
            }
            Fact::AcceptVersion { version, .. } => {
                let accepted = &mut self.extra.get_or_insert_default().accepted;
                if let Err(i) = accepted.binary_search(version) {
                    accepted.insert(i, *version);
                }
            }
            Fact::TargetingOptOut { opted_out } => {
                let x = self.extra.get_or_insert_default();
                keep_latest(&mut x.targeting_opt_out, key, *opted_out);
            }
            Fact::GuardianAuthorisation {
                granted,
                guardian,
                evidence,
                ..
            } => keep_latest(
                &mut self.extra.get_or_insert_default().guardian_auth,
                key,
                GuardianAuth {
                    granted: *granted,
                    proof: GuardianProof {
                        guardian: *guardian,
                        evidence: *evidence,
                    },
                },
            ),
            Fact::Age(a) => keep_latest(&mut self.extra.get_or_insert_default().age, key, *a),
            Fact::GuardianLink { guardian } => keep_latest(
                &mut self.extra.get_or_insert_default().guardian,
                key,
                *guardian,
            ),
            Fact::Account(s) => {
                keep_latest(&mut self.extra.get_or_insert_default().account, key, *s)
            }
        }
        Ok(())
    }

    fn find(&self, hash: u64, purpose: &str) -> Result<usize, usize> {
        self.purposes
            .binary_search_by(|p| (p.hash, p.purpose.as_str()).cmp(&(hash, purpose)))
    }

    /// Consents for a purpose.
    pub fn purpose(&self, purpose: &str) -> Option<&PurposeConsents> {
        self.find(id_hash(purpose), purpose)
            .ok()
            .map(|i| &self.purposes[i])
    }

    /// Every purpose with a consent record (in a stable order by id hash).
    pub fn purposes(&self) -> &[PurposeConsents] {
        &self.purposes
    }

    /// The current record for a purpose and scope.
    pub fn consent(&self, purpose: &str, scope: &Scope) -> Option<&ConsentRecord> {
        self.purpose(purpose).and_then(|p| p.record(scope))
    }

    /// Account status (active until an event says otherwise).
    pub fn account(&self) -> AccountStatus {
        self.extra
            .as_ref()
            .and_then(|x| x.account)
            .map(|s| s.value)
            .unwrap_or_default()
    }

    /// Age information, if any was recorded.
    pub fn age(&self) -> Option<AgeInfo> {
        self.extra.as_ref().and_then(|x| x.age).map(|s| s.value)
    }

    /// The age band at `at` (UTC date). Unknown age counts as adult: the age gate is
    /// the caller's, and core cannot invent an age.
    pub fn age_band(&self, minors: &Minors, at: Timestamp) -> AgeBand {
        match self.age() {
            None => AgeBand::Adult,
            Some(AgeInfo::Declared(b)) => b,
            Some(a) => a.band(minors, jiff::tz::TimeZone::UTC.to_datetime(at).date()),
        }
    }

    /// The linked guardian.
    pub fn guardian(&self) -> Option<SubjectId> {
        self.extra
            .as_ref()
            .and_then(|x| x.guardian)
            .and_then(|s| s.value)
    }

    /// Whether the person opted out of targeting.
    pub fn targeting_opted_out(&self) -> bool {
        self.extra
            .as_ref()
            .and_then(|x| x.targeting_opt_out)
            .is_some_and(|s| s.value)
    }

    /// The guardian's subject-level authorisation, if granted.
    pub fn guardian_authorisation(&self) -> Option<GuardianProof> {
        self.extra
            .as_ref()
            .and_then(|x| x.guardian_auth)
            .filter(|a| a.value.granted)
            .map(|a| a.value.proof)
    }

    /// Policy versions the person explicitly accepted.
    pub fn accepted_versions(&self) -> &[PolicyHash] {
        self.extra.as_ref().map_or(&[], |x| &x.accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CountryCode, EventId};
    use crate::ledger::{ConsentFact, Signals};
    use proptest::prelude::*;

    const T: TenantId = TenantId::from_u128(1);
    const S: SubjectId = SubjectId::from_u128(2);

    fn scope(i: u8) -> Scope {
        match i % 5 {
            0 => Scope::Purpose,
            1 => Scope::Category("location".parse().unwrap()),
            2 => Scope::Recipient("partner".parse().unwrap()),
            3 => Scope::Destination(CountryCode::new("SG").unwrap()),
            _ => Scope::PublicDisclosure,
        }
    }

    fn status(i: u8) -> ConsentStatus {
        [
            ConsentStatus::Given,
            ConsentStatus::Withdrawn,
            ConsentStatus::Refused,
            ConsentStatus::Expired,
        ][usize::from(i % 4)]
    }

    fn method(i: u8) -> Method {
        [
            Method::Banner,
            Method::Form,
            Method::Api,
            Method::Guardian,
            Method::DeveloperAttestation,
        ][usize::from(i % 5)]
    }

    /// (purpose, scope, status, method, second, id, non-consent fact kind)
    type Raw = (u8, u8, u8, u8, u16, u64, u8);

    fn event((p, sc, st, m, sec, id, kind): Raw) -> LedgerEvent {
        let at = jiff::Timestamp::from_second(1_700_000_000 + i64::from(sec)).unwrap();
        let purpose: PurposeId = ["alpha", "beta", "gamma"][usize::from(p % 3)]
            .parse()
            .unwrap();
        let actor = if m % 5 == 3 {
            Actor::Guardian {
                guardian: SubjectId::from_u128(3),
                evidence: GuardianEvidence::Recorded,
                evidence_hash: None,
            }
        } else {
            Actor::Subject
        };
        let fact = match kind % 8 {
            0 => Fact::TargetingOptOut {
                opted_out: st % 2 == 0,
            },
            1 => Fact::Account(if st % 2 == 0 {
                AccountStatus::Active
            } else {
                AccountStatus::Cancelled
            }),
            2 => Fact::AcceptVersion {
                version: PolicyHash::from_bytes([st; 32]),
                method: Method::Form,
                evidence: None,
            },
            _ => Fact::Consent(ConsentFact {
                status: status(st),
                purpose,
                scope: scope(sc),
                version: PolicyHash::from_bytes([0; 32]),
                method: method(m),
                actor,
                evidence: None,
                signals: Signals::default(),
                expires_at: None,
            }),
        };
        LedgerEvent {
            id: EventId::from_u128(u128::from(id)),
            tenant: T,
            subject: S,
            at,
            fact,
        }
    }

    /// Event ids are unique in a real ledger; keep the first of each.
    fn unique(raws: Vec<Raw>) -> Vec<LedgerEvent> {
        let mut seen = std::collections::HashSet::new();
        raws.into_iter()
            .filter(|r| seen.insert(r.5))
            .map(event)
            .collect()
    }

    fn raw() -> impl Strategy<Value = Raw> {
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            0u16..50,
            0u64..1_000_000,
            any::<u8>(),
        )
    }

    proptest! {
        /// Applying the same events in any order gives the same state.
        #[test]
        fn fold_is_order_independent(
            raws in proptest::collection::vec(raw(), 0..40),
            seed in any::<u64>(),
        ) {
            let events = unique(raws);
            let a = SubjectState::fold(T, S, &events).unwrap();
            let mut shuffled = events.clone();
            // Deterministic Fisher-Yates from the seed.
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let b = SubjectState::fold(T, S, &shuffled).unwrap();
            prop_assert_eq!(&a, &b);
            // Applying everything twice changes nothing.
            let mut c = a.clone();
            for e in &events { c.apply(e).unwrap(); }
            prop_assert_eq!(&a, &c);
        }

        /// Per scope, the current record is the event with the greatest (time, id).
        #[test]
        fn latest_event_per_scope_wins(raws in proptest::collection::vec(raw(), 1..40)) {
            let events = unique(raws);
            let state = SubjectState::fold(T, S, &events).unwrap();
            for e in &events {
                let Fact::Consent(f) = &e.fact else { continue };
                let latest = events
                    .iter()
                    .filter(|x| matches!(&x.fact, Fact::Consent(g) if g.purpose == f.purpose && g.scope == f.scope))
                    .max_by_key(|x| x.key())
                    .unwrap();
                let rec = state.consent(f.purpose.as_str(), &f.scope).unwrap();
                prop_assert_eq!(rec.key, latest.key());
                let Fact::Consent(lf) = &latest.fact else { unreachable!() };
                prop_assert_eq!(rec.status, lf.status);
            }
        }
    }

    #[test]
    fn events_for_another_subject_or_tenant_are_rejected() {
        let mut s = SubjectState::new(T, S);
        let mut e = event((0, 0, 0, 0, 0, 1, 3));
        e.subject = SubjectId::from_u128(99);
        assert!(matches!(s.apply(&e), Err(ApplyError::WrongSubject { .. })));
        e.subject = S;
        e.tenant = TenantId::from_u128(99);
        assert!(matches!(s.apply(&e), Err(ApplyError::WrongTenant { .. })));
    }
}
