//! Console pages for reports: the aggregate report as tables (cells under k shown
//! as suppressed, never as a number), its CSV and JSON downloads, and the stored
//! PIAs and RoPAs by version (generate, list, read in English or Chinese). Every
//! read and write is the `/v1/reports` handler's, called as the signed-in key.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use minijinja::context;
use troth_policy::Lang;

use super::{COOKIE, Console, ConsoleQuery};
use crate::api::reports::{self as api, DocQuery, DocumentView, FormatQuery};
use crate::auth::Permission;
use crate::web::{FormData, Web, WebError, answer_json, checked_session, i18n, see_other, view};

/// The interface string naming a distribution's kind (the part before `:`).
fn distribution_key(prefix: &str) -> &'static str {
    match prefix {
        "consent_state" => "r_dist_consent_state",
        "consent_given_by_purpose" => "r_dist_consent_given",
        "rights_requests" => "r_dist_requests",
        "collected_categories" => "r_dist_categories",
        "anonymized_records" => "r_dist_anonymized",
        _ => "r_dist_other",
    }
}

async fn documents(c: &Console, op: &crate::api::caller::Caller, kind: &str) -> Vec<DocumentView> {
    let (st, ex) = (State(Arc::clone(&c.web.app)), Extension(op.clone()));
    let r = if kind == "pia" {
        api::list_pia(st, ex).await
    } else {
        api::list_ropa(st, ex).await
    };
    r.map(|j| j.0).unwrap_or_default()
}

fn doc_rows(docs: &[DocumentView]) -> Vec<minijinja::Value> {
    docs.iter()
        .map(|d| {
            context! {
                id => d.report_id.clone(),
                kind => d.kind.clone(),
                version => d.version,
                created => view::date_time(d.created),
                keep_until => view::date(d.keep_until),
                policy_hash => d.policy_hash.chars().take(12).collect::<String>(),
            }
        })
        .collect()
}

