//! Blind indexes: keyed HMAC-SHA256 tokens that let the store find a subject by
//! email, phone or external id without storing those values in clear.
//!
//! Key choice: each tenant has a **separate** blind-index key, wrapped by the master
//! key like a tenant key (see [`crate::Vault::create_blind_index_key`]). It is not
//! derived from the tenant key because the two rotate differently: rotating the
//! tenant key only re-wraps DEKs, while changing the index key means recomputing
//! every token from the decrypted values. Separate keys keep TEK rotation cheap.
//!
//! Values are normalised before hashing so that equal identifiers give equal tokens:
//! * email: trimmed, local part lowercased, domain converted with IDNA (UTS 46) to
//!   lowercase ASCII, trailing dot dropped. No provider-specific folding (dots and
//!   `+tags` are kept, for every provider): folding is lossy and would merge
//!   addresses that may belong to different people.
//! * phone: parsed with a default region (e.g. `CN`) and formatted as E.164.
//! * external id: trimmed only (case-sensitive).

use crate::error::CryptoError;
use crate::ids::TenantId;
use crate::keys::{Canon, SecretKey};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

/// Which kind of identifier a token indexes; part of the MAC input, so an email
/// and an external id with the same text get different tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// An identifier from the tenant's own systems.
    ExternalId,
}

impl IdentifierKind {
    /// The kind's name, as stored and as data maps and exports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::ExternalId => "external_id",
        }
    }

    fn label(self) -> &'static [u8] {
        self.as_str().as_bytes()
    }
}

/// A blind-index token: 64 lowercase hex digits (HMAC-SHA256 output).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlindToken(String);

impl BlindToken {
    /// Length of every token in characters.
    pub const LEN: usize = 64;

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BlindToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindToken({})", self.0)
    }
}

impl fmt::Display for BlindToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant's blind-index key, unwrapped.
pub struct BlindIndexer {
    tenant: TenantId,
    key: SecretKey,
}

impl fmt::Debug for BlindIndexer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindIndexer")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl BlindIndexer {
    pub(crate) fn new(tenant: TenantId, key: SecretKey) -> Self {
        Self { tenant, key }
    }

    /// Token for an already-normalised value.
    pub fn token(&self, kind: IdentifierKind, normalized: &str) -> Result<BlindToken, CryptoError> {
        let mut msg = Canon::new("troth.blind-index.v1");
        msg.field(kind.label())
            .field(self.tenant.as_str().as_bytes())
            .field(normalized.as_bytes());
        // The MAC is keyed per call (not cached) so only the zeroized SecretKey
        // outlives this function; HMAC accepts any key length, so this never fails.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .map_err(|_| CryptoError::Malformed("blind index key"))?;
        mac.update(&msg.0);
        Ok(BlindToken(hex::encode(mac.finalize().into_bytes())))
    }

    /// Normalises an email address and returns its token.
    pub fn email(&self, raw: &str) -> Result<BlindToken, CryptoError> {
        self.token(IdentifierKind::Email, &normalize_email(raw)?)
    }

    /// Normalises a phone number to E.164 (using `default_region` for national
    /// numbers, e.g. `CN`) and returns its token.
    pub fn phone(&self, raw: &str, default_region: &str) -> Result<BlindToken, CryptoError> {
        self.token(
            IdentifierKind::Phone,
            &normalize_phone(raw, default_region)?,
        )
    }

    /// Normalises an external id and returns its token.
    pub fn external_id(&self, raw: &str) -> Result<BlindToken, CryptoError> {
        self.token(IdentifierKind::ExternalId, &normalize_external_id(raw)?)
    }
}

/// Normalises an email address (see the module docs for the rules).
pub fn normalize_email(raw: &str) -> Result<String, CryptoError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(CryptoError::InvalidEmail("empty"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CryptoError::InvalidEmail(
            "contains whitespace or control characters",
        ));
    }
    let (local, domain) = s
        .rsplit_once('@')
        .ok_or(CryptoError::InvalidEmail("missing `@`"))?;
    if local.is_empty() {
        return Err(CryptoError::InvalidEmail("empty local part"));
    }
    if local.len() > 64 {
        return Err(CryptoError::InvalidEmail("local part longer than 64 bytes"));
    }
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() {
        return Err(CryptoError::InvalidEmail("empty domain"));
    }
    let domain =
        idna::domain_to_ascii(domain).map_err(|_| CryptoError::InvalidEmail("invalid domain"))?;
    if domain.is_empty() || domain.split('.').any(str::is_empty) {
        return Err(CryptoError::InvalidEmail("invalid domain"));
    }
    Ok(format!("{}@{}", local.to_lowercase(), domain))
}

