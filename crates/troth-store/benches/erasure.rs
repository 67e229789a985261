//! Erasure latency: `erase_subject` on a subject holding 10,000 vault records
//! (plus a few identities), beside other subjects' records in the same tenant.
//! Several runs per backend, each on a freshly filled subject; prints the median
//! and the maximum. Target: < 50 ms.
//!
//!   cargo bench -p troth-store --bench erasure            # both backends
//!   cargo bench -p troth-store --bench erasure -- sqlite  # one backend
//!   TROTH_BENCH_EVENTS=2000 cargo bench -p troth-store --bench erasure -- --test  # CI
//!
//! `TROTH_BENCH_EVENTS` sets the records per subject (default 10000); `--test`
//! makes two runs instead of nine. The subject's first record and identities go
//! through the store (so its data key exists); the rest are inserted in bulk with
//! SQL as sealed-size ciphertext, since erasure never decrypts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use sqlx::{Connection as _, QueryBuilder};
use std::time::{Duration, Instant};
use troth_store::testing::{fresh_pg_store, fresh_sqlite_store};
use troth_store::{
    Access, AnyStore, IdentifierKind, Store, StoreConfig, SubjectId, TenantId, VaultKey,
};

/// Sealed size of a ~40-byte value: format + nonce + ciphertext + tag.
const CT_LEN: usize = 1 + 24 + 40 + 16;
/// Other subjects sharing the tenant, each with this many records.
const NEIGHBOURS: usize = 4;

enum Raw {
    Sqlite(String),
    Pg(String),
}

async fn bulk_insert(raw: &Raw, tenant: &TenantId, subject: &str, from: usize, to: usize) {
    macro_rules! fill {
        ($conn:ty, $db:ty, $url:expr) => {{
            let mut c = <$conn>::connect($url).await.unwrap();
            let mut tx = c.begin().await.unwrap();
            let ids: Vec<usize> = (from..to).collect();
            for chunk in ids.chunks(1000) {
                let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                    "INSERT INTO vault_records (tenant_id, subject_id, category, record_id, ciphertext, created_ns) ",
                );
                qb.push_values(chunk, |mut b, i| {
                    b.push_bind(tenant.as_str().to_owned())
                        .push_bind(subject.to_owned())
                        .push_bind(format!("category.{}", i % 8))
                        .push_bind(format!("record-{i:06}"))
                        .push_bind(vec![(*i % 251) as u8; CT_LEN])
                        .push_bind(1_700_000_000_000_000_000i64);
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

async fn fill_subject(store: &AnyStore, raw: &Raw, tenant: &TenantId, subject: &str, n: usize) {
    let ops = Access::new("svc:bench", "account");
    let key = VaultKey::new(tenant.clone(), subject, "contact.address", "home");
    store
        .vault_put(&key, b"1 Example Road", None, &ops)
        .await
        .unwrap();
    for i in 0..3 {
        store
            .put_identity(
                tenant,
                &SubjectId::new(subject),
                IdentifierKind::Email,
                &format!("{subject}.{i}@example.com"),
                "CN",
                &ops,
            )
            .await
            .unwrap();
    }
    bulk_insert(raw, tenant, subject, 1, n).await;
}

async fn run(store: &AnyStore, raw: &Raw, records: usize, runs: usize) -> Vec<Duration> {
    let tenant = TenantId::new(format!("bench-{}", jiff::Timestamp::now().as_nanosecond()));
    store.create_tenant(&tenant, "Bench").await.unwrap();
    for n in 0..NEIGHBOURS {
        fill_subject(store, raw, &tenant, &format!("neighbour-{n}"), records).await;
    }
    let ops = Access::new("svc:bench", "erasure");
    let mut out = Vec::with_capacity(runs);
    for r in 0..runs {
        let subject = format!("subject-{r}");
        fill_subject(store, raw, &tenant, &subject, records).await;
        let t0 = Instant::now();
        let report = store
            .erase_subject(&tenant, &SubjectId::new(&subject), &ops)
            .await
            .unwrap();
        out.push(t0.elapsed());
        assert!(report.key_destroyed);
        assert_eq!(report.records_deleted as usize, records);
        assert_eq!(report.identities_deleted, 3);
    }
    // Neighbours untouched; the chain still verifies.
    let key = VaultKey::new(tenant.clone(), "neighbour-0", "contact.address", "home");
    store.vault_get(&key, &ops).await.unwrap();
    store.verify_audit(&tenant).await.unwrap();
    out
}

fn print(name: &str, records: usize, mut lat: Vec<Duration>) {
    lat.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<10} erase_subject, {records} records + 3 identities: {} runs, median {:>7.2} ms, max {:>7.2} ms",
        lat.len(),
        ms(lat[lat.len() / 2]),
        ms(lat[lat.len() - 1]),
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
    let records: usize = std::env::var("TROTH_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
        .max(1);
    let runs = if test_mode { 2 } else { 9 };
    // On the real disk (not tmpfs), so fsync costs what it costs.
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
        let lat = run(&store, &raw, records, runs).await;
        print(backend, records, lat);
        store.close().await;
    }
}
