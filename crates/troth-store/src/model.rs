//! Records the store reads and writes. Ids are pseudonymous; PI only ever travels
//! as plaintext bytes into [`crate::Store::vault_put`] / identity calls, and is
//! encrypted before it reaches SQL.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_crypto::{CategoryId, RecordId, SubjectId, TenantId};

/// A tenant: one controller using troth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// The tenant id.
    pub id: TenantId,
    /// Display name of the controller (an organisation, not a person).
    pub name: String,
    /// When the tenant was created.
    pub created: Timestamp,
}

/// One archived version of a tenant's policy pack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionRecord {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Pack id from the manifest.
    pub pack_id: String,
    /// Human version label, e.g. `2024-03`.
    pub label: String,
    /// Content hash of the canonical policy (64 hex digits); the row key.
    pub content_hash: String,
    /// When it was published.
    pub published: Timestamp,
    /// When it takes effect.
    pub effective: Timestamp,
    /// Whether the change from the previous version is significant (needs re-consent).
    pub significant: bool,
    /// The `policy.toml` source as published.
    pub source_toml: String,
}

/// A data subject's non-PI attributes. Birth dates and identities go to the vault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRecord {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Pseudonymous subject id.
    pub subject: SubjectId,
    /// Age band label (`child`, `minor`, `adult`), if known.
    pub age_band: Option<String>,
    /// The guardian's subject id, for a child or minor.
    pub guardian: Option<SubjectId>,
    /// Account status (`active`, `cancelled`, `child_blocked`, `erased`).
    pub status: String,
    /// When the subject was first recorded.
    pub created: Timestamp,
}

/// A consent event to append to the ledger.
///
/// The indexed columns (tenant, subject, purpose, action, time) are copied out of the
/// event; `event` holds the full event as the caller's domain type serialised to JSON,
/// so nothing the domain records is lost. The store assigns `seq`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewConsentEvent {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Whose consent.
    pub subject: SubjectId,
    /// The event's own id (e.g. a UUIDv7), unique per tenant.
    pub event_id: String,
    /// Purpose id the event is about.
    pub purpose: String,
    /// `given`, `withdrawn`, `refused` or `expired`.
    pub action: String,
    /// When the event happened.
    pub time: Timestamp,
    /// Who recorded it (pseudonymous: `subject`, `svc:api`, `guardian:<id>`); goes to the audit log.
    pub actor: String,
    /// The full event, as JSON. Must not contain PI in clear.
    pub event: serde_json::Value,
}

/// A consent event as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredConsentEvent {
    /// Position in the tenant's consent ledger (starts at 1, no gaps).
    pub seq: u64,
    /// The audit entry that records this event.
    pub audit_seq: u64,
    /// The event as it was written.
    #[serde(flatten)]
    pub event: NewConsentEvent,
}

/// What the group-commit writer hands back once an event is durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentAck {
    /// Ledger sequence number of the event in its tenant.
    pub seq: u64,
    /// Sequence number of its audit entry.
    pub audit_seq: u64,
}

/// Addresses one encrypted value in the vault.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VaultKey {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Whose data.
    pub subject: SubjectId,
    /// Data category id from the policy (e.g. `contact.email`).
    pub category: CategoryId,
    /// Record id within (subject, category).
    pub record: RecordId,
}

impl VaultKey {
    /// Builds a key from its parts.
    pub fn new(
        tenant: impl Into<TenantId>,
        subject: impl Into<SubjectId>,
        category: impl Into<CategoryId>,
        record: impl Into<RecordId>,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            subject: subject.into(),
            category: category.into(),
            record: record.into(),
        }
    }
}

/// Who is touching PI and why; every vault operation is audited with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// Pseudonymous actor id (`svc:billing`, `op:42`).
    pub actor: String,
    /// Purpose id the access serves.
    pub purpose: String,
}

impl Access {
    /// Builds an access descriptor.
    pub fn new(actor: impl Into<String>, purpose: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            purpose: purpose.into(),
        }
    }
}

/// What erasing a subject removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReport {
    /// Whether a data key existed and was destroyed.
    pub key_destroyed: bool,
    /// Vault records deleted.
    pub records_deleted: u64,
    /// Identity index rows deleted.
    pub identities_deleted: u64,
    /// The audit entry recording the erasure.
    pub audit_seq: u64,
}

/// One disclosure (sharing, transfer or public disclosure) of a subject's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Whose data was disclosed.
    pub subject: SubjectId,
    /// Unique id of this disclosure within the subject.
    pub disclosure_id: String,
    /// Recipient id from the policy.
    pub recipient: String,
    /// Category ids disclosed.
    pub categories: Vec<String>,
    /// Purpose id.
    pub purpose: String,
    /// Legal basis (`consent`, `contract`, ...).
    pub basis: String,
    /// Destination country for a cross-border transfer.
    pub destination: Option<String>,
    /// When it happened.
    pub time: Timestamp,
}
