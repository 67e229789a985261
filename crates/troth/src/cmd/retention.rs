//! `troth retention sweep [--dry-run] [--tenant ID]`: runs the retention sweep the
//! server runs in the background, now, against the configured store — or lists
//! what it would remove and what legal holds keep.
//!
//! Exit 0 when every tenant was swept (or previewed), 1 when a tenant is unknown
//! or another replica is sweeping it, 2 when the store cannot be read.

use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use troth_server::bootstrap;
use troth_server::retention::{SweepError, sweep_tenant};
use troth_store::{HeldCount, Store as _, TenantId};

use crate::Outcome;
use crate::cmd::server::ConfigFlags;

/// `troth retention ...`.
#[derive(Debug, clap::Subcommand)]
pub enum RetentionCommand {
    /// Delete or anonymize every due record (as the pack says), skipping held data.
    Sweep {
        #[command(flatten)]
        flags: ConfigFlags,
        /// Only this tenant (default: all tenants).
        #[arg(long, value_name = "ID")]
        tenant: Option<String>,
        /// List what would go; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Records listed per tenant in a dry run.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(serde::Serialize)]
struct NoExtra {}

/// One tenant's result.
#[derive(Debug, Serialize)]
struct TenantResult {
    tenant: String,
    dry_run: bool,
    /// Records deleted (dry run: due records no hold covers).
    removed: u64,
    deleted: u64,
    anonymized: u64,
    held: Vec<HeldCount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    records: Vec<String>,
    busy: bool,
}

pub fn run(cmd: RetentionCommand) -> anyhow::Result<Outcome> {
    let RetentionCommand::Sweep {
        flags,
        tenant,
        dry_run,
        limit,
        json,
    } = cmd;
    let config = flags.load(NoExtra {})?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let state = bootstrap::open(&config)
            .await
            .context("cannot open the store")?;
        let tenants = match tenant {
            Some(t) => {
                let t = TenantId::new(t);
                if state.store.tenant(&t).await?.is_none() {
                    eprintln!("tenant `{t}` not found");
                    return Ok(Outcome::Invalid);
                }
                vec![t]
            }
            None => state.store.tenant_ids().await?,
        };
        let owner = format!("cli-{}", uuid::Uuid::new_v4());
        let mut results = Vec::with_capacity(tenants.len());
        for t in &tenants {
            if dry_run {
                let p = troth_server::retention::dry_run(&state, t, limit).await?;
                let anonymized = p.due.iter().filter(|r| r.action == "anonymize").count() as u64;
                results.push(TenantResult {
                    tenant: t.to_string(),
                    dry_run,
                    removed: p.due_total,
                    deleted: (p.due.len() as u64).saturating_sub(anonymized),
                    anonymized,
                    held: p.held,
                    records: p
                        .due
                        .iter()
                        .map(|r| {
                            format!(
                                "{}/{}/{} {} (expired {})",
                                r.subject, r.category, r.record, r.action, r.expires
                            )
                        })
                        .collect(),
                    busy: false,
                });
                continue;
            }
            let config = config.retention;
            match sweep_tenant(
                &state,
                t,
                &owner,
                config.batch,
                Duration::from_secs(config.lease_secs.max(1)),
            )
            .await
            {
                Ok(s) => results.push(TenantResult {
                    tenant: t.to_string(),
                    dry_run,
                    removed: s.deleted + s.anonymized,
                    deleted: s.deleted,
                    anonymized: s.anonymized,
                    held: s.held,
                    records: Vec::new(),
                    busy: false,
                }),
                Err(SweepError::Busy) => results.push(TenantResult {
                    tenant: t.to_string(),
                    dry_run,
                    removed: 0,
                    deleted: 0,
                    anonymized: 0,
                    held: Vec::new(),
                    records: Vec::new(),
                    busy: true,
                }),
                Err(SweepError::Store(e)) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("sweeping tenant `{t}` failed"))
                    );
                }
            }
        }
        state.store.close().await;
        if json {
            println!("{}", serde_json::to_string_pretty(&results)?);
        } else {
            for r in &results {
                if r.busy {
                    println!("tenant {}: another sweep is running; try later", r.tenant);
                    continue;
                }
                let verb = if r.dry_run { "would remove" } else { "removed" };
                println!(
                    "tenant {}: {verb} {} records ({} deleted, {} anonymized{})",
                    r.tenant,
                    r.removed,
                    r.deleted,
                    r.anonymized,
                    if r.dry_run { " among those listed" } else { "" }
                );
                for rec in &r.records {
                    println!("  {rec}");
                }
                for h in &r.held {
                    println!(
                        "  kept by hold {} (reason {}): {} records",
                        h.hold_id, h.reason, h.records
                    );
                }
            }
        }
        Ok(if results.iter().any(|r| r.busy) {
            Outcome::Invalid
        } else {
            Outcome::Ok
        })
    })
}
