//! What a store needs besides a database: keys and tuning.

use std::num::NonZeroU64;
use std::sync::Arc;
use troth_crypto::{CryptoError, KeyVersion, LocalMasterKey, SigningKeyPair, Vault};

/// Keys and tuning shared by every backend.
pub struct StoreConfig {
    /// The vault over the master key provider (local key file, env var or KMS).
    pub vault: Vault,
    /// Signs audit checkpoints. Keep it as secret as the master key.
    pub audit_signer: SigningKeyPair,
    /// A periodic checkpoint is signed every this many audit entries (a tip
    /// checkpoint is also signed after every write).
    pub checkpoint_every: NonZeroU64,
    /// Most consent events the writer puts in one transaction.
    pub max_batch: usize,
    /// Audit entries read per page by [`crate::Store::verify_audit`] (memory bound:
    /// about three pages are in memory at once). Default 4,000: pages of 1,000–4,000
    /// verified fastest in `benches/audit_verify.rs`, 10,000 ≈ 20 % slower.
    pub verify_page: u32,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("vault", &self.vault)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("max_batch", &self.max_batch)
            .field("verify_page", &self.verify_page)
            .finish_non_exhaustive()
    }
}

/// Default checkpoint interval.
pub const DEFAULT_CHECKPOINT_EVERY: NonZeroU64 = match NonZeroU64::new(1024) {
    Some(n) => n,
    None => NonZeroU64::MIN,
};

impl StoreConfig {
    /// A config with default tuning.
    pub fn new(vault: Vault, audit_signer: SigningKeyPair) -> Self {
        Self {
            vault,
            audit_signer,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
            max_batch: 1024,
            verify_page: 4_000,
        }
    }

    /// Fresh random keys held only in memory: for tests, demos and benchmarks.
    pub fn ephemeral() -> Result<Self, CryptoError> {
        let master = LocalMasterKey::generate(KeyVersion(1))?;
        Ok(Self::new(
            Vault::new(Arc::new(master)),
            SigningKeyPair::generate()?,
        ))
    }
}
