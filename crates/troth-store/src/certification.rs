//! Persistence for developer real-name certifications.
//!
//! The `certifications` table holds the workflow only (state, kind, whether a copy
//! was handed in, who decided, a reason code, times): no personal information. The
//! values (name, ID number, company name, credit code, document copies) go into the
//! subject's vault, encrypted under the subject's key, in the same transaction as the
//! state change that takes them, with one `vault.write` audit entry each beside the
//! change's own (`certification.submitted`, `certification.certified`, …); values a
//! change drops are deleted in it too (`vault.delete`).

use crate::any::AnyStore;
use crate::error::Result;
use crate::model::Access;
use jiff::Timestamp;
use std::future::Future;
use troth_core::{Certification, CertificationState};
use troth_crypto::{SubjectId, TenantId, Zeroizing};

/// One certification as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificationRecord {
    /// Owning tenant.
    pub tenant: TenantId,
    /// The developer (a subject of the tenant).
    pub subject: SubjectId,
    /// The certification's id (unique per subject).
    pub certification_id: String,
    /// The pack purpose the values were collected for.
    pub purpose: String,
    /// Kind, state, copy, how certified and why not.
    pub workflow: Certification,
    /// Who made the last decision: `check:<target>` or a pseudonymous key actor.
    pub decided_by: Option<String>,
    /// When it was (last) submitted.
    pub submitted: Timestamp,
    /// When it last changed.
    pub updated: Timestamp,
}

/// A value stored in the subject's vault with a certification change.
pub struct CertificationValue {
    /// The pack's category (`legal-name`, `id-number`, `id-card-copy`, …).
    pub category: String,
    /// The vault record id.
    pub record: String,
    /// The value; zeroized on drop.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// When the record must be gone (from the pack's retention), if known now.
    pub expires: Option<Timestamp>,
}

/// One change to a certification, written in one audited transaction.
pub struct CertificationChange<'a> {
    /// The certification after the change.
    pub record: &'a CertificationRecord,
    /// The state the stored row must still be in; `None` for a new certification.
    /// Another writer having moved it since it was read makes the change fail
    /// without writing anything.
    pub expected: Option<CertificationState>,
    /// Vault values written with the change.
    pub values: &'a [CertificationValue],
    /// Vault categories whose record of this certification is deleted with the
    /// change (a resubmission drops the earlier values it does not replace).
    pub remove: &'a [&'a str],
    /// Who acts and for which purpose (the vault entries' and the change's actor).
    pub access: &'a Access,
    /// The audit action (`certification.submitted`, `certification.checking`, …).
    pub action: &'a str,
}

/// Storage for certifications.
pub trait CertificationStore: Send + Sync {
    /// Writes a change: the vault values, the row (inserted when `expected` is
    /// `None`, else updated only if still in `expected`) and the audit entries, in
    /// one transaction. Answers `false`, having written nothing, when the row is not
    /// in the expected state (or, for a new one, already exists).
    fn save_certification(
        &self,
        change: CertificationChange<'_>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// A subject's certifications, the most recently submitted first.
    fn certifications(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> impl Future<Output = Result<Vec<CertificationRecord>>> + Send;
}

impl CertificationStore for AnyStore {
    async fn save_certification(&self, change: CertificationChange<'_>) -> Result<bool> {
        match self {
            AnyStore::Sqlite(s) => s.save_certification(change).await,
            AnyStore::Postgres(s) => s.save_certification(change).await,
        }
    }

    async fn certifications(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> Result<Vec<CertificationRecord>> {
        match self {
            AnyStore::Sqlite(s) => s.certifications(tenant, subject).await,
            AnyStore::Postgres(s) => s.certifications(tenant, subject).await,
        }
    }
}
