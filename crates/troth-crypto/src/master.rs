//! The top of the key hierarchy: the master key (KEK) that wraps tenant keys.
//!
//! [`MasterKeyProvider`] is the seam where a KMS or HSM plugs in. [`LocalMasterKey`]
//! is the built-in provider: a keyring of 32-byte keys held in memory, created from
//! an environment-variable value or a key file (see [`crate::keyfile`]).

use crate::error::CryptoError;
use crate::keys::{Canon, KEY_LEN, KeyVersion, Sealer, SecretKey, WrappedKey};
use base64::Engine as _;
use std::collections::BTreeMap;
use std::fmt;
use zeroize::Zeroizing;

/// Wraps and unwraps keys under a master key. Implementations must bind `context`
/// (associated data) and the wrapping-key version into the wrapped blob, so a
/// wrapped key cannot be replayed for another tenant, purpose or version.
pub trait MasterKeyProvider: Send + Sync {
    /// The version new wraps are made with.
    fn current_version(&self) -> KeyVersion;

    /// Wraps `key` (whose own version is `key_version`) under the current master key.
    fn wrap(
        &self,
        context: &[u8],
        key_version: KeyVersion,
        key: &SecretKey,
    ) -> Result<WrappedKey, CryptoError>;

    /// Unwraps a key wrapped by any master key version this provider still holds.
    fn unwrap(&self, context: &[u8], wrapped: &WrappedKey) -> Result<SecretKey, CryptoError>;
}

/// A master keyring held in process memory.
///
/// Holds one or more versions; new wraps use the current (by default the highest)
/// version, unwraps use whatever version the wrapped key records. Rotating the
/// master key = [`LocalMasterKey::add_version`], then re-wrap every tenant key.
pub struct LocalMasterKey {
    keys: BTreeMap<KeyVersion, Sealer>,
    current: KeyVersion,
}

impl LocalMasterKey {
    /// A keyring with a single key.
    pub fn new(version: KeyVersion, key: SecretKey) -> Self {
        let mut keys = BTreeMap::new();
        keys.insert(version, Sealer::new(&key));
        Self {
            keys,
            current: version,
        }
    }

    /// A keyring with a single freshly generated key.
    pub fn generate(version: KeyVersion) -> Result<Self, CryptoError> {
        Ok(Self::new(version, SecretKey::generate()?))
    }

    /// Parses a master key given as text (e.g. the value of an environment variable
    /// the caller read): 64 hex digits, or base64 / base64url (padded or not) of
    /// exactly 32 bytes. Surrounding whitespace is ignored.
    pub fn from_encoded(version: KeyVersion, encoded: &str) -> Result<Self, CryptoError> {
        Ok(Self::new(version, parse_encoded_key(encoded)?))
    }

    /// Adds a key version and makes it current (master-key rotation). Older versions
    /// stay available for unwrapping until [`LocalMasterKey::remove_version`].
    pub fn add_version(&mut self, version: KeyVersion, key: SecretKey) {
        self.keys.insert(version, Sealer::new(&key));
        self.current = version;
    }

    /// Drops an old version once nothing is wrapped under it any more.
    /// The current version cannot be removed.
    pub fn remove_version(&mut self, version: KeyVersion) -> bool {
        version != self.current && self.keys.remove(&version).is_some()
    }

    /// Versions held, ascending.
    pub fn versions(&self) -> Vec<KeyVersion> {
        self.keys.keys().copied().collect()
    }

    fn aad(context: &[u8], key_version: KeyVersion, wrapping: KeyVersion) -> Vec<u8> {
        let mut c = Canon::new("troth.master-wrap.v1");
        c.field(context).u32(key_version.0).u32(wrapping.0);
        c.0
    }
}

impl fmt::Debug for LocalMasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalMasterKey")
            .field("versions", &self.versions())
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl MasterKeyProvider for LocalMasterKey {
    fn current_version(&self) -> KeyVersion {
        self.current
    }

    fn wrap(
        &self,
        context: &[u8],
        key_version: KeyVersion,
        key: &SecretKey,
    ) -> Result<WrappedKey, CryptoError> {
        let sealer = self
            .keys
            .get(&self.current)
            .ok_or(CryptoError::UnknownKeyVersion(self.current.0))?;
        let blob = sealer.seal(
            &Self::aad(context, key_version, self.current),
            key.expose_secret(),
        )?;
        Ok(WrappedKey {
            key_version,
            wrapping_version: self.current,
            blob,
        })
    }

    fn unwrap(&self, context: &[u8], wrapped: &WrappedKey) -> Result<SecretKey, CryptoError> {
        let sealer = self
            .keys
            .get(&wrapped.wrapping_version)
            .ok_or(CryptoError::UnknownKeyVersion(wrapped.wrapping_version.0))?;
        sealer.open_key(
            &Self::aad(context, wrapped.key_version, wrapped.wrapping_version),
            &wrapped.blob,
        )
    }
}

/// Decodes a 32-byte key from hex or base64 text.
pub fn parse_encoded_key(encoded: &str) -> Result<SecretKey, CryptoError> {
    let s = encoded.trim();
    if s.is_empty() {
        return Err(CryptoError::InvalidMasterKey("empty value"));
    }
    let mut buf = Zeroizing::new([0u8; KEY_LEN]);
    if s.len() == 2 * KEY_LEN && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode_to_slice(s, buf.as_mut_slice())
            .map_err(|_| CryptoError::InvalidMasterKey("bad hex"))?;
        return Ok(SecretKey::from_bytes(*buf));
    }
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(s).ok().map(Zeroizing::new))
        .ok_or(CryptoError::InvalidMasterKey("neither hex nor base64"))?;
    if decoded.len() != KEY_LEN {
        return Err(CryptoError::InvalidMasterKey(
            "must decode to exactly 32 bytes",
        ));
    }
    SecretKey::from_slice(&decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_base64() {
        let bytes = [7u8; 32];
        let hex_s = hex::encode(bytes);
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let b64u = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        for s in [hex_s.as_str(), b64.as_str(), b64u.as_str()] {
            let k = parse_encoded_key(&format!("  {s}\n")).unwrap();
            assert_eq!(k.expose_secret(), &bytes);
        }
        assert!(parse_encoded_key("").is_err());
        assert!(parse_encoded_key("abcd").is_err());
        assert!(parse_encoded_key(&hex::encode([1u8; 16])).is_err());
    }

    #[test]
    fn wrap_binds_context_and_version() {
        let mk = LocalMasterKey::generate(KeyVersion(1)).unwrap();
        let k = SecretKey::generate().unwrap();
        let w = mk.wrap(b"ctx-a", KeyVersion(1), &k).unwrap();
        assert_eq!(
            mk.unwrap(b"ctx-a", &w).unwrap().expose_secret(),
            k.expose_secret()
        );
        assert!(matches!(
            mk.unwrap(b"ctx-b", &w),
            Err(CryptoError::DecryptionFailed)
        ));
        let mut relabelled = w.clone();
        relabelled.key_version = KeyVersion(2);
        assert!(mk.unwrap(b"ctx-a", &relabelled).is_err());
        let mut unknown = w;
        unknown.wrapping_version = KeyVersion(9);
        assert!(matches!(
            mk.unwrap(b"ctx-a", &unknown),
            Err(CryptoError::UnknownKeyVersion(9))
        ));
    }

    #[test]
    fn debug_shows_no_key() {
        let mk = LocalMasterKey::new(KeyVersion(1), SecretKey::from_bytes([0x42; 32]));
        let s = format!("{mk:?}");
        assert!(!s.contains("42") && !s.contains("66"), "{s}");
    }
}
