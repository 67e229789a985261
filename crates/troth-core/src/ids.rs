//! Identifiers and version handles.
//!
//! Tenant, subject and event ids are 128-bit values written as UUID text
//! (`0190f5c4-7e1a-7c3b-9d2e-5a4b3c2d1e0f`). They are numbers, not strings, because:
//! - the store keys every table by (tenant, subject): a fixed 16-byte key shards and
//!   indexes well and sorts by creation time when it is a UUIDv7;
//! - the decision cache holds a million subjects: a `Copy` id costs no allocation and
//!   hashes in a few nanoseconds;
//! - a random or time-ordered number can never be an email address or phone number, so
//!   an id in a log line or a reason is never personal information.
//!
//! Core reads no clock and no random source: callers mint ids (see [`EventId::from_parts`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text is not a valid id, hash or country code. Carries no input text: ids can
/// arrive from untrusted callers and messages must never echo personal information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseIdError {
    /// Not 32 hex digits, with or without UUID hyphens.
    #[error("an id is 32 hexadecimal digits, optionally in UUID form with hyphens")]
    BadId,
    /// Not 64 hex digits.
    #[error("a content hash is 64 hexadecimal digits")]
    BadHash,
    /// Not two ASCII letters.
    #[error("a country code is two letters (ISO 3166-1 alpha-2), such as `CN`")]
    BadCountry,
}

fn parse_hex_u128(s: &str) -> Result<u128, ParseIdError> {
    let mut v: u128 = 0;
    let mut digits = 0;
    for c in s.chars() {
        if c == '-' {
            continue;
        }
        let d = c.to_digit(16).ok_or(ParseIdError::BadId)?;
        digits += 1;
        if digits > 32 {
            return Err(ParseIdError::BadId);
        }
        v = (v << 4) | u128::from(d);
    }
    if digits == 32 {
        Ok(v)
    } else {
        Err(ParseIdError::BadId)
    }
}

fn write_uuid(v: u128, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let h = format!("{v:032x}");
    write!(
        f,
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u128);

        impl $name {
            /// Wraps a 128-bit value.
            pub const fn from_u128(v: u128) -> Self {
                Self(v)
            }

            /// The 128-bit value.
            pub const fn as_u128(self) -> u128 {
                self.0
            }

            /// Big-endian bytes, the form to use as a storage key (sorts like the text).
            pub const fn to_bytes(self) -> [u8; 16] {
                self.0.to_be_bytes()
            }

            /// From big-endian bytes.
            pub const fn from_bytes(b: [u8; 16]) -> Self {
                Self(u128::from_be_bytes(b))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_uuid(self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "("))?;
                write_uuid(self.0, f)?;
                write!(f, ")")
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, ParseIdError> {
                parse_hex_u128(s).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

uuid_id!(
    /// A tenant: one controller (or, on an SDK platform, one developer) using troth.
    TenantId
);
uuid_id!(
    /// A data subject's pseudonymous id within a tenant. The person's identities
    /// (email, phone) live encrypted in the vault, never in this id.
    SubjectId
);
uuid_id!(
    /// A ledger event. Callers should mint UUIDv7 values ([`EventId::from_parts`]) so
    /// ids sort by creation time; the fold uses (time, id) to order events.
    EventId
);

impl EventId {
    /// A UUIDv7-shaped id from a Unix time in milliseconds and 74 caller-supplied
    /// random bits (the low bits of `random`). Core has no random source of its own.
    pub const fn from_parts(unix_ms: u64, random: u128) -> Self {
        let ms = (unix_ms as u128 & 0xFFFF_FFFF_FFFF) << 80;
        let version = 0x7u128 << 76;
        let rand_a = ((random >> 62) & 0xFFF) << 64;
        let variant = 0b10u128 << 62;
        let rand_b = random & 0x3FFF_FFFF_FFFF_FFFF;
        Self(ms | version | rand_a | variant | rand_b)
    }
}

/// The content hash of a policy version (BLAKE3 of its canonical form, as computed by
/// `troth_policy::content_hash`). Kept as 32 bytes so comparing two is cheap.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyHash([u8; 32]);

impl PolicyHash {
    /// Wraps raw hash bytes.
    pub const fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses the 64-digit hex form that `troth_policy::content_hash` returns.
    pub fn from_hex(s: &str) -> Result<Self, ParseIdError> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return Err(ParseIdError::BadHash);
        }
        let mut out = [0u8; 32];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char)
                .to_digit(16)
                .ok_or(ParseIdError::BadHash)?;
            let lo = (pair[1] as char)
                .to_digit(16)
                .ok_or(ParseIdError::BadHash)?;
            out[i] = ((hi << 4) | lo) as u8;
        }
        Ok(Self(out))
    }

    /// The hash of a policy, computed with `troth_policy::content_hash`.
    pub fn of(policy: &troth_policy::Policy) -> Self {
        // content_hash always returns 64 hex digits; fall back to a zero hash rather
        // than panic if that ever changes (tests pin it).
        Self::from_hex(&troth_policy::content_hash(policy)).unwrap_or(Self([0; 32]))
    }
}

