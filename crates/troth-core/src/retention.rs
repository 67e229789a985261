//! Retention: when a stored record must go, and how.
//!
//! A record is stored for one purpose. The pack gives each purpose a retention
//! ([`Retention`]: a fixed period after collection, "until" an event plus an optional
//! grace period, or `none`) and an expiry action ([`ExpiryAction`]: delete or
//! anonymize). [`RetentionRules::from_policy`] reads those once; [`RetentionRules::plan`]
//! says, for a record collected at a given time, when it expires or which event it
//! waits for; [`RetentionRules::expiry_after_event`] turns an event (the account was
//! cancelled, consent was withdrawn) into the instant a waiting record expires.
//!
//! Periods are calendar periods counted in UTC ("3 months" after 31 January is the
//! end of April), saturating at the largest representable instant.
//!
//! Pure: time is passed in, nothing is read or stored here.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_policy::retention::{Period, RetentionEvent};
use troth_policy::{ExpiryAction, Policy, Retention};

/// The retention rule of one purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionRule {
    /// How long records are kept.
    pub retention: Retention,
    /// What happens to them at the end.
    pub on_expiry: ExpiryAction,
}

/// When one record expires, as planned at collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPlan {
    /// The instant it expires, when known now.
    pub expires: Option<Timestamp>,
    /// The event it waits for when its end is event-based and the event has not
    /// happened yet.
    pub waits_for: Option<RetentionEvent>,
    /// What the sweep does to it.
    pub action: ExpiryAction,
}

/// Why a record cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    /// The purpose is not in the pack.
    #[error("purpose `{0}` is not in the policy")]
    UnknownPurpose(String),
}

/// Every purpose's retention rule, read from a pack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionRules {
    purposes: BTreeMap<String, RetentionRule>,
}

impl RetentionRules {
    /// Reads the rules of the main policy's purposes and of every service's purposes
    /// (a service purpose of the same id as a main one replaces it, as in decisions).
    pub fn from_policy(policy: &Policy) -> Self {
        let mut purposes = BTreeMap::new();
        let all = policy
            .purposes
            .iter()
            .chain(policy.services.iter().flat_map(|s| &s.purposes));
        for p in all {
            purposes.insert(
                p.id.as_str().to_owned(),
                RetentionRule {
                    retention: p.retention,
                    on_expiry: p.on_expiry,
                },
            );
        }
        Self { purposes }
    }

    /// The rule of a purpose.
    pub fn rule(&self, purpose: &str) -> Option<&RetentionRule> {
        self.purposes.get(purpose)
    }

    /// Every purpose's rule, by purpose id.
    pub fn rules(&self) -> impl Iterator<Item = (&str, &RetentionRule)> {
        self.purposes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Plans a record collected at `collected` for `purpose`. A record may also carry
    /// an earlier expiry asked for by the caller (`requested`): the earlier of the two
    /// wins, so a caller can shorten retention but never lengthen it.
    pub fn plan(
        &self,
        purpose: &str,
        collected: Timestamp,
        requested: Option<Timestamp>,
    ) -> Result<RecordPlan, RetentionError> {
        let rule = self
            .rule(purpose)
            .ok_or_else(|| RetentionError::UnknownPurpose(purpose.to_owned()))?;
        let (expires, waits_for) = match rule.retention {
            Retention::None => (Some(collected), None),
            Retention::For(period) => (Some(add_period(collected, period)), None),
            Retention::Until { event, .. } => (None, Some(event)),
        };
        let expires = match (expires, requested) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(RecordPlan {
            expires,
            waits_for,
            action: rule.on_expiry,
        })
    }

    /// The instant a record of `purpose` collected at `collected` expires once `event`
    /// happened at `at`; `None` when the purpose's retention does not end with that
    /// event. Never before collection: an event before it ends nothing earlier.
    pub fn expiry_after_event(
        &self,
        purpose: &str,
        collected: Timestamp,
        event: RetentionEvent,
        at: Timestamp,
    ) -> Option<Timestamp> {
        match self.rule(purpose)?.retention {
            Retention::Until { event: e, grace } if e == event => {
                let end = grace.map_or(at, |g| add_period(at, g));
                Some(end.max(collected))
            }
            _ => None,
        }
    }
}

/// Whether a record with this expiry is due at `now`.
pub fn is_due(expires: Option<Timestamp>, now: Timestamp) -> bool {
    expires.is_some_and(|e| e <= now)
}

/// `t` plus a calendar period, counted in UTC; saturates at the largest instant.
pub fn add_period(t: Timestamp, p: Period) -> Timestamp {
    let utc = jiff::tz::Offset::UTC;
    utc.to_datetime(t)
        .checked_add(p.to_span())
        .ok()
        .and_then(|dt| utc.to_timestamp(dt).ok())
        .unwrap_or(Timestamp::MAX)
}

/// The stable code of an expiry action (`delete`, `anonymize`), as stored.
pub fn action_code(a: ExpiryAction) -> &'static str {
    match a {
        ExpiryAction::Delete => "delete",
        ExpiryAction::Anonymize => "anonymize",
    }
}

/// Parses an expiry action code; anything unknown reads as `delete`, the safe side.
pub fn action_from_code(s: &str) -> ExpiryAction {
    match s {
        "anonymize" => ExpiryAction::Anonymize,
        _ => ExpiryAction::Delete,
    }
}

