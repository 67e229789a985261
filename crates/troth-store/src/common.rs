// Backend-independent store logic, compiled once per backend.
//
// This file is `include!`d into `sqlite.rs` and `postgres.rs`, each of which defines
// beforehand:
// * `type Db` (the sqlx database), `type This` (the public store type, holding
//   `inner: Arc<Inner>`),
// * `const SQL_LOCK_HEAD: &str` (the head-row select, `FOR UPDATE` on PostgreSQL),
// * `async fn begin_data(&Shared) -> Result<Transaction<'static, Db>>` (a write
//   transaction on the data database).
// The SQL here is written once for both: `$N` placeholders (SQLite accepts them),
// `ON CONFLICT` upserts, and only BIGINT/TEXT/BLOB-or-BYTEA/BOOLEAN columns.

use crate::config::StoreConfig;
use crate::error::{Result, StoreError};
use crate::model::{
    Access, ConsentAck, Disclosure, ErasureReport, NewConsentEvent, PolicyVersionRecord,
    StoredConsentEvent, SubjectRecord, Tenant, VaultKey,
};
use crate::store::Store;
use crate::util::{
    hash_from, i64_seq, identity_category, kind_parse, ns_ts, seq_i64, subject_target,
    ts_ns,
};
use sqlx::{Pool, QueryBuilder, Transaction};
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU64;
use std::sync::{Arc, PoisonError, RwLock};
use tokio::sync::{mpsc, oneshot};
use troth_crypto::audit::{AuditEntryRef, HashCheck};
use troth_crypto::{
    AuditChain, AuditEntry, AuditEvent, AuditHash, AuditVerifier, BlindIndexer, BlindToken,
    Checkpoint, EncryptedField, IdentifierKind, PublicKey, RecordId, SigningKeyPair, SubjectId,
    SubjectKey, TenantId, TenantKey, Vault, VerifyReport, WrappedKey, Zeroizing,
};

/// Rows per multi-row INSERT: keeps bind parameters (≤ 10 per row) far below both
/// backends' limits.
const INSERT_CHUNK: usize = 500;

/// A tenant's unwrapped keys, cached after first use.
pub(crate) struct TenantKeys {
    tek: TenantKey,
    blind: BlindIndexer,
}

/// State shared by the store handle and its writer task.
pub(crate) struct Shared {
    data_write: Pool<Db>,
    data_read: Pool<Db>,
    keys: Pool<Db>,
    vault: Vault,
    signer_seed: Zeroizing<[u8; 32]>,
    audit_key: PublicKey,
    checkpoint_every: NonZeroU64,
    max_batch: usize,
    verify_page: u32,
    key_cache: RwLock<HashMap<TenantId, Arc<TenantKeys>>>,
}

impl Shared {
    fn new(data_write: Pool<Db>, data_read: Pool<Db>, keys: Pool<Db>, config: StoreConfig) -> Self {
        Self {
            data_write,
            data_read,
            keys,
            audit_key: config.audit_signer.public_key(),
            signer_seed: config.audit_signer.to_seed(),
            vault: config.vault,
            checkpoint_every: config.checkpoint_every,
            max_batch: config.max_batch.max(1),
            verify_page: config.verify_page.max(1),
            key_cache: RwLock::new(HashMap::new()),
        }
    }
}

/// One caller waiting on the group-commit writer.
pub(crate) struct Job {
    event: NewConsentEvent,
    ack: oneshot::Sender<Result<ConsentAck>>,
}

/// The store handle's internals: shared state plus the writer's inbox.
pub(crate) struct Inner {
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Job>,
}

impl Inner {
    /// Starts the group-commit writer task on the current tokio runtime.
    /// It ends by itself once every handle (and so the sender) is dropped.
    fn start(shared: Shared) -> Self {
        let shared = Arc::new(shared);
        // Bounded: back-pressure instead of unbounded memory when the disk is slow.
        let (jobs, rx) = mpsc::channel(shared.max_batch.saturating_mul(4));
        tokio::spawn(writer_loop(Arc::clone(&shared), rx));
        Self { shared, jobs }
    }
}

// ---------------------------------------------------------------------------
// migrations

