//! Cessation of operations (seed 003 R13): a service, or the whole operation, stops.
//!
//! [`start`] checks the request against the pack's `[cessation]`, works out who is
//! affected and how they are told, and has the store record it in one transaction
//! with the notices and the records' new schedule (see `troth_store::cessation`).
//! Deletion is the retention sweep's job from there on (the background worker, or
//! `troth retention sweep`); [`report`] shows how far it has come.
//!
//! # Decisions
//! Every decision handler asks [`CessationCache::stopped`] before the decision index:
//! a ceased service answers `service_ceased` whatever the index (or any cache in
//! front of it) would say, and a ceased main service stops everything. The cache is
//! a small per-tenant set loaded from the `cessations` table, separate from the
//! decision index on purpose: it is replaced on every cessation this process
//! records, and re-read from the store when older than [`REFRESH`]. A cessation
//! recorded by another replica or by the CLI is therefore enforced here at most
//! [`REFRESH`] after its commit — the staleness bound.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use troth_core::{Decision, Reason};
use troth_crypto::IdentifierKind;
use troth_policy::{ExpiryAction, Lang, NoticeChannel, Policy};
use troth_store::{
    AnyStore, CessationProgress, CessationRecord, CessationStore, IncidentStore, NewCessation,
    NewOutboxMessage, OutboxChannel, OutboxStore, StoreError, SubjectId, TenantId,
};

use crate::api::incidents::{NoticeMode, notice_mode};
use crate::api::state::AppState;
use crate::outbox::{self, CESSATION_ANNOUNCEMENT, CESSATION_NOTICE};

/// How long a replica trusts its cached list of ceased services before reading the
/// store again: the longest a cessation recorded elsewhere can go unenforced here.
pub const REFRESH: Duration = Duration::from_secs(2);

/// What has stopped in one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stopped {
    /// The main service ceased: everything stops.
    pub whole: bool,
    /// Sub-services that ceased.
    pub services: HashSet<String>,
}

impl Stopped {
    /// Whether a question about `service` (`None`: the main service) must be denied.
    pub fn covers(&self, service: Option<&str>) -> bool {
        self.whole || service.is_some_and(|s| self.services.contains(s))
    }

    fn from_records(records: &[CessationRecord]) -> Self {
        Self {
            whole: records.iter().any(|c| c.whole),
            services: records
                .iter()
                .filter(|c| !c.whole)
                .map(|c| c.service.clone())
                .collect(),
        }
    }
}

/// Per-tenant [`Stopped`] sets with the instant each was read (see the module
/// documentation for the staleness bound).
///
/// Decisions must not wait on the database: once a set is half [`REFRESH`] old,
/// the next decision starts one background read (one per tenant at a time) and
/// answers from the cached set; only a set older than [`REFRESH`] (or none) makes
/// callers wait, and then all of them wait for the same read. Before, every
/// in-flight decision re-read the table at the moment a set expired and queued
/// for pool connections behind other work, stalling a replica for up to a second.
#[derive(Debug, Default)]
pub struct CessationCache {
    tenants: Arc<std::sync::RwLock<HashMap<TenantId, Cached>>>,
    refreshing: std::sync::Mutex<HashMap<TenantId, Arc<tokio::sync::Mutex<()>>>>,
}

type Sets = std::sync::RwLock<HashMap<TenantId, Cached>>;

#[derive(Debug, Clone)]
struct Cached {
    /// Taken before the read that produced `stopped`.
    at: Instant,
    stopped: Arc<Stopped>,
}

/// Keeps `stopped` unless `sets` already holds a newer read (a slow refresh that
/// started before a cessation's reload must not undo it), and returns what it
/// holds afterwards.
fn put(sets: &Sets, tenant: &TenantId, at: Instant, stopped: Arc<Stopped>) -> Arc<Stopped> {
    let mut map = sets
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match map.get(tenant) {
        Some(c) if c.at > at => Arc::clone(&c.stopped),
        _ => {
            map.insert(
                tenant.clone(),
                Cached {
                    at,
                    stopped: Arc::clone(&stopped),
                },
            );
            stopped
        }
    }
}

