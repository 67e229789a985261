//! Rights requests against the real packs: deadlines (calendar and working days, from
//! receipt and from verification), the state machine's rules, alarms and fees, and
//! properties over random command sequences.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use troth_core::*;
use troth_policy::ids::{HoldReasonId, RefusalReasonId};
use troth_policy::{DayUnit, DeadlineStart, FreeRequests, LawProfileId, Policy, Verification};

fn pack(name: &str) -> Policy {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../packs")
        .join(name);
    troth_policy::load_pack(&dir).unwrap().policy
}

fn s002() -> Policy {
    pack("s002-template")
}

fn s004() -> Policy {
    pack("s004-mobtech")
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn utc() -> HolidayCalendar {
    HolidayCalendar::default()
}

/// Beijing time, with the 2024 National Day holiday (1–7 October) and its make-up
/// working days (Sunday 29 September, Saturday 12 October), as the State Council
/// announced them.
fn china_2024() -> HolidayCalendar {
    HolidayCalendar::new(TimeZone::fixed(jiff::tz::offset(8)))
        .with_holidays((1..=7).map(|d| date(2024, 10, d)))
        .unwrap()
        .with_working_days([date(2024, 9, 29), date(2024, 10, 12)])
        .unwrap()
}

fn details(kind: RequestKind, received_at: Timestamp) -> RequestDetails {
    RequestDetails {
        kind,
        submitter: Submitter::Subject,
        channel: Channel::PrivacyCenter,
        to_third_party: false,
        received_at,
    }
}

fn refusal(id: &str) -> RefusalReasonId {
    RefusalReasonId::new(id).unwrap()
}

fn hold(id: &str) -> HoldReasonId {
    HoldReasonId::new(id).unwrap()
}

fn rules_with_law(policy: &Policy, kind: RequestKind, law: LawProfileId) -> RequestRules {
    let mut p = policy.clone();
    p.law.profile = law;
    RequestRules::from_policy(&p, kind).unwrap()
}

// ---------------------------------------------------------------------------------------
// Rules from the packs
// ---------------------------------------------------------------------------------------

#[test]
fn s002_rules_thirty_calendar_days_from_receipt() {
    let r = RequestRules::from_policy(&s002(), RequestKind::Access).unwrap();
    assert_eq!(r.deadline.days, 30);
    assert_eq!(r.deadline.unit, DayUnit::Calendar);
    assert_eq!(r.deadline.from, DeadlineStart::Receipt);
    assert_eq!(r.verification, Some(Verification::OneTimeCode));
    assert_eq!(
        r.free_requests,
        Some(FreeRequests {
            count: 4,
            per_days: 365
        })
    );
    assert_eq!(r.law, LawProfileId::Pipl);
    assert_eq!(r.extension, None, "PIPL allows no extension");
    assert!(
        r.refusal_reasons
            .contains(&refusal("unreasonably-repeated"))
    );
    assert!(r.hold_reasons.contains(&hold("legal-requirement")));
    assert!(r.offers_channel(Channel::Email));
    assert!(r.offers_channel(Channel::Api));
    assert!(!r.offers_channel(Channel::Phone));
    // R13: deadline = received + 30 days.
    let due = r.due_date(ts("2024-04-01T09:00:00Z"), None, &utc());
    assert_eq!(due, Some(date(2024, 5, 1)));
}

#[test]
fn s002_complaint_uses_its_own_deadline_and_needs_no_verification() {
    let r = RequestRules::from_policy(&s002(), RequestKind::Complaint).unwrap();
    assert_eq!(r.deadline.days, 30);
    assert!(!r.verification_required());
}

#[test]
fn s004_fifteen_days_after_verification() {
    let rules = RequestRules::from_policy(&s004(), RequestKind::Deletion).unwrap();
    assert_eq!(rules.deadline.days, 15);
    assert_eq!(rules.deadline.from, DeadlineStart::Verification);
    assert_eq!(rules.verification, Some(Verification::Manual));
    assert_eq!(rules.free_requests, None);
    assert!(
        rules
            .refusal_reasons
            .contains(&refusal("commercial-secrets"))
    );

    let received = ts("2024-03-01T02:00:00Z");
    // R19: no deadline while unverified.
    assert_eq!(rules.due_date(received, None, &utc()), None);
    assert_eq!(
        rules.due_date(received, Some(ts("2024-03-05T10:00:00Z")), &utc()),
        Some(date(2024, 3, 20))
    );

    let cal = utc();
    let (mut req, ev) =
        RightsRequest::receive(details(RequestKind::Deletion, received), &rules, &cal).unwrap();
    assert_eq!(ev.due, None);
    assert_eq!(
        req.alarm(ts("2030-01-01T00:00:00Z"), &rules, &cal),
        Alarm::None
    );
    req.apply(
        Transition::StartVerification,
        ts("2024-03-02T00:00:00Z"),
        &rules,
        &cal,
    )
    .unwrap();
    let ev = req
        .apply(
            Transition::Verified,
            ts("2024-03-05T10:00:00Z"),
            &rules,
            &cal,
        )
        .unwrap();
    assert_eq!(ev.due, Some(date(2024, 3, 20)));
    assert_eq!(ev.from, Some(RequestStatus::Verifying));
    assert_eq!(ev.to, RequestState::InProgress);
}

#[test]
fn s004_requests_needing_no_check_count_from_receipt() {
    let rules = RequestRules::from_policy(&s004(), RequestKind::OptOutTargeting).unwrap();
    assert!(!rules.verification_required());
    assert_eq!(
        rules.due_date(ts("2024-03-01T02:00:00Z"), None, &utc()),
        Some(date(2024, 3, 16))
    );
}

#[test]
fn rights_not_offered_are_rejected() {
    // s004 offers no explanation right.
    assert_eq!(
        RequestRules::from_policy(&s004(), RequestKind::Explanation),
        Err(RulesError::NotOffered(RequestKind::Explanation))
    );
}

// ---------------------------------------------------------------------------------------
// Working days
// ---------------------------------------------------------------------------------------

#[test]
fn working_days_skip_the_weekend() {
    let cal = utc();
    // Friday + 1 working day = Monday; + 5 = next Friday.
    assert_eq!(
        cal.add_working_days(date(2024, 3, 1), 1),
        Some(date(2024, 3, 4))
    );
    assert_eq!(
        cal.add_working_days(date(2024, 3, 1), 5),
        Some(date(2024, 3, 8))
    );
    // Saturday start: Monday is the first working day.
    assert_eq!(
        cal.add_working_days(date(2024, 3, 2), 1),
        Some(date(2024, 3, 4))
    );
    assert_eq!(
        cal.add_working_days(date(2024, 3, 2), 0),
        Some(date(2024, 3, 2))
    );
}

#[test]
fn working_days_skip_holidays_and_count_make_up_saturdays() {
    let cal = china_2024();
    // Received Friday 27 Sep (Beijing): Sat 28 off, Sun 29 make-up (1), Mon 30 (2),
    // 1–7 Oct holiday, 8–11 Oct (3–6), Sat 12 make-up (7), 14–18 (8–12), 21–23 (13–15).
    assert_eq!(
        cal.add_working_days(date(2024, 9, 27), 15),
        Some(date(2024, 10, 23))
    );
    // Without the make-up days it would be two working days later.
    let plain = HolidayCalendar::new(TimeZone::fixed(jiff::tz::offset(8)))
        .with_holidays((1..=7).map(|d| date(2024, 10, d)))
        .unwrap();
    assert_eq!(
        plain.add_working_days(date(2024, 9, 27), 15),
        Some(date(2024, 10, 25))
    );

    // Through a pack: s004 with working days, verified late on Friday UTC, which is
    // already Saturday 28 Sep in Beijing.
    let mut policy = s004();
    policy.rights.deadline.unit = DayUnit::Working;
    let rules = RequestRules::from_policy(&policy, RequestKind::Access).unwrap();
    let verified = ts("2024-09-27T17:00:00Z");
    assert_eq!(
        rules.due_date(ts("2024-09-20T00:00:00Z"), Some(verified), &cal),
        Some(date(2024, 10, 23))
    );
}

// ---------------------------------------------------------------------------------------
// State machine
// ---------------------------------------------------------------------------------------

#[test]
fn happy_path_is_audited() {
    let rules = RequestRules::from_policy(&s002(), RequestKind::Deletion).unwrap();
    let cal = utc();
    let received = ts("2024-04-01T09:00:00Z");
    let (mut req, ev) =
        RightsRequest::receive(details(RequestKind::Deletion, received), &rules, &cal).unwrap();
    assert_eq!(ev.command, None);
    assert_eq!(ev.due, Some(date(2024, 5, 1)));
    let steps = [
        Transition::StartVerification,
        Transition::Verified,
        Transition::Complete {
            outcome: Outcome::FulfilledWithHolds {
                holds: vec![hold("legal-requirement")],
            },
        },
    ];
    let mut events = vec![ev];
    for (i, step) in steps.iter().enumerate() {
        let at = received + SignedDuration::from_hours(i as i64 + 1);
        events.push(req.apply(step.clone(), at, &rules, &cal).unwrap());
    }
    assert_eq!(req.state().status(), RequestStatus::Completed);
    assert_eq!(events.len(), 4);
    // The events serialise with stable codes and replay to the same request.
    let json = serde_json::to_value(&events[3]).unwrap();
    assert_eq!(json["command"]["command"], "complete");
    assert_eq!(json["to"]["state"], "completed");
    assert_eq!(json["to"]["outcome"]["kind"], "fulfilled_with_holds");
    let replayed = RightsRequest::replay(*req.details(), &events, &rules, &cal).unwrap();
    assert_eq!(replayed, req);
}

#[test]
fn verification_cannot_be_skipped() {
    let rules = RequestRules::from_policy(&s002(), RequestKind::Access).unwrap();
    let cal = utc();
    let t = ts("2024-04-01T09:00:00Z");
    let (mut req, _) =
        RightsRequest::receive(details(RequestKind::Access, t), &rules, &cal).unwrap();
    assert_eq!(
        req.apply(Transition::Start, t, &rules, &cal),
        Err(TransitionError::VerificationRequired(RequestKind::Access))
    );
    assert_eq!(
        req.apply(
            Transition::Complete {
                outcome: Outcome::Fulfilled
            },
            t,
            &rules,
            &cal
        ),
        Err(TransitionError::Illegal {
            from: RequestStatus::Received,
            command: "complete"
        })
    );
    assert_eq!(req.state(), &RequestState::Received);

    // A complaint needs no check and may start straight away.
    let rules = RequestRules::from_policy(&s002(), RequestKind::Complaint).unwrap();
    let (mut req, _) =
        RightsRequest::receive(details(RequestKind::Complaint, t), &rules, &cal).unwrap();
    req.apply(Transition::Start, t, &rules, &cal).unwrap();
    req.apply(
        Transition::Complete {
            outcome: Outcome::Fulfilled,
        },
        t,
        &rules,
        &cal,
    )
    .unwrap();
}

#[test]
fn refusals_must_cite_the_packs_reasons() {
    let cal = utc();
    let t = ts("2024-04-01T09:00:00Z");
    let rules = RequestRules::from_policy(&s002(), RequestKind::Copy).unwrap();
    let (mut req, _) = RightsRequest::receive(details(RequestKind::Copy, t), &rules, &cal).unwrap();
    // s004's commercial-secrets reason is not in s002.
    assert_eq!(
        req.apply(
            Transition::Refuse {
                reason: refusal("commercial-secrets")
            },
            t,
            &rules,
            &cal
        ),
        Err(TransitionError::UnknownRefusalReason(refusal(
            "commercial-secrets"
        )))
    );
    let ev = req
        .apply(
            Transition::Refuse {
                reason: refusal("impractical"),
            },
            t,
            &rules,
            &cal,
        )
        .unwrap();
    assert_eq!(
        ev.to,
        RequestState::Refused {
            reason: refusal("impractical")
        }
    );
    // Terminal: nothing else applies.
    assert_eq!(
        req.apply(Transition::StartVerification, t, &rules, &cal),
        Err(TransitionError::Finished(RequestStatus::Refused))
    );
}

#[test]
fn holds_must_be_the_packs() {
    let cal = utc();
    let t = ts("2024-04-01T09:00:00Z");
    let rules = RequestRules::from_policy(&s002(), RequestKind::WithdrawConsent).unwrap();
    let (mut req, _) =
        RightsRequest::receive(details(RequestKind::WithdrawConsent, t), &rules, &cal).unwrap();
    req.apply(Transition::Start, t, &rules, &cal).unwrap();
    let complete = |holds: Vec<HoldReasonId>| Transition::Complete {
        outcome: Outcome::FulfilledWithHolds { holds },
    };
    assert_eq!(
        req.apply(complete(vec![]), t, &rules, &cal),
        Err(TransitionError::NoHoldReason)
    );
    assert_eq!(
        req.apply(complete(vec![hold("legal-procedure")]), t, &rules, &cal),
        Err(TransitionError::UnknownHoldReason(hold("legal-procedure")))
    );
}

#[test]
fn pipl_allows_no_extension() {
    let cal = utc();
    let t = ts("2024-04-01T09:00:00Z");
    let rules = RequestRules::from_policy(&s002(), RequestKind::Complaint).unwrap();
    let (mut req, _) =
        RightsRequest::receive(details(RequestKind::Complaint, t), &rules, &cal).unwrap();
    req.apply(Transition::Start, t, &rules, &cal).unwrap();
    assert_eq!(
        req.apply(
            Transition::Extend {
                reason: ExtensionReason::Complexity
            },
            t,
            &rules,
            &cal
        ),
        Err(TransitionError::ExtensionNotAllowed(LawProfileId::Pipl))
    );
}

#[test]
fn gdpr_extends_once_by_two_months_within_the_first_month() {
    let cal = utc();
    let rules = rules_with_law(&s002(), RequestKind::Complaint, LawProfileId::Gdpr);
    assert_eq!(
        rules.extension,
        Some(ExtensionRule {
            days: 61,
            times: 1,
            before_due: true
        })
    );
    let t = ts("2024-04-01T09:00:00Z");
    let (mut req, _) =
        RightsRequest::receive(details(RequestKind::Complaint, t), &rules, &cal).unwrap();
    req.apply(Transition::Start, t, &rules, &cal).unwrap();
    // Too late: after the original due date (1 May).
    let mut late = req.clone();
    assert_eq!(
        late.apply(
            Transition::Extend {
                reason: ExtensionReason::Complexity
            },
            ts("2024-05-02T00:00:00Z"),
            &rules,
            &cal
        ),
        Err(TransitionError::ExtensionTooLate(date(2024, 5, 1)))
    );
    let ev = req
        .apply(
            Transition::Extend {
                reason: ExtensionReason::NumberOfRequests,
            },
            ts("2024-05-01T23:00:00Z"),
            &rules,
            &cal,
        )
        .unwrap();
    let new_due = date(2024, 7, 1);
    assert_eq!(
        ev.to,
        RequestState::Extended {
            new_due,
            reason: ExtensionReason::NumberOfRequests
        }
    );
    assert_eq!(req.due(&rules, &cal), Some(new_due));
    assert_eq!(
        req.apply(
            Transition::Extend {
                reason: ExtensionReason::Complexity
            },
            ts("2024-05-02T00:00:00Z"),
            &rules,
            &cal
        ),
        Err(TransitionError::ExtensionLimit(1))
    );
    // The alarm follows the extended deadline.
    assert!(!req.is_overdue(ts("2024-06-15T00:00:00Z"), &rules, &cal));
    assert!(req.is_overdue(ts("2024-07-02T00:00:00Z"), &rules, &cal));
    req.apply(
        Transition::Complete {
            outcome: Outcome::NothingHeld,
        },
        ts("2024-06-01T00:00:00Z"),
        &rules,
        &cal,
    )
    .unwrap();
    assert_eq!(
        req.alarm(ts("2030-01-01T00:00:00Z"), &rules, &cal),
        Alarm::None
    );
}

#[test]
fn ccpa_extends_by_45_days_and_counts_from_verification_cannot_extend_early() {
    let cal = utc();
    let rules = rules_with_law(&s004(), RequestKind::Access, LawProfileId::Ccpa);
    assert_eq!(rules.extension.map(|e| (e.days, e.times)), Some((45, 1)));
    let t = ts("2024-04-01T09:00:00Z");
    let (mut req, _) =
        RightsRequest::receive(details(RequestKind::Access, t), &rules, &cal).unwrap();
    req.apply(Transition::StartVerification, t, &rules, &cal)
        .unwrap();
    req.apply(
        Transition::Verified,
        ts("2024-04-03T09:00:00Z"),
        &rules,
        &cal,
    )
    .unwrap();
    let ev = req
        .apply(
            Transition::Extend {
                reason: ExtensionReason::ReasonablyNecessary,
            },
            ts("2024-04-10T00:00:00Z"),
            &rules,
            &cal,
        )
        .unwrap();
    // 3 Apr + 15 days = 18 Apr, + 45 = 2 Jun.
    assert_eq!(ev.due, Some(date(2024, 6, 2)));
}

#[test]
fn pack_granted_extension_is_a_parameter() {
    // The manifest has no extension field; a server may set one for a PIPL pack.
    let cal = utc();
    let mut rules = RequestRules::from_policy(&s004(), RequestKind::Access).unwrap();
    rules.extension = Some(ExtensionRule {
        days: 15,
        times: 1,
        before_due: true,
    });
    let t = ts("2024-04-01T09:00:00Z");
    let (mut req, _) =
        RightsRequest::receive(details(RequestKind::Access, t), &rules, &cal).unwrap();
    req.apply(Transition::StartVerification, t, &rules, &cal)
        .unwrap();
    req.apply(Transition::Verified, t, &rules, &cal).unwrap();
    let ev = req
        .apply(
            Transition::Extend {
                reason: ExtensionReason::Complexity,
            },
            t,
            &rules,
            &cal,
        )
        .unwrap();
    assert_eq!(ev.due, Some(date(2024, 5, 1)));
}

#[test]
fn bad_inputs_are_rejected() {
    let cal = utc();
    let t = ts("2024-04-01T09:00:00Z");
    let access = RequestRules::from_policy(&s002(), RequestKind::Access).unwrap();
    let mut d = details(RequestKind::Access, t);
    d.to_third_party = true;
    assert_eq!(
        RightsRequest::receive(d, &access, &cal).unwrap_err(),
        TransitionError::TransferNotCopy(RequestKind::Access)
    );
    let copy = RequestRules::from_policy(&s002(), RequestKind::Copy).unwrap();
    d.kind = RequestKind::Copy;
    d.submitter = Submitter::DeveloperTenant {
        tenant: TenantId::from_u128(9),
    };
    d.channel = Channel::Api;
    let (mut req, _) = RightsRequest::receive(d, &copy, &cal).unwrap();
    assert!(matches!(
        req.apply(Transition::StartVerification, t, &access, &cal),
        Err(TransitionError::WrongRules { .. })
    ));
    req.apply(Transition::StartVerification, t, &copy, &cal)
        .unwrap();
    assert!(matches!(
        req.apply(
            Transition::Verified,
            t - SignedDuration::from_secs(1),
            &copy,
            &cal
        ),
        Err(TransitionError::TimeWentBackwards { .. })
    ));
}

#[test]
fn stable_codes() {
    assert_eq!(
        serde_json::to_value(RequestKind::OptOutTargeting).unwrap(),
        "opt_out_targeting"
    );
    assert_eq!(
        serde_json::to_value(Submitter::DeveloperTenant {
            tenant: TenantId::from_u128(1)
        })
        .unwrap()["kind"],
        "developer_tenant"
    );
    assert_eq!(
        serde_json::to_value(Transition::Refuse {
            reason: refusal("impractical")
        })
        .unwrap(),
        serde_json::json!({"command": "refuse", "reason": "impractical"})
    );
    for k in RequestKind::ALL {
        assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        assert_eq!(serde_json::to_value(k.right()).unwrap(), k.as_str());
    }
}

// ---------------------------------------------------------------------------------------
// Alarms and fees
// ---------------------------------------------------------------------------------------

#[test]
fn alarms_at_half_eighty_and_overdue() {
    let start = ts("2024-04-01T00:00:00Z");
    let due = ts("2024-04-11T00:00:00Z");
    let day = |n: i64| start + SignedDuration::from_hours(24 * n);
    assert_eq!(alarm(day(4), start, due), Alarm::None);
    assert_eq!(alarm(day(5), start, due), Alarm::Half);
    assert_eq!(alarm(day(7), start, due), Alarm::Half);
    assert_eq!(alarm(day(8), start, due), Alarm::EightyPercent);
    assert_eq!(
        alarm(due - SignedDuration::from_secs(1), start, due),
        Alarm::EightyPercent
    );
    assert_eq!(alarm(due, start, due), Alarm::Overdue);

    // Through a request: s002 access received 1 Apr 00:00 UTC is due by the end of 1 May.
    let rules = RequestRules::from_policy(&s002(), RequestKind::Access).unwrap();
    let cal = utc();
    let (req, _) =
        RightsRequest::receive(details(RequestKind::Access, start), &rules, &cal).unwrap();
    assert_eq!(
        req.alarm(ts("2024-04-17T00:00:00Z"), &rules, &cal),
        Alarm::Half
    );
    assert!(!req.is_overdue(ts("2024-05-01T23:59:59Z"), &rules, &cal));
    assert!(req.is_overdue(ts("2024-05-02T00:00:00Z"), &rules, &cal));
}

#[test]
fn free_requests_then_a_fee_flag() {
    let rule = FreeRequests {
        count: 4,
        per_days: 365,
    };
    let now = ts("2025-01-01T00:00:00Z");
    let days_ago = |n: i64| now - SignedDuration::from_hours(24 * n);
    assert_eq!(
        repeat_fee(&[], now, Some(&rule)),
        FeeDecision::Free { remaining: 3 }
    );
    let three = [days_ago(10), days_ago(100), days_ago(200)];
    assert_eq!(
        repeat_fee(&three, now, Some(&rule)),
        FeeDecision::Free { remaining: 0 }
    );
    let four = [days_ago(10), days_ago(100), days_ago(200), days_ago(300)];
    assert_eq!(
        repeat_fee(&four, now, Some(&rule)),
        FeeDecision::FeeMayApply {
            previous_in_period: 4
        }
    );
    // One falls out of the period.
    let old = [days_ago(10), days_ago(100), days_ago(200), days_ago(365)];
    assert_eq!(
        repeat_fee(&old, now, Some(&rule)),
        FeeDecision::Free { remaining: 0 }
    );
    // s004 states no limit.
    let rules = RequestRules::from_policy(&s004(), RequestKind::Access).unwrap();
    assert_eq!(
        repeat_fee(&four, now, rules.free_requests.as_ref()),
        FeeDecision::NoLimit
    );
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

/// Indexes into [`ALL_RULES`].
const S002_ACCESS: usize = 0;
const S002_COMPLAINT: usize = 8;

/// Rules for three kinds under both packs, and under GDPR and CCPA, parsed once.
static ALL_RULES: std::sync::LazyLock<Vec<RequestRules>> = std::sync::LazyLock::new(|| {
    let (a, b) = (s002(), s004());
    let mut out = Vec::new();
    for kind in [
        RequestKind::Access,
        RequestKind::Deletion,
        RequestKind::Complaint,
    ] {
        out.push(RequestRules::from_policy(&a, kind).unwrap());
        out.push(RequestRules::from_policy(&b, kind).unwrap());
        out.push(rules_with_law(&a, kind, LawProfileId::Gdpr));
        out.push(rules_with_law(&b, kind, LawProfileId::Ccpa));
    }
    out
});

fn command() -> impl Strategy<Value = Transition> {
    let refusals = prop::sample::select(vec![
        "impractical",
        "commercial-secrets",
        "made-up",
        "serious-harm",
    ]);
    let holds = prop::collection::vec(
        prop::sample::select(vec!["legal-requirement", "legal-procedure", "made-up"]),
        0..3,
    );
    prop_oneof![
        Just(Transition::StartVerification),
        Just(Transition::Verified),
        Just(Transition::Start),
        Just(Transition::Extend {
            reason: ExtensionReason::Complexity
        }),
        Just(Transition::Complete {
            outcome: Outcome::Fulfilled
        }),
        holds.prop_map(|h| Transition::Complete {
            outcome: Outcome::FulfilledWithHolds {
                holds: h.into_iter().map(hold).collect()
            }
        }),
        refusals.prop_map(|r| Transition::Refuse { reason: refusal(r) }),
    ]
}

/// What every reachable request satisfies.
fn check_invariants(req: &RightsRequest, rules: &RequestRules, cal: &HolidayCalendar) {
    let verified_or_free = req.verified_at().is_some() || !rules.verification_required();
    let received = req.details().received_at;
    if let Some(v) = req.verified_at() {
        assert!(v >= received);
    }
    assert!(req.last_at() >= received);
    match req.state() {
        RequestState::Received | RequestState::Verifying => {
            assert!(req.verified_at().is_none());
            assert_eq!(req.extensions(), 0);
        }
        RequestState::InProgress => assert!(verified_or_free),
        RequestState::Extended { new_due, .. } => {
            assert!(verified_or_free);
            let rule = rules.extension.expect("extended without a law allowing it");
            assert!(req.extensions() >= 1 && req.extensions() <= rule.times);
            let original = rules.due_date(received, req.verified_at(), cal).unwrap();
            assert!(*new_due > original);
        }
        RequestState::Completed { outcome } => {
            assert!(verified_or_free, "completed while unverified");
            if let Outcome::FulfilledWithHolds { holds } = outcome {
                assert!(!holds.is_empty());
                assert!(holds.iter().all(|h| rules.hold_reasons.contains(h)));
            }
        }
        RequestState::Refused { reason } => assert!(rules.refusal_reasons.contains(reason)),
    }
    if let (Some(due), Some(start)) = (req.due(rules, cal), req.clock_start(rules)) {
        assert!(due >= cal.local_date(start));
    }
}

fn day_strategy() -> impl Strategy<Value = Date> {
    (0i64..3650).prop_map(|n| date(2020, 1, 1) + jiff::Span::new().days(n))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_command_sequence_reaches_an_illegal_state(
        which in 0usize..12,
        cmds in prop::collection::vec((command(), -3_600i64..20 * 86_400), 0..12),
    ) {
        let rules = &ALL_RULES[which];
        let cal = china_2024();
        let received = ts("2024-09-20T03:00:00Z");
        let (mut req, _) =
            RightsRequest::receive(details(rules.kind, received), rules, &cal).unwrap();
        let mut at = received;
        let mut events = Vec::new();
        for (cmd, step) in cmds {
            at += SignedDuration::from_secs(step);
            let before = req.clone();
            let was_terminal = req.state().is_terminal();
            match req.apply(cmd, at, rules, &cal) {
                Ok(ev) => {
                    prop_assert!(!was_terminal, "a finished request accepted a command");
                    prop_assert_eq!(ev.from, Some(before.state().status()));
                    prop_assert_eq!(&ev.to, req.state());
                    prop_assert_eq!(ev.due, req.due(rules, &cal));
                    events.push(ev);
                }
                Err(e) => {
                    prop_assert_eq!(&req, &before, "an error changed the request");
                    if was_terminal {
                        prop_assert!(
                            matches!(
                                e,
                                TransitionError::Finished(_) | TransitionError::TimeWentBackwards { .. }
                            ),
                            "terminal request error: {e}"
                        );
                    }
                }
            }
            check_invariants(&req, rules, &cal);
        }
        let replayed = RightsRequest::replay(*req.details(), &events, rules, &cal).unwrap();
        prop_assert_eq!(replayed, req);
    }

    #[test]
    fn finished_requests_accept_nothing(
        refuse in any::<bool>(),
        cmd in command(),
        later in 0i64..86_400 * 400,
    ) {
        let rules = ALL_RULES[S002_COMPLAINT].clone();
        let cal = utc();
        let t = ts("2024-04-01T00:00:00Z");
        let (mut req, _) =
            RightsRequest::receive(details(RequestKind::Complaint, t), &rules, &cal).unwrap();
        let end = if refuse {
            Transition::Refuse { reason: refusal("impractical") }
        } else {
            req.apply(Transition::Start, t, &rules, &cal).unwrap();
            Transition::Complete { outcome: Outcome::Fulfilled }
        };
        req.apply(end, t, &rules, &cal).unwrap();
        let before = req.clone();
        let at = t + SignedDuration::from_secs(later);
        prop_assert_eq!(
            req.apply(cmd, at, &rules, &cal),
            Err(TransitionError::Finished(before.state().status()))
        );
        prop_assert_eq!(req, before);
    }

    #[test]
    fn due_dates_are_after_and_monotone_in_the_start(
        a in day_strategy(),
        b in day_strategy(),
        days in 0u32..400,
        working in any::<bool>(),
    ) {
        let cal = china_2024();
        let unit = if working { DayUnit::Working } else { DayUnit::Calendar };
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let due_lo = deadline_from(lo, days, unit, &cal).unwrap();
        let due_hi = deadline_from(hi, days, unit, &cal).unwrap();
        prop_assert!(due_lo >= lo);
        prop_assert!(due_hi >= hi);
        prop_assert!(due_lo <= due_hi);
        if days > 0 {
            prop_assert!(due_lo > lo);
            if working {
                prop_assert!(cal.is_working_day(due_lo));
            }
        }
    }

    #[test]
    fn calendar_deadline_is_start_plus_n_days(start in day_strategy(), days in 0u32..2000) {
        let cal = china_2024();
        let due = deadline_from(start, days, DayUnit::Calendar, &cal).unwrap();
        prop_assert_eq!(i64::from(due.since(start).unwrap().get_days()), i64::from(days));
        // Also through the pack rules, from a timestamp at noon in the calendar's zone.
        let mut rules = ALL_RULES[S002_ACCESS].clone();
        rules.deadline.days = days;
        let received = cal
            .time_zone()
            .to_timestamp(start.at(12, 0, 0, 0))
            .unwrap();
        prop_assert_eq!(rules.due_date(received, None, &cal), Some(due));
    }

    #[test]
    fn alarms_only_rise_as_time_passes(
        start in 0i64..1_000_000,
        len in 1i64..10_000_000,
        mut offsets in prop::collection::vec(-1_000_000i64..20_000_000, 2..20),
    ) {
        let base = ts("2024-01-01T00:00:00Z");
        let s = base + SignedDuration::from_secs(start);
        let d = s + SignedDuration::from_secs(len);
        offsets.sort_unstable();
        let alarms: Vec<Alarm> = offsets
            .iter()
            .map(|o| alarm(s + SignedDuration::from_secs(*o), s, d))
            .collect();
        prop_assert!(alarms.windows(2).all(|w| w[0] <= w[1]));
        prop_assert!(Alarm::None < Alarm::Half);
        prop_assert!(Alarm::Half < Alarm::EightyPercent);
        prop_assert!(Alarm::EightyPercent < Alarm::Overdue);
        for (o, a) in offsets.iter().zip(&alarms) {
            prop_assert_eq!(*a == Alarm::Overdue, *o >= len);
        }
    }
}

#[test]
fn rule_indexes_are_right() {
    assert_eq!(ALL_RULES[S002_ACCESS].kind, RequestKind::Access);
    assert_eq!(ALL_RULES[S002_COMPLAINT].kind, RequestKind::Complaint);
    assert_eq!(ALL_RULES[S002_COMPLAINT].deadline.days, 30);
    assert_eq!(ALL_RULES[S002_COMPLAINT].law, LawProfileId::Pipl);
}
