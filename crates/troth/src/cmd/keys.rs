//! `troth keys rotate|rewrap|status`: key rotation by re-wrapping, never
//! re-encrypting data, while servers keep running.
//!
//! * `troth keys rotate` adds a master key version to `<data_dir>/master.key` and
//!   re-wraps every tenant and blind-index key under it; `--retire-old` then drops
//!   the old versions from the file once nothing in the key database uses them.
//! * `troth keys rotate --tenant ID` gives the tenant a new tenant-key version,
//!   re-wraps its subject keys and retires the old version.
//! * `troth keys rewrap` re-wraps under the newest master version already in the
//!   keyring (the step after changing `TROTH_MASTER_KEY` in a secret store).
//! * `troth keys retire` is `--retire-old` on its own, for after the restarts.
//! * `troth keys status` shows which master versions wrap how many keys.
//!
//! Nothing here prints key bytes: only versions and counts.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use troth_crypto::{KeyVersion, keyfile};
use troth_server::Config;
use troth_server::storage::{MASTER_KEY_ENV, MASTER_KEY_FILE};
use troth_store::{AnyStore, Store as _, TenantId};

use crate::Outcome;
use crate::cmd::server::ConfigFlags;

/// `troth keys ...`.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Rotate the master key (default) or one tenant's key by re-wrapping.
    Rotate {
        #[command(flatten)]
        flags: ConfigFlags,
        /// Rotate this tenant's key instead of the master key.
        #[arg(long, value_name = "ID")]
        tenant: Option<String>,
        /// After a master rotation, remove old master versions from the key file
        /// once nothing is wrapped under them (restart every server first).
        #[arg(long, conflicts_with = "tenant")]
        retire_old: bool,
    },
    /// Re-wrap every tenant key under the newest master version already in the
    /// keyring (for a keyring given in `TROTH_MASTER_KEY`).
    Rewrap {
        #[command(flatten)]
        flags: ConfigFlags,
    },
    /// Remove old master versions from the key file, refused while anything is
    /// still wrapped under one of them.
    Retire {
        #[command(flatten)]
        flags: ConfigFlags,
    },
    /// Show the master key versions and how many keys each one wraps.
    Status {
        #[command(flatten)]
        flags: ConfigFlags,
    },
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<Outcome> {
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    match cmd {
        KeysCommand::Rotate {
            flags,
            tenant: Some(tenant),
            ..
        } => {
            let config = flags.load(NoExtra {})?;
            rt.block_on(rotate_tenant(&config, &TenantId::new(tenant)))
        }
        KeysCommand::Rotate {
            flags, retire_old, ..
        } => {
            let config = flags.load(NoExtra {})?;
            rt.block_on(rotate_master(&config, retire_old))
        }
        KeysCommand::Rewrap { flags } => {
            let config = flags.load(NoExtra {})?;
            rt.block_on(async {
                let store = open(&config).await?;
                print_rewrap(&store.rewrap_master_keys().await?);
                store.close().await;
                Ok(Outcome::Ok)
            })
        }
        KeysCommand::Retire { flags } => {
            let config = flags.load(NoExtra {})?;
            if std::env::var_os(MASTER_KEY_ENV).is_some() {
                return Err(env_key_refusal());
            }
            let path = master_key_path(&config)?;
            rt.block_on(async {
                let store = open(&config).await?;
                let done = retire(&store, &path).await;
                store.close().await;
                done.map(|()| Outcome::Ok)
            })
        }
        KeysCommand::Status { flags } => {
            let config = flags.load(NoExtra {})?;
            rt.block_on(status(&config))
        }
    }
}

#[derive(serde::Serialize)]
struct NoExtra {}

/// Opens the existing store the configuration names (never creates one: rotating
/// the keys of a store that is not there is a mistake in the flags).
pub async fn open(config: &Config) -> anyhow::Result<AnyStore> {
    if config.database_url.is_none() {
        let db = config.data_dir.join(troth_store::sqlite::DATA_FILE);
        if !db.exists() {
            bail!(
                "no troth store in `{}`\nhelp: pass --data-dir (or --config / --database-url) naming the server's store",
                config.data_dir.display()
            );
        }
    }
    let opened = troth_server::storage::open(config)
        .await
        .context("cannot open the store")?;
    Ok(opened.store)
}

fn env_key_refusal() -> anyhow::Error {
    anyhow::anyhow!(
        "the master key comes from {MASTER_KEY_ENV}, which troth cannot rewrite\n\
         help: rotate it in the secret store or KMS that provides it: add a new version \
         beside the old one (`{MASTER_KEY_ENV}=\"v1 <old key>,v2 <new key>\"`), restart the \
         servers, run `troth keys rewrap`, and once `troth keys status` shows nothing under \
         v1, remove v1 from the value and restart again"
    )
}

fn master_key_path(config: &Config) -> anyhow::Result<std::path::PathBuf> {
    let path = config.data_dir.join(MASTER_KEY_FILE);
    if !path.exists() {
        bail!(
            "no master key file at `{}`\nhelp: start the server once, or point --data-dir at its data directory",
            path.display()
        );
    }
    Ok(path)
}

