//! Data-subject rights requests: the request state machine and its legal deadlines.
//!
//! A request moves `received → verifying → in_progress → completed | refused`, with
//! `extended` as a detour from `in_progress` where the law allows it. Requests that need
//! no identity check go `received → in_progress` directly. Every command either returns
//! a [`TransitionEvent`] for the server to append to the audit log, or a typed
//! [`TransitionError`] and leaves the request unchanged.
//!
//! What a pack allows (deadline, verification, free requests, refusal and hold reasons)
//! is read once into [`RequestRules`]; what the law allows (extensions) comes from the
//! pack's law profile. Dates are the tenant's local dates from its [`HolidayCalendar`].
//!
//! Pure: time is passed in, nothing is read or stored here.

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::Date;
use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};
use troth_policy::ids::{HoldReasonId, RefusalReasonId};
use troth_policy::{
    ContactKind, DayUnit, Deadline, DeadlineStart, FreeRequests, LawProfileId, Policy, RightKind,
    Verification,
};

use crate::calendar::HolidayCalendar;
use crate::ids::TenantId;

/// What a person asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// See the data held (PIPL Art.45).
    Access,
    /// A copy, or its transfer to a third party the person names (PIPL Art.45).
    Copy,
    /// Correct or complete data (PIPL Art.46).
    Correction,
    /// Delete data (PIPL Art.47).
    Deletion,
    /// Withdraw consent (PIPL Art.15).
    WithdrawConsent,
    /// Cancel the account.
    CancelAccount,
    /// Explain processing rules or an automated decision (PIPL Art.24, 48).
    Explanation,
    /// Opt out of targeted push and advertising (PIPL Art.24).
    OptOutTargeting,
    /// A complaint or suggestion.
    Complaint,
}

impl RequestKind {
    /// Every kind, in declaration order.
    pub const ALL: [RequestKind; 9] = [
        RequestKind::Access,
        RequestKind::Copy,
        RequestKind::Correction,
        RequestKind::Deletion,
        RequestKind::WithdrawConsent,
        RequestKind::CancelAccount,
        RequestKind::Explanation,
        RequestKind::OptOutTargeting,
        RequestKind::Complaint,
    ];

    /// The pack right this kind exercises.
    pub fn right(self) -> RightKind {
        match self {
            RequestKind::Access => RightKind::Access,
            RequestKind::Copy => RightKind::Copy,
            RequestKind::Correction => RightKind::Correction,
            RequestKind::Deletion => RightKind::Deletion,
            RequestKind::WithdrawConsent => RightKind::WithdrawConsent,
            RequestKind::CancelAccount => RightKind::CancelAccount,
            RequestKind::Explanation => RightKind::Explanation,
            RequestKind::OptOutTargeting => RightKind::OptOutTargeting,
            RequestKind::Complaint => RightKind::Complaint,
        }
    }

    /// Whether the identity check is required before carrying it out, by default.
    /// Kinds that reveal or change a person's data need it; withdrawing consent,
    /// opting out and complaining only reduce processing or ask nothing of the data,
    /// and an identity check would make them harder than giving consent (PIPL Art.15,
    /// GDPR Art.7(3); CCPA regulations forbid verifying opt-outs, 11 CCR §7026(d)).
    pub fn needs_verification(self) -> bool {
        !matches!(
            self,
            RequestKind::WithdrawConsent | RequestKind::OptOutTargeting | RequestKind::Complaint
        )
    }

    /// The kind's stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Access => "access",
            RequestKind::Copy => "copy",
            RequestKind::Correction => "correction",
            RequestKind::Deletion => "deletion",
            RequestKind::WithdrawConsent => "withdraw_consent",
            RequestKind::CancelAccount => "cancel_account",
            RequestKind::Explanation => "explanation",
            RequestKind::OptOutTargeting => "opt_out_targeting",
            RequestKind::Complaint => "complaint",
        }
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who submitted a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Submitter {
    /// The subject themselves.
    Subject,
    /// An operator recording it on the subject's behalf (a phone call, a letter).
    Operator,
    /// A developer tenant routing its end user's request (seed 004 F.2).
    DeveloperTenant {
        /// The developer.
        tenant: TenantId,
    },
}

