//! The decision engine: may this processing happen, and on what terms?

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_policy::ids::{CategoryId, ExemptionId, IdError, PurposeId, RecipientId, ServiceId};
use troth_policy::{
    GuardianEvidence, GuardianRule, LegalBasis, RecipientKind, Retention, Sensitivity,
};

use crate::compiled::{CPurpose, CompiledPolicy, flag};
use crate::ids::{CountryCode, SubjectId, TenantId};
use crate::ledger::Signals;
use crate::state::{ConsentRecord, GuardianProof, PurposeConsents, ScopeRef, SubjectState};
use crate::subject::{AccountStatus, AgeBand};

/// One question: may `purpose` use `categories` (shared with `recipient`, sent to
/// `destination`, within `service`) now?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRequest {
    /// The purpose.
    pub purpose: PurposeId,
    /// Categories to be used.
    pub categories: Vec<CategoryId>,
    /// The recipient, when data is shared.
    pub recipient: Option<RecipientId>,
    /// The destination country, when data leaves the residency country without a
    /// recipient (or to state it explicitly); defaults to the recipient's country.
    pub destination: Option<CountryCode>,
    /// The service whose sub-policy applies, if any (seed 001 R13).
    pub service: Option<ServiceId>,
    /// Signals on the end user's request.
    pub signals: Signals,
    /// No subject: an anonymous session (seed 003 R02).
    pub anonymous: bool,
    /// When the processing happens (decides expiry and age).
    pub at: Timestamp,
}

impl DecisionRequest {
    /// A request for `purpose` and `categories` at `at`; ids are checked.
    pub fn try_new(purpose: &str, categories: &[&str], at: Timestamp) -> Result<Self, IdError> {
        Ok(Self {
            purpose: PurposeId::new(purpose)?,
            categories: categories
                .iter()
                .map(|c| CategoryId::new(*c))
                .collect::<Result<_, _>>()?,
            recipient: None,
            destination: None,
            service: None,
            signals: Signals::default(),
            anonymous: false,
            at,
        })
    }

    /// With a recipient.
    pub fn with_recipient(mut self, r: RecipientId) -> Self {
        self.recipient = Some(r);
        self
    }

    /// With a destination country.
    pub fn with_destination(mut self, c: CountryCode) -> Self {
        self.destination = Some(c);
        self
    }

    /// Within a service.
    pub fn with_service(mut self, s: ServiceId) -> Self {
        self.service = Some(s);
        self
    }

    /// With request signals.
    pub fn with_signals(mut self, s: Signals) -> Self {
        self.signals = s;
        self
    }

    /// As an anonymous session.
    pub fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }
}

/// The legal basis a decision rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    /// The basis.
    pub legal: LegalBasis,
    /// The exemption relied on, where the purpose names one (seed 003 R12).
    pub exemption: Option<ExemptionId>,
}