/// Applies `(version, sql)` migrations of one component not yet recorded in
/// `troth_schema_version`, each in its own transaction.
async fn run_migrations(
    pool: &Pool<Db>,
    component: &'static str,
    migrations: &[(i64, &'static str)],
) -> Result<()> {
    // Created under the migration lock too, so concurrent migrators do not race.
    let mut tx = begin_migration(pool).await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS troth_schema_version (
            component TEXT NOT NULL,
            version BIGINT NOT NULL,
            applied_ns BIGINT NOT NULL,
            PRIMARY KEY (component, version))",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let known = migrations.iter().map(|m| m.0).max().unwrap_or(0);
    for &(version, sql) in migrations {
        let mut tx = begin_migration(pool).await?;
        let done: Option<(i64,)> = sqlx::query_as(
            "SELECT version FROM troth_schema_version WHERE component = $1 AND version = $2",
        )
        .bind(component)
        .bind(version)
        .fetch_optional(&mut *tx)
        .await?;
        if done.is_some() {
            continue;
        }
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|source| StoreError::Migration { version, source })?;
        sqlx::query(
            "INSERT INTO troth_schema_version (component, version, applied_ns) VALUES ($1, $2, $3)",
        )
        .bind(component)
        .bind(version)
        .bind(ts_ns(jiff::Timestamp::now())?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(component, version, "applied migration");
    }
    let (found,): (Option<i64>,) =
        sqlx::query_as("SELECT MAX(version) FROM troth_schema_version WHERE component = $1")
            .bind(component)
            .fetch_one(pool)
            .await?;
    let found = found.unwrap_or(0);
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// keys

async fn tenant_keys(shared: &Shared, tenant: &TenantId) -> Result<Arc<TenantKeys>> {
    if let Some(k) = shared
        .key_cache
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(tenant)
    {
        return Ok(Arc::clone(k));
    }
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT kind, wrapped FROM tenant_keys WHERE tenant_id = $1 ORDER BY key_version DESC",
    )
    .bind(tenant.as_str())
    .fetch_all(&shared.keys)
    .await?;
    // Highest version of each kind wins (rows are sorted descending).
    let pick = |kind: &str| -> Result<WrappedKey> {
        let (_, bytes) = rows
            .iter()
            .find(|(k, _)| k == kind)
            .ok_or_else(|| StoreError::TenantNotFound(tenant.to_string()))?;
        Ok(WrappedKey::from_bytes(bytes)?)
    };
    let keys = Arc::new(TenantKeys {
        tek: shared.vault.open_tenant_key(tenant, &pick("tek")?)?,
        blind: shared.vault.open_blind_index_key(tenant, &pick("blind")?)?,
    });
    shared
        .key_cache
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(tenant.clone(), Arc::clone(&keys));
    Ok(keys)
}

/// Reads a subject's wrapped data key; `None` once the subject was erased.
async fn wrapped_subject_key(
    shared: &Shared,
    tenant: &TenantId,
    subject: &SubjectId,
) -> Result<Option<WrappedKey>> {
    let row: Option<(Vec<u8>,)> =
        sqlx::query_as("SELECT wrapped FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2")
            .bind(tenant.as_str())
            .bind(subject.as_str())
            .fetch_optional(&shared.keys)
            .await?;
    row.map(|(b,)| WrappedKey::from_bytes(&b).map_err(StoreError::from))
        .transpose()
}

/// Opens the subject's data key, creating it on first write. Concurrent creators
/// race through `ON CONFLICT DO NOTHING` and all use the row that won. Tenant-key
/// rotation may run meanwhile: see `rotation.rs`.
async fn subject_key_for_write(
    shared: &Shared,
    keys: &TenantKeys,
    tenant: &TenantId,
    subject: &SubjectId,
) -> Result<SubjectKey> {
    rotating_subject_key_for_write(shared, keys, tenant, subject).await
}

async fn subject_key_for_read(
    shared: &Shared,
    keys: &TenantKeys,
    tenant: &TenantId,
    subject: &SubjectId,
) -> Result<SubjectKey> {
    rotating_subject_key_for_read(shared, keys, tenant, subject).await
}

// ---------------------------------------------------------------------------
// audit chain heads

/// A connection to the data database (a `Transaction` derefs to one).
type DbConn = <Db as sqlx::Database>::Connection;

/// The tenant's ledger and audit heads, read under the row lock.
struct Head {
    consent_seq: u64,
    audit_seq: u64,
    audit_hash: AuditHash,
}

/// Locks and reads the tenant's head row; `None` if the tenant does not exist.
/// Every write that appends to the ledger or the audit chain takes this lock
/// first, so sequence numbers never collide across writers or replicas.
async fn lock_head(conn: &mut DbConn, tenant: &TenantId) -> Result<Option<Head>> {
    let row: Option<(i64, i64, Vec<u8>)> = sqlx::query_as(SQL_LOCK_HEAD)
        .bind(tenant.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|(c, a, h)| {
        Ok(Head {
            consent_seq: i64_seq(c)?,
            audit_seq: i64_seq(a)?,
            audit_hash: hash_from(&h)?,
        })
    })
    .transpose()
}

async fn require_head(tx: &mut Transaction<'static, Db>, tenant: &TenantId) -> Result<Head> {
    lock_head(tx, tenant)
        .await?
        .ok_or_else(|| StoreError::TenantNotFound(tenant.to_string()))
}

fn chain_at(shared: &Shared, head: &Head) -> AuditChain {
    AuditChain::resume(
        SigningKeyPair::from_seed(&shared.signer_seed),
        shared.checkpoint_every,
        head.audit_seq,
        head.audit_hash,
    )
}

/// Appends `events` to the chain and inserts the entries and any periodic checkpoints.
async fn insert_audit(
    conn: &mut DbConn,
    tenant: &TenantId,
    chain: &mut AuditChain,
    events: Vec<AuditEvent>,
) -> Result<Vec<AuditEntry>> {
    let batch = chain.append_batch(events);
    for chunk in batch.entries.chunks(INSERT_CHUNK) {
        let mut rows = Vec::with_capacity(chunk.len());
        for e in chunk {
            rows.push((seq_i64(e.seq)?, ts_ns(e.time)?, e));
        }
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO audit_log (tenant_id, seq, time_ns, actor, action, target, detail, prev_hash, hash) ",
        );
        qb.push_values(rows, |mut b, (seq, time, e)| {
            b.push_bind(tenant.as_str().to_owned())
                .push_bind(seq)
                .push_bind(time)
                .push_bind(e.actor.clone())
                .push_bind(e.action.clone())
                .push_bind(e.target.clone())
                .push_bind(e.detail.clone())
                .push_bind(e.prev_hash.0.to_vec())
                .push_bind(e.hash.0.to_vec());
        });
        qb.build().execute(&mut *conn).await?;
    }
    for cp in &batch.checkpoints {
        sqlx::query(
            "INSERT INTO audit_checkpoints (tenant_id, seq, hash, signature) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant.as_str())
        .bind(seq_i64(cp.seq)?)
        .bind(cp.hash.0.to_vec())
        .bind(cp.signature.to_vec())
        .execute(&mut *conn)
        .await?;
    }
    Ok(batch.entries)
}

/// Writes the new heads and a freshly signed tip checkpoint, so truncating the
/// newest entries is detectable even between periodic checkpoints.
async fn store_head(
    conn: &mut DbConn,
    tenant: &TenantId,
    consent_seq: u64,
    chain: &AuditChain,
) -> Result<()> {
    let tip = chain.checkpoint_now();
    sqlx::query(
        "UPDATE tenant_heads SET consent_seq = $2, audit_seq = $3, audit_hash = $4,
             tip_seq = $5, tip_hash = $6, tip_sig = $7
         WHERE tenant_id = $1",
    )
    .bind(tenant.as_str())
    .bind(seq_i64(consent_seq)?)
    .bind(seq_i64(chain.next_seq().saturating_sub(1))?)
    .bind(chain.last_hash().0.to_vec())
    .bind(tip.as_ref().map(|c| seq_i64(c.seq)).transpose()?)
    .bind(tip.as_ref().map(|c| c.hash.0.to_vec()))
    .bind(tip.as_ref().map(|c| c.signature.to_vec()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records `events` in the tenant's audit chain inside `tx` (which must already
/// hold the head lock via `head`), then moves the head. Returns the entries' seqs.
async fn audit_in_tx(
    shared: &Shared,
    tx: &mut Transaction<'static, Db>,
    tenant: &TenantId,
    head: &Head,
    events: Vec<AuditEvent>,
) -> Result<Vec<u64>> {
    let mut chain = chain_at(shared, head);
    let entries = insert_audit(tx, tenant, &mut chain, events).await?;
    store_head(tx, tenant, head.consent_seq, &chain).await?;
    Ok(entries.iter().map(|e| e.seq).collect())
}

fn audit_event(actor: &str, action: &str, target: String, detail: serde_json::Value) -> AuditEvent {
    AuditEvent {
        time: jiff::Timestamp::now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target,
        detail: detail.to_string(),
    }
}

/// Encrypts a value for `key` under its subject's data key (made on first write).
async fn seal_value(s: &Shared, key: &VaultKey, plaintext: &[u8]) -> Result<EncryptedField> {
    let keys = tenant_keys(s, &key.tenant).await?;
    let dek = subject_key_for_write(s, &keys, &key.tenant, &key.subject).await?;
    Ok(dek.encrypt(&key.category, &key.record, plaintext)?)
}

/// The audit entry of one access (`action`) to one vault value: which record, for
/// which purpose, never the value.
fn vault_event(key: &VaultKey, action: &str, access: &Access) -> AuditEvent {
    audit_event(
        &access.actor,
        action,
        subject_target(&key.subject),
        serde_json::json!({ "category": key.category.as_str(), "record": key.record.as_str(),
            "purpose": access.purpose }),
    )
}

/// One audited change: begin, lock the head, run `change`, append `event`, commit.
/// Returns the audit seq of the event.
macro_rules! audited {
    ($shared:expr, $tenant:expr, $event:expr, |$tx:ident| $change:block) => {{
        let shared: &Shared = $shared;
        let tenant: &TenantId = $tenant;
        let mut $tx = begin_data(shared).await?;
        let head = require_head(&mut $tx, tenant).await?;
        let out = $change;
        let seqs = audit_in_tx(shared, &mut $tx, tenant, &head, vec![$event]).await?;
        $tx.commit().await?;
        let seq = seqs.first().copied().unwrap_or(0);
        (out, seq)
    }};
}

// ---------------------------------------------------------------------------
// group commit
//
// One writer task takes every queued consent event, writes them in one transaction
// and acknowledges each caller after the commit. On SQLite a batch is one round trip
// to the connection's thread: BEGIN, a guarded head update per tenant, one
// multi-row INSERT per table and COMMIT go as one multi-statement query (the writer
// keeps each tenant's audit chain and ledger head between batches, so it needs to
// read nothing first). PostgreSQL takes the head row lock, inserts and commits in
// separate statements. Either way the acknowledgement follows a durable commit:
// SQLite's data connections run WAL with `synchronous = FULL`, so COMMIT returns
// only after the write-ahead log is fsynced; PostgreSQL's default
// `synchronous_commit = on` flushes its WAL before COMMIT returns.

/// What the writer knows of a tenant after its last commit: the audit chain (with
/// the signing key already derived) and the ledger head.
struct Cursor {
    chain: AuditChain,
    consent_seq: u64,
}

/// Moves whatever is queued into `batch`, up to the batch limit.
fn drain_queued(rx: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>, max: usize) {
    while batch.len() < max {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

async fn writer_loop(shared: Arc<Shared>, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(shared.max_batch);
    let mut cursors: HashMap<TenantId, Cursor> = HashMap::new();
    // `recv_many` waits for one job, then takes whatever else is queued: under load
    // the batch grows to cover everyone who arrived during the previous commit.
    while rx.recv_many(&mut batch, shared.max_batch).await > 0 {
        // Callers just acknowledged are usually about to send again: yielding lets
        // them, instead of committing a batch of one right after each big batch.
        // Keep yielding while each yield brings more of them in (a few times at
        // most, so a lone caller waits at most a few scheduler turns).
        for _ in 0..4 {
            if batch.len() >= shared.max_batch {
                break;
            }
            let before = batch.len();
            tokio::task::yield_now().await;
            drain_queued(&mut rx, &mut batch, shared.max_batch);
            if batch.len() == before {
                break;
            }
        }
        match write_consent_batch(&shared, &mut cursors, &batch).await {
            Ok(results) => {
                for (job, r) in batch.drain(..).zip(results) {
                    // A caller that gave up waiting is not an error.
                    let _ = job.ack.send(r);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, events = batch.len(), "consent batch failed");
                // The cursors may be ahead of what was committed.
                cursors.clear();
                let msg = e.to_string();
                for job in batch.drain(..) {
                    let _ = job.ack.send(Err(StoreError::BatchFailed(msg.clone())));
                }
            }
        }
    }
}

/// Writes a batch in one transaction: per tenant (in key order, so concurrent
/// writers lock heads in the same order), ledger rows plus one audit entry each.
/// Jobs for unknown tenants get their own error; the rest commit together.
async fn write_consent_batch(
    shared: &Shared,
    cursors: &mut HashMap<TenantId, Cursor>,
    jobs: &[Job],
) -> Result<Vec<Result<ConsentAck>>> {
    if <Db as sqlx::Database>::NAME == "SQLite" {
        return sqlite_consent_batch(shared, cursors, jobs).await;
    }
    let mut tx = begin_data(shared).await?;
    let results = locked_consent_rows(shared, cursors, jobs, &mut tx).await?;
    tx.commit().await?;
    Ok(results)
}

/// Jobs grouped by tenant, tenants in key order.
fn jobs_by_tenant(jobs: &[Job]) -> BTreeMap<&TenantId, Vec<usize>> {
    let mut by_tenant: BTreeMap<&TenantId, Vec<usize>> = BTreeMap::new();
    for (i, job) in jobs.iter().enumerate() {
        by_tenant.entry(&job.event.tenant).or_default().push(i);
    }
    by_tenant
}

/// One audit event per job, with ledger seqs following `consent_seq` (advanced
/// past them); returns the events and the jobs' `(index, ledger seq)`.
fn consent_audit_events(
    jobs: &[Job],
    idxs: &[usize],
    consent_seq: &mut u64,
) -> (Vec<AuditEvent>, Vec<(usize, u64)>) {
    let mut events = Vec::with_capacity(idxs.len());
    let mut rows = Vec::with_capacity(idxs.len());
    for &i in idxs {
        let e = &jobs[i].event;
        *consent_seq += 1;
        events.push(AuditEvent {
            time: e.time,
            actor: e.actor.clone(),
            action: format!("consent.{}", e.action),
            target: subject_target(&e.subject),
            detail: serde_json::json!({
                "purpose": e.purpose,
                "event_id": e.event_id,
                "ledger_seq": *consent_seq,
            })
            .to_string(),
        });
        rows.push((i, *consent_seq));
    }
    (events, rows)
}

/// Pushes one multi-row `INSERT INTO consent_events` (no separator).
fn push_consent_insert(
    qb: &mut QueryBuilder<Db>,
    jobs: &[Job],
    rows: &[(usize, u64)],
    entries: &[AuditEntry],
) -> Result<()> {
    let mut vals = Vec::with_capacity(rows.len());
    for (&(i, seq), entry) in rows.iter().zip(entries) {
        let e = &jobs[i].event;
        vals.push((e, seq_i64(seq)?, ts_ns(e.time)?, seq_i64(entry.seq)?));
    }
    qb.push(
        "INSERT INTO consent_events (tenant_id, subject_id, seq, event_id, purpose, action, time_ns, actor, audit_seq, event_json) ",
    );
    qb.push_values(vals, |mut b, (e, seq, time, audit_seq)| {
        b.push_bind(e.tenant.as_str().to_owned())
            .push_bind(e.subject.as_str().to_owned())
            .push_bind(seq)
            .push_bind(e.event_id.clone())
            .push_bind(e.purpose.clone())
            .push_bind(e.action.clone())
            .push_bind(time)
            .push_bind(e.actor.clone())
            .push_bind(audit_seq)
            .push_bind(e.event.to_string());
    });
    Ok(())
}

/// Pushes multi-row `INSERT INTO audit_log` statements and one insert per periodic
/// checkpoint, each followed by `; ` (SQLite: one multi-statement query).
fn push_audit_inserts(
    qb: &mut QueryBuilder<Db>,
    tenant: &TenantId,
    batch: &troth_crypto::AppendedBatch,
) -> Result<()> {
    for chunk in batch.entries.chunks(INSERT_CHUNK) {
        let mut rows = Vec::with_capacity(chunk.len());
        for e in chunk {
            rows.push((seq_i64(e.seq)?, ts_ns(e.time)?, e));
        }
        qb.push(
            "INSERT INTO audit_log (tenant_id, seq, time_ns, actor, action, target, detail, prev_hash, hash) ",
        );
        qb.push_values(rows, |mut b, (seq, time, e)| {
            b.push_bind(tenant.as_str().to_owned())
                .push_bind(seq)
                .push_bind(time)
                .push_bind(e.actor.clone())
                .push_bind(e.action.clone())
                .push_bind(e.target.clone())
                .push_bind(e.detail.clone())
                .push_bind(e.prev_hash.0.to_vec())
                .push_bind(e.hash.0.to_vec());
        });
        qb.push("; ");
    }
    for cp in &batch.checkpoints {
        qb.push("INSERT INTO audit_checkpoints (tenant_id, seq, hash, signature) VALUES (")
            .push_bind(tenant.as_str().to_owned())
            .push(", ")
            .push_bind(seq_i64(cp.seq)?)
            .push(", ")
            .push_bind(cp.hash.0.to_vec())
            .push(", ")
            .push_bind(cp.signature.to_vec())
            .push("); ");
    }
    Ok(())
}

/// Reads the heads of `tenants` (outside any transaction) into `cursors`. Tenants
/// without a head row (unknown tenants) get no cursor.
async fn load_cursors(
    shared: &Shared,
    conn: &mut DbConn,
    cursors: &mut HashMap<TenantId, Cursor>,
    tenants: &[&TenantId],
) -> Result<()> {
    for tenant in tenants {
        let row: Option<(i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT consent_seq, audit_seq, audit_hash FROM tenant_heads WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((c, a, h)) = row {
            let head = Head {
                consent_seq: i64_seq(c)?,
                audit_seq: i64_seq(a)?,
                audit_hash: hash_from(&h)?,
            };
            cursors.insert(
                (*tenant).clone(),
                Cursor {
                    chain: chain_at(shared, &head),
                    consent_seq: head.consent_seq,
                },
            );
        }
    }
    Ok(())
}

/// The SQLite batch: one multi-statement round trip built from the writer's
/// cursors. Each tenant's head update is guarded: if the head is not where the
/// cursor says (another writer or process appended meanwhile) it sets
/// `consent_seq` to NULL, which the NOT NULL constraint rejects, failing the whole
/// transaction; the writer then rereads the heads and tries once more.
async fn sqlite_consent_batch(
    shared: &Shared,
    cursors: &mut HashMap<TenantId, Cursor>,
    jobs: &[Job],
) -> Result<Vec<Result<ConsentAck>>> {
    let by_tenant = jobs_by_tenant(jobs);
    let mut conn = shared.data_write.acquire().await?;
    let mut retried = false;
    loop {
        let missing: Vec<&TenantId> = by_tenant
            .keys()
            .copied()
            .filter(|t| !cursors.contains_key(*t))
            .collect();
        let fresh = missing.len() == by_tenant.len();
        if !missing.is_empty() {
            load_cursors(shared, &mut conn, cursors, &missing).await?;
        }
        let mut results: Vec<Option<Result<ConsentAck>>> = jobs.iter().map(|_| None).collect();
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("BEGIN IMMEDIATE; ");
        let mut statements = 0usize;
        for (tenant, idxs) in &by_tenant {
            let Some(cursor) = cursors.get_mut(*tenant) else {
                for &i in idxs {
                    results[i] = Some(Err(StoreError::TenantNotFound(tenant.to_string())));
                }
                continue;
            };
            let old_consent = seq_i64(cursor.consent_seq)?;
            let old_audit = seq_i64(cursor.chain.next_seq().saturating_sub(1))?;
            let old_hash = cursor.chain.last_hash();
            let (events, rows) = consent_audit_events(jobs, idxs, &mut cursor.consent_seq);
            let appended = cursor.chain.append_batch(events);
            let tip = cursor.chain.checkpoint_now();
            qb.push("UPDATE tenant_heads SET consent_seq = CASE WHEN consent_seq = ")
                .push_bind(old_consent)
                .push(" AND audit_seq = ")
                .push_bind(old_audit)
                .push(" AND audit_hash = ")
                .push_bind(old_hash.0.to_vec())
                .push(" THEN ")
                .push_bind(seq_i64(cursor.consent_seq)?)
                .push(" END, audit_seq = ")
                .push_bind(seq_i64(cursor.chain.next_seq().saturating_sub(1))?)
                .push(", audit_hash = ")
                .push_bind(cursor.chain.last_hash().0.to_vec())
                .push(", tip_seq = ")
                .push_bind(tip.as_ref().map(|c| seq_i64(c.seq)).transpose()?)
                .push(", tip_hash = ")
                .push_bind(tip.as_ref().map(|c| c.hash.0.to_vec()))
                .push(", tip_sig = ")
                .push_bind(tip.as_ref().map(|c| c.signature.to_vec()))
                .push(" WHERE tenant_id = ")
                .push_bind(tenant.as_str().to_owned())
                .push("; ");
            push_audit_inserts(&mut qb, tenant, &appended)?;
            for (chunk_rows, chunk_entries) in rows
                .chunks(INSERT_CHUNK)
                .zip(appended.entries.chunks(INSERT_CHUNK))
            {
                push_consent_insert(&mut qb, jobs, chunk_rows, chunk_entries)?;
                qb.push("; ");
            }
            statements += 1;
            for (&(i, seq), entry) in rows.iter().zip(&appended.entries) {
                results[i] = Some(Ok(ConsentAck {
                    seq,
                    audit_seq: entry.seq,
                }));
            }
        }
        let results = results
            .into_iter()
            .map(|r| {
                r.unwrap_or(Err(StoreError::BatchFailed(
                    "event was not processed".into(),
                )))
            })
            .collect();
        if statements == 0 {
            // Only unknown tenants: nothing to write.
            return Ok(results);
        }
        qb.push("COMMIT");
        let written = qb.build().execute(&mut *conn).await;
        match written {
            Ok(_) => return Ok(results),
            Err(e) => {
                // Leave no transaction open on the shared connection, or drop it.
                if sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.is_err() {
                    conn.close_on_drop();
                }
                cursors.clear();
                if fresh || retried {
                    return Err(e.into());
                }
                retried = true;
            }
        }
    }
}

/// The PostgreSQL batch body, between BEGIN and COMMIT: per tenant, lock the head,
/// insert the audit entries and ledger rows, move the head.
async fn locked_consent_rows(
    shared: &Shared,
    cursors: &mut HashMap<TenantId, Cursor>,
    jobs: &[Job],
    conn: &mut DbConn,
) -> Result<Vec<Result<ConsentAck>>> {
    let mut results: Vec<Option<Result<ConsentAck>>> = jobs.iter().map(|_| None).collect();
    for (tenant, idxs) in jobs_by_tenant(jobs) {
        let Some(head) = lock_head(conn, tenant).await? else {
            for &i in &idxs {
                results[i] = Some(Err(StoreError::TenantNotFound(tenant.to_string())));
            }
            continue;
        };
        // Reuse the writer's chain while it matches the stored head (no other
        // writer appended since); otherwise resume from the head.
        let chain = match cursors.remove(tenant) {
            Some(c)
                if c.chain.next_seq() == head.audit_seq + 1
                    && c.chain.last_hash() == head.audit_hash =>
            {
                c.chain
            }
            _ => chain_at(shared, &head),
        };
        let cursor = cursors.entry(tenant.clone()).or_insert(Cursor {
            chain,
            consent_seq: head.consent_seq,
        });
        let (events, rows) = consent_audit_events(jobs, &idxs, &mut cursor.consent_seq);
        let entries = insert_audit(conn, tenant, &mut cursor.chain, events).await?;
        for (chunk_rows, chunk_entries) in
            rows.chunks(INSERT_CHUNK).zip(entries.chunks(INSERT_CHUNK))
        {
            let mut qb: QueryBuilder<Db> = QueryBuilder::new("");
            push_consent_insert(&mut qb, jobs, chunk_rows, chunk_entries)?;
            qb.build().execute(&mut *conn).await?;
        }
        store_head(conn, tenant, cursor.consent_seq, &cursor.chain).await?;
        for (&(i, seq), entry) in rows.iter().zip(&entries) {
            results[i] = Some(Ok(ConsentAck {
                seq,
                audit_seq: entry.seq,
            }));
        }
    }
    Ok(results
        .into_iter()
        .map(|r| {
            r.unwrap_or(Err(StoreError::BatchFailed(
                "event was not processed".into(),
            )))
        })
        .collect())
}

// ---------------------------------------------------------------------------
// row decoding

type PolicyRow = (String, String, String, String, i64, i64, bool);

fn policy_from_row(tenant: &TenantId, r: PolicyRow) -> Result<PolicyVersionRecord> {
    Ok(PolicyVersionRecord {
        tenant: tenant.clone(),
        content_hash: r.0,
        pack_id: r.1,
        label: r.2,
        source_toml: r.3,
        published: ns_ts(r.4)?,
        effective: ns_ts(r.5)?,
        significant: r.6,
    })
}

type ConsentRow = (
    String,
    i64,
    String,
    String,
    String,
    i64,
    String,
    i64,
    String,
);

fn consent_from_row(tenant: &TenantId, r: ConsentRow) -> Result<StoredConsentEvent> {
    Ok(StoredConsentEvent {
        seq: i64_seq(r.1)?,
        audit_seq: i64_seq(r.7)?,
        event: NewConsentEvent {
            tenant: tenant.clone(),
            subject: SubjectId::new(r.0),
            event_id: r.2,
            purpose: r.3,
            action: r.4,
            time: ns_ts(r.5)?,
            actor: r.6,
            event: serde_json::from_str(&r.8).map_err(|_| StoreError::Corrupt("consent event"))?,
        },
    })
}

type DisclosureRow = (String, String, String, String, String, Option<String>, i64);

type TipRow = (Option<i64>, Option<Vec<u8>>, Option<Vec<u8>>);

type AuditRow = (i64, i64, String, String, String, String, Vec<u8>, Vec<u8>);

fn audit_from_row(r: AuditRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: i64_seq(r.0)?,
        time: ns_ts(r.1)?,
        actor: r.2,
        action: r.3,
        target: r.4,
        detail: r.5,
        prev_hash: hash_from(&r.6)?,
        hash: hash_from(&r.7)?,
    })
}

/// Pages `verify_audit` lets each reader fetch ahead of the verifier.
const VERIFY_PAGES_AHEAD: usize = 2;

/// Readers `verify_audit` runs at once over disjoint seq ranges. More lanes than
/// cores still pay: each lane waits on its connection's thread between pages
/// (500,000 entries on SQLite: 694k/s with 1 lane, 846k/s with 2, 997k/s with 3,
/// 1,165k/s with 4, on 2 cores).
const VERIFY_LANES: i64 = 4;

/// One page of the audit log for `verify_audit` on SQLite, as one row: the number
/// of entries, the last seq, and every entry framed by [`next_audit_frame`] in one
/// value. One row per page instead of one per entry: sqlx copies every SQLite
/// column value into its own allocation and hands rows one by one to the async
/// side, which made reading, not hashing, the bottleneck (≈ 2.4 µs per entry).
/// The aggregate's order is unspecified (an `ORDER BY` inside it makes SQLite sort
/// again), so the verifier sorts each page's frames by seq, the primary key: the
/// same order as `ORDER BY seq`. `concat` and `string_agg` (SQLite ≥ 3.44) copy
/// values by length, so the raw hashes' NUL bytes pass. `concat` also turns the
/// integers into text, cheaper than `format('%d…')` (SQLite's printf was ≈ 9 % of
/// a verification's time).
const SQL_AUDIT_PAGE_SQLITE: &str = "SELECT count(*), max(seq), string_agg(concat(
         seq, ',', time_ns, ',', octet_length(actor), ',', octet_length(action), ',',
         octet_length(target), ',', octet_length(detail), ',', octet_length(prev_hash), ',',
         octet_length(hash), ',', actor, action, target, detail, prev_hash, hash), '')
     FROM (SELECT * FROM audit_log WHERE tenant_id = $1 AND seq > $2 AND seq <= $3
           ORDER BY seq LIMIT $4) AS p";
/// PostgreSQL sends each row as one buffer that [`audit_row_view`] borrows from:
/// plain rows are cheaper there than aggregating (measured).
const SQL_AUDIT_PAGE_PG: &str =
    "SELECT seq, time_ns, actor, action, target, detail, prev_hash, hash
     FROM audit_log WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4";

/// Whether this backend is PostgreSQL (a row per entry), else SQLite (a row per page).
const IS_PG: bool = matches!(<Db as sqlx::Database>::NAME.as_bytes(), b"PostgreSQL");

/// One page as the driver returned it.
type AuditPage = Vec<<Db as sqlx::Database>::Row>;

fn sql_audit_page() -> &'static str {
    if IS_PG {
        SQL_AUDIT_PAGE_PG
    } else {
        SQL_AUDIT_PAGE_SQLITE
    }
}

/// Entries in a page and the last one's seq.
fn audit_page_extent(page: &AuditPage) -> Result<(usize, Option<i64>)> {
    use sqlx::Row as _;
    if IS_PG {
        let last = page.last().map(|r| r.try_get::<i64, _>(0)).transpose()?;
        return Ok((page.len(), last));
    }
    let Some(row) = page.first() else {
        return Ok((0, None));
    };
    let count = usize::try_from(row.try_get::<i64, _>(0)?)
        .map_err(|_| StoreError::Corrupt("audit log page"))?;
    Ok((count, row.try_get::<Option<i64>, _>(1)?))
}

/// Decodes a whole page into entries borrowing from it, in seq order.
fn audit_page_entries(page: &AuditPage) -> Result<Vec<AuditEntryRef<'_>>> {
    use sqlx::Row as _;
    if IS_PG {
        return page.iter().map(audit_row_view).collect();
    }
    let (count, _) = audit_page_extent(page)?;
    let mut entries = Vec::with_capacity(count);
    if let Some(row) = page.first() {
        let mut rest: &[u8] = row.try_get::<Option<&[u8]>, _>(2)?.unwrap_or_default();
        while !rest.is_empty() {
            let (entry, tail) = next_audit_frame(rest)?;
            entries.push(entry);
            rest = tail;
        }
    }
    if entries.len() != count {
        return Err(StoreError::Corrupt("audit log page"));
    }
    // Already in order in practice: a linear check.
    entries.sort_by_key(|e| e.seq);
    Ok(entries)
}

/// The verifier's view of a row of [`SQL_AUDIT_PAGE_PG`], borrowing from it.
fn audit_row_view(r: &<Db as sqlx::Database>::Row) -> Result<AuditEntryRef<'_>> {
    use sqlx::Row as _;
    Ok(AuditEntryRef {
        seq: i64_seq(r.try_get(0)?)?,
        time: ns_ts(r.try_get(1)?)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        target: r.try_get(4)?,
        detail: r.try_get(5)?,
        prev_hash: hash_from(r.try_get(6)?)?,
        hash: hash_from(r.try_get(7)?)?,
    })
}

/// Splits the next entry off a page of [`SQL_AUDIT_PAGE_SQLITE`]: the header
/// `seq,time_ns,len(actor),len(action),len(target),len(detail),len(prev_hash),len(hash),`
/// (lengths in bytes), then the four texts and the two hashes. Returns the entry,
/// borrowing the page, and the rest of the page.
fn next_audit_frame(page: &[u8]) -> Result<(AuditEntryRef<'_>, &[u8])> {
    let bad = || StoreError::Corrupt("audit log page");
    let mut rest = page;
    let mut head = [0i64; 8];
    for n in &mut head {
        let comma = rest.iter().position(|&b| b == b',').ok_or_else(bad)?;
        *n = parse_i64(&rest[..comma]).ok_or_else(bad)?;
        rest = &rest[comma + 1..];
    }
    let mut take = |len: i64| -> Result<&[u8]> {
        let len = usize::try_from(len).map_err(|_| bad())?;
        let (field, tail) = rest.split_at_checked(len).ok_or_else(bad)?;
        rest = tail;
        Ok(field)
    };
    let entry = AuditEntryRef {
        seq: i64_seq(head[0])?,
        time: ns_ts(head[1])?,
        actor: utf8(take(head[2])?)?,
        action: utf8(take(head[3])?)?,
        target: utf8(take(head[4])?)?,
        detail: utf8(take(head[5])?)?,
        prev_hash: hash_from(take(head[6])?)?,
        hash: hash_from(take(head[7])?)?,
    };
    Ok((entry, rest))
}

fn utf8(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes).map_err(|_| StoreError::Corrupt("audit log page"))
}

