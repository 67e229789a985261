//! `/v1/policies`: upload and publish policy versions, list them, read them as
//! JSON or rendered for people, and compare two versions.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_policy::{Format, Lang};
use troth_store::{PolicyVersionRecord, Store, StoreError, TenantId};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::{AppState, Published, midnight_utc, parse_record};
use crate::api::{bad, runtime, runtime_error, store_error};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::parse_json;
use crate::notices::{self, FanOut, Notice};
use crate::outbox::{POLICY_ANNOUNCEMENT, POLICY_NOTICE};

/// A published version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionInfo {
    /// Content hash (64 hex digits): the version's identity.
    pub content_hash: String,
    /// Pack id.
    pub pack: String,
    /// Human label.
    pub label: String,
    /// When it was published.
    #[schema(value_type = String, format = DateTime)]
    pub published: Timestamp,
    /// When it takes effect.
    #[schema(value_type = String, format = DateTime)]
    pub effective: Timestamp,
    /// Whether the change from the previous version is significant.
    pub significant: bool,
    /// Whether this is the version in force now.
    pub in_force: bool,
    /// On publication: the notices queued to every person, when the change is
    /// significant or takes effect later (absent otherwise, and if queueing failed —
    /// `POST /v1/policies/{version}/notices` then queues them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notices: Option<FanOut>,
}

fn info(p: &PolicyVersionRecord, in_force: Option<&str>) -> VersionInfo {
    VersionInfo {
        content_hash: p.content_hash.clone(),
        pack: p.pack_id.clone(),
        label: p.label.clone(),
        published: p.published,
        effective: p.effective,
        significant: p.significant,
        in_force: in_force == Some(p.content_hash.as_str()),
        notices: None,
    }
}

/// Queues the notice of `new` (replacing `old`) to every person: idempotent, keyed
/// by the new version's hash (see [`crate::notices`]).
async fn queue_notices(
    state: &AppState,
    tenant: &TenantId,
    old: &Published,
    new: &Published,
    actor: &str,
) -> Result<FanOut, StoreError> {
    let payload = notices::policy_payload(
        tenant,
        (&old.policy, &old.record.content_hash),
        (&new.policy, &new.record.content_hash),
        new.record.effective,
    );
    let notice = Notice {
        kind: POLICY_NOTICE,
        announcement_kind: POLICY_ANNOUNCEMENT,
        id_base: format!("policy:{}", new.record.content_hash),
        channels: &new.policy.changes.notice_channels,
        payload,
    };
    notices::fan_out(&state.store, tenant, &notice, actor).await
}

/// A manifest upload as JSON (raw TOML with `Content-Type: application/toml` works too).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// The `policy.toml` text.
    pub toml: String,
}