/// The aggregate report, and the PIAs and RoPAs by version.
pub async fn page(
    State(web): State<Arc<Web>>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(web, &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    if let Err(e) = op.require(Permission::ReadReports) {
        return c.refused(&e, "reports");
    }
    let report = match api::aggregate_report(&c.web.app, &op).await {
        Ok(r) => Some(r),
        // No policy in force yet: the page still lists stored documents.
        Err(e) if e.kind().status() == StatusCode::UNPROCESSABLE_ENTITY => None,
        Err(e) => return c.refused(&e, "reports"),
    };
    let tables: Vec<minijinja::Value> = report
        .as_ref()
        .map(|r| {
            r.distributions
                .iter()
                .map(|d| {
                    let (prefix, rest) = d.name.split_once(':').unwrap_or((&d.name, ""));
                    context! {
                        name => d.name.clone(),
                        title => i18n::t(c.lang, distribution_key(prefix)),
                        // The part after `:` names a purpose or a request kind;
                        // elsewhere it only repeats what the title says.
                        of => matches!(prefix, "consent_state" | "rights_requests").then_some(rest),
                        cells => d.cells.iter().map(|x| context! { label => x.label.clone(), count => x.count }).collect::<Vec<_>>(),
                        has_total => d.has_total,
                        total => d.total,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let pias = documents(&c, &op, "pia").await;
    let ropas = documents(&c, &op, "ropa").await;
    let ctx = context! {
        k => report.as_ref().map(|r| r.k),
        generated => report.as_ref().map(|r| view::date_time(r.generated)),
        tables => tables,
        pias => doc_rows(&pias),
        ropas => doc_rows(&ropas),
        done => q.done.clone(),
        ..c.ctx("reports", "reports")
    };
    Ok(c.render("console_reports.html", ctx))
}

fn attachment(mut res: Response, name: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// The aggregate report as a file: `csv` or `json`.
pub async fn download(
    State(web): State<Arc<Web>>,
    Path(format): Path<String>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(Arc::clone(&web), &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let ext = match format.as_str() {
        "aggregate.csv" => "csv",
        "aggregate.json" => "json",
        _ => return Err(WebError::not_found(c.lang)),
    };
    let res = api::aggregate(
        State(Arc::clone(&web.app)),
        Extension(op),
        Query(FormatQuery {
            format: Some(ext.to_owned()),
        }),
    )
    .await;
    match res {
        Ok(r) => Ok(attachment(r, &format!("troth-aggregate-report.{ext}"))),
        Err(e) => c.refused(&e, "reports"),
    }
}

/// Generates a PIA or RoPA (`kind`) with the API's handler.
pub async fn generate(
    State(web): State<Arc<Web>>,
    Path(kind): Path<String>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, WebError> {
    let mut c = Console::open(Arc::clone(&web), &headers, &q).await;
    c.session = checked_session(&web, &headers, COOKIE, &form, c.lang)?;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let (st, ex) = (State(Arc::clone(&web.app)), Extension(op));
    let res = match kind.as_str() {
        "pia" => api::generate_pia(st, ex).await,
        "ropa" => api::generate_ropa(st, ex).await,
        _ => return Err(WebError::not_found(c.lang)),
    };
    match res {
        Ok((_, doc)) => Ok(see_other(
            &format!("/console/reports/{kind}/{}", doc.0.report_id),
            c.cookies,
        )),
        Err(e) => c.refused(&e, "reports"),
    }
}

/// The body of a stored document's HTML page, to show inside the console. The
/// document was rendered by troth's own auto-escaping template when it was
/// generated, so its markup is trusted.
fn body_of(html: &str) -> &str {
    let start = html.find("<body>").map_or(0, |i| i + "<body>".len());
    let end = html.rfind("</body>").unwrap_or(html.len());
    html.get(start..end.max(start)).unwrap_or("")
}

/// One stored PIA or RoPA, in the console's language or `?view=`.
pub async fn document(
    State(web): State<Arc<Web>>,
    Path((kind, id)): Path<(String, String)>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(Arc::clone(&web), &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let shown = q.view.as_deref().and_then(i18n::parse).unwrap_or(c.lang);
    let get = |format: &str, lang: Option<&str>| {
        api::get(
            State(Arc::clone(&web.app)),
            Extension(op.clone()),
            Path((kind.clone(), id.clone())),
            Query(DocQuery {
                format: Some(format.to_owned()),
                lang: lang.map(str::to_owned),
            }),
        )
    };
    let meta = match get("json", None).await {
        Ok(r) => answer_json(r).await.unwrap_or_default(),
        Err(e) => return c.refused(&e, "reports"),
    };
    let html = match get("html", Some(i18n::code(shown))).await {
        Ok(r) => {
            let bytes = axum::body::to_bytes(r.into_body(), 16 << 20)
                .await
                .map_err(|_| WebError::internal(c.lang))?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Err(e) => return c.refused(&e, "reports"),
    };
    let other = match shown {
        Lang::En => Lang::ZhCn,
        Lang::ZhCn => Lang::En,
    };
    let here = format!("reports/{kind}/{id}");
    let ctx = context! {
        kind => kind.clone(),
        id => id.clone(),
        version => meta["version"].as_u64(),
        shown => i18n::code(shown),
        other_view => i18n::code(other),
        other_view_name => i18n::t(other, "lang_name"),
        body => body_of(&html).to_owned(),
        ..c.ctx("reports", &here)
    };
    Ok(c.render("console_report_doc.html", ctx))
}

/// One stored PIA or RoPA as its JSON file.
pub async fn document_json(
    State(web): State<Arc<Web>>,
    Path((kind, id)): Path<(String, String)>,
    Query(q): Query<ConsoleQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let c = Console::open(Arc::clone(&web), &headers, &q).await;
    let Some(op) = c.caller.clone() else {
        return Ok(c.signin());
    };
    let res = api::get(
        State(Arc::clone(&web.app)),
        Extension(op),
        Path((kind.clone(), id.clone())),
        Query(DocQuery {
            format: None,
            lang: None,
        }),
    )
    .await;
    match res {
        Ok(r) => Ok(attachment(r, &format!("troth-{kind}-{id}.json"))),
        Err(e) => c.refused(&e, "reports"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_body_is_cut_from_its_page() {
        assert_eq!(
            body_of("<html><body><h1>x</h1></body></html>"),
            "<h1>x</h1>"
        );
        assert_eq!(body_of("no body"), "no body");
    }
}