/// How a request arrived: one of the pack's contact kinds, or the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email.
    Email,
    /// Telephone.
    Phone,
    /// A web page or form.
    Web,
    /// Post.
    Post,
    /// Inside the app or console.
    InApp,
    /// The privacy center.
    PrivacyCenter,
    /// The tenant's backend through the API.
    Api,
}

impl Channel {
    /// The pack contact kind this channel is, if any (the API is not a pack channel).
    pub fn contact_kind(self) -> Option<ContactKind> {
        match self {
            Channel::Email => Some(ContactKind::Email),
            Channel::Phone => Some(ContactKind::Phone),
            Channel::Web => Some(ContactKind::Web),
            Channel::Post => Some(ContactKind::Post),
            Channel::InApp => Some(ContactKind::InApp),
            Channel::PrivacyCenter => Some(ContactKind::PrivacyCenter),
            Channel::Api => None,
        }
    }
}

/// Why a deadline was extended (GDPR Art.12(3): complexity and number of requests;
/// CCPA §1798.130(a)(2): reasonably necessary). Ids only, never free text, so the
/// audit log carries no personal information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionReason {
    /// The request is complex.
    Complexity,
    /// The person made many requests.
    NumberOfRequests,
    /// Otherwise reasonably necessary.
    ReasonablyNecessary,
}

/// How a completed request ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Outcome {
    /// Carried out in full.
    Fulfilled,
    /// Carried out, except for data kept for the pack's listed legal reasons (a
    /// deletion under a legal hold).
    FulfilledWithHolds {
        /// The pack's hold reasons that apply; at least one.
        holds: Vec<HoldReasonId>,
    },
    /// No personal information was held to act on.
    NothingHeld,
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum RequestState {
    /// Recorded, nothing done yet.
    Received,
    /// The identity check is under way.
    Verifying,
    /// Being carried out.
    InProgress,
    /// Being carried out under an extended deadline.
    Extended {
        /// The deadline now in force.
        new_due: Date,
        /// Why it was extended.
        reason: ExtensionReason,
    },
    /// Done (terminal).
    Completed {
        /// How it ended.
        outcome: Outcome,
    },
    /// Refused for one of the pack's listed reasons (terminal).
    Refused {
        /// The pack's refusal reason.
        reason: RefusalReasonId,
    },
}

impl RequestState {
    /// The state without its data.
    pub fn status(&self) -> RequestStatus {
        match self {
            RequestState::Received => RequestStatus::Received,
            RequestState::Verifying => RequestStatus::Verifying,
            RequestState::InProgress => RequestStatus::InProgress,
            RequestState::Extended { .. } => RequestStatus::Extended,
            RequestState::Completed { .. } => RequestStatus::Completed,
            RequestState::Refused { .. } => RequestStatus::Refused,
        }
    }

    /// Completed or refused: no command applies any more.
    pub fn is_terminal(&self) -> bool {
        self.status().is_terminal()
    }
}

/// A [`RequestState`] without its data, for listings and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// See [`RequestState::Received`].
    Received,
    /// See [`RequestState::Verifying`].
    Verifying,
    /// See [`RequestState::InProgress`].
    InProgress,
    /// See [`RequestState::Extended`].
    Extended,
    /// See [`RequestState::Completed`].
    Completed,
    /// See [`RequestState::Refused`].
    Refused,
}

impl RequestStatus {
    /// Completed or refused.
    pub fn is_terminal(self) -> bool {
        matches!(self, RequestStatus::Completed | RequestStatus::Refused)
    }