impl CessationCache {
    /// What has stopped in `tenant`, read from the store when not cached or
    /// getting old (see the type's documentation).
    pub async fn stopped(
        &self,
        store: &AnyStore,
        tenant: &TenantId,
    ) -> Result<Arc<Stopped>, StoreError> {
        let (store, owned) = (store.clone(), tenant.clone());
        self.get_or_refresh(tenant, move || async move {
            Ok(Stopped::from_records(&store.cessations(&owned).await?))
        })
        .await
    }

    /// Reads the tenant's cessations from the store now (after this process
    /// recorded one), whatever the cache holds.
    pub async fn reload(
        &self,
        store: &AnyStore,
        tenant: &TenantId,
    ) -> Result<Arc<Stopped>, StoreError> {
        let at = Instant::now();
        let s = Arc::new(Stopped::from_records(&store.cessations(tenant).await?));
        Ok(put(&self.tenants, tenant, at, s))
    }

    fn cached(&self, tenant: &TenantId) -> Option<Cached> {
        self.tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(tenant)
            .cloned()
    }

    fn refresh_lock(&self, tenant: &TenantId) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .refreshing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(tenant.clone()).or_default())
    }

    async fn get_or_refresh<F, Fut>(
        &self,
        tenant: &TenantId,
        load: F,
    ) -> Result<Arc<Stopped>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Stopped, StoreError>> + Send + 'static,
    {
        let cached = self.cached(tenant);
        if let Some(c) = &cached
            && c.at.elapsed() < REFRESH / 2
        {
            return Ok(Arc::clone(&c.stopped));
        }
        let lock = self.refresh_lock(tenant);
        if let Some(c) = cached
            && c.at.elapsed() < REFRESH
        {
            // Getting old but within the bound: refresh in the background unless
            // a refresh is already running, and answer from the cache.
            if let Ok(guard) = lock.try_lock_owned() {
                let (sets, tenant) = (Arc::clone(&self.tenants), tenant.clone());
                // The instant is taken before the read, so the bound holds even
                // if the read is slow.
                let at = Instant::now();
                let read = load();
                tokio::spawn(async move {
                    let _guard = guard;
                    match read.await {
                        Ok(s) => {
                            put(&sets, &tenant, at, Arc::new(s));
                        }
                        // The set ages past the bound and the next decisions wait
                        // for a read of their own, which reports the error.
                        Err(e) => {
                            tracing::warn!(tenant = %tenant, error = %e, "cessation refresh failed");
                        }
                    }
                });
            }
            return Ok(c.stopped);
        }
        // Too old (or never read): wait for the refresh in flight, if any.
        let _guard = lock.lock().await;
        if let Some(c) = self.cached(tenant)
            && c.at.elapsed() < REFRESH
        {
            return Ok(c.stopped);
        }
        let at = Instant::now();
        let s = Arc::new(load().await?);
        Ok(put(&self.tenants, tenant, at, s))
    }
}

/// The answer to any question about a ceased service.
pub fn ceased_decision() -> Decision {
    Decision {
        allow: false,
        reasons: vec![Reason::ServiceCeased],
        obligations: Vec::new(),
        basis: None,
    }
}

/// A cessation to start.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartCessation {
    /// The service that stops: the pack's id (`policy.id`) for the whole operation,
    /// or one of its `services[].id`.
    pub service: String,
    /// Why (recorded; no personal information).
    pub reason: Option<String>,
    /// Text added to every notice and the announcement (no personal information).
    pub announcement: Option<String>,
}

