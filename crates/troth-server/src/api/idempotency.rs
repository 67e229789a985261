//! `Idempotency-Key` on writes: a retried request gets the first answer instead of
//! being applied twice. Records are per API key and kept for 24 hours; the same key
//! with a different body is a 409, as is a retry while the first attempt still runs.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use troth_store::{IdempotencyStart, IdempotencyWindow, ServiceStore};

use crate::api::caller::Caller;
use crate::api::state::AppState;
use crate::error::{ApiError, ProblemKind};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";

/// Middleware for the `/v1` routes; runs after authentication.
pub async fn idempotent(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = match raw.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_owned()
        }
        _ => {
            return ApiError::new(
                ProblemKind::BadRequest,
                "the Idempotency-Key header must be 1 to 255 visible ASCII characters",
            )
            .field("Idempotency-Key")
            .hint("send a fresh random value (e.g. a UUID) per logical write")
            .into_response();
        }
    };
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, state.body_limit).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                ProblemKind::PayloadTooLarge,
                "the request body is larger than the server accepts",
            )
            .into_response();
        }
    };
    let mut h = blake3::Hasher::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b"\0");
    h.update(parts.uri.path().as_bytes());
    h.update(b"\0");
    h.update(parts.uri.query().unwrap_or("").as_bytes());
    h.update(b"\0");
    h.update(&bytes);
    let request_hash = h.finalize().to_hex().to_string();
    let window = IdempotencyWindow::default();
    let started = state
        .store
        .idempotency_begin(&caller.tenant, &caller.key_id, &key, &request_hash, window)
        .await;
    match started {
        Ok(IdempotencyStart::Started) => {}
        Ok(IdempotencyStart::Replay { status, body }) => return replay(status, body),
        Ok(IdempotencyStart::Mismatch) => {
            return ApiError::new(
                ProblemKind::Conflict,
                "this Idempotency-Key was already used with a different request",
            )
            .field("Idempotency-Key")
            .hint("use a new key for a new request; reuse a key only to retry the same request")
            .into_response();
        }
        Ok(IdempotencyStart::InProgress) => {
            return ApiError::new(
                ProblemKind::Conflict,
                "a request with this Idempotency-Key is still being processed",
            )
            .field("Idempotency-Key")
            .retry_after(1)
            .into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "idempotency record failed");
            return ApiError::internal().into_response();
        }
    }
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        let _ = state
            .store
            .idempotency_abandon(&caller.tenant, &caller.key_id, &key)
            .await;
        return ApiError::internal().into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    let outcome = if parts.status.is_server_error() || parts.status == StatusCode::TOO_MANY_REQUESTS
    {
        // A retry may succeed: let it run again.
        state
            .store
            .idempotency_abandon(&caller.tenant, &caller.key_id, &key)
            .await
    } else {
        state
            .store
            .idempotency_finish(
                &caller.tenant,
                &caller.key_id,
                &key,
                parts.status.as_u16(),
                &text,
            )
            .await
    };
    if let Err(e) = outcome {
        // The write itself is done; only the replay record is missing.
        tracing::warn!(error = %e, "idempotency record not saved");
    }
    parts
        .headers
        .insert(REPLAYED, HeaderValue::from_static("false"));
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_client_error() || status.is_server_error() {
        "application/problem+json"
    } else {
        "application/json"
    };
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    res
}
