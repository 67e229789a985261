//! [`AnyStore`]: one of the backends, chosen at run time from a location string.

use crate::config::StoreConfig;
use crate::error::{Result, StoreError};
use crate::model::{
    Access, ConsentAck, Disclosure, ErasureReport, NewConsentEvent, PolicyVersionRecord,
    StoredConsentEvent, SubjectRecord, Tenant, VaultKey,
};
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::store::Store;
use std::collections::BTreeMap;
use troth_crypto::{
    AuditEntry, AuditEvent, BlindToken, Checkpoint, IdentifierKind, KeyVersion, PublicKey,
    SubjectId, TenantId, VerifyReport, Zeroizing,
};

/// A store on either backend, for code (the server, the CLI) that picks the
/// backend from configuration.
#[derive(Clone, Debug)]
pub enum AnyStore {
    /// SQLite files.
    Sqlite(SqliteStore),
    /// PostgreSQL databases.
    Postgres(PgStore),
}

macro_rules! delegate {
    ($self:ident . $m:ident ( $($a:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => s.$m($($a),*).await,
            AnyStore::Postgres(s) => s.$m($($a),*).await,
        }
    };
}

impl AnyStore {
    /// Opens a store from a location:
    /// * `sqlite://DIR` or a plain path: a SQLite store directory (see [`SqliteStore::open_dir`]);
    /// * `postgres://...` or `postgresql://...`: the data database; the key database is
    ///   `keys_url`, or the same database when `None` (see [`PgStore::connect`]).
    pub async fn open(location: &str, keys_url: Option<&str>, config: StoreConfig) -> Result<Self> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            let keys = keys_url.unwrap_or(location);
            return Ok(Self::Postgres(
                PgStore::connect(location, keys, config).await?,
            ));
        }
        let dir = location.strip_prefix("sqlite://").unwrap_or(location);
        if dir.is_empty() || dir.contains("://") {
            return Err(StoreError::InvalidLocation(format!(
                "unsupported location `{location}`"
            )));
        }
        Ok(Self::Sqlite(SqliteStore::open_dir(dir, config).await?))
    }

    /// [`AnyStore::open`], plus a read-only PostgreSQL standby at `read_url` for the
    /// read-heavy paths (see [`PgStore::with_read_replica`]). `config_for_reads` is the
    /// same keys again (the reader decrypts sealed ledger events). A read URL with a
    /// SQLite store is an error: SQLite has no replicas.
    pub async fn open_with_read_replica(
        location: &str,
        keys_url: Option<&str>,
        read_url: Option<&str>,
        config: StoreConfig,
        config_for_reads: StoreConfig,
    ) -> Result<Self> {
        let store = Self::open(location, keys_url, config).await?;
        match (store, read_url) {
            (s, None) => Ok(s),
            (Self::Postgres(pg), Some(url)) => Ok(Self::Postgres(
                pg.with_read_replica(url, config_for_reads).await?,
            )),
            (Self::Sqlite(_), Some(_)) => Err(StoreError::InvalidLocation(
                "a read replica needs a PostgreSQL database_url".to_owned(),
            )),
        }
    }

    /// The store read-heavy paths read from: the PostgreSQL read replica once it has
    /// replayed everything committed on the primary so far (waiting at most
    /// `max_wait`, else the primary), or this store itself.
    pub async fn reader(&self, max_wait: std::time::Duration) -> Result<Self> {
        match self {
            Self::Postgres(pg) if pg.has_read_replica() => {
                Ok(Self::Postgres(pg.reader(max_wait).await?))
            }
            other => Ok(other.clone()),
        }
    }

    /// Listens for other processes' committed consent and policy changes. `None`
    /// on SQLite: one process owns the database, so there is nothing to hear.
    pub async fn listen_changes(
        &self,
        heartbeat: std::time::Duration,
    ) -> Result<Option<crate::notify::ChangeListener>> {
        match self {
            Self::Postgres(pg) => Ok(Some(pg.listen_changes(heartbeat).await?)),
            Self::Sqlite(_) => Ok(None),
        }
    }

    /// Every tenant id, sorted.
    pub async fn tenant_ids(&self) -> Result<Vec<TenantId>> {
        delegate!(self.tenant_ids())
    }

    /// How many tenant and blind-index keys each master key version wraps.
    pub async fn master_key_usage(&self) -> Result<BTreeMap<KeyVersion, u64>> {
        delegate!(self.master_key_usage())
    }

    /// How many of the tenant's subject keys each tenant-key version wraps.
    pub async fn subject_key_versions(
        &self,
        tenant: &TenantId,
    ) -> Result<BTreeMap<KeyVersion, u64>> {
        delegate!(self.subject_key_versions(tenant))
    }

    /// Re-wraps every tenant and blind-index key under the current master version.
    pub async fn rewrap_master_keys(&self) -> Result<MasterRewrap> {
        delegate!(self.rewrap_master_keys())
    }

    /// Rotates a tenant key: new version, subject keys re-wrapped, old versions retired.
    pub async fn rotate_tenant_key(&self, tenant: &TenantId) -> Result<TenantRotation> {
        delegate!(self.rotate_tenant_key(tenant))
    }

    /// Closes the store's connection pools.
    pub async fn close(&self) {
        delegate!(self.close())
    }
}