/// Why a cessation could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No policy is in force.
    #[error("no policy is in force")]
    NoPolicy,
    /// The pack has no `[cessation]` section.
    #[error("the policy in force has no [cessation] section: it does not say how a cessation ends")]
    NotDeclared,
    /// The service is neither the pack nor one of its services.
    #[error("the policy in force has no service {service:?}; services: {known}")]
    UnknownService {
        /// What was asked.
        service: String,
        /// The ids that exist.
        known: String,
    },
    /// The service (or the whole operation) ceased before.
    #[error("{0}")]
    AlreadyCeased(String),
    /// A text field is too long or empty.
    #[error("{field}: {why}")]
    BadText {
        /// The field.
        field: &'static str,
        /// Why.
        why: &'static str,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Longest `reason` / `announcement` accepted.
const MAX_TEXT: usize = 2000;

fn check_text(field: &'static str, t: &Option<String>) -> Result<(), StartError> {
    match t {
        Some(s) if s.trim().is_empty() => Err(StartError::BadText {
            field,
            why: "leave it out or give some text",
        }),
        Some(s) if s.chars().count() > MAX_TEXT => Err(StartError::BadText {
            field,
            why: "at most 2000 characters",
        }),
        _ => Ok(()),
    }
}

/// The scope of a cessation of `service` under `p`: whole operation, or the purposes
/// only that sub-service declares. Vault records do not carry the service they were
/// collected for, so a purpose the main policy also declares stays with it.
fn scope(p: &Policy, service: &str) -> Result<(bool, Vec<String>, String, String), StartError> {
    if p.policy.id.as_str() == service {
        return Ok((
            true,
            Vec::new(),
            "our services".to_owned(),
            "我们的服务".to_owned(),
        ));
    }
    let Some(s) = p.services.iter().find(|s| s.id.as_str() == service) else {
        let mut known = vec![p.policy.id.as_str().to_owned()];
        known.extend(p.services.iter().map(|s| s.id.as_str().to_owned()));
        return Err(StartError::UnknownService {
            service: service.to_owned(),
            known: known.join(", "),
        });
    };
    let main: BTreeSet<&str> = p.purposes.iter().map(|x| x.id.as_str()).collect();
    let own: Vec<String> = s
        .purposes
        .iter()
        .map(|x| x.id.as_str())
        .filter(|id| !main.contains(id))
        .map(str::to_owned)
        .collect();
    Ok((
        false,
        own,
        s.name.get(Lang::En).to_owned(),
        s.name.get(Lang::ZhCn).to_owned(),
    ))
}

/// The notice text in both languages: (subject en, subject zh, body en, body zh).
fn notice_text(
    p: &Policy,
    names: (&str, &str),
    action: ExpiryAction,
    started: Timestamp,
    deadline: Timestamp,
    extra: Option<&str>,
) -> [String; 4] {
    let date = |t: Timestamp| t.strftime("%Y-%m-%d").to_string();
    let contacts: Vec<String> = p
        .controller
        .protection_officer
        .as_ref()
        .map(|o| o.contacts.clone())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| p.controller.contacts.clone())
        .iter()
        .map(|c| c.value.clone())
        .collect();
    let (verb_en, verb_zh) = match action {
        ExpiryAction::Anonymize => ("anonymized", "匿名化处理"),
        _ => ("deleted", "删除"),
    };
    let extra = extra.map(|e| format!("\n{e}\n")).unwrap_or_default();
    [
        format!(
            "{}: {} will close",
            p.controller.legal_name.get(Lang::En),
            names.0
        ),
        format!(
            "{}：{}停止运营告知",
            p.controller.legal_name.get(Lang::ZhCn),
            names.1
        ),
        format!(
            "We stopped operating {name} on {start} and no longer collect personal \
             information for it. The personal information we hold for it will be {verb_en} \
             by {end}, except where the law requires us to keep it.\n{extra}\nContact us: {contact}\n",
            name = names.0,
            start = date(started),
            end = date(deadline),
            contact = contacts.join(", "),
        ),
        format!(
            "{name}已于{start}停止运营，不再为其收集个人信息。除法律法规要求保留的以外，\
             我们将在{end}前对为其保存的个人信息进行{verb_zh}。\n{extra}\n联系我们：{contact}\n",
            name = names.1,
            start = date(started),
            end = date(deadline),
            contact = contacts.join("；"),
        ),
    ]
}