/// A decimal integer with an optional leading `-`, as databases print them.
fn parse_i64(digits: &[u8]) -> Option<i64> {
    let (neg, digits) = match digits {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, digits),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n = 0i64;
    for &d in digits {
        let d = i64::from(d.wrapping_sub(b'0'));
        if d > 9 {
            return None;
        }
        // Accumulate negatively so i64::MIN parses too.
        n = n.checked_mul(10)?.checked_sub(d)?;
    }
    if neg { Some(n) } else { n.checked_neg() }
}

/// Fetches one page of the tenant's audit log: at most `limit` entries with
/// `after < seq <= upto`, in seq order.
async fn fetch_audit_page(
    pool: &Pool<Db>,
    tenant: &TenantId,
    after: i64,
    upto: i64,
    limit: u32,
) -> Result<AuditPage> {
    Ok(sqlx::query(sql_audit_page())
        .bind(tenant.as_str())
        .bind(after)
        .bind(upto)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?)
}

/// Sends the tenant's audit log to `tx` one page at a time, keyset-paged on seq:
/// one short statement per page, so no read transaction spans the whole log.
/// Ends after the first short page, after sending an error, or when the receiver
/// is gone (the verifier found a violation).
async fn read_audit_pages(
    pool: Pool<Db>,
    tenant: TenantId,
    mut after: i64,
    page_size: u32,
    tx: mpsc::Sender<Result<AuditPage>>,
) {
    loop {
        let page = fetch_audit_page(&pool, &tenant, after, i64::MAX, page_size).await;
        // On a decoding error the verifier decodes the same page and reports it.
        let next = match page.as_ref().map(audit_page_extent) {
            Ok(Ok((count, last))) if count >= page_size as usize => last,
            _ => None,
        };
        if tx.send(page).await.is_err() {
            return;
        }
        match next {
            Some(last) => after = last,
            None => return,
        }
    }
}