/// Why a request was denied. Codes are stable snake_case; fields are ids, never PI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "code")]
pub enum Reason {
    /// The operation, or this service, has ceased (seed 003 R13).
    ServiceCeased,
    /// The account is cancelled.
    AccountCancelled,
    /// The account is blocked as a child's.
    ChildBlocked,
    /// The service id is not declared.
    UndeclaredService {
        /// The service.
        service: ServiceId,
    },
    /// The purpose is not declared.
    UndeclaredPurpose {
        /// The purpose.
        purpose: PurposeId,
    },
    /// The category is not declared anywhere in the policy.
    UndeclaredCategory {
        /// The category.
        category: CategoryId,
    },
    /// The category is one the policy promises never to collect.
    ForbiddenCategory {
        /// The category.
        category: CategoryId,
    },
    /// The purpose does not declare the category (required or optional).
    CategoryNotDeclaredForPurpose {
        /// The purpose.
        purpose: PurposeId,
        /// The category.
        category: CategoryId,
    },
    /// Anonymous sessions may only use purposes tagged `anonymous`.
    AnonymousNotAllowed {
        /// The purpose.
        purpose: PurposeId,
    },
    /// `Sec-GPC: 1` refuses tracking, advertising and sale.
    GpcOptOut {
        /// The purpose.
        purpose: PurposeId,
    },
    /// `DNT: 1` refuses tracking, advertising and sale.
    DntOptOut {
        /// The purpose.
        purpose: PurposeId,
    },
    /// The person opted out of targeting.
    TargetingOptOut {
        /// The purpose.
        purpose: PurposeId,
    },
    /// The service does not accept children.
    ChildNotAccepted,
    /// The service does not accept minors.
    MinorNotAccepted,
    /// A child's data needs their guardian's consent for this purpose.
    GuardianConsentRequired {
        /// The purpose.
        purpose: PurposeId,
    },
    /// A minor's consent needs their guardian's authorisation.
    GuardianAuthorisationRequired {
        /// The purpose.
        purpose: PurposeId,
    },
    /// The policy requires written guardian evidence; only a recorded one exists.
    WrittenGuardianEvidenceRequired {
        /// The purpose.
        purpose: PurposeId,
    },
    /// No consent recorded for the purpose.
    ConsentMissing {
        /// The purpose.
        purpose: PurposeId,
    },
    /// Consent was withdrawn.
    ConsentWithdrawn {
        /// The purpose.
        purpose: PurposeId,
    },
    /// Consent was refused.
    ConsentRefused {
        /// The purpose.
        purpose: PurposeId,
    },
    /// Consent expired.
    ConsentExpired {
        /// The purpose.
        purpose: PurposeId,
    },
    /// Consent was given under a version a later change superseded; the person must
    /// consent again or accept the new version.
    ConsentRenewalRequired {
        /// The purpose.
        purpose: PurposeId,
    },
    /// An SDK purpose without the developer's attestation of end-user consent.
    AttestationMissing {
        /// The purpose.
        purpose: PurposeId,
    },
    /// A sensitive category without its separate consent.
    SensitiveConsentMissing {
        /// The purpose.
        purpose: PurposeId,
        /// The category.
        category: CategoryId,
    },
    /// The recipient is not declared.
    UndeclaredRecipient {
        /// The recipient.
        recipient: RecipientId,
    },
    /// The recipient may not receive this category.
    CategoryNotDeclaredForRecipient {
        /// The recipient.
        recipient: RecipientId,
        /// The category.
        category: CategoryId,
    },
    /// The recipient is not declared for this purpose and may not change purpose
    /// without new consent.
    RecipientPurposeNotDeclared {
        /// The recipient.
        recipient: RecipientId,
        /// The purpose.
        purpose: PurposeId,
    },
    /// Sharing with the recipient needs separate consent.
    SharingConsentMissing {
        /// The recipient.
        recipient: RecipientId,
    },
    /// Public disclosure needs separate consent.
    PublicDisclosureConsentMissing {
        /// The purpose.
        purpose: PurposeId,
    },
    /// No declared transfer covers this destination, recipient, purpose and categories.
    TransferNotDeclared {
        /// The destination.
        destination: CountryCode,
    },
    /// The transfer does not include this category.
    CategoryNotDeclaredForTransfer {
        /// The destination.
        destination: CountryCode,
        /// The category.
        category: CategoryId,
    },
    /// Transfer abroad needs separate consent.
    CrossBorderConsentMissing {
        /// The destination.
        destination: CountryCode,
    },
}

impl Reason {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::ServiceCeased => "service_ceased",
            Reason::AccountCancelled => "account_cancelled",
            Reason::ChildBlocked => "child_blocked",
            Reason::UndeclaredService { .. } => "undeclared_service",
            Reason::UndeclaredPurpose { .. } => "undeclared_purpose",
            Reason::UndeclaredCategory { .. } => "undeclared_category",
            Reason::ForbiddenCategory { .. } => "forbidden_category",
            Reason::CategoryNotDeclaredForPurpose { .. } => "category_not_declared_for_purpose",
            Reason::AnonymousNotAllowed { .. } => "anonymous_not_allowed",
            Reason::GpcOptOut { .. } => "gpc_opt_out",
            Reason::DntOptOut { .. } => "dnt_opt_out",
            Reason::TargetingOptOut { .. } => "targeting_opt_out",
            Reason::ChildNotAccepted => "child_not_accepted",
            Reason::MinorNotAccepted => "minor_not_accepted",
            Reason::GuardianConsentRequired { .. } => "guardian_consent_required",
            Reason::GuardianAuthorisationRequired { .. } => "guardian_authorisation_required",
            Reason::WrittenGuardianEvidenceRequired { .. } => "written_guardian_evidence_required",
            Reason::ConsentMissing { .. } => "consent_missing",
            Reason::ConsentWithdrawn { .. } => "consent_withdrawn",
            Reason::ConsentRefused { .. } => "consent_refused",
            Reason::ConsentExpired { .. } => "consent_expired",
            Reason::ConsentRenewalRequired { .. } => "consent_renewal_required",
            Reason::AttestationMissing { .. } => "attestation_missing",
            Reason::SensitiveConsentMissing { .. } => "sensitive_consent_missing",
            Reason::UndeclaredRecipient { .. } => "undeclared_recipient",
            Reason::CategoryNotDeclaredForRecipient { .. } => "category_not_declared_for_recipient",
            Reason::RecipientPurposeNotDeclared { .. } => "recipient_purpose_not_declared",
            Reason::SharingConsentMissing { .. } => "sharing_consent_missing",
            Reason::PublicDisclosureConsentMissing { .. } => "public_disclosure_consent_missing",
            Reason::TransferNotDeclared { .. } => "transfer_not_declared",
            Reason::CategoryNotDeclaredForTransfer { .. } => "category_not_declared_for_transfer",
            Reason::CrossBorderConsentMissing { .. } => "cross_border_consent_missing",
        }
    }
}