/// Starts a cessation of `req.service` in `tenant` now (see the module docs).
pub async fn start(
    state: &AppState,
    tenant: &TenantId,
    req: &StartCessation,
    actor: &str,
) -> Result<CessationRecord, StartError> {
    check_text("reason", &req.reason)?;
    check_text("announcement", &req.announcement)?;
    let rt = state
        .tenant(tenant)
        .await
        .map_err(|_| StartError::NoPolicy)?
        .ok_or(StoreError::NotFound("tenant"))?;
    let now = Timestamp::now();
    let published = rt.in_force(now).await.ok_or(StartError::NoPolicy)?;
    let p = &published.policy;
    let rules = p.cessation.as_ref().ok_or(StartError::NotDeclared)?;
    let (whole, purposes, name_en, name_zh) = scope(p, &req.service)?;
    let existing = state.store.cessations(tenant).await?;
    if existing.iter().any(|c| c.whole) {
        return Err(StartError::AlreadyCeased(
            "the whole operation has already ceased".into(),
        ));
    }
    if existing.iter().any(|c| c.service == req.service) {
        return Err(StartError::AlreadyCeased(format!(
            "service {:?} has already ceased",
            req.service
        )));
    }
    let deadline = now
        .checked_add(SignedDuration::from_hours(
            24 * i64::from(rules.within_days),
        ))
        .map_err(|_| StoreError::OutOfRange("deadline"))?;
    let people = state
        .store
        .cessation_subjects(tenant, (!whole).then_some(purposes.as_slice()))
        .await?;
    let id = uuid::Uuid::now_v7().to_string();
    let [subject_en, subject_zh, body_en, body_zh] = notice_text(
        p,
        (&name_en, &name_zh),
        rules.action,
        now,
        deadline,
        req.announcement.as_deref(),
    );
    let payload = |subject: Option<&str>| {
        serde_json::json!({
            "cessation_id": id, "service": req.service, "subject": subject,
            "deadline": deadline, "action": troth_core::retention::action_code(rules.action),
            "subject_en": subject_en, "subject_zh": subject_zh,
            "body_en": body_en, "body_zh": body_zh,
        })
    };
    let targets = state.store.notify_targets(tenant).await?;
    let announce = |messages: &mut Vec<NewOutboxMessage>| {
        messages.extend(outbox::route(
            &outbox::targets_for(&targets, CESSATION_ANNOUNCEMENT, None),
            &format!("cessation:{id}:announcement"),
            CESSATION_ANNOUNCEMENT,
            &payload(None),
            || "no notify target subscribes to cessation.announcement".to_owned(),
        ));
    };
    let mut messages = Vec::new();
    let mode = match notice_mode(people.len() as u64, p.security.announcement_threshold) {
        NoticeMode::Announcement => {
            announce(&mut messages);
            "announcement"
        }
        NoticeMode::Individual => {
            let channels: BTreeSet<NoticeChannel> = rules.notice_channels.iter().copied().collect();
            let with_email: BTreeSet<SubjectId> = if channels.contains(&NoticeChannel::Email) {
                state
                    .store
                    .affected_subjects(tenant, &[], &[IdentifierKind::Email])
                    .await?
                    .into_iter()
                    .collect()
            } else {
                BTreeSet::new()
            };
            let push = outbox::targets_for(&targets, CESSATION_NOTICE, None);
            let by_push = channels.contains(&NoticeChannel::Push) && !push.is_empty();
            let mut unreachable = 0usize;
            for s in &people {
                let sid = s.as_str();
                if with_email.contains(s) {
                    messages.push(NewOutboxMessage {
                        message_id: format!("cessation:{id}:{sid}:email"),
                        kind: CESSATION_NOTICE.into(),
                        channel: OutboxChannel::SubjectEmail,
                        target: sid.to_owned(),
                        payload_json: payload(Some(sid)).to_string(),
                        unrouted_reason: None,
                    });
                } else if !by_push {
                    unreachable += 1;
                }
                if by_push {
                    messages.extend(outbox::route(
                        &push,
                        &format!("cessation:{id}:{sid}"),
                        CESSATION_NOTICE,
                        &payload(Some(sid)),
                        String::new,
                    ));
                }
            }
            // Individual notice is impossible for someone: everyone is told publicly.
            if unreachable > 0 {
                announce(&mut messages);
                "individual_and_announcement"
            } else {
                "individual"
            }
        }
    };
    let c = NewCessation {
        tenant: tenant.clone(),
        cessation_id: id.clone(),
        service: req.service.clone(),
        whole,
        purposes,
        action: troth_core::retention::action_code(rules.action).to_owned(),
        reason: req.reason.clone(),
        announcement: req.announcement.clone(),
        notice_mode: mode.to_owned(),
        subjects: people.len() as u64,
        started: now,
        deadline,
    };
    let record = match state.store.start_cessation(&c, &messages, actor).await {
        Err(StoreError::Conflict(_)) => {
            return Err(StartError::AlreadyCeased(format!(
                "service {:?} has already ceased",
                req.service
            )));
        }
        r => r?,
    };
    // This replica enforces it from now on; others within `REFRESH`.
    state.cessations.reload(&state.store, tenant).await?;
    tracing::info!(tenant = %tenant, cessation = %record.cessation_id, scheduled = record.scheduled, "cessation started");
    Ok(record)
}

