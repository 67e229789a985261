//! The page templates (minijinja, embedded in the binary, HTML auto-escaped) and
//! small formatting helpers the handlers share.

use std::sync::LazyLock;

use jiff::Timestamp;
use minijinja::Environment;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/web/", $name)))),*]
    };
}

/// Every template: name and source.
const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "error.html",
    "policy.html",
    "versions.html",
    "diff_table.html",
    "diff.html",
    "signin.html",
    "code.html",
    "consents.html",
    "reconsent.html",
    "requests.html",
    "request_result.html",
    "request.html",
    "console_base.html",
    "console_signin.html",
    "console_queue.html",
    "console_request.html",
    "console_stats.html",
    "console_policies.html",
    "console_check.html",
    "console_version.html",
    "console_diff.html",
    "console_audit.html",
    "console_denied.html",
    "console_incidents.html",
    "console_incident.html",
    "console_incident_report.html",
    "console_reports.html",
    "console_report_doc.html",
    "console_holds.html",
    "console_calendar.html",
);

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, src) in TEMPLATES {
        if let Err(e) = env.add_template(name, src) {
            // Rendering this template then fails with a 500; the web tests render
            // every page, so a broken template never ships.
            tracing::error!(template = name, error = %e, "template does not compile");
        }
    }
    env
});

/// Renders `name` with `ctx`.
pub fn render(name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
    ENV.get_template(name)?.render(ctx)
}

/// `YYYY-MM-DD` in UTC.
pub fn date(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

/// `YYYY-MM-DD HH:MM UTC`.
pub fn date_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// The time left until `due` (negative when overdue), as a short phrase in `lang`.
pub fn countdown(due: Timestamp, now: Timestamp, lang: troth_policy::Lang) -> String {
    let secs = due.as_second() - now.as_second();
    let abs = secs.unsigned_abs();
    let (days, hours) = (abs / 86_400, (abs % 86_400) / 3_600);
    match (lang, secs >= 0) {
        (troth_policy::Lang::En, true) => format!("{days} d {hours} h left"),
        (troth_policy::Lang::En, false) => format!("overdue by {days} d {hours} h"),
        (troth_policy::Lang::ZhCn, true) => format!("剩余 {days} 天 {hours} 小时"),
        (troth_policy::Lang::ZhCn, false) => format!("已逾期 {days} 天 {hours} 小时"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let mut env = Environment::new();
        for (name, src) in TEMPLATES {
            env.add_template(name, src)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn countdowns_say_left_or_overdue() {
        let now: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        let due: Timestamp = "2026-03-03T05:00:00Z".parse().unwrap();
        assert_eq!(countdown(due, now, troth_policy::Lang::En), "2 d 5 h left");
        assert_eq!(
            countdown(now, due, troth_policy::Lang::ZhCn),
            "已逾期 2 天 5 小时"
        );
    }
}
