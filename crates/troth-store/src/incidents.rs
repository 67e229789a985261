//! Persistence for breach incidents: the incident (its details as JSON written by
//! the server), its status and affected count, a timeline of steps, and the query
//! that finds the people an incident affects. Each step is audited, and notices a
//! step sends are stored in the outbox in the same transaction.

use crate::any::AnyStore;
use crate::error::Result;
use crate::outbox::NewOutboxMessage;
use jiff::Timestamp;
use serde::Serialize;
use std::future::Future;
use troth_crypto::{IdentifierKind, SubjectId, TenantId};

/// An incident as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentRecord {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Incident id.
    pub incident_id: String,
    /// What happened, as JSON.
    pub details_json: String,
    /// `open`, `assessed`, `notified`, `closed`.
    pub status: String,
    /// How many people it affects, once assessed.
    pub affected: Option<u64>,
    /// Created.
    pub created: Timestamp,
    /// Last step.
    pub updated: Timestamp,
    /// The timeline, oldest first (empty in lists).
    pub timeline: Vec<IncidentStep>,
}

/// One step of an incident's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentStep {
    /// When.
    pub at: Timestamp,
    /// What (`created`, `assessed`, `notified`, `closed`, …).
    pub action: String,
    /// Details as JSON (counts, modes; never PI).
    pub detail_json: String,
}

/// The next step of an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentUpdate {
    /// Status after the step.
    pub status: String,
    /// The affected count, when this step establishes it.
    pub affected: Option<u64>,
    /// The step.
    pub step: IncidentStep,
}

/// Storage for incidents.
pub trait IncidentStore: Send + Sync {
    /// Stores a new incident with its first step (audited as `incident.created`).
    fn create_incident(
        &self,
        record: &IncidentRecord,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// One incident with its timeline.
    fn incident(
        &self,
        tenant: &TenantId,
        incident_id: &str,
    ) -> impl Future<Output = Result<Option<IncidentRecord>>> + Send;

    /// The tenant's incidents, newest first, without timelines.
    fn incidents(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<IncidentRecord>>> + Send;

    /// Appends a step (audited as `incident.<action>`), updating status and count,
    /// and stores `notices` in the outbox in the same transaction.
    fn record_incident_step(
        &self,
        tenant: &TenantId,
        incident_id: &str,
        update: &IncidentUpdate,
        notices: &[NewOutboxMessage],
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Every subject holding a vault record in one of `categories` or an identity of
    /// one of `kinds`, each once, in id order.
    fn affected_subjects(
        &self,
        tenant: &TenantId,
        categories: &[String],
        kinds: &[IdentifierKind],
    ) -> impl Future<Output = Result<Vec<SubjectId>>> + Send;
}

macro_rules! delegate {
    ($self:ident . $m:ident ( $($a:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => s.$m($($a),*).await,
            AnyStore::Postgres(s) => s.$m($($a),*).await,
        }
    };
}

impl IncidentStore for AnyStore {
    async fn create_incident(&self, record: &IncidentRecord, actor: &str) -> Result<()> {
        delegate!(self.create_incident(record, actor))
    }
    async fn incident(
        &self,
        tenant: &TenantId,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>> {
        delegate!(self.incident(tenant, incident_id))
    }
    async fn incidents(&self, tenant: &TenantId) -> Result<Vec<IncidentRecord>> {
        delegate!(self.incidents(tenant))
    }
    async fn record_incident_step(
        &self,
        tenant: &TenantId,
        incident_id: &str,
        update: &IncidentUpdate,
        notices: &[NewOutboxMessage],
        actor: &str,
    ) -> Result<()> {
        delegate!(self.record_incident_step(tenant, incident_id, update, notices, actor))
    }
    async fn affected_subjects(
        &self,
        tenant: &TenantId,
        categories: &[String],
        kinds: &[IdentifierKind],
    ) -> Result<Vec<SubjectId>> {
        delegate!(self.affected_subjects(tenant, categories, kinds))
    }
}