/// A cessation and where it stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CessationReport {
    /// Id.
    pub cessation_id: String,
    /// The service that stopped.
    pub service: String,
    /// Whether the whole operation stopped.
    pub whole: bool,
    /// Purposes whose records are drained (empty when `whole`: all records are).
    pub purposes: Vec<String>,
    /// `delete` or `anonymize`, from the pack.
    pub action: String,
    /// Why.
    pub reason: Option<String>,
    /// Text added to the notices.
    pub announcement: Option<String>,
    /// When collection stopped.
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    /// By when every record in scope is deleted or anonymized.
    #[schema(value_type = String, format = DateTime)]
    pub deadline: Timestamp,
    /// Who started it.
    pub started_by: String,
    /// `draining` while unheld records remain, then `drained`.
    pub status: String,
    /// Past the deadline with unheld records left.
    pub overdue: bool,
    /// The notices.
    pub notices: NoticeProgress,
    /// The records.
    pub records: RecordProgress,
}

/// How people are being told.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoticeProgress {
    /// `individual`, `announcement`, or `individual_and_announcement` (some people
    /// cannot be told individually).
    pub mode: String,
    /// People affected.
    pub subjects: u64,
    /// Messages queued at the start.
    pub queued: u64,
    /// Still waiting for delivery (or a retry).
    pub pending: u64,
    /// Delivered.
    pub sent: u64,
    /// Given up on, or with no target to go to (see `/v1/outbox?status=dead`).
    pub dead: u64,
}

/// How far deletion has come.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordProgress {
    /// Vault records scheduled at the start.
    pub scheduled: u64,
    /// Deleted so far.
    pub deleted: u64,
    /// Anonymized so far (counted in the anonymous tally, then removed).
    pub anonymized: u64,
    /// Still to go.
    pub remaining: u64,
    /// Kept by active legal holds (`GET /v1/holds` cites them).
    pub held: u64,
}

/// The report of one cessation, now.
pub fn report(c: &CessationRecord, p: &CessationProgress, now: Timestamp) -> CessationReport {
    let removed = c.scheduled.saturating_sub(p.remaining);
    let remaining = p.remaining.saturating_sub(p.held);
    let n = |s: &str| p.notices.get(s).copied().unwrap_or(0);
    let anonymize = c.action == "anonymize";
    CessationReport {
        cessation_id: c.cessation_id.clone(),
        service: c.service.clone(),
        whole: c.whole,
        purposes: c.purposes.clone(),
        action: c.action.clone(),
        reason: c.reason.clone(),
        announcement: c.announcement.clone(),
        started_at: c.started,
        deadline: c.deadline,
        started_by: c.started_by.clone(),
        status: if remaining == 0 {
            "drained"
        } else {
            "draining"
        }
        .to_owned(),
        overdue: remaining > 0 && now > c.deadline,
        notices: NoticeProgress {
            mode: c.notice_mode.clone(),
            subjects: c.subjects,
            queued: p.notices.values().sum(),
            pending: n("pending"),
            sent: n("delivered"),
            dead: n("dead"),
        },
        records: RecordProgress {
            scheduled: c.scheduled,
            deleted: if anonymize { 0 } else { removed },
            anonymized: if anonymize { removed } else { 0 },
            remaining,
            held: p.held,
        },
    }
}

