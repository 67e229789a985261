// Key rotation by re-wrapping, compiled once per backend.
//
// This file is `include!`d into `sqlite.rs` and `postgres.rs` right after
// `common.rs`, whose items (`Shared`, `TenantKeys`, `tenant_keys`, ...) it uses.
// Data ciphertext is never touched: only wrapped keys in the key database change.
//
// Tenant-key rotation and running servers. A server caches its tenants' unwrapped
// keys, so while (and after) another process rotates a tenant key:
// * a subject key wrapped under a version other than the cached one is opened with
//   that version: a newer one refreshes the cache, an older one (kept until the
//   rotation's sweep retires it) is read from the key database;
// * a new subject key is stored only while its tenant-key version is the newest
//   (`insert_subject_key`), so a stale cache cannot keep creating keys under a
//   version about to be retired; the writer refreshes and retries instead;
// * a version is retired in one key-database transaction that first deletes its
//   row (locking out the insert above) and then checks that no subject key is
//   still wrapped under it, rolling back if one is.

use crate::any::{MasterRewrap, TenantRotation};
use troth_crypto::{CryptoError, KeyVersion};

/// Subject keys re-wrapped per key-database transaction (short, so concurrent
/// writers barely wait).
const REWRAP_PAGE: i64 = 500;
/// Sweeps a tenant rotation makes before leaving an old version for a later run.
const SWEEP_PASSES: usize = 3;
/// Attempts to create a subject key while concurrent rotations move the tenant key.
const CREATE_ATTEMPTS: usize = 4;

fn is_postgres() -> bool {
    <Db as sqlx::Database>::NAME == "PostgreSQL"
}

fn forget_tenant_keys(shared: &Shared, tenant: &TenantId) {
    shared
        .key_cache
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(tenant);
}

/// One stored tenant-key version, unwrapped (old versions during a rotation).
async fn tenant_key_version(
    shared: &Shared,
    tenant: &TenantId,
    version: KeyVersion,
) -> Result<TenantKey> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as(
        "SELECT wrapped FROM tenant_keys WHERE tenant_id = $1 AND kind = 'tek' AND key_version = $2",
    )
    .bind(tenant.as_str())
    .bind(i64::from(version.0))
    .fetch_optional(&shared.keys)
    .await?;
    let (bytes,) = row.ok_or(StoreError::Crypto(CryptoError::UnknownKeyVersion(version.0)))?;
    Ok(shared
        .vault
        .open_tenant_key(tenant, &WrappedKey::from_bytes(&bytes)?)?)
}

/// Opens a subject key under whichever tenant-key version wraps it.
async fn open_subject_key_any(
    shared: &Shared,
    keys: &TenantKeys,
    tenant: &TenantId,
    subject: &SubjectId,
    wrapped: &WrappedKey,
) -> Result<SubjectKey> {
    let cached = keys.tek.version();
    if wrapped.wrapping_version == cached {
        return Ok(keys.tek.open_subject_key(subject, Some(wrapped))?);
    }
    if wrapped.wrapping_version > cached {
        // Another process rotated the tenant key: pick up the new current version.
        forget_tenant_keys(shared, tenant);
        let fresh = tenant_keys(shared, tenant).await?;
        if fresh.tek.version() == wrapped.wrapping_version {
            return Ok(fresh.tek.open_subject_key(subject, Some(wrapped))?);
        }
    }
    let tek = tenant_key_version(shared, tenant, wrapped.wrapping_version).await?;
    Ok(tek.open_subject_key(subject, Some(wrapped))?)
}

