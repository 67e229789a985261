//! The crate's error type. Messages are lowercase, carry ids at most and never PI.

use thiserror::Error;
use troth_crypto::{AuditViolation, CryptoError};

/// Everything that can go wrong in the store.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database driver reported an error (connection, constraint, I/O).
    #[error("database error: {0}\nhelp: check that the database is reachable and migrated")]
    Database(#[from] sqlx::Error),

    /// Encryption, decryption or key unwrapping failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),

    /// The tenant does not exist (create it first).
    #[error("tenant `{0}` not found\nhelp: create the tenant before writing its data")]
    TenantNotFound(String),

    /// A row the caller asked for does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),

    /// A row already exists with the same key.
    #[error("{0} already exists")]
    Conflict(&'static str),

    /// A migration failed to apply.
    #[error("migration `{version}` failed: {source}")]
    Migration {
        /// The migration's version number.
        version: i64,
        /// What went wrong.
        #[source]
        source: sqlx::Error,
    },

    /// The database schema is newer than this build understands.
    #[error(
        "database schema version `{found}` is newer than this build (`{known}`)\nhelp: upgrade troth"
    )]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Highest version this build knows.
        known: i64,
    },

    /// The consent writer task has stopped (the store was closed or the task failed).
    #[error("consent writer is not running\nhelp: reopen the store")]
    WriterClosed,

    /// A group-commit batch failed; nothing in it was written.
    #[error("consent batch was not committed: {0}")]
    BatchFailed(String),

    /// The audit chain failed verification.
    #[error(transparent)]
    AuditBroken(#[from] AuditViolation),

    /// A stored value could not be decoded (corrupt row or wrong schema).
    #[error("stored {0} is corrupt")]
    Corrupt(&'static str),

    /// A value is out of the range the store can represent.
    #[error("{0} is out of range")]
    OutOfRange(&'static str),

    /// The connection URL or path is not usable.
    #[error(
        "invalid database location: {0}\nhelp: use `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`"
    )]
    InvalidLocation(String),

    /// The test-support PostgreSQL cluster could not be started.
    #[error("test postgres cluster: {0}")]
    TestCluster(String),
}

impl StoreError {
    /// True when the error means the subject's data was crypto-shredded.
    pub fn is_key_destroyed(&self) -> bool {
        matches!(self, StoreError::Crypto(CryptoError::KeyDestroyed))
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
