//! The tenant's holiday calendar (`/v1/calendar`) on SQLite and PostgreSQL: a
//! working-day deadline over the National Day week moves exactly by the holidays
//! and make-up working days the tenant stored; new requests count with the new
//! list while requests received earlier keep their due date; bad lists are refused
//! naming the field and index; changes are audited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::http::{Method, StatusCode};
use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use support::{Backend, Server};
use troth_core::{HolidayCalendar, RequestKind, RequestRules, deadline_from};
use troth_policy::DayUnit;
use troth_server::api::calendar::holiday_calendar;

fn pack_policy(pack: &str) -> troth_policy::Policy {
    let text = std::fs::read_to_string(format!(
        "{}/../../packs/{pack}/policy.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    troth_policy::parse_policy("policy.toml", &text).unwrap()
}

fn shanghai() -> TimeZone {
    TimeZone::get("Asia/Shanghai").unwrap()
}

fn national_day() -> Value {
    json!({
        "year": 2026,
        "holidays": [
            { "date": "2026-10-01", "name": "National Day" },
            "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"
        ],
        "working_days": [
            { "date": "2026-09-27", "name": "Make-up working day" },
            "2026-10-10"
        ]
    })
}

async fn national_day_week_moves_a_working_day_deadline(backend: Backend) {
    let s = Server::start(backend).await;
    // s000: 15 working days from receipt, PIPL (Asia/Shanghai).
    let (tenant, admin) = s.tenant_with_pack("Acme", "s000-ucommune").await;
    let before_change = Timestamp::now();
    let r = s
        .send(Method::PUT, "/v1/calendar", &admin, national_day())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let got = s.get("/v1/calendar?year=2026", &admin).await.json();
    assert_eq!(got["time_zone"], "Asia/Shanghai");
    assert_eq!(got["holidays"].as_array().unwrap().len(), 7);
    assert_eq!(got["holidays"][0]["name"], "National Day");
    assert_eq!(got["working_days"][0]["date"], "2026-09-27");
    assert_eq!(got["working_days"][1]["date"], "2026-10-10");

    // Received Friday 25 September 2026, 10:00 in Beijing. Counting 15 working days:
    // Sun 27 (make-up) 1, Mon 28–Wed 30 2–4, 1–7 October off, Thu 8 5, Fri 9 6,
    // Sat 10 (make-up) 7, 12–16 8–12, 19–21 13–15: due Wednesday 21 October.
    // Without the holidays it would be Friday 16 October.
    let policy = pack_policy("s000-ucommune");
    let rules = RequestRules::from_policy(&policy, RequestKind::Access).unwrap();
    let received: Timestamp = "2026-09-25T02:00:00Z".parse().unwrap();
    let now_cal = holiday_calendar(&s.state, &tenant, &policy, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        rules.due_date(received, None, &now_cal),
        Some(jiff::civil::date(2026, 10, 21))
    );
    // As the calendar stood before the change: weekends only.
    let old_cal = holiday_calendar(&s.state, &tenant, &policy, before_change)
        .await
        .unwrap();
    assert_eq!(
        rules.due_date(received, None, &old_cal),
        Some(jiff::civil::date(2026, 10, 16))
    );
    // A make-up day alone moves it too: without 10 October the count ends a day later.
    let mut fewer = national_day();
    fewer["working_days"] = json!(["2026-09-27"]);
    let r = s.send(Method::PUT, "/v1/calendar", &admin, fewer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let cal = holiday_calendar(&s.state, &tenant, &policy, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        rules.due_date(received, None, &cal),
        Some(jiff::civil::date(2026, 10, 22))
    );
    // The change is in the audit log with the key that made it.
    let log = s.get("/v1/audit?limit=1000", &admin).await.json();
    let changes: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "calendar.changed")
        .collect();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["target"], "calendar:2026");
    assert!(changes[0]["actor"].as_str().unwrap().starts_with("key:"));
    let verified = s.get("/v1/audit/verify", &admin).await.json();
    assert_eq!(verified["intact"], true, "{verified}");
}

/// The next `n` dates after `d`.
fn after(d: Date, n: i64) -> Vec<Date> {
    (1..=n)
        .map(|i| d.checked_add(jiff::Span::new().days(i)).unwrap())
        .collect()
}

async fn new_requests_count_with_the_new_calendar_and_old_ones_keep_theirs(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant_with_pack("Acme", "s000-ucommune").await;
    let subject = s.subject(&admin, json!({})).await;
    let submit = || async {
        let r = s
            .post(
                "/v1/requests",
                &admin,
                json!({ "subject": subject, "kind": "access" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let v = r.json();
        (
            v["request_id"].as_str().unwrap().to_owned(),
            v["due"].as_str().unwrap().parse::<Timestamp>().unwrap(),
        )
    };
    let (first, first_due) = submit().await;

    // The ten days after today become holidays, and the first Saturday after them
    // a make-up working day; one PUT per year the dates fall in.
    let today = shanghai().to_datetime(Timestamp::now()).date();
    let holidays = after(today, 10);
    let last = *holidays.last().unwrap();
    let saturday = after(last, 7)
        .into_iter()
        .find(|d| d.weekday() == Weekday::Saturday)
        .unwrap();
    let mut years: Vec<i16> = holidays.iter().map(|d| d.year()).collect();
    years.push(saturday.year());
    years.dedup();
    for y in years {
        let list = |ds: &[Date]| {
            ds.iter()
                .filter(|d| d.year() == y)
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
        };
        let r = s
            .send(
                Method::PUT,
                "/v1/calendar",
                &admin,
                json!({ "year": y, "holidays": list(&holidays), "working_days": list(&[saturday]) }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let (_, second_due) = submit().await;
    let cal = HolidayCalendar::new(shanghai())
        .with_holidays(holidays.clone())
        .unwrap()
        .with_working_days([saturday])
        .unwrap();
    let expected = deadline_from(today, 15, DayUnit::Working, &cal).unwrap();
    assert_eq!(second_due, cal.end_of_day(expected).unwrap());
    let plain = HolidayCalendar::new(shanghai());
    let unmoved = deadline_from(today, 15, DayUnit::Working, &plain).unwrap();
    assert_eq!(first_due, plain.end_of_day(unmoved).unwrap());
    assert!(second_due > first_due, "the holidays push the deadline out");
    // The request received before the change keeps its due date.
    let again = s.get(&format!("/v1/requests/{first}"), &admin).await.json();
    assert_eq!(
        again["due"].as_str().unwrap().parse::<Timestamp>().unwrap(),
        first_due
    );
}

async fn bad_lists_are_refused_by_field_and_index(backend: Backend) {
    let s = Server::start(backend).await;
    let (_, admin) = s.tenant_with_pack("Acme", "s000-ucommune").await;
    let cases = [
        (
            json!({ "year": 2026, "holidays": ["2026-10-01"], "working_days": ["2026-09-27", "2026-10-01"] }),
            "working_days[1].date",
        ),
        (
            json!({ "year": 2026, "holidays": ["2026-10-01", "2026-13-01"] }),
            "holidays[1].date",
        ),
        (
            json!({ "year": 2026, "holidays": ["2027-01-01"] }),
            "holidays[0].date",
        ),
        (
            json!({ "year": 2026, "holidays": ["2026-10-01", { "date": "2026-10-01" }] }),
            "holidays[1].date",
        ),
        (json!({ "year": 3000 }), "year"),
    ];
    for (body, field) in cases {
        let r = s.send(Method::PUT, "/v1/calendar", &admin, body).await;
        assert!(r.status.is_client_error(), "{field}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{}", r.text());
    }
    // Nothing was stored.
    let got = s.get("/v1/calendar?year=2026", &admin).await.json();
    assert_eq!(got["holidays"], json!([]));
    let r = s.get("/v1/calendar?year=twenty", &admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "year");
    // Operators read the calendar; only admins change it.
    let operator = s.key(&admin, "operator", None).await;
    assert_eq!(
        s.get("/v1/calendar?year=2026", &operator).await.status,
        StatusCode::OK
    );
    let r = s
        .send(Method::PUT, "/v1/calendar", &operator, national_day())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

on_both!(
    national_day_week_moves_a_working_day_deadline,
    new_requests_count_with_the_new_calendar_and_old_ones_keep_theirs,
    bad_lists_are_refused_by_field_and_index,
);
