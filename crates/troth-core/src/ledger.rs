//! The consent ledger: append-only facts about a subject.
//!
//! Nothing here is ever edited. A withdrawal is a new event, not a change to the
//! consent it withdraws; the current state is a fold over the events
//! ([`crate::SubjectState`]). Subject facts (age, guardian link, account status) travel in
//! the same stream so one ordered log rebuilds everything the decision engine needs.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_policy::GuardianEvidence;
use troth_policy::ids::{CategoryId, PurposeId, RecipientId};

use crate::ids::{CountryCode, EventId, EvidenceHash, PolicyHash, SubjectId, TenantId};
use crate::subject::{AccountStatus, AgeInfo};

/// The order of events: time first, then id (UUIDv7 ids break ties by creation).
/// The fold keeps, per scope, the event with the greatest key, so the result does not
/// depend on the order events are applied in.
pub type EventKey = (Timestamp, EventId);

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEvent {
    /// Unique id.
    pub id: EventId,
    /// The tenant whose ledger this is.
    pub tenant: TenantId,
    /// The subject it is about.
    pub subject: SubjectId,
    /// When it happened (supplied by the caller; core reads no clock).
    pub at: Timestamp,
    /// What happened.
    pub fact: Fact,
}

impl LedgerEvent {
    /// The ordering key.
    pub fn key(&self) -> EventKey {
        (self.at, self.id)
    }
}

/// What a ledger event records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Fact {
    /// Consent given, withdrawn, refused or expired for one scope.
    Consent(ConsentFact),
    /// The person explicitly accepted a policy version (seed 003 R23: "clicks Agree").
    AcceptVersion {
        /// The version accepted.
        version: PolicyHash,
        /// How it was captured.
        method: Method,
        /// Hash of the evidence kept elsewhere.
        evidence: Option<EvidenceHash>,
    },
    /// Opt-out of targeted push and advertising (seed 002 R17, seed 004 R18), or
    /// opting back in (`opted_out = false`).
    TargetingOptOut {
        /// Whether the person is now opted out.
        opted_out: bool,
    },
    /// A guardian authorises (or stops authorising) a minor's own consents.
    GuardianAuthorisation {
        /// Whether authorisation is now granted.
        granted: bool,
        /// The guardian giving it.
        guardian: SubjectId,
        /// Kind of evidence kept.
        evidence: GuardianEvidence,
        /// Hash of the evidence document or record.
        evidence_hash: Option<EvidenceHash>,
    },
    /// Age information (birth date or declared band).
    Age(AgeInfo),
    /// The subject's guardian (or none).
    GuardianLink {
        /// The guardian's own subject id.
        guardian: Option<SubjectId>,
    },
    /// Account status change.
    Account(AccountStatus),
}

/// A consent event for one scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentFact {
    /// Given, withdrawn, refused or expired.
    pub status: ConsentStatus,
    /// The purpose it is for.
    pub purpose: PurposeId,
    /// The purpose as a whole, or a separate consent within it.
    pub scope: Scope,
    /// The policy version (content hash) the person saw.
    pub version: PolicyHash,
    /// How it was captured.
    pub method: Method,
    /// Who acted.
    pub actor: Actor,
    /// Hash of the evidence (form snapshot, signed receipt) kept elsewhere.
    pub evidence: Option<EvidenceHash>,
    /// Browser signals present when it was captured.
    pub signals: Signals,
    /// When a given consent lapses on its own, if it does.
    pub expires_at: Option<Timestamp>,
}

/// Consent status (the valid/invalid states of W3C DPV that a ledger records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    /// Given or renewed.
    Given,
    /// Withdrawn by the person.
    Withdrawn,
    /// Refused when asked.
    Refused,
    /// Lapsed.
    Expired,
}

/// What a consent covers. PIPL asks for *separate* consent for sensitive PI (Art.29),
/// giving PI to another handler (Art.23), publication (Art.25) and export (Art.39); each
/// is its own scope so it can be given and withdrawn on its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Scope {
    /// The purpose itself.
    Purpose,
    /// A sensitive category used for the purpose.
    Category(CategoryId),
    /// Sharing with a recipient for the purpose.
    Recipient(RecipientId),
    /// Transfer to a destination country for the purpose.
    Destination(CountryCode),
    /// Public disclosure for the purpose.
    PublicDisclosure,
}

/// How a consent was captured (seed 004 section C adds developer attestation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Consent banner.
    Banner,
    /// A form or settings page.
    Form,
    /// The tenant's backend through the API.
    Api,
    /// A guardian's consent flow.
    Guardian,
    /// An SDK developer attests that its end user consented.
    DeveloperAttestation,
}

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Actor {
    /// The subject themselves.
    Subject,
    /// The subject's guardian.
    Guardian {
        /// The guardian's subject id.
        guardian: SubjectId,
        /// Kind of evidence kept.
        evidence: GuardianEvidence,
        /// Hash of the evidence.
        evidence_hash: Option<EvidenceHash>,
    },
    /// A developer tenant attesting for its end user.
    Developer {
        /// The developer.
        tenant: TenantId,
    },
}

/// Browser privacy signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Signals {
    /// `Sec-GPC: 1` was sent.
    pub gpc: bool,
    /// `DNT: 1` was sent.
    pub dnt: bool,
}

impl ConsentFact {
    /// A consent with `status` for the whole purpose, by the subject through the API,
    /// with no evidence, signals or expiry. Adjust with the `with_*` methods.
    pub fn new(status: ConsentStatus, purpose: PurposeId, version: PolicyHash) -> Self {
        Self {
            status,
            purpose,
            scope: Scope::Purpose,
            version,
            method: Method::Api,
            actor: Actor::Subject,
            evidence: None,
            signals: Signals::default(),
            expires_at: None,
        }
    }

    /// Consent given for the whole purpose.
    pub fn given(purpose: PurposeId, version: PolicyHash) -> Self {
        Self::new(ConsentStatus::Given, purpose, version)
    }

    /// Consent withdrawn for the whole purpose.
    pub fn withdrawn(purpose: PurposeId, version: PolicyHash) -> Self {
        Self::new(ConsentStatus::Withdrawn, purpose, version)
    }

    /// For a separate scope within the purpose.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Captured by `method`.
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Given by `actor`.
    pub fn with_actor(mut self, actor: Actor) -> Self {
        self.actor = actor;
        self
    }

    /// With an evidence hash.
    pub fn with_evidence(mut self, evidence: EvidenceHash) -> Self {
        self.evidence = Some(evidence);
        self
    }

    /// With the signals present at capture.
    pub fn with_signals(mut self, signals: Signals) -> Self {
        self.signals = signals;
        self
    }

    /// Lapsing at `at`.
    pub fn expiring(mut self, at: Timestamp) -> Self {
        self.expires_at = Some(at);
        self
    }
}
