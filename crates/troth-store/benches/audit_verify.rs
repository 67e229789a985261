//! Audit-log verification throughput: `Store::verify_audit` over one tenant's chain
//! of N entries (reading from the database included), on each backend. Target
//! (issue #5): ≥ 1,000,000 entries/s.
//!
//!   cargo bench -p troth-store --bench audit_verify            # both backends
//!   cargo bench -p troth-store --bench audit_verify -- sqlite  # one backend
//!   TROTH_BENCH_EVENTS=20000 cargo bench -p troth-store --bench audit_verify -- --test  # CI
//!
//! `TROTH_BENCH_EVENTS` sets the entries (default 500000; 20000 with `--test`);
//! `--test` makes two runs instead of five; `TROTH_BENCH_VERIFY_PAGE` overrides
//! `StoreConfig::verify_page`. The chain is filled through
//! `append_audit` in batches of 10,000 (one signed checkpoint per 1,024 entries plus
//! the tip), then each run times `verify_audit` and, for comparison, reading every
//! page with `audit_entries` and nothing else (skipped when `TROTH_BENCH_VERIFY_ONLY`
//! is set, for profiling).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};
use troth_store::testing::{fresh_pg_store, fresh_sqlite_store};
use troth_store::{AnyStore, AuditEvent, Store, StoreConfig, TenantId};

const BATCH: usize = 10_000;
const PAGE: u32 = 10_000;

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

async fn fill(store: &AnyStore, tenant: &TenantId, n: usize) {
    let t0 = Instant::now();
    let base = jiff::Timestamp::now();
    let mut done = 0;
    while done < n {
        let k = BATCH.min(n - done);
        let events = (done..done + k)
            .map(|i| AuditEvent {
                time: base
                    .checked_add(jiff::SignedDuration::from_micros(i as i64))
                    .unwrap(),
                actor: format!("svc:consent-api-{}", i % 7),
                action: "consent.given".into(),
                target: format!("subject:{:016x}", i.wrapping_mul(0x9e37_79b9)),
                detail: format!(
                    r#"{{"purpose":"marketing.email","event_id":"ev-{i:010}","seq":{i}}}"#
                ),
            })
            .collect();
        store.append_audit(tenant, events).await.unwrap();
        done += k;
    }
    println!(
        "  filled {n} entries in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// Reads every entry with `audit_entries`, page by page, and drops them.
async fn read_only(store: &AnyStore, tenant: &TenantId) -> u64 {
    let mut after = 0u64;
    let mut n = 0u64;
    loop {
        let page = store.audit_entries(tenant, after, PAGE).await.unwrap();
        n += page.len() as u64;
        match page.last() {
            Some(e) if page.len() == PAGE as usize => after = e.seq,
            _ => return n,
        }
    }
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn summary(name: &str, n: usize, mut runs: Vec<Duration>) {
    runs.sort_unstable();
    let med = runs[runs.len() / 2];
    println!(
        "  {name:<24} {} runs: median {:>9.0} entries/s ({:.3} s), best {:>9.0}/s, worst {:>9.0}/s",
        runs.len(),
        rate(n, med),
        med.as_secs_f64(),
        rate(n, runs[0]),
        rate(n, runs[runs.len() - 1]),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let test_mode = all.iter().any(|a| a == "--test");
    let args: Vec<&String> = all.iter().filter(|a| !a.starts_with('-')).collect();
    let backends: Vec<&str> = ["sqlite", "postgres"]
        .into_iter()
        .filter(|b| args.is_empty() || args.iter().any(|a| a.as_str() == *b))
        .collect();
    let n: usize = std::env::var("TROTH_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if test_mode { 20_000 } else { 500_000 })
        .max(1);
    let runs = if test_mode { 2 } else { 5 };
    // `TROTH_BENCH_VERIFY_ONLY=1` skips the `audit_entries` comparison (for profiling).
    let read_pages = std::env::var_os("TROTH_BENCH_VERIFY_ONLY").is_none();
    // On the real disk (not tmpfs), like a deployed data directory.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for backend in backends {
        let mut config = StoreConfig::ephemeral().unwrap();
        if let Some(page) = std::env::var("TROTH_BENCH_VERIFY_PAGE")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            config.verify_page = page;
        }
        let page = config.verify_page;
        let store = match backend {
            "sqlite" => AnyStore::Sqlite(fresh_sqlite_store(dir.path(), config).await.unwrap()),
            _ => AnyStore::Postgres(fresh_pg_store(config).await.unwrap().0),
        };
        println!(
            "{backend}: {n} audit entries, verify_page {page}, load average {}",
            load_average()
        );
        let tenant = TenantId::new("bench");
        store.create_tenant(&tenant, "Bench").await.unwrap();
        // `create_tenant` itself appends one entry.
        fill(&store, &tenant, n).await;
        let total = n + 1;
        let mut verify = Vec::with_capacity(runs);
        let mut read = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t0 = Instant::now();
            let report = store.verify_audit(&tenant).await.unwrap();
            verify.push(t0.elapsed());
            assert_eq!(report.entries as usize, total);
            assert_eq!(report.last_seq as usize, total);
            assert!(report.checkpoints_verified as usize > total / 1024);
            if read_pages {
                let t0 = Instant::now();
                assert_eq!(read_only(&store, &tenant).await as usize, total);
                read.push(t0.elapsed());
            }
        }
        summary("verify_audit", total, verify);
        if read_pages {
            summary("audit_entries pages only", total, read);
        }
        println!("  load average after: {}", load_average());
        store.close().await;
    }
}