/// Sends the pages `lane`, `lane + lanes`, `lane + 2 * lanes`, … of the seq range
/// `1..=upto` cut into pages of `page_size` seqs: one of [`VERIFY_LANES`] readers
/// that fetch disjoint ranges at once, so reading (most of the cost on SQLite)
/// runs on as many connections. Ends after its last range, after sending an
/// error, or when the receiver is gone.
async fn read_audit_lane(
    pool: Pool<Db>,
    tenant: TenantId,
    lane: i64,
    upto: i64,
    page_size: u32,
    tx: mpsc::Sender<Result<Vec<HashCheck>>>,
) {
    let size = i64::from(page_size);
    let mut after = lane * size;
    let mut buf = Vec::new();
    while after < upto {
        // Each entry's hash depends only on the entry, so the lanes parse and
        // hash in parallel; the verifier keeps the ordered checks.
        let page = fetch_audit_page(&pool, &tenant, after, upto.min(after + size), page_size)
            .await
            .and_then(|page| {
                Ok(audit_page_entries(&page)?
                    .iter()
                    .map(|e| e.check_hash(&mut buf))
                    .collect())
            });
        let failed = page.is_err();
        if tx.send(page).await.is_err() || failed {
            return;
        }
        after += VERIFY_LANES * size;
    }
}

