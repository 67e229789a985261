//! Keeps the in-memory decision indexes of many `troth serve` replicas on one
//! PostgreSQL database coherent.
//!
//! Every committed consent event and policy publication is announced by the
//! database itself (migration 0012's triggers, `NOTIFY troth_changes`, sent at
//! commit). This worker LISTENs and, per announcement:
//! * a consent change: re-reads that subject's ledger (from the read replica once it
//!   has replayed the write, else the primary) and replaces the subject's state in
//!   the index;
//! * a policy publication: drops the tenant's runtime, which reloads on next use;
//! * a lost connection: drops every tenant's runtime, reconnects (retrying), and
//!   drops them all again once listening, since announcements made meanwhile are
//!   lost.
//!
//! Staleness bound: a change committed through any replica is reflected by every
//! other replica's decisions once the notification arrives and the subject is
//! re-read (milliseconds on one network). If the listening connection dies without
//! a reset, the heartbeat (`[coherence] heartbeat_ms`, default 1 s) finds out within
//! two heartbeats, and the caches are dropped then; decisions made meanwhile may be
//! stale by at most `2 × heartbeat_ms` plus the re-read. SQLite needs none of this:
//! one process owns the database and updates its own index after each commit.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use troth_store::notify::{Change, ChangeListener};
use troth_store::{SubjectId, TenantId};

use crate::api::state::AppState;

/// `[coherence]`: how replicas keep their decision caches in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoherenceConfig {
    /// Silence after which the listening connection is checked with a query, and the
    /// time that query has to answer, in milliseconds. Bounds staleness when the
    /// connection dies silently (at most twice this).
    pub heartbeat_ms: u64,
    /// How long a read waits for the read replica to replay the primary's latest
    /// commit before reading from the primary instead, in milliseconds.
    pub replica_wait_ms: u64,
    /// Load every tenant's decision cache when `troth serve` starts, and answer
    /// `/readyz` with 503 until done, so a load balancer sends no traffic to a
    /// replica whose first requests would wait for a tenant load (seconds for a
    /// large ledger). Turn off when replicas serve a subset of the tenants.
    pub preload_tenants: bool,
}

impl Default for CoherenceConfig {
    fn default() -> Self {
        Self {
            heartbeat_ms: 1000,
            replica_wait_ms: 1000,
            preload_tenants: true,
        }
    }
}

/// Announcements handled in one go (one re-read per distinct subject).
const BATCH: usize = 256;

/// Starts listening when the store is PostgreSQL (on SQLite there is nothing to
/// do). Fails only if the first connection cannot be made.
pub async fn spawn(
    state: Arc<AppState>,
    config: CoherenceConfig,
) -> Result<(), troth_store::StoreError> {
    let heartbeat = Duration::from_millis(config.heartbeat_ms);
    let Some(listener) = state.store.listen_changes(heartbeat).await? else {
        return Ok(());
    };
    // Anything loaded before the LISTEN began may have missed a change.
    state.forget_all_tenants().await;
    tokio::spawn(run(state, listener));
    Ok(())
}

/// Announcements waiting to be applied; a full queue holds the listener back.
const QUEUE: usize = 4096;

async fn run(state: Arc<AppState>, listener: ChangeListener) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(QUEUE);
    // `next` is not cancel-safe, so it runs alone in its own task and the applier
    // batches from the queue.
    tokio::spawn(listen(listener, tx));
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        apply(&state, std::mem::take(&mut batch)).await;
    }
}

async fn listen(mut listener: ChangeListener, tx: tokio::sync::mpsc::Sender<Change>) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let change = match listener.next().await {
            Ok(c) => c,
            Err(e) => {
                // Reconnecting failed: the database is away. Keep trying.
                tracing::warn!(error = %e, "change listener cannot reconnect");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        match change {
            Change::Lost => {
                tracing::warn!("change listener lost its connection; dropping decision caches");
            }
            Change::Resumed => {
                tracing::info!("change listener connected again; dropping decision caches");
                backoff = Duration::from_millis(50);
            }
            _ => {}
        }
        if tx.send(change).await.is_err() {
            return;
        }
    }
}

async fn apply(state: &AppState, batch: Vec<Change>) {
    let mut subjects: HashMap<TenantId, BTreeSet<String>> = HashMap::new();
    for change in batch {
        match change {
            Change::Consent { tenant, subject } => {
                subjects
                    .entry(tenant)
                    .or_default()
                    .insert(subject.as_str().to_owned());
            }
            Change::Policy { tenant, .. } => state.forget_tenant(&tenant).await,
            Change::Lost | Change::Resumed => {
                metrics::counter!("troth_cache_resyncs_total").increment(1);
                state.forget_all_tenants().await;
                // Subjects queued before the loss are covered by the drop.
                subjects.clear();
            }
        }
    }
    if !subjects.is_empty() {
        metrics::counter!("troth_cache_invalidations_total").increment(1);
    }
    for (tenant, subjects) in subjects {
        let subjects: Vec<SubjectId> = subjects.into_iter().map(SubjectId::new).collect();
        if let Err(e) = state.resync_subjects(&tenant, &subjects).await {
            // Cannot re-read: better to reload the whole tenant than to serve stale.
            tracing::warn!(tenant = %tenant, error = %e, "subject re-read failed; dropping the tenant's cache");
            state.forget_tenant(&tenant).await;
        }
    }
}