/// What a sweep did, or (in a dry run) would do, to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepOutcome {
    /// Deleted.
    Deleted,
    /// Removed from the person and counted in the anonymous tally.
    Anonymized,
    /// Kept because of a legal hold.
    Held,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use troth_policy::retention::PeriodUnit;

    fn s002() -> Policy {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../packs/s002-template/policy.toml"
        ))
        .unwrap();
        troth_policy::parse_policy("policy.toml", &text).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn s002_analytics_is_anonymized_after_180_days() {
        let rules = RetentionRules::from_policy(&s002());
        let plan = rules
            .plan("analytics", ts("2025-01-01T00:00:00Z"), None)
            .unwrap();
        assert_eq!(plan.expires, Some(ts("2025-06-30T00:00:00Z")));
        assert_eq!(plan.action, ExpiryAction::Anonymize);
        assert_eq!(plan.waits_for, None);
    }

    #[test]
    fn s002_registration_waits_for_account_cancellation() {
        let rules = RetentionRules::from_policy(&s002());
        let collected = ts("2025-01-01T00:00:00Z");
        let plan = rules.plan("registration", collected, None).unwrap();
        assert_eq!(plan.expires, None);
        assert_eq!(plan.waits_for, Some(RetentionEvent::AccountCancelled));
        assert_eq!(plan.action, ExpiryAction::Delete);
        let cancelled = ts("2025-03-01T12:00:00Z");
        assert_eq!(
            rules.expiry_after_event(
                "registration",
                collected,
                RetentionEvent::AccountCancelled,
                cancelled
            ),
            Some(cancelled)
        );
        assert_eq!(
            rules.expiry_after_event(
                "registration",
                collected,
                RetentionEvent::ConsentWithdrawn,
                cancelled
            ),
            None,
            "another event ends nothing"
        );
    }

    #[test]
    fn unknown_purpose_is_an_error() {
        let rules = RetentionRules::from_policy(&s002());
        assert_eq!(
            rules.plan("nope", ts("2025-01-01T00:00:00Z"), None),
            Err(RetentionError::UnknownPurpose("nope".into()))
        );
    }

    #[test]
    fn none_expires_at_collection() {
        let mut rules = RetentionRules::default();
        rules.purposes.insert(
            "location".into(),
            RetentionRule {
                retention: Retention::None,
                on_expiry: ExpiryAction::Delete,
            },
        );
        let t = ts("2025-01-01T00:00:00Z");
        let plan = rules.plan("location", t, None).unwrap();
        assert_eq!(plan.expires, Some(t));
        assert!(is_due(plan.expires, t));
    }

    fn period() -> impl Strategy<Value = Period> {
        (
            1u32..500,
            prop_oneof![
                Just(PeriodUnit::Days),
                Just(PeriodUnit::Weeks),
                Just(PeriodUnit::Months),
                Just(PeriodUnit::Years)
            ],
        )
            .prop_map(|(amount, unit)| Period { amount, unit })
    }

    fn instant() -> impl Strategy<Value = Timestamp> {
        (0i64..4_000_000_000).prop_map(|s| Timestamp::from_second(s).unwrap())
    }

    fn retention() -> impl Strategy<Value = Retention> {
        let event = prop_oneof![
            Just(RetentionEvent::AccountCancelled),
            Just(RetentionEvent::ConsentWithdrawn),
            Just(RetentionEvent::PurposeFulfilled),
            Just(RetentionEvent::ServiceEnded)
        ];
        prop_oneof![
            Just(Retention::None),
            period().prop_map(Retention::For),
            (event, proptest::option::of(period()))
                .prop_map(|(event, grace)| Retention::Until { event, grace }),
        ]
    }

    fn one(retention: Retention) -> RetentionRules {
        let mut rules = RetentionRules::default();
        rules.purposes.insert(
            "p".into(),
            RetentionRule {
                retention,
                on_expiry: ExpiryAction::Delete,
            },
        );
        rules
    }

    proptest! {
        /// A record never expires before it was collected, and a fixed period ends
        /// at least `amount` days (the smallest unit) after collection.
        #[test]
        fn expiry_never_precedes_collection(r in retention(), c in instant(), req in proptest::option::of(instant())) {
            let plan = one(r).plan("p", c, None).unwrap();
            if let Some(e) = plan.expires {
                prop_assert!(e >= c);
            }
            if let Retention::For(p) = r {
                let e = plan.expires.unwrap();
                prop_assert!((e - c).as_secs() >= i64::from(p.amount) * 86_400 - 3_600);
                prop_assert!(!is_due(plan.expires, c));
            }
            // A caller-requested expiry only ever shortens.
            let asked = one(r).plan("p", c, req).unwrap();
            match (plan.expires, asked.expires) {
                (Some(a), Some(b)) => prop_assert!(b <= a),
                (None, b) => prop_assert_eq!(b, req),
                (Some(_), None) => prop_assert!(false, "a requested expiry dropped the pack's"),
            }
        }

        /// Event-based retention waits for exactly its event; once it happened the
        /// record expires the grace period after it, never before collection.
        #[test]
        fn event_retention_waits_for_its_event(r in retention(), c in instant(), at in instant()) {
            let rules = one(r);
            let plan = rules.plan("p", c, None).unwrap();
            for ev in [RetentionEvent::AccountCancelled, RetentionEvent::ConsentWithdrawn,
                       RetentionEvent::PurposeFulfilled, RetentionEvent::ServiceEnded] {
                let after = rules.expiry_after_event("p", c, ev, at);
                match r {
                    Retention::Until { event, grace } if event == ev => {
                        prop_assert_eq!(plan.waits_for, Some(ev));
                        prop_assert_eq!(plan.expires, None);
                        let e = after.unwrap();
                        prop_assert!(e >= c && e >= at);
                        if grace.is_none() { prop_assert_eq!(e, at.max(c)); }
                    }
                    _ => prop_assert_eq!(after, None),
                }
            }
        }

        /// Later collection never means earlier expiry (monotone in collection time).
        #[test]
        fn expiry_is_monotone(p in period(), a in instant(), b in instant()) {
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(add_period(a, p) <= add_period(b, p));
        }
    }
}
