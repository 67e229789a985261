//! Liveness, readiness, metrics and the problem-type documentation.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::error::{ApiError, ProblemKind};

/// Something the server needs before it can serve traffic (the database).
pub trait Readiness: Send + Sync + 'static {
    /// `Ok` when ready; otherwise a short reason without secrets or PI.
    fn check(&self) -> futures_util::future::BoxFuture<'_, Result<(), String>>;
}

#[derive(Clone)]
struct HealthState {
    ready: Arc<dyn Readiness>,
    metrics: PrometheusHandle,
}

/// `/healthz`, `/readyz`, `/metrics` and `/problems/{slug}`.
pub fn routes<S: Clone + Send + Sync + 'static>(
    ready: Arc<dyn Readiness>,
    metrics: PrometheusHandle,
) -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/problems/{slug}", get(problem_doc))
        .with_state(HealthState { ready, metrics })
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(s): State<HealthState>) -> Result<Json<serde_json::Value>, ApiError> {
    match s.ready.check().await {
        Ok(()) => Ok(Json(serde_json::json!({ "status": "ready" }))),
        Err(reason) => Err(ApiError::new(ProblemKind::Unavailable, reason).retry_after(5)),
    }
}

async fn metrics_text(State(s): State<HealthState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

async fn problem_doc(Path(slug): Path<String>) -> Result<Html<String>, ApiError> {
    let kind = ProblemKind::ALL
        .into_iter()
        .find(|k| k.slug() == slug)
        .ok_or_else(|| ApiError::not_found("problem type"))?;
    Ok(Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;line-height:1.6\">\
         <h1>{status} — {title}</h1><p><code>type: /problems/{slug}</code></p><p>{desc}</p></body></html>",
        title = kind.title(),
        status = kind.status().as_u16(),
        slug = kind.slug(),
        desc = kind.description().replace('<', "&lt;"),
    )))
}