    /// The status's stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Received => "received",
            RequestStatus::Verifying => "verifying",
            RequestStatus::InProgress => "in_progress",
            RequestStatus::Extended => "extended",
            RequestStatus::Completed => "completed",
            RequestStatus::Refused => "refused",
        }
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A command that moves a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum Transition {
    /// `received → verifying`.
    StartVerification,
    /// `verifying → in_progress`: identity confirmed (starts the clock where the pack
    /// counts from verification).
    Verified,
    /// `received → in_progress`, only for kinds that need no identity check.
    Start,
    /// `in_progress | extended → extended`, where the law allows it.
    Extend {
        /// Why.
        reason: ExtensionReason,
    },
    /// `in_progress | extended → completed`.
    Complete {
        /// How it ended.
        outcome: Outcome,
    },
    /// Any open state `→ refused`, citing a pack refusal reason.
    Refuse {
        /// The pack's refusal reason.
        reason: RefusalReasonId,
    },
}

impl Transition {
    /// The command's stable code.
    pub fn as_str(&self) -> &'static str {
        match self {
            Transition::StartVerification => "start_verification",
            Transition::Verified => "verified",
            Transition::Start => "start",
            Transition::Extend { .. } => "extend",
            Transition::Complete { .. } => "complete",
            Transition::Refuse { .. } => "refuse",
        }
    }
}

/// The audit record of one transition, returned for the server to append to the
/// tenant's audit log. Replaying the commands rebuilds the request
/// ([`RightsRequest::replay`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionEvent {
    /// When it happened (supplied by the caller).
    pub at: Timestamp,
    /// The command; `None` for the receipt of the request.
    pub command: Option<Transition>,
    /// The status before; `None` for the receipt.
    pub from: Option<RequestStatus>,
    /// The state after.
    pub to: RequestState,
    /// The deadline in force after it, once the clock has started.
    pub due: Option<Date>,
}

/// How far the law lets the controller extend the reply deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExtensionRule {
    /// Calendar days added per extension.
    pub days: u32,
    /// How many times the deadline may be extended.
    pub times: u32,
    /// The extension must be decided (and the person told) before the deadline in
    /// force passes (GDPR Art.12(3): "within one month"; CCPA: "within the first 45
    /// days").
    pub before_due: bool,
}

impl ExtensionRule {
    /// What law `law` allows: GDPR two months (61 days) once, CCPA 45 days once, both
    /// decided within the original period; PIPL none.
    pub fn for_law(law: LawProfileId) -> Option<Self> {
        law.profile().extension_days.map(|days| ExtensionRule {
            days,
            // LAW.md: GDPR "+2 months", CCPA "+45 once"; neither allows a second one.
            times: 1,
            before_due: true,
        })
    }
}

/// Why rules cannot be derived for a request kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// The pack does not offer the right.
    #[error("the policy does not offer the `{0}` right; add it to `[[rights.offered]]`")]
    NotOffered(RequestKind),
}

/// What the pack and its law say about one kind of request.
///
/// Fields are public so a server can apply what the pack has no field for yet (an
/// extension a PIPL pack grants itself, a different verification choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRules {
    /// The kind these rules are for.
    pub kind: RequestKind,
    /// The pack's law profile.
    pub law: LawProfileId,
    /// Reply deadline: days, calendar or working, from receipt or from verification.
    pub deadline: Deadline,
    /// The identity check, when this kind needs one.
    pub verification: Option<Verification>,
    /// Free requests per period, if the pack limits them.
    pub free_requests: Option<FreeRequests>,
    /// Extension the law allows, if any.
    pub extension: Option<ExtensionRule>,
    /// The pack's refusal reasons.
    pub refusal_reasons: BTreeSet<RefusalReasonId>,
    /// The pack's hold reasons.
    pub hold_reasons: BTreeSet<HoldReasonId>,
    /// The channels the pack offers for this right.
    pub channels: Vec<ContactKind>,
}

