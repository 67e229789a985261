//! `/v1/reports`: aggregate statistics with k-anonymity suppression (JSON or CSV),
//! and personal-information impact assessments (PIA, PIPL Art.55–56) and records of
//! processing activities (RoPA, GDPR Art.30), generated from the policy in force and
//! the ledgers, stored with a version and date and kept for the law's period.
//!
//! Suppression is `troth_core::reports::suppress`: cells from 1 to k−1 hidden, and
//! complementary cells hidden where a total is shown, so no hidden count can be
//! recovered by subtraction. `k` is the pack's `security.report_k` (default 10).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_core::reports::{Distribution, SuppressedDistribution, pia, ropa, suppress};
use troth_core::{ConsentStatus, RequestStatus};
use troth_policy::{Lang, Policy};
use troth_store::{NewReportDocument, ReportDocument, RequestFilter, RetentionStore, RightsStore};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::{AppState, Published, TenantRuntime};
use crate::api::{bad, no_policy, runtime, store_error};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};

/// `?format=json|csv`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FormatQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The aggregate report.
#[derive(Debug, Serialize, ToSchema)]
pub struct AggregateReport {
    /// The smallest group shown.
    pub k: u32,
    /// When it was computed.
    #[schema(value_type = String, format = DateTime)]
    pub generated: Timestamp,
    /// The distributions, each suppressed on its own.
    #[schema(value_type = Vec<Object>)]
    pub distributions: Vec<SuppressedDistribution>,
}

fn code<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Consent states per purpose (people whose purpose-wide consent is in each state,
/// with the purpose's total) and people with consent given per purpose.
async fn consent_distributions(rt: &TenantRuntime, policy: &Policy) -> Vec<Distribution> {
    let statuses = [
        ConsentStatus::Given,
        ConsentStatus::Withdrawn,
        ConsentStatus::Refused,
        ConsentStatus::Expired,
    ];
    let mut counts: BTreeMap<&str, [u64; 4]> = policy
        .purposes
        .iter()
        .map(|p| (p.id.as_str(), [0; 4]))
        .collect();
    let subjects: Vec<_> = rt.known.read().await.iter().copied().collect();
    let ix = rt.index.read().await;
    if let Some(ix) = ix.as_ref() {
        for s in subjects {
            let Some(state) = ix.state(s) else { continue };
            for pc in state.purposes() {
                let Some(rec) = &pc.general else { continue };
                if let Some(row) = counts.get_mut(pc.purpose.as_str())
                    && let Some(i) = statuses.iter().position(|x| *x == rec.status)
                {
                    row[i] += 1;
                }
            }
        }
    }
    let mut out: Vec<Distribution> = counts
        .iter()
        .map(|(purpose, row)| Distribution {
            name: format!("consent_state:{purpose}"),
            cells: statuses
                .iter()
                .zip(row)
                .map(|(s, n)| (code(s), *n))
                .collect(),
            total: Some(row.iter().sum()),
        })
        .collect();
    // People overlap between purposes: no total.
    out.push(Distribution {
        name: "consent_given_by_purpose".into(),
        cells: counts
            .iter()
            .map(|(p, row)| ((*p).to_owned(), row[0]))
            .collect(),
        total: None,
    });
    out
}

/// The refusal reason cited by a request's last event, if it was a refusal.
fn refusal_reason(event_json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(event_json).ok()?;
    fn find(v: &serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("reason") {
                    return Some(r.clone());
                }
                m.values().find_map(find)
            }
            _ => None,
        }
    }
    find(v.get("command")?)
}

