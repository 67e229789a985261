//! What the HTTP service keeps beside the domain: API keys (hashed), idempotency
//! records for retried writes, and the tenant-wide reads it needs at start-up.
//!
//! A separate trait from [`crate::Store`] so the domain interface stays about
//! privacy, and so a service-less user of the library never sees these tables.

use crate::any::AnyStore;
use crate::error::Result;
use crate::model::Tenant;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::future::Future;
use troth_crypto::{SubjectId, TenantId};

/// One API key as stored: never the token, only its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// The tenant the key acts for.
    pub tenant: TenantId,
    /// Public id of the key (shown in lists, used to revoke it).
    pub key_id: String,
    /// Hex BLAKE3 hash of the token.
    pub hash: String,
    /// Role name (`admin`, `operator`, `app`, `auditor`, `subject`).
    pub role: String,
    /// What the key is for, as its creator described it (no PI).
    pub label: String,
    /// For `subject` keys: the one subject the key may act for.
    pub subject: Option<SubjectId>,
    /// When it was created.
    pub created: Timestamp,
    /// When it was revoked, if it was.
    pub revoked: Option<Timestamp>,
}

/// What [`ServiceStore::idempotency_begin`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First time this key is seen (or its record expired): run the request, then
    /// call [`ServiceStore::idempotency_finish`].
    Started,
    /// Seen before with the same request: answer this again.
    Replay {
        /// HTTP status of the first answer.
        status: u16,
        /// Body of the first answer.
        body: String,
    },
    /// Seen before with a different request body.
    Mismatch,
    /// The first attempt is still running.
    InProgress,
}

/// How long idempotency records are kept, and when a pending one counts as abandoned.
#[derive(Clone, Copy, Debug)]
pub struct IdempotencyWindow {
    /// Records older than this are forgotten (the key may be reused).
    pub keep: jiff::SignedDuration,
    /// A pending record older than this is taken over (its request crashed).
    pub stale_pending: jiff::SignedDuration,
}

impl Default for IdempotencyWindow {
    fn default() -> Self {
        Self {
            keep: jiff::SignedDuration::from_hours(24),
            stale_pending: jiff::SignedDuration::from_mins(5),
        }
    }
}

/// Storage for the HTTP service.
pub trait ServiceStore: Send + Sync {
    /// Every tenant (start-up: rebuilding decision indexes).
    fn tenants(&self) -> impl Future<Output = Result<Vec<Tenant>>> + Send;

    /// Subjects that have ledger events in a tenant (start-up: rebuilding its index).
    fn ledger_subjects(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<SubjectId>>> + Send;

    /// Stores a new key (audited as `apikey.created`). Conflict if the id exists.
    fn create_api_key(
        &self,
        key: &ApiKeyRecord,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Finds a key by the hash of a presented token.
    fn api_key_by_hash(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>>> + Send;

    /// A tenant's keys, oldest first.
    fn api_keys(&self, tenant: &TenantId)
    -> impl Future<Output = Result<Vec<ApiKeyRecord>>> + Send;

    /// Revokes a key (audited as `apikey.revoked`). Returns whether an active key
    /// with that id existed.
    fn revoke_api_key(
        &self,
        tenant: &TenantId,
        key_id: &str,
        actor: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Claims an idempotency key for a request (identified by `request_hash`).
    fn idempotency_begin(
        &self,
        tenant: &TenantId,
        scope: &str,
        key: &str,
        request_hash: &str,
        window: IdempotencyWindow,
    ) -> impl Future<Output = Result<IdempotencyStart>> + Send;

    /// Records the answer to a claimed key.
    fn idempotency_finish(
        &self,
        tenant: &TenantId,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Releases a claimed key without an answer (the request failed in a way a
    /// retry may fix), so the next attempt runs.
    fn idempotency_abandon(
        &self,
        tenant: &TenantId,
        scope: &str,
        key: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

macro_rules! delegate {
    ($self:ident . $m:ident ( $($a:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => s.$m($($a),*).await,
            AnyStore::Postgres(s) => s.$m($($a),*).await,
        }
    };
}

impl ServiceStore for AnyStore {
    async fn tenants(&self) -> Result<Vec<Tenant>> {
        delegate!(self.tenants())
    }
    async fn ledger_subjects(&self, tenant: &TenantId) -> Result<Vec<SubjectId>> {
        delegate!(self.ledger_subjects(tenant))
    }
    async fn create_api_key(&self, key: &ApiKeyRecord, actor: &str) -> Result<()> {
        delegate!(self.create_api_key(key, actor))
    }
    async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>> {
        delegate!(self.api_key_by_hash(hash))
    }
    async fn api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>> {
        delegate!(self.api_keys(tenant))
    }
    async fn revoke_api_key(&self, tenant: &TenantId, key_id: &str, actor: &str) -> Result<bool> {
        delegate!(self.revoke_api_key(tenant, key_id, actor))
    }
    async fn idempotency_begin(
        &self,
        tenant: &TenantId,
        scope: &str,
        key: &str,
        request_hash: &str,
        window: IdempotencyWindow,
    ) -> Result<IdempotencyStart> {
        delegate!(self.idempotency_begin(tenant, scope, key, request_hash, window))
    }
    async fn idempotency_finish(
        &self,
        tenant: &TenantId,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<()> {
        delegate!(self.idempotency_finish(tenant, scope, key, status, body))
    }
    async fn idempotency_abandon(&self, tenant: &TenantId, scope: &str, key: &str) -> Result<()> {
        delegate!(self.idempotency_abandon(tenant, scope, key))
    }
}
