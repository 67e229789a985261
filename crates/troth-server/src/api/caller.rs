//! Who is calling: the authentication and rate-limit middleware, and the
//! [`Caller`] it leaves in the request for handlers.

use std::sync::{Arc, OnceLock};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use jiff::Timestamp;
use troth_store::{AuditEvent, ServiceStore, Store, SubjectId, TenantId};

use crate::api::state::AppState;
use crate::auth::{KeyHash, Permission, Role, allows, bearer};
use crate::error::{ApiError, ProblemKind};

/// The authenticated caller of a `/v1` request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The tenant the key belongs to; every query is scoped to it.
    pub tenant: TenantId,
    /// The key's public id.
    pub key_id: String,
    /// The key's role.
    pub role: Role,
    /// For subject keys: the only subject they may act for.
    pub subject: Option<SubjectId>,
    /// The permission a handler refused (set by [`Caller::require`]), so the
    /// middleware can audit the refusal once the answer is known.
    pub(crate) denied: Arc<OnceLock<Permission>>,
}

impl Caller {
    /// 403 unless the role has `perm`.
    pub fn require(&self, perm: Permission) -> Result<(), ApiError> {
        if allows(self.role, perm) {
            Ok(())
        } else {
            // Only the first refusal of a request is kept; one is all there is.
            let _ = self.denied.set(perm);
            Err(ApiError::new(
                ProblemKind::Forbidden,
                format!(
                    "a key with role `{}` may not {}",
                    self.role.as_str(),
                    perm_text(perm)
                ),
            )
            .hint("use a key whose role has this permission (see /docs, Roles)"))
        }
    }

    /// Subject keys may only touch their own subject; anyone else's is "not found"
    /// so their existence is not revealed.
    pub fn may_act_for(&self, subject: &SubjectId) -> Result<(), ApiError> {
        match &self.subject {
            Some(own) if own != subject => Err(ApiError::not_found("subject")),
            _ => Ok(()),
        }
    }

    /// The pseudonymous actor recorded in the audit log.
    pub fn actor(&self) -> String {
        format!("key:{}", self.key_id)
    }
}

fn perm_text(p: Permission) -> &'static str {
    match p {
        Permission::ManageKeys => "manage API keys",
        Permission::PublishPolicy => "publish policies",
        Permission::ReadPolicy => "read policies",
        Permission::WriteSubjects => "create subjects",
        Permission::ReadSubjects => "read subjects",
        Permission::WriteConsent => "record consent",
        Permission::ReadConsent => "read consent",
        Permission::Decide => "ask for decisions",
        Permission::VaultWrite => "store personal information",
        Permission::VaultRead => "read personal information",
        Permission::VaultDelete => "delete personal information",
        Permission::WriteDisclosures => "record disclosures",
        Permission::ReadDisclosures => "read disclosures",
        Permission::ReadAudit => "read the audit log",
        Permission::SubmitRequests => "submit rights requests",
        Permission::WorkRequests => "work rights requests",
        Permission::ReadReports => "read reports",
        Permission::RunReports => "generate reports and run retention sweeps",
        Permission::ManageHolds => "manage legal holds",
        Permission::CeaseOperations => "cease operations",
        Permission::TransferController => "record a transfer of the controller",
        Permission::ReviewCertifications => "review developer certifications",
    }
}

fn unauthenticated(detail: &str) -> Response {
    ApiError::new(ProblemKind::Unauthenticated, detail)
        .hint("send `Authorization: Bearer troth_…` with a key created for your tenant")
        .into_response()
}

/// Authenticates the bearer key, applies its rate limit and stores the [`Caller`]
/// in the request extensions.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(token) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
    else {
        return unauthenticated("no API key was sent, or it is not a troth key");
    };
    let hash = KeyHash::of(token);
    let cached = state.keys.read().await.get(hash.as_str()).cloned();
    let record = match cached {
        Some(r) => r,
        None => match state.store.api_key_by_hash(hash.as_str()).await {
            Ok(Some(r)) if r.revoked.is_none() => {
                state
                    .keys
                    .write()
                    .await
                    .insert(hash.as_str().to_owned(), r.clone());
                r
            }
            Ok(_) => return unauthenticated("this API key is not known or was revoked"),
            Err(e) => {
                tracing::error!(error = %e, "key lookup failed");
                return ApiError::internal().into_response();
            }
        },
    };
    let Some(role) = Role::parse(&record.role) else {
        tracing::error!(key = %record.key_id, "stored key has an unknown role");
        return ApiError::internal().into_response();
    };
    if let Err(not_until) = state.limiter.check_key(&record.key_id) {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        metrics::counter!("troth_rate_limited_total").increment(1);
        return ApiError::new(
            ProblemKind::RateLimited,
            "this API key sent more requests than its limit allows",
        )
        .retry_after(secs.max(1))
        .into_response();
    }
    let caller = Caller {
        tenant: record.tenant,
        key_id: record.key_id,
        role,
        subject: record.subject,
        denied: Arc::new(OnceLock::new()),
    };
    // The route template, never the URL: paths hold subject ids, queries values.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    req.extensions_mut().insert(caller.clone());
    let res = next.run(req).await;
    if res.status() == StatusCode::FORBIDDEN
        && let Some(perm) = caller.denied.get()
    {
        audit_denied(&state, &caller, *perm, &method, route).await;
    }
    res
}

/// Appends `access.denied` to the tenant's audit log for a request refused 403. A
/// failure is logged (ids only) and does not change the answer.
async fn audit_denied(
    state: &AppState,
    caller: &Caller,
    perm: Permission,
    method: &str,
    route: String,
) {
    let event = AuditEvent {
        time: Timestamp::now(),
        actor: caller.actor(),
        action: "access.denied".to_owned(),
        target: route,
        detail: serde_json::json!({ "permission": perm, "method": method }).to_string(),
    };
    if let Err(e) = state.store.append_audit(&caller.tenant, vec![event]).await {
        tracing::error!(error = %e, key = %caller.key_id, "auditing a denied request failed");
    }
}
