//! Exercises troth-crypto through its public API only, the way the store will.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use proptest::prelude::*;
use std::num::NonZeroU64;
use std::sync::Arc;
use troth_crypto::{
    AuditChain, AuditEntry, AuditEvent, AuditVerifier, CategoryId, Checkpoint, CryptoError,
    EncryptedField, KeyVersion, LocalMasterKey, MasterKeyProvider, PublicKey, ReceiptSigner,
    RecordId, SecretKey, SigningKeyPair, SubjectId, TenantId, Vault, ViolationKind, WrappedKey,
    keyfile, rewrap_tenant_key, verify_receipt,
};

const MASTER_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn ids() -> (TenantId, SubjectId, CategoryId, RecordId) {
    (
        TenantId::new("acme"),
        SubjectId::new("sub-42"),
        CategoryId::new("contact.email"),
        RecordId::new("row-1"),
    )
}

fn vault_from(mk: LocalMasterKey) -> Vault {
    Vault::new(Arc::new(mk))
}

#[test]
fn store_round_trip_through_bytes() {
    let (t, s, c, r) = ids();
    let v = vault_from(LocalMasterKey::from_encoded(KeyVersion(1), MASTER_HEX).unwrap());
    let (tek, wtek) = v.create_tenant_key(&t).unwrap();
    let (dek, wdek) = tek.create_subject_key(&s).unwrap();
    let stored_field = dek
        .encrypt(&c, &r, b"alice@example.com")
        .unwrap()
        .into_bytes();
    let stored_tek = wtek.to_bytes();
    let stored_dek = serde_json::to_string(&wdek).unwrap();
    drop((tek, dek));

    // A fresh process with the same master key value.
    let v2 = vault_from(LocalMasterKey::from_encoded(KeyVersion(1), MASTER_HEX).unwrap());
    let tek = v2
        .open_tenant_key(&t, &WrappedKey::from_bytes(&stored_tek).unwrap())
        .unwrap();
    let wdek: WrappedKey = serde_json::from_str(&stored_dek).unwrap();
    let field = EncryptedField::from_bytes(stored_field).unwrap();
    let pt = tek.decrypt_field(&s, Some(&wdek), &c, &r, &field).unwrap();
    assert_eq!(&pt[..], b"alice@example.com");
}

#[test]
fn ciphertext_moved_to_another_row_fails() {
    let (t, s, c, r) = ids();
    let v = vault_from(LocalMasterKey::generate(KeyVersion(1)).unwrap());
    let (tek, _) = v.create_tenant_key(&t).unwrap();
    let (dek, wdek) = tek.create_subject_key(&s).unwrap();
    let ct = dek.encrypt(&c, &r, b"13800138000").unwrap();

    let other_record = RecordId::new("row-2");
    let other_cat = CategoryId::new("contact.phone");
    for (cat, rec) in [(&c, &other_record), (&other_cat, &r)] {
        assert!(matches!(
            tek.decrypt_field(&s, Some(&wdek), cat, rec, &ct),
            Err(CryptoError::DecryptionFailed)
        ));
    }
    // Another subject of the same tenant, with its own key, same row ids.
    let other_subject = SubjectId::new("sub-43");
    let (_, wdek2) = tek.create_subject_key(&other_subject).unwrap();
    assert!(
        tek.decrypt_field(&other_subject, Some(&wdek2), &c, &r, &ct)
            .is_err()
    );
    // Pairing the subject's wrapped key with another subject id fails at unwrap.
    assert!(tek.open_subject_key(&other_subject, Some(&wdek)).is_err());
    // Another tenant cannot open this tenant's keys.
    let (tek_b, _) = v.create_tenant_key(&TenantId::new("globex")).unwrap();
    assert!(tek_b.open_subject_key(&s, Some(&wdek)).is_err());
}

#[test]
fn crypto_shredding_makes_data_unreadable() {
    let (t, s, c, r) = ids();
    let v = vault_from(LocalMasterKey::generate(KeyVersion(1)).unwrap());
    let (tek, _) = v.create_tenant_key(&t).unwrap();
    let (dek, wdek) = tek.create_subject_key(&s).unwrap();
    let ct = dek.encrypt(&c, &r, b"pi").unwrap();
    let other = SubjectId::new("sub-99");
    let (dek_o, wdek_o) = tek.create_subject_key(&other).unwrap();
    let ct_o = dek_o.encrypt(&c, &r, b"other pi").unwrap();

    // The store deletes the subject's wrapped DEK; the lookup now yields None.
    let mut key_table = vec![(s.clone(), wdek), (other.clone(), wdek_o)];
    key_table.retain(|(id, _)| id != &s);
    let lookup = |id: &SubjectId| key_table.iter().find(|(i, _)| i == id).map(|(_, w)| w);

    assert!(matches!(
        tek.decrypt_field(&s, lookup(&s), &c, &r, &ct),
        Err(CryptoError::KeyDestroyed)
    ));
    let e = tek.open_subject_key(&s, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "subject key destroyed: the data was erased and cannot be decrypted"
    );
    assert_eq!(
        &tek.decrypt_field(&other, lookup(&other), &c, &r, &ct_o)
            .unwrap()[..],
        b"other pi"
    );
}

