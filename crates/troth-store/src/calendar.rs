//! Persistence for each tenant's holiday calendar: public holidays and make-up
//! working days by local date. Replacing a year's list is one audited transaction
//! that closes the year's current rows and adds the new ones; nothing is rewritten,
//! so [`CalendarStore::calendar_days`] can answer for any past moment.

use crate::any::AnyStore;
use crate::error::Result;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use std::future::Future;
use troth_crypto::TenantId;

/// Whether a date is a day off or a day worked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarDayKind {
    /// A public holiday: not a working day even on a weekday.
    Holiday,
    /// A make-up working day (调休): a working day even on a weekend.
    Working,
}

impl CalendarDayKind {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Holiday => "holiday",
            Self::Working => "working",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "holiday" => Some(Self::Holiday),
            "working" => Some(Self::Working),
            _ => None,
        }
    }
}

/// One listed date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CalendarDay {
    /// The tenant's local date.
    pub date: Date,
    /// Holiday or make-up working day.
    pub kind: CalendarDayKind,
    /// What the day is (`National Day`), if given; never personal information.
    pub name: Option<String>,
}

/// Storage for holiday calendars.
pub trait CalendarStore: Send + Sync {
    /// Replaces the tenant's list for `year` with `days` (every date in that year,
    /// each once), as of `at`; audited as `calendar.changed`.
    fn replace_calendar_year(
        &self,
        tenant: &TenantId,
        year: i16,
        days: &[CalendarDay],
        at: Timestamp,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The listed dates, in date order: of one `year` or all, as they stood at
    /// `as_of` (now when `None`).
    fn calendar_days(
        &self,
        tenant: &TenantId,
        year: Option<i16>,
        as_of: Option<Timestamp>,
    ) -> impl Future<Output = Result<Vec<CalendarDay>>> + Send;
}

impl CalendarStore for AnyStore {
    async fn replace_calendar_year(
        &self,
        tenant: &TenantId,
        year: i16,
        days: &[CalendarDay],
        at: Timestamp,
        actor: &str,
    ) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => s.replace_calendar_year(tenant, year, days, at, actor).await,
            AnyStore::Postgres(s) => s.replace_calendar_year(tenant, year, days, at, actor).await,
        }
    }

    async fn calendar_days(
        &self,
        tenant: &TenantId,
        year: Option<i16>,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<CalendarDay>> {
        match self {
            AnyStore::Sqlite(s) => s.calendar_days(tenant, year, as_of).await,
            AnyStore::Postgres(s) => s.calendar_days(tenant, year, as_of).await,
        }
    }
}

/// Reads a stored row back.
pub(crate) fn day_from_row(day: &str, kind: &str, name: Option<String>) -> Option<CalendarDay> {
    Some(CalendarDay {
        date: day.parse().ok()?,
        kind: CalendarDayKind::parse(kind)?,
        name,
    })
}