/// Rights requests per kind: completed on time or late, refused by reason, open
/// and open overdue; the kind's total is the number received.
async fn request_distributions(
    state: &AppState,
    caller: &Caller,
    now: Timestamp,
) -> Result<Vec<Distribution>, ApiError> {
    let requests = state
        .store
        .requests(&caller.tenant, &RequestFilter::All, u32::MAX)
        .await
        .map_err(store_error)?;
    let mut kinds: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let completed = code(RequestStatus::Completed);
    let refused = code(RequestStatus::Refused);
    for r in requests {
        let cell = if r.status == completed {
            match r.due {
                Some(due) if r.updated > due => "completed_late".to_owned(),
                _ => "completed_on_time".to_owned(),
            }
        } else if r.status == refused {
            let full = state
                .store
                .request(&caller.tenant, &r.request_id)
                .await
                .map_err(store_error)?;
            let reason = full
                .and_then(|f| f.events.last().and_then(|e| refusal_reason(e)))
                .unwrap_or_else(|| "unknown".into());
            format!("refused:{reason}")
        } else if r.due.is_some_and(|d| d < now) {
            "open_overdue".to_owned()
        } else {
            "open".to_owned()
        };
        let row = kinds.entry(r.kind).or_default();
        for fixed in [
            "completed_on_time",
            "completed_late",
            "open",
            "open_overdue",
        ] {
            row.entry(fixed.to_owned()).or_default();
        }
        *row.entry(cell).or_default() += 1;
    }
    Ok(kinds
        .into_iter()
        .map(|(kind, row)| Distribution {
            name: format!("rights_requests:{kind}"),
            total: Some(row.values().sum()),
            cells: row.into_iter().collect(),
        })
        .collect())
}

/// People with stored data per category (no total: people overlap), and
/// anonymized records per category.
async fn category_distributions(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<Distribution>, ApiError> {
    let counts = state
        .store
        .category_counts(&caller.tenant)
        .await
        .map_err(store_error)?;
    let tally = state
        .store
        .anonymous_tally(&caller.tenant)
        .await
        .map_err(store_error)?;
    let mut anon: BTreeMap<String, u64> = BTreeMap::new();
    for t in tally {
        *anon.entry(t.category).or_default() += t.count;
    }
    Ok(vec![
        Distribution {
            name: "collected_categories:subjects".into(),
            cells: counts
                .into_iter()
                .map(|c| (c.category, c.subjects))
                .collect(),
            total: None,
        },
        Distribution {
            name: "anonymized_records:category".into(),
            total: Some(anon.values().sum()),
            cells: anon.into_iter().collect(),
        },
    ])
}

async fn in_force(rt: &TenantRuntime) -> Result<Published, ApiError> {
    rt.in_force(Timestamp::now()).await.ok_or_else(no_policy)
}

/// Builds the aggregate report with the pack's k.
pub async fn aggregate_report(
    state: &AppState,
    caller: &Caller,
) -> Result<AggregateReport, ApiError> {
    let rt = runtime(state, caller).await?;
    let published = in_force(&rt).await?;
    let policy = &published.policy;
    let k = policy.security.report_k;
    let now = Timestamp::now();
    let mut raw = consent_distributions(&rt, policy).await;
    raw.extend(request_distributions(state, caller, now).await?);
    raw.extend(category_distributions(state, caller).await?);
    Ok(AggregateReport {
        k,
        generated: now,
        distributions: raw.iter().map(|d| suppress(d, k)).collect(),
    })
}

/// CSV: `distribution,label,count`; a hidden count reads `suppressed`, a total has
/// the label `total`.
fn to_csv(r: &AggregateReport) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let show = |c: Option<u64>| c.map_or_else(|| "suppressed".to_owned(), |n| n.to_string());
    let mut out = String::from("distribution,label,count\n");
    for d in &r.distributions {
        for c in &d.cells {
            out.push_str(&format!(
                "{},{},{}\n",
                quote(&d.name),
                quote(&c.label),
                show(c.count)
            ));
        }
        if d.has_total {
            out.push_str(&format!("{},total,{}\n", quote(&d.name), show(d.total)));
        }
    }
    out
}

/// Counts and distributions over consent states, purposes, rights requests and
/// collected categories; every cell that could single out fewer than k people is
/// suppressed.
#[utoipa::path(get, path = "/v1/reports/aggregate", tag = "reports", params(FormatQuery),
    responses((status = 200, body = AggregateReport)), security(("bearer" = [])))]
pub async fn aggregate(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadReports)?;
    let report = aggregate_report(&state, &caller).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(axum::Json(report).into_response()),
        Some("csv") => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            to_csv(&report),
        )
            .into_response()),
        Some(_) => Err(bad("format", "`json` or `csv`")),
    }
}

// ---------------------------------------------------------------------------
// PIA and RoPA

