//! The [`Store`] trait: everything troth persists, one interface for every backend.

use crate::error::Result;
use crate::model::{
    Access, ConsentAck, Disclosure, ErasureReport, NewConsentEvent, PolicyVersionRecord,
    StoredConsentEvent, SubjectRecord, Tenant, VaultKey,
};
use std::future::Future;
use troth_crypto::{
    AuditEntry, AuditEvent, BlindToken, Checkpoint, IdentifierKind, PublicKey, SubjectId, TenantId,
    VerifyReport, Zeroizing,
};

/// troth's persistence. Implemented by [`crate::SqliteStore`], [`crate::PgStore`] and
/// [`crate::AnyStore`] (which picks one from a URL).
///
/// Every method that changes state appends its audit entry in the same transaction.
/// Every query is scoped to one tenant: no hot path reads across tenants.
pub trait Store: Send + Sync {
    /// Applies pending migrations (idempotent; safe to run from several processes).
    fn migrate(&self) -> impl Future<Output = Result<()>> + Send;

    /// Creates a tenant with fresh tenant and blind-index keys wrapped by the master key.
    fn create_tenant(&self, id: &TenantId, name: &str) -> impl Future<Output = Result<()>> + Send;

    /// Reads a tenant.
    fn tenant(&self, id: &TenantId) -> impl Future<Output = Result<Option<Tenant>>> + Send;

    /// Archives a policy version (audited as `policy.published`).
    fn publish_policy_version(
        &self,
        version: &PolicyVersionRecord,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Every archived policy version of a tenant, oldest publication first.
    fn policy_versions(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<PolicyVersionRecord>>> + Send;

    /// Inserts or updates a subject's non-PI attributes (audited as `subject.upserted`).
    fn upsert_subject(
        &self,
        subject: &SubjectRecord,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Reads a subject.
    fn subject(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> impl Future<Output = Result<Option<SubjectRecord>>> + Send;

    /// Links an identity (email, phone, external id) to a subject: stores its blind
    /// index token and the value encrypted under the subject's data key.
    /// Phones without a `+` are read with `default_region` (ISO alpha-2).
    fn put_identity(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        kind: IdentifierKind,
        value: &str,
        default_region: &str,
        access: &Access,
    ) -> impl Future<Output = Result<BlindToken>> + Send;

    /// Finds the subject an identity belongs to, by blind index.
    fn find_subject(
        &self,
        tenant: &TenantId,
        kind: IdentifierKind,
        value: &str,
        default_region: &str,
    ) -> impl Future<Output = Result<Option<SubjectId>>> + Send;

    /// Decrypts a subject's identities (audited as `vault.read`).
    fn identities(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        access: &Access,
    ) -> impl Future<Output = Result<Vec<(IdentifierKind, Zeroizing<String>)>>> + Send;

    /// Appends a consent event through the group-commit writer. Returns once the
    /// event and its audit entry are committed (durable).
    fn append_consent(
        &self,
        event: NewConsentEvent,
    ) -> impl Future<Output = Result<ConsentAck>> + Send;

    /// Appends a `troth-core` ledger event (consent or subject fact) through the
    /// group-commit writer; see [`crate::ledger`] for how it is stored.
    fn append_ledger_event(
        &self,
        event: &troth_core::LedgerEvent,
    ) -> impl Future<Output = Result<ConsentAck>> + Send;

    /// A subject's `troth-core` ledger events in ledger order, exactly as appended.
    /// Events whose payload was sealed (it held PI) and then shredded by erasure
    /// are left out.
    fn ledger_events(
        &self,
        tenant: &troth_core::TenantId,
        subject: &troth_core::SubjectId,
    ) -> impl Future<Output = Result<Vec<troth_core::LedgerEvent>>> + Send;

    /// A subject's consent events in ledger order.
    fn consent_events(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> impl Future<Output = Result<Vec<StoredConsentEvent>>> + Send;

    /// Encrypts and stores one PI value (audited as `vault.write`).
    fn vault_put(
        &self,
        key: &VaultKey,
        plaintext: &[u8],
        expires: Option<jiff::Timestamp>,
        access: &Access,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Reads and decrypts one PI value (audited as `vault.read`). After erasure this
    /// fails with a crypto error for which [`crate::StoreError::is_key_destroyed`] holds.
    fn vault_get(
        &self,
        key: &VaultKey,
        access: &Access,
    ) -> impl Future<Output = Result<Zeroizing<Vec<u8>>>> + Send;

    /// Replaces the value of an existing record, keeping its expiry and creation time
    /// (a correction, PIPL Art.46; audited as `vault.correct`). Returns whether the
    /// record existed; nothing is written when it did not.
    fn vault_replace(
        &self,
        key: &VaultKey,
        plaintext: &[u8],
        access: &Access,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Deletes one PI value (audited as `vault.delete`). Returns whether it existed.
    fn vault_delete(
        &self,
        key: &VaultKey,
        access: &Access,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Deletes a subject's vault records except those in `keep` (a deletion request
    /// under a category-wide legal hold), in one transaction audited as
    /// `vault.delete_except`. Returns how many records went.
    fn vault_delete_except(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        keep: &[String],
        access: &Access,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Erases a subject: destroys its data key (crypto-shredding every copy of its
    /// values, backups included), deletes its vault records and identity index rows,
    /// and marks it `erased` (audited as `subject.erased`).
    fn erase_subject(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        access: &Access,
    ) -> impl Future<Output = Result<ErasureReport>> + Send;

    /// Records a disclosure (audited as `disclosure.recorded`).
    fn record_disclosure(
        &self,
        disclosure: &Disclosure,
        actor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// A subject's disclosures, oldest first.
    fn disclosures(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> impl Future<Output = Result<Vec<Disclosure>>> + Send;

    /// Appends audit events for state changes made elsewhere; returns their seqs.
    fn append_audit(
        &self,
        tenant: &TenantId,
        events: Vec<AuditEvent>,
    ) -> impl Future<Output = Result<Vec<u64>>> + Send;

    /// Up to `limit` audit entries with `seq > after`, in order.
    fn audit_entries(
        &self,
        tenant: &TenantId,
        after: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEntry>>> + Send;

    /// The tenant's signed checkpoints: the periodic ones plus the latest tip.
    fn audit_checkpoints(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<Checkpoint>>> + Send;

    /// Streams the tenant's audit log and checkpoints through the verifier.
    /// A broken chain is [`crate::StoreError::AuditBroken`] naming the first bad entry.
    fn verify_audit(&self, tenant: &TenantId) -> impl Future<Output = Result<VerifyReport>> + Send;

    /// The key audit checkpoints are signed with.
    fn audit_public_key(&self) -> PublicKey;
}
