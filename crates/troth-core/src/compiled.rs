//! A policy compiled for fast decisions: ids interned to small integers, category sets
//! as bitsets, purpose traits as flags.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use troth_policy::ids::{CategoryId, ExemptionId, PurposeId, RecipientId, ServiceId};
use troth_policy::{
    Function, GuardianEvidence, GuardianRule, LegalBasis, Minors, Policy, PurposeTag,
    RecipientKind, Renewal, Retention, Sensitivity,
};

use crate::ids::{CountryCode, PolicyHash, PolicyVersion};

/// A multiply-rotate hash over 8-byte words (the FxHash scheme, with a final rotate
/// so the low bits hashbrown indexes by are mixed too). The maps it serves are built
/// from the policy or keyed by server-minted ids, and request input only looks keys up,
/// so a keyed (DoS-resistant) hash buys nothing here and SipHash costs several times more.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl Fx {
    #[inline]
    fn mix(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(K);
    }
}

impl Hasher for Fx {
    #[inline]
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.mix(i as u64);
        self.mix((i >> 64) as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
}

/// The stable hash of an id, used to order and find purposes in a subject's state
/// without reading the id's heap text on every comparison.
pub(crate) fn id_hash(s: &str) -> u64 {
    let mut h = Fx::default();
    h.write(s.as_bytes());
    h.finish()
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// A fixed-size set of small integers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BitSet(Box<[u64]>);

impl BitSet {
    /// An empty set able to hold `0..n`.
    pub fn with_capacity(n: usize) -> Self {
        Self(vec![0; n.div_ceil(64).max(1)].into_boxed_slice())
    }

    /// Adds `i` (ignored if out of range).
    pub fn insert(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    /// Whether `i` is in the set.
    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

/// Purpose traits as bit flags.
pub(crate) mod flag {
    pub const TRACKING: u16 = 1 << 0;
    pub const ADVERTISING: u16 = 1 << 1;
    pub const MARKETING: u16 = 1 << 2;
    pub const SALE: u16 = 1 << 3;
    pub const PROFILING: u16 = 1 << 4;
    pub const AUTOMATED_DECISION: u16 = 1 << 5;
    pub const CROSS_SERVICE: u16 = 1 << 6;
    pub const PUBLIC_DISCLOSURE: u16 = 1 << 7;
    pub const SERVICE_NOTICE: u16 = 1 << 8;
    pub const ANONYMOUS: u16 = 1 << 9;
    /// Refused by GPC and DNT.
    pub const SIGNAL_OPT_OUT: u16 = TRACKING | ADVERTISING | SALE;
    /// Refused by an opt-out of targeting.
    pub const TARGETING: u16 = MARKETING | ADVERTISING | PROFILING;
}

fn tag_flag(t: PurposeTag) -> u16 {
    match t {
        PurposeTag::Tracking => flag::TRACKING,
        PurposeTag::Advertising => flag::ADVERTISING,
        PurposeTag::Marketing => flag::MARKETING,
        PurposeTag::Sale => flag::SALE,
        PurposeTag::Profiling => flag::PROFILING,
        PurposeTag::AutomatedDecision => flag::AUTOMATED_DECISION,
        PurposeTag::CrossService => flag::CROSS_SERVICE,
        PurposeTag::PublicDisclosure => flag::PUBLIC_DISCLOSURE,
        PurposeTag::ServiceNotice => flag::SERVICE_NOTICE,
        PurposeTag::Anonymous => flag::ANONYMOUS,
    }
}

/// Why a policy could not be compiled. The manifest validator catches all of these
/// first; compile checks again so a hand-built `Policy` cannot smuggle in a dangling id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// A purpose, recipient or transfer names a category the policy does not declare.
    #[error("`{owner}` names category `{category}`, which the policy does not declare")]
    UnknownCategory {
        /// The purpose, recipient or transfer id.
        owner: String,
        /// The missing category.
        category: CategoryId,
    },
    /// A transfer names a recipient the policy does not declare.
    #[error(
        "transfer `{transfer}` names recipient `{recipient}`, which the policy does not declare"
    )]
    UnknownRecipient {
        /// The transfer.
        transfer: String,
        /// The missing recipient.
        recipient: RecipientId,
    },
    /// A country code is not two letters.
    #[error("`{owner}` has country `{value}`; write a two-letter ISO 3166 code such as `CN`")]
    BadCountry {
        /// Where it appears.
        owner: String,
        /// The value found.
        value: String,
    },
    /// More ids than the compiled form indexes (65,535 of a kind).
    #[error("the policy declares more than 65535 {0}")]
    TooMany(&'static str),
}

/// A category as the engine sees it.
#[derive(Debug, Clone)]
pub(crate) struct CCategory {
    pub sensitivity: Sensitivity,
    pub stored: bool,
}

/// A purpose as the engine sees it.
#[derive(Debug, Clone)]
pub(crate) struct CPurpose {
    pub id: PurposeId,
    /// Index into the interned purpose-id table (shared by a main purpose and service
    /// overrides of the same id).
    pub key: u16,
    pub function: Function,
    pub basis: LegalBasis,
    pub exemption: Option<ExemptionId>,
    pub required: BitSet,
    pub optional: BitSet,
    pub flags: u16,
    pub requires_attestation: bool,
    pub deidentify: bool,
    pub retention: Retention,
}

impl CPurpose {
    #[inline]
    pub fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CRecipient {
    pub id: RecipientId,
    pub kind: RecipientKind,
    pub country: CountryCode,
    pub categories: BitSet,
    /// Over interned purpose keys.
    pub purposes: BitSet,
    pub may_change_purpose: bool,
    pub requires_explicit_consent: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct CTransfer {
    pub destination: CountryCode,
    pub recipient: u16,
    pub purposes: BitSet,
    pub categories: BitSet,
}

#[derive(Debug, Clone)]
pub(crate) struct CService {
    /// Purpose id → index into `purposes` for this service's overrides.
    pub purposes: FxMap<String, u16>,
}

/// Where new collection is stopped (seed 003 R13).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cessation {
    /// Operating normally.
    #[default]
    None,
    /// One or more services stopped.
    Services(Vec<ServiceId>),
    /// The whole operation stopped.
    All,
}

/// Which service, or all, a cessation covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CessationScope {
    /// One service.
    Service(ServiceId),
    /// Everything.
    All,
}

/// Per purpose, the policy versions under which a consent still counts.
///
/// Built by [`ConsentValidity::from_history`] from the version history. A consent
/// given under a version older than its purpose's `valid_from` needs renewal: the
/// person must consent again, or explicitly accept a version at or after `valid_from`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsentValidity {
    /// Version hashes, oldest first.
    versions: Vec<PolicyHash>,
    /// Purpose id → index into `versions` of the earliest version whose consents count.
    valid_from: FxMap<String, usize>,
}

impl ConsentValidity {
    /// Walks consecutive versions (oldest first) with `troth_policy::diff`. For each
    /// purpose of the newest version it records the earliest version from which the
    /// purpose existed without a break and no change needing explicit consent came in
    /// between (`DiffReport::needs_explicit_consent`: a significant change under
    /// `renewal = "explicit_accept"`, or a rights reduction the policy promised not to
    /// make without consent), or a change of controller where the old version did not
    /// promise the new holder stays bound. A non-significant change carries consent over; a purpose
    /// new in a version starts at that version (seed 002 R06). Service purposes are
    /// covered by the main purpose of the same id, or start at the newest version.
    pub fn from_history(history: &[(PolicyVersion, Policy)]) -> Self {
        let versions: Vec<PolicyHash> = history.iter().map(|(v, _)| v.hash).collect();
        let Some((_, newest)) = history.last() else {
            return Self::default();
        };
        let n = history.len() - 1;
        // breaks[i] = true if consents from versions < i stop counting at version i.
        let breaks: Vec<bool> = (0..history.len())
            .map(|i| i > 0 && consent_breaks(&history[i - 1].1, &history[i].1))
            .collect();
        let mut valid_from: FxMap<String, usize> = FxMap::default();
        let ids = newest.purposes.iter().map(|p| &p.id).chain(
            newest
                .services
                .iter()
                .flat_map(|s| s.purposes.iter().map(|p| &p.id)),
        );
        for id in ids {
            let mut from = n;
            while from > 0 && !breaks[from] && has_purpose(&history[from - 1].1, id.as_str()) {
                from -= 1;
            }
            valid_from.insert(id.as_str().to_owned(), from);
        }
        Self {
            versions,
            valid_from,
        }
    }

