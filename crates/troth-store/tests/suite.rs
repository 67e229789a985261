//! The store suite: every test runs on SQLite and on a real PostgreSQL server,
//! through the public API (plus raw SQL only where a test tampers with the disk).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use jiff::Timestamp;
use support::Harness;
use troth_crypto::{AuditEvent, ViolationKind};
use troth_store::{
    Access, Disclosure, IdentifierKind, NewConsentEvent, OutboxStore, PolicyVersionRecord, Store,
    StoreError, SubjectId, SubjectRecord, TenantId, VaultKey,
};

fn tenant() -> TenantId {
    TenantId::new("tenant-a")
}

fn ops() -> Access {
    Access::new("svc:test", "account")
}

async fn with_tenant(h: &Harness) -> TenantId {
    let t = tenant();
    h.store.create_tenant(&t, "Acme Ltd").await.unwrap();
    t
}

fn consent(t: &TenantId, subject: &str, purpose: &str, action: &str, n: u64) -> NewConsentEvent {
    NewConsentEvent {
        tenant: t.clone(),
        subject: SubjectId::new(subject),
        event_id: format!("ev-{subject}-{n}"),
        purpose: purpose.into(),
        action: action.into(),
        time: Timestamp::from_second(1_700_000_000 + n as i64).unwrap(),
        actor: "subject".into(),
        event: serde_json::json!({
            "kind": action, "purpose": purpose, "method": "banner",
            "signals": { "gpc": false }, "evidence": "ab12", "n": n,
        }),
    }
}

async fn some_consents(h: &Harness, t: &TenantId, n: u64) {
    for i in 0..n {
        h.store
            .append_consent(consent(t, &format!("s{}", i % 3), "marketing", "given", i))
            .await
            .unwrap();
    }
}

