//! Key rotation by re-wrapping, on SQLite and PostgreSQL: after a master-key
//! rotation and after tenant-key rotations (also with a "server" writing through
//! the rotation), every vault value, identity and blind-index lookup reads back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use support::{Backend, Harness, config};
use troth_crypto::{KeyVersion, LocalMasterKey, SecretKey, SigningKeyPair, Vault};
use troth_store::{
    Access, AnyStore, IdentifierKind, PgStore, SqliteStore, Store, StoreConfig, SubjectId,
    TenantId, VaultKey,
};

fn ops() -> Access {
    Access::new("svc:test", "account")
}

/// The harness's master key (v1) plus, optionally, a second version.
fn keyring(versions: &[(u32, u8)]) -> StoreConfig {
    let (v, b) = versions[0];
    let mut ring = LocalMasterKey::new(KeyVersion(v), SecretKey::from_bytes([b; 32]));
    for &(v, b) in &versions[1..] {
        ring.add_version(KeyVersion(v), SecretKey::from_bytes([b; 32]));
    }
    let base = config();
    let mut c = StoreConfig::new(
        Vault::new(Arc::new(ring)),
        SigningKeyPair::from_seed(&[9u8; 32]),
    );
    c.checkpoint_every = base.checkpoint_every;
    c.verify_page = base.verify_page;
    c
}

/// Another handle on the same databases (another process, as far as caches go).
async fn reopen(h: &Harness, c: StoreConfig) -> AnyStore {
    match (&h.backend, &h.store) {
        (Backend::Sqlite(_), AnyStore::Sqlite(s)) => AnyStore::Sqlite(
            SqliteStore::open(s.data_path(), s.keys_path(), c)
                .await
                .unwrap(),
        ),
        (Backend::Pg(db), _) => AnyStore::Postgres(
            PgStore::connect(&db.data_url, &db.keys_url, c)
                .await
                .unwrap(),
        ),
        _ => unreachable!(),
    }
}

fn vkey(t: &TenantId, subject: &str, n: usize) -> VaultKey {
    VaultKey::new(
        t.clone(),
        SubjectId::new(subject),
        "contact.address",
        format!("rec-{n}").as_str(),
    )
}

fn email(subject: &str) -> String {
    format!("{subject}@example.com")
}

/// `n` subjects, each with two vault values and an email identity.
async fn populate(store: &AnyStore, t: &TenantId, prefix: &str, n: usize) -> Vec<String> {
    let mut subjects = Vec::new();
    for i in 0..n {
        let s = format!("{prefix}{i}");
        for r in 0..2 {
            store
                .vault_put(&vkey(t, &s, r), format!("{s}/{r}").as_bytes(), None, &ops())
                .await
                .unwrap();
        }
        store
            .put_identity(
                t,
                &SubjectId::new(&s),
                IdentifierKind::Email,
                &email(&s),
                "CN",
                &ops(),
            )
            .await
            .unwrap();
        subjects.push(s);
    }
    subjects
}

async fn assert_readable(store: &AnyStore, t: &TenantId, subjects: &[String]) {
    for s in subjects {
        for r in 0..2 {
            let v = store.vault_get(&vkey(t, s, r), &ops()).await.unwrap();
            assert_eq!(&v[..], format!("{s}/{r}").as_bytes());
        }
        let ids = store
            .identities(t, &SubjectId::new(s), &ops())
            .await
            .unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].1.as_str(), email(s));
        let found = store
            .find_subject(t, IdentifierKind::Email, &email(s), "CN")
            .await
            .unwrap();
        assert_eq!(found, Some(SubjectId::new(s)));
    }
}

fn only(v: u32, n: u64) -> BTreeMap<KeyVersion, u64> {
    BTreeMap::from([(KeyVersion(v), n)])
}

// ---------------------------------------------------------------------------