fn etag_of(tag: &str) -> String {
    format!("\"{tag}\"")
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

fn with_etag(mut res: Response, etag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// Validates a manifest and publishes it. Every validation problem is listed (422).
/// Publishing the same content twice is a conflict (409).
#[utoipa::path(post, path = "/v1/policies", tag = "policies", request_body = Upload,
    responses((status = 201, body = VersionInfo), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn publish(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Permission::PublishPolicy)?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    let text = match media {
        "application/toml" | "text/plain" | "text/x-toml" => String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::new(ProblemKind::BadRequest, "the manifest is not UTF-8"))?,
        m if m == "application/json" || m.ends_with("+json") => parse_json::<Upload>(&body)?.toml,
        _ => {
            return Err(ApiError::new(
                ProblemKind::UnsupportedMediaType,
                "send the manifest as application/toml, or as JSON {\"toml\": \"...\"}",
            ));
        }
    };
    let policy = troth_policy::parse_policy("policy.toml", &text).map_err(ApiError::from)?;
    let rt = runtime(&state, &caller).await?;
    let hash = troth_policy::content_hash(&policy);
    let now = Timestamp::now();
    let previous = rt.versions.read().await.last().cloned();
    if let Some(prev) = previous
        .as_ref()
        .filter(|p| p.record.pack_id != policy.policy.id.as_str())
    {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            format!(
                "this tenant publishes pack `{}`; the upload is pack `{}`",
                prev.record.pack_id, policy.policy.id
            ),
        )
        .field("policy.id"));
    }
    let significant = previous
        .as_ref()
        .is_some_and(|p| troth_policy::diff(&p.policy, &policy).significant);
    let effective = midnight_utc(policy.policy.effective)
        .ok_or_else(|| bad("policy.effective", "effective date out of range"))?;
    let record = PolicyVersionRecord {
        tenant: caller.tenant.clone(),
        pack_id: policy.policy.id.to_string(),
        label: policy.policy.version.clone(),
        content_hash: hash.clone(),
        published: now,
        effective,
        significant,
        source_toml: text,
    };
    state
        .store
        .publish_policy_version(&record, &caller.actor())
        .await
        .map_err(|e| match e {
            troth_store::StoreError::Conflict(_) => ApiError::new(
                ProblemKind::Conflict,
                "a version with exactly this content is already published",
            )
            .hint("the version label and dates are not part of the content hash; a new version must change what the policy says"),
            other => store_error(other),
        })?;
    let published = parse_record(record).map_err(runtime_error)?;
    let body = info(&published.record, None);
    rt.add_version(published.clone(), now)
        .await
        .map_err(runtime_error)?;
    // People hear of a significant change, and of any change before it takes
    // effect. The version is already committed: a failure here is logged and the
    // notices are queued by POST /v1/policies/{version}/notices (idempotent).
    let notices = match previous
        .as_ref()
        .filter(|_| significant || published.record.effective > now)
    {
        Some(prev) => {
            match queue_notices(&state, &caller.tenant, prev, &published, &caller.actor()).await {
                Ok(f) => {
                    tracing::info!(tenant = %caller.tenant, subjects = f.subjects, queued = f.queued, "policy notices queued");
                    Some(f)
                }
                Err(e) => {
                    tracing::error!(error = %e, "policy notices not queued");
                    None
                }
            }
        }
        None => None,
    };
    let in_force = rt
        .in_force(now)
        .await
        .map(|p| p.record.content_hash.clone());
    let body = VersionInfo {
        in_force: in_force.as_deref() == Some(body.content_hash.as_str()),
        notices,
        ..body
    };
    let etag = etag_of(&hash);
    Ok(with_etag(
        (StatusCode::CREATED, axum::Json(body)).into_response(),
        &etag,
    ))
}

/// Every published version, oldest first.
#[utoipa::path(get, path = "/v1/policies", tag = "policies",
    responses((status = 200, body = [VersionInfo])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<Vec<VersionInfo>>, ApiError> {
    caller.require(Permission::ReadPolicy)?;
    let rt = runtime(&state, &caller).await?;
    let current = rt
        .in_force(Timestamp::now())
        .await
        .map(|p| p.record.content_hash.clone());
    let versions = rt.versions.read().await;
    Ok(axum::Json(
        versions
            .iter()
            .map(|p| info(&p.record, current.as_deref()))
            .collect(),
    ))
}

async fn find(
    state: &AppState,
    caller: &Caller,
    which: &str,
) -> Result<(Published, Option<String>), ApiError> {
    caller.require(Permission::ReadPolicy)?;
    let rt = runtime(state, caller).await?;
    let now = Timestamp::now();
    let current = rt
        .in_force(now)
        .await
        .map(|p| p.record.content_hash.clone());
    let p = rt
        .version(which, now)
        .await
        .ok_or_else(|| ApiError::not_found("policy version"))?;
    Ok((p, current))
}

/// One version: its metadata and manifest source. `version` is a content hash, a
/// label, or `current`. Sends an `ETag`; `If-None-Match` gives 304.
#[utoipa::path(get, path = "/v1/policies/{version}", tag = "policies",
    params(("version" = String, Path, description = "Content hash, label or `current`")),
    responses((status = 200, body = VersionInfo), (status = 304), (status = 404)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (p, current) = find(&state, &caller, &version).await?;
    let etag = etag_of(&p.record.content_hash);
    if not_modified(&headers, &etag) {
        return Ok(with_etag(StatusCode::NOT_MODIFIED.into_response(), &etag));
    }
    let mut body = serde_json::to_value(info(&p.record, current.as_deref()))
        .map_err(|_| ApiError::internal())?;
    body["source_toml"] = serde_json::Value::String(p.record.source_toml.clone());
    Ok(with_etag(axum::Json(body).into_response(), &etag))
}

/// `?format=&lang=` for rendering.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RenderQuery {
    /// `html` (default) or `markdown`.
    pub format: Option<String>,
    /// `en` (default) or `zh-CN`.
    pub lang: Option<String>,
}

