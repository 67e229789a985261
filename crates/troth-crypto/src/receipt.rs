//! Signed consent receipts as compact JWS (RFC 7515) with EdDSA / Ed25519 (RFC 8037).
//!
//! The protected header is fixed and byte-for-byte deterministic:
//! `{"alg":"EdDSA","kid":"<RFC 7638 thumbprint>","typ":"receipt+jws"}`.
//! Receipts verify offline with the public key, which can be published as a JWK
//! ([`crate::PublicKey::to_jwk`]).

use crate::error::CryptoError;
use crate::sign::{PublicKey, SIGNATURE_LEN, SigningKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// The `typ` header value of troth receipts.
pub const RECEIPT_TYP: &str = "receipt+jws";

/// Signs JSON payloads as compact JWS.
#[derive(Clone)]
pub struct ReceiptSigner {
    key: SigningKeyPair,
    header_b64: String,
}

impl fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptSigner")
            .field("kid", &self.key.public_key().thumbprint())
            .finish_non_exhaustive()
    }
}

impl ReceiptSigner {
    /// A signer using `key`.
    pub fn new(key: SigningKeyPair) -> Self {
        let header = format!(
            r#"{{"alg":"EdDSA","kid":"{}","typ":"{RECEIPT_TYP}"}}"#,
            key.public_key().thumbprint()
        );
        Self {
            key,
            header_b64: URL_SAFE_NO_PAD.encode(header),
        }
    }

    /// The public key verifiers need.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// Serialises `payload` to JSON and signs it: `header.payload.signature`.
    pub fn sign_json<T: Serialize + ?Sized>(&self, payload: &T) -> Result<String, CryptoError> {
        let json = serde_json::to_vec(payload).map_err(|_| CryptoError::Json)?;
        let mut out = String::with_capacity(self.header_b64.len() + json.len() * 4 / 3 + 100);
        out.push_str(&self.header_b64);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&json, &mut out);
        let sig = self.key.sign(out.as_bytes());
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut out);
        Ok(out)
    }
}

/// Verifies a compact JWS receipt with `key` and returns its JSON payload.
///
/// Rejects: anything but three base64url parts; a header that is not a JSON object,
/// whose `alg` is not `EdDSA`, that has `crit`, or whose `kid` names another key;
/// a bad signature; a payload that is not JSON.
pub fn verify_receipt(jws: &str, key: &PublicKey) -> Result<serde_json::Value, CryptoError> {
    verify_receipt_as(jws, key)
}

/// Like [`verify_receipt`] but deserialises the payload into `T`.
pub fn verify_receipt_as<T: DeserializeOwned>(
    jws: &str,
    key: &PublicKey,
) -> Result<T, CryptoError> {
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CryptoError::MalformedJws(
            "expected three dot-separated parts",
        ));
    };
    let b64 = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| CryptoError::MalformedJws("invalid base64url"))
    };
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&b64(h)?)
        .map_err(|_| CryptoError::MalformedJws("header is not a json object"))?;
    if header.get("alg").and_then(|v| v.as_str()) != Some("EdDSA") {
        return Err(CryptoError::UnsupportedAlgorithm);
    }
    if header.contains_key("crit") {
        return Err(CryptoError::MalformedJws("unsupported critical header"));
    }
    if let Some(kid) = header.get("kid")
        && kid.as_str() != Some(key.thumbprint().as_str())
    {
        return Err(CryptoError::InvalidSignature);
    }
    let sig: [u8; SIGNATURE_LEN] = b64(s)?
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::MalformedJws("signature has the wrong length"))?;
    // Signing input is the encoded header and payload exactly as received.
    let signing_input = &jws[..h.len() + 1 + p.len()];
    key.verify(signing_input.as_bytes(), &sig)?;
    serde_json::from_slice(&b64(p)?).map_err(|_| CryptoError::Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn signer() -> ReceiptSigner {
        ReceiptSigner::new(SigningKeyPair::from_seed(&[5u8; 32]))
    }

    #[test]
    fn sign_verify_round_trip_and_header() {
        let s = signer();
        let payload = json!({"subject":"s1","purpose":"marketing","state":"given"});
        let jws = s.sign_json(&payload).unwrap();
        assert_eq!(verify_receipt(&jws, &s.public_key()).unwrap(), payload);
        let h = URL_SAFE_NO_PAD
            .decode(jws.split('.').next().unwrap())
            .unwrap();
        let h = String::from_utf8(h).unwrap();
        assert!(
            h.starts_with(r#"{"alg":"EdDSA","kid":""#) && h.ends_with(r#"","typ":"receipt+jws"}"#)
        );
        // Deterministic: Ed25519 signatures are deterministic too.
        assert_eq!(jws, s.sign_json(&payload).unwrap());
    }

    #[test]
    fn tampering_fails() {
        let s = signer();
        let jws = s.sign_json(&json!({"state":"given"})).unwrap();
        let parts: Vec<&str> = jws.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"state":"withdrawn"}"#);
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert!(matches!(
            verify_receipt(&forged, &s.public_key()),
            Err(CryptoError::InvalidSignature)
        ));
        let none_alg = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let forged = format!("{}.{}.{}", none_alg, parts[1], parts[2]);
        assert!(matches!(
            verify_receipt(&forged, &s.public_key()),
            Err(CryptoError::UnsupportedAlgorithm)
        ));
        let other = ReceiptSigner::new(SigningKeyPair::from_seed(&[6u8; 32]));
        assert!(verify_receipt(&jws, &other.public_key()).is_err());
        assert!(verify_receipt("a.b", &s.public_key()).is_err());
        assert!(verify_receipt(&format!("{jws}.x"), &s.public_key()).is_err());
        let mut bad_sig = jws.clone();
        bad_sig.pop();
        bad_sig.push(if jws.ends_with('A') { 'B' } else { 'A' });
        assert!(verify_receipt(&bad_sig, &s.public_key()).is_err());
    }
}