async fn master_rotation_rewraps_and_reads_back(h: &Harness) {
    let t = TenantId::new("tenant-m");
    h.store.create_tenant(&t, "Acme").await.unwrap();
    let subjects = populate(&h.store, &t, "s", 5).await;
    assert_eq!(h.store.master_key_usage().await.unwrap(), only(1, 2));

    // The rotating process holds v1 and the new v2.
    let rotator = reopen(h, keyring(&[(1, 7), (2, 8)])).await;
    let r = rotator.rewrap_master_keys().await.unwrap();
    assert_eq!(
        (r.version, r.tenant_keys, r.blind_keys, r.skipped),
        (KeyVersion(2), 1, 1, 0)
    );
    assert_eq!(rotator.master_key_usage().await.unwrap(), only(2, 2));
    // Idempotent.
    let again = rotator.rewrap_master_keys().await.unwrap();
    assert_eq!((again.tenant_keys, again.already_current), (0, 2));

    // The running "server" (v1 only, keys cached) keeps working.
    assert_readable(&h.store, &t, &subjects).await;
    // A process with only the new version (v1 retired) reads everything.
    let fresh = reopen(h, keyring(&[(2, 8)])).await;
    assert_readable(&fresh, &t, &subjects).await;
    let more = populate(&fresh, &t, "n", 2).await;
    assert_readable(&rotator, &t, &more).await;
    fresh.verify_audit(&t).await.unwrap();
}

async fn tenant_rotation_rewraps_and_reads_back(h: &Harness) {
    let t = TenantId::new("tenant-t");
    h.store.create_tenant(&t, "Acme").await.unwrap();
    let subjects = populate(&h.store, &t, "s", 7).await;
    // A running "server" with the tenant key cached at v1.
    let server = reopen(h, config()).await;
    assert_readable(&server, &t, &subjects[..1]).await;

    let r = h.store.rotate_tenant_key(&t).await.unwrap();
    assert_eq!(
        (r.from_version, r.to_version, r.rewrapped),
        (KeyVersion(1), KeyVersion(2), 7)
    );
    assert_eq!(r.retired, vec![KeyVersion(1)]);
    assert!(r.kept.is_empty());
    assert_eq!(h.store.subject_key_versions(&t).await.unwrap(), only(2, 7));

    // The stale server reads re-wrapped keys and creates new ones under v2.
    assert_readable(&server, &t, &subjects).await;
    let newer = populate(&server, &t, "n", 3).await;
    assert_eq!(h.store.subject_key_versions(&t).await.unwrap(), only(2, 10));
    assert_readable(&h.store, &t, &newer).await;

    // And again: v3, v2 retired; a fresh process reads it all.
    let r = h.store.rotate_tenant_key(&t).await.unwrap();
    assert_eq!((r.to_version, r.rewrapped), (KeyVersion(3), 10));
    assert_eq!(r.retired, vec![KeyVersion(2)]);
    let fresh = reopen(h, config()).await;
    assert_readable(&fresh, &t, &subjects).await;
    assert_readable(&fresh, &t, &newer).await;

    // Erased subjects stay erased; the chain records the rotations.
    let gone = SubjectId::new(&subjects[0]);
    fresh.erase_subject(&t, &gone, &ops()).await.unwrap();
    let r = h.store.rotate_tenant_key(&t).await.unwrap();
    assert_eq!(r.rewrapped, 9);
    let err = fresh
        .vault_get(&vkey(&t, &subjects[0], 0), &ops())
        .await
        .unwrap_err();
    assert!(
        err.is_key_destroyed() || matches!(err, troth_store::StoreError::NotFound(_)),
        "{err}"
    );
    fresh.verify_audit(&t).await.unwrap();
    let entries = fresh.audit_entries(&t, 0, 10_000).await.unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "tenant.key_rotated")
            .count(),
        3
    );
}

async fn tenant_rotation_while_a_server_writes(h: &Harness) {
    let t = TenantId::new("tenant-c");
    h.store.create_tenant(&t, "Acme").await.unwrap();
    let before = populate(&h.store, &t, "s", 20).await;
    let server = reopen(h, config()).await;
    assert_readable(&server, &t, &before[..1]).await;
    let writer = {
        let server = server.clone();
        let t = t.clone();
        tokio::spawn(async move { populate(&server, &t, "w", 60).await })
    };
    let mut rotations = Vec::new();
    for _ in 0..3 {
        rotations.push(h.store.rotate_tenant_key(&t).await.unwrap());
    }
    let written = writer.await.unwrap();
    // A last rotation sweeps anything created under a version kept meanwhile.
    let last = h.store.rotate_tenant_key(&t).await.unwrap();
    assert!(last.kept.is_empty(), "{last:?}");
    let versions = h.store.subject_key_versions(&t).await.unwrap();
    assert_eq!(versions, only(last.to_version.0, 80), "{rotations:?}");
    for store in [&server, &reopen(h, config()).await] {
        assert_readable(store, &t, &before).await;
        assert_readable(store, &t, &written).await;
    }
}

suite!(
    master_rotation_rewraps_and_reads_back,
    tenant_rotation_rewraps_and_reads_back,
    tenant_rotation_while_a_server_writes,
);
