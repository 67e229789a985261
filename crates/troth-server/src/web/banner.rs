//! The consent banner's two public endpoints: the purposes of the published policy
//! (`GET /t/{tenant}/banner/config`) and recording a visitor's choices
//! (`POST /t/{tenant}/banner/consent`).
//!
//! # Threat model
//! The banner runs on the company's own site, for visitors who have no account and
//! no API key, so these endpoints take no credentials. What protects them:
//!
//! - **Write-only, consent-only.** The endpoint records consent events for purposes
//!   of the published policy and nothing else; it reads nothing back, so it leaks
//!   nothing about anyone.
//! - **Pseudonymous browser subjects that cannot be aimed at real people.** The
//!   banner makes a random 256-bit secret, keeps it in the browser's storage and
//!   sends it with each write. The subject id is a keyed hash of (tenant, secret)
//!   under the server's key, so knowing a subject id (from the audit log, say) does
//!   not let anyone write for it, and no secret maps onto a subject created through
//!   the API: a visitor can only ever change their own browser's choices.
//! - **Bounded abuse.** Writes are rate-limited per tenant (a flood can create
//!   subjects only as fast as the limit allows, and the limit is separate from API
//!   keys'); bodies are small and strictly parsed; only `given`, `refused` and
//!   `withdrawn` are accepted; every event carries the policy version shown and the
//!   GPC / DNT signals the browser sent, and every write is in the audit chain as
//!   `key:banner`.
//! - **CORS without credentials.** Answers allow any origin (the banner is embedded
//!   anywhere) but never cookies; the request is a "simple" `text/plain` POST, so no
//!   preflight is involved.
//!
//! What it does not protect against: a script on the company's page can read the
//! secret and change that browser's choices, as it could click the banner itself.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_core::{ConsentStatus, Method};
use troth_policy::{LegalBasis, PurposeTag};
use troth_store::TenantId;

use crate::api::consents::ConsentInput;
use crate::api::state::store_subject;
use crate::api::subjects::NewSubject;
use crate::auth::Role;
use crate::extract::ApiJson;
use crate::web::{Web, caller};

/// Banner writes allowed per tenant.
pub type Limiter = DefaultKeyedRateLimiter<String>;

/// 50 writes a second per tenant, bursts of 200.
pub fn limiter() -> Limiter {
    let per_second = NonZeroU32::new(50).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(200).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
}

/// One purpose as the banner shows it.
#[derive(Debug, Serialize)]
pub struct BannerPurpose {
    /// Purpose id.
    pub id: String,
    /// Name, English.
    pub name_en: String,
    /// Name, Chinese.
    pub name_zh: String,
    /// Description, English.
    pub description_en: String,
    /// Description, Chinese.
    pub description_zh: String,
    /// Whether the visitor chooses (consent basis) or it always applies.
    pub optional: bool,
    /// Tracking or advertising: GPC and DNT refuse it.
    pub tracking: bool,
}

/// What the banner needs to show itself.
#[derive(Debug, Serialize)]
pub struct BannerConfig {
    /// Content hash of the version in force (sent back with each decision).
    pub version: String,
    /// Its label.
    pub label: String,
    /// The controller, English and Chinese.
    pub controller_en: String,
    /// The controller in Chinese.
    pub controller_zh: String,
    /// Where the full policy is.
    pub policy_url: String,
    /// The purposes.
    pub purposes: Vec<BannerPurpose>,
}

fn cors(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

fn problem(status: StatusCode, detail: &str) -> Response {
    cors((status, axum::Json(serde_json::json!({ "detail": detail }))).into_response())
}

/// The published policy's purposes for the banner.
pub async fn config(State(web): State<Arc<Web>>, Path(tenant): Path<String>) -> Response {
    if uuid::Uuid::parse_str(&tenant).is_err() {
        return problem(StatusCode::NOT_FOUND, "no such tenant");
    }
    let Ok(Some(rt)) = web.app.tenant(&TenantId::new(&tenant)).await else {
        return problem(StatusCode::NOT_FOUND, "no such tenant");
    };
    let Some(p) = rt.in_force(Timestamp::now()).await else {
        return problem(StatusCode::NOT_FOUND, "no policy is in force");
    };
    let purposes = p
        .policy
        .purposes
        .iter()
        .map(|pu| BannerPurpose {
            id: pu.id.to_string(),
            name_en: pu.name.en.clone(),
            name_zh: pu.name.zh.clone(),
            description_en: pu.description.en.clone(),
            description_zh: pu.description.zh.clone(),
            optional: pu.basis == LegalBasis::Consent,
            tracking: pu.tags.contains(&PurposeTag::Tracking)
                || pu.tags.contains(&PurposeTag::Advertising),
        })
        .collect();
    cors(
        axum::Json(BannerConfig {
            version: p.record.content_hash.clone(),
            label: p.record.label.clone(),
            controller_en: p.policy.controller.legal_name.en.clone(),
            controller_zh: p.policy.controller.legal_name.zh.clone(),
            policy_url: format!("/t/{tenant}/policy"),
            purposes,
        })
        .into_response(),
    )
}

/// A visitor's choices.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choices {
    /// The browser's secret (43 base64url characters, 256 bits).
    pub browser: String,
    /// The version shown (content hash).
    pub version: String,
    /// `navigator.globalPrivacyControl` was on.
    #[serde(default)]
    pub gpc: bool,
    /// `navigator.doNotTrack` was `1`.
    #[serde(default)]
    pub dnt: bool,
    /// One decision per purpose.
    pub choices: Vec<Choice>,
}

