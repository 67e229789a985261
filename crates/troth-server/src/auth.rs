//! API keys, roles and the permission matrix.
//!
//! A key is `troth_` followed by 43 base64url characters (256 random bits). It is
//! shown once when created; the server keeps only its BLAKE3 hash, which is enough to
//! recognise it and useless to an attacker who reads the database (a 256-bit random
//! secret needs no slow password hash). Keys carry one role; the role's permissions
//! are the fixed matrix below, so what a role may do is reviewable in one place.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Who a key acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the tenant: keys, policies, everything operators do.
    Admin,
    /// Works rights requests and incidents; reads subjects and consent.
    Operator,
    /// An application backend: records consent, asks for decisions, stores PI.
    App,
    /// Reads and verifies the audit log and reports; changes nothing.
    Auditor,
    /// One data subject acting on their own data (privacy center sessions).
    Subject,
}

impl Role {
    /// The role's name, as stored and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::App => "app",
            Role::Auditor => "auditor",
            Role::Subject => "subject",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Operator,
        Role::App,
        Role::Auditor,
        Role::Subject,
    ];
}

/// Things an API call may need permission for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Create and revoke API keys.
    ManageKeys,
    /// Upload and publish policy versions.
    PublishPolicy,
    /// Read policy versions (also public through the privacy center).
    ReadPolicy,
    /// Create subjects and link identities.
    WriteSubjects,
    /// Read subjects and look them up by identity.
    ReadSubjects,
    /// Record consent events.
    WriteConsent,
    /// Read consent state, history and receipts.
    ReadConsent,
    /// Ask for decisions.
    Decide,
    /// Store PI in the vault.
    VaultWrite,
    /// Read PI from the vault (each read is audited and purpose-checked).
    VaultRead,
    /// Delete PI from the vault or erase a subject.
    VaultDelete,
    /// Record disclosures.
    WriteDisclosures,
    /// Read the disclosure ledger.
    ReadDisclosures,
    /// Read and verify the audit log.
    ReadAudit,
    /// Submit data-subject rights requests.
    SubmitRequests,
    /// Work rights requests: list them, verify, extend, complete, refuse.
    WorkRequests,
    /// Read aggregate reports and stored PIA/RoPA documents.
    ReadReports,
    /// Generate PIA/RoPA documents and run retention sweeps.
    RunReports,
    /// Place, list and lift legal holds.
    ManageHolds,
    /// Start a cessation of operations (stops collection, deletes data): admins only.
    CeaseOperations,
    /// Record a transfer of the controller (tells everyone; consents may need
    /// renewal): admins only.
    TransferController,
    /// Decide developer certifications in manual review (approve or reject).
    ReviewCertifications,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 22] = [
        Permission::ManageKeys,
        Permission::PublishPolicy,
        Permission::ReadPolicy,
        Permission::WriteSubjects,
        Permission::ReadSubjects,
        Permission::WriteConsent,
        Permission::ReadConsent,
        Permission::Decide,
        Permission::VaultWrite,
        Permission::VaultRead,
        Permission::VaultDelete,
        Permission::WriteDisclosures,
        Permission::ReadDisclosures,
        Permission::ReadAudit,
        Permission::SubmitRequests,
        Permission::WorkRequests,
        Permission::ReadReports,
        Permission::RunReports,
        Permission::ManageHolds,
        Permission::CeaseOperations,
        Permission::TransferController,
        Permission::ReviewCertifications,
    ];
}

/// Whether `role` has `perm`. Subject keys are further limited to their own subject
/// by the handlers.
pub fn allows(role: Role, perm: Permission) -> bool {
    use Permission as P;
    match role {
        Role::Admin => true,
        Role::Operator => !matches!(
            perm,
            P::ManageKeys | P::PublishPolicy | P::CeaseOperations | P::TransferController
        ),
        Role::App => matches!(
            perm,
            P::ReadPolicy
                | P::WriteSubjects
                | P::ReadSubjects
                | P::WriteConsent
                | P::ReadConsent
                | P::Decide
                | P::VaultWrite
                | P::VaultRead
                | P::VaultDelete
                | P::WriteDisclosures
                | P::ReadDisclosures
                | P::SubmitRequests
        ),
        Role::Auditor => matches!(
            perm,
            P::ReadPolicy | P::ReadConsent | P::ReadDisclosures | P::ReadAudit | P::ReadReports
        ),
        Role::Subject => matches!(
            perm,
            P::ReadPolicy
                | P::WriteConsent
                | P::ReadConsent
                | P::VaultRead
                | P::ReadDisclosures
                | P::SubmitRequests
        ),
    }
}

