//! Persistence for data-subject rights requests: the request row, its append-only
//! transition events (as JSON written by `troth-core`'s state machine), and the
//! keyed hashes of pending identity-verification codes.
//!
//! The store does not interpret requests: the server replays the events through
//! `troth_core::RightsRequest`. Status and due date are copied out of the latest
//! event only so open and overdue requests can be listed by index.

use crate::any::AnyStore;
use crate::error::Result;
use crate::outbox::NewOutboxMessage;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::future::Future;
use troth_crypto::{SubjectId, TenantId};

/// A request as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Request id (UUID).
    pub request_id: String,
    /// Whose request.
    pub subject: SubjectId,
    /// Request kind code (`access`, `deletion`, …).
    pub kind: String,
    /// The request's details as JSON (kind, submitter, channel, received time).
    pub details_json: String,
    /// Status code after the latest event.
    pub status: String,
    /// Current due date (end of the due day), once the clock runs.
    pub due: Option<Timestamp>,
    /// When it was received.
    pub received: Timestamp,
    /// When the latest event happened.
    pub updated: Timestamp,
    /// The transition events as JSON, oldest first (empty in lists).
    pub events: Vec<String>,
}

/// The next event of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestUpdate {
    /// How many events the caller saw; the append fails with a conflict if another
    /// writer appended meanwhile (the caller replays and retries).
    pub expected_events: u64,
    /// Status code after the event.
    pub status: String,
    /// Due date after the event.
    pub due: Option<Timestamp>,
    /// When it happened.
    pub at: Timestamp,
    /// The event as JSON.
    pub event_json: String,
}

/// Which requests to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestFilter {
    /// Every request.
    All,
    /// Not completed or refused.
    Open,
    /// Open and due before this time.
    OverdueAt(Timestamp),
    /// One subject's requests.
    Subject(SubjectId),
}

/// What a verification code check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code matches; it is now used up.
    Valid,
    /// Wrong code; this many attempts remain.
    Wrong {
        /// Attempts left before the code is locked.
        attempts_left: u32,
    },
    /// Too many wrong attempts: a new code must be sent.
    Locked,
    /// The code expired: a new code must be sent.
    Expired,
    /// No code was sent for this request.
    Missing,
}

/// Storage for rights requests.
pub trait RightsStore: Send + Sync {
    /// Stores a new request with its first event (audited as `request.received`).
    fn create_request(
        &self,
        record: &RequestRecord,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Appends the next event (audited as `request.<status>`).
    fn append_request_event(
        &self,
        tenant: &TenantId,
        request_id: &str,
        update: &RequestUpdate,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Appends the next event and stores `notices` in the outbox in the same
    /// transaction (a completed deletion's notices to recipients commit with it).
    fn append_request_event_notifying(
        &self,
        tenant: &TenantId,
        request_id: &str,
        update: &RequestUpdate,
        notices: &[NewOutboxMessage],
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// One request with its events.
    fn request(
        &self,
        tenant: &TenantId,
        request_id: &str,
    ) -> impl Future<Output = Result<Option<RequestRecord>>> + Send;

    /// Requests matching `filter`, oldest first, without their events.
    fn requests(
        &self,
        tenant: &TenantId,
        filter: &RequestFilter,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RequestRecord>>> + Send;

    /// Open requests whose clock runs, across every tenant, earliest due first,
    /// with their events (for the deadline-alarm worker, not for request paths).
    fn open_requests_all(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RequestRecord>>> + Send;

    /// Stores (replacing any earlier one) the keyed hash of a verification code.
    fn put_verification_code(
        &self,
        tenant: &TenantId,
        request_id: &str,
        code_hash: &[u8],
        expires: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Checks a presented code's hash; counts wrong attempts, uses up a valid code.
    fn check_verification_code(
        &self,
        tenant: &TenantId,
        request_id: &str,
        code_hash: &[u8],
        max_attempts: u32,
    ) -> impl Future<Output = Result<CodeCheck>> + Send;
}

macro_rules! delegate {
    ($self:ident . $m:ident ( $($a:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => s.$m($($a),*).await,
            AnyStore::Postgres(s) => s.$m($($a),*).await,
        }
    };
}

impl RightsStore for AnyStore {
    async fn create_request(&self, record: &RequestRecord, actor: &str) -> Result<()> {
        delegate!(self.create_request(record, actor))
    }
    async fn append_request_event(
        &self,
        tenant: &TenantId,
        request_id: &str,
        update: &RequestUpdate,
        actor: &str,
    ) -> Result<()> {
        delegate!(self.append_request_event(tenant, request_id, update, actor))
    }
    async fn append_request_event_notifying(
        &self,
        tenant: &TenantId,
        request_id: &str,
        update: &RequestUpdate,
        notices: &[NewOutboxMessage],
        actor: &str,
    ) -> Result<()> {
        delegate!(self.append_request_event_notifying(tenant, request_id, update, notices, actor))
    }
    async fn request(&self, tenant: &TenantId, request_id: &str) -> Result<Option<RequestRecord>> {
        delegate!(self.request(tenant, request_id))
    }
    async fn requests(
        &self,
        tenant: &TenantId,
        filter: &RequestFilter,
        limit: u32,
    ) -> Result<Vec<RequestRecord>> {
        delegate!(self.requests(tenant, filter, limit))
    }
    async fn open_requests_all(&self, limit: u32) -> Result<Vec<RequestRecord>> {
        delegate!(self.open_requests_all(limit))
    }
    async fn put_verification_code(
        &self,
        tenant: &TenantId,
        request_id: &str,
        code_hash: &[u8],
        expires: Timestamp,
    ) -> Result<()> {
        delegate!(self.put_verification_code(tenant, request_id, code_hash, expires))
    }
    async fn check_verification_code(
        &self,
        tenant: &TenantId,
        request_id: &str,
        code_hash: &[u8],
        max_attempts: u32,
    ) -> Result<CodeCheck> {
        delegate!(self.check_verification_code(tenant, request_id, code_hash, max_attempts))
    }
}
