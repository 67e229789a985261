//! `troth cessation start --service X` and `troth cessation status`: cessation of
//! operations (seed 003) against the configured store, as `POST /v1/cessations` and
//! `GET /v1/cessations` do it. Running servers enforce a cessation started here
//! within `troth_server::cessation::REFRESH`; the retention sweep (the server's
//! worker, or `troth retention sweep`) deletes the data.
//!
//! Exit 0 on success, 1 when the tenant, service or pack does not allow it (or it
//! already ceased), 2 when the store cannot be read.

use anyhow::Context as _;
use troth_server::api::state::AppState;
use troth_server::bootstrap;
use troth_server::cessation::{self, CessationReport, StartCessation, StartError};
use troth_store::{CessationStore as _, Store as _, TenantId};

use crate::Outcome;
use crate::cmd::server::ConfigFlags;

/// The actor the audit log records for cessations started here.
const ACTOR: &str = "cli:cessation";

/// `troth cessation ...`.
#[derive(Debug, clap::Subcommand)]
pub enum CessationCommand {
    /// Stop a service (the pack's id: the whole operation): collection is denied from
    /// now on, people are notified, and its data is scheduled for deletion.
    Start {
        #[command(flatten)]
        flags: ConfigFlags,
        /// The pack's id, or one of its `services[].id`.
        #[arg(long)]
        service: String,
        /// The tenant (may be left out when there is only one).
        #[arg(long, value_name = "ID")]
        tenant: Option<String>,
        /// Why (recorded; no personal information).
        #[arg(long)]
        reason: Option<String>,
        /// Text added to every notice (no personal information).
        #[arg(long)]
        announcement: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Progress of the tenant's cessations: notices, records deleted, what remains.
    Status {
        #[command(flatten)]
        flags: ConfigFlags,
        /// The tenant (may be left out when there is only one).
        #[arg(long, value_name = "ID")]
        tenant: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(serde::Serialize)]
struct NoExtra {}

/// The tenant named, or the only one; `None` (reported) otherwise (shared by the
/// store commands).
pub(crate) async fn pick_tenant(
    state: &AppState,
    tenant: Option<String>,
) -> anyhow::Result<Option<TenantId>> {
    match tenant {
        Some(t) => {
            let t = TenantId::new(t);
            if state.store.tenant(&t).await?.is_none() {
                eprintln!("tenant `{t}` not found");
                return Ok(None);
            }
            Ok(Some(t))
        }
        None => {
            let all = state.store.tenant_ids().await?;
            match all.as_slice() {
                [one] => Ok(Some(one.clone())),
                _ => {
                    eprintln!("there are {} tenants: name one with --tenant ID", all.len());
                    Ok(None)
                }
            }
        }
    }
}

fn print(r: &CessationReport) {
    println!(
        "cessation {} of {}{}: {} (deadline {}{})",
        r.cessation_id,
        r.service,
        if r.whole { " (whole operation)" } else { "" },
        r.status,
        r.deadline.strftime("%Y-%m-%d"),
        if r.overdue { ", OVERDUE" } else { "" }
    );
    println!(
        "  notices ({}): {} people, {} queued, {} sent, {} pending, {} dead",
        r.notices.mode,
        r.notices.subjects,
        r.notices.queued,
        r.notices.sent,
        r.notices.pending,
        r.notices.dead
    );
    println!(
        "  records ({}): {} scheduled, {} deleted, {} anonymized, {} remaining, {} kept by legal holds",
        r.action,
        r.records.scheduled,
        r.records.deleted,
        r.records.anonymized,
        r.records.remaining,
        r.records.held
    );
}

pub fn run(cmd: CessationCommand) -> anyhow::Result<Outcome> {
    let (flags, tenant, json) = match &cmd {
        CessationCommand::Start {
            flags,
            tenant,
            json,
            ..
        }
        | CessationCommand::Status {
            flags,
            tenant,
            json,
        } => (flags, tenant.clone(), *json),
    };
    let config = flags.load(NoExtra {})?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let state = bootstrap::open(&config)
            .await
            .context("cannot open the store")?;
        let Some(tenant) = pick_tenant(&state, tenant).await? else {
            return Ok(Outcome::Invalid);
        };
        let reports = match &cmd {
            CessationCommand::Start {
                service,
                reason,
                announcement,
                ..
            } => {
                let req = StartCessation {
                    service: service.clone(),
                    reason: reason.clone(),
                    announcement: announcement.clone(),
                };
                match cessation::start(&state, &tenant, &req, ACTOR).await {
                    Ok(c) => vec![cessation::progress(&state, &tenant, &c).await?],
                    Err(StartError::Store(e)) => {
                        return Err(anyhow::Error::new(e).context("starting the cessation failed"));
                    }
                    Err(e) => {
                        eprintln!("cannot start the cessation: {e}");
                        return Ok(Outcome::Invalid);
                    }
                }
            }
            CessationCommand::Status { .. } => {
                let mut out = Vec::new();
                for c in state.store.cessations(&tenant).await? {
                    out.push(cessation::progress(&state, &tenant, &c).await?);
                }
                out
            }
        };
        state.store.close().await;
        if json {
            println!("{}", serde_json::to_string_pretty(&reports)?);
        } else if reports.is_empty() {
            println!("tenant {tenant}: no cessation");
        } else {
            for r in &reports {
                print(r);
            }
        }
        Ok(Outcome::Ok)
    })
}
