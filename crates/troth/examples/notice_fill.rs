//! Fills a troth data directory with a tenant of many people, for timing the notice
//! fan-out (`troth controller transfer`) end to end:
//!
//!   cargo run -p troth --example notice_fill -- DATA_DIR 200000
//!   /usr/bin/time -v troth controller transfer --data-dir DATA_DIR --version 2.0 \
//!       --new-controller "Buyer Holdings Co., Ltd." --effective 2025-01-08
//!
//! The store is opened as `troth serve` opens it; the tenant publishes the s002 pack
//! (1.0) and a version naming a new controller (2.0, effective 2025-01-08). The people
//! are written straight into the data file in one transaction (subject rows, and an
//! email identity row for every second one whose ciphertext is filler: the fan-out
//! never decrypts, the courier does at delivery), because creating them one audited
//! call at a time would take longer than what is being timed.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use sqlx::Connection as _;
use troth_server::config::Config;
use troth_store::{PolicyVersionRecord, Store as _, TenantId};

/// The tenant the example fills.
const TENANT: &str = "0190a000-0000-7000-8000-00000000be0c";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next()) else {
        bail!("usage: notice_fill DATA_DIR SUBJECTS");
    };
    let n: u64 = n.parse().context("SUBJECTS must be a whole number")?;
    let dir = PathBuf::from(dir);
    let config = Config {
        data_dir: dir.clone(),
        ..Config::default()
    };
    let store = troth_server::storage::open(&config).await?.store;
    let tenant = TenantId::new(TENANT);
    store.create_tenant(&tenant, "Notice bench").await?;
    let v1 = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../packs/s002-template/policy.toml"),
    )?;
    let v2 = v1
        .replacen(
            "legal_name = { en = \"Template Example Technology Co., Ltd.\"",
            "legal_name = { en = \"Buyer Holdings Co., Ltd.\"",
            1,
        )
        .replacen("\nversion = \"1.0\"", "\nversion = \"2.0\"", 1)
        .replacen("\neffective = ", "\neffective = 2025-01-08\n# was ", 1);
    for (i, text) in [v1, v2].into_iter().enumerate() {
        let policy = troth_policy::parse_policy("policy.toml", &text)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let effective = jiff::tz::Offset::UTC.to_timestamp(
            policy
                .policy
                .effective
                .to_datetime(jiff::civil::Time::midnight()),
        )?;
        let record = PolicyVersionRecord {
            tenant: tenant.clone(),
            pack_id: policy.policy.id.to_string(),
            label: policy.policy.version.clone(),
            content_hash: troth_policy::content_hash(&policy),
            published: jiff::Timestamp::now(),
            effective,
            significant: i == 1,
            source_toml: text,
        };
        store.publish_policy_version(&record, "bench").await?;
    }
    store.close().await;

    let url = format!("sqlite://{}", dir.join("troth.db").display());
    let mut c = sqlx::SqliteConnection::connect(&url).await?;
    let mut tx = c.begin().await?;
    let now = jiff::Timestamp::now().as_nanosecond() as i64;
    for i in 0..n {
        let subject = format!("0190b000-0000-7000-8000-{i:012x}");
        sqlx::query(
            "INSERT INTO subjects (tenant_id, subject_id, age_band, guardian_id, status, created_ns)
             VALUES ($1, $2, 'adult', NULL, 'active', $3)",
        )
        .bind(TENANT)
        .bind(&subject)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if i % 2 == 0 {
            sqlx::query(
                "INSERT INTO identities (tenant_id, token, kind, subject_id, value_ct, created_ns)
                 VALUES ($1, $2, 'email', $3, x'00', $4)",
            )
            .bind(TENANT)
            .bind(format!("bench-{i}"))
            .bind(&subject)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    println!("tenant {TENANT}: versions 1.0 and 2.0, {n} subjects");
    Ok(())
}