/// What kind of disclosure the caller must log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisclosureKind {
    /// Giving data to a recipient in the residency country.
    Sharing,
    /// Sending data abroad.
    Transfer,
    /// Publishing it.
    PublicDisclosure,
}

/// Something the caller must do when it acts on an allowed decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "obligation")]
pub enum Obligation {
    /// Log the disclosure in the disclosure ledger.
    RecordDisclosure {
        /// Sharing, transfer or public disclosure.
        kind: DisclosureKind,
        /// The recipient, if any.
        recipient: Option<RecipientId>,
        /// The destination, for transfers.
        destination: Option<CountryCode>,
        /// The purpose.
        purpose: PurposeId,
    },
    /// Keep the data no longer than the purpose's retention.
    DeleteAfter {
        /// The retention.
        retention: Retention,
    },
    /// De-identify at collection; use only aggregate results (seed 004 R07).
    DeidentifyOnCollection,
    /// Use at the moment only; never store (seed 003 R05).
    DoNotStore {
        /// The category.
        category: CategoryId,
    },
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the processing may happen.
    pub allow: bool,
    /// Why not (empty when allowed).
    pub reasons: Vec<Reason>,
    /// What the caller must do (empty when denied).
    pub obligations: Vec<Obligation>,
    /// The basis, once the purpose is known.
    pub basis: Option<Basis>,
}

impl Decision {
    fn deny(reason: Reason) -> Self {
        Self {
            allow: false,
            reasons: vec![reason],
            obligations: Vec::new(),
            basis: None,
        }
    }

    /// Whether a reason with this code is among the reasons.
    pub fn has(&self, code: &str) -> bool {
        self.reasons.iter().any(|r| r.code() == code)
    }
}

/// An empty state used for anonymous sessions: nobody has consented to anything.
fn anonymous_state() -> SubjectState {
    SubjectState::new(TenantId::from_u128(0), SubjectId::from_u128(0))
}

