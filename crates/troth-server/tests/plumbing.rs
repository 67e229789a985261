//! The plumbing every request passes: ids, errors, limits, health and metrics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::post;
use futures_util::future::BoxFuture;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use troth_server::extract::ApiJson;
use troth_server::health::Readiness;
use troth_server::{Config, app};

struct Flag(AtomicBool);

impl Readiness for Flag {
    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        let ok = self.0.load(Ordering::SeqCst);
        Box::pin(async move {
            if ok {
                Ok(())
            } else {
                Err("database not reachable".to_owned())
            }
        })
    }
}

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Echo {
    purpose: String,
    categories: Vec<String>,
}

async fn echo(ApiJson(e): ApiJson<Echo>) -> axum::Json<Echo> {
    axum::Json(e)
}

fn server(ready: bool) -> Router {
    let config = Config {
        body_limit_bytes: 64,
        ..Config::default()
    };
    let api = Router::new().route("/v1/echo", post(echo));
    app::build(api, &config, Arc::new(Flag(AtomicBool::new(ready))))
}

async fn send(
    app: Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

fn post_json(body: &str) -> Request<Body> {
    Request::post("/v1/echo")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn healthz_answers_and_every_response_has_a_request_id() {
    let (status, headers, body) = send(
        server(true),
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert!(headers.get("x-request-id").is_some());
}

#[tokio::test]
async fn a_callers_request_id_is_kept() {
    let req = Request::get("/healthz")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = send(server(true), req).await;
    assert_eq!(headers.get("x-request-id").unwrap(), "abc-123");
}

#[tokio::test]
async fn readyz_is_503_with_retry_after_until_ready() {
    let (status, headers, body) = send(
        server(false),
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers.get(header::RETRY_AFTER).unwrap(), "5");
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/problem+json"
    );
    assert_eq!(body["type"], "/problems/unavailable");
    let (status, _, _) = send(
        server(true),
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let (status, _, body) = send(
        server(true),
        Request::get("/v1/nope").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["type"], "/problems/not-found");
    let (status, _, body) = send(
        server(true),
        Request::get("/v1/echo").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["type"], "/problems/method-not-allowed");
}

#[tokio::test]
async fn bad_bodies_are_400_413_415_never_500() {
    let (status, _, body) = send(server(true), post_json(r#"{"purpose": 1}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "purpose");
    let (status, _, _) = send(server(true), post_json("{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let big = format!(r#"{{"purpose":"{}","categories":[]}}"#, "x".repeat(200));
    let (status, _, body) = send(server(true), post_json(&big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["type"], "/problems/payload-too-large");
    let req = Request::post("/v1/echo")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _, _) = send(server(true), req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, body) = send(
        server(true),
        post_json(r#"{"purpose":"a","categories":["b"]}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["categories"][0], "b");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = server(true);
    let _ = send(app.clone(), post_json(r#"{"purpose":"a","categories":[]}"#)).await;
    let res = app
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(
        text.contains("troth_http_request_duration_seconds"),
        "{text}"
    );
    assert!(text.contains("route=\"/v1/echo\""), "{text}");
}

#[tokio::test]
async fn problem_types_are_documented() {
    let res = server(true)
        .oneshot(
            Request::get("/problems/rate-limited")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(html.contains("429"));
    assert!(html.contains("Retry-After"));
}
