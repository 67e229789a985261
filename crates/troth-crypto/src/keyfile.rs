//! The one place this crate touches the file system: local key files.
//!
//! A key file holds 32-byte secrets as hex text, created with mode 0600 and refused
//! on load if group or others can read it:
//! * the master keyring ([`load_or_create`], [`load`]): one or more versions;
//! * the Ed25519 seed that signs audit checkpoints and consent receipts
//!   ([`load_or_create_signing`]): a single line of 64 hex digits.
//!
//! # Master keyring format
//! ```text
//! # comments and blank lines are ignored
//! v1 0f1e...(64 hex digits)
//! v2 9a8b...(64 hex digits)
//! ```
//! One `v<N> <key>` line per version; the highest version wraps new keys, the others
//! only unwrap. A file holding a single bare key (the original format, still read
//! and still written on first start) is version 1. [`add_version`] and
//! [`remove_versions`] rewrite the file atomically (temporary file with mode 0600,
//! fsync, rename), so a crash leaves either the old or the new keyring. The same
//! text, with `,` or `;` allowed between entries, is what [`parse_keyring`] reads
//! from an environment variable.

use crate::error::CryptoError;
use crate::keys::{KEY_LEN, KeyVersion, SecretKey};
use crate::master::{LocalMasterKey, parse_encoded_key};
use crate::sign::SigningKeyPair;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Loads the master keyring at `path`, creating it with a fresh random key (mode
/// 0600) if it does not exist. A single bare key in the file gets `version`.
pub fn load_or_create(path: &Path, version: KeyVersion) -> Result<LocalMasterKey, CryptoError> {
    match load(path, version) {
        Err(CryptoError::KeyFile(_, e)) if e.kind() == std::io::ErrorKind::NotFound => {
            create(path, version)
        }
        other => other,
    }
}

/// Loads an existing master keyring: every version in the file, the highest
/// current. A single bare key (the original one-key format) gets `version`.
pub fn load(path: &Path, version: KeyVersion) -> Result<LocalMasterKey, CryptoError> {
    keyring_from(read_entries(path, version)?)
}

/// Creates a new key file; fails if one already exists (never overwrites a key).
pub fn create(path: &Path, version: KeyVersion) -> Result<LocalMasterKey, CryptoError> {
    let key = SecretKey::generate()?;
    write_new_secret(path, &key)?;
    Ok(LocalMasterKey::new(version, key))
}

/// Parses keyring text (the key-file format; `,` and `;` also separate entries,
/// for environment variables). A single bare key gets `version`; a bare key may
/// also be base64.
pub fn parse_keyring(text: &str, version: KeyVersion) -> Result<LocalMasterKey, CryptoError> {
    keyring_from(parse_entries(text, version)?)
}

/// The versions in the keyring at `path`, ascending (a bare key counts as `version`).
pub fn versions(path: &Path, version: KeyVersion) -> Result<Vec<KeyVersion>, CryptoError> {
    Ok(read_entries(path, version)?
        .iter()
        .map(|(v, _)| *v)
        .collect())
}

/// Master-key rotation, first step: generates a key one version above the highest
/// in the file and rewrites the file with it (atomically, mode 0600). The old
/// versions stay, so everything wrapped under them still unwraps. Returns the new
/// version and the whole keyring, the new version current.
pub fn add_version(
    path: &Path,
    version: KeyVersion,
) -> Result<(KeyVersion, LocalMasterKey), CryptoError> {
    let mut entries = read_entries(path, version)?;
    let top = entries.last().map_or(0, |(v, _)| v.0);
    let next = KeyVersion(
        top.checked_add(1)
            .ok_or(CryptoError::Malformed("key version (overflow)"))?,
    );
    entries.push((next, SecretKey::generate()?));
    replace_file(path, &entries)?;
    Ok((next, keyring_from(entries)?))
}

/// Master-key rotation, last step: removes `retire` from the file, once nothing is
/// wrapped under them any more (the caller checks the key database). The highest
/// version can never be removed.
pub fn remove_versions(
    path: &Path,
    version: KeyVersion,
    retire: &[KeyVersion],
) -> Result<LocalMasterKey, CryptoError> {
    let mut entries = read_entries(path, version)?;
    let top = entries.last().map(|(v, _)| *v);
    if retire.iter().any(|v| Some(*v) == top) {
        return Err(CryptoError::InvalidMasterKey(
            "the current (highest) version cannot be retired",
        ));
    }
    let before = entries.len();
    entries.retain(|(v, _)| !retire.contains(v));
    if entries.len() != before {
        replace_file(path, &entries)?;
    }
    keyring_from(entries)
}

type Entries = Vec<(KeyVersion, SecretKey)>;

fn keyring_from(entries: Entries) -> Result<LocalMasterKey, CryptoError> {
    let mut it = entries.into_iter();
    let (v, k) = it
        .next()
        .ok_or(CryptoError::InvalidMasterKey("no key in the keyring"))?;
    let mut ring = LocalMasterKey::new(v, k);
    // Ascending, so the last added (the highest) ends up current.
    for (v, k) in it {
        ring.add_version(v, k);
    }
    Ok(ring)
}

fn read_entries(path: &Path, version: KeyVersion) -> Result<Entries, CryptoError> {
    let mut file = std::fs::File::open(path).map_err(|e| CryptoError::KeyFile("open", e))?;
    check_permissions(&file)?;
    let mut text = Zeroizing::new(String::with_capacity(2 * KEY_LEN + 1));
    file.read_to_string(&mut text)
        .map_err(|e| CryptoError::KeyFile("read", e))?;
    parse_entries(&text, version)
}

/// Entries sorted by version, no duplicates.
fn parse_entries(text: &str, version: KeyVersion) -> Result<Entries, CryptoError> {
    // Comments first (they may hold separators), then entries.
    let items: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split([',', ';']))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let [only] = items.as_slice()
        && !only.contains(char::is_whitespace)
    {
        // The original format: one bare key.
        return Ok(vec![(version, parse_encoded_key(only)?)]);
    }
    let mut out: Entries = Vec::with_capacity(items.len());
    for item in items {
        let (label, key) =
            item.split_once(char::is_whitespace)
                .ok_or(CryptoError::InvalidMasterKey(
                    "keyring entries must read `v<N> <key>`",
                ))?;
        let n: u32 = label
            .strip_prefix('v')
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0)
            .ok_or(CryptoError::InvalidMasterKey(
                "keyring versions must read `v1`, `v2`, ...",
            ))?;
        if out.iter().any(|(v, _)| v.0 == n) {
            return Err(CryptoError::InvalidMasterKey("duplicate keyring version"));
        }
        out.push((KeyVersion(n), parse_encoded_key(key)?));
    }
    if out.is_empty() {
        return Err(CryptoError::InvalidMasterKey("empty value"));
    }
    out.sort_by_key(|(v, _)| *v);
    Ok(out)
}