/// Decides one request. A pure function of its three arguments: no clock, no I/O.
///
/// Checks, each adding a [`Reason`] when it fails (all are evaluated so the caller
/// sees every reason, except that an undeclared purpose stops there):
/// cessation; account status; purpose declared (service sub-policy first);
/// categories declared, never forbidden; anonymous sessions only for anonymous
/// purposes; GPC/DNT against tracking, advertising and sale; opt-out of targeting
/// against marketing, advertising and profiling but never service notices; age band
/// rules (blocked, guardian consent, guardian authorisation, written evidence);
/// consent for consent-based purposes, current under the version history; developer
/// attestation; separate consents for sensitive categories, sharing, public disclosure
/// and cross-border transfer; recipients limited to their categories and purposes;
/// transfers declared.
pub fn decide(policy: &CompiledPolicy, subject: &SubjectState, req: &DecisionRequest) -> Decision {
    if policy.ceased(req.service.as_ref()) {
        return Decision::deny(Reason::ServiceCeased);
    }
    let empty;
    let subject = if req.anonymous {
        empty = anonymous_state();
        &empty
    } else {
        match subject.account() {
            AccountStatus::Active => subject,
            AccountStatus::Cancelled => return Decision::deny(Reason::AccountCancelled),
            AccountStatus::ChildBlocked => return Decision::deny(Reason::ChildBlocked),
        }
    };

    // Service sub-policy first, then the main policy (seed 001 R13).
    let mut reasons = Vec::new();
    let service_purpose = match &req.service {
        None => None,
        Some(s) => match policy.service_index.get(s.as_str()) {
            Some(si) => policy.services[usize::from(*si)]
                .purposes
                .get(req.purpose.as_str())
                .copied(),
            None => {
                reasons.push(Reason::UndeclaredService { service: s.clone() });
                None
            }
        },
    };
    let Some(pi) =
        service_purpose.or_else(|| policy.purpose_index.get(req.purpose.as_str()).copied())
    else {
        reasons.push(Reason::UndeclaredPurpose {
            purpose: req.purpose.clone(),
        });
        return Decision {
            allow: false,
            reasons,
            obligations: Vec::new(),
            basis: None,
        };
    };
    let p = &policy.purposes[usize::from(pi)];
    let pid = &p.id;
    let basis = Some(Basis {
        legal: p.basis,
        exemption: p.exemption.clone(),
    });
    let needs_consent = p.basis == LegalBasis::Consent;
    let pc = subject.purpose(pid.as_str());
    let mut obligations = Vec::new();
    let mut deny = |r: Reason| reasons.push(r);

    if req.anonymous && !p.has(flag::ANONYMOUS) {
        deny(Reason::AnonymousNotAllowed {
            purpose: pid.clone(),
        });
    }

    // Signals on the end user's request.
    if p.has(flag::SIGNAL_OPT_OUT) {
        if req.signals.gpc {
            deny(Reason::GpcOptOut {
                purpose: pid.clone(),
            });
        }
        if req.signals.dnt && policy.honour_dnt {
            deny(Reason::DntOptOut {
                purpose: pid.clone(),
            });
        }
    }
    if subject.targeting_opted_out() && p.has(flag::TARGETING) && !p.has(flag::SERVICE_NOTICE) {
        deny(Reason::TargetingOptOut {
            purpose: pid.clone(),
        });
    }

    // Age band rules.
    if let Some(r) = age_reason(policy, subject, p, req.at) {
        deny(r);
    }

    // Consent for the purpose itself. Anonymous purposes in an anonymous session have
    // nobody to ask.
    if needs_consent
        && !(req.anonymous && p.has(flag::ANONYMOUS))
        && let Some(r) = consent_problem(
            policy,
            subject,
            p,
            pc.and_then(|c| c.general.as_ref()),
            req.at,
        )
    {
        deny(r);
    }
    if p.requires_attestation && !pc.is_some_and(PurposeConsents::attestation_current) {
        deny(Reason::AttestationMissing {
            purpose: pid.clone(),
        });
    }

    // Recipient and destination.
    let recipient = match &req.recipient {
        None => None,
        Some(rid) => match policy.recipient_index.get(rid.as_str()) {
            Some(ri) => Some(&policy.recipients[usize::from(*ri)]),
            None => {
                deny(Reason::UndeclaredRecipient {
                    recipient: rid.clone(),
                });
                None
            }
        },
    };
    let scoped_ok = |scope: ScopeRef<'_>| {
        pc.and_then(|c| c.record_ref(scope))
            .is_some_and(|r| record_counts(policy, subject, p, r, req.at))
    };
    if let Some(r) = recipient {
        if !r.purposes.contains(usize::from(p.key))
            && !r.may_change_purpose
            && !scoped_ok(ScopeRef::Recipient(r.id.as_str()))
        {
            deny(Reason::RecipientPurposeNotDeclared {
                recipient: r.id.clone(),
                purpose: pid.clone(),
            });
        }
        let partner = matches!(
            r.kind,
            RecipientKind::Partner | RecipientKind::LoginProvider
        );
        if (r.requires_explicit_consent || (needs_consent && partner))
            && !scoped_ok(ScopeRef::Recipient(r.id.as_str()))
        {
            deny(Reason::SharingConsentMissing {
                recipient: r.id.clone(),
            });
        }
    }
    let destination = req.destination.or(recipient.map(|r| r.country));
    let abroad = match (destination, policy.residency) {
        (Some(d), Some(home)) => (d != home).then_some(d),
        _ => None,
    };
    let mut transfer = None;
    if let Some(dest) = abroad {
        let ri = req
            .recipient
            .as_ref()
            .and_then(|r| policy.recipient_index.get(r.as_str()).copied());
        transfer = policy.transfers.iter().find(|t| {
            t.destination == dest
                && ri.is_none_or(|ri| t.recipient == ri)
                && t.purposes.contains(usize::from(p.key))
        });
        if transfer.is_none() {
            deny(Reason::TransferNotDeclared { destination: dest });
        }
        if !scoped_ok(ScopeRef::Destination(dest)) {
            deny(Reason::CrossBorderConsentMissing { destination: dest });
        }
    }
    if p.has(flag::PUBLIC_DISCLOSURE) && needs_consent && !scoped_ok(ScopeRef::PublicDisclosure) {
        deny(Reason::PublicDisclosureConsentMissing {
            purpose: pid.clone(),
        });
    }

    // Categories.
    let sensitive_needs_consent =
        needs_consent || recipient.is_some_and(|r| r.requires_explicit_consent);
    for cid in &req.categories {
        let Some(&ci) = policy.category_index.get(cid.as_str()) else {
            deny(Reason::UndeclaredCategory {
                category: cid.clone(),
            });
            continue;
        };
        let ci = usize::from(ci);
        let c = &policy.categories[ci];
        if c.sensitivity == Sensitivity::Forbidden {
            deny(Reason::ForbiddenCategory {
                category: cid.clone(),
            });
            continue;
        }
        if !p.required.contains(ci) && !p.optional.contains(ci) {
            deny(Reason::CategoryNotDeclaredForPurpose {
                purpose: pid.clone(),
                category: cid.clone(),
            });
        }
        if c.sensitivity == Sensitivity::Sensitive
            && sensitive_needs_consent
            && !scoped_ok(ScopeRef::Category(cid.as_str()))
        {
            deny(Reason::SensitiveConsentMissing {
                purpose: pid.clone(),
                category: cid.clone(),
            });
        }
        if let Some(r) = recipient
            && !r.categories.contains(ci)
        {
            deny(Reason::CategoryNotDeclaredForRecipient {
                recipient: r.id.clone(),
                category: cid.clone(),
            });
        }
        if let (Some(t), Some(dest)) = (transfer, abroad)
            && !t.categories.contains(ci)
        {
            deny(Reason::CategoryNotDeclaredForTransfer {
                destination: dest,
                category: cid.clone(),
            });
        }
        if !c.stored {
            obligations.push(Obligation::DoNotStore {
                category: cid.clone(),
            });
        }
    }

    if !reasons.is_empty() {
        return Decision {
            allow: false,
            reasons,
            obligations: Vec::new(),
            basis,
        };
    }
    if let Some(r) = recipient {
        obligations.push(Obligation::RecordDisclosure {
            kind: if abroad.is_some() {
                crate::decide::DisclosureKind::Transfer
            } else {
                DisclosureKind::Sharing
            },
            recipient: Some(r.id.clone()),
            destination: abroad,
            purpose: pid.clone(),
        });
    } else if abroad.is_some() {
        obligations.push(Obligation::RecordDisclosure {
            kind: DisclosureKind::Transfer,
            recipient: None,
            destination: abroad,
            purpose: pid.clone(),
        });
    }
    if p.has(flag::PUBLIC_DISCLOSURE) {
        obligations.push(Obligation::RecordDisclosure {
            kind: DisclosureKind::PublicDisclosure,
            recipient: None,
            destination: None,
            purpose: pid.clone(),
        });
    }
    if p.deidentify {
        obligations.push(Obligation::DeidentifyOnCollection);
    }
    obligations.push(Obligation::DeleteAfter {
        retention: p.retention,
    });
    Decision {
        allow: true,
        reasons,
        obligations,
        basis,
    }
}

