//! Identifier newtypes used to bind ciphertexts to their row.
//!
//! They are deliberately thin (an owned string each): the crypto layer only needs
//! their bytes for associated data and key-wrapping contexts. They may later move to
//! `troth-core`.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier string.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

id_newtype!(
    /// A tenant (one controller using troth). Pseudonymous, never PI.
    TenantId
);
id_newtype!(
    /// A data subject's pseudonymous id within a tenant. Never an email or phone.
    SubjectId
);
id_newtype!(
    /// A data category id from the policy (e.g. `contact.email`).
    CategoryId
);
id_newtype!(
    /// The id of the stored row (field) a ciphertext belongs to.
    RecordId
);
