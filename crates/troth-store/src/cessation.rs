//! Persistence for cessation of operations (seed 003): a service, or the whole
//! operation, stops collecting, tells the people affected, and deletes or
//! anonymizes what it holds.
//!
//! [`CessationStore::start_cessation`] does all of it in one transaction: the
//! cessation row (a service ceases once; a second start is a conflict), the vault
//! records in scope scheduled for the retention sweep (expiry moved to the start,
//! never later than it already was, and the pack's action), the notices in the
//! outbox, and one `cessation.started` audit entry. The deletion itself is the
//! retention sweep's: batched under the tenant's lease, resumable, audited per
//! batch, and skipping records under an active legal hold.

use crate::any::AnyStore;
use crate::error::Result;
use crate::outbox::NewOutboxMessage;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use troth_crypto::{SubjectId, TenantId};

/// A cessation to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCessation {
    /// The tenant.
    pub tenant: TenantId,
    /// Cessation id (UUID).
    pub cessation_id: String,
    /// The service that stops: the pack's id for the whole operation, or one of
    /// its `services[].id`.
    pub service: String,
    /// Whether the whole operation stops (every purpose, every record).
    pub whole: bool,
    /// The purposes whose records are drained when only a sub-service stops.
    pub purposes: Vec<String>,
    /// `delete` or `anonymize`, from the pack.
    pub action: String,
    /// Why (free text, no personal information).
    pub reason: Option<String>,
    /// Text added to every notice (free text, no personal information).
    pub announcement: Option<String>,
    /// `individual` or `announcement`.
    pub notice_mode: String,
    /// People affected.
    pub subjects: u64,
    /// When collection stopped.
    pub started: Timestamp,
    /// By when every record in scope is deleted or anonymized.
    pub deadline: Timestamp,
}

/// A cessation as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CessationRecord {
    /// Cessation id.
    pub cessation_id: String,
    /// The service that stopped.
    pub service: String,
    /// Whether the whole operation stopped.
    pub whole: bool,
    /// Purposes drained (empty when `whole`: everything is).
    pub purposes: Vec<String>,
    /// `delete` or `anonymize`.
    pub action: String,
    /// Why.
    pub reason: Option<String>,
    /// Text added to the notices.
    pub announcement: Option<String>,
    /// `individual` or `announcement`.
    pub notice_mode: String,
    /// People affected.
    pub subjects: u64,
    /// Vault records scheduled for deletion or anonymization at the start.
    pub scheduled: u64,
    /// When collection stopped.
    pub started: Timestamp,
    /// By when every record in scope is gone.
    pub deadline: Timestamp,
    /// Who started it.
    pub started_by: String,
}

/// Where a cessation stands now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CessationProgress {
    /// Vault records in scope still stored (held ones included).
    pub remaining: u64,
    /// Of those, records an active legal hold keeps.
    pub held: u64,
    /// The cessation's outbox messages by status (`pending`, `delivered`, `dead`).
    pub notices: BTreeMap<String, u64>,
}

/// Storage for cessations.
pub trait CessationStore: Send + Sync {
    /// Records a cessation, schedules its records and queues `notices`, in one
    /// audited transaction (see the module documentation). Fails with a conflict
    /// if the service has ceased before.
    fn start_cessation(
        &self,
        c: &NewCessation,
        notices: &[NewOutboxMessage],
        actor: &str,
    ) -> impl Future<Output = Result<CessationRecord>> + Send;

    /// The tenant's cessations, oldest first.
    fn cessations(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<CessationRecord>>> + Send;

    /// One cessation.
    fn cessation(
        &self,
        tenant: &TenantId,
        cessation_id: &str,
    ) -> impl Future<Output = Result<Option<CessationRecord>>> + Send;

    /// The people a cessation affects, in id order: every subject not erased when
    /// `purposes` is `None` (the whole operation), else every subject holding a
    /// vault record for one of `purposes`.
    fn cessation_subjects(
        &self,
        tenant: &TenantId,
        purposes: Option<&[String]>,
    ) -> impl Future<Output = Result<Vec<SubjectId>>> + Send;

    /// Records in the cessation's scope still stored, those held, and its notices.
    fn cessation_progress(
        &self,
        tenant: &TenantId,
        c: &CessationRecord,
    ) -> impl Future<Output = Result<CessationProgress>> + Send;
}

macro_rules! delegate {
    ($self:ident . $m:ident ( $($a:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => s.$m($($a),*).await,
            AnyStore::Postgres(s) => s.$m($($a),*).await,
        }
    };
}

impl CessationStore for AnyStore {
    async fn start_cessation(
        &self,
        c: &NewCessation,
        notices: &[NewOutboxMessage],
        actor: &str,
    ) -> Result<CessationRecord> {
        delegate!(self.start_cessation(c, notices, actor))
    }
    async fn cessations(&self, tenant: &TenantId) -> Result<Vec<CessationRecord>> {
        delegate!(self.cessations(tenant))
    }
    async fn cessation(
        &self,
        tenant: &TenantId,
        cessation_id: &str,
    ) -> Result<Option<CessationRecord>> {
        delegate!(self.cessation(tenant, cessation_id))
    }
    async fn cessation_subjects(
        &self,
        tenant: &TenantId,
        purposes: Option<&[String]>,
    ) -> Result<Vec<SubjectId>> {
        delegate!(self.cessation_subjects(tenant, purposes))
    }
    async fn cessation_progress(
        &self,
        tenant: &TenantId,
        c: &CessationRecord,
    ) -> Result<CessationProgress> {
        delegate!(self.cessation_progress(tenant, c))
    }
}