/// What the pack's age-band rules object to when `subject` is processed for `p` at
/// `at` (blocked band, guardian consent or authorisation missing, written evidence
/// missing), if anything. `decide` denies with it; the children's sweep
/// ([`crate::children`]) deletes what it covers.
pub(crate) fn age_reason(
    policy: &CompiledPolicy,
    subject: &SubjectState,
    p: &CPurpose,
    at: Timestamp,
) -> Option<Reason> {
    let pid = &p.id;
    let needs_consent = p.basis == LegalBasis::Consent;
    let pc = subject.purpose(pid.as_str());
    let band = subject.age_band(&policy.minors, at);
    match policy.guardian_rule(band) {
        GuardianRule::None => None,
        GuardianRule::Blocked => Some(if band == AgeBand::Child {
            Reason::ChildNotAccepted
        } else {
            Reason::MinorNotAccepted
        }),
        GuardianRule::GuardianConsent if needs_consent => {
            match guardian_proof(
                subject,
                pc.and_then(PurposeConsents::guardian_consent_current),
            ) {
                None => Some(Reason::GuardianConsentRequired {
                    purpose: pid.clone(),
                }),
                Some(g) if policy.written_evidence() && g.evidence != GuardianEvidence::Written => {
                    Some(Reason::WrittenGuardianEvidenceRequired {
                        purpose: pid.clone(),
                    })
                }
                Some(_) => None,
            }
        }
        GuardianRule::GuardianAuthorisation if needs_consent => {
            let per_purpose = guardian_proof(
                subject,
                pc.and_then(PurposeConsents::guardian_consent_current),
            );
            let general = guardian_proof(subject, subject.guardian_authorisation());
            let proofs = [per_purpose, general];
            let mut any = proofs.iter().flatten().peekable();
            if any.peek().is_none() {
                Some(Reason::GuardianAuthorisationRequired {
                    purpose: pid.clone(),
                })
            } else if policy.written_evidence()
                && !any.any(|g| g.evidence == GuardianEvidence::Written)
            {
                Some(Reason::WrittenGuardianEvidenceRequired {
                    purpose: pid.clone(),
                })
            } else {
                None
            }
        }
        GuardianRule::GuardianConsent | GuardianRule::GuardianAuthorisation => None,
    }
}

