//! Access export for one subject with many vault records: reading and decrypting
//! everything troth holds (`export::gather`), building the zip (`export::build`) and
//! storing it encrypted under the subject's key, on SQLite (issue #7: 10,000 rows
//! in < 500 ms).
//!
//!   cargo bench -p troth-server --bench export
//!   TROTH_BENCH_EVENTS=500 cargo bench -p troth-server --bench export -- --test   # short
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use troth_server::export::{EXPORT_CATEGORY, build, gather};
use troth_server::{Config, bootstrap};
use troth_store::{Access, Store, SubjectId, TenantId, VaultKey};

fn main() {
    let short =
        std::env::args().any(|a| a == "--test") || std::env::var("TROTH_BENCH_EVENTS").is_ok();
    let rows: usize = std::env::var("TROTH_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if short { 500 } else { 10_000 });
    let runs = if short { 3 } else { 20 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        let state = bootstrap::open(&config).await.unwrap();
        let tenant = TenantId::new(uuid::Uuid::new_v4().to_string());
        bootstrap::create_tenant(&state, &tenant, "Bench")
            .await
            .unwrap();
        let subject = SubjectId::new(uuid::Uuid::new_v4().to_string());
        let access = Access::new("bench", "bench");
        // Three categories, as if from three systems; values of realistic length.
        let cats = ["contact.email", "orders.address", "device.ids"];
        let fill = Instant::now();
        for i in 0..rows {
            let key = VaultKey::new(
                tenant.clone(),
                subject.clone(),
                cats[i % 3],
                format!("r{i:06}"),
            );
            let value = format!("{i:06} 北京市朝阳区建国路 88 号 · user{i}@example.com");
            state
                .store
                .vault_put(&key, value.as_bytes(), None, &access)
                .await
                .unwrap();
        }
        eprintln!("filled {rows} vault records in {:?}", fill.elapsed());
        let mut times: Vec<Duration> = Vec::new();
        let mut size = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let data = gather(
                &state.store,
                &tenant,
                &subject,
                "bench-request",
                None,
                jiff::Timestamp::now(),
                &access,
            )
            .await
            .unwrap();
            let total: usize = data.vault.iter().map(|c| c.values.len()).sum();
            assert_eq!(total, rows);
            let bundle = build(&data).unwrap();
            let key = VaultKey::new(
                tenant.clone(),
                subject.clone(),
                EXPORT_CATEGORY,
                "bench-request",
            );
            state
                .store
                .vault_put(&key, &bundle.zip, None, &access)
                .await
                .unwrap();
            size = bundle.zip.len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "export of {rows} vault records: median {:?}, max {:?} over {runs} runs; zip {} KiB",
            times[times.len() / 2],
            times[times.len() - 1],
            size / 1024
        );
    });
}
