//! Retention periods, written as short phrases in the manifest.
//!
//! Forms: `"180 days"`, `"3 years"`, `"until account-cancelled"`,
//! `"until account-cancelled + 15 days"`, `"none"` (used at the moment, never kept).
//! A phrase is easier for a privacy officer to read and review than a nested table.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A length of time in whole calendar units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    /// How many units.
    pub amount: u32,
    /// Which unit.
    pub unit: PeriodUnit,
}

/// Calendar units for retention periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodUnit {
    /// Days.
    Days,
    /// Weeks.
    Weeks,
    /// Months.
    Months,
    /// Years.
    Years,
}

impl Period {
    /// An upper bound of the period in days, for comparing periods of different units.
    pub fn max_days(self) -> u64 {
        let per = match self.unit {
            PeriodUnit::Days => 1,
            PeriodUnit::Weeks => 7,
            PeriodUnit::Months => 31,
            PeriodUnit::Years => 366,
        };
        u64::from(self.amount) * per
    }

    /// The period as a `jiff` span, for date arithmetic.
    pub fn to_span(self) -> jiff::Span {
        let n = i64::from(self.amount);
        match self.unit {
            PeriodUnit::Days => jiff::Span::new().days(n),
            PeriodUnit::Weeks => jiff::Span::new().weeks(n),
            PeriodUnit::Months => jiff::Span::new().months(n),
            PeriodUnit::Years => jiff::Span::new().years(n),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match (self.unit, self.amount == 1) {
            (PeriodUnit::Days, true) => "day",
            (PeriodUnit::Days, false) => "days",
            (PeriodUnit::Weeks, true) => "week",
            (PeriodUnit::Weeks, false) => "weeks",
            (PeriodUnit::Months, true) => "month",
            (PeriodUnit::Months, false) => "months",
            (PeriodUnit::Years, true) => "year",
            (PeriodUnit::Years, false) => "years",
        };
        write!(f, "{} {unit}", self.amount)
    }
}

/// Events that end a retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RetentionEvent {
    /// The person cancels the account.
    AccountCancelled,
    /// The purpose is fulfilled.
    PurposeFulfilled,
    /// The person withdraws consent.
    ConsentWithdrawn,
    /// The service stops operating.
    ServiceEnded,
}

impl RetentionEvent {
    const ALL: [(RetentionEvent, &'static str); 4] = [
        (RetentionEvent::AccountCancelled, "account-cancelled"),
        (RetentionEvent::PurposeFulfilled, "purpose-fulfilled"),
        (RetentionEvent::ConsentWithdrawn, "consent-withdrawn"),
        (RetentionEvent::ServiceEnded, "service-ended"),
    ];

    /// The keyword used in manifests.
    pub fn keyword(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(e, _)| *e == self)
            .map(|(_, k)| *k)
            .unwrap_or("account-cancelled")
    }
}

/// How long data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retention {
    /// Used at the moment and never stored (seed 003 location).
    None,
    /// Kept for a fixed period after collection.
    For(Period),
    /// Kept until an event, plus an optional grace period.
    Until {
        /// The event.
        event: RetentionEvent,
        /// Extra time after the event.
        grace: Option<Period>,
    },
}

/// Why a retention phrase could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a retention period; write `none`, `N days|weeks|months|years`, or `until EVENT [+ N days]` with EVENT one of account-cancelled, purpose-fulfilled, consent-withdrawn, service-ended"
)]
pub struct RetentionParseError {
    input: String,
}

fn parse_period(s: &str) -> Option<Period> {
    let mut words = s.split_whitespace();
    let amount: u32 = words.next()?.parse().ok()?;
    let unit = match words.next()? {
        "day" | "days" => PeriodUnit::Days,
        "week" | "weeks" => PeriodUnit::Weeks,
        "month" | "months" => PeriodUnit::Months,
        "year" | "years" => PeriodUnit::Years,
        _ => return None,
    };
    if words.next().is_some() || amount == 0 {
        return None;
    }
    Some(Period { amount, unit })
}

impl std::str::FromStr for Retention {
    type Err = RetentionParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = || RetentionParseError {
            input: input.to_owned(),
        };
        let s = input.trim();
        if s == "none" {
            return Ok(Retention::None);
        }
        if let Some(rest) = s.strip_prefix("until ") {
            let (event_word, grace) = match rest.split_once('+') {
                Some((e, g)) => (e.trim(), Some(parse_period(g.trim()).ok_or_else(err)?)),
                None => (rest.trim(), None),
            };
            let event = RetentionEvent::ALL
                .iter()
                .find(|(_, k)| *k == event_word)
                .map(|(e, _)| *e)
                .ok_or_else(err)?;
            return Ok(Retention::Until { event, grace });
        }
        parse_period(s).map(Retention::For).ok_or_else(err)
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Retention::None => f.write_str("none"),
            Retention::For(p) => write!(f, "{p}"),
            Retention::Until { event, grace: None } => write!(f, "until {}", event.keyword()),
            Retention::Until {
                event,
                grace: Some(g),
            } => write!(f, "until {} + {g}", event.keyword()),
        }
    }
}

impl Serialize for Retention {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Retention {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_each_form() {
        assert_eq!("none".parse::<Retention>(), Ok(Retention::None));
        assert_eq!(
            "3 years".parse::<Retention>(),
            Ok(Retention::For(Period {
                amount: 3,
                unit: PeriodUnit::Years
            }))
        );
        assert_eq!(
            "until account-cancelled + 15 days".parse::<Retention>(),
            Ok(Retention::Until {
                event: RetentionEvent::AccountCancelled,
                grace: Some(Period {
                    amount: 15,
                    unit: PeriodUnit::Days
                })
            })
        );
    }

    #[test]
    fn rejects_vague_phrases() {
        for bad in [
            "a reasonable period",
            "0 days",
            "until later",
            "5 fortnights",
            "",
        ] {
            assert!(bad.parse::<Retention>().is_err(), "{bad}");
        }
    }

    fn retention() -> impl Strategy<Value = Retention> {
        let unit = prop_oneof![
            Just(PeriodUnit::Days),
            Just(PeriodUnit::Weeks),
            Just(PeriodUnit::Months),
            Just(PeriodUnit::Years)
        ];
        let period = (1u32..10_000, unit).prop_map(|(amount, unit)| Period { amount, unit });
        let event = prop::sample::select(RetentionEvent::ALL.map(|(e, _)| e).to_vec());
        prop_oneof![
            Just(Retention::None),
            period.clone().prop_map(Retention::For),
            (event, prop::option::of(period))
                .prop_map(|(event, grace)| Retention::Until { event, grace }),
        ]
    }

    proptest! {
        #[test]
        fn display_round_trips(r in retention()) {
            prop_assert_eq!(r.to_string().parse::<Retention>(), Ok(r));
        }
    }
}