/// A guardian proof counts only from the linked guardian, when a link is recorded.
fn guardian_proof(subject: &SubjectState, proof: Option<GuardianProof>) -> Option<GuardianProof> {
    let g = proof?;
    match subject.guardian() {
        Some(linked) if linked != g.guardian => None,
        _ => Some(g),
    }
}

/// Whether a record is a consent that counts now: given, not lapsed, and under a
/// version the history still honours.
fn record_counts(
    policy: &CompiledPolicy,
    subject: &SubjectState,
    p: &CPurpose,
    r: &ConsentRecord,
    at: Timestamp,
) -> bool {
    r.is_given_at(at) && version_counts(policy, subject, p, r)
}

fn version_counts(
    policy: &CompiledPolicy,
    subject: &SubjectState,
    p: &CPurpose,
    r: &ConsentRecord,
) -> bool {
    policy
        .validity
        .as_ref()
        .is_none_or(|v| v.counts(p.id.as_str(), &r.version, subject.accepted_versions()))
}

fn consent_problem(
    policy: &CompiledPolicy,
    subject: &SubjectState,
    p: &CPurpose,
    rec: Option<&ConsentRecord>,
    at: Timestamp,
) -> Option<Reason> {
    use crate::ledger::ConsentStatus as S;
    let Some(r) = rec else {
        let purpose = p.id.clone();
        return Some(Reason::ConsentMissing { purpose });
    };
    if r.status == S::Given && r.is_given_at(at) && version_counts(policy, subject, p, r) {
        return None;
    }
    let purpose = p.id.clone();
    match r.status {
        S::Withdrawn => Some(Reason::ConsentWithdrawn { purpose }),
        S::Refused => Some(Reason::ConsentRefused { purpose }),
        S::Expired => Some(Reason::ConsentExpired { purpose }),
        S::Given if !r.is_given_at(at) => Some(Reason::ConsentExpired { purpose }),
        S::Given if !version_counts(policy, subject, p, r) => {
            Some(Reason::ConsentRenewalRequired { purpose })
        }
        S::Given => None,
    }
}

/// Decides many requests, each against its own subject state.
pub fn decide_batch<'a>(
    policy: &CompiledPolicy,
    items: impl IntoIterator<Item = (&'a SubjectState, &'a DecisionRequest)>,
) -> Vec<Decision> {
    items
        .into_iter()
        .map(|(s, r)| decide(policy, s, r))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