fn violation(r: Result<troth_crypto::VerifyReport, StoreError>) -> troth_crypto::AuditViolation {
    match r {
        Err(StoreError::AuditBroken(v)) => v,
        other => panic!("expected an audit violation, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------

async fn migrate_is_idempotent(h: &Harness) {
    h.store.migrate().await.unwrap();
    h.store.migrate().await.unwrap();
}

async fn tenants(h: &Harness) {
    let t = with_tenant(h).await;
    let got = h.store.tenant(&t).await.unwrap().unwrap();
    assert_eq!(got.name, "Acme Ltd");
    assert!(matches!(
        h.store.create_tenant(&t, "again").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        h.store
            .tenant(&TenantId::new("nope"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn policy_versions(h: &Harness) {
    let t = with_tenant(h).await;
    let mk = |hash: &str, label: &str, sec: i64, significant| PolicyVersionRecord {
        tenant: t.clone(),
        pack_id: "s004".into(),
        label: label.into(),
        content_hash: hash.into(),
        published: Timestamp::from_second(sec).unwrap(),
        effective: Timestamp::from_second(sec + 86_400).unwrap(),
        significant,
        source_toml: format!("[controller]\nname = \"Acme\"\n# {label}\n"),
    };
    let v1 = mk(&"a".repeat(64), "2024-01", 1_700_000_000, false);
    let v2 = mk(&"b".repeat(64), "2024-06", 1_710_000_000, true);
    h.store.publish_policy_version(&v2, "op:1").await.unwrap();
    h.store.publish_policy_version(&v1, "op:1").await.unwrap();
    assert_eq!(
        h.store.policy_versions(&t).await.unwrap(),
        vec![v1.clone(), v2]
    );
    assert!(matches!(
        h.store.publish_policy_version(&v1, "op:1").await,
        Err(StoreError::Conflict(_))
    ));
}

async fn subjects(h: &Harness) {
    let t = with_tenant(h).await;
    let mut s = SubjectRecord {
        tenant: t.clone(),
        subject: SubjectId::new("child-1"),
        age_band: Some("child".into()),
        guardian: Some(SubjectId::new("parent-1")),
        status: "active".into(),
        created: Timestamp::from_second(1_700_000_000).unwrap(),
    };
    h.store.upsert_subject(&s, "svc:test").await.unwrap();
    assert_eq!(
        h.store.subject(&t, &s.subject).await.unwrap(),
        Some(s.clone())
    );
    s.status = "cancelled".into();
    h.store.upsert_subject(&s, "svc:test").await.unwrap();
    assert_eq!(
        h.store
            .subject(&t, &s.subject)
            .await
            .unwrap()
            .unwrap()
            .status,
        "cancelled"
    );
}

/// Notices to everyone page through subjects in id order after a cursor, skip
/// erased ones, and say who has an email address.
async fn notice_subjects_pages(h: &Harness) {
    let t = with_tenant(h).await;
    for (id, status) in [
        ("e", "active"),
        ("a", "active"),
        ("c", "erased"),
        ("b", "cancelled"),
        ("d", "active"),
    ] {
        let s = SubjectRecord {
            tenant: t.clone(),
            subject: SubjectId::new(id),
            age_band: None,
            guardian: None,
            status: status.into(),
            created: Timestamp::from_second(1_700_000_000).unwrap(),
        };
        h.store.upsert_subject(&s, "svc:test").await.unwrap();
    }
    for (id, kind, value) in [
        ("b", IdentifierKind::Email, "b@example.com"),
        ("d", IdentifierKind::Phone, "13800138000"),
        ("e", IdentifierKind::Email, "e@example.com"),
    ] {
        h.store
            .put_identity(&t, &SubjectId::new(id), kind, value, "CN", &ops())
            .await
            .unwrap();
    }
    let mut pages = Vec::new();
    let mut after: Option<SubjectId> = None;
    loop {
        let page = h
            .store
            .notice_subjects(&t, after.as_ref(), 2)
            .await
            .unwrap();
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        pages.push(
            page.iter()
                .map(|(s, email)| (s.as_str().to_owned(), *email))
                .collect::<Vec<_>>(),
        );
    }
    let p = |v: &[(&str, bool)]| {
        v.iter()
            .map(|(s, e)| (s.to_string(), *e))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pages,
        vec![
            p(&[("a", false), ("b", true)]),
            p(&[("d", false), ("e", true)]),
        ]
    );
    // Another tenant's subjects never appear.
    let other = TenantId::new("tenant-b");
    h.store.create_tenant(&other, "Other").await.unwrap();
    assert!(
        h.store
            .notice_subjects(&other, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn identities_by_blind_index(h: &Harness) {
    let t = with_tenant(h).await;
    let alice = SubjectId::new("alice");
    h.store
        .put_identity(
            &t,
            &alice,
            IdentifierKind::Email,
            "Alice@Example.COM",
            "CN",
            &ops(),
        )
        .await
        .unwrap();
    h.store
        .put_identity(
            &t,
            &alice,
            IdentifierKind::Phone,
            "138 0013 8000",
            "CN",
            &ops(),
        )
        .await
        .unwrap();
    let found = h
        .store
        .find_subject(&t, IdentifierKind::Email, "alice@example.com", "CN")
        .await
        .unwrap();
    assert_eq!(found, Some(alice.clone()));
    let by_phone = h
        .store
        .find_subject(&t, IdentifierKind::Phone, "+8613800138000", "CN")
        .await
        .unwrap();
    assert_eq!(by_phone, Some(alice.clone()));
    assert_eq!(
        h.store
            .find_subject(&t, IdentifierKind::Email, "bob@example.com", "CN")
            .await
            .unwrap(),
        None
    );
    // Linking the same identity to someone else is a conflict.
    assert!(matches!(
        h.store
            .put_identity(
                &t,
                &SubjectId::new("mallory"),
                IdentifierKind::Email,
                "alice@example.com",
                "CN",
                &ops()
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let ids = h.store.identities(&t, &alice, &ops()).await.unwrap();
    let values: Vec<&str> = ids.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(values, vec!["Alice@Example.COM", "138 0013 8000"]);
}

async fn consent_round_trip(h: &Harness) {
    let t = with_tenant(h).await;
    let e1 = consent(&t, "s1", "marketing", "given", 1);
    let e2 = consent(&t, "s1", "marketing", "withdrawn", 2);
    let a1 = h.store.append_consent(e1.clone()).await.unwrap();
    let a2 = h.store.append_consent(e2.clone()).await.unwrap();
    assert_eq!((a1.seq, a2.seq), (1, 2));
    assert!(a2.audit_seq > a1.audit_seq);
    let got = h
        .store
        .consent_events(&t, &SubjectId::new("s1"))
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].event, e1);
    assert_eq!(got[1].event, e2);
    assert_eq!(got[1].audit_seq, a2.audit_seq);
    // The audit entry records the event without its payload.
    let entry = h
        .store
        .audit_entries(&t, a1.audit_seq - 1, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(entry.action, "consent.given");
    assert_eq!(entry.target, "subject:s1");
    assert!(
        h.store
            .consent_events(&t, &SubjectId::new("s2"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn consent_concurrent_writers(h: &Harness) {
    let t = with_tenant(h).await;
    let mut tasks = Vec::new();
    for w in 0..32u64 {
        let store = h.store.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            for i in 0..20u64 {
                let e = consent(&t, &format!("w{w}"), "analytics", "given", w * 100 + i);
                acks.push(store.append_consent(e).await.unwrap());
            }
            acks
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        let acks = task.await.unwrap();
        // Each writer's own events keep their order.
        assert!(acks.windows(2).all(|w| w[0].seq < w[1].seq));
        seqs.extend(acks.iter().map(|a| a.seq));
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=640).collect::<Vec<_>>());
    let report = h.store.verify_audit(&t).await.unwrap();
    assert_eq!(report.entries, 641); // + tenant.created
    assert_eq!(
        h.store
            .consent_events(&t, &SubjectId::new("w7"))
            .await
            .unwrap()
            .len(),
        20
    );
}

async fn consent_for_unknown_tenant_fails_alone(h: &Harness) {
    let t = with_tenant(h).await;
    let ghost = TenantId::new("ghost");
    let good = h.store.clone();
    let (a, b) = tokio::join!(
        good.append_consent(consent(&t, "s1", "marketing", "given", 1)),
        h.store
            .append_consent(consent(&ghost, "s1", "marketing", "given", 2)),
    );
    assert_eq!(a.unwrap().seq, 1);
    assert!(matches!(b, Err(StoreError::TenantNotFound(_))));
}

async fn vault_round_trip(h: &Harness) {
    let t = with_tenant(h).await;
    let k = VaultKey::new(t.clone(), "alice", "contact.email", "r1");
    let until = Timestamp::from_second(1_900_000_000).unwrap();
    h.store
        .vault_put(&k, b"alice@example.com", Some(until), &ops())
        .await
        .unwrap();
    assert_eq!(
        &h.store.vault_get(&k, &ops()).await.unwrap()[..],
        b"alice@example.com"
    );
    h.store
        .vault_put(&k, b"alice@new.example", None, &ops())
        .await
        .unwrap();
    assert_eq!(
        &h.store.vault_get(&k, &ops()).await.unwrap()[..],
        b"alice@new.example"
    );
    // Another tenant cannot see it even with the same subject/category/record ids.
    let other = TenantId::new("tenant-b");
    h.store.create_tenant(&other, "Other").await.unwrap();
    let k2 = VaultKey::new(other, "alice", "contact.email", "r1");
    assert!(matches!(
        h.store.vault_get(&k2, &ops()).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(h.store.vault_delete(&k, &ops()).await.unwrap());
    assert!(!h.store.vault_delete(&k, &ops()).await.unwrap());
    assert!(matches!(
        h.store.vault_get(&k, &ops()).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn vault_access_is_audited(h: &Harness) {
    let t = with_tenant(h).await;
    let k = VaultKey::new(t.clone(), "alice", "contact.phone", "r1");
    h.store
        .vault_put(
            &k,
            b"+8613800138000",
            None,
            &Access::new("svc:crm", "support"),
        )
        .await
        .unwrap();
    h.store
        .vault_get(&k, &Access::new("op:7", "complaint"))
        .await
        .unwrap();
    let entries = h.store.audit_entries(&t, 0, 100).await.unwrap();
    let read = entries.iter().find(|e| e.action == "vault.read").unwrap();
    assert_eq!(read.actor, "op:7");
    assert_eq!(read.target, "subject:alice");
    let detail: serde_json::Value = serde_json::from_str(&read.detail).unwrap();
    assert_eq!(detail["category"], "contact.phone");
    assert_eq!(detail["purpose"], "complaint");
    assert!(
        entries
            .iter()
            .any(|e| e.action == "vault.write" && e.actor == "svc:crm")
    );
    assert!(!entries.iter().any(|e| e.detail.contains("138")));
}

async fn erasure_shreds_subject(h: &Harness) {
    let t = with_tenant(h).await;
    let a = VaultKey::new(t.clone(), "alice", "contact.email", "r1");
    let b = VaultKey::new(t.clone(), "bob", "contact.email", "r1");
    h.store
        .vault_put(&a, b"alice@example.com", None, &ops())
        .await
        .unwrap();
    h.store
        .vault_put(&b, b"bob@example.com", None, &ops())
        .await
        .unwrap();
    h.store
        .put_identity(
            &t,
            &a.subject,
            IdentifierKind::Email,
            "alice@example.com",
            "CN",
            &ops(),
        )
        .await
        .unwrap();
    h.store
        .upsert_subject(
            &SubjectRecord {
                tenant: t.clone(),
                subject: a.subject.clone(),
                age_band: None,
                guardian: None,
                status: "active".into(),
                created: Timestamp::now(),
            },
            "svc:test",
        )
        .await
        .unwrap();
    let report = h.store.erase_subject(&t, &a.subject, &ops()).await.unwrap();
    assert!(report.key_destroyed);
    assert_eq!((report.records_deleted, report.identities_deleted), (1, 1));
    assert!(matches!(
        h.store.vault_get(&a, &ops()).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        h.store
            .find_subject(&t, IdentifierKind::Email, "alice@example.com", "CN")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        h.store
            .subject(&t, &a.subject)
            .await
            .unwrap()
            .unwrap()
            .status,
        "erased"
    );
    assert_eq!(
        &h.store.vault_get(&b, &ops()).await.unwrap()[..],
        b"bob@example.com"
    );
    // Erasing again is harmless.
    let again = h.store.erase_subject(&t, &a.subject, &ops()).await.unwrap();
    assert!(!again.key_destroyed);
    h.store.verify_audit(&t).await.unwrap();
}

async fn backup_taken_before_erasure_is_unreadable(h: &Harness) {
    let t = with_tenant(h).await;
    let a = VaultKey::new(t.clone(), "alice", "contact.email", "r1");
    let b = VaultKey::new(t.clone(), "bob", "contact.email", "r1");
    h.store
        .vault_put(&a, b"alice@example.com", None, &ops())
        .await
        .unwrap();
    h.store
        .vault_put(&b, b"bob@example.com", None, &ops())
        .await
        .unwrap();
    let backup = h.backup().await;
    h.store.erase_subject(&t, &a.subject, &ops()).await.unwrap();

    let restored = h.open_backup(&backup).await;
    // The backup still holds alice's ciphertext...
    let err = restored.vault_get(&a, &ops()).await.unwrap_err();
    // ...but her key is gone from the key store, so it is noise.
    assert!(
        err.is_key_destroyed(),
        "{} on {}: {err}",
        h.name(),
        "restored backup"
    );
    assert_eq!(
        &restored.vault_get(&b, &ops()).await.unwrap()[..],
        b"bob@example.com"
    );
}

async fn no_plaintext_pi_at_rest(h: &Harness) {
    let t = with_tenant(h).await;
    let pi: [(&str, IdentifierKind, &str); 4] = [
        (
            "zhang.wei.unique@example.cn",
            IdentifierKind::Email,
            "contact.email",
        ),
        ("+8613912345678", IdentifierKind::Phone, "contact.phone"),
        (
            "Zhang Wei Unique Name",
            IdentifierKind::ExternalId,
            "identity.name",
        ),
        (
            "margaret.hamilton.unique@example.org",
            IdentifierKind::Email,
            "contact.email2",
        ),
    ];
    for (i, (value, kind, category)) in pi.iter().enumerate() {
        let subject = SubjectId::new(format!("subj-{i}"));
        let k = VaultKey::new(t.clone(), subject.clone(), *category, format!("rec-{i}"));
        h.store
            .vault_put(&k, value.as_bytes(), None, &ops())
            .await
            .unwrap();
        h.store
            .put_identity(&t, &subject, *kind, value, "CN", &ops())
            .await
            .unwrap();
        assert_eq!(
            &h.store.vault_get(&k, &ops()).await.unwrap()[..],
            value.as_bytes()
        );
    }
    some_consents(h, &t, 5).await;
    let files = h.bytes_at_rest().await;
    assert!(!files.is_empty());
    let mut scanned = 0;
    for (name, bytes) in &files {
        scanned += bytes.len();
        for (value, _, _) in &pi {
            // Raw bytes, and hex as pg_dump prints bytea, and the phone's national digits.
            let needles = [
                value.as_bytes().to_vec(),
                hex(value.as_bytes()).into_bytes(),
                value.to_lowercase().into_bytes(),
                value.trim_start_matches('+').as_bytes().to_vec(),
            ];
            for n in needles {
                assert!(
                    !contains(bytes, &n),
                    "{}: plaintext PI found in {name}",
                    h.name()
                );
            }
        }
    }
    assert!(scanned > 1000, "scanned only {scanned} bytes");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn disclosures(h: &Harness) {
    let t = with_tenant(h).await;
    let d = Disclosure {
        tenant: t.clone(),
        subject: SubjectId::new("alice"),
        disclosure_id: "d1".into(),
        recipient: "payments-partner".into(),
        categories: vec!["contact.phone".into(), "order.address".into()],
        purpose: "delivery".into(),
        basis: "contract".into(),
        destination: Some("SG".into()),
        time: Timestamp::from_second(1_700_000_000).unwrap(),
    };
    h.store.record_disclosure(&d, "svc:orders").await.unwrap();
    assert_eq!(
        h.store.disclosures(&t, &d.subject).await.unwrap(),
        vec![d.clone()]
    );
    assert!(matches!(
        h.store.record_disclosure(&d, "svc:orders").await,
        Err(StoreError::Conflict(_))
    ));
}

async fn core_ledger_events_round_trip(h: &Harness) {
    use troth_core::{
        AccountStatus, AgeInfo, ConsentFact, EventId, Fact, LedgerEvent, Method, PolicyHash,
        Signals,
    };
    let ct = troth_core::TenantId::from_u128(0x0190_f5c4_7e1a_7c3b_9d2e_5a4b_3c2d_1e0f);
    let cs = troth_core::SubjectId::from_u128(42);
    let t = troth_store::ledger::tenant_id(&ct);
    h.store.create_tenant(&t, "Core Co").await.unwrap();
    let version = PolicyHash::from_bytes([3u8; 32]);
    let purpose = troth_policy::ids::PurposeId::new("marketing").unwrap();
    let born = jiff::civil::date(2015, 6, 1);
    let facts = vec![
        Fact::Consent(
            ConsentFact::given(purpose.clone(), version)
                .with_method(Method::Banner)
                .with_signals(Signals {
                    gpc: true,
                    dnt: false,
                })
                .with_evidence(PolicyHash::from_bytes([5u8; 32])),
        ),
        Fact::Age(AgeInfo::BirthDate(born)),
        Fact::GuardianLink {
            guardian: Some(troth_core::SubjectId::from_u128(7)),
        },
        Fact::Consent(ConsentFact::withdrawn(purpose, version)),
        Fact::Account(AccountStatus::Active),
    ];
    let events: Vec<LedgerEvent> = facts
        .into_iter()
        .enumerate()
        .map(|(i, fact)| LedgerEvent {
            id: EventId::from_parts(1_700_000_000_000 + i as u64, i as u128),
            tenant: ct,
            subject: cs,
            at: Timestamp::from_second(1_700_000_000 + i as i64).unwrap(),
            fact,
        })
        .collect();
    for e in &events {
        h.store.append_ledger_event(e).await.unwrap();
    }
    assert_eq!(h.store.ledger_events(&ct, &cs).await.unwrap(), events);
    // Indexed columns, and the birth date sealed rather than stored in clear.
    let rows = h
        .store
        .consent_events(&t, &troth_store::ledger::subject_id(&cs))
        .await
        .unwrap();
    assert_eq!(rows[0].event.purpose, "marketing");
    assert_eq!(rows[0].event.action, "given");
    assert_eq!(rows[3].event.action, "withdrawn");
    assert_eq!(rows[1].event.action, "age");
    assert!(rows[1].event.event.get("sealed").is_some());
    assert!(!rows[1].event.event.to_string().contains("2015"));
    // Erasure shreds the sealed fact; the pseudonymous consent record remains.
    h.store
        .erase_subject(&t, &troth_store::ledger::subject_id(&cs), &ops())
        .await
        .unwrap();
    let after = h.store.ledger_events(&ct, &cs).await.unwrap();
    assert_eq!(after.len(), 4);
    assert!(!after.iter().any(|e| matches!(e.fact, Fact::Age(_))));
}

// --- audit ------------------------------------------------------------------

async fn audit_intact_chain_verifies(h: &Harness) {
    let t = with_tenant(h).await;
    some_consents(h, &t, 20).await;
    let seqs = h
        .store
        .append_audit(
            &t,
            vec![AuditEvent {
                time: Timestamp::now(),
                actor: "op:1".into(),
                action: "request.completed".into(),
                target: "request:9".into(),
                detail: "{}".into(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(seqs, vec![22]);
    let r = h.store.verify_audit(&t).await.unwrap();
    assert_eq!((r.entries, r.last_seq), (22, 22));
    // Periodic checkpoints at 8 and 16, plus the tip.
    assert_eq!(r.checkpoints_verified, 3);
    assert_eq!(r.last_checkpoint_seq, Some(22));
}

async fn audit_tamper_edit_byte(h: &Harness) {
    let t = with_tenant(h).await;
    some_consents(h, &t, 12).await;
    let mut e = h.store.audit_entries(&t, 4, 1).await.unwrap().remove(0);
    assert_eq!(e.seq, 5);
    let mut bytes = e.detail.into_bytes();
    bytes[2] ^= 0x01; // one byte, one bit
    e.detail = String::from_utf8(bytes).unwrap();
    h.raw_write_audit_row(&t, 5, &e).await;
    let v = violation(h.store.verify_audit(&t).await);
    assert_eq!((v.seq, v.kind), (5, ViolationKind::HashMismatch));
}

async fn audit_tamper_delete_row(h: &Harness) {
    let t = with_tenant(h).await;
    some_consents(h, &t, 12).await;
    let n = h
        .raw_exec("DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 4", &t)
        .await;
    assert_eq!(n, 1);
    let v = violation(h.store.verify_audit(&t).await);
    assert_eq!(
        (v.seq, v.kind),
        (5, ViolationKind::SequenceGap { expected: 4 })
    );
}

async fn audit_tamper_swap_rows(h: &Harness) {
    let t = with_tenant(h).await;
    some_consents(h, &t, 12).await;
    let rows = h.store.audit_entries(&t, 2, 2).await.unwrap();
    let (e3, e4) = (&rows[0], &rows[1]);
    assert_eq!((e3.seq, e4.seq), (3, 4));
    h.raw_write_audit_row(&t, 3, e4).await;
    h.raw_write_audit_row(&t, 4, e3).await;
    let v = violation(h.store.verify_audit(&t).await);
    assert_eq!((v.seq, v.kind), (3, ViolationKind::BrokenLink));
}

async fn audit_tamper_truncate_tail(h: &Harness) {
    let t = with_tenant(h).await;
    some_consents(h, &t, 12).await; // entries 1..=13, checkpoint at 8, tip at 13
    let n = h
        .raw_exec(
            "DELETE FROM audit_log WHERE tenant_id = $1 AND seq > 10",
            &t,
        )
        .await;
    assert_eq!(n, 3);
    let v = violation(h.store.verify_audit(&t).await);
    assert_eq!(
        (v.seq, v.kind),
        (13, ViolationKind::TruncatedTail { last_seq: 10 })
    );
}

async fn audit_verify_pages_long_chains(h: &Harness) {
    let t = with_tenant(h).await;
    // 551 entries in pages of 100: the verifier's four readers each get pages,
    // the first of them twice.
    let events: Vec<AuditEvent> = (0..550)
        .map(|i| AuditEvent {
            time: Timestamp::from_second(1_700_000_000 + i).unwrap(),
            actor: "svc:bulk".into(),
            action: "retention.swept".into(),
            target: format!("record:{i}"),
            detail: "{}".into(),
        })
        .collect();
    h.store.append_audit(&t, events).await.unwrap();
    let r = h.store.verify_audit(&t).await.unwrap();
    assert_eq!(r.entries, 551);
    // An edited entry in a later reader's page is named exactly.
    h.raw_exec(
        "UPDATE audit_log SET target = 'record:x' WHERE tenant_id = $1 AND seq = 430",
        &t,
    )
    .await;
    let v = violation(h.store.verify_audit(&t).await);
    assert_eq!(v.seq, 430);
    // A row deleted on the far side of a page boundary is caught before it.
    h.raw_exec(
        "DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 120",
        &t,
    )
    .await;
    let v = violation(h.store.verify_audit(&t).await);
    assert_eq!(
        (v.seq, v.kind),
        (121, ViolationKind::SequenceGap { expected: 120 })
    );
}

suite!(
    migrate_is_idempotent,
    tenants,
    policy_versions,
    subjects,
    notice_subjects_pages,
    identities_by_blind_index,
    consent_round_trip,
    consent_concurrent_writers,
    consent_for_unknown_tenant_fails_alone,
    vault_round_trip,
    vault_access_is_audited,
    erasure_shreds_subject,
    backup_taken_before_erasure_is_unreadable,
    no_plaintext_pi_at_rest,
    disclosures,
    core_ledger_events_round_trip,
    audit_intact_chain_verifies,
    audit_tamper_edit_byte,
    audit_tamper_delete_row,
    audit_tamper_swap_rows,
    audit_tamper_truncate_tail,
    audit_verify_pages_long_chains,
);
