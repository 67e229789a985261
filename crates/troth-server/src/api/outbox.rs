//! `/v1/outbox` and `/v1/notify-targets`: where notifications go, and what became
//! of each (pending with its next attempt, delivered with the receiver's status,
//! or dead with the reason and a retry action).
//!
//! Notify targets are tenant configuration and need the admin's key permission
//! ([`Permission::ManageKeys`]); reading and retrying messages is request work
//! ([`Permission::WorkRequests`]: admins and operators).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_store::{NotifyTarget, OutboxChannel, OutboxMessage, OutboxStatus, OutboxStore};
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::state::AppState;
use crate::api::{Page, bad, store_error};
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;
use crate::outbox::{KINDS, webhook_secret};

/// A message as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// Stable id (sent as `troth-message-id`).
    pub message_id: String,
    /// `deletion.notice`, `request.alarm`.
    pub kind: String,
    /// `webhook`, `email` or `unrouted`.
    pub channel: String,
    /// The notify target id (empty when unrouted).
    pub target: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (pending messages).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt: Option<Timestamp>,
    /// The last failure.
    pub last_error: Option<String>,
    /// The receiver's HTTP status on the last attempt (its acknowledgement when
    /// delivered).
    pub response_status: Option<u16>,
    /// Stored.
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    /// Delivered.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered: Option<Timestamp>,
    /// The body (pseudonymous ids only).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

fn message_view(m: OutboxMessage) -> MessageView {
    MessageView {
        next_attempt: (m.status == OutboxStatus::Pending).then_some(m.next_attempt),
        message_id: m.message_id,
        kind: m.kind,
        channel: m.channel.as_str().to_owned(),
        target: m.target,
        status: m.status.as_str().to_owned(),
        attempts: m.attempts,
        last_error: m.last_error,
        response_status: m.response_status,
        created: m.created,
        delivered: m.delivered,
        payload: serde_json::from_str(&m.payload_json).unwrap_or_default(),
    }
}

/// `?status=&after=&limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OutboxQuery {
    /// `pending`, `delivered` or `dead`.
    pub status: Option<String>,
    /// Cursor from the previous page's `next`.
    pub after: Option<String>,
    /// Items per page (1–1000, default 100).
    pub limit: Option<u32>,
}

/// The tenant's notifications, newest first.
#[utoipa::path(get, path = "/v1/outbox", tag = "outbox", params(OutboxQuery),
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<OutboxQuery>,
) -> Result<axum::Json<Page<MessageView>>, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            OutboxStatus::parse(s)
                .map_err(|_| bad("status", "status is pending, delivered or dead"))
        })
        .transpose()?;
    let limit = crate::api::PageQuery {
        after: None,
        limit: q.limit,
    }
    .limit()?;
    let before = q.after.as_deref().map(parse_cursor).transpose()?;
    let items = state
        .store
        .outbox_messages(&caller.tenant, status, before, limit)
        .await
        .map_err(store_error)?;
    let next = (items.len() == limit as usize)
        .then(|| {
            items
                .last()
                .map(|m| format!("{}.{}", m.created.as_nanosecond(), m.message_id))
        })
        .flatten();
    Ok(axum::Json(Page {
        items: items.into_iter().map(message_view).collect(),
        next,
    }))
}

fn parse_cursor(s: &str) -> Result<(Timestamp, String), ApiError> {
    let invalid = || bad("after", "not a cursor from this list");
    let (ns, id) = s.split_once('.').ok_or_else(invalid)?;
    let ns: i128 = ns.parse().map_err(|_| invalid())?;
    let t = Timestamp::from_nanosecond(ns).map_err(|_| invalid())?;
    Ok((t, id.to_owned()))
}

/// One message.
#[utoipa::path(get, path = "/v1/outbox/{message}", tag = "outbox",
    params(("message" = String, Path, description = "Message id")),
    responses((status = 200, body = MessageView), (status = 404)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<MessageView>, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let m = state
        .store
        .outbox_message(&caller.tenant, &id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("message"))?;
    Ok(axum::Json(message_view(m)))
}

/// Puts a dead message back in the queue, due now. Unrouted messages cannot be
/// retried: add a notify target and complete the work that causes the notice again.
#[utoipa::path(post, path = "/v1/outbox/{message}/retry", tag = "outbox",
    params(("message" = String, Path, description = "Message id")),
    responses((status = 200, body = MessageView), (status = 404), (status = 409)),
    security(("bearer" = [])))]
pub async fn retry(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<MessageView>, ApiError> {
    caller.require(Permission::WorkRequests)?;
    let m = state
        .store
        .outbox_message(&caller.tenant, &id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("message"))?;
    if m.status != OutboxStatus::Dead || m.channel == OutboxChannel::Unrouted {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            format!(
                "only dead, routed messages can be retried; this one is {} ({})",
                m.status.as_str(),
                m.channel.as_str()
            ),
        ));
    }
    if !state
        .store
        .retry_message(&caller.tenant, &id, &caller.actor())
        .await
        .map_err(store_error)?
    {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            "the message changed meanwhile; read it again",
        ));
    }
    let m = state
        .store
        .outbox_message(&caller.tenant, &id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("message"))?;
    Ok(axum::Json(message_view(m)))
}

/// A notify target to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// An `https://` URL (plain `http://` only on loopback) to POST signed messages
    /// to. Exactly one of `webhook` and `email`.
    pub webhook: Option<String>,
    /// A company mailbox (the recipient's or the operators'), not a data subject's.
    pub email: Option<String>,
    /// The policy recipient this target speaks for: deletion notices about data it
    /// received come here. Absent for the tenant's own targets (alarms).
    pub recipient: Option<String>,
    /// Kinds to receive (`deletion.notice`, `request.alarm`); empty or absent: all.
    #[serde(default)]
    pub events: Vec<String>,
}

