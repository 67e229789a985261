//! `troth audit verify`: streams each tenant's audit log through the verifier
//! (hash chain, sequence, signed checkpoints) and names the first bad entry.
//!
//! Exit 0 when every chain checked is intact, 1 when one is broken, 2 when the
//! store cannot be read.

use std::time::Instant;

use anyhow::bail;
use serde::Serialize;
use troth_store::{Store as _, StoreError, TenantId};

use crate::Outcome;
use crate::cmd::server::ConfigFlags;

/// `troth audit ...`.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the audit chain of one tenant, or of every tenant.
    Verify {
        #[command(flatten)]
        flags: ConfigFlags,
        /// Only this tenant (default: all tenants).
        #[arg(long, value_name = "ID")]
        tenant: Option<String>,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// One tenant's result.
#[derive(Debug, Serialize)]
struct TenantResult {
    tenant: String,
    intact: bool,
    entries: u64,
    last_seq: u64,
    checkpoints_verified: u64,
    last_checkpoint_seq: Option<u64>,
    elapsed_ms: f64,
    entries_per_second: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    broken: Option<Broken>,
}

/// The first bad entry.
#[derive(Debug, Serialize)]
struct Broken {
    seq: u64,
    problem: String,
}

#[derive(serde::Serialize)]
struct NoExtra {}

pub fn run(cmd: AuditCommand) -> anyhow::Result<Outcome> {
    let AuditCommand::Verify {
        flags,
        tenant,
        json,
    } = cmd;
    let config = flags.load(NoExtra {})?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let store = crate::cmd::keys::open(&config).await?;
        let tenants = match tenant {
            Some(t) => {
                let t = TenantId::new(t);
                if store.tenant(&t).await?.is_none() {
                    store.close().await;
                    bail!("tenant `{t}` not found");
                }
                vec![t]
            }
            None => store.tenant_ids().await?,
        };
        let mut results = Vec::with_capacity(tenants.len());
        for t in &tenants {
            let start = Instant::now();
            let outcome = store.verify_audit(t).await;
            let elapsed = start.elapsed().as_secs_f64();
            let (report, broken) = match outcome {
                Ok(r) => (Some(r), None),
                Err(StoreError::AuditBroken(v)) => (
                    None,
                    Some(Broken {
                        seq: v.seq,
                        problem: v.kind.to_string(),
                    }),
                ),
                Err(e) => {
                    store.close().await;
                    return Err(anyhow::Error::new(e)
                        .context(format!("cannot read the audit log of tenant `{t}`")));
                }
            };
            let entries = report.as_ref().map_or(0, |r| r.entries);
            results.push(TenantResult {
                tenant: t.to_string(),
                intact: broken.is_none(),
                entries,
                last_seq: report.as_ref().map_or(0, |r| r.last_seq),
                checkpoints_verified: report.as_ref().map_or(0, |r| r.checkpoints_verified),
                last_checkpoint_seq: report.as_ref().and_then(|r| r.last_checkpoint_seq),
                elapsed_ms: elapsed * 1e3,
                entries_per_second: if elapsed > 0.0 {
                    entries as f64 / elapsed
                } else {
                    0.0
                },
                broken,
            });
        }
        store.close().await;
        let all_intact = results.iter().all(|r| r.intact);
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "intact": all_intact,
                    "tenants": results,
                }))?
            );
        } else {
            for r in &results {
                match &r.broken {
                    None => println!(
                        "tenant {}: intact, {} entries checked, {} checkpoints verified (last signed entry {}), {:.0} entries/s",
                        r.tenant,
                        r.entries,
                        r.checkpoints_verified,
                        r.last_checkpoint_seq
                            .map_or_else(|| "none".to_owned(), |s| s.to_string()),
                        r.entries_per_second
                    ),
                    Some(b) => println!(
                        "tenant {}: BROKEN at entry {}: {}",
                        r.tenant, b.seq, b.problem
                    ),
                }
            }
            if results.is_empty() {
                println!("no tenants");
            }
        }
        Ok(if all_intact {
            Outcome::Ok
        } else {
            Outcome::Invalid
        })
    })
}
