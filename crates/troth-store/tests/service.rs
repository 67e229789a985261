//! The service tables (API keys, idempotency records) on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // the shared harness has helpers this file does not use
mod support;

use jiff::Timestamp;
use support::Harness;
use troth_store::{
    ApiKeyRecord, IdempotencyStart, IdempotencyWindow, ServiceStore, Store, StoreError, SubjectId,
    TenantId,
};

fn key(t: &TenantId, id: &str, hash: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        tenant: t.clone(),
        key_id: id.into(),
        hash: hash.into(),
        role: "app".into(),
        label: "checkout backend".into(),
        subject: None,
        created: Timestamp::from_second(1_700_000_000).unwrap(),
        revoked: None,
    }
}

async fn api_keys_are_stored_found_and_revoked(h: &Harness) {
    let (a, b) = (TenantId::new("tenant-a"), TenantId::new("tenant-b"));
    h.store.create_tenant(&a, "A").await.unwrap();
    h.store.create_tenant(&b, "B").await.unwrap();
    h.store
        .create_api_key(&key(&a, "k1", "hash-1"), "admin:k0")
        .await
        .unwrap();
    let mut sub = key(&b, "k2", "hash-2");
    sub.role = "subject".into();
    sub.subject = Some(SubjectId::new("s-9"));
    h.store.create_api_key(&sub, "admin:k0").await.unwrap();
    // The same id twice is a conflict, not an overwrite.
    assert!(matches!(
        h.store
            .create_api_key(&key(&a, "k1", "hash-3"), "admin:k0")
            .await,
        Err(StoreError::Conflict(_))
    ));

    let found = h.store.api_key_by_hash("hash-2").await.unwrap().unwrap();
    assert_eq!(found, sub);
    assert!(h.store.api_key_by_hash("nope").await.unwrap().is_none());
    assert_eq!(h.store.api_keys(&a).await.unwrap().len(), 1);

    // Revoking another tenant's key id does nothing.
    assert!(!h.store.revoke_api_key(&b, "k1", "admin:x").await.unwrap());
    assert!(h.store.revoke_api_key(&a, "k1", "admin:k0").await.unwrap());
    assert!(!h.store.revoke_api_key(&a, "k1", "admin:k0").await.unwrap());
    let k1 = h.store.api_key_by_hash("hash-1").await.unwrap().unwrap();
    assert!(k1.revoked.is_some());

    // Both changes are in the audit chain, which still verifies.
    let entries = h.store.audit_entries(&a, 0, 100).await.unwrap();
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"apikey.created") && actions.contains(&"apikey.revoked"));
    h.store.verify_audit(&a).await.unwrap();
    let tenants = h.store.tenants().await.unwrap();
    assert_eq!(tenants.len(), 2);
}

async fn idempotency_replays_and_rejects_mismatch(h: &Harness) {
    let t = TenantId::new("tenant-a");
    h.store.create_tenant(&t, "A").await.unwrap();
    let w = IdempotencyWindow::default();
    let begin = |k: &'static str, hash: &'static str| {
        let t = t.clone();
        async move {
            h.store
                .idempotency_begin(&t, "key-1", k, hash, w)
                .await
                .unwrap()
        }
    };
    assert_eq!(begin("retry-1", "h1").await, IdempotencyStart::Started);
    assert_eq!(begin("retry-1", "h1").await, IdempotencyStart::InProgress);
    h.store
        .idempotency_finish(&t, "key-1", "retry-1", 201, "{\"seq\":1}")
        .await
        .unwrap();
    assert_eq!(
        begin("retry-1", "h1").await,
        IdempotencyStart::Replay {
            status: 201,
            body: "{\"seq\":1}".into()
        }
    );
    assert_eq!(begin("retry-1", "h2").await, IdempotencyStart::Mismatch);

    // An abandoned attempt lets the next one run.
    assert_eq!(begin("retry-2", "h1").await, IdempotencyStart::Started);
    h.store
        .idempotency_abandon(&t, "key-1", "retry-2")
        .await
        .unwrap();
    assert_eq!(begin("retry-2", "h1").await, IdempotencyStart::Started);

    // Keys are per scope (API key): another key's retry-1 is new.
    assert_eq!(
        h.store
            .idempotency_begin(&t, "key-2", "retry-1", "h1", w)
            .await
            .unwrap(),
        IdempotencyStart::Started
    );

    // Expired records are forgotten.
    let short = IdempotencyWindow {
        keep: jiff::SignedDuration::from_nanos(1),
        stale_pending: jiff::SignedDuration::from_nanos(1),
    };
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    assert_eq!(
        h.store
            .idempotency_begin(&t, "key-1", "retry-1", "h2", short)
            .await
            .unwrap(),
        IdempotencyStart::Started
    );
}

suite!(
    api_keys_are_stored_found_and_revoked,
    idempotency_replays_and_rejects_mismatch,
);
