//! Retention sweep throughput: one full sweep (lease, batches of 5,000, each one
//! audited transaction; then the run closed) over 1,000,000 expired vault records
//! of 100,000 subjects, 10% of them anonymized into the tally, plus 1,000 held
//! records the sweep must skip. Target: < 10 s per backend.
//!
//!   cargo bench -p troth-store --bench retention            # both backends
//!   cargo bench -p troth-store --bench retention -- sqlite  # one backend
//!   TROTH_BENCH_EVENTS=20000 cargo bench -p troth-store --bench retention -- --test  # CI
//!
//! `TROTH_BENCH_EVENTS` sets the number of expired records (default 1,000,000);
//! `--test` also verifies the audit chain afterwards. Records are inserted in bulk
//! with SQL as sealed-size ciphertext (a sweep never decrypts), in one transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use sqlx::{Connection as _, QueryBuilder};
use std::time::Instant;
use troth_store::testing::{fresh_pg_store, fresh_sqlite_store};
use troth_store::{AnyStore, NewHold, RetentionStore, Store, StoreConfig, SubjectId, TenantId};

/// Sealed size of a ~40-byte value: format + nonce + ciphertext + tag.
const CT_LEN: usize = 1 + 24 + 40 + 16;
const SUBJECTS: usize = 100_000;
const HELD: usize = 1_000;
const BATCH: u32 = 5_000;
/// Expiries start here (2023-11-14) and go up by one second per record.
const BASE_NS: i64 = 1_700_000_000_000_000_000;

enum Raw {
    Sqlite(String),
    Pg(String),
}

/// Inserts `n` expired records (subject `s-{i % SUBJECTS}`), then `HELD` records of
/// the held subject `held`.
async fn fill(raw: &Raw, tenant: &TenantId, n: usize) {
    macro_rules! fill {
        ($conn:ty, $db:ty, $url:expr) => {{
            let mut c = <$conn>::connect($url).await.unwrap();
            let mut tx = c.begin().await.unwrap();
            let rows: Vec<(String, usize)> = (0..n)
                .map(|i| (format!("s-{:06}", i % SUBJECTS), i))
                .chain((0..HELD).map(|i| ("held".to_owned(), n + i)))
                .collect();
            for chunk in rows.chunks(1000) {
                let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                    "INSERT INTO vault_records (tenant_id, subject_id, category, record_id, ciphertext,
                       created_ns, expires_ns, purpose, on_expiry) ",
                );
                qb.push_values(chunk, |mut b, (subject, i)| {
                    b.push_bind(tenant.as_str().to_owned())
                        .push_bind(subject.clone())
                        .push_bind(format!("category.{}", i % 8))
                        .push_bind(format!("record-{i:07}"))
                        .push_bind(vec![(*i % 251) as u8; CT_LEN])
                        .push_bind(BASE_NS - 86_400_000_000_000)
                        .push_bind(BASE_NS + (*i as i64) * 1_000_000_000)
                        .push_bind("analytics")
                        .push_bind(if i % 10 == 0 { "anonymize" } else { "delete" });
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

async fn run(store: &AnyStore, raw: &Raw, records: usize, verify: bool) -> (f64, f64, u64) {
    let tenant = TenantId::new(format!("bench-{}", jiff::Timestamp::now().as_nanosecond()));
    store.create_tenant(&tenant, "Bench").await.unwrap();
    let t0 = Instant::now();
    fill(raw, &tenant, records).await;
    let fill_s = t0.elapsed().as_secs_f64();
    store
        .place_hold(
            &NewHold {
                tenant: tenant.clone(),
                hold_id: "bench-hold".into(),
                subject: Some(SubjectId::new("held")),
                category: None,
                reason: "legal-requirement".into(),
                note: None,
                placed: jiff::Timestamp::now(),
            },
            "svc:bench",
        )
        .await
        .unwrap();
    // Everything inserted has expired by then.
    let now = jiff::Timestamp::from_nanosecond(
        i128::from(BASE_NS) + (records as i128 + HELD as i128 + 1) * 1_000_000_000,
    )
    .unwrap();
    let lease = now + jiff::SignedDuration::from_secs(3600);
    let t0 = Instant::now();
    let run = store
        .begin_sweep(&tenant, "bench", now, lease)
        .await
        .unwrap()
        .unwrap();
    while store
        .sweep_batch(&run, now, BATCH, lease, "system:retention")
        .await
        .unwrap()
        .removed()
        > 0
    {}
    let summary = store
        .finish_sweep(&run, now, "system:retention")
        .await
        .unwrap();
    let sweep_s = t0.elapsed().as_secs_f64();
    assert_eq!((summary.deleted + summary.anonymized) as usize, records);
    assert_eq!(summary.anonymized as usize, records.div_ceil(10));
    assert_eq!(summary.held[0].records as usize, HELD);
    if verify {
        store.verify_audit(&tenant).await.unwrap();
    }
    (fill_s, sweep_s, summary.batches)
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
        .unwrap_or(1_000_000)
        .max(1);
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
        let (fill_s, sweep_s, batches) = run(&store, &raw, records, test_mode).await;
        println!(
            "{backend:<10} retention sweep, {records} expired records (+{HELD} held): {sweep_s:>6.2} s \
             ({:.0} records/s, {batches} batches of {BATCH}); bulk fill {fill_s:.1} s",
            records as f64 / sweep_s
        );
        store.close().await;
    }
}
