//! Ed25519 keys used for audit checkpoints and consent receipts.

use crate::error::CryptoError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// Length of an Ed25519 signature in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// An Ed25519 signing key. The secret is zeroized on drop; `Debug` shows only the
/// public key's thumbprint.
#[derive(Clone)]
pub struct SigningKeyPair(SigningKey);

impl SigningKeyPair {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|_| CryptoError::Rng)?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// Rebuilds a key from its 32-byte seed (as stored by the caller).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed, for the caller to store (encrypted) and reload later.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.0.sign(msg).to_bytes()
    }
}

impl fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyPair")
            .field("kid", &self.public_key().thumbprint())
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key, for offline verification of checkpoints and receipts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Parses 32 raw bytes; rejects points that are not valid public keys.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| CryptoError::Malformed("public key"))
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url), used as the key id `kid`.
    pub fn thumbprint(&self) -> String {
        // Members in lexicographic order, no whitespace, as RFC 7638 requires.
        let canonical = format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(self.to_bytes())
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The key as an RFC 8037 JWK (`kty` OKP, `crv` Ed25519), with `kid` and `alg`.
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: URL_SAFE_NO_PAD.encode(self.to_bytes()),
            kid: Some(self.thumbprint()),
            alg: Some("EdDSA".to_owned()),
            key_use: Some("sig".to_owned()),
        }
    }

    /// Reads a public key from a JWK; rejects private JWKs and other key types.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, CryptoError> {
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
            return Err(CryptoError::UnsupportedAlgorithm);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(jwk.x.as_bytes())
            .map_err(|_| CryptoError::Malformed("jwk"))?;
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed("jwk"))?;
        Self::from_bytes(&bytes)
    }

    /// Verifies with the strict rules (rejects small-order keys and malleable signatures).
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8; SIGNATURE_LEN]) -> Result<(), CryptoError> {
        let sig = Signature::from_bytes(sig);
        self.0
            .verify_strict(msg, &sig)
            .map_err(|_| CryptoError::InvalidSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.thumbprint())
    }
}

/// A public JSON Web Key (RFC 7517 / RFC 8037). Private members are never emitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type, always `OKP`.
    pub kty: String,
    /// Curve, always `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// Key id (the RFC 7638 thumbprint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Algorithm, `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Public key use, `sig`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwk_round_trip_and_thumbprint() {
        let k = SigningKeyPair::from_seed(&[9u8; 32]);
        let pk = k.public_key();
        let jwk = pk.to_jwk();
        assert_eq!(PublicKey::from_jwk(&jwk).unwrap(), pk);
        assert_eq!(jwk.kid.as_deref(), Some(pk.thumbprint().as_str()));
        assert_eq!(pk.thumbprint().len(), 43);
        let json = serde_json::to_string(&jwk).unwrap();
        assert!(json.contains(r#""use":"sig""#) && !json.contains("\"d\""));
    }

    #[test]
    fn seed_round_trip_and_debug() {
        let k = SigningKeyPair::generate().unwrap();
        let k2 = SigningKeyPair::from_seed(&k.to_seed());
        assert_eq!(k.public_key(), k2.public_key());
        let sig = k.sign(b"m");
        assert!(k2.public_key().verify(b"m", &sig).is_ok());
        assert!(k2.public_key().verify(b"n", &sig).is_err());
        let dbg = format!("{k:?}");
        assert!(dbg.contains("kid") && !dbg.contains("seed"));
    }
}