#[test]
fn master_key_rotation_rewraps_tenant_keys() {
    let (t, s, c, r) = ids();
    let v1 = vault_from(LocalMasterKey::from_encoded(KeyVersion(1), MASTER_HEX).unwrap());
    let (tek, wtek_v1) = v1.create_tenant_key(&t).unwrap();
    let (dek, wdek) = tek.create_subject_key(&s).unwrap();
    let ct = dek.encrypt(&c, &r, b"before rotation").unwrap();
    assert_eq!(wtek_v1.wrapping_version, KeyVersion(1));

    // Keyring: v1 (old) + v2 (new, current).
    let mut mk = LocalMasterKey::from_encoded(KeyVersion(1), MASTER_HEX).unwrap();
    mk.add_version(KeyVersion(2), SecretKey::generate().unwrap());
    assert_eq!(mk.current_version(), KeyVersion(2));
    let v = vault_from(mk);
    let wtek_v2 = v.rewrap_tenant_key(&t, &wtek_v1).unwrap();
    assert_eq!(wtek_v2.wrapping_version, KeyVersion(2));
    assert_eq!(wtek_v2.key_version, wtek_v1.key_version);
    // Idempotent: already-current keys are returned as they are.
    assert_eq!(v.rewrap_tenant_key(&t, &wtek_v2).unwrap(), wtek_v2);

    let tek2 = v.open_tenant_key(&t, &wtek_v2).unwrap();
    assert_eq!(
        &tek2.decrypt_field(&s, Some(&wdek), &c, &r, &ct).unwrap()[..],
        b"before rotation"
    );
}

#[test]
fn master_key_rotation_drops_old_version() {
    let mut ring = LocalMasterKey::generate(KeyVersion(1)).unwrap();
    let k = SecretKey::generate().unwrap();
    let w1 = ring.wrap(b"ctx", KeyVersion(1), &k).unwrap();
    ring.add_version(KeyVersion(2), SecretKey::generate().unwrap());
    assert!(!ring.remove_version(KeyVersion(2)), "current version stays");
    assert!(ring.remove_version(KeyVersion(1)));
    assert!(matches!(
        ring.unwrap(b"ctx", &w1),
        Err(CryptoError::UnknownKeyVersion(1))
    ));
}

#[test]
fn rewrap_between_providers() {
    let (t, s, c, r) = ids();
    let old: Arc<dyn MasterKeyProvider> =
        Arc::new(LocalMasterKey::generate(KeyVersion(1)).unwrap());
    let new: Arc<dyn MasterKeyProvider> =
        Arc::new(LocalMasterKey::generate(KeyVersion(7)).unwrap());
    let (tek, wtek) = Vault::new(old.clone()).create_tenant_key(&t).unwrap();
    let (dek, wdek) = tek.create_subject_key(&s).unwrap();
    let ct = dek.encrypt(&c, &r, b"x").unwrap();
    let moved = rewrap_tenant_key(old.as_ref(), new.as_ref(), &t, &wtek).unwrap();
    assert_eq!(moved.wrapping_version, KeyVersion(7));
    let tek2 = Vault::new(new).open_tenant_key(&t, &moved).unwrap();
    assert_eq!(
        &tek2.decrypt_field(&s, Some(&wdek), &c, &r, &ct).unwrap()[..],
        b"x"
    );
}

#[test]
fn tenant_key_rotation_rewraps_subject_keys() {
    let (t, _, c, r) = ids();
    let v = vault_from(LocalMasterKey::generate(KeyVersion(1)).unwrap());
    let (tek1, _) = v.create_tenant_key(&t).unwrap();
    let subjects: Vec<SubjectId> = (0..5).map(|i| SubjectId::new(format!("s{i}"))).collect();
    let mut wrapped = Vec::new();
    let mut cts = Vec::new();
    for s in &subjects {
        let (dek, w) = tek1.create_subject_key(s).unwrap();
        cts.push(dek.encrypt(&c, &r, s.as_str().as_bytes()).unwrap());
        wrapped.push(w);
    }

    let (tek2, wtek2) = v.rotate_tenant_key(&tek1).unwrap();
    assert_eq!(tek2.version(), KeyVersion(2));
    assert_eq!(wtek2.key_version, KeyVersion(2));
    let rewrapped = tek2
        .rewrap_subject_keys(&tek1, subjects.iter().zip(wrapped.iter()))
        .unwrap();

    // Old TEK gone: only the new one (reopened from storage) is used.
    drop(tek1);
    let tek2 = v.open_tenant_key(&t, &wtek2).unwrap();
    for ((s, w), ct) in rewrapped.iter().zip(&cts) {
        assert_eq!(w.wrapping_version, KeyVersion(2));
        let pt = tek2.decrypt_field(s, Some(w), &c, &r, ct).unwrap();
        assert_eq!(&pt[..], s.as_str().as_bytes());
    }
    // A DEK still wrapped by v1 names a version this TEK does not have.
    assert!(matches!(
        tek2.open_subject_key(&subjects[0], Some(&wrapped[0])),
        Err(CryptoError::UnknownKeyVersion(1))
    ));
}

