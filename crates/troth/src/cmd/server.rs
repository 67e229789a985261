//! `troth serve`, `troth migrate` and `troth tenant create`: the commands that run
//! or prepare the HTTP server. They share one way of reading the configuration:
//! defaults < `troth.toml` < `TROTH_*` variables < these flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use serde::Serialize;
use troth_server::Config;
use troth_server::bootstrap;
use troth_store::TenantId;

use crate::Outcome;

/// Where the configuration and the store are.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct ConfigFlags {
    /// A `troth.toml` to read (default: `./troth.toml` when present).
    #[arg(long)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Folder for the SQLite database and key files [default: troth-data].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` to use PostgreSQL instead of SQLite.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl ConfigFlags {
    /// Reads the configuration with these flags applied last.
    pub fn load(&self, extra: impl Serialize) -> anyhow::Result<Config> {
        #[derive(Serialize)]
        struct Overrides<'a, E: Serialize> {
            #[serde(flatten)]
            flags: &'a ConfigFlags,
            #[serde(flatten)]
            extra: E,
        }
        Ok(Config::load(
            self.config.as_deref(),
            Overrides { flags: self, extra },
        )?)
    }
}

/// `troth serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    flags: ConfigFlags,
    /// Address and port to listen on [default: 127.0.0.1:8700].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Set up a demo tenant with the built-in pack published and print an admin key.
    #[arg(long)]
    demo: bool,
    /// Log as JSON lines.
    #[arg(long)]
    log_json: bool,
}

#[derive(Serialize)]
struct ServeOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    demo: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    log_json: bool,
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TROTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests calling twice) is harmless; ignore it.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn serve(args: ServeArgs) -> anyhow::Result<Outcome> {
    let config = args.flags.load(ServeOverrides {
        listen: args.listen,
        demo: args.demo,
        log_json: args.log_json,
    })?;
    init_logs(config.log_json);
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let state = bootstrap::open(&config)
            .await
            .context("cannot open the store")?;
        let demo = if config.demo {
            Some(
                bootstrap::demo(&state, crate::cmd::demo::DEMO_PACK)
                    .await
                    .context("cannot set up the demo tenant")?,
            )
        } else {
            None
        };
        let bound = troth_server::serve::bind(config.listen, config.tls.as_ref()).await?;
        let scheme = if bound.is_tls() { "https" } else { "http" };
        let base = format!("{scheme}://{}", bound.local_addr());
        println!("troth is listening on {base}");
        println!("  store:          {}", state_location(&config));
        println!("  API docs:       {base}/docs");
        println!("  OpenAPI:        {base}/openapi.json");
        println!("  health:         {base}/healthz  {base}/readyz  {base}/metrics");
        if let Some(d) = &demo {
            println!("  demo tenant:    {}", d.tenant);
            println!("  policy:         {} (s002-template, in force)", d.policy_hash);
            println!("  admin API key:  {}", d.admin.token);
            println!("                  (shown once: troth keeps only its hash)");
            println!("try:");
            println!(
                "  curl -H 'Authorization: Bearer {}' '{base}/v1/policies/current/render?lang=zh-CN'",
                d.admin.token
            );
        }
        bootstrap::spawn_coherence(state.clone(), &config).await?;
        bootstrap::spawn_preload(state.clone(), &config);
        bootstrap::spawn_policy_refresh(state.clone());
        bootstrap::spawn_outbox(state.clone(), &config)?;
        troth_server::retention::spawn_worker(state.clone(), config.retention);
        let router = bootstrap::router(state, &config);
        troth_server::serve::serve(bound, router, troth_server::serve::shutdown_signal()).await?;
        println!("troth stopped");
        Ok(Outcome::Ok)
    })
}

fn state_location(config: &Config) -> String {
    match &config.database_url {
        Some(_) => "PostgreSQL (database_url)".to_owned(),
        None => format!("SQLite in {}", config.data_dir.display()),
    }
}

/// `troth migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    flags: ConfigFlags,
}

/// Applies pending migrations (the server also does so on start).
pub fn migrate(args: MigrateArgs) -> anyhow::Result<Outcome> {
    let config = args.flags.load(())?;
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async {
        let opened = troth_server::storage::open(&config)
            .await
            .context("cannot open and migrate the store")?;
        println!("store migrated: {}", opened.location);
        Ok(Outcome::Ok)
    })
}

/// `troth tenant …`.
#[derive(Debug, clap::Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its first admin API key (shown once).
    Create {
        #[command(flatten)]
        flags: ConfigFlags,
        /// The controller's name.
        #[arg(long)]
        name: String,
    },
}

/// Runs a tenant command.
pub fn tenant(cmd: TenantCommand) -> anyhow::Result<Outcome> {
    let TenantCommand::Create { flags, name } = cmd;
    let config = flags.load(())?;
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async {
        let state = bootstrap::open(&config)
            .await
            .context("cannot open the store")?;
        let id = TenantId::new(uuid::Uuid::new_v4().to_string());
        let key = bootstrap::create_tenant(&state, &id, &name)
            .await
            .context("cannot create the tenant")?;
        println!("tenant:         {id}");
        println!("admin API key:  {}", key.token);
        println!("                (shown once: troth keeps only its hash)");
        Ok(Outcome::Ok)
    })
}
