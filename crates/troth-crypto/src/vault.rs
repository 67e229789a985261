//! Envelope encryption for PI values: master key → tenant key (TEK) → subject data
//! key (DEK) → field ciphertext.
//!
//! * Every field is sealed with XChaCha20-Poly1305 under its subject's DEK, with
//!   associated data binding (tenant, subject, category, record). A ciphertext copied
//!   into another row fails to decrypt.
//! * A DEK is wrapped by its tenant's TEK, binding (tenant, subject, versions).
//! * A TEK is wrapped by the [`MasterKeyProvider`], binding (tenant, versions).
//! * Erasing a subject = deleting its [`WrappedKey`]; [`TenantKey::open_subject_key`]
//!   then reports [`CryptoError::KeyDestroyed`] (crypto-shredding).

use crate::blind::BlindIndexer;
use crate::error::CryptoError;
use crate::ids::{CategoryId, RecordId, SubjectId, TenantId};
use crate::keys::{
    Canon, KeyVersion, NONCE_LEN, Sealer, SecretKey, TAG_LEN, WrappedKey, random_nonce,
};
use crate::master::MasterKeyProvider;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Version a subject DEK gets; DEKs are never rotated in place (their TEK is).
const DEK_VERSION: KeyVersion = KeyVersion(1);
/// First version of a tenant key.
pub const FIRST_KEY_VERSION: KeyVersion = KeyVersion(1);
const FIELD_FORMAT_V1: u8 = 1;

pub(crate) fn tek_context(tenant: &TenantId) -> Vec<u8> {
    Canon::new("troth.tek")
        .field(tenant.as_str().as_bytes())
        .0
        .clone()
}

fn blind_context(tenant: &TenantId) -> Vec<u8> {
    Canon::new("troth.blind-index-key")
        .field(tenant.as_str().as_bytes())
        .0
        .clone()
}

/// The entry point: holds the master key provider and creates or opens tenant keys.
#[derive(Clone)]
pub struct Vault {
    provider: Arc<dyn MasterKeyProvider>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("master_version", &self.provider.current_version())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// A vault over the given master key provider.
    pub fn new(provider: Arc<dyn MasterKeyProvider>) -> Self {
        Self { provider }
    }

    /// The master key provider.
    pub fn provider(&self) -> &dyn MasterKeyProvider {
        self.provider.as_ref()
    }

    /// Generates a tenant's first key (version 1). Store the returned [`WrappedKey`].
    pub fn create_tenant_key(
        &self,
        tenant: &TenantId,
    ) -> Result<(TenantKey, WrappedKey), CryptoError> {
        self.new_tenant_key(tenant, FIRST_KEY_VERSION)
    }

    /// Tenant-key rotation: generates version `current.version() + 1`. Then re-wrap
    /// the tenant's DEKs with [`TenantKey::rewrap_subject_key`]; data is not touched.
    pub fn rotate_tenant_key(
        &self,
        current: &TenantKey,
    ) -> Result<(TenantKey, WrappedKey), CryptoError> {
        let next = current
            .version
            .0
            .checked_add(1)
            .ok_or(CryptoError::Malformed("key version (overflow)"))?;
        self.new_tenant_key(&current.tenant, KeyVersion(next))
    }

    fn new_tenant_key(
        &self,
        tenant: &TenantId,
        version: KeyVersion,
    ) -> Result<(TenantKey, WrappedKey), CryptoError> {
        let key = SecretKey::generate()?;
        let wrapped = self.provider.wrap(&tek_context(tenant), version, &key)?;
        Ok((TenantKey::new(tenant.clone(), version, key), wrapped))
    }

    /// Unwraps a stored tenant key.
    pub fn open_tenant_key(
        &self,
        tenant: &TenantId,
        wrapped: &WrappedKey,
    ) -> Result<TenantKey, CryptoError> {
        let key = self.provider.unwrap(&tek_context(tenant), wrapped)?;
        Ok(TenantKey::new(tenant.clone(), wrapped.key_version, key))
    }

    /// Generates a tenant's blind-index key (see [`crate::blind`] for why it is
    /// separate from the tenant key). Store the returned [`WrappedKey`].
    pub fn create_blind_index_key(
        &self,
        tenant: &TenantId,
    ) -> Result<(BlindIndexer, WrappedKey), CryptoError> {
        let key = SecretKey::generate()?;
        let wrapped = self
            .provider
            .wrap(&blind_context(tenant), FIRST_KEY_VERSION, &key)?;
        Ok((BlindIndexer::new(tenant.clone(), key), wrapped))
    }

