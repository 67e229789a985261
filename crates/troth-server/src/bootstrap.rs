//! Putting a server together: open the store, build the shared state and the full
//! router, and create tenants (with their first admin key) or the demo tenant.

use std::sync::Arc;

use axum::Router;
use futures_util::future::BoxFuture;
use jiff::Timestamp;
use troth_store::{ServiceStore, Store, StoreError, TenantId};

use crate::api::keys::{CreatedKey, issue};
use crate::api::state::{AppState, RuntimeError, parse_record};
use crate::auth::Role;
use crate::config::Config;
use crate::health::Readiness;
use crate::storage::{self, OpenError};

/// The demo tenant's fixed id, so restarts reuse it.
pub const DEMO_TENANT: &str = "00000000-0000-4000-8000-00000000de30";

/// Why the server could not start or a tenant could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Opening the store failed.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A store operation failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// Loading a tenant's runtime failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The demo pack did not validate.
    #[error("the demo pack is invalid: {0}")]
    DemoPack(String),
    /// Something in the API layer failed (key generation, publication).
    #[error("{0}")]
    Api(String),
}

impl From<crate::error::ApiError> for StartError {
    fn from(e: crate::error::ApiError) -> Self {
        StartError::Api(format!("{e:?}"))
    }
}

struct StoreReady(Arc<AppState>);

impl Readiness for StoreReady {
    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if self.0.warming.load(std::sync::atomic::Ordering::Acquire) {
                return Err("loading the tenants' decision caches".to_owned());
            }
            // Any cheap read proves the database answers.
            self.0
                .store
                .tenant(&TenantId::new(DEMO_TENANT))
                .await
                .map(|_| ())
                .map_err(|_| "database not reachable".to_owned())
        })
    }
}

/// Opens the store and builds the state.
pub async fn open(config: &Config) -> Result<Arc<AppState>, StartError> {
    let opened = storage::open(config).await?;
    let mut state = AppState::new(
        opened.store,
        opened.receipts,
        config.rate_limit,
        config.body_limit_bytes,
    );
    state.code_key = opened.code_key;
    state.notify_key = opened.notify_key;
    state.connectors = crate::connectors::Connected::open(&config.connectors, &opened.notify_key)
        .await
        .map_err(|e| StartError::Api(e.to_string()))?;
    state.read_wait = std::time::Duration::from_millis(config.coherence.replica_wait_ms);
    state.mailer = config
        .smtp
        .as_ref()
        .map(crate::mail::Mailer::new)
        .transpose()
        .map_err(|e| StartError::Api(e.to_string()))?;
    let state = Arc::new(state);
    crate::connectors::check_categories(&state)
        .await
        .map_err(StartError::Api)?;
    Ok(state)
}

/// The whole router: `/v1`, `/openapi.json`, `/docs`, health, metrics, with the
/// middleware stack.
pub fn router(state: Arc<AppState>, config: &Config) -> Router {
    let api = crate::api::router(Arc::clone(&state))
        .merge(crate::api::openapi::routes())
        .merge(crate::web::router(Arc::clone(&state), config));
    crate::app::build(api, config, Arc::new(StoreReady(state)))
}

/// Starts the outbox courier (deliveries and deadline alarms) unless the
/// configuration turns it off.
pub fn spawn_outbox(state: Arc<AppState>, config: &Config) -> Result<(), StartError> {
    if !config.outbox.enabled {
        return Ok(());
    }
    let courier = crate::outbox::Courier::new(state, config.outbox)
        .map_err(|e| StartError::Api(format!("webhook client: {e}")))?;
    courier.spawn();
    Ok(())
}

/// Keeps this replica's decision caches coherent with the others' writes
/// (PostgreSQL; nothing to do on SQLite). See [`crate::coherence`].
pub async fn spawn_coherence(state: Arc<AppState>, config: &Config) -> Result<(), StartError> {
    Ok(crate::coherence::spawn(state, config.coherence).await?)
}

