//! The crate's error type. Messages are lowercase and never carry PI or key bytes.

use thiserror::Error;

/// Everything that can go wrong in `troth-crypto`, except audit-chain verification
/// findings, which are reported as [`crate::audit::AuditViolation`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The AEAD tag did not verify: wrong key, tampered bytes, or the ciphertext was
    /// moved to another tenant, subject, category or record.
    #[error(
        "decryption failed: key, ciphertext or binding does not match\nhelp: read the value with the tenant, subject, category and record it was written for"
    )]
    DecryptionFailed,

    /// The subject's data key is gone (crypto-shredded); its values are unreadable.
    #[error("subject key destroyed: the data was erased and cannot be decrypted")]
    KeyDestroyed,

    /// A wrapped key names a wrapping-key version this provider or key does not hold.
    #[error(
        "wrapping key version `{0}` is not available\nhelp: load the key version that wrapped this key, or finish the rotation"
    )]
    UnknownKeyVersion(u32),

    /// A stored blob (wrapped key, encrypted field, key file, signature) is malformed.
    #[error("malformed {0}")]
    Malformed(&'static str),

    /// Master key material given by the caller is unusable.
    #[error(
        "invalid master key: {0}\nhelp: supply 32 random bytes encoded as 64 hex digits or base64"
    )]
    InvalidMasterKey(&'static str),

    /// Reading or creating the master key file failed.
    #[error("key file {0} failed: {1}")]
    KeyFile(&'static str, #[source] std::io::Error),

    /// The key file can be read by group or others.
    #[error(
        "key file permissions are too open (mode `{0:o}`)\nhelp: run `chmod 600` on the key file"
    )]
    KeyFilePermissions(u32),

    /// The operating system's random number generator failed.
    #[error("random number generator unavailable")]
    Rng,

    /// An email address could not be normalised.
    #[error("invalid email address: {0}")]
    InvalidEmail(&'static str),

    /// A phone number could not be parsed or is not a valid number.
    #[error(
        "invalid phone number: {0}\nhelp: give the number in E.164 form, e.g. `+8613800138000`"
    )]
    InvalidPhone(&'static str),

    /// The default region given for phone parsing is not an ISO 3166 alpha-2 code.
    #[error("unknown phone region `{0}`\nhelp: use an ISO 3166-1 alpha-2 code such as `CN`")]
    UnknownRegion(String),

    /// An external identifier is empty after trimming.
    #[error("invalid external id: {0}")]
    InvalidExternalId(&'static str),

    /// A JWS could not be parsed.
    #[error("malformed receipt: {0}")]
    MalformedJws(&'static str),

    /// A JWS header asks for an algorithm other than EdDSA.
    #[error("unsupported receipt algorithm\nhelp: only `EdDSA` (Ed25519) receipts are accepted")]
    UnsupportedAlgorithm,

    /// A signature did not verify.
    #[error("signature verification failed")]
    InvalidSignature,

    /// A payload could not be serialised or parsed as JSON.
    #[error("payload is not valid json")]
    Json,
}
