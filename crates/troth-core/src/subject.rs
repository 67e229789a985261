//! Subjects: age bands against a pack's `minors` rules, guardian links, account status.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use troth_policy::Minors;

/// Where a person stands against the pack's age thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBand {
    /// Below `minors.child_age` (PIPL: under 14).
    Child,
    /// From `child_age` to below `minors.minor_age` (CN: 14–17).
    Minor,
    /// `minor_age` or older.
    Adult,
}

/// What is known about a subject's age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum AgeInfo {
    /// A birth date; the band is computed at each decision's date, so a child becomes
    /// a minor and then an adult without any new event.
    BirthDate(Date),
    /// A band declared by the person, a guardian or an age gate.
    Declared(AgeBand),
}

impl AgeInfo {
    /// The band on `on`, against the pack's thresholds.
    pub fn band(&self, minors: &Minors, on: Date) -> AgeBand {
        match *self {
            AgeInfo::Declared(b) => b,
            AgeInfo::BirthDate(born) => band_for_age(age_on(born, on), minors),
        }
    }
}

/// Whole years between `born` and `on` (0 if `on` is before `born`).
pub fn age_on(born: Date, on: Date) -> i32 {
    let mut years = i32::from(on.year()) - i32::from(born.year());
    if (on.month(), on.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years.max(0)
}

/// The band for an age in whole years.
pub fn band_for_age(age: i32, minors: &Minors) -> AgeBand {
    if age < i32::from(minors.child_age) {
        AgeBand::Child
    } else if age < i32::from(minors.minor_age) {
        AgeBand::Minor
    } else {
        AgeBand::Adult
    }
}

/// Account status of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Normal.
    #[default]
    Active,
    /// The account was cancelled (seed 002 R02): every decision is denied.
    Cancelled,
    /// A child the service does not accept, or whose data was collected without
    /// guardian consent (seed 002 R22, seed 004 R22): every decision is denied.
    ChildBlocked,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use troth_policy::{GuardianEvidence, GuardianRule};

    fn minors() -> Minors {
        Minors {
            child_age: 14,
            minor_age: 18,
            child_rule: GuardianRule::GuardianConsent,
            minor_rule: GuardianRule::GuardianAuthorisation,
            guardian_evidence: GuardianEvidence::Recorded,
            delete_if_collected_without_consent: false,
        }
    }

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_on(date(2010, 6, 15), date(2024, 6, 14)), 13);
        assert_eq!(age_on(date(2010, 6, 15), date(2024, 6, 15)), 14);
        assert_eq!(age_on(date(2010, 6, 15), date(2000, 1, 1)), 0);
    }

    #[test]
    fn bands_follow_the_pack_thresholds() {
        let m = minors();
        let born = AgeInfo::BirthDate(date(2010, 6, 15));
        assert_eq!(born.band(&m, date(2024, 6, 14)), AgeBand::Child);
        assert_eq!(born.band(&m, date(2024, 6, 15)), AgeBand::Minor);
        assert_eq!(born.band(&m, date(2028, 6, 15)), AgeBand::Adult);
        let declared = AgeInfo::Declared(AgeBand::Minor);
        assert_eq!(declared.band(&m, date(1990, 1, 1)), AgeBand::Minor);
    }
}