/// Loads every tenant's decision cache in the background unless the configuration
/// turns it off; `/readyz` answers 503 until done. Call after
/// [`spawn_coherence`], which drops what was loaded before it listened. A tenant
/// that fails to load is logged and left to load on its first request.
pub fn spawn_preload(state: Arc<AppState>, config: &Config) -> tokio::task::JoinHandle<()> {
    use std::sync::atomic::Ordering;
    let enabled = config.coherence.preload_tenants;
    if enabled {
        state.warming.store(true, Ordering::Release);
    }
    tokio::spawn(async move {
        if !enabled {
            return;
        }
        let started = std::time::Instant::now();
        let mut loaded = 0_usize;
        match state.store.tenants().await {
            Ok(tenants) => {
                for t in &tenants {
                    match state.tenant(&t.id).await {
                        Ok(Some(_)) => loaded += 1,
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(tenant = %t.id, error = %e, "tenant not preloaded; it loads on its first request");
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list tenants to preload"),
        }
        state.warming.store(false, Ordering::Release);
        tracing::info!(
            tenants = loaded,
            millis = started.elapsed().as_millis() as u64,
            "decision caches loaded"
        );
    })
}

/// Re-checks every minute which policy version is in force (a published version
/// may take effect later). Ends with the runtime.
pub fn spawn_policy_refresh(state: Arc<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            state.refresh_all(Timestamp::now()).await;
        }
    });
}

/// Creates a tenant and its first admin key (shown once).
pub async fn create_tenant(
    state: &AppState,
    id: &TenantId,
    name: &str,
) -> Result<CreatedKey, StartError> {
    state.store.create_tenant(id, name).await?;
    Ok(issue(state, id, Role::Admin, "first admin key", None, "system").await?)
}

/// What `troth serve --demo` set up.
#[derive(Debug)]
pub struct Demo {
    /// The demo tenant.
    pub tenant: TenantId,
    /// A fresh admin key for it.
    pub admin: CreatedKey,
    /// Content hash of the version in force.
    pub policy_hash: String,
}

/// Ensures the demo tenant exists with `pack_toml` published, and mints a fresh
/// admin key for this start.
pub async fn demo(state: &AppState, pack_toml: &str) -> Result<Demo, StartError> {
    let tenant = TenantId::new(DEMO_TENANT);
    if state.store.tenant(&tenant).await?.is_none() {
        state
            .store
            .create_tenant(&tenant, "Demo controller")
            .await?;
    }
    let policy = troth_policy::parse_policy("demo:s002-template/policy.toml", pack_toml)
        .map_err(|d| StartError::DemoPack(format!("{} problem(s)", d.len())))?;
    let hash = troth_policy::content_hash(&policy);
    let published = state.store.policy_versions(&tenant).await?;
    if !published.iter().any(|p| p.content_hash == hash) {
        let effective = crate::api::state::midnight_utc(policy.policy.effective)
            .ok_or_else(|| StartError::DemoPack("effective date out of range".into()))?;
        let record = troth_store::PolicyVersionRecord {
            tenant: tenant.clone(),
            pack_id: policy.policy.id.to_string(),
            label: policy.policy.version.clone(),
            content_hash: hash.clone(),
            published: Timestamp::now(),
            effective,
            significant: false,
            source_toml: pack_toml.to_owned(),
        };
        state
            .store
            .publish_policy_version(&record, "system")
            .await?;
        if let Some(rt) = state.tenants.read().await.get(&tenant) {
            rt.add_version(parse_record(record)?, Timestamp::now())
                .await?;
        }
    }
    let admin = issue(
        state,
        &tenant,
        Role::Admin,
        &format!(
            "demo admin key, {}",
            Timestamp::now().strftime("%Y-%m-%d %H:%M")
        ),
        None,
        "system",
    )
    .await?;
    Ok(Demo {
        tenant,
        admin,
        policy_hash: hash,
    })
}
