//! Console page for the tenant's holiday calendar: one year's public holidays and
//! make-up working days, and (for keys that may change it) a form that replaces
//! the year's lists, one date per line. Reads and writes are `/v1/calendar`'s.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;

use super::{COOKIE, Console, ConsoleQuery, say};
use crate::api::calendar::{self as api, CalendarYearInput, DayInput, YearQuery};
use crate::api::caller::Caller;
use crate::extract::ApiJson;
use crate::web::{FormData, Web, WebError, api_detail, checked_session, see_other};

/// One line per date: `2026-10-01` or `2026-10-01 National Day`.
fn lines(text: &str) -> Vec<DayInput> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((date, name)) => DayInput::Named {
                date: date.to_owned(),
                name: Some(name.trim().to_owned()),
            },
            None => DayInput::Date(l.to_owned()),
        })
        .collect()
}

fn as_lines(list: &[api::DayView]) -> String {
    list.iter()
        .map(|d| match &d.name {
            Some(n) => format!("{} {n}", d.date),
            None => d.date.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn page(
    c: Console,
    op: Caller,
    year: Option<String>,
    form: Option<(&FormData, BTreeMap<String, String>)>,
    done: bool,
) -> Result<Response, WebError> {
    let res = api::get(
        State(Arc::clone(&c.web.app)),
        Extension(op),
        Query(YearQuery { year }),
    )
    .await;
    let v = match res {
        Ok(v) => v.0,
        Err(e) => return c.refused(&e, "calendar"),
    };
    let failed = form.as_ref().is_some_and(|(_, e)| !e.is_empty());
    let (values, errors) = match form {
        Some((f, e)) => (f.0.clone(), e),
        None => {
            let mut m = std::collections::HashMap::new();
            m.insert("holidays".to_owned(), as_lines(&v.holidays));
            m.insert("working_days".to_owned(), as_lines(&v.working_days));
            (m, BTreeMap::new())
        }
    };
    let here = format!("calendar?year={}", v.year);
    let ctx = context! {
        cal => crate::web::ser(&v),
        prev => v.year - 1,
        next => v.year + 1,
        values => values,
        errors => errors,
        done => done,
        ..c.ctx("calendar", &here)
    };
    let mut res = c.render("console_calendar.html", ctx);
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// One year of the calendar (`?year=`, default this year).
pub async fn show(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let done = q.done.as_deref() == Some("saved");
    page(c, op, q.year.clone(), None, done).await
}

/// Replaces the year's lists with the API's handler; a refused date is shown at
/// its list with its line.
pub async fn save(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut c = Console::open(Arc::clone(&web), &headers, &q).await;
    c.session = checked_session(&web, &headers, COOKIE, &form, c.lang)?;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let year_raw = form.get("year").to_owned();
    let Ok(year) = year_raw.parse::<i16>() else {
        let mut errors = BTreeMap::new();
        errors.insert(
            "year".to_owned(),
            say(c.lang, ("A year such as 2026.", "请填写年份，例如 2026。")),
        );
        return page(c, op, None, Some((&form, errors)), false).await;
    };
    let body = CalendarYearInput {
        year,
        holidays: lines(form.0.get("holidays").map_or("", String::as_str)),
        working_days: lines(form.0.get("working_days").map_or("", String::as_str)),
    };
    let res = api::put(
        State(Arc::clone(&web.app)),
        Extension(op.clone()),
        ApiJson(body),
    )
    .await;
    match res {
        Ok(_) => Ok(see_other(
            &format!("/console/calendar?year={year}&done=saved"),
            c.cookies,
        )),
        Err(e) if e.kind().status() == StatusCode::FORBIDDEN => c.refused(&e, "calendar"),
        Err(e) => {
            let v = serde_json::to_value(&e).unwrap_or_default();
            let field = v["field"].as_str().unwrap_or("holidays");
            // `holidays[3].date` → the holidays box, line 4.
            let (list, line) = match field.split_once('[') {
                Some((list, rest)) => (
                    list.to_owned(),
                    rest.split(']')
                        .next()
                        .and_then(|i| i.parse::<usize>().ok())
                        .map(|i| i + 1),
                ),
                None => (field.to_owned(), None),
            };
            let msg = match line {
                Some(n) => match c.lang {
                    troth_policy::Lang::En => format!("Line {n}: {}", api_detail(&e)),
                    troth_policy::Lang::ZhCn => format!("第 {n} 行：{}", api_detail(&e)),
                },
                None => api_detail(&e),
            };
            let mut errors = BTreeMap::new();
            errors.insert(list, msg);
            page(c, op, Some(year_raw), Some((&form, errors)), false).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_dates_with_optional_names() {
        let l = lines("2026-10-01 National Day\n\n 2026-10-02 \n");
        assert_eq!(l.len(), 2);
        assert!(
            matches!(&l[0], DayInput::Named { date, name: Some(n) } if date == "2026-10-01" && n == "National Day")
        );
        assert!(matches!(&l[1], DayInput::Date(d) if d == "2026-10-02"));
    }
}
