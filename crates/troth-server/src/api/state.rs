//! What every handler shares: the store, the receipt key, the API-key cache, the
//! rate limiter, and one [`TenantRuntime`] per tenant (its published policy
//! versions and its in-memory decision index).

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::{Arc, PoisonError};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jiff::Timestamp;
use tokio::sync::RwLock;
use troth_core::{
    CompiledPolicy, DecisionIndex, LedgerEvent, PolicyVersion, SubjectId as CoreSubject,
    TenantId as CoreTenant,
};
use troth_crypto::ReceiptSigner;
use troth_policy::Policy;
use troth_store::{
    AnyStore, ApiKeyRecord, PolicyVersionRecord, ServiceStore, Store, StoreError, SubjectId,
    TenantId,
};

use crate::config::RateLimit;

/// Why a tenant's runtime could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored policy no longer parses (the stored source is the audited one).
    #[error("stored policy version {hash} does not parse")]
    StoredPolicy {
        /// Its content hash.
        hash: String,
    },
    /// The policy could not be compiled for decisions.
    #[error("policy cannot be compiled: {0}")]
    Compile(#[from] troth_core::CompileError),
    /// A tenant id is not a UUID.
    #[error("tenant id `{0}` is not a UUID")]
    TenantId(String),
    /// The decision index refused an event.
    #[error("ledger event does not belong to the tenant")]
    Index(#[from] troth_core::IndexError),
}

/// One published policy version, parsed.
#[derive(Debug, Clone)]
pub struct Published {
    /// As stored (shared: it holds the manifest source, cloned with every lookup).
    pub record: Arc<PolicyVersionRecord>,
    /// The manifest.
    pub policy: Arc<Policy>,
    /// Its core version (pack, hash, label, effective date).
    pub version: PolicyVersion,
}

/// A tenant's policies and decision index.
#[derive(Debug)]
pub struct TenantRuntime {
    /// Store id.
    pub id: TenantId,
    /// Core id (the same UUID).
    pub core: CoreTenant,
    /// Every published version, oldest publication first.
    pub versions: RwLock<Vec<Published>>,
    /// The decision index over the version in force; `None` before any publication.
    pub index: RwLock<Option<DecisionIndex>>,
    /// Subjects known to exist in this tenant (the index holds only those with
    /// events). Used so decisions on another tenant's subject answer 404.
    pub known: RwLock<HashSet<CoreSubject>>,
}

impl TenantRuntime {
    /// Loads a tenant: parses its versions, compiles the one in force and replays
    /// its ledger into a fresh index.
    pub async fn load(
        store: &AnyStore,
        id: &TenantId,
        now: Timestamp,
    ) -> Result<Self, RuntimeError> {
        let core: CoreTenant = id
            .as_str()
            .parse()
            .map_err(|_| RuntimeError::TenantId(id.as_str().to_owned()))?;
        let mut versions = Vec::new();
        for record in store.policy_versions(id).await? {
            versions.push(parse_record(record)?);
        }
        let mut events: Vec<LedgerEvent> = Vec::new();
        let mut known = HashSet::new();
        for subject in store.ledger_subjects(id).await? {
            let Ok(s) = subject.as_str().parse::<CoreSubject>() else {
                continue;
            };
            known.insert(s);
            events.extend(store.ledger_events(&core, &s).await?);
        }
        let index = match compile_in_force(&versions, now)? {
            Some(policy) => Some(DecisionIndex::rebuild(core, policy, &events)?),
            None => None,
        };
        Ok(Self {
            id: id.clone(),
            core,
            versions: RwLock::new(versions),
            index: RwLock::new(index),
            known: RwLock::new(known),
        })
    }

    /// Adds a newly published version and recompiles what is in force.
    pub async fn add_version(&self, p: Published, now: Timestamp) -> Result<(), RuntimeError> {
        let mut versions = self.versions.write().await;
        versions.push(p);
        self.recompile(&versions, now).await
    }

    /// Recompiles the version in force (called when a future version's date comes).
    pub async fn refresh(&self, now: Timestamp) -> Result<(), RuntimeError> {
        let versions = self.versions.read().await;
        self.recompile(&versions, now).await
    }

    async fn recompile(&self, versions: &[Published], now: Timestamp) -> Result<(), RuntimeError> {
        let Some(policy) = compile_in_force(versions, now)? else {
            return Ok(());
        };
        let mut index = self.index.write().await;
        match index.as_mut() {
            Some(ix)
                if ix.policy().version() == policy.version()
                    && ix.policy().validity().map(|v| v.versions().len())
                        == policy.validity().map(|v| v.versions().len()) => {}
            Some(ix) => ix.set_policy(policy),
            None => *index = Some(DecisionIndex::new(self.core, policy)),
        }
        Ok(())
    }

    /// The version in force at `now`, if any.
    pub async fn in_force(&self, now: Timestamp) -> Option<Published> {
        let versions = self.versions.read().await;
        in_force(&versions, now).cloned()
    }

    /// Finds a version by content hash, or `current` for the one in force.
    pub async fn version(&self, which: &str, now: Timestamp) -> Option<Published> {
        if which == "current" {
            return self.in_force(now).await;
        }
        let versions = self.versions.read().await;
        versions
            .iter()
            .find(|p| p.record.content_hash == which || p.record.label == which)
            .cloned()
    }

    /// Replaces a subject's state in the index with its ledger as now stored (another
    /// replica appended to it; see [`crate::coherence`]).
    pub async fn replace_subject(
        &self,
        subject: CoreSubject,
        events: &[LedgerEvent],
    ) -> Result<(), RuntimeError> {
        if !events.is_empty() && !self.known.read().await.contains(&subject) {
            self.known.write().await.insert(subject);
        }
        if let Some(ix) = self.index.write().await.as_mut() {
            ix.forget(subject);
            for e in events {
                ix.apply(e)?;
            }
        }
        Ok(())
    }

    /// Applies a committed ledger event to the index.
    pub async fn apply(&self, e: &LedgerEvent) -> Result<(), RuntimeError> {
        if !self.known.read().await.contains(&e.subject) {
            self.known.write().await.insert(e.subject);
        }
        if let Some(ix) = self.index.write().await.as_mut() {
            ix.apply(e)?;
        }
        Ok(())
    }
}

/// Parses a stored version.
pub fn parse_record(record: PolicyVersionRecord) -> Result<Published, RuntimeError> {
    let policy = troth_policy::parse_policy("policy.toml", &record.source_toml).map_err(|_| {
        RuntimeError::StoredPolicy {
            hash: record.content_hash.clone(),
        }
    })?;
    let version = PolicyVersion::of(&policy);
    Ok(Published {
        record: Arc::new(record),
        policy: Arc::new(policy),
        version,
    })
}

/// The versions that have taken effect by `now`, ordered by effective date (then
/// publication), the basis of consent validity.
fn effective_history(versions: &[Published], now: Timestamp) -> Vec<&Published> {
    let mut v: Vec<&Published> = versions
        .iter()
        .filter(|p| p.record.effective <= now)
        .collect();
    v.sort_by_key(|p| (p.record.effective, p.record.published));
    v
}

fn in_force(versions: &[Published], now: Timestamp) -> Option<&Published> {
    effective_history(versions, now).last().copied()
}

fn compile_in_force(
    versions: &[Published],
    now: Timestamp,
) -> Result<Option<CompiledPolicy>, RuntimeError> {
    let history: Vec<(PolicyVersion, Policy)> = effective_history(versions, now)
        .into_iter()
        .map(|p| (p.version.clone(), (*p.policy).clone()))
        .collect();
    Ok(CompiledPolicy::compile_history(&history)?)
}

/// Per-key request limiter.
pub type Limiter = DefaultKeyedRateLimiter<String>;

/// Builds the per-key limiter from the configuration.
pub fn limiter(limit: RateLimit) -> Limiter {
    let per_second = NonZeroU32::new(limit.per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst).unwrap_or(per_second);
    RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
}

/// Shared state of the API.
pub struct AppState {
    /// The store.
    pub store: AnyStore,
    /// Signs consent receipts.
    pub receipts: Arc<ReceiptSigner>,
    /// Tenants loaded so far.
    pub tenants: RwLock<HashMap<TenantId, Arc<TenantRuntime>>>,
    /// Known keys by token hash (revocations remove entries).
    pub keys: RwLock<HashMap<String, ApiKeyRecord>>,
    /// Per-key rate limiter.
    pub limiter: Limiter,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Outgoing mail, when configured.
    pub mailer: Option<crate::mail::Mailer>,
    /// Keys the hashes of one-time verification codes.
    pub code_key: [u8; 32],
    /// Derives the secrets webhook notifications are signed with.
    pub notify_key: [u8; 32],
    /// The company systems each tenant's data map connects (access and erasure).
    pub connectors: crate::connectors::Connected,
    /// Ceased services per tenant, checked before every decision.
    pub cessations: crate::cessation::CessationCache,
    /// How long a rebuild waits for the read replica to catch up with the primary
    /// before reading from the primary (see [`AnyStore::reader`]).
    pub read_wait: std::time::Duration,
    /// Set while the tenants' decision caches are loaded at start-up
    /// ([`crate::bootstrap::spawn_preload`]): the replica is not ready meanwhile.
    pub warming: std::sync::atomic::AtomicBool,
    /// Changes announced while a tenant was being loaded (see [`AppState::tenant`]).
    loading: std::sync::Mutex<HashMap<TenantId, Missed>>,
}

/// What a tenant load in progress may have missed (the store was read from a
/// snapshot taken before these changes were announced).
#[derive(Debug, Default, Clone)]
struct Missed {
    loaders: usize,
    subjects: Vec<SubjectId>,
    reload: bool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// State over an opened store.
    pub fn new(
        store: AnyStore,
        receipts: Arc<ReceiptSigner>,
        limit: RateLimit,
        body_limit: usize,
    ) -> Self {
        Self {
            body_limit,
            mailer: None,
            code_key: [0; 32],
            notify_key: [0; 32],
            connectors: Default::default(),
            cessations: Default::default(),
            read_wait: std::time::Duration::from_secs(1),
            warming: std::sync::atomic::AtomicBool::new(false),
            loading: std::sync::Mutex::new(HashMap::new()),
            store,
            receipts,
            tenants: RwLock::new(HashMap::new()),
            keys: RwLock::new(HashMap::new()),
            limiter: limiter(limit),
        }
    }

    /// A tenant's runtime, loading it on first use. `None` if the tenant does not exist.
    pub async fn tenant(&self, id: &TenantId) -> Result<Option<Arc<TenantRuntime>>, RuntimeError> {
        if let Some(rt) = self.tenants.read().await.get(id) {
            return Ok(Some(Arc::clone(rt)));
        }
        if self.store.tenant(id).await?.is_none() {
            return Ok(None);
        }
        // Changes announced from now on may be missing from what the load reads.
        self.loading(id, |m| m.loaders += 1);
        // A rebuild is the heaviest read: the read replica takes it when there is one.
        let loaded = match self.store.reader(self.read_wait).await {
            Ok(reader) => TenantRuntime::load(&reader, id, Timestamp::now()).await,
            Err(e) => Err(e.into()),
        };
        let rt = match loaded {
            Ok(rt) => {
                let rt = Arc::new(rt);
                let mut tenants = self.tenants.write().await;
                // Another request may have loaded it meanwhile; keep the first.
                Arc::clone(tenants.entry(id.clone()).or_insert(rt))
            }
            Err(e) => {
                self.end_loading(id);
                return Err(e);
            }
        };
        // Ended after the insertion: a later announcement finds the runtime in the
        // map, an earlier one is in `missed`.
        let missed = self.end_loading(id);
        if missed.reload {
            self.forget_tenant(id).await;
        } else if !missed.subjects.is_empty()
            && let Err(e) = self.resync_subjects(id, &missed.subjects).await
        {
            tracing::warn!(tenant = %id, error = %e, "subject re-read failed; dropping the tenant's cache");
            self.forget_tenant(id).await;
        }
        Ok(Some(rt))
    }

    fn loading(&self, id: &TenantId, f: impl FnOnce(&mut Missed)) {
        let mut loading = self.loading.lock().unwrap_or_else(PoisonError::into_inner);
        f(loading.entry(id.clone()).or_default());
    }

    fn end_loading(&self, id: &TenantId) -> Missed {
        let mut loading = self.loading.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(m) = loading.get_mut(id) else {
            return Missed::default();
        };
        m.loaders = m.loaders.saturating_sub(1);
        if m.loaders == 0 {
            loading.remove(id).unwrap_or_default()
        } else {
            m.clone()
        }
    }

    /// Records an announced change for loads in progress of `id` (all tenants when
    /// `None`).
    fn note_missed(&self, id: Option<&TenantId>, f: impl Fn(&mut Missed)) {
        let mut loading = self.loading.lock().unwrap_or_else(PoisonError::into_inner);
        match id {
            Some(id) => {
                if let Some(m) = loading.get_mut(id) {
                    f(m);
                }
            }
            None => loading.values_mut().for_each(f),
        }
    }

    /// Drops one tenant's runtime (a policy was published elsewhere): it reloads
    /// from the store on next use.
    pub async fn forget_tenant(&self, id: &TenantId) {
        self.note_missed(Some(id), |m| m.reload = true);
        self.tenants.write().await.remove(id);
    }

    /// Drops every tenant's runtime (changes may have been missed): each reloads
    /// from the store on next use.
    pub async fn forget_all_tenants(&self) {
        self.note_missed(None, |m| m.reload = true);
        self.tenants.write().await.clear();
    }

    /// Re-reads these subjects' ledgers and replaces their states in a loaded
    /// tenant's index (nothing to do for a tenant not loaded here).
    pub async fn resync_subjects(
        &self,
        tenant: &TenantId,
        subjects: &[SubjectId],
    ) -> Result<(), RuntimeError> {
        self.note_missed(Some(tenant), |m| m.subjects.extend_from_slice(subjects));
        let Some(rt) = self.tenants.read().await.get(tenant).cloned() else {
            return Ok(());
        };
        let reader = self.store.reader(self.read_wait).await?;
        for s in subjects {
            let Ok(core) = s.as_str().parse::<CoreSubject>() else {
                continue;
            };
            let events = reader.ledger_events(&rt.core, &core).await?;
            rt.replace_subject(core, &events).await?;
        }
        Ok(())
    }

    /// Recompiles every loaded tenant's policy in force (a future version's
    /// effective date may have come). Run periodically.
    pub async fn refresh_all(&self, now: Timestamp) {
        let tenants: Vec<Arc<TenantRuntime>> =
            self.tenants.read().await.values().cloned().collect();
        for t in tenants {
            if let Err(e) = t.refresh(now).await {
                tracing::warn!(tenant = %t.id, error = %e, "policy refresh failed");
            }
        }
    }

    /// Whether a subject exists in the tenant (index first, then the store).
    pub async fn subject_exists(
        &self,
        rt: &TenantRuntime,
        subject: CoreSubject,
    ) -> Result<bool, StoreError> {
        if rt.known.read().await.contains(&subject) {
            return Ok(true);
        }
        let found = self
            .store
            .subject(&rt.id, &SubjectId::new(subject.to_string()))
            .await?
            .is_some();
        if found {
            rt.known.write().await.insert(subject);
        }
        Ok(found)
    }
}

/// The store id of a core subject.
pub fn store_subject(s: CoreSubject) -> SubjectId {
    SubjectId::new(s.to_string())
}

/// The start of `date` in UTC: how a manifest's publication and effective dates
/// become instants.
pub fn midnight_utc(date: jiff::civil::Date) -> Option<Timestamp> {
    jiff::tz::Offset::UTC
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .ok()
}
