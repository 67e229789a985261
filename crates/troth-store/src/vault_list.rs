//! [`VaultListStore`]: a subject's vault values, decrypted at once: all of them for
//! the access/copy export bundle (a subject's whole record, not one value at a
//! time), or one category's (the decisions kept for an explanation).

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

/// Which of a subject's categories to read.
#[derive(Clone, Copy, Debug)]
pub enum Categories<'a> {
    /// Every category but these (reserved ones such as stored exports).
    AllBut(&'a [&'a str]),
    /// This one only: the others are neither read nor decrypted.
    Only(&'a str),
}

/// Reads a subject's vault, many values at once.
pub trait VaultListStore: Send + Sync {
    /// The subject's vault records in `which` categories, decrypted, ordered by
    /// category then record id. Audited as one `vault.read` entry naming the count
    /// and categories, never the values. After erasure there are no records left, so
    /// the list is empty.
    fn vault_records(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        which: Categories<'_>,
        access: &Access,
    ) -> impl Future<Output = Result<Vec<VaultValue>>> + Send;
}

impl VaultListStore for AnyStore {
    async fn vault_records(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        which: Categories<'_>,
        access: &Access,
    ) -> Result<Vec<VaultValue>> {
        match self {
            AnyStore::Sqlite(s) => s.vault_records(tenant, subject, which, access).await,
            AnyStore::Postgres(s) => s.vault_records(tenant, subject, which, access).await,
        }
    }
}
