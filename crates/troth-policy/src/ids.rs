//! Identifier newtypes for the things a policy declares.
//!
//! Ids are short, stable, lowercase handles (`email`, `ads-personalised`) that other
//! parts of the manifest, the API and the ledgers refer to. Keeping each kind in its
//! own type stops a purpose id being passed where a category id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is empty.
    #[error("an id cannot be empty")]
    Empty,
    /// The id is longer than [`MAX_ID_LEN`].
    #[error("an id is at most {MAX_ID_LEN} characters long")]
    TooLong,
    /// The id contains a character outside `a-z 0-9 - _ .`.
    #[error("`{0}` is not allowed in an id; use lowercase letters, digits, `-`, `_` or `.`")]
    BadChar(char),
    /// The id does not start with a lowercase letter.
    #[error("an id must start with a lowercase letter")]
    BadStart,
}

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// Checks the shared id syntax: a lowercase ASCII letter followed by lowercase letters,
/// digits, `-`, `_` or `.`.
pub fn check_id(s: &str) -> Result<(), IdError> {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return Err(IdError::Empty);
    };
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong);
    }
    if !first.is_ascii_lowercase() {
        return Err(IdError::BadStart);
    }
    for c in chars {
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')) {
            return Err(IdError::BadChar(c));
        }
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Makes an id after checking its syntax.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check_id(&s)?;
                Ok(Self(s))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A data category (`email`, `precise-location`).
    CategoryId
);
id_type!(
    /// A processing purpose (`registration`, `ads-personalised`).
    PurposeId
);
id_type!(
    /// A recipient of shared data: affiliate, processor, partner.
    RecipientId
);
id_type!(
    /// A cross-border transfer.
    TransferId
);
id_type!(
    /// A third-party SDK embedded in the product.
    SdkId
);
id_type!(
    /// A cookie, beacon, pixel or similar tracker.
    TrackerId
);
id_type!(
    /// A case in which processing needs no consent (PIPL Art.13, GB/T 35273 §5.6).
    ExemptionId
);
id_type!(
    /// A listed reason to refuse a rights request.
    RefusalReasonId
);
id_type!(
    /// A listed legal reason to keep data despite deletion or retention expiry.
    HoldReasonId
);
id_type!(
    /// A service with its own sub-policy that overrides the main one.
    ServiceId
);
id_type!(
    /// A personal-information impact assessment.
    AssessmentId
);
id_type!(
    /// A policy pack (one company's policy, versioned).
    PackId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids() {
        assert!(CategoryId::new("email").is_ok());
        assert!(PurposeId::new("ads-personalised.v2").is_ok());
    }

    #[test]
    fn rejects_bad_ids() {
        assert_eq!(CategoryId::new(""), Err(IdError::Empty));
        assert_eq!(CategoryId::new("Email"), Err(IdError::BadStart));
        assert_eq!(CategoryId::new("e mail"), Err(IdError::BadChar(' ')));
        assert_eq!(CategoryId::new("a".repeat(65)), Err(IdError::TooLong));
    }
}
