//! [`VaultListStore`]: every vault value of one subject, decrypted at once, for the
//! access/copy export bundle (a subject's whole record, not one value at a time).

use crate::any::AnyStore;
use crate::error::Result;
use crate::model::Access;
use std::future::Future;
use troth_crypto::{CategoryId, RecordId, SubjectId, TenantId, Zeroizing};

/// One decrypted vault value of a subject.
pub struct VaultValue {
    /// Data category id.
    pub category: CategoryId,
    /// Record id within the category.
    pub record: RecordId,
    /// The decrypted value (zeroized on drop).
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// Reads a subject's whole vault.
pub trait VaultListStore: Send + Sync {
    /// Every vault record of a subject, decrypted, ordered by category then record id,
    /// skipping categories in `exclude` (reserved ones such as stored exports). Audited
    /// as one `vault.read` entry naming the count and categories, never the values.
    /// After erasure there are no records left, so the list is empty.
    fn vault_records(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        exclude: &[&str],
        access: &Access,
    ) -> impl Future<Output = Result<Vec<VaultValue>>> + Send;
}

impl VaultListStore for AnyStore {
    async fn vault_records(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        exclude: &[&str],
        access: &Access,
    ) -> Result<Vec<VaultValue>> {
        match self {
            AnyStore::Sqlite(s) => s.vault_records(tenant, subject, exclude, access).await,
            AnyStore::Postgres(s) => s.vault_records(tenant, subject, exclude, access).await,
        }
    }
}
