//! Access export and erasure for one subject whose rows are spread over three
//! connected databases: SQLite, PostgreSQL and MariaDB, each with the shop schema
//! (customers → orders → order_items → events, plus profiles). Two other customers
//! of the same size share each database. Access runs the three connectors
//! concurrently; erasure runs them concurrently together with the troth vault's
//! `erase_subject` (SQLite store, 10 records + 1 identity). Prints the median and
//! maximum of several runs. Targets: access < 500 ms, erasure < 100 ms.
//!
//!   cargo bench -p troth-connectors --bench export_erase
//!   TROTH_BENCH_EVENTS=2000 cargo bench -p troth-connectors --bench export_erase -- --test  # CI
//!
//! `TROTH_BENCH_EVENTS` sets the subject's rows over the three databases (default
//! 10000); `--test` makes two runs instead of nine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use std::time::{Duration, Instant};
use troth_connectors::{
    AnyConnector, Connector, Dialect, HashKey, SqlConnector, SubjectKeys, access_all,
};
use troth_store::testing::{fresh_sqlite_store, pg_cluster};
use troth_store::{
    Access, AnyStore, IdentifierKind, Store, StoreConfig, SubjectId, TenantId, VaultKey,
};

const ITEMS: i64 = 3;
const EVENTS: i64 = 10;

fn stats(lat: &mut [Duration]) -> (f64, f64) {
    lat.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(lat[lat.len() / 2]), ms(lat[lat.len() - 1]))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let test_mode = std::env::args().any(|a| a == "--test");
    let total: i64 = std::env::var("TROTH_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
        .max(3 * 40);
    let runs = if test_mode { 2 } else { 9 };
    // Rows per customer per database: 2 + orders × (1 + ITEMS × (1 + EVENTS)).
    let per_row = 1 + ITEMS * (1 + EVENTS);
    let orders = ((total / 3 - 2 + per_row - 1) / per_row).max(1);

    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("shop.db").display());
    let cluster = tokio::task::spawn_blocking(pg_cluster)
        .await
        .unwrap()
        .expect("PostgreSQL test cluster");
    let pg = cluster.url(&cluster.create_database("troth_conn_bench").await.unwrap());
    let maria = tokio::task::spawn_blocking(troth_connectors::testing::mariadb)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("MariaDB test server: {e}"));
    let my = maria.url(&maria.create_database("troth_conn_bench").await.unwrap());
    let urls = [sqlite, pg, my];

    // Customers 1..=runs are the subjects (one per erasure run); 1000 and 1001 neighbours.
    let mut pools = Vec::new();
    let mut per_subject = 0;
    for url in &urls {
        let p = pool(url).await;
        create_schema(&p, Dialect::from_url(url).unwrap()).await;
        for c in 1..=runs {
            per_subject = seed_customer(
                &p,
                c,
                &format!("subject{c}@example.com"),
                orders,
                ITEMS,
                EVENTS,
            )
            .await;
        }
        for c in [1000, 1001] {
            seed_customer(
                &p,
                c,
                &format!("other{c}@example.com"),
                orders,
                ITEMS,
                EVENTS,
            )
            .await;
        }
        pools.push(p);
    }
    let rows = per_subject * urls.len();
    let map = shop_map();
    let mut connectors = Vec::new();
    for url in &urls {
        connectors.push(AnyConnector::Sql(
            SqlConnector::connect_to(&map, url, Some(HashKey::new(vec![9u8; 32])))
                .await
                .unwrap(),
        ));
    }
    let who = |c: i64| SubjectKeys::new().with("email", format!("subject{c}@example.com"));

    // Access (warm-up once, then timed runs on subject 1).
    access_all(&connectors, &who(1)).await;
    let mut access = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let got = access_all(&connectors, &who(1)).await;
        access.push(t0.elapsed());
        let n: usize = got.into_iter().map(|r| r.unwrap().row_count()).sum();
        assert_eq!(n, rows);
    }

    // The troth vault beside them.
    let store = AnyStore::Sqlite(
        fresh_sqlite_store(&dir.path().join("vault"), StoreConfig::ephemeral().unwrap())
            .await
            .unwrap(),
    );
    let tenant = TenantId::new("bench");
    store.create_tenant(&tenant, "Bench").await.unwrap();
    let ops = Access::new("svc:bench", "erasure");

    let mut erase = Vec::new();
    let mut each: Vec<Vec<Duration>> = vec![Vec::new(); 4];
    for c in 1..=runs {
        let subject = format!("subject-{c}");
        for i in 0..10 {
            let key = VaultKey::new(
                tenant.clone(),
                subject.as_str(),
                "contact.address",
                format!("r{i}"),
            );
            store
                .vault_put(&key, b"1 Example Road", None, &ops)
                .await
                .unwrap();
        }
        store
            .put_identity(
                &tenant,
                &SubjectId::new(&subject),
                IdentifierKind::Email,
                &format!("subject{c}@example.com"),
                "CN",
                &ops,
            )
            .await
            .unwrap();
        let (keys, sid) = (who(c), SubjectId::new(&subject));
        let t0 = Instant::now();
        let timed = connectors.iter().map(|c| async {
            let t = Instant::now();
            let r = c.erase(&keys).await;
            (r, t.elapsed())
        });
        let vault_timed = async {
            let t = Instant::now();
            let r = store.erase_subject(&tenant, &sid, &ops).await;
            (r, t.elapsed())
        };
        let (got, (vault, vt)) = tokio::join!(futures_util::future::join_all(timed), vault_timed);
        erase.push(t0.elapsed());
        for (i, (_, d)) in got.iter().enumerate() {
            each[i].push(*d);
        }
        each[3].push(vt);
        let got: Vec<_> = got.into_iter().map(|(r, _)| r).collect();
        let n: u64 = got.into_iter().map(|r| r.unwrap().rows_changed()).sum();
        // Deleted: orders, items, events; updated: customer and profile.
        assert_eq!(n as usize, rows);
        assert!(vault.unwrap().key_destroyed);
    }
    // Neighbours untouched.
    for p in &pools {
        let left = count(p, "SELECT COUNT(*) FROM events").await;
        assert_eq!(left, 2 * orders * ITEMS * EVENTS);
    }

    let (am, ax) = stats(&mut access);
    let (em, ex) = stats(&mut erase);
    println!(
        "access  {rows} rows over sqlite+postgres+mariadb: {runs} runs, median {am:>7.2} ms, max {ax:>7.2} ms (target < 500 ms)"
    );
    println!(
        "erasure {rows} rows over sqlite+postgres+mariadb + vault: {runs} runs, median {em:>7.2} ms, max {ex:>7.2} ms (target < 100 ms)"
    );
    for (name, lat) in ["sqlite", "postgres", "mariadb", "vault"]
        .iter()
        .zip(&mut each)
    {
        let (m, x) = stats(lat);
        println!("  erasure alone in {name:<8}: median {m:>7.2} ms, max {x:>7.2} ms");
    }
    for c in &connectors {
        if let AnyConnector::Sql(s) = c {
            s.close().await;
        }
    }
    store.close().await;
}