impl RequestRules {
    /// The rules for `kind` under `policy`: the right's own deadline or the section
    /// default, the section's verification where the kind needs one
    /// ([`RequestKind::needs_verification`]), the free-request limit, the reasons, and
    /// the law profile's extension.
    pub fn from_policy(policy: &Policy, kind: RequestKind) -> Result<Self, RulesError> {
        let right = policy
            .rights
            .offered
            .iter()
            .find(|r| r.kind == kind.right())
            .ok_or(RulesError::NotOffered(kind))?;
        Ok(Self {
            kind,
            law: policy.law.profile,
            deadline: right.deadline.unwrap_or(policy.rights.deadline),
            verification: kind
                .needs_verification()
                .then_some(policy.rights.verification),
            free_requests: policy.rights.free_requests,
            extension: ExtensionRule::for_law(policy.law.profile),
            refusal_reasons: policy
                .refusal_reasons
                .iter()
                .map(|r| r.id.clone())
                .collect(),
            hold_reasons: policy.hold_reasons.iter().map(|r| r.id.clone()).collect(),
            channels: right.channels.iter().map(|c| c.kind).collect(),
        })
    }

    /// Whether a request must be verified before it is carried out.
    pub fn verification_required(&self) -> bool {
        self.verification.is_some()
    }

    /// Whether the pack lists `channel` for this right (the API always counts).
    pub fn offers_channel(&self, channel: Channel) -> bool {
        channel
            .contact_kind()
            .is_none_or(|k| self.channels.contains(&k))
    }

    /// The instant the deadline starts counting: receipt, or verification where the
    /// pack counts from it and the kind needs it. `None` until then.
    pub fn clock_start(
        &self,
        received: Timestamp,
        verified: Option<Timestamp>,
    ) -> Option<Timestamp> {
        match self.deadline.from {
            DeadlineStart::Receipt => Some(received),
            // Nothing to wait for when the kind needs no check: count from receipt.
            DeadlineStart::Verification if !self.verification_required() => Some(received),
            DeadlineStart::Verification => verified,
        }
    }

    /// The original reply deadline (a tenant-local date; the reply is due before it
    /// ends). `None` while the clock has not started, or past the end of the date range.
    pub fn due_date(
        &self,
        received: Timestamp,
        verified: Option<Timestamp>,
        calendar: &HolidayCalendar,
    ) -> Option<Date> {
        let start = self.clock_start(received, verified)?;
        deadline_from(
            calendar.local_date(start),
            self.deadline.days,
            self.deadline.unit,
            calendar,
        )
    }
}

/// `days` calendar or working days after `start` (the start day never counts).
/// `None` past the end of the date range.
pub fn deadline_from(
    start: Date,
    days: u32,
    unit: DayUnit,
    calendar: &HolidayCalendar,
) -> Option<Date> {
    match unit {
        DayUnit::Calendar => add_days(start, days),
        DayUnit::Working => calendar.add_working_days(start, days),
    }
}

fn add_days(date: Date, days: u32) -> Option<Date> {
    let span = Span::new().try_days(i64::from(days)).ok()?;
    date.checked_add(span).ok()
}

/// How close a request is to its deadline. Ordered: `None < Half < EightyPercent <
/// Overdue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alarm {
    /// Less than half the time used.
    None,
    /// At least half the time used.
    Half,
    /// At least 80% of the time used.
    EightyPercent,
    /// The deadline has passed.
    Overdue,
}

/// The alarm at `now` for a deadline running from `start` to the instant `due`
/// (see [`HolidayCalendar::end_of_day`]).
pub fn alarm(now: Timestamp, start: Timestamp, due: Timestamp) -> Alarm {
    if now >= due {
        return Alarm::Overdue;
    }
    if now <= start {
        return Alarm::None;
    }
    // Integer nanoseconds: exact, and start < now < due so total > 0.
    let total = due.as_nanosecond() - start.as_nanosecond();
    let used = now.as_nanosecond() - start.as_nanosecond();
    if used * 10 >= total * 8 {
        Alarm::EightyPercent
    } else if used * 2 >= total {
        Alarm::Half
    } else {
        Alarm::None
    }
}

/// Whether a request may carry a fee for repetition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum FeeDecision {
    /// The pack sets no limit: always free.
    NoLimit,
    /// Free; `remaining` more free requests of this kind remain in the period after it.
    Free {
        /// Free requests left after this one.
        remaining: u32,
    },
    /// Over the free limit: the controller may charge a reasonable fee (or refuse it as
    /// unreasonably repeated, if the pack lists that reason).
    FeeMayApply {
        /// Requests of this kind already made in the period.
        previous_in_period: u32,
    },
}

