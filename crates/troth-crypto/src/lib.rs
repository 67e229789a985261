//! troth-crypto: the cryptography behind troth's PI vault and audit log.
//!
//! Pure library (the only I/O is [`keyfile`]). Placeholder docs, see below.

pub mod error;
pub mod ids;
pub mod keyfile;
pub mod keys;
pub mod master;
pub mod vault;

pub use error::CryptoError;
pub use ids::{CategoryId, RecordId, SubjectId, TenantId};
pub use keys::{KEY_LEN, KeyVersion, SecretKey, WrappedKey};
pub use master::{LocalMasterKey, MasterKeyProvider, parse_encoded_key};
pub use vault::{EncryptedField, SubjectKey, TenantKey, Vault, rewrap_tenant_key};
pub use zeroize::Zeroizing;
pub mod audit;
pub mod sign;
pub use audit::{
    AppendedBatch, AuditChain, AuditEntry, AuditEvent, AuditHash, AuditVerifier, AuditViolation,
    Checkpoint, VerifyReport, ViolationKind,
};
pub use sign::{Jwk, PublicKey, SigningKeyPair};
pub mod blind;
pub use blind::{
    BlindIndexer, BlindToken, IdentifierKind, normalize_email, normalize_external_id,
    normalize_phone,
};
pub mod receipt;
pub use receipt::{RECEIPT_TYP, ReceiptSigner, verify_receipt, verify_receipt_as};