    /// The versions, oldest first.
    pub fn versions(&self) -> &[PolicyHash] {
        &self.versions
    }

    /// The earliest version whose consents count for `purpose`.
    pub fn valid_from(&self, purpose: &str) -> Option<PolicyHash> {
        self.valid_from
            .get(purpose)
            .and_then(|i| self.versions.get(*i))
            .copied()
    }

    fn ordinal(&self, h: &PolicyHash) -> Option<usize> {
        self.versions.iter().position(|v| v == h)
    }

    /// Whether a consent given under `given` counts for `purpose`, given the versions
    /// the person explicitly accepted.
    pub fn counts(&self, purpose: &str, given: &PolicyHash, accepted: &[PolicyHash]) -> bool {
        let Some(&from) = self.valid_from.get(purpose) else {
            // Not a purpose of the newest version: nothing to renew against.
            return true;
        };
        let ok = |h: &PolicyHash| self.ordinal(h).is_some_and(|o| o >= from);
        ok(given) || accepted.iter().any(ok)
    }
}

/// Whether consents given under `old` stop counting under `new`: the diff needs
/// explicit consent, or the controller changed and `old` did not promise that a new
/// holder stays bound by the policy (seed 002 R10, `changes.controller_transfer`).
pub fn consent_breaks(old: &Policy, new: &Policy) -> bool {
    let d = troth_policy::diff(old, new);
    let unbound_new_holder = old
        .changes
        .controller_transfer
        .as_ref()
        .is_some_and(|t| !t.new_holder_bound);
    d.needs_explicit_consent
        || (unbound_new_holder
            && d.criteria
                .contains(&troth_policy::Criterion::OwnershipStructure))
}

fn has_purpose(p: &Policy, id: &str) -> bool {
    p.purpose(id).is_some()
        || p.services
            .iter()
            .any(|s| s.purposes.iter().any(|q| q.id.as_str() == id))
}

/// A policy compiled for decisions. Build once per version with [`CompiledPolicy::compile`];
/// decisions read it without allocating for lookups.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    pub(crate) version: PolicyVersion,
    pub(crate) residency: Option<CountryCode>,
    pub(crate) categories: Vec<CCategory>,
    pub(crate) category_index: FxMap<String, u16>,
    pub(crate) purposes: Vec<CPurpose>,
    pub(crate) purpose_index: FxMap<String, u16>,
    pub(crate) recipients: Vec<CRecipient>,
    pub(crate) recipient_index: FxMap<String, u16>,
    pub(crate) transfers: Vec<CTransfer>,
    pub(crate) services: Vec<CService>,
    pub(crate) service_index: FxMap<String, u16>,
    pub(crate) minors: Minors,
    pub(crate) renewal: Renewal,
    pub(crate) honour_dnt: bool,
    pub(crate) cessation: Cessation,
    pub(crate) validity: Option<ConsentValidity>,
}

