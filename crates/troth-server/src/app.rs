//! Assembling the router: routes, fallbacks and the middleware every request passes.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::middleware;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Config;
use crate::error::{ApiError, ProblemKind};
use crate::health::{self, Readiness};
use crate::observe;

/// Wraps `api` (the `/v1` routes and pages) with health endpoints, fallbacks and the
/// middleware stack.
pub fn build(api: Router, config: &Config, ready: Arc<dyn Readiness>) -> Router {
    let cors = cors(&config.cors_origins);
    let (set_id, propagate_id) = observe::request_id_layers();
    api.merge(health::routes(ready, observe::metrics_handle()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(observe::track))
        .layer(middleware::from_fn(observe::log))
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(cors)
        .layer(propagate_id)
        .layer(set_id)
}

fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("sec-gpc"),
            header::HeaderName::from_static("dnt"),
        ])
}

async fn not_found() -> ApiError {
    ApiError::new(ProblemKind::NotFound, "no such endpoint")
        .hint("see /docs for the endpoints this server offers")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ProblemKind::MethodNotAllowed,
        "this path does not accept that method",
    )
    .hint("see /docs for the methods each path accepts")
}