    /// Unwraps a stored blind-index key.
    pub fn open_blind_index_key(
        &self,
        tenant: &TenantId,
        wrapped: &WrappedKey,
    ) -> Result<BlindIndexer, CryptoError> {
        let key = self.provider.unwrap(&blind_context(tenant), wrapped)?;
        Ok(BlindIndexer::new(tenant.clone(), key))
    }

    /// Master-key rotation step for a blind-index key (same as for tenant keys).
    pub fn rewrap_blind_index_key(
        &self,
        tenant: &TenantId,
        wrapped: &WrappedKey,
    ) -> Result<WrappedKey, CryptoError> {
        let ctx = blind_context(tenant);
        if wrapped.wrapping_version == self.provider.current_version() {
            return Ok(wrapped.clone());
        }
        let key = self.provider.unwrap(&ctx, wrapped)?;
        self.provider.wrap(&ctx, wrapped.key_version, &key)
    }

    /// Master-key rotation step: re-wraps one tenant key under the provider's current
    /// master version (the provider must still hold the old version). Idempotent.
    pub fn rewrap_tenant_key(
        &self,
        tenant: &TenantId,
        wrapped: &WrappedKey,
    ) -> Result<WrappedKey, CryptoError> {
        rewrap_tenant_key(self.provider(), self.provider(), tenant, wrapped)
    }
}

/// Re-wraps a tenant key from one master key provider to another (e.g. local key to
/// KMS, or old keyring to new). Skips the work if `to` already wrapped it.
pub fn rewrap_tenant_key(
    from: &dyn MasterKeyProvider,
    to: &dyn MasterKeyProvider,
    tenant: &TenantId,
    wrapped: &WrappedKey,
) -> Result<WrappedKey, CryptoError> {
    let ctx = tek_context(tenant);
    if std::ptr::addr_eq(from, to) && wrapped.wrapping_version == to.current_version() {
        return Ok(wrapped.clone());
    }
    let key = from.unwrap(&ctx, wrapped)?;
    to.wrap(&ctx, wrapped.key_version, &key)
}

/// A tenant's key (TEK), unwrapped. Wraps and unwraps the tenant's subject keys.
pub struct TenantKey {
    tenant: TenantId,
    version: KeyVersion,
    sealer: Sealer,
}

