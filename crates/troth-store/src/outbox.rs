//! The outbox: notifications (deletion notices to recipients, deadline alarms, …)
//! stored in the same transaction as the change that causes them and delivered at
//! least once by a worker.
//!
//! Delivery is the server's business; the store keeps the messages, hands due ones
//! to one worker at a time with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
//! single writer on SQLite), and records each outcome: delivered, failed with the
//! next attempt's time, or dead-lettered. A message whose worker died is claimed
//! again once its lease has expired.

use crate::any::AnyStore;
use crate::error::{Result, StoreError};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::future::Future;
use troth_crypto::{SubjectId, TenantId};

/// How a message is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxChannel {
    /// A signed HTTPS POST to a notify target's URL; `target` is the target id.
    Webhook,
    /// An email; `target` is the notify target id.
    Email,
    /// An email to a data subject; `target` is the subject id. The address is
    /// decrypted from the subject's identities only when the message is delivered,
    /// so the outbox holds no PI and a shredded subject's notice cannot go out.
    SubjectEmail,
    /// Nowhere: no notify target was configured. Stored dead at once so the gap is
    /// visible instead of silently skipped.
    Unrouted,
}

impl OutboxChannel {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Email => "email",
            Self::SubjectEmail => "subject_email",
            Self::Unrouted => "unrouted",
        }
    }

    /// Parses a stored code.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "webhook" => Ok(Self::Webhook),
            "email" => Ok(Self::Email),
            "subject_email" => Ok(Self::SubjectEmail),
            "unrouted" => Ok(Self::Unrouted),
            _ => Err(StoreError::Corrupt("outbox channel")),
        }
    }
}

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Delivered: the receiver acknowledged it (2xx) or the mail server accepted it.
    Delivered,
    /// Given up after too many tries (or never routable); retry by hand.
    Dead,
}

impl OutboxStatus {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    /// Parses a stored code.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "dead" => Ok(Self::Dead),
            _ => Err(StoreError::Corrupt("outbox status")),
        }
    }
}

/// A message to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOutboxMessage {
    /// Stable id, sent with every attempt so the receiver can drop duplicates. A
    /// message whose id is already stored is not stored again (idempotent enqueue).
    pub message_id: String,
    /// What it is about (`deletion.notice`, `request.alarm`, …).
    pub kind: String,
    /// How it goes.
    pub channel: OutboxChannel,
    /// The notify target id (empty for [`OutboxChannel::Unrouted`]).
    pub target: String,
    /// The body as JSON. Holds pseudonymous ids only, never PI.
    pub payload_json: String,
    /// Why it cannot be delivered, for [`OutboxChannel::Unrouted`].
    pub unrouted_reason: Option<String>,
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboxMessage {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Stable id.
    pub message_id: String,
    /// What it is about.
    pub kind: String,
    /// How it goes.
    pub channel: OutboxChannel,
    /// The notify target id.
    pub target: String,
    /// The body as JSON.
    pub payload_json: String,
    /// Where it stands.
    pub status: OutboxStatus,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (pending messages).
    pub next_attempt: Timestamp,
    /// The last failure, if any (status code or error kind; never a response body).
    pub last_error: Option<String>,
    /// The receiver's HTTP status on the last attempt.
    pub response_status: Option<u16>,
    /// When it was stored.
    pub created: Timestamp,
    /// When it was delivered.
    pub delivered: Option<Timestamp>,
}

/// What a delivery attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Acknowledged by the receiver.
    Delivered {
        /// The receiver's HTTP status (webhooks).
        response_status: Option<u16>,
    },
    /// Failed; try again at `retry_at`.
    Failed {
        /// Why (status code or error kind).
        error: String,
        /// The receiver's HTTP status, if it answered.
        response_status: Option<u16>,
        /// When to try again.
        retry_at: Timestamp,
    },
    /// Failed for the last time: dead-letter it.
    Dead {
        /// Why.
        error: String,
        /// The receiver's HTTP status, if it answered.
        response_status: Option<u16>,
    },
}

/// A notify target: where a tenant's notifications of some kinds go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotifyTarget {
    /// Owning tenant.
    pub tenant: TenantId,
    /// The target's id (chosen by the tenant).
    pub target_id: String,
    /// `Webhook` or `Email`.
    pub channel: OutboxChannel,
    /// The URL or the mailbox (a company's, not a data subject's).
    pub address: String,
    /// The policy recipient this target speaks for, if any.
    pub recipient: Option<String>,
    /// The message kinds it receives (`deletion.notice`, `request.alarm`, …).
    pub events: Vec<String>,
    /// Bumped on every save; the webhook secret is derived from it.
    pub generation: u64,
    /// When it was last saved.
    pub updated: Timestamp,
}