fn idx16(n: usize, what: &'static str) -> Result<u16, CompileError> {
    u16::try_from(n).map_err(|_| CompileError::TooMany(what))
}

fn country(owner: &str, value: &str) -> Result<CountryCode, CompileError> {
    CountryCode::new(value).map_err(|_| CompileError::BadCountry {
        owner: owner.to_owned(),
        value: value.to_owned(),
    })
}

impl CompiledPolicy {
    /// Compiles a policy for `version` (usually `PolicyVersion::of(policy)`).
    ///
    /// Defaults: DNT is honoured (the protective reading; see [`Self::set_honour_dnt`]),
    /// no cessation, and no consent-validity history (consent under any version counts
    /// until [`Self::set_validity`] says otherwise).
    pub fn compile(policy: &Policy, version: PolicyVersion) -> Result<Self, CompileError> {
        let mut category_index = FxMap::default();
        let mut categories = Vec::with_capacity(policy.categories.len());
        for (i, c) in policy.categories.iter().enumerate() {
            category_index.insert(c.id.as_str().to_owned(), idx16(i, "categories")?);
            categories.push(CCategory {
                sensitivity: c.sensitivity,
                stored: c.stored,
            });
        }
        let ncat = categories.len();
        let cat_set = |owner: &str, ids: &[CategoryId]| -> Result<BitSet, CompileError> {
            let mut b = BitSet::with_capacity(ncat);
            for id in ids {
                let i = category_index.get(id.as_str()).ok_or_else(|| {
                    CompileError::UnknownCategory {
                        owner: owner.to_owned(),
                        category: id.clone(),
                    }
                })?;
                b.insert(usize::from(*i));
            }
            Ok(b)
        };

        // Intern every purpose id mentioned anywhere, so recipients and transfers can
        // name service-only purposes too.
        let mut keys: FxMap<String, u16> = FxMap::default();
        let all_ids = policy
            .purposes
            .iter()
            .map(|p| p.id.as_str())
            .chain(
                policy
                    .services
                    .iter()
                    .flat_map(|s| s.purposes.iter().map(|p| p.id.as_str())),
            )
            .chain(
                policy
                    .recipients
                    .iter()
                    .flat_map(|r| r.purposes.iter().map(|p| p.as_str())),
            )
            .chain(
                policy
                    .transfers
                    .iter()
                    .flat_map(|t| t.purposes.iter().map(|p| p.as_str())),
            );
        for id in all_ids {
            let next = idx16(keys.len(), "purposes")?;
            keys.entry(id.to_owned()).or_insert(next);
        }
        let nkeys = keys.len();
        let key_set = |ids: &[PurposeId]| {
            let mut b = BitSet::with_capacity(nkeys);
            for id in ids {
                if let Some(k) = keys.get(id.as_str()) {
                    b.insert(usize::from(*k));
                }
            }
            b
        };
        let compile_purpose = |p: &troth_policy::Purpose| -> Result<CPurpose, CompileError> {
            Ok(CPurpose {
                id: p.id.clone(),
                key: keys.get(p.id.as_str()).copied().unwrap_or(0),
                function: p.function,
                basis: p.basis,
                exemption: p.exemption.clone(),
                required: cat_set(p.id.as_str(), &p.categories)?,
                // Alternative sets (`one_of`) are declared categories too; which set
                // a person provides is a collection-form concern, not a decision one.
                optional: cat_set(
                    p.id.as_str(),
                    &p.optional_categories
                        .iter()
                        .chain(p.one_of.iter().flatten())
                        .cloned()
                        .collect::<Vec<_>>(),
                )?,
                flags: p.tags.iter().fold(0, |f, t| f | tag_flag(*t)),
                requires_attestation: p.requires_attestation,
                deidentify: p.deidentify_on_collection,
                retention: p.retention,
            })
        };

        let mut purposes = Vec::new();
        let mut purpose_index = FxMap::default();
        for p in &policy.purposes {
            purpose_index.insert(p.id.as_str().to_owned(), idx16(purposes.len(), "purposes")?);
            purposes.push(compile_purpose(p)?);
        }
        let mut services = Vec::new();
        let mut service_index = FxMap::default();
        for s in &policy.services {
            let mut map = FxMap::default();
            for p in &s.purposes {
                map.insert(p.id.as_str().to_owned(), idx16(purposes.len(), "purposes")?);
                purposes.push(compile_purpose(p)?);
            }
            service_index.insert(s.id.as_str().to_owned(), idx16(services.len(), "services")?);
            services.push(CService { purposes: map });
        }

        let mut recipients = Vec::new();
        let mut recipient_index = FxMap::default();
        for r in &policy.recipients {
            recipient_index.insert(
                r.id.as_str().to_owned(),
                idx16(recipients.len(), "recipients")?,
            );
            recipients.push(CRecipient {
                id: r.id.clone(),
                kind: r.kind,
                country: country(r.id.as_str(), &r.country)?,
                categories: cat_set(r.id.as_str(), &r.categories)?,
                purposes: key_set(&r.purposes),
                may_change_purpose: r.may_change_purpose,
                requires_explicit_consent: r.requires_explicit_consent,
            });
        }
        let mut transfers = Vec::new();
        for t in &policy.transfers {
            let recipient = *recipient_index.get(t.recipient.as_str()).ok_or_else(|| {
                CompileError::UnknownRecipient {
                    transfer: t.id.as_str().to_owned(),
                    recipient: t.recipient.clone(),
                }
            })?;
            transfers.push(CTransfer {
                destination: country(t.id.as_str(), &t.destination)?,
                recipient,
                purposes: key_set(&t.purposes),
                categories: cat_set(t.id.as_str(), &t.categories)?,
            });
        }
        let residency = match policy.storage.residency.as_str() {
            "" => None,
            r => Some(country("storage.residency", r)?),
        };
        Ok(Self {
            version,
            residency,
            categories,
            category_index,
            purposes,
            purpose_index,
            recipients,
            recipient_index,
            transfers,
            services,
            service_index,
            minors: policy.minors.clone(),
            renewal: policy.changes.renewal,
            honour_dnt: true,
            cessation: Cessation::None,
            validity: None,
        })
    }