/// The stored JSON document of a PIA or RoPA.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssessmentDoc {
    /// `pia` or `ropa`.
    pub kind: String,
    /// When generated (RFC 3339).
    pub generated: String,
    /// Kept at least until (RFC 3339).
    pub keep_until: String,
    /// The policy version's content hash.
    pub policy_hash: String,
    /// The pack-derived content (`troth_core::reports::PiaContent` / `RopaContent`).
    pub content: serde_json::Value,
    /// PIA: people with stored data in the categories of each case (`null` when
    /// under k).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub affected: BTreeMap<String, Option<u64>>,
}

struct Labels(&'static [(&'static str, &'static str, &'static str)]);

const LABELS: Labels = Labels(&[
    (
        "pia_title",
        "Personal Information Protection Impact Assessment",
        "个人信息保护影响评估报告",
    ),
    (
        "ropa_title",
        "Record of Processing Activities",
        "处理活动记录",
    ),
    ("controller", "Controller", "个人信息处理者"),
    ("contacts", "Contacts", "联系方式"),
    ("officer", "Protection officer", "个人信息保护负责人"),
    ("policy", "Policy version", "政策版本"),
    ("version", "Report version", "报告版本"),
    ("generated", "Generated", "生成时间"),
    ("keep_until", "Kept until", "保存至"),
    (
        "cases",
        "Cases requiring assessment (PIPL Art.55)",
        "应当进行评估的情形（《个人信息保护法》第五十五条）",
    ),
    (
        "no_cases",
        "No case of Art.55 applies.",
        "不存在第五十五条规定的情形。",
    ),
    (
        "case_sensitive_data",
        "Processing sensitive personal information",
        "处理敏感个人信息",
    ),
    (
        "case_automated_decision",
        "Automated decision-making",
        "利用个人信息进行自动化决策",
    ),
    (
        "case_entrusted_processing",
        "Entrusted processing",
        "委托处理个人信息",
    ),
    (
        "case_sharing",
        "Providing personal information to other handlers",
        "向其他个人信息处理者提供个人信息",
    ),
    (
        "case_public_disclosure",
        "Public disclosure",
        "公开个人信息",
    ),
    (
        "case_cross_border",
        "Providing personal information abroad",
        "向境外提供个人信息",
    ),
    ("triggered_by", "Triggered by", "触发项"),
    ("purposes", "Purposes", "处理目的"),
    ("categories", "Categories", "个人信息种类"),
    (
        "bases",
        "Legal bases (legality and necessity, Art.56(1))",
        "合法性基础（第五十六条第一项）",
    ),
    (
        "subjects_affected",
        "People with stored data (impact, Art.56(2))",
        "涉及的个人数量（第五十六条第二项）",
    ),
    ("suppressed", "fewer than k (suppressed)", "少于k（已隐藏）"),
    (
        "measures",
        "Protective measures (Art.56(3))",
        "保护措施（第五十六条第三项）",
    ),
    ("earlier", "Earlier assessments", "以往评估"),
    ("risk", "risk", "风险"),
    (
        "activities",
        "Processing activities (GDPR Art.30(1))",
        "处理活动（GDPR第30条第1款）",
    ),
    ("purpose", "Purpose", "目的"),
    ("basis", "Legal basis", "法律依据"),
    ("data_subjects", "Data subjects", "数据主体"),
    ("recipients", "Recipients", "接收方"),
    ("transfers", "Transfers abroad", "跨境传输"),
    ("retention", "Erasure time limit", "删除期限"),
    (
        "security",
        "Security measures (Art.30(1)(g))",
        "安全措施（第30条第1款(g)项）",
    ),
]);

fn labels(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    LABELS
        .0
        .iter()
        .map(|(k, en, zh)| (*k, if lang == Lang::En { *en } else { *zh }))
        .collect()
}

fn env() -> &'static minijinja::Environment<'static> {
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        // Names end in `.html`, so values are HTML-escaped.
        let _ = env.add_template(
            "pia.html",
            include_str!("../../templates/reports/pia.html.j2"),
        );
        let _ = env.add_template(
            "ropa.html",
            include_str!("../../templates/reports/ropa.html.j2"),
        );
        env
    })
}