/// A notify target as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetView {
    /// Id.
    pub target_id: String,
    /// `webhook` or `email`.
    pub channel: String,
    /// URL or mailbox.
    pub address: String,
    /// The policy recipient it speaks for.
    pub recipient: Option<String>,
    /// Kinds it receives (empty: all).
    pub events: Vec<String>,
    /// Saved.
    #[schema(value_type = String, format = DateTime)]
    pub updated: Timestamp,
    /// For webhooks, only in the answer to a save: the signing secret (shown once;
    /// saving again issues a new one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn target_view(t: NotifyTarget, secret: Option<String>) -> TargetView {
    TargetView {
        target_id: t.target_id,
        channel: t.channel.as_str().to_owned(),
        address: t.address,
        recipient: t.recipient,
        events: t.events,
        updated: t.updated,
        secret,
    }
}

fn check_webhook(url: &str) -> Result<(), ApiError> {
    let invalid = |why: &str| bad("webhook", why.to_owned());
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("a webhook is an absolute https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    if host.is_empty() {
        return Err(invalid("the webhook URL has no host"));
    }
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match scheme {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(invalid(
            "webhooks carry personal-data events: use https:// (http:// only on loopback)",
        )),
        _ => Err(invalid("a webhook is an absolute https:// URL")),
    }
}

/// Creates or replaces a notify target. A webhook target's answer carries its
/// signing secret, once.
#[utoipa::path(put, path = "/v1/notify-targets/{target}", tag = "outbox",
    params(("target" = String, Path, description = "Target id")), request_body = TargetBody,
    responses((status = 200, body = TargetView), (status = 400), (status = 422)),
    security(("bearer" = [])))]
pub async fn put_target(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TargetBody>,
) -> Result<axum::Json<TargetView>, ApiError> {
    caller.require(Permission::ManageKeys)?;
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(bad(
            "target",
            "a target id is 1–64 letters, digits, '-' or '_'",
        ));
    }
    let (channel, address) = match (body.webhook, body.email) {
        (Some(url), None) => {
            check_webhook(&url)?;
            (OutboxChannel::Webhook, url)
        }
        (None, Some(mail)) => {
            if mail.parse::<lettre::Address>().is_err() {
                return Err(bad("email", "not an email address"));
            }
            (OutboxChannel::Email, mail)
        }
        _ => return Err(bad("webhook", "give exactly one of `webhook` and `email`")),
    };
    for (i, e) in body.events.iter().enumerate() {
        if !KINDS.contains(&e.as_str()) {
            return Err(ApiError::new(
                ProblemKind::Unprocessable,
                format!("unknown event kind {e:?}"),
            )
            .field(format!("events[{i}]"))
            .hint(format!("kinds: {}", KINDS.join(", "))));
        }
    }
    if let Some(r) = &body.recipient {
        let rt = crate::api::runtime(&state, &caller).await?;
        let known = match rt.in_force(Timestamp::now()).await {
            Some(p) => p.policy.recipients.iter().any(|x| x.id.as_str() == r),
            None => false,
        };
        if !known {
            return Err(ApiError::new(
                ProblemKind::Unprocessable,
                format!("the policy in force names no recipient {r:?}"),
            )
            .field("recipient"));
        }
    }
    let saved = state
        .store
        .put_notify_target(
            &NotifyTarget {
                tenant: caller.tenant.clone(),
                target_id: id,
                channel,
                address,
                recipient: body.recipient,
                events: body.events,
                generation: 0,
                updated: Timestamp::now(),
            },
            &caller.actor(),
        )
        .await
        .map_err(store_error)?;
    let secret = (saved.channel == OutboxChannel::Webhook)
        .then(|| webhook_secret(&state, &caller.tenant, &saved.target_id, saved.generation));
    Ok(axum::Json(target_view(saved, secret)))
}

/// The tenant's notify targets (never their secrets).
#[utoipa::path(get, path = "/v1/notify-targets", tag = "outbox",
    responses((status = 200, body = Vec<TargetView>)), security(("bearer" = [])))]
pub async fn list_targets(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<Vec<TargetView>>, ApiError> {
    caller.require(Permission::ManageKeys)?;
    let targets = state
        .store
        .notify_targets(&caller.tenant)
        .await
        .map_err(store_error)?;
    Ok(axum::Json(
        targets.into_iter().map(|t| target_view(t, None)).collect(),
    ))
}

/// Deletes a notify target; messages already queued for it are dead-lettered when
/// their turn comes.
#[utoipa::path(delete, path = "/v1/notify-targets/{target}", tag = "outbox",
    params(("target" = String, Path, description = "Target id")),
    responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn delete_target(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::ManageKeys)?;
    if state
        .store
        .delete_notify_target(&caller.tenant, &id, &caller.actor())
        .await
        .map_err(store_error)?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("notify target"))
    }
}

#[cfg(test)]
mod tests {
    use super::check_webhook;

    #[test]
    fn webhooks_need_https_except_on_loopback() {
        assert!(check_webhook("https://hooks.example.com/troth").is_ok());
        assert!(check_webhook("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_webhook("http://localhost/hook").is_ok());
        assert!(check_webhook("http://[::1]:8080/x").is_ok());
        assert!(check_webhook("http://hooks.example.com/troth").is_err());
        assert!(check_webhook("http://127.0.0.1.evil.com/x").is_err());
        assert!(check_webhook("ftp://example.com").is_err());
        assert!(check_webhook("https://").is_err());
        assert!(check_webhook("example.com/hook").is_err());
    }
}
