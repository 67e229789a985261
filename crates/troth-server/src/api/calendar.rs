//! `/v1/calendar`: the tenant's public holidays and make-up working days (调休), by
//! year. Working-day deadlines of rights requests count with them, in the time zone
//! of the policy's law profile.
//!
//! A change applies to requests received after it: a request counts its deadline
//! with the calendar as it stood when it was received, so a due date already
//! promised never moves. The store keeps every version of the list to make that
//! possible. Replacing a year is audited as `calendar.changed`.
//!
//! Reading needs [`Permission::ReadPolicy`] (the calendar is as public as the
//! deadlines it sets); replacing needs [`Permission::PublishPolicy`], like the
//! policy whose deadlines it moves.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use troth_core::HolidayCalendar;
use troth_crypto::TenantId;
use troth_policy::Policy;
use troth_store::{CalendarDay, CalendarDayKind, CalendarStore};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::AppState;
use crate::api::{bad, runtime, store_error};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;

/// A listed date: `"2026-10-01"`, or `{ "date": "2026-10-01", "name": "National Day" }`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum DayInput {
    /// Just the date.
    Date(String),
    /// The date and what it is.
    Named {
        /// `YYYY-MM-DD`, the tenant's local date.
        date: String,
        /// What the day is (no personal information).
        name: Option<String>,
    },
}

impl DayInput {
    fn parts(&self) -> (&str, Option<&str>) {
        match self {
            Self::Date(d) => (d, None),
            Self::Named { date, name } => (date, name.as_deref()),
        }
    }
}

/// One year's list, replacing what was there.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarYearInput {
    /// The year; every date must be in it.
    pub year: i16,
    /// Public holidays: no working day even on a weekday.
    #[serde(default)]
    pub holidays: Vec<DayInput>,
    /// Make-up working days: working days even on a weekend.
    #[serde(default)]
    pub working_days: Vec<DayInput>,
}

/// A listed date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayView {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// What the day is, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One year of the tenant's calendar.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarView {
    /// The year.
    pub year: i16,
    /// The time zone dates are read in: the policy in force's law profile's.
    pub time_zone: Option<String>,
    /// Weekend days (Saturday and Sunday).
    pub weekend: Vec<String>,
    /// Public holidays, in date order.
    pub holidays: Vec<DayView>,
    /// Make-up working days, in date order.
    pub working_days: Vec<DayView>,
}

/// `?year=` (default: this year, UTC).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct YearQuery {
    /// The year shown.
    pub year: Option<String>,
}

const YEARS: std::ops::RangeInclusive<i16> = 1970..=2200;

fn year_ok(year: i16, field: &str) -> Result<i16, ApiError> {
    if YEARS.contains(&year) {
        Ok(year)
    } else {
        Err(bad(
            field,
            format!("a year from {} to {}", YEARS.start(), YEARS.end()),
        ))
    }
}

/// The time zone a policy's dates are read in.
pub fn time_zone(policy: &Policy) -> jiff::tz::TimeZone {
    match policy.law.profile {
        troth_policy::LawProfileId::Pipl => {
            jiff::tz::TimeZone::get("Asia/Shanghai").unwrap_or(jiff::tz::TimeZone::UTC)
        }
        _ => jiff::tz::TimeZone::UTC,
    }
}

/// The tenant's working-day calendar as it stood at `as_of`: the policy's time
/// zone, Saturday and Sunday off, and the stored holidays and make-up working days.
pub async fn holiday_calendar(
    state: &AppState,
    tenant: &TenantId,
    policy: &Policy,
    as_of: Timestamp,
) -> Result<HolidayCalendar, ApiError> {
    let days = state
        .store
        .calendar_days(tenant, None, Some(as_of))
        .await
        .map_err(store_error)?;
    let of = |k: CalendarDayKind| {
        days.iter()
            .filter(move |d| d.kind == k)
            .map(|d| d.date)
            .collect::<Vec<Date>>()
    };
    HolidayCalendar::new(time_zone(policy))
        .with_holidays(of(CalendarDayKind::Holiday))
        .and_then(|c| c.with_working_days(of(CalendarDayKind::Working)))
        .map_err(|e| {
            // PUT refuses a date in both lists, so a stored conflict is corruption.
            tracing::error!(error = %e, "stored calendar does not build");
            ApiError::internal()
        })
}