    /// Compiles the newest version of a history and attaches its consent validity.
    pub fn compile_history(
        history: &[(PolicyVersion, Policy)],
    ) -> Result<Option<Self>, CompileError> {
        let Some((v, p)) = history.last() else {
            return Ok(None);
        };
        let mut c = Self::compile(p, v.clone())?;
        c.set_validity(ConsentValidity::from_history(history));
        Ok(Some(c))
    }

    /// The version compiled.
    pub fn version(&self) -> &PolicyVersion {
        &self.version
    }

    /// Attaches consent validity computed from the version history (seed 003 R23).
    /// Consents under versions it does not list stop counting.
    pub fn set_validity(&mut self, v: ConsentValidity) {
        self.validity = Some(v);
    }

    /// The consent validity in force, if any.
    pub fn validity(&self) -> Option<&ConsentValidity> {
        self.validity.as_ref()
    }

    /// Whether `DNT: 1` refuses tracking, advertising and sale purposes. The manifest
    /// has no field for it; seed 002 promises it, and honouring it is the protective
    /// default, so it starts `true`.
    pub fn set_honour_dnt(&mut self, honour: bool) {
        self.honour_dnt = honour;
    }

    /// Whether DNT is honoured.
    pub fn honours_dnt(&self) -> bool {
        self.honour_dnt
    }