fn render(entries: &Entries) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::from(
        "# troth master keyring: `v<N> <hex key>` per line; the highest version wraps new keys\n",
    ));
    for (v, k) in entries {
        text.push_str(&format!("v{} ", v.0));
        let hex = Zeroizing::new(hex::encode(k.expose_secret()));
        text.push_str(&hex);
        text.push('\n');
    }
    text
}

/// Atomically replaces `path` with `entries`: a sibling temporary file created
/// exclusively (which also stops two rotations running at once), synced, renamed.
fn replace_file(path: &Path, entries: &Entries) -> Result<(), CryptoError> {
    let mut tmp = PathBuf::from(path);
    tmp.as_mut_os_string().push(".new");
    let text = render(entries);
    write_exclusive(&tmp, text.as_bytes()).map_err(|e| match e {
        CryptoError::KeyFile(_, io) if io.kind() == std::io::ErrorKind::AlreadyExists => {
            CryptoError::KeyFile(
                "lock (another rotation is running, or remove the stale `.new` file)",
                io,
            )
        }
        other => other,
    })?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(CryptoError::KeyFile("rename", e));
    }
    // The rename itself must survive a crash: sync the directory entry.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| CryptoError::KeyFile("sync directory", e))?;
    }
    Ok(())
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
    write_exclusive(path, text.as_bytes())
}