/// What a master-key re-wrap did ([`AnyStore::rewrap_master_keys`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterRewrap {
    /// The master key version every key is now wrapped under.
    pub version: KeyVersion,
    /// Tenant keys re-wrapped.
    pub tenant_keys: u64,
    /// Blind-index keys re-wrapped.
    pub blind_keys: u64,
    /// Keys already under `version`.
    pub already_current: u64,
    /// Keys changed by someone else meanwhile (left alone; run again).
    pub skipped: u64,
}

/// What a tenant-key rotation did ([`AnyStore::rotate_tenant_key`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantRotation {
    /// The tenant.
    pub tenant: TenantId,
    /// The newest tenant-key version before the rotation.
    pub from_version: KeyVersion,
    /// The new tenant-key version.
    pub to_version: KeyVersion,
    /// Subject keys re-wrapped under `to_version`.
    pub rewrapped: u64,
    /// Old tenant-key versions deleted (nothing was wrapped under them any more).
    pub retired: Vec<KeyVersion>,
    /// Old versions kept because subject keys were still added under them
    /// concurrently, with how many; the next rotation retires them.
    pub kept: Vec<(KeyVersion, u64)>,
}

impl Store for AnyStore {
    async fn migrate(&self) -> Result<()> {
        delegate!(self.migrate())
    }
    async fn create_tenant(&self, id: &TenantId, name: &str) -> Result<()> {
        delegate!(self.create_tenant(id, name))
    }
    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>> {
        delegate!(self.tenant(id))
    }
    async fn publish_policy_version(&self, v: &PolicyVersionRecord, actor: &str) -> Result<()> {
        delegate!(self.publish_policy_version(v, actor))
    }
    async fn policy_versions(&self, tenant: &TenantId) -> Result<Vec<PolicyVersionRecord>> {
        delegate!(self.policy_versions(tenant))
    }
    async fn upsert_subject(&self, s: &SubjectRecord, actor: &str) -> Result<()> {
        delegate!(self.upsert_subject(s, actor))
    }
    async fn subject(&self, t: &TenantId, s: &SubjectId) -> Result<Option<SubjectRecord>> {
        delegate!(self.subject(t, s))
    }
    async fn put_identity(
        &self,
        t: &TenantId,
        s: &SubjectId,
        kind: IdentifierKind,
        value: &str,
        region: &str,
        access: &Access,
    ) -> Result<BlindToken> {
        delegate!(self.put_identity(t, s, kind, value, region, access))
    }
    async fn find_subject(
        &self,
        t: &TenantId,
        kind: IdentifierKind,
        value: &str,
        region: &str,
    ) -> Result<Option<SubjectId>> {
        delegate!(self.find_subject(t, kind, value, region))
    }
    async fn identities(
        &self,
        t: &TenantId,
        s: &SubjectId,
        access: &Access,
    ) -> Result<Vec<(IdentifierKind, Zeroizing<String>)>> {
        delegate!(self.identities(t, s, access))
    }
    async fn append_consent(&self, event: NewConsentEvent) -> Result<ConsentAck> {
        match self {
            AnyStore::Sqlite(s) => s.append_consent(event).await,
            AnyStore::Postgres(s) => s.append_consent(event).await,
        }
    }
    async fn append_ledger_event(&self, event: &troth_core::LedgerEvent) -> Result<ConsentAck> {
        delegate!(self.append_ledger_event(event))
    }
    async fn ledger_events(
        &self,
        t: &troth_core::TenantId,
        s: &troth_core::SubjectId,
    ) -> Result<Vec<troth_core::LedgerEvent>> {
        delegate!(self.ledger_events(t, s))
    }
    async fn consent_events(&self, t: &TenantId, s: &SubjectId) -> Result<Vec<StoredConsentEvent>> {
        delegate!(self.consent_events(t, s))
    }
    async fn vault_put(
        &self,
        key: &VaultKey,
        plaintext: &[u8],
        expires: Option<jiff::Timestamp>,
        access: &Access,
    ) -> Result<()> {
        delegate!(self.vault_put(key, plaintext, expires, access))
    }
    async fn vault_get(&self, key: &VaultKey, access: &Access) -> Result<Zeroizing<Vec<u8>>> {
        delegate!(self.vault_get(key, access))
    }
    async fn vault_replace(
        &self,
        key: &VaultKey,
        plaintext: &[u8],
        access: &Access,
    ) -> Result<bool> {
        delegate!(self.vault_replace(key, plaintext, access))
    }
    async fn vault_delete(&self, key: &VaultKey, access: &Access) -> Result<bool> {
        delegate!(self.vault_delete(key, access))
    }
    async fn vault_delete_except(
        &self,
        t: &TenantId,
        s: &SubjectId,
        keep: &[String],
        access: &Access,
    ) -> Result<u64> {
        delegate!(self.vault_delete_except(t, s, keep, access))
    }
    async fn erase_subject(
        &self,
        t: &TenantId,
        s: &SubjectId,
        access: &Access,
    ) -> Result<ErasureReport> {
        delegate!(self.erase_subject(t, s, access))
    }
    async fn record_disclosure(&self, d: &Disclosure, actor: &str) -> Result<()> {
        delegate!(self.record_disclosure(d, actor))
    }
    async fn disclosures(&self, t: &TenantId, s: &SubjectId) -> Result<Vec<Disclosure>> {
        delegate!(self.disclosures(t, s))
    }
    async fn append_audit(&self, t: &TenantId, events: Vec<AuditEvent>) -> Result<Vec<u64>> {
        match self {
            AnyStore::Sqlite(s) => s.append_audit(t, events).await,
            AnyStore::Postgres(s) => s.append_audit(t, events).await,
        }
    }
    async fn audit_entries(&self, t: &TenantId, after: u64, limit: u32) -> Result<Vec<AuditEntry>> {
        delegate!(self.audit_entries(t, after, limit))
    }
    async fn audit_checkpoints(&self, t: &TenantId) -> Result<Vec<Checkpoint>> {
        delegate!(self.audit_checkpoints(t))
    }
    async fn verify_audit(&self, t: &TenantId) -> Result<VerifyReport> {
        delegate!(self.verify_audit(t))
    }
    fn audit_public_key(&self) -> PublicKey {
        match self {
            AnyStore::Sqlite(s) => s.audit_public_key(),
            AnyStore::Postgres(s) => s.audit_public_key(),
        }
    }
}