    /// Stops all new collection for a service or everything (seed 003 R13).
    pub fn set_cessation(&mut self, scope: CessationScope) {
        self.cessation = match (std::mem::take(&mut self.cessation), scope) {
            (_, CessationScope::All) | (Cessation::All, _) => Cessation::All,
            (Cessation::None, CessationScope::Service(s)) => Cessation::Services(vec![s]),
            (Cessation::Services(mut v), CessationScope::Service(s)) => {
                if !v.contains(&s) {
                    v.push(s);
                }
                Cessation::Services(v)
            }
        };
    }

    /// The cessation in force.
    pub fn cessation(&self) -> &Cessation {
        &self.cessation
    }

    /// The pack's rules for children and minors.
    pub fn minors(&self) -> &Minors {
        &self.minors
    }

    /// How consent is renewed after a significant change.
    pub fn renewal(&self) -> Renewal {
        self.renewal
    }

    /// The storage residency country.
    pub fn residency(&self) -> Option<CountryCode> {
        self.residency
    }

    /// Ids of the declared purposes (main policy).
    pub fn purpose_ids(&self) -> impl Iterator<Item = &PurposeId> {
        self.purposes
            .iter()
            .take(self.purpose_index.len())
            .map(|p| &p.id)
    }

    /// Whether a main-policy purpose is a basic function.
    pub fn is_basic(&self, purpose: &str) -> Option<bool> {
        self.purpose_index
            .get(purpose)
            .map(|i| self.purposes[usize::from(*i)].function == Function::Basic)
    }

    pub(crate) fn ceased(&self, service: Option<&ServiceId>) -> bool {
        match &self.cessation {
            Cessation::None => false,
            Cessation::All => true,
            Cessation::Services(v) => service.is_some_and(|s| v.contains(s)),
        }
    }

    /// A purpose by id: the main policy's, else the first service's of that id (a
    /// stored record names its purpose but not the service it was collected for).
    pub(crate) fn purpose_any(&self, id: &str) -> Option<&CPurpose> {
        self.purpose_index
            .get(id)
            .or_else(|| self.services.iter().find_map(|s| s.purposes.get(id)))
            .map(|i| &self.purposes[usize::from(*i)])
    }

    pub(crate) fn guardian_rule(&self, band: crate::subject::AgeBand) -> GuardianRule {
        match band {
            crate::subject::AgeBand::Child => self.minors.child_rule,
            crate::subject::AgeBand::Minor => self.minors.minor_rule,
            crate::subject::AgeBand::Adult => GuardianRule::None,
        }
    }

    pub(crate) fn written_evidence(&self) -> bool {
        self.minors.guardian_evidence == GuardianEvidence::Written
    }
}