fn list(versions: &[KeyVersion]) -> String {
    versions
        .iter()
        .map(|v| format!("v{}", v.0))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_rewrap(r: &troth_store::any::MasterRewrap) {
    println!(
        "re-wrapped {} tenant keys and {} blind-index keys under master v{} ({} already current{})",
        r.tenant_keys,
        r.blind_keys,
        r.version.0,
        r.already_current,
        if r.skipped > 0 {
            format!(
                ", {} changed meanwhile: run `troth keys rewrap` again",
                r.skipped
            )
        } else {
            String::new()
        }
    );
}

async fn rotate_master(config: &Config, retire_old: bool) -> anyhow::Result<Outcome> {
    if std::env::var_os(MASTER_KEY_ENV).is_some() {
        return Err(env_key_refusal());
    }
    let path = master_key_path(config)?;
    // The store must open with the current keyring before the file changes.
    open(config).await?.close().await;
    // The new version goes to the file first: if anything below fails, a rerun
    // finds the keyring complete and re-wraps the rest.
    let (new, ring) =
        keyfile::add_version(&path, KeyVersion(1)).context("cannot add a master key version")?;
    println!(
        "master key: added v{} to {} (keyring: {})",
        new.0,
        path.display(),
        list(&ring.versions())
    );
    let store = open(config).await?;
    let report = store.rewrap_master_keys().await?;
    print_rewrap(&report);
    if report.skipped > 0 {
        store.close().await;
        bail!("some keys changed while re-wrapping\nhelp: run `troth keys rewrap`");
    }
    if retire_old {
        retire(&store, &path).await?;
    } else {
        println!(
            "old versions stay in the keyring; after restarting every server, run `troth keys rotate --retire-old` (or keep them)"
        );
    }
    store.close().await;
    Ok(Outcome::Ok)
}

/// Removes old master versions from the file, refusing while anything in the key
/// database is still wrapped under one of them.
async fn retire(store: &AnyStore, path: &Path) -> anyhow::Result<()> {
    let usage = store.master_key_usage().await?;
    let versions = keyfile::versions(path, KeyVersion(1))?;
    let Some((current, olds)) = versions.split_last() else {
        bail!("the key file holds no key");
    };
    let in_use: Vec<String> = olds
        .iter()
        .filter_map(|v| usage.get(v).map(|n| format!("v{} wraps {n} keys", v.0)))
        .collect();
    if !in_use.is_empty() {
        bail!(
            "refusing to retire old master versions: {}\nhelp: run `troth keys rewrap`, then retire again",
            in_use.join(", ")
        );
    }
    if olds.is_empty() {
        println!("nothing to retire: the keyring holds only v{}", current.0);
        return Ok(());
    }
    keyfile::remove_versions(path, KeyVersion(1), olds)?;
    println!("retired master {}; keyring: v{}", list(olds), current.0);
    Ok(())
}

async fn rotate_tenant(config: &Config, tenant: &TenantId) -> anyhow::Result<Outcome> {
    let store = open(config).await?;
    if store.tenant(tenant).await?.is_none() {
        store.close().await;
        bail!("tenant `{tenant}` not found");
    }
    let r = store.rotate_tenant_key(tenant).await?;
    println!(
        "tenant {}: tenant key v{} -> v{}, {} subject keys re-wrapped (data untouched)",
        r.tenant, r.from_version.0, r.to_version.0, r.rewrapped
    );
    if !r.retired.is_empty() {
        println!("retired tenant key {}", list(&r.retired));
    }
    for (v, n) in &r.kept {
        println!(
            "kept tenant key v{}: {n} subject keys were added under it meanwhile; the next rotation retires it",
            v.0
        );
    }
    store.close().await;
    Ok(Outcome::Ok)
}

async fn status(config: &Config) -> anyhow::Result<Outcome> {
    let store = open(config).await?;
    let usage: BTreeMap<KeyVersion, u64> = store.master_key_usage().await?;
    if std::env::var_os(MASTER_KEY_ENV).is_some() {
        println!("master keyring: from {MASTER_KEY_ENV}");
    } else {
        let path = master_key_path(config)?;
        let versions = keyfile::versions(&path, KeyVersion(1))?;
        println!("master keyring: {} ({})", path.display(), list(&versions));
    }
    for (v, n) in &usage {
        println!("  master v{}: wraps {n} tenant/blind-index keys", v.0);
    }
    for t in store.tenant_ids().await? {
        let subjects = store.subject_key_versions(&t).await?;
        let parts: Vec<String> = subjects
            .iter()
            .map(|(v, n)| format!("v{}: {n}", v.0))
            .collect();
        println!(
            "  tenant {t}: subject keys by tenant-key version {{{}}}",
            parts.join(", ")
        );
    }
    store.close().await;
    Ok(Outcome::Ok)
}