#[test]
fn key_file_is_created_once_with_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("troth-master.key");
    let (t, _, _, _) = ids();
    let (_, w) = vault_from(keyfile::load_or_create(&path, KeyVersion(1)).unwrap())
        .create_tenant_key(&t)
        .unwrap();
    let v = vault_from(keyfile::load_or_create(&path, KeyVersion(1)).unwrap());
    assert!(v.open_tenant_key(&t, &w).is_ok());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn blind_index_lookup() {
    let t = TenantId::new("acme");
    let v = vault_from(LocalMasterKey::generate(KeyVersion(1)).unwrap());
    let (bi, w) = v.create_blind_index_key(&t).unwrap();
    let token = bi.email("Zhang.Wei@Example.CN").unwrap();
    let bi2 = v.open_blind_index_key(&t, &w).unwrap();
    assert_eq!(bi2.email("  zhang.wei@example.cn ").unwrap(), token);
    assert_eq!(
        bi2.phone("138-0013-8000", "CN").unwrap(),
        bi2.phone("+86 13800138000", "CN").unwrap()
    );
    assert!(matches!(
        bi2.phone("555", "CN"),
        Err(CryptoError::InvalidPhone(_))
    ));
    assert!(
        v.open_blind_index_key(&TenantId::new("globex"), &w)
            .is_err()
    );
}

#[test]
fn receipt_round_trip_via_published_jwk() {
    let signer = ReceiptSigner::new(SigningKeyPair::generate().unwrap());
    let receipt = serde_json::json!({
        "receipt_id": "r-1", "subject": "sub-42", "purpose": "marketing",
        "state": "given", "policy_version": "v3"
    });
    let jws = signer.sign_json(&receipt).unwrap();
    let published = serde_json::to_string(&signer.public_key().to_jwk()).unwrap();
    let pk = PublicKey::from_jwk(&serde_json::from_str(&published).unwrap()).unwrap();
    assert_eq!(verify_receipt(&jws, &pk).unwrap(), receipt);
    let tampered = jws.replacen('.', ".e", 1);
    assert!(verify_receipt(&tampered, &pk).is_err());
}

#[test]
fn error_messages_are_lowercase_and_pi_free() {
    let errs = [
        CryptoError::DecryptionFailed,
        CryptoError::KeyDestroyed,
        CryptoError::UnknownKeyVersion(3),
        troth_crypto::normalize_email("someone.secret@").unwrap_err(),
        troth_crypto::normalize_phone("+86 139 1234", "CN").unwrap_err(),
        CryptoError::InvalidSignature,
    ];
    for e in errs {
        let m = e.to_string();
        let first = m.chars().next().unwrap();
        assert!(first.is_lowercase(), "{m}");
        assert!(!m.ends_with('.'), "{m}");
        assert!(!m.contains("secret") && !m.contains("1234"), "{m}");
    }
}

// ---- audit chain ----