/// The policy rendered for people, in English or Chinese, as HTML or Markdown.
#[utoipa::path(get, path = "/v1/policies/{version}/render", tag = "policies",
    params(("version" = String, Path, description = "Content hash, label or `current`"), RenderQuery),
    responses((status = 200, description = "text/html or text/markdown"), (status = 304), (status = 404)),
    security(("bearer" = [])))]
pub async fn render(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    Query(q): Query<RenderQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (format, media, fmt_tag) = match q.format.as_deref().unwrap_or("html") {
        "html" => (Format::Html, "text/html; charset=utf-8", "html"),
        "markdown" | "md" => (Format::Markdown, "text/markdown; charset=utf-8", "md"),
        _ => return Err(bad("format", "format is `html` or `markdown`")),
    };
    let lang_tag = q.lang.as_deref().unwrap_or("en");
    let lang = Lang::ALL
        .into_iter()
        .find(|l| l.tag().eq_ignore_ascii_case(lang_tag))
        .ok_or_else(|| bad("lang", "lang is `en` or `zh-CN`"))?;
    let (p, _) = find(&state, &caller, &version).await?;
    let etag = etag_of(&format!(
        "{}-{}-{fmt_tag}",
        p.record.content_hash,
        lang.tag()
    ));
    if not_modified(&headers, &etag) {
        return Ok(with_etag(StatusCode::NOT_MODIFIED.into_response(), &etag));
    }
    let text = troth_policy::render(&p.policy, lang, format).map_err(|e| {
        tracing::error!(error = %e, "render failed");
        ApiError::internal()
    })?;
    let mut res = text.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    Ok(with_etag(res, &etag))
}

/// `?from=`: the older version (default: the one published before).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DiffQuery {
    /// Content hash or label of the older version.
    pub from: Option<String>,
}

/// What changed between two versions, each change classified (significant or
/// not, by which criterion; whether rights were reduced; whether people must
/// explicitly accept the new version).
#[utoipa::path(get, path = "/v1/policies/{version}/diff", tag = "policies",
    params(("version" = String, Path, description = "The newer version"), DiffQuery),
    responses((status = 200, description = "the diff report"), (status = 404)),
    security(("bearer" = [])))]
pub async fn diff(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Result<axum::Json<troth_policy::DiffReport>, ApiError> {
    let (new, _) = find(&state, &caller, &version).await?;
    let old = match q.from {
        Some(from) => find(&state, &caller, &from).await?.0,
        None => previous_of(&state, &caller, &new).await?.ok_or_else(|| {
            ApiError::not_found("earlier policy version")
                .hint("this is the first version; name another with ?from=")
        })?,
    };
    Ok(axum::Json(troth_policy::diff(&old.policy, &new.policy)))
}

/// The version published before `new`, if any.
pub(crate) async fn previous_of(
    state: &AppState,
    caller: &Caller,
    new: &Published,
) -> Result<Option<Published>, ApiError> {
    let rt = runtime(state, caller).await?;
    let versions = rt.versions.read().await;
    let pos = versions
        .iter()
        .position(|p| p.record.content_hash == new.record.content_hash)
        .unwrap_or(0);
    Ok(pos.checked_sub(1).and_then(|i| versions.get(i)).cloned())
}

/// Queues the notice of a version to every person again: for a publication whose
/// notices were not (all) queued, e.g. when the server stopped half way. Messages
/// already queued are not queued twice (their ids derive from the version and the
/// person); `queued` counts the new ones.
#[utoipa::path(post, path = "/v1/policies/{version}/notices", tag = "policies",
    params(("version" = String, Path, description = "Content hash or label")),
    responses((status = 200, body = FanOut), (status = 404)),
    security(("bearer" = [])))]
pub async fn notices(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
) -> Result<axum::Json<FanOut>, ApiError> {
    caller.require(Permission::PublishPolicy)?;
    let (new, _) = find(&state, &caller, &version).await?;
    let old = previous_of(&state, &caller, &new).await?.ok_or_else(|| {
        ApiError::not_found("earlier policy version")
            .hint("the first version replaces nothing: there is no change to tell people about")
    })?;
    let f = queue_notices(&state, &caller.tenant, &old, &new, &caller.actor())
        .await
        .map_err(store_error)?;
    Ok(axum::Json(f))
}
