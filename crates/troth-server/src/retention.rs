//! Retention on the server: planning each vault write's end from the pack, resolving
//! event-based ends from the ledger, sweeping due records (the background worker and
//! `POST /v1/retention/sweeps` share [`sweep_tenant`]), and the legal holds the
//! rights-request code must respect ([`active_holds`]).
//!
//! Event-based retention ("until account-cancelled", "until consent-withdrawn") is
//! resolved at sweep time from the tenant's decision index: a record waiting for its
//! event gets the expiry the pack gives after it (account cancellation: the time the
//! sweep first sees the cancelled account; withdrawal: the withdrawal's own time).
//!
//! Children's data collected without the guardian consent the pack requires (seed
//! 002 R22, seed 004 R22) is found at sweep time too ([`child_due_records`], the rule
//! is `troth_core::children`): once the sweep holds the tenant's lease, those records
//! are made due now with the `delete` action, audited as `retention.child_data_due`
//! with PI-free reason codes, and the same run deletes them. The rule reads the ledger
//! as it stands when the run marks them, so a guardian's consent recorded before the
//! sweep keeps the data; a dry run marks nothing and does not list them.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_core::children::child_record_due;
use troth_core::retention::{RetentionRules, action_code};
use troth_core::{AccountStatus, ConsentStatus, SubjectId as CoreSubject};
use troth_policy::retention::RetentionEvent;
use troth_store::{
    Hold, RecordRetention, RetentionStore, StoreError, SubjectId, SweepPreview, SweepRun,
    SweepSummary, TenantId, VaultKey, WaitingRecord,
};

use crate::api::state::{AppState, TenantRuntime, store_subject};

/// How the background sweeper runs (`[retention]` in `troth.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Run the sweeper in this process (`troth serve`).
    pub enabled: bool,
    /// Seconds between sweeps.
    pub interval_secs: u64,
    /// Records removed per transaction.
    pub batch: u32,
    /// How long a sweep lease lasts without renewal, in seconds; a replica that died
    /// mid-sweep leaves the tenant to the others after this.
    pub lease_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_secs: 3600,
            batch: 5000,
            lease_secs: 60,
        }
    }
}

/// Why a sweep did not run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Another replica holds the tenant's lease.
    #[error("another sweep of this tenant is running")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The actor recorded in the audit log for sweeps.
pub const SWEEP_ACTOR: &str = "system:retention";

/// The retention plan of a vault write for `purpose` now, from the policy in force;
/// `requested` (the caller's `expires_at`) may shorten it. `None` without a policy
/// or for a purpose the pack does not list (the decision engine refuses those).
pub async fn plan_record(
    rt: &TenantRuntime,
    purpose: &str,
    requested: Option<Timestamp>,
) -> Option<RecordRetention> {
    let now = Timestamp::now();
    let published = rt.in_force(now).await?;
    let plan = RetentionRules::from_policy(&published.policy)
        .plan(purpose, now, requested)
        .ok()?;
    Some(RecordRetention {
        purpose: purpose.to_owned(),
        expires: plan.expires,
        on_expiry: action_code(plan.action).to_owned(),
        waits_for: plan.waits_for.map(|e| e.keyword().to_owned()),
    })
}

/// Records a written vault record's plan.
pub async fn record_plan(
    state: &AppState,
    key: &VaultKey,
    plan: &RecordRetention,
) -> Result<(), StoreError> {
    state.store.set_record_retention(key, plan).await
}

/// Active holds covering any of a subject's data: holds placed on the subject, and
/// category-wide holds on a category the subject has records in. The rights-request
/// code calls this before a deletion: if it is not empty, the request completes
/// partially, citing these holds.
pub async fn active_holds(
    state: &AppState,
    tenant: &TenantId,
    subject: &SubjectId,
) -> Result<Vec<Hold>, StoreError> {
    state.store.holds_covering(tenant, subject).await
}

