//! troth-crypto: the cryptography behind troth's PI vault and audit log.
//!
//! A pure library: no database, no network. The only file I/O is the local master
//! key file in [`keyfile`]. The store crate persists what this crate returns
//! ([`WrappedKey`], [`EncryptedField`], [`AuditEntry`], [`Checkpoint`], tokens).
//!
//! # What it provides
//! * **Vault** ([`vault`]): envelope encryption. PI fields are sealed with
//!   XChaCha20-Poly1305 under a per-subject data key (DEK), DEKs are wrapped by a
//!   per-tenant key (TEK), TEKs by the master key through a [`MasterKeyProvider`]
//!   (local keyring: [`LocalMasterKey`]; a KMS can implement the trait).
//! * **Crypto-shredding**: deleting a subject's wrapped DEK makes every copy of its
//!   data unreadable; opening it then fails with [`CryptoError::KeyDestroyed`].
//! * **Rotation** by re-wrapping, never re-encrypting data:
//!   [`Vault::rewrap_tenant_key`] / [`rewrap_tenant_key`] after a master-key change,
//!   [`Vault::rotate_tenant_key`] + [`TenantKey::rewrap_subject_keys`] for a tenant key.
//! * **Blind indexes** ([`blind`]): per-tenant HMAC-SHA256 tokens over normalised
//!   email, E.164 phone and external ids.
//! * **Audit log** ([`audit`]): BLAKE3 hash chain over a length-prefixed canonical
//!   encoding, Ed25519-signed checkpoints, and a verifier that names the first bad
//!   entry.
//! * **Receipts** ([`receipt`]): compact JWS with EdDSA, public key as a JWK.
//!
//! # Invariants
//! * **No PI in logs or errors.** Error messages never include the input value,
//!   key bytes or plaintext; `Debug` of every key-bearing type is redacted (ids and
//!   versions only).
//! * **Keys are zeroized.** All secret key material ([`SecretKey`], the AEAD
//!   ciphers, Ed25519 signing keys) is wiped on drop; decrypted values come back as
//!   [`Zeroizing`] buffers.
//! * **Associated data binds every ciphertext to its place.** A field is bound to
//!   (tenant, subject, category, record); a DEK to (tenant, subject, key versions);
//!   a TEK or blind-index key to (tenant, key versions). A ciphertext or wrapped key
//!   moved to another row, subject or tenant fails to decrypt.
//! * **Every wrapped key records its own version and its wrapping key's version.**
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use troth_crypto::{CategoryId, KeyVersion, LocalMasterKey, RecordId, SubjectId, TenantId, Vault};
//!
//! # fn main() -> Result<(), troth_crypto::CryptoError> {
//! let vault = Vault::new(Arc::new(LocalMasterKey::generate(KeyVersion(1))?));
//! let tenant = TenantId::new("acme");
//! let subject = SubjectId::new("sub-1");
//! let (email, row) = (CategoryId::new("contact.email"), RecordId::new("row-1"));
//!
//! let (tek, _wrapped_tek) = vault.create_tenant_key(&tenant)?;
//! let (dek, wrapped_dek) = tek.create_subject_key(&subject)?;
//! let sealed = dek.encrypt(&email, &row, b"alice@example.com")?;
//!
//! let plain = tek.decrypt_field(&subject, Some(&wrapped_dek), &email, &row, &sealed)?;
//! assert_eq!(&plain[..], b"alice@example.com");
//!
//! // Erasure: the store deletes `wrapped_dek`.
//! let gone = tek.decrypt_field(&subject, None, &email, &row, &sealed);
//! assert!(matches!(gone, Err(troth_crypto::CryptoError::KeyDestroyed)));
//! # Ok(())
//! # }
//! ```

pub mod audit;
pub mod blind;
pub mod error;
pub mod ids;
pub mod keyfile;
pub mod keys;
pub mod master;
pub mod receipt;
pub mod sign;
pub mod vault;

pub use audit::{
    AppendedBatch, AuditChain, AuditEntry, AuditEvent, AuditHash, AuditVerifier, AuditViolation,
    Checkpoint, HashCheck, VerifyReport, ViolationKind,
};
pub use blind::{
    BlindIndexer, BlindToken, IdentifierKind, normalize_email, normalize_external_id,
    normalize_phone,
};
pub use error::CryptoError;
pub use ids::{CategoryId, RecordId, SubjectId, TenantId};
pub use keys::{KEY_LEN, KeyVersion, SecretKey, WrappedKey};
pub use master::{LocalMasterKey, MasterKeyProvider, parse_encoded_key};
pub use receipt::{RECEIPT_TYP, ReceiptSigner, verify_receipt, verify_receipt_as};
pub use sign::{Jwk, PublicKey, SigningKeyPair};
pub use vault::{EncryptedField, SubjectKey, TenantKey, Vault, rewrap_tenant_key};
pub use zeroize::Zeroizing;

// Runs the README's examples as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
