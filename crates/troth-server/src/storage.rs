//! Opening the configured store together with its key material.
//!
//! Key material lives beside the data unless told otherwise:
//! * the master keyring: `TROTH_MASTER_KEY` when set (one key as 64 hex digits or
//!   base64, or several `v<N> <key>` entries separated by `,`), else
//!   `<data_dir>/master.key` (created with mode 0600 on first start; `troth keys
//!   rotate` adds versions to it);
//! * the Ed25519 signing key for audit checkpoints and consent receipts:
//!   `<data_dir>/signing.key` (created the same way).
//!
//! With PostgreSQL the data directory still holds these two files; the databases
//! hold only wrapped keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use troth_crypto::{
    CryptoError, KeyVersion, LocalMasterKey, ReceiptSigner, SigningKeyPair, Vault, keyfile,
};
use troth_store::{AnyStore, Store, StoreConfig, StoreError};

use crate::config::Config;

/// Environment variable that carries the master key instead of a key file.
pub const MASTER_KEY_ENV: &str = "TROTH_MASTER_KEY";
/// Master key file name inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";
/// Signing key file name inside the data directory.
pub const SIGNING_KEY_FILE: &str = "signing.key";

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key could not be read or created.
    #[error("{what}: {source}")]
    Key {
        /// Which key, and where from.
        what: String,
        /// The cause (never key bytes).
        source: CryptoError,
    },
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// A store ready for use, and the key that signs receipts.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The store, migrated.
    pub store: AnyStore,
    /// Signs consent receipts (the same key signs audit checkpoints).
    pub receipts: Arc<ReceiptSigner>,
    /// Where the store lives, for messages (no credentials).
    pub location: String,
    /// Key for hashing one-time verification codes, derived from the signing key so
    /// codes sent before a restart still verify after it.
    pub code_key: [u8; 32],
    /// Key webhook secrets are derived from (likewise stable across restarts).
    pub notify_key: [u8; 32],
}

/// Loads the master keyring: from [`MASTER_KEY_ENV`] when set, else from (or newly
/// created in) `<data_dir>/master.key`. Either holds one key (version 1) or
/// several `v<N> <key>` entries (see [`keyfile`]); every version unwraps, the
/// highest wraps new keys, so a server started after a rotation reads old and
/// new wraps alike.
pub fn master_key(data_dir: &Path) -> Result<LocalMasterKey, OpenError> {
    if let Ok(value) = std::env::var(MASTER_KEY_ENV) {
        return keyfile::parse_keyring(&value, KeyVersion(1)).map_err(|source| OpenError::Key {
            what: format!("master key from {MASTER_KEY_ENV}"),
            source,
        });
    }
    let path = data_dir.join(MASTER_KEY_FILE);
    keyfile::load_or_create(&path, KeyVersion(1)).map_err(|source| OpenError::Key {
        what: format!("master key file {}", path.display()),
        source,
    })
}

/// Loads (or creates) `<data_dir>/signing.key`.
pub fn signing_key(data_dir: &Path) -> Result<SigningKeyPair, OpenError> {
    let path = data_dir.join(SIGNING_KEY_FILE);
    keyfile::load_or_create_signing(&path).map_err(|source| OpenError::Key {
        what: format!("signing key file {}", path.display()),
        source,
    })
}

/// Opens (creating if needed) and migrates the store the configuration names.
pub async fn open(config: &Config) -> Result<Opened, OpenError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| OpenError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let master = master_key(&config.data_dir)?;
    let signer = signing_key(&config.data_dir)?;
    let receipts = Arc::new(ReceiptSigner::new(signer.clone()));
    let code_key = blake3::derive_key("troth 2026-12 verification codes", &*signer.to_seed());
    let notify_key = blake3::derive_key("troth 2026-12 webhook secrets", &*signer.to_seed());
    let vault = Vault::new(Arc::new(master));
    let read_config = StoreConfig::new(vault.clone(), signer.clone());
    let store_config = StoreConfig::new(vault, signer);
    let (location, shown) = match &config.database_url {
        Some(url) => (url.clone(), redact_url(url)),
        None => {
            let dir = config.data_dir.display().to_string();
            (dir.clone(), format!("sqlite://{dir}"))
        }
    };
    let store = AnyStore::open_with_read_replica(
        &location,
        config.keys_database_url.as_deref(),
        config.read_database_url.as_deref(),
        store_config,
        read_config,
    )
    .await?;
    store.migrate().await?;
    Ok(Opened {
        store,
        receipts,
        location: shown,
        code_key,
        notify_key,
    })
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((creds, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match creds.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact_url("postgres://troth:s3cret@db:5432/troth"),
            "postgres://troth:***@db:5432/troth"
        );
        assert_eq!(redact_url("postgres://db/troth"), "postgres://db/troth");
    }
}
