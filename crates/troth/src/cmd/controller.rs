//! `troth controller transfer`: record a transfer of the controller (a merger,
//! acquisition or transfer of assets) against the configured store, as `POST
//! /v1/controller-transfers` does it: audited, and every person is told through the
//! outbox (delivered by a running server's courier).
//!
//! Exit 0 on success, 1 when the tenant or version does not allow it, 2 when the
//! store cannot be read.

use anyhow::Context as _;
use troth_server::bootstrap;
use troth_server::transfer::{self, NewTransfer, TransferError};

use crate::Outcome;
use crate::cmd::cessation::pick_tenant;
use crate::cmd::server::ConfigFlags;

/// The actor the audit log records for transfers recorded here.
const ACTOR: &str = "cli:controller";

/// `troth controller ...`.
#[derive(Debug, clap::Subcommand)]
pub enum ControllerCommand {
    /// Record that the personal information passes to a new controller: publish the
    /// version naming it first; every person is told, and the answer says whether
    /// consents carry over or need renewal.
    Transfer {
        #[command(flatten)]
        flags: ConfigFlags,
        /// The published version naming the new controller (label or content hash).
        #[arg(long)]
        version: String,
        /// The new controller's legal name, as that version gives it.
        #[arg(long)]
        new_controller: String,
        /// When it takes over (YYYY-MM-DD): the version's effective date.
        #[arg(long)]
        effective: String,
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

pub fn run(cmd: ControllerCommand) -> anyhow::Result<Outcome> {
    let ControllerCommand::Transfer {
        flags,
        version,
        new_controller,
        effective,
        tenant,
        json,
    } = cmd;
    let config = flags.load(NoExtra {})?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let state = bootstrap::open(&config)
            .await
            .context("cannot open the store")?;
        let Some(tenant) = pick_tenant(&state, tenant).await? else {
            return Ok(Outcome::Invalid);
        };
        let req = NewTransfer {
            version,
            new_controller,
            effective,
        };
        let t = match transfer::record(&state, &tenant, &req, ACTOR).await {
            Ok(t) => t,
            Err(TransferError::Store(e)) => {
                return Err(anyhow::Error::new(e).context("recording the transfer failed"));
            }
            Err(e) => {
                eprintln!("cannot record the transfer: {e}");
                return Ok(Outcome::Invalid);
            }
        };
        state.store.close().await;
        if json {
            println!("{}", serde_json::to_string_pretty(&t)?);
        } else {
            println!(
                "{} -> {} on {} (version {})",
                t.previous_controller,
                t.new_controller,
                t.effective.strftime("%Y-%m-%d"),
                t.version
            );
            println!(
                "  consents: {}",
                if t.renewal_required {
                    "need renewal from that date"
                } else {
                    "carry over (the new holder is bound)"
                }
            );
            println!(
                "  notices: {} people ({} by email, {} by push, {} reachable by no individual channel), {} queued{}",
                t.notices.subjects,
                t.notices.by_email,
                t.notices.by_push,
                t.notices.unreachable,
                t.notices.queued,
                if t.notices.announcement {
                    ", and a home-page announcement"
                } else {
                    ""
                }
            );
        }
        Ok(Outcome::Ok)
    })
}