/// Whether a request at `now` is over the pack's free limit, given the times of the
/// person's earlier requests of the same kind. The period is the `per_days` × 24 hours
/// before `now`; requests after `now` are ignored.
pub fn repeat_fee(
    previous_requests: &[Timestamp],
    now: Timestamp,
    rule: Option<&FreeRequests>,
) -> FeeDecision {
    let Some(rule) = rule else {
        return FeeDecision::NoLimit;
    };
    let period = SignedDuration::from_hours(i64::from(rule.per_days) * 24);
    let since = now.checked_sub(period).unwrap_or(Timestamp::MIN);
    let count = previous_requests
        .iter()
        .filter(|t| **t > since && **t <= now)
        .count();
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    if count < rule.count {
        FeeDecision::Free {
            remaining: rule.count - count - 1,
        }
    } else {
        FeeDecision::FeeMayApply {
            previous_in_period: count,
        }
    }
}

/// Why a command or a new request was rejected. The request is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The command does not apply in the current state.
    #[error("cannot `{command}` a request that is `{from}`")]
    Illegal {
        /// The current status.
        from: RequestStatus,
        /// The command's code.
        command: &'static str,
    },
    /// The request is completed or refused.
    #[error("the request is already `{0}`; a finished request accepts no command")]
    Finished(RequestStatus),
    /// Starting or completing without the identity check the pack requires.
    #[error("the pack requires identity verification for `{0}` requests; verify first")]
    VerificationRequired(RequestKind),
    /// The refusal reason is not one the pack lists.
    #[error("`{0}` is not one of the pack's refusal reasons; cite a listed reason")]
    UnknownRefusalReason(RefusalReasonId),
    /// A hold reason is not one the pack lists.
    #[error("`{0}` is not one of the pack's hold reasons; cite a listed reason")]
    UnknownHoldReason(HoldReasonId),
    /// Fulfilled with holds, but no hold named.
    #[error("a completion with holds must name at least one of the pack's hold reasons")]
    NoHoldReason,
    /// The law profile allows no extension.
    #[error("the `{}` law profile allows no extension of the deadline", .0.as_str())]
    ExtensionNotAllowed(LawProfileId),
    /// The deadline was already extended as often as the law allows.
    #[error("the deadline was already extended {0} time(s), as often as the law allows")]
    ExtensionLimit(u32),
    /// The extension comes after the deadline it would extend.
    #[error("an extension must be decided before the deadline `{0}` passes")]
    ExtensionTooLate(Date),
    /// The deadline has not started (it counts from verification), so there is nothing
    /// to extend.
    #[error("the deadline has not started yet; verify the request first")]
    ClockNotStarted,
    /// `at` is earlier than the request's last event.
    #[error("the time `{at}` is before the request's last event at `{last}`")]
    TimeWentBackwards {
        /// The time given.
        at: Timestamp,
        /// The last event's time.
        last: Timestamp,
    },
    /// The rules are for another kind of request.
    #[error("rules for `{rules}` used on a `{request}` request")]
    WrongRules {
        /// The request's kind.
        request: RequestKind,
        /// The rules' kind.
        rules: RequestKind,
    },
    /// A transfer to a third party was asked for on a request that is not a copy.
    #[error("only `copy` requests can be transferred to a third party, not `{0}`")]
    TransferNotCopy(RequestKind),
    /// A date computation ran past the end of the date range.
    #[error("the deadline is outside the supported date range")]
    DateOutOfRange,
}

/// What is recorded when a request arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestDetails {
    /// What is asked for.
    pub kind: RequestKind,
    /// Who submitted it.
    pub submitter: Submitter,
    /// How it arrived.
    pub channel: Channel,
    /// For a copy: send it to a third party the person names (portability).
    #[serde(default)]
    pub to_third_party: bool,
    /// When it was received.
    pub received_at: Timestamp,
}