impl fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantKey")
            .field("tenant", &self.tenant)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl TenantKey {
    fn new(tenant: TenantId, version: KeyVersion, key: SecretKey) -> Self {
        Self {
            tenant,
            version,
            sealer: Sealer::new(&key),
        }
    }

    /// The tenant this key belongs to.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// This key's version; DEKs it wraps record it as their wrapping version.
    pub fn version(&self) -> KeyVersion {
        self.version
    }

    fn dek_aad(&self, subject: &SubjectId, key_version: KeyVersion) -> Vec<u8> {
        let mut c = Canon::new("troth.dek.v1");
        c.field(self.tenant.as_str().as_bytes())
            .field(subject.as_str().as_bytes())
            .u32(key_version.0)
            .u32(self.version.0);
        c.0
    }

    /// Generates a subject's data key. Store the [`WrappedKey`] next to the subject;
    /// deleting it later erases all of the subject's encrypted values.
    pub fn create_subject_key(
        &self,
        subject: &SubjectId,
    ) -> Result<(SubjectKey, WrappedKey), CryptoError> {
        let key = SecretKey::generate()?;
        let wrapped = self.wrap_dek(subject, DEK_VERSION, &key)?;
        Ok((
            SubjectKey::new(self.tenant.clone(), subject.clone(), key),
            wrapped,
        ))
    }

    fn wrap_dek(
        &self,
        subject: &SubjectId,
        key_version: KeyVersion,
        key: &SecretKey,
    ) -> Result<WrappedKey, CryptoError> {
        let blob = self
            .sealer
            .seal(&self.dek_aad(subject, key_version), key.expose_secret())?;
        Ok(WrappedKey {
            key_version,
            wrapping_version: self.version,
            blob,
        })
    }

    /// Unwraps a subject's data key. `None` (the store has no wrapped key: the
    /// subject was erased) yields [`CryptoError::KeyDestroyed`].
    pub fn open_subject_key(
        &self,
        subject: &SubjectId,
        wrapped: Option<&WrappedKey>,
    ) -> Result<SubjectKey, CryptoError> {
        let wrapped = wrapped.ok_or(CryptoError::KeyDestroyed)?;
        if wrapped.wrapping_version != self.version {
            return Err(CryptoError::UnknownKeyVersion(wrapped.wrapping_version.0));
        }
        let key = self
            .sealer
            .open_key(&self.dek_aad(subject, wrapped.key_version), &wrapped.blob)?;
        Ok(SubjectKey::new(self.tenant.clone(), subject.clone(), key))
    }

    /// Tenant-key rotation step: re-wraps a DEK wrapped by `from` (the old TEK)
    /// under `self` (the new TEK). Already-current keys are returned unchanged, so
    /// an interrupted rotation can simply be run again.
    pub fn rewrap_subject_key(
        &self,
        from: &TenantKey,
        subject: &SubjectId,
        wrapped: &WrappedKey,
    ) -> Result<WrappedKey, CryptoError> {
        if from.tenant != self.tenant {
            return Err(CryptoError::DecryptionFailed);
        }
        if wrapped.wrapping_version == self.version {
            return Ok(wrapped.clone());
        }
        let dek = from.open_subject_key(subject, Some(wrapped))?;
        self.wrap_dek(subject, wrapped.key_version, &dek.key)
    }

    /// Re-wraps many DEKs; stops at the first failure.
    pub fn rewrap_subject_keys<'a, I>(
        &self,
        from: &TenantKey,
        keys: I,
    ) -> Result<Vec<(SubjectId, WrappedKey)>, CryptoError>
    where
        I: IntoIterator<Item = (&'a SubjectId, &'a WrappedKey)>,
    {
        keys.into_iter()
            .map(|(s, w)| Ok((s.clone(), self.rewrap_subject_key(from, s, w)?)))
            .collect()
    }

    /// Convenience: opens the subject key and decrypts one field in a single call.
    /// `wrapped_dek` is `None` after erasure, giving [`CryptoError::KeyDestroyed`].
    pub fn decrypt_field(
        &self,
        subject: &SubjectId,
        wrapped_dek: Option<&WrappedKey>,
        category: &CategoryId,
        record: &RecordId,
        field: &EncryptedField,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.open_subject_key(subject, wrapped_dek)?
            .decrypt(category, record, field)
    }
}

