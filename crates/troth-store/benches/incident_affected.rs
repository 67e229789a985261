//! Finding the people a breach affects (`IncidentStore::affected_subjects`) over
//! 1,000,000 subjects: each holds one vault record in one of 8 categories and one
//! email identity. The query asks for two categories and the email kind, so every
//! subject matches once (the identity arm) and a quarter twice (deduplicated).
//! Target (issue #8): < 2 s per backend.
//!
//!   cargo bench -p troth-store --bench incident_affected            # both backends
//!   cargo bench -p troth-store --bench incident_affected -- sqlite  # one backend
//!   TROTH_BENCH_EVENTS=20000 cargo bench -p troth-store --bench incident_affected -- --test  # CI
//!
//! `TROTH_BENCH_EVENTS` sets the number of subjects (default 1,000,000). Rows are
//! inserted in bulk with SQL (the query never decrypts), in one transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use sqlx::{Connection as _, QueryBuilder};
use std::time::Instant;
use troth_store::testing::{fresh_pg_store, fresh_sqlite_store};
use troth_store::{AnyStore, IdentifierKind, IncidentStore, Store, StoreConfig, TenantId};

enum Raw {
    Sqlite(String),
    Pg(String),
}

async fn fill(raw: &Raw, tenant: &TenantId, n: usize) {
    macro_rules! fill {
        ($conn:ty, $db:ty, $url:expr) => {{
            let mut c = <$conn>::connect($url).await.unwrap();
            let mut tx = c.begin().await.unwrap();
            let ids: Vec<usize> = (0..n).collect();
            for chunk in ids.chunks(1000) {
                let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                    "INSERT INTO vault_records (tenant_id, subject_id, category, record_id, ciphertext,
                       created_ns, expires_ns, purpose, on_expiry) ",
                );
                qb.push_values(chunk, |mut b, i| {
                    b.push_bind(tenant.as_str().to_owned())
                        .push_bind(format!("s-{i:07}"))
                        .push_bind(format!("category.{}", i % 8))
                        .push_bind("main")
                        .push_bind(vec![(*i % 251) as u8; 81])
                        .push_bind(0_i64)
                        .push_bind(None::<i64>)
                        .push_bind("service")
                        .push_bind("delete");
                });
                qb.build().execute(&mut *tx).await.unwrap();
                let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                    "INSERT INTO identities (tenant_id, token, kind, subject_id, value_ct, created_ns) ",
                );
                qb.push_values(chunk, |mut b, i| {
                    b.push_bind(tenant.as_str().to_owned())
                        .push_bind(format!("token-{i:07}"))
                        .push_bind("email")
                        .push_bind(format!("s-{i:07}"))
                        .push_bind(vec![(*i % 251) as u8; 81])
                        .push_bind(0_i64);
                });
                qb.build().execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
            c.close().await.unwrap();
        }};
    }
    match raw {
        Raw::Sqlite(url) => fill!(sqlx::SqliteConnection, sqlx::Sqlite, url),
        Raw::Pg(url) => fill!(sqlx::PgConnection, sqlx::Postgres, url),
    }
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
    let subjects: usize = std::env::var("TROTH_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
        .max(8);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for backend in backends {
        let config = StoreConfig::ephemeral().unwrap();
        let (store, raw) = match backend {
            "sqlite" => {
                let s = fresh_sqlite_store(dir.path(), config).await.unwrap();
                let url = format!("sqlite://{}", s.data_path().display());
                (AnyStore::Sqlite(s), Raw::Sqlite(url))
            }
            _ => {
                let (s, db) = fresh_pg_store(config).await.unwrap();
                (AnyStore::Postgres(s), Raw::Pg(db.data_url))
            }
        };
        let tenant = TenantId::new("bench-incident");
        store.create_tenant(&tenant, "Bench").await.unwrap();
        let t0 = Instant::now();
        fill(&raw, &tenant, subjects).await;
        let fill_s = t0.elapsed().as_secs_f64();
        let categories = ["category.1".to_owned(), "category.5".to_owned()];
        let mut times = Vec::new();
        for _ in 0..if test_mode { 1 } else { 3 } {
            let t = Instant::now();
            let found = store
                .affected_subjects(&tenant, &categories, &[IdentifierKind::Email])
                .await
                .unwrap();
            times.push(t.elapsed().as_secs_f64());
            assert_eq!(found.len(), subjects, "every subject once");
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{backend:<10} affected subjects over {subjects} subjects: median {:.3} s (best {:.3} s); bulk fill {fill_s:.1} s",
            times[times.len() / 2],
            times[0]
        );
        store.close().await;
    }
}