impl fmt::Display for PolicyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PolicyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Short form: enough to tell versions apart in test output.
        write!(
            f,
            "PolicyHash({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

impl FromStr for PolicyHash {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, ParseIdError> {
        Self::from_hex(s)
    }
}

impl Serialize for PolicyHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PolicyHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A hash of evidence kept outside core (a signed form, an uploaded guardian letter, a
/// developer's attestation record). Same shape as a content hash; core only compares it.
pub type EvidenceHash = PolicyHash;

/// An ISO 3166-1 alpha-2 country code, stored upper case (`CN`, `SG`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses two ASCII letters, any case.
    pub fn new(s: &str) -> Result<Self, ParseIdError> {
        match s.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(ParseIdError::BadCountry),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Always two ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, ParseIdError> {
        Self::new(s)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One published version of a policy pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// The pack (`s002-template`).
    pub pack: troth_policy::ids::PackId,
    /// Content hash of the manifest.
    pub hash: PolicyHash,
    /// Human version label (`1.0`).
    pub label: String,
    /// The date it takes effect.
    pub effective: jiff::civil::Date,
}

impl PolicyVersion {
    /// The version in force on `on`: the latest one whose effective date has come
    /// (seed 002 R23: decisions use the old version until the new one takes effect).
    pub fn in_force(versions: &[PolicyVersion], on: jiff::civil::Date) -> Option<&PolicyVersion> {
        versions
            .iter()
            .filter(|v| v.effective <= on)
            .max_by_key(|v| v.effective)
    }

    /// The version a manifest describes: its pack id, label, effective date and hash.
    pub fn of(policy: &troth_policy::Policy) -> Self {
        Self {
            pack: policy.policy.id.clone(),
            hash: PolicyHash::of(policy),
            label: policy.policy.version.clone(),
            effective: policy.policy.effective,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_text_round_trips() {
        let id = SubjectId::from_u128(0x0190_f5c4_7e1a_7c3b_9d2e_5a4b_3c2d_1e0f);
        let s = id.to_string();
        assert_eq!(s, "0190f5c4-7e1a-7c3b-9d2e-5a4b3c2d1e0f");
        assert_eq!(s.parse::<SubjectId>().unwrap(), id);
        assert_eq!(
            "0190f5c47e1a7c3b9d2e5a4b3c2d1e0f"
                .parse::<SubjectId>()
                .unwrap(),
            id
        );
        assert!("xyz".parse::<SubjectId>().is_err());
        assert!(
            "0190f5c47e1a7c3b9d2e5a4b3c2d1e0f00"
                .parse::<SubjectId>()
                .is_err()
        );
    }

    #[test]
    fn event_ids_sort_by_time() {
        let a = EventId::from_parts(1_000, u128::MAX);
        let b = EventId::from_parts(1_001, 0);
        assert!(a < b);
        assert_eq!((b.as_u128() >> 76) & 0xF, 7, "version nibble is 7");
    }

    #[test]
    fn hash_hex_round_trips() {
        let hex = "00ff".repeat(16);
        let h = PolicyHash::from_hex(&hex).unwrap();
        assert_eq!(h.to_string(), hex);
        assert!(PolicyHash::from_hex("00").is_err());
    }

    #[test]
    fn country_codes_are_upper_case() {
        assert_eq!(CountryCode::new("sg").unwrap().as_str(), "SG");
        assert!(CountryCode::new("SGP").is_err());
        assert!(CountryCode::new("1A").is_err());
    }
}