/// A subject's data key (DEK), unwrapped. Encrypts and decrypts that subject's fields.
pub struct SubjectKey {
    tenant: TenantId,
    subject: SubjectId,
    key: SecretKey,
    sealer: Sealer,
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectKey")
            .field("tenant", &self.tenant)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl SubjectKey {
    fn new(tenant: TenantId, subject: SubjectId, key: SecretKey) -> Self {
        let sealer = Sealer::new(&key);
        Self {
            tenant,
            subject,
            key,
            sealer,
        }
    }

    /// The subject this key belongs to.
    pub fn subject(&self) -> &SubjectId {
        &self.subject
    }

    fn field_aad(&self, category: &CategoryId, record: &RecordId) -> Vec<u8> {
        let mut c = Canon::new("troth.field.v1");
        c.field(self.tenant.as_str().as_bytes())
            .field(self.subject.as_str().as_bytes())
            .field(category.as_str().as_bytes())
            .field(record.as_str().as_bytes());
        c.0
    }

    /// Encrypts one PI value for the row (category, record) of this subject.
    pub fn encrypt(
        &self,
        category: &CategoryId,
        record: &RecordId,
        plaintext: &[u8],
    ) -> Result<EncryptedField, CryptoError> {
        let bytes = self.sealer.seal_with_prefix(
            &[FIELD_FORMAT_V1],
            &random_nonce()?,
            &self.field_aad(category, record),
            plaintext,
        )?;
        Ok(EncryptedField(bytes))
    }

    /// Decrypts a value written by [`SubjectKey::encrypt`] for the same row.
    pub fn decrypt(
        &self,
        category: &CategoryId,
        record: &RecordId,
        field: &EncryptedField,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (format, rest) = field
            .0
            .split_first()
            .ok_or(CryptoError::Malformed("encrypted field"))?;
        if *format != FIELD_FORMAT_V1 {
            return Err(CryptoError::Malformed("encrypted field (unknown format)"));
        }
        self.sealer.open(&self.field_aad(category, record), rest)
    }
}

/// A sealed PI value as stored: `format(1) || nonce(24) || ciphertext || tag(16)`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EncryptedField(Vec<u8>);

impl EncryptedField {
    /// Bytes to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Takes stored bytes back; checks only the framing (the tag is checked on decrypt).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        if bytes.len() < 1 + NONCE_LEN + TAG_LEN || bytes[0] != FIELD_FORMAT_V1 {
            return Err(CryptoError::Malformed("encrypted field"));
        }
        Ok(Self(bytes))
    }

    /// Consumes the value, returning the stored bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for EncryptedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptedField({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::LocalMasterKey;

    fn vault() -> Vault {
        Vault::new(Arc::new(LocalMasterKey::generate(KeyVersion(1)).unwrap()))
    }

    fn ids() -> (TenantId, SubjectId, CategoryId, RecordId) {
        (
            "t1".into(),
            "s1".into(),
            "contact.email".into(),
            "r1".into(),
        )
    }

    #[test]
    fn round_trip_and_row_binding() {
        let v = vault();
        let (t, s, c, r) = ids();
        let (tek, _) = v.create_tenant_key(&t).unwrap();
        let (dek, _) = tek.create_subject_key(&s).unwrap();
        let ct = dek.encrypt(&c, &r, b"alice@example.com").unwrap();
        assert_eq!(&dek.decrypt(&c, &r, &ct).unwrap()[..], b"alice@example.com");
        let other_record: RecordId = "r2".into();
        let other_cat: CategoryId = "contact.phone".into();
        assert!(matches!(
            dek.decrypt(&c, &other_record, &ct),
            Err(CryptoError::DecryptionFailed)
        ));
        assert!(dek.decrypt(&other_cat, &r, &ct).is_err());
        // Same row ids under another subject's key.
        let (dek2, _) = tek.create_subject_key(&"s2".into()).unwrap();
        assert!(dek2.decrypt(&c, &r, &ct).is_err());
    }

    #[test]
    fn wrapped_dek_is_bound_to_subject_and_tenant() {
        let v = vault();
        let (t, s, _, _) = ids();
        let (tek, _) = v.create_tenant_key(&t).unwrap();
        let (_, wdek) = tek.create_subject_key(&s).unwrap();
        assert!(tek.open_subject_key(&s, Some(&wdek)).is_ok());
        assert!(tek.open_subject_key(&"s2".into(), Some(&wdek)).is_err());
        let (tek_b, _) = v.create_tenant_key(&"t2".into()).unwrap();
        assert!(tek_b.open_subject_key(&s, Some(&wdek)).is_err());
    }

    #[test]
    fn tek_is_bound_to_tenant() {
        let v = vault();
        let (_, w) = v.create_tenant_key(&"t1".into()).unwrap();
        assert!(v.open_tenant_key(&"t1".into(), &w).is_ok());
        assert!(v.open_tenant_key(&"t2".into(), &w).is_err());
    }

    #[test]
    fn shredded_subject_reports_key_destroyed() {
        let v = vault();
        let (t, s, c, r) = ids();
        let (tek, _) = v.create_tenant_key(&t).unwrap();
        let (dek, _) = tek.create_subject_key(&s).unwrap();
        let ct = dek.encrypt(&c, &r, b"x").unwrap();
        assert!(matches!(
            tek.decrypt_field(&s, None, &c, &r, &ct),
            Err(CryptoError::KeyDestroyed)
        ));
    }

    #[test]
    fn tampered_field_fails() {
        let v = vault();
        let (t, s, c, r) = ids();
        let (tek, _) = v.create_tenant_key(&t).unwrap();
        let (dek, _) = tek.create_subject_key(&s).unwrap();
        let ct = dek.encrypt(&c, &r, b"hello").unwrap();
        let mut bytes = ct.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let bad = EncryptedField::from_bytes(bytes).unwrap();
        assert!(dek.decrypt(&c, &r, &bad).is_err());
        assert!(EncryptedField::from_bytes(vec![1, 2, 3]).is_err());
    }

    #[test]
    fn debug_output_is_redacted() {
        let v = vault();
        let (tek, _) = v.create_tenant_key(&"t1".into()).unwrap();
        let (dek, _) = tek.create_subject_key(&"s1".into()).unwrap();
        let s = format!("{v:?} {tek:?} {dek:?}");
        assert!(!s.contains("key:") && !s.contains("sealer"), "{s}");
    }
}
