//! Fills a troth data directory with audit entries, for timing `troth audit
//! verify` end to end (BENCHMARKS.md, issue #5):
//!
//!   cargo run --release -p troth --example audit_fill -- DATA_DIR 500000
//!   time target/release/troth audit verify --data-dir DATA_DIR
//!
//! The store is opened exactly as `troth serve` opens it (master key, signing key,
//! migrations), tenant `bench` is created, and the entries are appended in batches
//! of 10,000 through the same path the server's audit appends take.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use troth_server::config::Config;
use troth_store::{AuditEvent, Store as _, TenantId};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next()) else {
        bail!("usage: audit_fill DATA_DIR ENTRIES");
    };
    let n: usize = n.parse().context("ENTRIES must be a whole number")?;
    let config = Config {
        data_dir: PathBuf::from(dir),
        ..Config::default()
    };
    let opened = troth_server::storage::open(&config).await?;
    let store = opened.store;
    let tenant = TenantId::new("bench");
    if store.tenant(&tenant).await?.is_none() {
        store.create_tenant(&tenant, "Audit bench").await?;
    }
    let base = jiff::Timestamp::now();
    let mut done = 0;
    while done < n {
        let k = 10_000.min(n - done);
        let events = (done..done + k)
            .map(|i| {
                Ok(AuditEvent {
                    time: base.checked_add(jiff::SignedDuration::from_micros(i64::try_from(i)?))?,
                    actor: format!("svc:consent-api-{}", i % 7),
                    action: "consent.given".into(),
                    target: format!("subject:{:016x}", i.wrapping_mul(0x9e37_79b9)),
                    detail: format!(
                        r#"{{"purpose":"marketing.email","event_id":"ev-{i:010}","seq":{i}}}"#
                    ),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.append_audit(&tenant, events).await?;
        done += k;
    }
    println!("appended {n} audit entries for tenant bench");
    Ok(())
}