/// Normalises a phone number to E.164, e.g. `138 0013 8000` with region `CN` →
/// `+8613800138000`. Rejects numbers that are not valid for their region.
pub fn normalize_phone(raw: &str, default_region: &str) -> Result<String, CryptoError> {
    let region: phonenumber::country::Id = default_region
        .trim()
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| CryptoError::UnknownRegion(default_region.chars().take(8).collect()))?;
    let s = raw.trim();
    if s.is_empty() {
        return Err(CryptoError::InvalidPhone("empty"));
    }
    if s.len() > 64 {
        return Err(CryptoError::InvalidPhone("too long"));
    }
    // An explicit `+country` prefix wins over the default region (the parser would
    // otherwise validate the number against the default region's metadata).
    let hint = (!s.starts_with('+')).then_some(region);
    let number =
        phonenumber::parse(hint, s).map_err(|_| CryptoError::InvalidPhone("cannot be parsed"))?;
    if !number.is_valid() {
        return Err(CryptoError::InvalidPhone("not a valid number"));
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Normalises an external id: trims surrounding whitespace; must not be empty.
pub fn normalize_external_id(raw: &str) -> Result<String, CryptoError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(CryptoError::InvalidExternalId("empty"));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexer(t: &str, k: u8) -> BlindIndexer {
        BlindIndexer::new(t.into(), SecretKey::from_bytes([k; 32]))
    }

    #[test]
    fn email_normalisation() {
        assert_eq!(
            normalize_email("  Alice.B+x@Example.COM. ").unwrap(),
            "alice.b+x@example.com"
        );
        assert_eq!(normalize_email("a.b@gmail.com").unwrap(), "a.b@gmail.com");
        assert_eq!(
            normalize_email("user@BÜCHER.de").unwrap(),
            "user@xn--bcher-kva.de"
        );
        assert_eq!(
            normalize_email("x@例子.中国").unwrap(),
            "x@xn--fsqu00a.xn--fiqs8s"
        );
        for bad in [
            "",
            "no-at",
            "@example.com",
            "a@",
            "a b@example.com",
            "a@exa..mple.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_normalisation() {
        assert_eq!(
            normalize_phone("138 0013 8000", "CN").unwrap(),
            "+8613800138000"
        );
        assert_eq!(
            normalize_phone("+86 138-0013-8000", "US").unwrap(),
            "+8613800138000"
        );
        assert_eq!(
            normalize_phone("(202) 456-1111", "us").unwrap(),
            "+12024561111"
        );
        assert!(matches!(
            normalize_phone("12345", "CN"),
            Err(CryptoError::InvalidPhone(_))
        ));
        assert!(matches!(
            normalize_phone("hello", "CN"),
            Err(CryptoError::InvalidPhone(_))
        ));
        assert!(matches!(
            normalize_phone("13800138000", "XX"),
            Err(CryptoError::UnknownRegion(_))
        ));
    }

    #[test]
    fn tokens_are_fixed_length_deterministic_and_keyed() {
        let a = indexer("t1", 1);
        let t1 = a.email("Alice@Example.com").unwrap();
        assert_eq!(t1, a.email(" alice@example.COM").unwrap());
        assert_eq!(t1.as_str().len(), BlindToken::LEN);
        assert_ne!(t1, indexer("t1", 2).email("alice@example.com").unwrap());
        assert_ne!(t1, indexer("t2", 1).email("alice@example.com").unwrap());
        assert_ne!(
            a.token(IdentifierKind::Email, "x").unwrap(),
            a.token(IdentifierKind::ExternalId, "x").unwrap()
        );
        assert_eq!(
            a.phone("13800138000", "CN").unwrap(),
            a.phone("+8613800138000", "GB").unwrap()
        );
        assert_eq!(a.external_id(" U-1 ").unwrap().as_str().len(), 64);
        assert!(a.external_id("  ").is_err());
    }

    #[test]
    fn errors_carry_no_input() {
        let e = normalize_email("secret-person@").unwrap_err().to_string();
        assert!(!e.contains("secret"));
        let e = normalize_phone("13912345678999999", "CN")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("139"));
    }
}