fn checkpoint_from_parts(seq: i64, hash: &[u8], sig: &[u8]) -> Result<Checkpoint> {
    let signature: [u8; 64] = sig
        .try_into()
        .map_err(|_| StoreError::Corrupt("checkpoint signature"))?;
    Ok(Checkpoint {
        seq: i64_seq(seq)?,
        hash: hash_from(hash)?,
        signature,
    })
}

/// Writes one sealed vault record, replacing the ciphertext and expiry of one
/// already held under the same key (its creation time stays).
async fn upsert_vault_record(
    tx: &mut sqlx::Transaction<'_, Db>,
    key: &VaultKey,
    ciphertext: Vec<u8>,
    created_ns: i64,
    expires_ns: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO vault_records
           (tenant_id, subject_id, category, record_id, ciphertext, created_ns, expires_ns)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id, subject_id, category, record_id) DO UPDATE SET
           ciphertext = excluded.ciphertext, expires_ns = excluded.expires_ns",
    )
    .bind(key.tenant.as_str())
    .bind(key.subject.as_str())
    .bind(key.category.as_str())
    .bind(key.record.as_str())
    .bind(ciphertext)
    .bind(created_ns)
    .bind(expires_ns)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// the trait

impl Store for This {
    async fn migrate(&self) -> Result<()> {
        let s = &self.inner.shared;
        run_migrations(&s.data_write, "data", DATA_MIGRATIONS).await?;
        run_migrations(&s.keys, "keys", KEY_MIGRATIONS).await
    }