/// Renders a stored document's HTML in `lang`.
pub fn render_html(
    doc: &AssessmentDoc,
    version: u64,
    lang: Lang,
) -> Result<String, minijinja::Error> {
    let name = if doc.kind == "pia" {
        "pia.html"
    } else {
        "ropa.html"
    };
    env().get_template(name)?.render(minijinja::context! {
        doc => minijinja::value::Serde(doc),
        version => version,
        lang => lang.tag(),
        l => labels(lang),
    })
}

/// Builds a PIA or RoPA document from the policy in force and the ledgers.
pub async fn build_doc(
    state: &AppState,
    caller: &Caller,
    published: &Published,
    kind: &str,
    now: Timestamp,
) -> Result<AssessmentDoc, ApiError> {
    let policy = &published.policy;
    let keep_years = policy.law.profile.profile().assessment_keep_years;
    let utc = jiff::tz::Offset::UTC;
    let keep_until = utc
        .to_datetime(now)
        .checked_add(jiff::Span::new().years(i64::from(keep_years)))
        .ok()
        .and_then(|dt| utc.to_timestamp(dt).ok())
        .ok_or_else(ApiError::internal)?;
    let (content, affected) = if kind == "pia" {
        let content = pia(policy);
        let counts = state
            .store
            .category_counts(&caller.tenant)
            .await
            .map_err(store_error)?;
        let k = u64::from(policy.security.report_k.max(2));
        let mut affected = BTreeMap::new();
        for f in &content.findings {
            // An upper bound (people may have several categories), suppressed below k.
            let n: u64 = counts
                .iter()
                .filter(|c| f.categories.contains(&c.category))
                .map(|c| c.subjects)
                .max()
                .unwrap_or(0);
            affected.insert(code(f.case), (n == 0 || n >= k).then_some(n));
        }
        (serde_json::to_value(content), affected)
    } else {
        (serde_json::to_value(ropa(policy)), BTreeMap::new())
    };
    Ok(AssessmentDoc {
        kind: kind.to_owned(),
        generated: now.to_string(),
        keep_until: keep_until.to_string(),
        policy_hash: published.record.content_hash.clone(),
        content: content.map_err(|_| ApiError::internal())?,
        affected,
    })
}

/// A stored PIA or RoPA.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    /// Document id.
    pub report_id: String,
    /// `pia` or `ropa`.
    pub kind: String,
    /// 1, 2, … per kind.
    pub version: u64,
    /// When generated.
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    /// Kept at least until.
    #[schema(value_type = String, format = DateTime)]
    pub keep_until: Timestamp,
    /// Policy content hash.
    pub policy_hash: String,
    /// The document (absent in lists).
    #[schema(value_type = Option<Object>)]
    pub document: Option<serde_json::Value>,
}

fn view(d: ReportDocument) -> DocumentView {
    DocumentView {
        document: serde_json::from_str(&d.body_json).ok(),
        report_id: d.report_id,
        kind: d.kind,
        version: d.version,
        created: d.created,
        keep_until: d.keep_until,
        policy_hash: d.policy_hash,
    }
}

fn kind(k: &str) -> Result<&'static str, ApiError> {
    match k {
        "pia" => Ok("pia"),
        "ropa" => Ok("ropa"),
        _ => Err(ApiError::not_found("report kind")),
    }
}

async fn generate(state: &AppState, caller: &Caller, k: &str) -> Result<DocumentView, ApiError> {
    caller.require(Permission::RunReports)?;
    let rt = runtime(state, caller).await?;
    let published = in_force(&rt).await?;
    let now = Timestamp::now();
    let doc = build_doc(state, caller, &published, k, now).await?;
    let body_json = serde_json::to_string(&doc).map_err(|_| ApiError::internal())?;
    // The version is assigned by the store; the HTML shows the next one, which the
    // store confirms (it serialises writers on the tenant's head row).
    let next = state
        .store
        .report_documents(&caller.tenant, Some(k))
        .await
        .map_err(store_error)?
        .first()
        .map_or(1, |d| d.version + 1);
    let html = |lang| {
        render_html(&doc, next, lang).map_err(|e| {
            tracing::error!(error = %e, "report template failed");
            ApiError::internal()
        })
    };
    let stored = state
        .store
        .put_report_document(
            &NewReportDocument {
                tenant: caller.tenant.clone(),
                report_id: uuid::Uuid::new_v4().to_string(),
                kind: k.to_owned(),
                created: now,
                keep_until: doc.keep_until.parse().map_err(|_| ApiError::internal())?,
                policy_hash: doc.policy_hash.clone(),
                body_json,
                html_en: html(Lang::En)?,
                html_zh: html(Lang::ZhCn)?,
            },
            &caller.actor(),
        )
        .await
        .map_err(store_error)?;
    Ok(view(stored))
}