/// Checks one list: each date well-formed, in `year`, listed once.
fn read_list(
    list: &[DayInput],
    field: &str,
    year: i16,
    kind: CalendarDayKind,
    seen: &mut BTreeMap<Date, String>,
) -> Result<Vec<CalendarDay>, ApiError> {
    let mut out = Vec::with_capacity(list.len());
    for (i, d) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let (raw, name) = d.parts();
        let date: Date = raw.trim().parse().map_err(|_| {
            ApiError::new(ProblemKind::Unprocessable, "a date is written YYYY-MM-DD")
                .field(format!("{at}.date"))
        })?;
        if date.year() != year {
            return Err(ApiError::new(
                ProblemKind::Unprocessable,
                format!("{date} is not in {year}, the year being replaced"),
            )
            .field(format!("{at}.date"))
            .hint("send one PUT per year"));
        }
        if let Some(first) = seen.get(&date) {
            return Err(ApiError::new(
                ProblemKind::Unprocessable,
                format!("{date} is already listed at {first}; a date is a holiday or a working day, once"),
            )
            .field(format!("{at}.date")));
        }
        if name.is_some_and(|n| n.chars().count() > 100) {
            return Err(bad(
                &format!("{at}.name"),
                "a name of at most 100 characters",
            ));
        }
        seen.insert(date, at);
        out.push(CalendarDay {
            date,
            kind,
            name: name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        });
    }
    Ok(out)
}

async fn view(state: &AppState, caller: &Caller, year: i16) -> Result<CalendarView, ApiError> {
    let days = state
        .store
        .calendar_days(&caller.tenant, Some(year), None)
        .await
        .map_err(store_error)?;
    let rt = runtime(state, caller).await?;
    let tz = rt
        .in_force(Timestamp::now())
        .await
        .map(|p| time_zone(&p.policy).iana_name().unwrap_or("UTC").to_owned());
    let of = |k: CalendarDayKind| {
        days.iter()
            .filter(|d| d.kind == k)
            .map(|d| DayView {
                date: d.date.to_string(),
                name: d.name.clone(),
            })
            .collect()
    };
    Ok(CalendarView {
        year,
        time_zone: tz,
        weekend: vec!["saturday".into(), "sunday".into()],
        holidays: of(CalendarDayKind::Holiday),
        working_days: of(CalendarDayKind::Working),
    })
}

/// One year of the tenant's holidays and make-up working days.
#[utoipa::path(get, path = "/v1/calendar", tag = "calendar", params(YearQuery),
    responses((status = 200, body = CalendarView), (status = 400)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<YearQuery>,
) -> Result<axum::Json<CalendarView>, ApiError> {
    caller.require(Permission::ReadPolicy)?;
    let year = match q.year.as_deref() {
        None | Some("") => jiff::tz::Offset::UTC.to_datetime(Timestamp::now()).year(),
        Some(y) => y
            .trim()
            .parse::<i16>()
            .map_err(|_| bad("year", "a year such as 2026"))?,
    };
    let year = year_ok(year, "year")?;
    Ok(axum::Json(view(&state, &caller, year).await?))
}

/// Replaces one year's holidays and make-up working days. Requests received from
/// now on count their deadlines with the new list; those received before keep theirs.
#[utoipa::path(put, path = "/v1/calendar", tag = "calendar", request_body = CalendarYearInput,
    responses((status = 200, body = CalendarView), (status = 400), (status = 422)),
    security(("bearer" = [])))]
pub async fn put(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<CalendarYearInput>,
) -> Result<axum::Json<CalendarView>, ApiError> {
    caller.require(Permission::PublishPolicy)?;
    let year = year_ok(body.year, "year")?;
    let mut seen = BTreeMap::new();
    let mut days = read_list(
        &body.holidays,
        "holidays",
        year,
        CalendarDayKind::Holiday,
        &mut seen,
    )?;
    days.extend(read_list(
        &body.working_days,
        "working_days",
        year,
        CalendarDayKind::Working,
        &mut seen,
    )?);
    state
        .store
        .replace_calendar_year(
            &caller.tenant,
            year,
            &days,
            Timestamp::now(),
            &caller.actor(),
        )
        .await
        .map_err(store_error)?;
    Ok(axum::Json(view(&state, &caller, year).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_in_both_lists_is_named_by_its_second_place() {
        let mut seen = BTreeMap::new();
        let h = vec![DayInput::Date("2026-10-01".into())];
        read_list(&h, "holidays", 2026, CalendarDayKind::Holiday, &mut seen).unwrap();
        let w = vec![
            DayInput::Date("2026-09-27".into()),
            DayInput::Named {
                date: "2026-10-01".into(),
                name: None,
            },
        ];
        let e = read_list(
            &w,
            "working_days",
            2026,
            CalendarDayKind::Working,
            &mut seen,
        )
        .unwrap_err();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["field"], "working_days[1].date");
        assert!(v["detail"].as_str().unwrap().contains("holidays[0]"), "{v}");
    }

    #[test]
    fn dates_must_be_in_the_year_and_well_formed() {
        let mut seen = BTreeMap::new();
        let l = vec![DayInput::Date("2026-02-30".into())];
        let e = read_list(&l, "holidays", 2026, CalendarDayKind::Holiday, &mut seen).unwrap_err();
        assert_eq!(
            serde_json::to_value(&e).unwrap()["field"],
            "holidays[0].date"
        );
        let l = vec![DayInput::Date("2025-12-31".into())];
        let e = read_list(&l, "holidays", 2026, CalendarDayKind::Holiday, &mut seen).unwrap_err();
        assert_eq!(
            serde_json::to_value(&e).unwrap()["field"],
            "holidays[0].date"
        );
    }
}
