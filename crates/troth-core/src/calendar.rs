//! A tenant's working-day calendar: weekend days, public holidays and make-up working
//! days, plus the time zone that turns an instant into the tenant's local date.
//!
//! Deadlines counted in working days (a pack's `unit = "working"`) need it, and so does
//! every deadline: a request received at 23:30 UTC is received on the next day in
//! Beijing. China moves working days around public holidays (调休, *tiao xiu*): some
//! Saturdays and Sundays become working days, so "weekend" alone is not enough; those
//! dates are listed as [`HolidayCalendar::with_working_days`].
//!
//! The calendar is data the caller supplies (from the tenant's settings); core never
//! loads a time zone database or a holiday list itself.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;

/// Why a calendar cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Every weekday was declared weekend, so working-day deadlines would never end.
    #[error("a calendar needs at least one working weekday; leave one day out of the weekend")]
    NoWorkingWeekday,
    /// A date was listed both as a holiday and as a make-up working day.
    #[error("`{0}` is listed both as a holiday and as a working day; list it in one of the two")]
    Conflict(Date),
}

/// Which days are working days for one tenant, and in which time zone its dates are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayCalendar {
    time_zone: TimeZone,
    /// Bit `i` set: the weekday with Monday-zero offset `i` is a weekend day.
    weekend: u8,
    holidays: BTreeSet<Date>,
    working_days: BTreeSet<Date>,
}

const SAT_SUN: u8 = (1 << 5) | (1 << 6);

fn bit(day: Weekday) -> u8 {
    // to_monday_zero_offset is 0..=6, so the shift never overflows.
    1u8 << day.to_monday_zero_offset().clamp(0, 6)
}

impl HolidayCalendar {
    /// A calendar in `time_zone` with Saturday and Sunday as weekend and no holidays.
    pub fn new(time_zone: TimeZone) -> Self {
        Self {
            time_zone,
            weekend: SAT_SUN,
            holidays: BTreeSet::new(),
            working_days: BTreeSet::new(),
        }
    }

    /// Replaces the weekend days. At least one weekday must remain a working day.
    pub fn with_weekend(mut self, days: &[Weekday]) -> Result<Self, CalendarError> {
        let weekend = days.iter().fold(0u8, |acc, d| acc | bit(*d));
        if weekend == 0x7f {
            return Err(CalendarError::NoWorkingWeekday);
        }
        self.weekend = weekend;
        Ok(self)
    }

    /// Adds non-working dates (public holidays, company closures).
    pub fn with_holidays(
        mut self,
        dates: impl IntoIterator<Item = Date>,
    ) -> Result<Self, CalendarError> {
        for d in dates {
            if self.working_days.contains(&d) {
                return Err(CalendarError::Conflict(d));
            }
            self.holidays.insert(d);
        }
        Ok(self)
    }

    /// Adds dates that are working days although they fall on a weekend (China's
    /// make-up working days, 调休).
    pub fn with_working_days(
        mut self,
        dates: impl IntoIterator<Item = Date>,
    ) -> Result<Self, CalendarError> {
        for d in dates {
            if self.holidays.contains(&d) {
                return Err(CalendarError::Conflict(d));
            }
            self.working_days.insert(d);
        }
        Ok(self)
    }

    /// The tenant's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// Whether `date` is a working day: a listed working day always is, a holiday never
    /// is, otherwise every day but the weekend.
    pub fn is_working_day(&self, date: Date) -> bool {
        if self.working_days.contains(&date) {
            return true;
        }
        if self.holidays.contains(&date) {
            return false;
        }
        self.weekend & bit(date.weekday()) == 0
    }

    /// The tenant's local date at instant `at`.
    pub fn local_date(&self, at: Timestamp) -> Date {
        self.time_zone.to_datetime(at).date()
    }

    /// The instant `date` ends in the tenant's time zone (midnight starting the next
    /// day): a reply is on time if sent before it. `None` at the end of the date range.
    pub fn end_of_day(&self, date: Date) -> Option<Timestamp> {
        let next = date.tomorrow().ok()?;
        self.time_zone.to_timestamp(DateTime::from(next)).ok()
    }

    /// The `n`th working day after `start` (the start day itself never counts, as in
    /// legal day counting); `start` when `n` is 0. `None` past the end of the date range.
    pub fn add_working_days(&self, start: Date, n: u32) -> Option<Date> {
        let mut day = start;
        let mut left = n;
        // Terminates: at least one weekday per week works and holidays are finite, and
        // `tomorrow` fails at the end of the date range.
        while left > 0 {
            day = day.tomorrow().ok()?;
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        Some(day)
    }
}

impl Default for HolidayCalendar {
    /// UTC, Saturday and Sunday off, no holidays.
    fn default() -> Self {
        Self::new(TimeZone::UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn weekend_and_overrides() {
        let cal = HolidayCalendar::default()
            .with_holidays([date(2024, 10, 1)])
            .unwrap()
            .with_working_days([date(2024, 10, 12)])
            .unwrap();
        assert!(cal.is_working_day(date(2024, 10, 11))); // Friday
        assert!(!cal.is_working_day(date(2024, 10, 13))); // Sunday
        assert!(!cal.is_working_day(date(2024, 10, 1))); // holiday on a Tuesday
        assert!(cal.is_working_day(date(2024, 10, 12))); // make-up Saturday
    }

    #[test]
    fn bad_calendars_are_rejected() {
        let all = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ];
        assert_eq!(
            HolidayCalendar::default().with_weekend(&all),
            Err(CalendarError::NoWorkingWeekday)
        );
        let d = date(2024, 10, 1);
        assert_eq!(
            HolidayCalendar::default()
                .with_holidays([d])
                .unwrap()
                .with_working_days([d]),
            Err(CalendarError::Conflict(d))
        );
    }

    #[test]
    fn local_dates_follow_the_time_zone() {
        let beijing = HolidayCalendar::new(TimeZone::fixed(jiff::tz::offset(8)));
        let at: Timestamp = "2024-03-01T17:30:00Z".parse().unwrap();
        assert_eq!(beijing.local_date(at), date(2024, 3, 2));
        assert_eq!(HolidayCalendar::default().local_date(at), date(2024, 3, 1));
        assert_eq!(
            beijing.end_of_day(date(2024, 3, 2)),
            Some("2024-03-02T16:00:00Z".parse().unwrap())
        );
    }
}