/// One rights request and where it stands. Built by [`RightsRequest::receive`], moved
/// only by [`RightsRequest::apply`], so every state it reaches is a legal one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RightsRequest {
    details: RequestDetails,
    state: RequestState,
    verified_at: Option<Timestamp>,
    extensions: u32,
    extended_due: Option<Date>,
    last_at: Timestamp,
}

impl RightsRequest {
    /// Records a new request; the event is its receipt.
    pub fn receive(
        details: RequestDetails,
        rules: &RequestRules,
        calendar: &HolidayCalendar,
    ) -> Result<(Self, TransitionEvent), TransitionError> {
        if rules.kind != details.kind {
            return Err(TransitionError::WrongRules {
                request: details.kind,
                rules: rules.kind,
            });
        }
        if details.to_third_party && details.kind != RequestKind::Copy {
            return Err(TransitionError::TransferNotCopy(details.kind));
        }
        let request = Self {
            details,
            state: RequestState::Received,
            verified_at: None,
            extensions: 0,
            extended_due: None,
            last_at: details.received_at,
        };
        let event = TransitionEvent {
            at: details.received_at,
            command: None,
            from: None,
            to: RequestState::Received,
            due: request.due(rules, calendar),
        };
        Ok((request, event))
    }

    /// Rebuilds a request from its details and its audit events (the receipt event,
    /// without a command, is skipped), checking every step again.
    pub fn replay(
        details: RequestDetails,
        events: &[TransitionEvent],
        rules: &RequestRules,
        calendar: &HolidayCalendar,
    ) -> Result<Self, TransitionError> {
        let (mut request, _) = Self::receive(details, rules, calendar)?;
        for e in events {
            if let Some(command) = &e.command {
                request.apply(command.clone(), e.at, rules, calendar)?;
            }
        }
        Ok(request)
    }

    /// Applies `command` at `at`. On success the request has moved and the event is
    /// the audit record; on error nothing changed.
    pub fn apply(
        &mut self,
        command: Transition,
        at: Timestamp,
        rules: &RequestRules,
        calendar: &HolidayCalendar,
    ) -> Result<TransitionEvent, TransitionError> {
        let kind = self.details.kind;
        if rules.kind != kind {
            return Err(TransitionError::WrongRules {
                request: kind,
                rules: rules.kind,
            });
        }
        if at < self.last_at {
            return Err(TransitionError::TimeWentBackwards {
                at,
                last: self.last_at,
            });
        }
        let from = self.state.status();
        if from.is_terminal() {
            return Err(TransitionError::Finished(from));
        }
        // Compute everything first and commit at the end, so an error changes nothing.
        let mut verified_at = self.verified_at;
        let mut extensions = self.extensions;
        let mut extended_due = self.extended_due;
        let next = match (from, &command) {
            (RequestStatus::Received, Transition::StartVerification) => RequestState::Verifying,
            (RequestStatus::Verifying, Transition::Verified) => {
                verified_at = Some(at);
                RequestState::InProgress
            }
            (RequestStatus::Received, Transition::Start) => {
                if rules.verification_required() {
                    return Err(TransitionError::VerificationRequired(kind));
                }
                RequestState::InProgress
            }
            (
                RequestStatus::InProgress | RequestStatus::Extended,
                Transition::Extend { reason },
            ) => {
                let new_due = self.extend(at, rules, calendar)?;
                extensions += 1;
                extended_due = Some(new_due);
                RequestState::Extended {
                    new_due,
                    reason: *reason,
                }
            }
            (
                RequestStatus::InProgress | RequestStatus::Extended,
                Transition::Complete { outcome },
            ) => {
                // InProgress is only reached verified or for kinds needing no check;
                // checked again so a future path cannot skip it.
                if rules.verification_required() && verified_at.is_none() {
                    return Err(TransitionError::VerificationRequired(kind));
                }
                check_outcome(outcome, rules)?;
                RequestState::Completed {
                    outcome: outcome.clone(),
                }
            }
            (_, Transition::Refuse { reason }) => {
                if !rules.refusal_reasons.contains(reason) {
                    return Err(TransitionError::UnknownRefusalReason(reason.clone()));
                }
                RequestState::Refused {
                    reason: reason.clone(),
                }
            }
            (from, command) => {
                return Err(TransitionError::Illegal {
                    from,
                    command: command.as_str(),
                });
            }
        };
        self.state = next.clone();
        self.verified_at = verified_at;
        self.extensions = extensions;
        self.extended_due = extended_due;
        self.last_at = at;
        Ok(TransitionEvent {
            at,
            command: Some(command),
            from: Some(from),
            to: next,
            due: self.due(rules, calendar),
        })
    }

