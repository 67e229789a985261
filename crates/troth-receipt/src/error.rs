//! The crate's error type. Messages carry ids and hashes only, never personal
//! information.

use troth_core::{EventId, PolicyHash};
use troth_crypto::CryptoError;
use troth_policy::ids::{CategoryId, PurposeId, RecipientId};

/// Why a receipt could not be built, signed or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The event records something other than a consent.
    #[error(
        "event `{event}` is not a consent event\nhelp: receipts are issued for consent given, withdrawn, refused or expired"
    )]
    NotConsent {
        /// The event.
        event: EventId,
    },
    /// The consent was given under another policy version than the one supplied.
    #[error(
        "the consent names policy version `{event}`, not `{policy}`\nhelp: build the receipt with the policy version the consent was given under"
    )]
    VersionMismatch {
        /// The version the event names.
        event: PolicyHash,
        /// The version supplied.
        policy: PolicyHash,
    },
    /// The purpose is not declared in the policy.
    #[error(
        "purpose `{purpose}` is not declared in the policy\nhelp: declare it in `[[purposes]]` or record consent for a declared purpose"
    )]
    UndeclaredPurpose {
        /// The purpose.
        purpose: PurposeId,
    },
    /// A category is not declared in the policy.
    #[error(
        "category `{category}` is not declared in the policy\nhelp: declare it in `[[categories]]`"
    )]
    UndeclaredCategory {
        /// The category.
        category: CategoryId,
    },
    /// The recipient is not declared in the policy.
    #[error(
        "recipient `{recipient}` is not declared in the policy\nhelp: declare it in `[[recipients]]`"
    )]
    UndeclaredRecipient {
        /// The recipient.
        recipient: RecipientId,
    },
    /// The policy's publication date is outside the range of a timestamp.
    #[error("the policy's publication date cannot be written as a timestamp")]
    PublishedOutOfRange(#[source] jiff::Error),
    /// Signing failed.
    #[error("cannot sign the receipt: {0}")]
    Sign(#[source] CryptoError),
    /// The JWS did not verify, or its payload is not a receipt.
    #[error("invalid receipt: {0}")]
    Verify(#[source] CryptoError),
    /// The receipt's `publicKey` member names a key other than the one it verified with.
    #[error(
        "the receipt's `publicKey` is not the key it was verified with\nhelp: verify with the controller's published key"
    )]
    KeyMismatch,
}
