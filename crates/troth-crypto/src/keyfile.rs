//! The one place this crate touches the file system: local key files.
//!
//! A key file holds one 32-byte secret as 64 hex digits and a newline: the master
//! key ([`load_or_create`]) or the Ed25519 seed that signs audit checkpoints and
//! consent receipts ([`load_or_create_signing`]). Files are created with mode 0600
//! on first use, and refused on load if group or others can read them.

use crate::error::CryptoError;
use crate::keys::{KEY_LEN, KeyVersion, SecretKey};
use crate::master::{LocalMasterKey, parse_encoded_key};
use crate::sign::SigningKeyPair;
use std::io::{Read, Write};
use std::path::Path;
use zeroize::Zeroizing;

/// Loads the master key at `path`, creating it with a fresh random key (mode 0600)
/// if it does not exist. Returns a one-version keyring using `version`.
pub fn load_or_create(path: &Path, version: KeyVersion) -> Result<LocalMasterKey, CryptoError> {
    match load(path, version) {
        Err(CryptoError::KeyFile(_, e)) if e.kind() == std::io::ErrorKind::NotFound => {
            create(path, version)
        }
        other => other,
    }
}

/// Loads an existing key file.
pub fn load(path: &Path, version: KeyVersion) -> Result<LocalMasterKey, CryptoError> {
    let key = read_secret(path)?;
    Ok(LocalMasterKey::new(version, key))
}

/// Creates a new key file; fails if one already exists (never overwrites a key).
pub fn create(path: &Path, version: KeyVersion) -> Result<LocalMasterKey, CryptoError> {
    let key = SecretKey::generate()?;
    write_new_secret(path, &key)?;
    Ok(LocalMasterKey::new(version, key))
}

/// Loads the signing key seed at `path`, creating a fresh one (mode 0600) if the
/// file does not exist.
pub fn load_or_create_signing(path: &Path) -> Result<SigningKeyPair, CryptoError> {
    match read_secret(path) {
        Ok(seed) => Ok(SigningKeyPair::from_seed(seed.expose_secret())),
        Err(CryptoError::KeyFile(_, e)) if e.kind() == std::io::ErrorKind::NotFound => {
            let seed = SecretKey::generate()?;
            write_new_secret(path, &seed)?;
            Ok(SigningKeyPair::from_seed(seed.expose_secret()))
        }
        Err(e) => Err(e),
    }
}

fn read_secret(path: &Path) -> Result<SecretKey, CryptoError> {
    let mut file = std::fs::File::open(path).map_err(|e| CryptoError::KeyFile("open", e))?;
    check_permissions(&file)?;
    let mut text = Zeroizing::new(String::with_capacity(2 * KEY_LEN + 1));
    file.read_to_string(&mut text)
        .map_err(|e| CryptoError::KeyFile("read", e))?;
    parse_encoded_key(&text)
}

fn write_new_secret(path: &Path, key: &SecretKey) -> Result<(), CryptoError> {
    let mut text = Zeroizing::new(hex::encode(key.expose_secret()));
    text.push('\n');
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts
        .open(path)
        .map_err(|e| CryptoError::KeyFile("create", e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| CryptoError::KeyFile("write", e))
}

#[cfg(unix)]
fn check_permissions(file: &std::fs::File) -> Result<(), CryptoError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file
        .metadata()
        .map_err(|e| CryptoError::KeyFile("stat", e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(CryptoError::KeyFilePermissions(mode & 0o777));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_file: &std::fs::File) -> Result<(), CryptoError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::MasterKeyProvider;

    #[test]
    fn creates_once_then_loads_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let a = load_or_create(&path, KeyVersion(1)).unwrap();
        let k = SecretKey::generate().unwrap();
        let w = a.wrap(b"t", KeyVersion(1), &k).unwrap();
        let b = load_or_create(&path, KeyVersion(1)).unwrap();
        assert_eq!(
            b.unwrap(b"t", &w).unwrap().expose_secret(),
            k.expose_secret()
        );
        assert!(
            create(&path, KeyVersion(1)).is_err(),
            "must never overwrite"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn refuses_world_readable_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        load_or_create(&path, KeyVersion(1)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load(&path, KeyVersion(1)),
            Err(CryptoError::KeyFilePermissions(0o644))
        ));
    }

    #[test]
    fn signing_key_is_created_once_then_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let a = load_or_create_signing(&path).unwrap();
        let b = load_or_create_signing(&path).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        create(&path, KeyVersion(1)).unwrap();
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            load(&path, KeyVersion(1)),
            Err(CryptoError::InvalidMasterKey(_))
        ));
    }
}