/// Gives records waiting for an event that has happened their expiry. Returns how
/// many were resolved.
pub async fn resolve_events(
    state: &AppState,
    rt: &TenantRuntime,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let Some(published) = rt.in_force(now).await else {
        return Ok(0);
    };
    let rules = RetentionRules::from_policy(&published.policy);
    let mut resolved = 0;
    for event in [
        RetentionEvent::AccountCancelled,
        RetentionEvent::ConsentWithdrawn,
    ] {
        let waiting = state
            .store
            .waiting_records(&rt.id, event.keyword(), 100_000)
            .await?;
        if waiting.is_empty() {
            continue;
        }
        let mut expiries = Vec::new();
        {
            let ix = rt.index.read().await;
            let Some(ix) = ix.as_ref() else {
                return Ok(0);
            };
            for w in waiting {
                let Ok(subject) = w.subject.as_str().parse::<CoreSubject>() else {
                    continue;
                };
                let Some(st) = ix.state(subject) else {
                    continue;
                };
                let happened = match event {
                    RetentionEvent::AccountCancelled => {
                        (st.account() == AccountStatus::Cancelled).then_some(now)
                    }
                    _ => st
                        .purpose(&w.purpose)
                        .and_then(|p| p.general.as_ref())
                        .filter(|r| r.status == ConsentStatus::Withdrawn)
                        .map(|r| r.key.0),
                };
                if let Some(at) = happened
                    && let Some(exp) = rules.expiry_after_event(&w.purpose, w.created, event, at)
                {
                    expiries.push((w, exp));
                }
            }
        }
        if !expiries.is_empty() {
            resolved += state.store.resolve_waiting(&rt.id, &expiries).await?;
        }
    }
    Ok(resolved)
}

/// Stored records of children that the pack says must go now: each with its reason
/// code. The decision index names the candidates (children, and accounts blocked as
/// children, under a pack that promises the deletion); only their records are read.
pub async fn child_due_records(
    state: &AppState,
    rt: &TenantRuntime,
    now: Timestamp,
) -> Result<Vec<(WaitingRecord, String)>, StoreError> {
    let candidates: Vec<SubjectId> = {
        let ix = rt.index.read().await;
        match ix.as_ref() {
            Some(ix) => ix
                .child_sweep_candidates(now)
                .into_iter()
                .map(store_subject)
                .collect(),
            None => return Ok(Vec::new()),
        }
    };
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let records = state.store.live_records(&rt.id, &candidates, now).await?;
    let ix = rt.index.read().await;
    let Some(ix) = ix.as_ref() else {
        return Ok(Vec::new());
    };
    let mut due = Vec::new();
    for r in records {
        let Ok(subject) = r.subject.as_str().parse::<CoreSubject>() else {
            continue;
        };
        let Some(st) = ix.state(subject) else {
            continue;
        };
        let purpose = (!r.purpose.is_empty()).then_some(r.purpose.as_str());
        if let Some(reason) = child_record_due(ix.policy(), st, purpose, now) {
            due.push((r, reason.code().to_owned()));
        }
    }
    Ok(due)
}