/// Generates and stores a PIA (PIPL Art.55–56) from the policy in force and the
/// ledgers, as JSON and HTML (en, zh-CN), kept for the law's period (3 years).
#[utoipa::path(post, path = "/v1/reports/pia", tag = "reports",
    responses((status = 201, body = DocumentView), (status = 422)), security(("bearer" = [])))]
pub async fn generate_pia(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<(StatusCode, axum::Json<DocumentView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(generate(&state, &caller, "pia").await?),
    ))
}

/// Generates and stores a RoPA (GDPR Art.30) from the policy in force, as JSON and
/// HTML (en, zh-CN).
#[utoipa::path(post, path = "/v1/reports/ropa", tag = "reports",
    responses((status = 201, body = DocumentView), (status = 422)), security(("bearer" = [])))]
pub async fn generate_ropa(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<(StatusCode, axum::Json<DocumentView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(generate(&state, &caller, "ropa").await?),
    ))
}

async fn list_kind(
    state: &AppState,
    caller: &Caller,
    k: &str,
) -> Result<axum::Json<Vec<DocumentView>>, ApiError> {
    caller.require(Permission::ReadReports)?;
    let docs = state
        .store
        .report_documents(&caller.tenant, Some(k))
        .await
        .map_err(store_error)?;
    Ok(axum::Json(docs.into_iter().map(view).collect()))
}

/// Stored PIAs, newest first (without their documents).
#[utoipa::path(get, path = "/v1/reports/pia", tag = "reports",
    responses((status = 200, body = Vec<DocumentView>)), security(("bearer" = [])))]
pub async fn list_pia(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<Vec<DocumentView>>, ApiError> {
    list_kind(&state, &caller, "pia").await
}

/// Stored RoPAs, newest first (without their documents).
#[utoipa::path(get, path = "/v1/reports/ropa", tag = "reports",
    responses((status = 200, body = Vec<DocumentView>)), security(("bearer" = [])))]
pub async fn list_ropa(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<Vec<DocumentView>>, ApiError> {
    list_kind(&state, &caller, "ropa").await
}

/// `?format=json|html&lang=en|zh-CN` on a stored document.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DocQuery {
    /// `json` (default) or `html`.
    pub format: Option<String>,
    /// For HTML: `en` (default) or `zh-CN`.
    pub lang: Option<String>,
}

/// One stored document, as JSON or as HTML in English or Simplified Chinese.
#[utoipa::path(get, path = "/v1/reports/{kind}/{report}", tag = "reports",
    params(("kind" = String, Path, description = "`pia` or `ropa`"),
        ("report" = String, Path, description = "Document id"), DocQuery),
    responses((status = 200, body = DocumentView), (status = 404)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path((k, id)): Path<(String, String)>,
    Query(q): Query<DocQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadReports)?;
    let k = kind(&k)?;
    let d = state
        .store
        .report_document(&caller.tenant, &id)
        .await
        .map_err(store_error)?
        .filter(|d| d.kind == k)
        .ok_or_else(|| ApiError::not_found("report"))?;
    match q.format.as_deref() {
        None | Some("json") => Ok(axum::Json(view(d)).into_response()),
        Some("html") => {
            let lang: Lang = q
                .lang
                .as_deref()
                .unwrap_or("en")
                .parse()
                .map_err(|e: String| ApiError::new(ProblemKind::BadRequest, e).field("lang"))?;
            let html = if lang == Lang::En {
                d.html_en
            } else {
                d.html_zh
            };
            Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
        }
        Some(_) => Err(bad("format", "`json` or `html`")),
    }
}