    /// The new deadline an extension at `at` would set.
    fn extend(
        &self,
        at: Timestamp,
        rules: &RequestRules,
        calendar: &HolidayCalendar,
    ) -> Result<Date, TransitionError> {
        let rule = rules
            .extension
            .ok_or(TransitionError::ExtensionNotAllowed(rules.law))?;
        if self.extensions >= rule.times {
            return Err(TransitionError::ExtensionLimit(self.extensions));
        }
        let due = self
            .due(rules, calendar)
            .ok_or(TransitionError::ClockNotStarted)?;
        if rule.before_due && calendar.local_date(at) > due {
            return Err(TransitionError::ExtensionTooLate(due));
        }
        add_days(due, rule.days).ok_or(TransitionError::DateOutOfRange)
    }

    /// What was recorded on receipt.
    pub fn details(&self) -> &RequestDetails {
        &self.details
    }

    /// The kind of request.
    pub fn kind(&self) -> RequestKind {
        self.details.kind
    }

    /// Where it stands.
    pub fn state(&self) -> &RequestState {
        &self.state
    }

    /// When the identity check completed, if it did.
    pub fn verified_at(&self) -> Option<Timestamp> {
        self.verified_at
    }

    /// How many times the deadline was extended.
    pub fn extensions(&self) -> u32 {
        self.extensions
    }

    /// The time of the last event.
    pub fn last_at(&self) -> Timestamp {
        self.last_at
    }

    /// When the deadline started counting, if it has.
    pub fn clock_start(&self, rules: &RequestRules) -> Option<Timestamp> {
        rules.clock_start(self.details.received_at, self.verified_at)
    }

    /// The deadline in force: the extended one, else the original. `None` while the
    /// clock has not started.
    pub fn due(&self, rules: &RequestRules, calendar: &HolidayCalendar) -> Option<Date> {
        self.extended_due
            .or_else(|| rules.due_date(self.details.received_at, self.verified_at, calendar))
    }

    /// The alarm at `now`: [`Alarm::None`] for finished requests and while the clock
    /// has not started.
    pub fn alarm(&self, now: Timestamp, rules: &RequestRules, calendar: &HolidayCalendar) -> Alarm {
        if self.state.is_terminal() {
            return Alarm::None;
        }
        let Some(start) = self.clock_start(rules) else {
            return Alarm::None;
        };
        match self
            .due(rules, calendar)
            .and_then(|d| calendar.end_of_day(d))
        {
            Some(due) => alarm(now, start, due),
            // A deadline past the end of the date range never comes.
            None => Alarm::None,
        }
    }

    /// Whether the request is open and past its deadline at `now`.
    pub fn is_overdue(
        &self,
        now: Timestamp,
        rules: &RequestRules,
        calendar: &HolidayCalendar,
    ) -> bool {
        self.alarm(now, rules, calendar) == Alarm::Overdue
    }
}

fn check_outcome(outcome: &Outcome, rules: &RequestRules) -> Result<(), TransitionError> {
    if let Outcome::FulfilledWithHolds { holds } = outcome {
        if holds.is_empty() {
            return Err(TransitionError::NoHoldReason);
        }
        if let Some(h) = holds.iter().find(|h| !rules.hold_reasons.contains(*h)) {
            return Err(TransitionError::UnknownHoldReason(h.clone()));
        }
    }
    Ok(())
}