const PREFIX: &str = "troth_";

/// A newly made key, to be shown once.
pub struct NewKey {
    /// The secret the caller must keep.
    pub token: String,
    /// What the server stores.
    pub hash: KeyHash,
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKey")
            .field("token", &"<redacted>")
            .field("hash", &self.hash)
            .finish()
    }
}

/// The stored form of a key: BLAKE3 of the token, hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyHash(String);

impl KeyHash {
    /// Hashes a presented token.
    pub fn of(token: &str) -> Self {
        Self(blake3::hash(token.as_bytes()).to_hex().to_string())
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a stored hash.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

/// Why a key could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomError;

/// Makes a new random key.
pub fn new_key() -> Result<NewKey, RandomError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| RandomError)?;
    let token = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = KeyHash::of(&token);
    Ok(NewKey { token, hash })
}

/// Extracts the token from an `Authorization: Bearer …` header value. Returns `None`
/// for anything that is not a troth key, so a malformed header is "unauthenticated".
pub fn bearer(header: &str) -> Option<&str> {
    let token = header.strip_prefix("Bearer ")?.trim();
    let body = token.strip_prefix(PREFIX)?;
    (body.len() == 43
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_parse_back() {
        let a = new_key().unwrap();
        let b = new_key().unwrap();
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with("troth_"));
        assert_eq!(
            bearer(&format!("Bearer {}", a.token)),
            Some(a.token.as_str())
        );
        assert_eq!(KeyHash::of(&a.token), a.hash);
        assert!(!format!("{a:?}").contains(&a.token));
    }

    #[test]
    fn malformed_headers_are_not_keys() {
        for h in [
            "",
            "Bearer",
            "Basic abc",
            "Bearer troth_short",
            "Bearer other_0123456789012345678901234567890123456789012",
        ] {
            assert_eq!(bearer(h), None, "{h}");
        }
    }

    /// The permission matrix, spelled out: a change to `allows` must change this table.
    #[test]
    fn permission_matrix() {
        use Permission as P;
        let expect: &[(Role, &[Permission])] = &[
            (Role::Admin, &P::ALL),
            (
                Role::Operator,
                &[
                    P::ReadPolicy,
                    P::WriteSubjects,
                    P::ReadSubjects,
                    P::WriteConsent,
                    P::ReadConsent,
                    P::Decide,
                    P::VaultWrite,
                    P::VaultRead,
                    P::VaultDelete,
                    P::WriteDisclosures,
                    P::ReadDisclosures,
                    P::ReadAudit,
                    P::SubmitRequests,
                    P::WorkRequests,
                    P::ReadReports,
                    P::RunReports,
                    P::ManageHolds,
                    P::ReviewCertifications,
                ],
            ),
            (
                Role::App,
                &[
                    P::ReadPolicy,
                    P::WriteSubjects,
                    P::ReadSubjects,
                    P::WriteConsent,
                    P::ReadConsent,
                    P::Decide,
                    P::VaultWrite,
                    P::VaultRead,
                    P::VaultDelete,
                    P::WriteDisclosures,
                    P::ReadDisclosures,
                    P::SubmitRequests,
                ],
            ),
            (
                Role::Auditor,
                &[
                    P::ReadPolicy,
                    P::ReadConsent,
                    P::ReadDisclosures,
                    P::ReadAudit,
                    P::ReadReports,
                ],
            ),
            (
                Role::Subject,
                &[
                    P::ReadPolicy,
                    P::WriteConsent,
                    P::ReadConsent,
                    P::VaultRead,
                    P::ReadDisclosures,
                    P::SubmitRequests,
                ],
            ),
        ];
        for (role, granted) in expect {
            for perm in P::ALL {
                assert_eq!(
                    allows(*role, perm),
                    granted.contains(&perm),
                    "{role:?} {perm:?}"
                );
            }
        }
    }
}
