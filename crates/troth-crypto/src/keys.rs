//! Key material, key versions and wrapped keys, plus the AEAD primitive every layer
//! of the hierarchy uses (XChaCha20-Poly1305, random 192-bit nonces).

use crate::error::CryptoError;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length in bytes of every symmetric key in the hierarchy.
pub const KEY_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 24;
pub(crate) const TAG_LEN: usize = 16;

/// 32 bytes of symmetric key material. Zeroized on drop; `Debug` is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut key = Self([0u8; KEY_LEN]);
        getrandom::fill(&mut key.0).map_err(|_| CryptoError::Rng)?;
        Ok(key)
    }

    /// Takes ownership of raw key bytes. The caller should zeroize its own copies.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Builds a key from a slice that must be exactly [`KEY_LEN`] bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| CryptoError::Malformed("key (wrong length)"))?;
        Ok(Self(arr))
    }

    /// The raw key bytes, for a [`crate::MasterKeyProvider`] that must hand them to a KMS.
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Version number of a key. Wrapped keys record both their own version and the
/// version of the key that wrapped them, so rotation can find the right unwrapping key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyVersion(pub u32);

impl fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A key encrypted under the next key up the hierarchy (a TEK under the master key,
/// a DEK under its tenant's TEK). This is what the store persists; deleting a
/// subject's wrapped DEK crypto-shreds every value encrypted under it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// Version of the key inside.
    pub key_version: KeyVersion,
    /// Version of the wrapping key that produced `blob`.
    pub wrapping_version: KeyVersion,
    /// Opaque ciphertext; for local wrapping it is `nonce || ciphertext || tag`.
    pub blob: Vec<u8>,
}

const WRAPPED_MAGIC: u8 = 0x57; // 'W'

impl WrappedKey {
    /// Compact binary form for storage: magic, key version, wrapping version, blob.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + self.blob.len());
        out.push(WRAPPED_MAGIC);
        out.extend_from_slice(&self.key_version.0.to_be_bytes());
        out.extend_from_slice(&self.wrapping_version.0.to_be_bytes());
        out.extend_from_slice(&self.blob);
        out
    }

    /// Parses the output of [`WrappedKey::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let malformed = || CryptoError::Malformed("wrapped key");
        let (head, blob) = bytes.split_at_checked(9).ok_or_else(malformed)?;
        if head[0] != WRAPPED_MAGIC || blob.is_empty() {
            return Err(malformed());
        }
        let kv = u32::from_be_bytes(head[1..5].try_into().map_err(|_| malformed())?);
        let wv = u32::from_be_bytes(head[5..9].try_into().map_err(|_| malformed())?);
        Ok(Self {
            key_version: KeyVersion(kv),
            wrapping_version: KeyVersion(wv),
            blob: blob.to_vec(),
        })
    }
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The blob is ciphertext, but it is noise in logs; show its size only.
        f.debug_struct("WrappedKey")
            .field("key_version", &self.key_version)
            .field("wrapping_version", &self.wrapping_version)
            .field("blob_len", &self.blob.len())
            .finish()
    }
}

/// Builds length-prefixed byte strings so that no two field lists encode the same
/// (no ambiguity from concatenation).
#[derive(Default)]
pub(crate) struct Canon(pub(crate) Vec<u8>);

impl Canon {
    pub(crate) fn new(domain: &str) -> Self {
        let mut c = Self(Vec::with_capacity(128));
        c.field(domain.as_bytes());
        c
    }

    pub(crate) fn field(&mut self, bytes: &[u8]) -> &mut Self {
        // A fixed-width u64 length prefix: no field can ever overflow it.
        self.0
            .extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
}

/// An XChaCha20-Poly1305 cipher under one key. The inner cipher zeroizes its key on drop.
pub(crate) struct Sealer(XChaCha20Poly1305);

impl Sealer {
    pub(crate) fn new(key: &SecretKey) -> Self {
        Self(XChaCha20Poly1305::new(key.expose_secret().into()))
    }

    /// Returns `nonce || ciphertext || tag`.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.seal_with_prefix(&[], &random_nonce()?, aad, plaintext)
    }

    /// Like [`Sealer::seal`] but writes `prefix` first, saving a copy for framed formats.
    pub(crate) fn seal_with_prefix(
        &self,
        prefix: &[u8],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let ct = self
            .0
            .encrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::DecryptionFailed)?;
        let mut out = Vec::with_capacity(prefix.len() + NONCE_LEN + ct.len());
        out.extend_from_slice(prefix);
        out.extend_from_slice(nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens `nonce || ciphertext || tag`.
    pub(crate) fn open(&self, aad: &[u8], blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed("ciphertext (too short)"));
        }
        let (nonce, ct) = blob.split_at(NONCE_LEN);
        self.0
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::DecryptionFailed)
    }

    /// Opens a wrapped 32-byte key.
    pub(crate) fn open_key(&self, aad: &[u8], blob: &[u8]) -> Result<SecretKey, CryptoError> {
        let pt = self.open(aad, blob)?;
        SecretKey::from_slice(&pt)
    }
}

pub(crate) fn random_nonce() -> Result<[u8; NONCE_LEN], CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| CryptoError::Rng)?;
    Ok(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let k = SecretKey::from_bytes([0xAB; 32]);
        let s = format!("{k:?}");
        assert!(!s.contains("ab") && !s.contains("171"), "{s}");
    }

    #[test]
    fn wrapped_key_bytes_round_trip() {
        let w = WrappedKey {
            key_version: KeyVersion(3),
            wrapping_version: KeyVersion(7),
            blob: vec![1, 2, 3],
        };
        assert_eq!(WrappedKey::from_bytes(&w.to_bytes()).unwrap(), w);
        assert!(WrappedKey::from_bytes(&[0x57, 0, 0]).is_err());
    }

    #[test]
    fn canon_is_unambiguous() {
        let a = Canon::new("d").field(b"ab").field(b"c").0.clone();
        let b = Canon::new("d").field(b"a").field(b"bc").0.clone();
        assert_ne!(a, b);
    }
}