/// Storage for the outbox and notify targets.
pub trait OutboxStore: Send + Sync {
    /// Stores messages (audited as one `outbox.enqueued` entry when any is new).
    /// Ids already stored are skipped; returns how many were new.
    fn enqueue(
        &self,
        tenant: &TenantId,
        messages: &[NewOutboxMessage],
        actor: &str,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Claims up to `limit` due pending messages of any tenant for `owner` until
    /// `lease_until`: messages never claimed, or whose lease expired.
    fn claim_due(
        &self,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxMessage>>> + Send;

    /// Records an attempt's outcome, if `owner` still holds the lease. Returns
    /// whether it did.
    fn finish_delivery(
        &self,
        tenant: &TenantId,
        message_id: &str,
        owner: &str,
        outcome: &DeliveryOutcome,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// A tenant's messages, newest first, optionally of one status; `before` is the
    /// previous page's last `(created, message_id)` cursor.
    fn outbox_messages(
        &self,
        tenant: &TenantId,
        status: Option<OutboxStatus>,
        before: Option<(Timestamp, String)>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxMessage>>> + Send;

    /// One message.
    fn outbox_message(
        &self,
        tenant: &TenantId,
        message_id: &str,
    ) -> impl Future<Output = Result<Option<OutboxMessage>>> + Send;

    /// Puts a dead message back in the queue, due now (audited). Returns false if
    /// it is not dead.
    fn retry_message(
        &self,
        tenant: &TenantId,
        message_id: &str,
        actor: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Creates or replaces a notify target (audited); the stored generation is one
    /// more than before.
    fn put_notify_target(
        &self,
        target: &NotifyTarget,
        actor: &str,
    ) -> impl Future<Output = Result<NotifyTarget>> + Send;

    /// A tenant's notify targets.
    fn notify_targets(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<NotifyTarget>>> + Send;

    /// Deletes a notify target (audited). Returns whether it existed.
    fn delete_notify_target(
        &self,
        tenant: &TenantId,
        target_id: &str,
        actor: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// One page of the people a tenant-wide notice goes to: subjects not erased, in
    /// id order after `after`, at most `limit`, each with whether it has an email
    /// identity. Callers page with the last id so a large tenant is never held in
    /// memory at once.
    fn notice_subjects(
        &self,
        tenant: &TenantId,
        after: Option<&SubjectId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(SubjectId, bool)>>> + Send;
}

macro_rules! delegate {
    ($self:ident . $m:ident ( $($a:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => s.$m($($a),*).await,
            AnyStore::Postgres(s) => s.$m($($a),*).await,
        }
    };
}

impl OutboxStore for AnyStore {
    async fn enqueue(
        &self,
        tenant: &TenantId,
        messages: &[NewOutboxMessage],
        actor: &str,
    ) -> Result<u64> {
        delegate!(self.enqueue(tenant, messages, actor))
    }
    async fn claim_due(
        &self,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>> {
        delegate!(self.claim_due(now, owner, lease_until, limit))
    }
    async fn finish_delivery(
        &self,
        tenant: &TenantId,
        message_id: &str,
        owner: &str,
        outcome: &DeliveryOutcome,
        at: Timestamp,
    ) -> Result<bool> {
        delegate!(self.finish_delivery(tenant, message_id, owner, outcome, at))
    }
    async fn outbox_messages(
        &self,
        tenant: &TenantId,
        status: Option<OutboxStatus>,
        before: Option<(Timestamp, String)>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>> {
        delegate!(self.outbox_messages(tenant, status, before, limit))
    }
    async fn outbox_message(
        &self,
        tenant: &TenantId,
        message_id: &str,
    ) -> Result<Option<OutboxMessage>> {
        delegate!(self.outbox_message(tenant, message_id))
    }
    async fn retry_message(
        &self,
        tenant: &TenantId,
        message_id: &str,
        actor: &str,
    ) -> Result<bool> {
        delegate!(self.retry_message(tenant, message_id, actor))
    }
    async fn put_notify_target(&self, target: &NotifyTarget, actor: &str) -> Result<NotifyTarget> {
        delegate!(self.put_notify_target(target, actor))
    }
    async fn notify_targets(&self, tenant: &TenantId) -> Result<Vec<NotifyTarget>> {
        delegate!(self.notify_targets(tenant))
    }
    async fn delete_notify_target(
        &self,
        tenant: &TenantId,
        target_id: &str,
        actor: &str,
    ) -> Result<bool> {
        delegate!(self.delete_notify_target(tenant, target_id, actor))
    }
    async fn notice_subjects(
        &self,
        tenant: &TenantId,
        after: Option<&SubjectId>,
        limit: u32,
    ) -> Result<Vec<(SubjectId, bool)>> {
        delegate!(self.notice_subjects(tenant, after, limit))
    }
}