/// Stores a new subject key, but only while the version wrapping it is the tenant's
/// newest tenant-key version. On PostgreSQL the version row is key-share locked, so
/// a concurrent retirement (which deletes it) waits for this insert or sees it.
/// Returns false when nothing was inserted (another creator won, or the version
/// is stale); the caller re-reads the row to tell which.
async fn insert_subject_key(
    shared: &Shared,
    tenant: &TenantId,
    subject: &SubjectId,
    wrapped: &WrappedKey,
) -> Result<bool> {
    let sql = if is_postgres() {
        "INSERT INTO subject_keys (tenant_id, subject_id, wrapped, created_ns)
         SELECT $1, $2, $3, $4 FROM tenant_keys
         WHERE tenant_id = $1 AND kind = 'tek' AND key_version = $5
           AND NOT EXISTS (SELECT 1 FROM tenant_keys n
                           WHERE n.tenant_id = $1 AND n.kind = 'tek' AND n.key_version > $5)
         FOR KEY SHARE
         ON CONFLICT (tenant_id, subject_id) DO NOTHING"
    } else {
        // One statement is atomic against the retiring transaction (one writer).
        "INSERT INTO subject_keys (tenant_id, subject_id, wrapped, created_ns)
         SELECT $1, $2, $3, $4 FROM tenant_keys
         WHERE tenant_id = $1 AND kind = 'tek' AND key_version = $5
           AND NOT EXISTS (SELECT 1 FROM tenant_keys n
                           WHERE n.tenant_id = $1 AND n.kind = 'tek' AND n.key_version > $5)
         ON CONFLICT (tenant_id, subject_id) DO NOTHING"
    };
    let done = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(subject.as_str())
        .bind(wrapped.to_bytes())
        .bind(ts_ns(jiff::Timestamp::now())?)
        .bind(i64::from(wrapped.wrapping_version.0))
        .execute(&shared.keys)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Opens the subject's data key, creating it on first write (rotation-safe).
async fn rotating_subject_key_for_write(
    shared: &Shared,
    keys: &TenantKeys,
    tenant: &TenantId,
    subject: &SubjectId,
) -> Result<SubjectKey> {
    let mut fresh: Option<Arc<TenantKeys>> = None;
    for _ in 0..CREATE_ATTEMPTS {
        let keys = fresh.as_deref().unwrap_or(keys);
        if let Some(w) = wrapped_subject_key(shared, tenant, subject).await? {
            return open_subject_key_any(shared, keys, tenant, subject, &w).await;
        }
        let (_, wrapped) = keys.tek.create_subject_key(subject)?;
        if !insert_subject_key(shared, tenant, subject, &wrapped).await? {
            // Either a concurrent creator won (the next read finds its row) or our
            // tenant key is no longer the newest: refresh before trying again.
            forget_tenant_keys(shared, tenant);
            fresh = Some(tenant_keys(shared, tenant).await?);
        }
    }
    let w = wrapped_subject_key(shared, tenant, subject)
        .await?
        .ok_or(StoreError::NotFound("subject key"))?;
    let keys = fresh.as_deref().unwrap_or(keys);
    open_subject_key_any(shared, keys, tenant, subject, &w).await
}

/// Opens the subject's data key for reading; erased subjects yield `KeyDestroyed`.
async fn rotating_subject_key_for_read(
    shared: &Shared,
    keys: &TenantKeys,
    tenant: &TenantId,
    subject: &SubjectId,
) -> Result<SubjectKey> {
    match wrapped_subject_key(shared, tenant, subject).await? {
        Some(w) => open_subject_key_any(shared, keys, tenant, subject, &w).await,
        None => Ok(keys.tek.open_subject_key(subject, None)?),
    }
}

fn wrapping_version_of(bytes: &[u8]) -> Result<KeyVersion> {
    Ok(WrappedKey::from_bytes(bytes)?.wrapping_version)
}

impl This {
    /// Every tenant id, sorted (for maintenance commands that walk all tenants).
    pub async fn tenant_ids(&self) -> Result<Vec<TenantId>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT tenant_id FROM tenants ORDER BY tenant_id")
                .fetch_all(&self.inner.shared.data_read)
                .await?;
        Ok(rows.into_iter().map(|(t,)| TenantId::new(t)).collect())
    }

    /// How many tenant and blind-index keys each master key version wraps. A master
    /// version absent here can be removed from the keyring.
    pub async fn master_key_usage(&self) -> Result<BTreeMap<KeyVersion, u64>> {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT wrapped FROM tenant_keys")
            .fetch_all(&self.inner.shared.keys)
            .await?;
        let mut out = BTreeMap::new();
        for (bytes,) in rows {
            *out.entry(wrapping_version_of(&bytes)?).or_insert(0) += 1;
        }
        Ok(out)
    }

    /// How many of the tenant's subject keys each tenant-key version wraps.
    pub async fn subject_key_versions(&self, tenant: &TenantId) -> Result<BTreeMap<KeyVersion, u64>> {
        let mut out = BTreeMap::new();
        let mut after = String::new();
        loop {
            let rows = self.subject_key_page(tenant, &after).await?;
            for (_, bytes) in &rows {
                *out.entry(wrapping_version_of(bytes)?).or_insert(0) += 1;
            }
            match rows.last() {
                Some((s, _)) if rows.len() as i64 == REWRAP_PAGE => after.clone_from(s),
                _ => return Ok(out),
            }
        }
    }

    async fn subject_key_page(
        &self,
        tenant: &TenantId,
        after: &str,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT subject_id, wrapped FROM subject_keys
             WHERE tenant_id = $1 AND subject_id > $2 ORDER BY subject_id LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(after)
        .bind(REWRAP_PAGE)
        .fetch_all(&self.inner.shared.keys)
        .await?)
    }

    /// Master-key rotation: re-wraps every tenant and blind-index key not yet under
    /// the vault's current master version, one short statement per key (compare
    /// and swap on the old bytes, so a concurrent change is never overwritten; a
    /// rerun picks it up). Idempotent. The vault's keyring must hold the old
    /// versions too. Unwrapped keys do not change, so servers' caches stay valid.
    pub async fn rewrap_master_keys(&self) -> Result<MasterRewrap> {
        let s = &self.inner.shared;
        let version = s.vault.provider().current_version();
        let rows: Vec<(String, String, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT tenant_id, kind, key_version, wrapped FROM tenant_keys
             ORDER BY tenant_id, kind, key_version",
        )
        .fetch_all(&s.keys)
        .await?;
        let mut report = MasterRewrap {
            version,
            tenant_keys: 0,
            blind_keys: 0,
            already_current: 0,
            skipped: 0,
        };
        for (tenant, kind, key_version, bytes) in rows {
            let tenant = TenantId::new(tenant);
            let old = WrappedKey::from_bytes(&bytes)?;
            if old.wrapping_version == version {
                report.already_current += 1;
                continue;
            }
            let new = match kind.as_str() {
                "tek" => s.vault.rewrap_tenant_key(&tenant, &old)?,
                "blind" => s.vault.rewrap_blind_index_key(&tenant, &old)?,
                _ => return Err(StoreError::Corrupt("tenant key kind")),
            };
            let done = sqlx::query(
                "UPDATE tenant_keys SET wrapped = $5
                 WHERE tenant_id = $1 AND kind = $2 AND key_version = $3 AND wrapped = $4",
            )
            .bind(tenant.as_str())
            .bind(&kind)
            .bind(key_version)
            .bind(&bytes)
            .bind(new.to_bytes())
            .execute(&s.keys)
            .await?;
            match (done.rows_affected(), kind.as_str()) {
                (0, _) => report.skipped += 1,
                (_, "tek") => report.tenant_keys += 1,
                _ => report.blind_keys += 1,
            }
        }
        tracing::info!(
            version = version.0,
            tenant_keys = report.tenant_keys,
            blind_keys = report.blind_keys,
            "master key rewrap"
        );
        Ok(report)
    }

    /// Tenant-key rotation: stores a new tenant-key version, re-wraps every subject
    /// key of the tenant under it (pages of [`REWRAP_PAGE`], one short transaction
    /// each; data ciphertext untouched), then retires the old versions nothing is
    /// wrapped under any more. Safe while servers run (see the top of this file);
    /// a version a concurrent writer still used is kept and reported, and a later
    /// rotation retires it.
    pub async fn rotate_tenant_key(&self, tenant: &TenantId) -> Result<TenantRotation> {
        let s = &self.inner.shared;
        let versions: Vec<(i64,)> = sqlx::query_as(
            "SELECT key_version FROM tenant_keys WHERE tenant_id = $1 AND kind = 'tek'
             ORDER BY key_version",
        )
        .bind(tenant.as_str())
        .fetch_all(&s.keys)
        .await?;
        let current = versions
            .last()
            .map(|(v,)| u32::try_from(*v).map_err(|_| StoreError::Corrupt("key version")))
            .transpose()?
            .ok_or_else(|| StoreError::TenantNotFound(tenant.to_string()))?;
        let old_tek = tenant_key_version(s, tenant, KeyVersion(current)).await?;
        let (new_tek, wrapped) = s.vault.rotate_tenant_key(&old_tek)?;
        let added = sqlx::query(
            "INSERT INTO tenant_keys (tenant_id, kind, key_version, wrapped, created_ns)
             VALUES ($1, 'tek', $2, $3, $4) ON CONFLICT (tenant_id, kind, key_version) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(i64::from(new_tek.version().0))
        .bind(wrapped.to_bytes())
        .bind(ts_ns(jiff::Timestamp::now())?)
        .execute(&s.keys)
        .await?;
        if added.rows_affected() == 0 {
            return Err(StoreError::Conflict("tenant key version (a rotation is running)"));
        }
        forget_tenant_keys(s, tenant);
        let mut olds: BTreeMap<KeyVersion, TenantKey> = BTreeMap::new();
        olds.insert(old_tek.version(), old_tek);
        let mut report = TenantRotation {
            tenant: tenant.clone(),
            from_version: KeyVersion(current),
            to_version: new_tek.version(),
            rewrapped: 0,
            retired: Vec::new(),
            kept: Vec::new(),
        };
        for pass in 0..SWEEP_PASSES {
            report.rewrapped += self.sweep_subject_keys(tenant, &new_tek, &mut olds).await?;
            report.kept = self.retire_tenant_versions(tenant, &new_tek, &mut report.retired).await?;
            if report.kept.is_empty() {
                break;
            }
            tracing::info!(pass, "tenant key sweep found keys under an old version; sweeping again");
        }
        let event = audit_event(
            "system",
            "tenant.key_rotated",
            format!("tenant:{tenant}"),
            serde_json::json!({ "from_version": current, "to_version": new_tek.version().0,
                "rewrapped": report.rewrapped,
                "retired": report.retired.iter().map(|v| v.0).collect::<Vec<_>>() }),
        );
        self.append_audit(tenant, vec![event]).await?;
        Ok(report)
    }

    /// Re-wraps every subject key of `tenant` not under `new`; returns how many.
    async fn sweep_subject_keys(
        &self,
        tenant: &TenantId,
        new: &TenantKey,
        olds: &mut BTreeMap<KeyVersion, TenantKey>,
    ) -> Result<u64> {
        let s = &self.inner.shared;
        let mut count = 0u64;
        let mut after = String::new();
        loop {
            let rows = self.subject_key_page(tenant, &after).await?;
            let mut changes = Vec::new();
            for (subject, bytes) in &rows {
                let old = WrappedKey::from_bytes(bytes)?;
                if old.wrapping_version == new.version() {
                    continue;
                }
                let from = match olds.entry(old.wrapping_version) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(tenant_key_version(s, tenant, old.wrapping_version).await?)
                    }
                };
                let sid = SubjectId::new(subject.as_str());
                changes.push((subject, bytes, new.rewrap_subject_key(from, &sid, &old)?));
            }
            if !changes.is_empty() {
                let mut tx = s.keys.begin().await?;
                for (subject, old, w) in &changes {
                    // Compare and swap: an erased subject (row gone) stays erased.
                    count += sqlx::query(
                        "UPDATE subject_keys SET wrapped = $4
                         WHERE tenant_id = $1 AND subject_id = $2 AND wrapped = $3",
                    )
                    .bind(tenant.as_str())
                    .bind(subject.as_str())
                    .bind(old.as_slice())
                    .bind(w.to_bytes())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
            }
            match rows.last() {
                Some((subject, _)) if rows.len() as i64 == REWRAP_PAGE => after.clone_from(subject),
                _ => return Ok(count),
            }
        }
    }

    /// Deletes each old tenant-key version no subject key uses; returns the versions
    /// kept with how many subject keys still use them.
    async fn retire_tenant_versions(
        &self,
        tenant: &TenantId,
        new: &TenantKey,
        retired: &mut Vec<KeyVersion>,
    ) -> Result<Vec<(KeyVersion, u64)>> {
        let s = &self.inner.shared;
        let olds: Vec<(i64,)> = sqlx::query_as(
            "SELECT key_version FROM tenant_keys
             WHERE tenant_id = $1 AND kind = 'tek' AND key_version < $2 ORDER BY key_version",
        )
        .bind(tenant.as_str())
        .bind(i64::from(new.version().0))
        .fetch_all(&s.keys)
        .await?;
        let mut kept = Vec::new();
        for (v,) in olds {
            let version =
                KeyVersion(u32::try_from(v).map_err(|_| StoreError::Corrupt("key version"))?);
            let mut tx = s.keys.begin().await?;
            // Delete first: from here on no writer can add a key under `version`
            // (see `insert_subject_key`), so the count below is final.
            sqlx::query(
                "DELETE FROM tenant_keys WHERE tenant_id = $1 AND kind = 'tek' AND key_version = $2",
            )
            .bind(tenant.as_str())
            .bind(v)
            .execute(&mut *tx)
            .await?;
            // Bytes 6..10 of a stored wrapped key are its wrapping version
            // (big-endian; see `WrappedKey::to_bytes`): counted without loading keys.
            let (users,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM subject_keys WHERE tenant_id = $1 AND substr(wrapped, 6, 4) = $2",
            )
            .bind(tenant.as_str())
            .bind(version.0.to_be_bytes().to_vec())
            .fetch_one(&mut *tx)
            .await?;
            if users == 0 {
                tx.commit().await?;
                retired.push(version);
            } else {
                tx.rollback().await?;
                kept.push((version, u64::try_from(users).unwrap_or(0)));
            }
        }
        Ok(kept)
    }
}