/// One decision.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// Purpose id.
    pub purpose: String,
    /// `given`, `refused` or `withdrawn`.
    pub status: String,
}

/// Records a visitor's choices (see the module's threat model).
pub async fn record(
    State(web): State<Arc<Web>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if uuid::Uuid::parse_str(&tenant).is_err() {
        return problem(StatusCode::NOT_FOUND, "no such tenant");
    }
    if web.banner_limit.check_key(&tenant).is_err() {
        metrics::counter!("troth_banner_rate_limited_total").increment(1);
        let mut res = problem(StatusCode::TOO_MANY_REQUESTS, "too many banner writes");
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return res;
    }
    if body.len() > 16 * 1024 {
        return problem(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large");
    }
    let input: Choices = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(_) => return problem(StatusCode::BAD_REQUEST, "the body is not banner choices"),
    };
    let secret = match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&input.browser) {
        Ok(b) if b.len() == 32 => b,
        _ => return problem(StatusCode::BAD_REQUEST, "browser: 43 base64url characters"),
    };
    if input.choices.is_empty() || input.choices.len() > 64 {
        return problem(StatusCode::BAD_REQUEST, "choices: 1 to 64 decisions");
    }
    let tenant_id = TenantId::new(&tenant);
    let Ok(Some(rt)) = web.app.tenant(&tenant_id).await else {
        return problem(StatusCode::NOT_FOUND, "no such tenant");
    };
    let derived = web
        .keys
        .derive_bytes("banner subject", &[tenant.as_bytes(), &secret]);
    let mut id = [0u8; 16];
    id.copy_from_slice(&derived[..16]);
    let subject_uuid = uuid::Builder::from_random_bytes(id).into_uuid();
    let subject = troth_core::SubjectId::from_u128(subject_uuid.as_u128());
    match web.app.subject_exists(&rt, subject).await {
        Ok(true) => {}
        Ok(false) => {
            let app = caller(tenant_id.clone(), "banner", Role::App, None);
            let res = crate::api::subjects::create(
                State(Arc::clone(&web.app)),
                Extension(app),
                ApiJson(NewSubject {
                    subject_id: Some(subject_uuid.to_string()),
                    identities: Vec::new(),
                    region: None,
                    age: None,
                    guardian: None,
                }),
            )
            .await;
            if let Err(e) = res
                && e.kind() != crate::error::ProblemKind::Conflict
            {
                return cors(e.into_response());
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "subject lookup failed");
            return problem(StatusCode::INTERNAL_SERVER_ERROR, "nothing was recorded");
        }
    }
    let mut signals = HeaderMap::new();
    let on = |flag: bool, name: &str| {
        flag || headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "1")
    };
    if on(input.gpc, "sec-gpc") {
        signals.insert("sec-gpc", HeaderValue::from_static("1"));
    }
    if on(input.dnt, "dnt") {
        signals.insert("dnt", HeaderValue::from_static("1"));
    }
    let who = caller(
        tenant_id,
        "banner",
        Role::Subject,
        Some(store_subject(subject)),
    );
    let mut receipts = Vec::new();
    for c in &input.choices {
        let status = match c.status.as_str() {
            "given" => ConsentStatus::Given,
            "refused" => ConsentStatus::Refused,
            "withdrawn" => ConsentStatus::Withdrawn,
            _ => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "status: given, refused or withdrawn",
                );
            }
        };
        let res = crate::api::consents::record(
            State(Arc::clone(&web.app)),
            Extension(who.clone()),
            signals.clone(),
            ApiJson(ConsentInput {
                subject: subject.to_string(),
                purpose: c.purpose.clone(),
                status,
                scope: None,
                method: Some(Method::Banner),
                actor: None,
                evidence: None,
                expires_at: None,
                version: Some(input.version.clone()),
                at: None,
            }),
        )
        .await;
        match res {
            Ok(r) => {
                if let Ok(v) = super::answer_json(r.into_response()).await
                    && let Some(id) = v.get("receipt_id").and_then(|v| v.as_str())
                {
                    receipts.push(id.to_owned());
                }
            }
            Err(e) => return cors(e.into_response()),
        }
    }
    cors(
        (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({
                "subject": subject.to_string(),
                "receipts": receipts,
            })),
        )
            .into_response(),
    )
}
