//! troth's domain and pure logic: ids, subjects, the consent ledger and its fold, the
//! compiled policy and the decision engine, and an in-memory decision index.
//!
//! # Architecture invariants
//! - **No I/O.** No files, no network, no database, no clock, no randomness: callers
//!   pass time ([`jiff::Timestamp`]) and ids in. (Tests read pack files; the library
//!   never does.)
//! - **No SQL, no HTTP, no wire format.** Types derive `serde` so their stable codes
//!   (reason codes, statuses) are fixed in one place, but which format carries them
//!   is the server's business.
//! - **Decisions are pure functions** of (compiled policy, subject state, request):
//!   [`decide`] reads nothing else, so the same inputs always give the same answer.
//! - **The ledger is append-only.** State is a fold ([`SubjectState::apply`]); per
//!   scope the latest event by (time, event id) wins, so the fold is independent of the
//!   order events are applied in.
//! - **Reasons carry ids, never personal information.**
//!
//! # How a server uses it
//! ```
//! # use troth_core::*;
//! # let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"),
//! #     "/../../packs/s002-template/policy.toml")).unwrap();
//! # let policy = troth_policy::parse_policy("policy.toml", &text).unwrap();
//! let compiled = CompiledPolicy::compile(&policy, PolicyVersion::of(&policy)).unwrap();
//! let tenant = TenantId::from_u128(1);
//! let mut index = DecisionIndex::new(tenant, compiled);
//! let alice = SubjectId::from_u128(42);
//! let at: jiff::Timestamp = "2024-04-01T00:00:00Z".parse().unwrap();
//! index
//!     .apply(&LedgerEvent {
//!         id: EventId::from_parts(1, 1),
//!         tenant,
//!         subject: alice,
//!         at,
//!         fact: Fact::Consent(ConsentFact::given(
//!             "photo-access".parse().unwrap(),
//!             index.policy().version().hash,
//!         )),
//!     })
//!     .unwrap();
//! let req = DecisionRequest::try_new("photo-access", &["photos"], at).unwrap();
//! assert!(index.decide(Some(alice), &req).allow);
//! ```

pub mod calendar;
pub mod certification;
pub mod children;
pub mod compiled;
pub mod decide;
pub mod ids;
pub mod index;
pub mod ledger;
pub mod reports;
pub mod retention;
pub mod rights;
pub mod state;
pub mod subject;

pub use calendar::{CalendarError, HolidayCalendar};
pub use certification::{
    Certification, CertificationCommand, CertificationError, CertificationKind, CertificationState,
    CertificationTransition, CertifiedBy, CreditCode, NumberError, ReasonCode, ReasonCodeError,
    ResidentId,
};
pub use children::{ChildDataReason, child_record_due, child_sweep_candidate};
pub use compiled::{
    BitSet, Cessation, CessationScope, CompileError, CompiledPolicy, ConsentValidity,
    consent_breaks,
};
pub use decide::{
    Basis, Decision, DecisionRequest, DisclosureKind, Obligation, Reason, decide, decide_batch,
};
pub use ids::{
    CountryCode, EventId, EvidenceHash, ParseIdError, PolicyHash, PolicyVersion, SubjectId,
    TenantId,
};
pub use index::{DecisionIndex, IndexError};
pub use ledger::{
    Actor, ConsentFact, ConsentStatus, EventKey, Fact, LedgerEvent, Method, Scope, Signals,
};
pub use rights::{
    Alarm, Channel, ExtensionReason, ExtensionRule, FeeDecision, Outcome, RequestDetails,
    RequestKind, RequestRules, RequestState, RequestStatus, RightsRequest, RulesError, Submitter,
    Transition, TransitionError, TransitionEvent, alarm, deadline_from, repeat_fee,
};
pub use state::{
    ApplyError, ConsentRecord, GuardianAuth, GuardianProof, PurposeConsents, RecordActor, ScopeRef,
    Stamped, SubjectState,
};
pub use subject::{AccountStatus, AgeBand, AgeInfo, age_on, band_for_age};