fn ev(i: u64) -> AuditEvent {
    AuditEvent {
        time: Timestamp::from_second(1_750_000_000 + i as i64).unwrap(),
        actor: "svc:api".into(),
        action: "subject.updated".into(),
        target: format!("sub-{i}"),
        detail: format!(r#"{{"n":{i}}}"#),
    }
}

fn build(n: u64) -> (PublicKey, Vec<AuditEntry>, Vec<Checkpoint>) {
    let key = SigningKeyPair::generate().unwrap();
    let mut chain = AuditChain::new(key, NonZeroU64::new(8).unwrap());
    let out = chain.append_batch((0..n).map(ev));
    (chain.public_key(), out.entries, out.checkpoints)
}

#[test]
fn audit_tamper_cases_report_first_bad_entry() {
    let (pk, es, cps) = build(40);
    let v = AuditVerifier::new(pk);
    assert_eq!(v.verify(&es, &cps).unwrap().last_seq, 40);

    let mut edited = es.clone();
    edited[9].target.push('x');
    let e = v.verify(&edited, &cps).unwrap_err();
    assert_eq!((e.seq, e.kind), (10, ViolationKind::HashMismatch));

    let mut deleted = es.clone();
    deleted.remove(20);
    let e = v.verify(&deleted, &cps).unwrap_err();
    assert_eq!(
        (e.seq, e.kind),
        (22, ViolationKind::SequenceGap { expected: 21 })
    );

    let mut swapped = es.clone();
    swapped.swap(30, 31);
    let e = v.verify(&swapped, &cps).unwrap_err();
    assert_eq!(
        (e.seq, e.kind),
        (32, ViolationKind::SequenceGap { expected: 31 })
    );

    let truncated = &es[..35];
    let e = v.verify(truncated, &cps).unwrap_err();
    assert_eq!(
        (e.seq, e.kind.clone()),
        (40, ViolationKind::TruncatedTail { last_seq: 35 })
    );
    assert_eq!(
        e.to_string(),
        "audit chain broken at entry `40`: log truncated: it ends at entry `35` but a signed checkpoint covers this entry"
    );
}

proptest! {
    // Ed25519 is slow in debug builds; 32 cases keep this suite quick.
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn prop_encrypt_decrypt_round_trip(
        value in proptest::collection::vec(any::<u8>(), 0..1024),
        tenant in "[a-z0-9-]{1,16}",
        subject in "[a-z0-9-]{1,16}",
        category in "[a-z.]{1,16}",
        record in "[a-z0-9]{1,16}",
    ) {
        let v = vault_from(LocalMasterKey::generate(KeyVersion(1)).unwrap());
        let (t, s) = (TenantId::new(tenant), SubjectId::new(subject));
        let (c, r) = (CategoryId::new(category), RecordId::new(record));
        let (tek, _) = v.create_tenant_key(&t).unwrap();
        let (dek, w) = tek.create_subject_key(&s).unwrap();
        let ct = dek.encrypt(&c, &r, &value).unwrap();
        let back = tek.decrypt_field(&s, Some(&w), &c, &r, &ct).unwrap();
        prop_assert_eq!(&back[..], &value[..]);
        let other = RecordId::new(format!("{}x", r.as_str()));
        prop_assert!(dek.decrypt(&c, &other, &ct).is_err());
    }

    #[test]
    fn prop_verify_of_append_is_ok(
        events in proptest::collection::vec(
            ("[a-z:]{0,12}", "[a-z.]{1,12}", "[a-z0-9-]{0,12}", ".{0,40}", 0i64..4_000_000_000),
            0..60,
        ),
        every in 3u64..16,
    ) {
        let key = SigningKeyPair::generate().unwrap();
        let mut chain = AuditChain::new(key, NonZeroU64::new(every).unwrap());
        let n = events.len() as u64;
        let out = chain.append_batch(events.into_iter().map(|(actor, action, target, detail, t)| AuditEvent {
            time: Timestamp::from_second(t).unwrap(), actor, action, target, detail,
        }));
        let report = AuditVerifier::new(chain.public_key()).verify(&out.entries, &out.checkpoints).unwrap();
        prop_assert_eq!(report.entries, n);
        prop_assert_eq!(report.checkpoints_verified, n / every);
    }

    #[test]
    fn prop_any_single_edit_is_caught_at_its_seq(n in 2u64..40, pick in any::<prop::sample::Index>()) {
        let (pk, mut es, cps) = build(n);
        let i = pick.index(es.len());
        es[i].detail.push(' ');
        let e = AuditVerifier::new(pk).verify(&es, &cps).unwrap_err();
        prop_assert_eq!(e.seq, i as u64 + 1);
        prop_assert_eq!(e.kind, ViolationKind::HashMismatch);
    }
}

// ---- parsers never panic on hostile input (stand-in for fuzz targets) ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prop_parsers_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), text in ".{0,80}") {
        let _ = WrappedKey::from_bytes(&bytes);
        let _ = EncryptedField::from_bytes(bytes.clone());
        let _ = troth_crypto::parse_encoded_key(&text);
        let _ = troth_crypto::normalize_email(&text);
        let _ = troth_crypto::normalize_phone(&text, "CN");
        let _ = troth_crypto::normalize_external_id(&text);
        let pk = SigningKeyPair::from_seed(&[1u8; 32]).public_key();
        let _ = verify_receipt(&text, &pk);
        let dotted = format!("{text}.{text}.{text}");
        let _ = verify_receipt(&dotted, &pk);
    }

    #[test]
    fn prop_phone_like_inputs_do_not_panic(s in "[+0-9 ()-]{0,30}", region in "[A-Z]{2}") {
        let _ = troth_crypto::normalize_phone(&s, &region);
    }
}