fn write_exclusive(path: &Path, bytes: &[u8]) -> Result<(), CryptoError> {
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
    file.write_all(bytes)
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

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn legacy_file_is_version_1_and_rotation_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let v1 = load_or_create(&path, KeyVersion(1)).unwrap();
        let k = SecretKey::generate().unwrap();
        let w1 = v1.wrap(b"t", KeyVersion(1), &k).unwrap();
        let (next, ring) = add_version(&path, KeyVersion(1)).unwrap();
        assert_eq!(next, KeyVersion(2));
        assert_eq!(ring.current_version(), KeyVersion(2));
        let reloaded = load(&path, KeyVersion(1)).unwrap();
        assert_eq!(reloaded.versions(), vec![KeyVersion(1), KeyVersion(2)]);
        assert_eq!(reloaded.current_version(), KeyVersion(2));
        // Old wraps still open; new wraps use v2.
        assert_eq!(
            reloaded.unwrap(b"t", &w1).unwrap().expose_secret(),
            k.expose_secret()
        );
        let w2 = reloaded.wrap(b"t", KeyVersion(1), &k).unwrap();
        assert_eq!(w2.wrapping_version, KeyVersion(2));
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        assert!(!dir.path().join("master.key.new").exists());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\nv1 ") && text.contains("\nv2 "), "format");

        let (v3, _) = add_version(&path, KeyVersion(1)).unwrap();
        assert_eq!(v3, KeyVersion(3));
        assert!(matches!(
            remove_versions(&path, KeyVersion(1), &[KeyVersion(3)]),
            Err(CryptoError::InvalidMasterKey(_))
        ));
        let ring = remove_versions(&path, KeyVersion(1), &[KeyVersion(1), KeyVersion(2)]).unwrap();
        assert_eq!(ring.versions(), vec![KeyVersion(3)]);
        assert_eq!(versions(&path, KeyVersion(1)).unwrap(), vec![KeyVersion(3)]);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        assert!(matches!(
            load(&path, KeyVersion(1)).unwrap().unwrap(b"t", &w1),
            Err(CryptoError::UnknownKeyVersion(1))
        ));
    }

    #[test]
    fn keyring_text_from_env() {
        let a = hex::encode([1u8; 32]);
        let b = hex::encode([2u8; 32]);
        let ring = parse_keyring(&format!("v2 {b}, v1 {a}"), KeyVersion(1)).unwrap();
        assert_eq!(ring.versions(), vec![KeyVersion(1), KeyVersion(2)]);
        assert_eq!(ring.current_version(), KeyVersion(2));
        let single = parse_keyring(&a, KeyVersion(1)).unwrap();
        assert_eq!(single.versions(), vec![KeyVersion(1)]);
        for bad in [
            format!("v1 {a}\nv1 {b}"),
            format!("v0 {a}"),
            format!("{a}\n{b}"),
            format!("x1 {a}"),
            "# only a comment".to_owned(),
        ] {
            let e = parse_keyring(&bad, KeyVersion(1)).unwrap_err().to_string();
            assert!(!e.contains(&a) && !e.contains(&b), "no key bytes in errors");
        }
    }

    #[test]
    fn concurrent_rotation_is_refused_by_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        load_or_create(&path, KeyVersion(1)).unwrap();
        std::fs::write(dir.path().join("master.key.new"), "x").unwrap();
        assert!(matches!(
            add_version(&path, KeyVersion(1)),
            Err(CryptoError::KeyFile(_, _))
        ));
        assert_eq!(versions(&path, KeyVersion(1)).unwrap(), vec![KeyVersion(1)]);
    }
}