/// Under the run's lease, makes the children's records the pack says must go due now
/// (audited); the run's batches then delete them.
async fn expire_children(
    state: &AppState,
    rt: &TenantRuntime,
    run: &SweepRun,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<u64, StoreError> {
    let due = child_due_records(state, rt, now).await?;
    state
        .store
        .expire_child_records(run, now, &due, lease_until, SWEEP_ACTOR)
        .await
}

/// A dry run: resolves awaited events (that only sets expiries the pack already
/// implies and removes nothing) and lists what a sweep now would remove (up to
/// `limit`) and what holds keep.
pub async fn dry_run(
    state: &AppState,
    tenant: &TenantId,
    limit: u32,
) -> Result<SweepPreview, StoreError> {
    let now = Timestamp::now();
    if let Ok(Some(rt)) = state.tenant(tenant).await {
        resolve_events(state, &rt, now).await?;
    }
    state.store.sweep_preview(tenant, now, limit).await
}

/// One whole sweep of a tenant: resolves awaited events, takes the lease, removes
/// due records in batches of `batch` and closes the run. Old PIA/RoPA documents past
/// their keeping period go too. `owner` names this replica in the lease.
pub async fn sweep_tenant(
    state: &AppState,
    tenant: &TenantId,
    owner: &str,
    batch: u32,
    lease: Duration,
) -> Result<SweepSummary, SweepError> {
    let now = Timestamp::now();
    let rt = state.tenant(tenant).await.ok().flatten();
    if let Some(rt) = &rt {
        resolve_events(state, rt, now).await?;
    }
    let lease_until = |t: Timestamp| {
        t.checked_add(jiff::SignedDuration::try_from(lease).unwrap_or_default())
            .unwrap_or(t)
    };
    let run = state
        .store
        .begin_sweep(tenant, owner, now, lease_until(now))
        .await?
        .ok_or(SweepError::Busy)?;
    if let Some(rt) = &rt {
        expire_children(state, rt, &run, now, lease_until(Timestamp::now())).await?;
    }
    loop {
        let done = state
            .store
            .sweep_batch(
                &run,
                now,
                batch.max(1),
                lease_until(Timestamp::now()),
                SWEEP_ACTOR,
            )
            .await?;
        if done.removed() == 0 {
            break;
        }
    }
    let summary = state.store.finish_sweep(&run, now, SWEEP_ACTOR).await?;
    state
        .store
        .purge_report_documents(tenant, now, SWEEP_ACTOR)
        .await?;
    tracing::info!(
        tenant = %tenant,
        deleted = summary.deleted,
        anonymized = summary.anonymized,
        batches = summary.batches,
        "retention sweep finished"
    );
    Ok(summary)
}

/// Starts the background sweeper: every `interval_secs` it resolves awaited events
/// of each loaded tenant (and drops its PIA/RoPA documents past `keep_until`), then
/// sweeps each tenant with due records, or with children's records the pack says
/// must go. Ends with the runtime.
pub fn spawn_worker(state: Arc<AppState>, config: RetentionConfig) {
    if !config.enabled {
        return;
    }
    // The process id lets an operator (and the replica test) tell which replica
    // holds a lease.
    let owner = format!("replica-{}-{}", std::process::id(), uuid::Uuid::new_v4());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(config.interval_secs.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let loaded: Vec<Arc<TenantRuntime>> =
                state.tenants.read().await.values().cloned().collect();
            let mut children = Vec::new();
            for rt in loaded {
                let now = Timestamp::now();
                if let Err(e) = resolve_events(&state, &rt, now).await {
                    tracing::warn!(tenant = %rt.id, error = %e, "retention: resolving events failed");
                }
                if let Err(e) = state
                    .store
                    .purge_report_documents(&rt.id, now, SWEEP_ACTOR)
                    .await
                {
                    tracing::warn!(tenant = %rt.id, error = %e, "retention: purging reports failed");
                }
                match child_due_records(&state, &rt, now).await {
                    Ok(due) if !due.is_empty() => children.push(rt.id.clone()),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(tenant = %rt.id, error = %e, "retention: finding children's records failed");
                    }
                }
            }
            let tenants = match state.store.tenants_with_due(Timestamp::now()).await {
                Ok(mut t) => {
                    for c in children {
                        if !t.contains(&c) {
                            t.push(c);
                        }
                    }
                    t
                }
                Err(e) => {
                    tracing::warn!(error = %e, "retention: listing tenants failed");
                    continue;
                }
            };
            for t in tenants {
                match sweep_tenant(
                    &state,
                    &t,
                    &owner,
                    config.batch,
                    Duration::from_secs(config.lease_secs.max(1)),
                )
                .await
                {
                    Ok(_) | Err(SweepError::Busy) => {}
                    Err(e) => tracing::warn!(tenant = %t, error = %e, "retention sweep failed"),
                }
            }
        }
    });
}