/// The report of a stored cessation.
pub async fn progress(
    state: &AppState,
    tenant: &TenantId,
    c: &CessationRecord,
) -> Result<CessationReport, StoreError> {
    let p = state.store.cessation_progress(tenant, c).await?;
    Ok(report(c, &p, Timestamp::now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn aged(cache: &CessationCache, tenant: &TenantId, age: Duration, whole: bool) {
        let at = Instant::now()
            .checked_sub(age)
            .expect("the clock is past boot");
        put(
            &cache.tenants,
            tenant,
            at,
            Arc::new(Stopped {
                whole,
                services: HashSet::new(),
            }),
        );
    }

    /// Many decisions arriving with an expired set cause one store read, and all
    /// of them see its result.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_expired_set_is_read_once_for_all_waiting_decisions() {
        let cache = Arc::new(CessationCache::default());
        let tenant = TenantId::new("t1");
        aged(&cache, &tenant, REFRESH * 2, false);
        let reads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (cache, tenant, reads) = (cache.clone(), tenant.clone(), reads.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_refresh(&tenant, move || async move {
                        reads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(Stopped {
                            whole: true,
                            services: HashSet::new(),
                        })
                    })
                    .await
            }));
        }
        for t in tasks {
            let s = t.await.expect("task").expect("stopped");
            assert!(s.whole, "every caller sees the cessation read for it");
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    /// A set past half its life is refreshed in the background: decisions keep
    /// answering from the cache meanwhile and only one read runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_ageing_set_is_refreshed_in_the_background() {
        let cache = Arc::new(CessationCache::default());
        let tenant = TenantId::new("t1");
        aged(&cache, &tenant, REFRESH * 3 / 4, false);
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let reads = Arc::new(AtomicUsize::new(0));
        let first = {
            let reads = reads.clone();
            cache
                .get_or_refresh(&tenant, move || async move {
                    reads.fetch_add(1, Ordering::SeqCst);
                    let _ = release_rx.await;
                    Ok(Stopped {
                        whole: true,
                        services: HashSet::new(),
                    })
                })
                .await
                .expect("stopped")
        };
        assert!(!first.whole, "answered from the cache, not after the read");
        // While the read is in flight, others answer at once from the cache.
        let other = cache
            .get_or_refresh(&tenant, || async {
                panic!("a second read while one is in flight")
            })
            .await
            .expect("stopped");
        assert!(!other.whole);
        let _ = release_tx.send(());
        let deadline = Instant::now() + Duration::from_secs(5);
        while !cache.cached(&tenant).expect("cached").stopped.whole {
            assert!(
                Instant::now() < deadline,
                "the background read never landed"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let after = cache
            .get_or_refresh(&tenant, || async { panic!("the fresh set is used") })
            .await
            .expect("stopped");
        assert!(after.whole);
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    /// A slow refresh that began before a cessation's reload does not put back
    /// the older set.
    #[test]
    fn an_older_read_never_replaces_a_newer_one() {
        let cache = CessationCache::default();
        let tenant = TenantId::new("t1");
        let older = Instant::now();
        aged(&cache, &tenant, Duration::ZERO, true);
        let kept = put(&cache.tenants, &tenant, older, Arc::new(Stopped::default()));
        assert!(kept.whole);
        assert!(cache.cached(&tenant).expect("cached").stopped.whole);
    }

    #[test]
    fn the_main_service_stops_everything_a_sub_service_only_itself() {
        let none = Stopped::default();
        assert!(!none.covers(None) && !none.covers(Some("lite")));
        let lite = Stopped {
            whole: false,
            services: ["lite".to_owned()].into(),
        };
        assert!(lite.covers(Some("lite")));
        assert!(!lite.covers(None) && !lite.covers(Some("pro")));
        let all = Stopped {
            whole: true,
            services: HashSet::new(),
        };
        assert!(all.covers(None) && all.covers(Some("pro")));
    }

    #[test]
    fn progress_counts_what_went_and_what_holds_keep() {
        let c = CessationRecord {
            cessation_id: "c".into(),
            service: "s".into(),
            whole: true,
            purposes: vec![],
            action: "delete".into(),
            reason: None,
            announcement: None,
            notice_mode: "individual".into(),
            subjects: 3,
            scheduled: 10,
            started: Timestamp::UNIX_EPOCH,
            deadline: Timestamp::UNIX_EPOCH,
            started_by: "key:k".into(),
        };
        let p = CessationProgress {
            remaining: 3,
            held: 1,
            notices: [("delivered".to_owned(), 2), ("pending".to_owned(), 1)].into(),
        };
        let r = report(&c, &p, Timestamp::now());
        assert_eq!(r.records.deleted, 7);
        assert_eq!(r.records.remaining, 2);
        assert_eq!(r.records.held, 1);
        assert_eq!(r.status, "draining");
        assert!(r.overdue);
        assert_eq!(
            (r.notices.queued, r.notices.sent, r.notices.pending),
            (3, 2, 1)
        );
        let done = report(
            &c,
            &CessationProgress {
                remaining: 1,
                held: 1,
                notices: Default::default(),
            },
            Timestamp::now(),
        );
        assert_eq!(done.status, "drained");
        assert!(!done.overdue);
    }
}
