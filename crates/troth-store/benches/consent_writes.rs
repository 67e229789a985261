//! Durable consent writes with group commit: 32 concurrent writers, each awaiting
//! its acknowledgement (= commit of the event and its audit entry) before sending
//! the next event. Prints events/s and per-event latency for SQLite and for
//! PostgreSQL on loopback, each beside the same load with batching disabled
//! (`max_batch = 1`, one transaction per event) as the baseline.
//!
//!   cargo bench -p troth-store --bench consent_writes            # both backends
//!   cargo bench -p troth-store --bench consent_writes -- sqlite  # one backend
//!
//! `TROTH_BENCH_EVENTS` sets the events per run (default 64000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};
use troth_crypto::{KeyVersion, LocalMasterKey, SigningKeyPair, Vault};
use troth_store::testing::{fresh_pg_store, fresh_sqlite_store};
use troth_store::{AnyStore, NewConsentEvent, Store, StoreConfig, SubjectId, TenantId};

const WRITERS: usize = 32;

fn config(max_batch: usize) -> StoreConfig {
    let vault = Vault::new(Arc::new(LocalMasterKey::generate(KeyVersion(1)).unwrap()));
    let mut c = StoreConfig::new(vault, SigningKeyPair::generate().unwrap());
    c.max_batch = max_batch;
    c
}

fn event(tenant: &TenantId, writer: usize, i: usize) -> NewConsentEvent {
    NewConsentEvent {
        tenant: tenant.clone(),
        subject: SubjectId::new(format!("subject-{writer}-{}", i % 50)),
        event_id: format!("ev-{writer}-{i}"),
        purpose: "marketing".into(),
        action: if i % 5 == 4 { "withdrawn" } else { "given" }.into(),
        time: jiff::Timestamp::now(),
        actor: "subject".into(),
        event: serde_json::json!({
            "kind": "given", "purpose": "marketing", "method": "banner",
            "policy_version": "9f2c4e1a7b3d5f6e8a0c2e4f6a8b0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c",
            "evidence": "3b7e1f0a9c2d4e6f8a0b2c4d6e8f0a2b", "signals": { "gpc": false, "dnt": false },
        }),
    }
}

struct Outcome {
    events: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

async fn run(store: &AnyStore, total: usize) -> Outcome {
    let tenant = TenantId::new(format!("bench-{}", jiff::Timestamp::now().as_nanosecond()));
    store.create_tenant(&tenant, "Bench").await.unwrap();
    // Warm up connections and caches.
    for i in 0..64 {
        store.append_consent(event(&tenant, 999, i)).await.unwrap();
    }
    let per_writer = total / WRITERS;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        let tenant = tenant.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_writer);
            for i in 0..per_writer {
                let t0 = Instant::now();
                store.append_consent(event(&tenant, w, i)).await.unwrap();
                lat.push(t0.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::with_capacity(total);
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    // Everything written is really there and the chain is intact.
    let report = store.verify_audit(&tenant).await.unwrap();
    assert_eq!(report.entries as usize, 1 + 64 + per_writer * WRITERS);
    Outcome {
        events: per_writer * WRITERS,
        elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

fn print(name: &str, o: &Outcome) {
    println!(
        "{name:<34} {:>8} events in {:>6.2}s = {:>9.0} events/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
        o.events,
        o.elapsed.as_secs_f64(),
        o.events as f64 / o.elapsed.as_secs_f64(),
        o.p50.as_secs_f64() * 1e3,
        o.p99.as_secs_f64() * 1e3,
    );
}

async fn open(backend: &str, max_batch: usize, dir: &std::path::Path) -> AnyStore {
    match backend {
        "sqlite" => AnyStore::Sqlite(
            fresh_sqlite_store(&dir.join(format!("b{max_batch}")), config(max_batch))
                .await
                .unwrap(),
        ),
        _ => AnyStore::Postgres(fresh_pg_store(config(max_batch)).await.unwrap().0),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let backends: Vec<&str> = ["sqlite", "postgres"]
        .into_iter()
        .filter(|b| args.is_empty() || args.iter().any(|a| a == b))
        .collect();
    let total: usize = std::env::var("TROTH_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64_000);
    // On the real disk (not tmpfs), so fsync costs what it costs.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    println!(
        "consent writes: {WRITERS} concurrent writers, durable ack (commit incl. audit entry)"
    );
    for backend in backends {
        let store = open(backend, 1024, dir.path()).await;
        print(
            &format!("{backend} group commit"),
            &run(&store, total).await,
        );
        let store = open(backend, 1, dir.path()).await;
        print(
            &format!("{backend} one tx per event (baseline)"),
            &run(&store, (total / 8).max(WRITERS)).await,
        );
    }
}
