//! The `/v1` handlers in process (router, middleware, JSON, index, store; no
//! sockets): consent writes and decisions with many concurrent callers on SQLite.
//! Complements `benches/load.sh`, which adds the network and a load generator.
//!
//!   cargo bench -p troth-server --bench api
//!   TROTH_BENCH_EVENTS=2000 cargo bench -p troth-server --bench api -- --test   # short
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;
use troth_server::{Config, bootstrap};

const CALLERS: usize = 64;

async fn call(router: &Router, key: &str, path: &str, body: String) -> StatusCode {
    let req = Request::post(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    router.clone().oneshot(req).await.unwrap().status()
}

async fn drive(
    router: &Router,
    key: &str,
    total: usize,
    make: impl Fn(usize, usize) -> (String, String) + Send + Sync + 'static,
    expect: StatusCode,
) -> (f64, Duration, Duration) {
    let make = Arc::new(make);
    let per = total / CALLERS;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CALLERS {
        let (router, key, make) = (router.clone(), key.to_owned(), Arc::clone(&make));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let (path, body) = make(c, i);
                let t = Instant::now();
                assert_eq!(call(&router, &key, &path, body).await, expect);
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    (lat.len() as f64 / secs, p(0.5), p(0.99))
}

fn main() {
    let short =
        std::env::args().any(|a| a == "--test") || std::env::var("TROTH_BENCH_EVENTS").is_ok();
    let total = if short { 640 } else { 64_000 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_owned(),
            rate_limit: troth_server::config::RateLimit {
                per_second: 10_000_000,
                burst: 10_000_000,
            },
            ..Config::default()
        };
        let state = bootstrap::open(&config).await.unwrap();
        let pack = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../packs/s002-template/policy.toml"
        ))
        .unwrap();
        let demo = bootstrap::demo(&state, &pack).await.unwrap();
        let router = bootstrap::router(state, &config);
        let key = demo.admin.token.clone();
        let mut subjects = Vec::new();
        for _ in 0..CALLERS * 4 {
            let req = Request::post("/v1/subjects")
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let res = router.clone().oneshot(req).await.unwrap();
            let body = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            subjects.push(v["subject_id"].as_str().unwrap().to_owned());
        }
        let subjects = Arc::new(subjects);
        let s = Arc::clone(&subjects);
        let (rate, p50, p99) = drive(
            &router,
            &key,
            total,
            move |c, i| {
                let status = if i % 2 == 0 { "given" } else { "withdrawn" };
                (
                    "/v1/consents".into(),
                    format!(
                        r#"{{"subject":"{}","purpose":"photo-access","status":"{status}"}}"#,
                        s[(c * 4 + i) % s.len()]
                    ),
                )
            },
            StatusCode::CREATED,
        )
        .await;
        println!("POST /v1/consents   {CALLERS} callers: {rate:>9.0}/s  p50 {p50:?}  p99 {p99:?}");
        let s = Arc::clone(&subjects);
        let (rate, p50, p99) = drive(
            &router,
            &key,
            total * 4,
            move |c, i| {
                (
                    "/v1/decisions".into(),
                    format!(
                        r#"{{"subject":"{}","purpose":"photo-access","categories":["photos"]}}"#,
                        s[(c + i) % s.len()]
                    ),
                )
            },
            StatusCode::OK,
        )
        .await;
        println!("POST /v1/decisions  {CALLERS} callers: {rate:>9.0}/s  p50 {p50:?}  p99 {p99:?}");
    });
}
