//! Backend-independent helpers: conversions between domain values and column values.

use crate::error::{Result, StoreError};
use jiff::Timestamp;
use troth_crypto::{AuditHash, IdentifierKind};

/// Timestamp -> Unix nanoseconds (exact: the audit hash covers nanoseconds).
pub(crate) fn ts_ns(t: Timestamp) -> Result<i64> {
    i64::try_from(t.as_nanosecond()).map_err(|_| StoreError::OutOfRange("timestamp"))
}

/// Unix nanoseconds -> Timestamp.
pub(crate) fn ns_ts(n: i64) -> Result<Timestamp> {
    Timestamp::from_nanosecond(i128::from(n)).map_err(|_| StoreError::Corrupt("timestamp"))
}

/// u64 sequence numbers are stored as BIGINT.
pub(crate) fn seq_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::OutOfRange("sequence number"))
}

pub(crate) fn i64_seq(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt("sequence number"))
}

pub(crate) fn hash_from(bytes: &[u8]) -> Result<AuditHash> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("audit hash"))?;
    Ok(AuditHash(arr))
}

pub(crate) fn kind_parse(s: &str) -> Result<IdentifierKind> {
    match s {
        "email" => Ok(IdentifierKind::Email),
        "phone" => Ok(IdentifierKind::Phone),
        "external_id" => Ok(IdentifierKind::ExternalId),
        _ => Err(StoreError::Corrupt("identity kind")),
    }
}

/// The vault category an identity's ciphertext is bound to.
pub(crate) fn identity_category(kind: IdentifierKind) -> troth_crypto::CategoryId {
    troth_crypto::CategoryId::new(format!("identity.{}", kind.as_str()))
}

/// Audit `target` for a subject.
pub(crate) fn subject_target(subject: &troth_crypto::SubjectId) -> String {
    format!("subject:{subject}")
}