    async fn create_tenant(&self, id: &TenantId, name: &str) -> Result<()> {
        let s = &self.inner.shared;
        if self.tenant(id).await?.is_some() {
            return Err(StoreError::Conflict("tenant"));
        }
        // Keys first, in the key store. Losing a race leaves the winner's keys in
        // place (DO NOTHING) and both callers then use them.
        let (_, tek) = s.vault.create_tenant_key(id)?;
        let (_, blind) = s.vault.create_blind_index_key(id)?;
        let now = ts_ns(jiff::Timestamp::now())?;
        for (kind, w) in [("tek", &tek), ("blind", &blind)] {
            sqlx::query(
                "INSERT INTO tenant_keys (tenant_id, kind, key_version, wrapped, created_ns)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, kind, key_version) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(kind)
            .bind(i64::from(w.key_version.0))
            .bind(w.to_bytes())
            .bind(now)
            .execute(&s.keys)
            .await?;
        }
        let mut tx = begin_data(s).await?;
        let inserted = sqlx::query(
            "INSERT INTO tenants (tenant_id, name, created_ns) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict("tenant"));
        }
        sqlx::query(
            "INSERT INTO tenant_heads (tenant_id, consent_seq, audit_seq, audit_hash) VALUES ($1, 0, 0, $2)",
        )
        .bind(id.as_str())
        .bind(AuditHash::GENESIS.0.to_vec())
        .execute(&mut *tx)
        .await?;
        let head = require_head(&mut tx, id).await?;
        let event = audit_event(
            "system",
            "tenant.created",
            format!("tenant:{id}"),
            serde_json::json!({ "tek_version": tek.key_version.0 }),
        );
        audit_in_tx(s, &mut tx, id, &head, vec![event]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT name, created_ns FROM tenants WHERE tenant_id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.inner.shared.data_read)
                .await?;
        row.map(|(name, created)| {
            Ok(Tenant {
                id: id.clone(),
                name,
                created: ns_ts(created)?,
            })
        })
        .transpose()
    }

    async fn publish_policy_version(&self, v: &PolicyVersionRecord, actor: &str) -> Result<()> {
        let event = audit_event(
            actor,
            "policy.published",
            format!("policy:{}", v.content_hash),
            serde_json::json!({ "pack": v.pack_id, "label": v.label, "significant": v.significant }),
        );
        let (res, _) = audited!(&self.inner.shared, &v.tenant, event, |tx| {
            sqlx::query(
                "INSERT INTO policy_versions
                   (tenant_id, content_hash, pack_id, label, published_ns, effective_ns, significant, source_toml)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (tenant_id, content_hash) DO NOTHING",
            )
            .bind(v.tenant.as_str())
            .bind(&v.content_hash)
            .bind(&v.pack_id)
            .bind(&v.label)
            .bind(ts_ns(v.published)?)
            .bind(ts_ns(v.effective)?)
            .bind(v.significant)
            .bind(&v.source_toml)
            .execute(&mut *tx)
            .await?
        });
        if res.rows_affected() == 0 {
            return Err(StoreError::Conflict("policy version"));
        }
        Ok(())
    }

    async fn policy_versions(&self, tenant: &TenantId) -> Result<Vec<PolicyVersionRecord>> {
        let rows: Vec<PolicyRow> = sqlx::query_as(
            "SELECT content_hash, pack_id, label, source_toml, published_ns, effective_ns, significant
             FROM policy_versions WHERE tenant_id = $1 ORDER BY published_ns, content_hash",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter()
            .map(|r| policy_from_row(tenant, r))
            .collect()
    }

    async fn upsert_subject(&self, sr: &SubjectRecord, actor: &str) -> Result<()> {
        let event = audit_event(
            actor,
            "subject.upserted",
            subject_target(&sr.subject),
            serde_json::json!({ "age_band": sr.age_band, "status": sr.status,
                "guardian": sr.guardian.as_ref().map(|g| g.as_str()) }),
        );
        audited!(&self.inner.shared, &sr.tenant, event, |tx| {
            sqlx::query(
                "INSERT INTO subjects (tenant_id, subject_id, age_band, guardian_id, status, created_ns)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant_id, subject_id) DO UPDATE SET
                   age_band = excluded.age_band, guardian_id = excluded.guardian_id,
                   status = excluded.status",
            )
            .bind(sr.tenant.as_str())
            .bind(sr.subject.as_str())
            .bind(sr.age_band.as_deref())
            .bind(sr.guardian.as_ref().map(|g| g.as_str().to_owned()))
            .bind(&sr.status)
            .bind(ts_ns(sr.created)?)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    async fn subject(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> Result<Option<SubjectRecord>> {
        let row: Option<(Option<String>, Option<String>, String, i64)> = sqlx::query_as(
            "SELECT age_band, guardian_id, status, created_ns FROM subjects
             WHERE tenant_id = $1 AND subject_id = $2",
        )
        .bind(tenant.as_str())
        .bind(subject.as_str())
        .fetch_optional(&self.inner.shared.data_read)
        .await?;
        row.map(|(age_band, guardian, status, created)| {
            Ok(SubjectRecord {
                tenant: tenant.clone(),
                subject: subject.clone(),
                age_band,
                guardian: guardian.map(SubjectId::new),
                status,
                created: ns_ts(created)?,
            })
        })
        .transpose()
    }

    async fn put_identity(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        kind: IdentifierKind,
        value: &str,
        default_region: &str,
        access: &Access,
    ) -> Result<BlindToken> {
        let s = &self.inner.shared;
        let keys = tenant_keys(s, tenant).await?;
        let token = blind_token(&keys, kind, value, default_region)?;
        let dek = subject_key_for_write(s, &keys, tenant, subject).await?;
        // The record id is the token: the ciphertext is bound to its index row.
        let ct = dek.encrypt(
            &identity_category(kind),
            &RecordId::new(token.as_str()),
            value.as_bytes(),
        )?;
        let event = audit_event(
            &access.actor,
            "identity.linked",
            subject_target(subject),
            serde_json::json!({ "kind": kind.as_str(), "purpose": access.purpose }),
        );
        let (res, _) = audited!(s, tenant, event, |tx| {
            sqlx::query(
                "INSERT INTO identities (tenant_id, token, kind, subject_id, value_ct, created_ns)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant_id, token) DO NOTHING",
            )
            .bind(tenant.as_str())
            .bind(token.as_str())
            .bind(kind.as_str())
            .bind(subject.as_str())
            .bind(ct.into_bytes())
            .bind(ts_ns(jiff::Timestamp::now())?)
            .execute(&mut *tx)
            .await?
        });
        if res.rows_affected() == 0 {
            // Already linked: fine if to the same subject, a conflict otherwise.
            match self.find_by_token(tenant, &token).await? {
                Some(owner) if &owner == subject => {}
                _ => return Err(StoreError::Conflict("identity")),
            }
        }
        Ok(token)
    }

    async fn find_subject(
        &self,
        tenant: &TenantId,
        kind: IdentifierKind,
        value: &str,
        default_region: &str,
    ) -> Result<Option<SubjectId>> {
        let keys = tenant_keys(&self.inner.shared, tenant).await?;
        let token = blind_token(&keys, kind, value, default_region)?;
        self.find_by_token(tenant, &token).await
    }

    async fn identities(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        access: &Access,
    ) -> Result<Vec<(IdentifierKind, Zeroizing<String>)>> {
        let s = &self.inner.shared;
        let keys = tenant_keys(s, tenant).await?;
        let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT token, kind, value_ct FROM identities
             WHERE tenant_id = $1 AND subject_id = $2 ORDER BY kind, token",
        )
        .bind(tenant.as_str())
        .bind(subject.as_str())
        .fetch_all(&s.data_read)
        .await?;
        let event = audit_event(
            &access.actor,
            "vault.read",
            subject_target(subject),
            serde_json::json!({ "category": "identity", "purpose": access.purpose, "count": rows.len() }),
        );
        audited!(s, tenant, event, |tx| {
            let _ = &mut tx;
        });
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let dek = subject_key_for_read(s, &keys, tenant, subject).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (token, kind, ct) in rows {
            let kind = kind_parse(&kind)?;
            let plain = dek.decrypt(
                &identity_category(kind),
                &RecordId::new(token),
                &EncryptedField::from_bytes(ct)?,
            )?;
            let text = String::from_utf8(plain.to_vec())
                .map_err(|_| StoreError::Corrupt("identity value"))?;
            out.push((kind, Zeroizing::new(text)));
        }
        Ok(out)
    }

    async fn append_consent(&self, event: NewConsentEvent) -> Result<ConsentAck> {
        let (ack, rx) = oneshot::channel();
        self.inner
            .jobs
            .send(Job { event, ack })
            .await
            .map_err(|_| StoreError::WriterClosed)?;
        rx.await.map_err(|_| StoreError::WriterClosed)?
    }

    async fn append_ledger_event(&self, ev: &troth_core::LedgerEvent) -> Result<ConsentAck> {
        let mut rec =
            crate::ledger::ledger_record(ev).map_err(|_| StoreError::OutOfRange("ledger event"))?;
        if crate::ledger::carries_pi(ev) {
            // Seal before the writer sees it: the clear JSON never reaches SQL.
            let s = &self.inner.shared;
            let keys = tenant_keys(s, &rec.tenant).await?;
            let dek = subject_key_for_write(s, &keys, &rec.tenant, &rec.subject).await?;
            let ct = dek.encrypt(
                &troth_crypto::CategoryId::new(crate::ledger::SEALED_CATEGORY),
                &RecordId::new(rec.event_id.as_str()),
                rec.event.to_string().as_bytes(),
            )?;
            rec.event = serde_json::json!({
                crate::ledger::SEALED_KEY: crate::ledger::to_hex(ct.as_bytes())
            });
        }
        self.append_consent(rec).await
    }

    async fn ledger_events(
        &self,
        tenant: &troth_core::TenantId,
        subject: &troth_core::SubjectId,
    ) -> Result<Vec<troth_core::LedgerEvent>> {
        let (t, sub) = (
            crate::ledger::tenant_id(tenant),
            crate::ledger::subject_id(subject),
        );
        let rows = self.consent_events(&t, &sub).await?;
        let mut dek: Option<SubjectKey> = None;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let sealed = row
                .event
                .event
                .get(crate::ledger::SEALED_KEY)
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let value = match sealed {
                None => row.event.event,
                Some(hex) => {
                    if dek.is_none() {
                        let s = &self.inner.shared;
                        let keys = tenant_keys(s, &t).await?;
                        match subject_key_for_read(s, &keys, &t, &sub).await {
                            Ok(k) => dek = Some(k),
                            // Shredded with the subject: nothing left to return.
                            Err(e) if e.is_key_destroyed() => continue,
                            Err(e) => return Err(e),
                        }
                    }
                    let Some(key) = dek.as_ref() else { continue };
                    let bytes = crate::ledger::from_hex(&hex)
                        .ok_or(StoreError::Corrupt("sealed ledger event"))?;
                    let plain = key.decrypt(
                        &troth_crypto::CategoryId::new(crate::ledger::SEALED_CATEGORY),
                        &RecordId::new(row.event.event_id.as_str()),
                        &EncryptedField::from_bytes(bytes)?,
                    )?;
                    serde_json::from_slice(&plain)
                        .map_err(|_| StoreError::Corrupt("sealed ledger event"))?
                }
            };
            out.push(
                serde_json::from_value(value).map_err(|_| StoreError::Corrupt("ledger event"))?,
            );
        }
        Ok(out)
    }

    async fn consent_events(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> Result<Vec<StoredConsentEvent>> {
        let rows: Vec<ConsentRow> = sqlx::query_as(
            "SELECT subject_id, seq, event_id, purpose, action, time_ns, actor, audit_seq, event_json
             FROM consent_events WHERE tenant_id = $1 AND subject_id = $2 ORDER BY seq",
        )
        .bind(tenant.as_str())
        .bind(subject.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter()
            .map(|r| consent_from_row(tenant, r))
            .collect()
    }

    async fn vault_put(
        &self,
        key: &VaultKey,
        plaintext: &[u8],
        expires: Option<jiff::Timestamp>,
        access: &Access,
    ) -> Result<()> {
        let s = &self.inner.shared;
        let ct = seal_value(s, key, plaintext).await?;
        let event = vault_event(key, "vault.write", access);
        let expires = expires.map(ts_ns).transpose()?;
        let created = ts_ns(jiff::Timestamp::now())?;
        audited!(s, &key.tenant, event, |tx| {
            upsert_vault_record(&mut tx, key, ct.into_bytes(), created, expires).await?;
        });
        Ok(())
    }

    async fn vault_get(&self, key: &VaultKey, access: &Access) -> Result<Zeroizing<Vec<u8>>> {
        let s = &self.inner.shared;
        let keys = tenant_keys(s, &key.tenant).await?;
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT ciphertext FROM vault_records
             WHERE tenant_id = $1 AND subject_id = $2 AND category = $3 AND record_id = $4",
        )
        .bind(key.tenant.as_str())
        .bind(key.subject.as_str())
        .bind(key.category.as_str())
        .bind(key.record.as_str())
        .fetch_optional(&s.data_read)
        .await?;
        let (ct,) = row.ok_or(StoreError::NotFound("vault record"))?;
        // Audit the read before releasing the value: an unaudited read never happens.
        let event = vault_event(key, "vault.read", access);
        audited!(s, &key.tenant, event, |tx| {
            let _ = &mut tx;
        });
        let dek = subject_key_for_read(s, &keys, &key.tenant, &key.subject).await?;
        Ok(dek.decrypt(&key.category, &key.record, &EncryptedField::from_bytes(ct)?)?)
    }

    async fn vault_replace(&self, key: &VaultKey, plaintext: &[u8], access: &Access) -> Result<bool> {
        let s = &self.inner.shared;
        let ct = seal_value(s, key, plaintext).await?;
        let event = vault_event(key, "vault.correct", access);
        // Not `audited!`: a record that is not there is neither written nor audited.
        let mut tx = begin_data(s).await?;
        let head = require_head(&mut tx, &key.tenant).await?;
        let res = sqlx::query(
            "UPDATE vault_records SET ciphertext = $5
             WHERE tenant_id = $1 AND subject_id = $2 AND category = $3 AND record_id = $4",
        )
        .bind(key.tenant.as_str())
        .bind(key.subject.as_str())
        .bind(key.category.as_str())
        .bind(key.record.as_str())
        .bind(ct.into_bytes())
        .execute(&mut *tx)
        .await?;
        if res.rows_affected() == 0 {
            return Ok(false);
        }
        audit_in_tx(s, &mut tx, &key.tenant, &head, vec![event]).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn vault_delete(&self, key: &VaultKey, access: &Access) -> Result<bool> {
        let event = vault_event(key, "vault.delete", access);
        let (res, _) = audited!(&self.inner.shared, &key.tenant, event, |tx| {
            sqlx::query(
                "DELETE FROM vault_records
                 WHERE tenant_id = $1 AND subject_id = $2 AND category = $3 AND record_id = $4",
            )
            .bind(key.tenant.as_str())
            .bind(key.subject.as_str())
            .bind(key.category.as_str())
            .bind(key.record.as_str())
            .execute(&mut *tx)
            .await?
        });
        Ok(res.rows_affected() > 0)
    }

    async fn vault_delete_except(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        keep: &[String],
        access: &Access,
    ) -> Result<u64> {
        let event = audit_event(
            &access.actor,
            "vault.delete_except",
            subject_target(subject),
            serde_json::json!({ "kept_categories": keep, "purpose": access.purpose }),
        );
        let (res, _) = audited!(&self.inner.shared, tenant, event, |tx| {
            let mut qb: QueryBuilder<Db> =
                QueryBuilder::new("DELETE FROM vault_records WHERE tenant_id = ");
            qb.push_bind(tenant.as_str().to_owned())
                .push(" AND subject_id = ")
                .push_bind(subject.as_str().to_owned());
            if !keep.is_empty() {
                qb.push(" AND category NOT IN (");
                let mut list = qb.separated(", ");
                for c in keep {
                    list.push_bind(c.clone());
                }
                qb.push(")");
            }
            qb.build().execute(&mut *tx).await?
        });
        Ok(res.rows_affected())
    }

    async fn erase_subject(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        access: &Access,
    ) -> Result<ErasureReport> {
        let s = &self.inner.shared;
        // 1. Destroy the key in the key store and make that durable first: from here
        //    on every copy of the subject's ciphertext, backups included, is noise.
        let destroyed =
            sqlx::query("DELETE FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2")
                .bind(tenant.as_str())
                .bind(subject.as_str())
                .execute(&s.keys)
                .await?
                .rows_affected()
                > 0;
        // 2. Remove the now-unreadable rows and record the erasure. If this step
        //    fails the subject is still shredded, and a retry finishes the cleanup.
        let mut tx = begin_data(s).await?;
        let head = require_head(&mut tx, tenant).await?;
        let records =
            sqlx::query("DELETE FROM vault_records WHERE tenant_id = $1 AND subject_id = $2")
                .bind(tenant.as_str())
                .bind(subject.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        let identities =
            sqlx::query("DELETE FROM identities WHERE tenant_id = $1 AND subject_id = $2")
                .bind(tenant.as_str())
                .bind(subject.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        sqlx::query(
            "UPDATE subjects SET status = 'erased' WHERE tenant_id = $1 AND subject_id = $2",
        )
        .bind(tenant.as_str())
        .bind(subject.as_str())
        .execute(&mut *tx)
        .await?;
        let event = audit_event(
            &access.actor,
            "subject.erased",
            subject_target(subject),
            serde_json::json!({ "key_destroyed": destroyed, "records": records,
                "identities": identities, "purpose": access.purpose }),
        );
        let seqs = audit_in_tx(s, &mut tx, tenant, &head, vec![event]).await?;
        tx.commit().await?;
        tracing::info!(tenant = %tenant, subject = %subject, records, "subject erased");
        Ok(ErasureReport {
            key_destroyed: destroyed,
            records_deleted: records,
            identities_deleted: identities,
            audit_seq: seqs.first().copied().unwrap_or(0),
        })
    }

    async fn record_disclosure(&self, d: &Disclosure, actor: &str) -> Result<()> {
        let categories = serde_json::to_string(&d.categories)
            .map_err(|_| StoreError::OutOfRange("categories"))?;
        let event = audit_event(
            actor,
            "disclosure.recorded",
            subject_target(&d.subject),
            serde_json::json!({ "recipient": d.recipient, "categories": d.categories,
                "purpose": d.purpose, "basis": d.basis, "destination": d.destination }),
        );
        let (res, _) = audited!(&self.inner.shared, &d.tenant, event, |tx| {
            sqlx::query(
                "INSERT INTO disclosures (tenant_id, subject_id, disclosure_id, recipient, categories,
                   purpose, basis, destination, time_ns)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (tenant_id, subject_id, disclosure_id) DO NOTHING",
            )
            .bind(d.tenant.as_str())
            .bind(d.subject.as_str())
            .bind(&d.disclosure_id)
            .bind(&d.recipient)
            .bind(categories)
            .bind(&d.purpose)
            .bind(&d.basis)
            .bind(d.destination.as_deref())
            .bind(ts_ns(d.time)?)
            .execute(&mut *tx)
            .await?
        });
        if res.rows_affected() == 0 {
            return Err(StoreError::Conflict("disclosure"));
        }
        Ok(())
    }

    async fn disclosures(&self, tenant: &TenantId, subject: &SubjectId) -> Result<Vec<Disclosure>> {
        let rows: Vec<DisclosureRow> = sqlx::query_as(
            "SELECT disclosure_id, recipient, categories, purpose, basis, destination, time_ns
             FROM disclosures WHERE tenant_id = $1 AND subject_id = $2 ORDER BY time_ns, disclosure_id",
        )
        .bind(tenant.as_str())
        .bind(subject.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Disclosure {
                    tenant: tenant.clone(),
                    subject: subject.clone(),
                    disclosure_id: r.0,
                    recipient: r.1,
                    categories: serde_json::from_str(&r.2)
                        .map_err(|_| StoreError::Corrupt("disclosure categories"))?,
                    purpose: r.3,
                    basis: r.4,
                    destination: r.5,
                    time: ns_ts(r.6)?,
                })
            })
            .collect()
    }

    async fn append_audit(&self, tenant: &TenantId, events: Vec<AuditEvent>) -> Result<Vec<u64>> {
        let s = &self.inner.shared;
        let mut tx = begin_data(s).await?;
        let head = require_head(&mut tx, tenant).await?;
        let seqs = audit_in_tx(s, &mut tx, tenant, &head, events).await?;
        tx.commit().await?;
        Ok(seqs)
    }

    async fn audit_entries(
        &self,
        tenant: &TenantId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT seq, time_ns, actor, action, target, detail, prev_hash, hash
             FROM audit_log WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(seq_i64(after)?)
        .bind(i64::from(limit))
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter().map(audit_from_row).collect()
    }

    async fn audit_checkpoints(&self, tenant: &TenantId) -> Result<Vec<Checkpoint>> {
        let s = &self.inner.shared;
        let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, hash, signature FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY seq",
        )
        .bind(tenant.as_str())
        .fetch_all(&s.data_read)
        .await?;
        let mut out = rows
            .iter()
            .map(|(seq, h, sig)| checkpoint_from_parts(*seq, h, sig))
            .collect::<Result<Vec<_>>>()?;
        let tip: Option<TipRow> = sqlx::query_as(
            "SELECT tip_seq, tip_hash, tip_sig FROM tenant_heads WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_optional(&s.data_read)
        .await?;
        if let Some((Some(seq), Some(h), Some(sig))) = tip {
            out.push(checkpoint_from_parts(seq, &h, &sig)?);
        }
        Ok(out)
    }

    async fn verify_audit(&self, tenant: &TenantId) -> Result<VerifyReport> {
        // Checkpoints first: any entry appended while we page through is then
        // simply beyond the newest checkpoint we hold, not a false truncation.
        let checkpoints = self.audit_checkpoints(tenant).await?;
        let s = &self.inner.shared;
        let page_size = s.verify_page;
        // One run over the whole chain: checkpoints beyond the current page wait
        // for later pages, or flag a truncated tail at the end.
        let mut run = AuditVerifier::new(s.audit_key).begin(&checkpoints);

        // Fast path for an intact log, whose seqs are exactly 1..=max: readers
        // fetch alternate ranges of `page_size` seqs at once and this task
        // verifies them in order. The first range holding fewer entries than
        // seqs (a deleted row, an error) ends it; the sequential reader below
        // takes over from the last verified entry and finds the fault exactly
        // as it would have from the start.
        let upto: Option<i64> =
            sqlx::query_scalar("SELECT max(seq) FROM audit_log WHERE tenant_id = $1")
                .bind(tenant.as_str())
                .fetch_one(&s.data_read)
                .await?;
        let upto = upto.unwrap_or(0);
        let mut lanes = Vec::new();
        for lane in 0..VERIFY_LANES {
            let (tx, rx) = mpsc::channel(VERIFY_PAGES_AHEAD);
            tokio::spawn(read_audit_lane(
                s.data_read.clone(),
                tenant.clone(),
                lane,
                upto,
                page_size,
                tx,
            ));
            lanes.push(rx);
        }
        let size = i64::from(page_size);
        let mut verified = 0i64;
        'fast: while verified < upto {
            let lane = usize::try_from((verified / size) % VERIFY_LANES)
                .map_err(|_| StoreError::Corrupt("audit log page"))?;
            let Some(Ok(checks)) = lanes[lane].recv().await else {
                break 'fast;
            };
            let expected = upto.min(verified + size) - verified;
            let last = checks.last().map(|c| c.seq());
            if i64::try_from(checks.len()).ok() != Some(expected)
                || last != u64::try_from(verified + expected).ok()
            {
                break 'fast;
            }
            for check in checks {
                run.push_checked(check)?;
            }
            verified += expected;
            // Let other tasks on this worker run between pages.
            tokio::task::yield_now().await;
        }
        // Dropping the receivers stops the lane readers.
        drop(lanes);

        // The sequential reader: the rest of the log after the fast path,
        // including entries appended meanwhile. A page starting at a seq other
        // than expected (a deleted row at the boundary) is a gap.
        let (tx, mut rx) = mpsc::channel(VERIFY_PAGES_AHEAD);
        tokio::spawn(read_audit_pages(
            s.data_read.clone(),
            tenant.clone(),
            verified,
            page_size,
            tx,
        ));
        loop {
            // The reader ends only after a short page or an error it sends.
            let page = rx.recv().await.ok_or(sqlx::Error::WorkerCrashed)??;
            let (count, _) = audit_page_extent(&page)?;
            for entry in audit_page_entries(&page)? {
                run.push(entry)?;
            }
            if count < page_size as usize {
                return Ok(run.finish()?);
            }
            tokio::task::yield_now().await;
        }
    }

    fn audit_public_key(&self) -> PublicKey {
        self.inner.shared.audit_key
    }
}

fn blind_token(
    keys: &TenantKeys,
    kind: IdentifierKind,
    value: &str,
    default_region: &str,
) -> Result<BlindToken> {
    Ok(match kind {
        IdentifierKind::Email => keys.blind.email(value)?,
        IdentifierKind::Phone => keys.blind.phone(value, default_region)?,
        IdentifierKind::ExternalId => keys.blind.external_id(value)?,
    })
}

impl This {
    async fn find_by_token(
        &self,
        tenant: &TenantId,
        token: &BlindToken,
    ) -> Result<Option<SubjectId>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT subject_id FROM identities WHERE tenant_id = $1 AND token = $2")
                .bind(tenant.as_str())
                .bind(token.as_str())
                .fetch_optional(&self.inner.shared.data_read)
                .await?;
        Ok(row.map(|(s,)| SubjectId::new(s)))
    }

    /// Closes the connection pools after the writer drained (pending acks are sent).
    pub async fn close(&self) {
        let s = &self.inner.shared;
        s.data_write.close().await;
        s.data_read.close().await;
        s.keys.close().await;
    }

    /// The wrapped data key of a subject, if it has one (for key-rotation tooling).
    pub async fn has_subject_key(&self, tenant: &TenantId, subject: &SubjectId) -> Result<bool> {
        Ok(wrapped_subject_key(&self.inner.shared, tenant, subject)
            .await?
            .is_some())
    }
}
