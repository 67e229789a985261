//! Developer certifications on SQLite and PostgreSQL: values and state change in one
//! audited transaction, a stale change writes nothing, no value reaches the row or
//! the audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // the shared harness has helpers this file does not use
mod support;

use jiff::Timestamp;
use support::Harness;
use troth_core::{Certification, CertificationKind, CertificationState, CertifiedBy, ReasonCode};
use troth_store::{
    Access, CertificationChange, CertificationRecord, CertificationStore, CertificationValue,
    Store, SubjectId, TenantId, VaultKey,
};

const NUMBER: &str = "11010519491231002X";

fn value(category: &str, text: &str) -> CertificationValue {
    CertificationValue {
        category: category.into(),
        record: "c-1".into(),
        plaintext: troth_crypto::Zeroizing::new(text.as_bytes().to_vec()),
        expires: None,
    }
}

fn change<'a>(
    record: &'a CertificationRecord,
    expected: Option<CertificationState>,
    values: &'a [CertificationValue],
    access: &'a Access,
    action: &'a str,
) -> CertificationChange<'a> {
    CertificationChange {
        record,
        expected,
        values,
        remove: &[],
        access,
        action,
    }
}

async fn read(h: &Harness, key: &VaultKey, access: &Access) -> String {
    let v = h.store.vault_get(key, access).await.unwrap();
    String::from_utf8(v.to_vec()).unwrap()
}

async fn audit_len(h: &Harness, t: &TenantId) -> usize {
    h.store.audit_entries(t, 0, 1000).await.unwrap().len()
}

async fn a_change_is_one_transaction_and_stale_ones_write_nothing(h: &Harness) {
    let t = TenantId::new("tenant-a");
    h.store.create_tenant(&t, "A").await.unwrap();
    let at = Timestamp::from_second(1_700_000_000).unwrap();
    let mut rec = CertificationRecord {
        tenant: t.clone(),
        subject: SubjectId::new("dev-1"),
        certification_id: "c-1".into(),
        purpose: "developer-certification".into(),
        workflow: Certification::submitted(CertificationKind::Person),
        decided_by: None,
        submitted: at,
        updated: at,
    };
    let access = Access::new("key:app", "developer-certification");
    let values = [value("legal-name", "Li Lei"), value("id-number", NUMBER)];
    assert!(
        h.store
            .save_certification(change(
                &rec,
                None,
                &values,
                &access,
                "certification.submitted"
            ))
            .await
            .unwrap()
    );
    // The same certification cannot be created twice.
    let before = audit_len(h, &t).await;
    assert!(
        !h.store
            .save_certification(change(
                &rec,
                None,
                &values,
                &access,
                "certification.submitted"
            ))
            .await
            .unwrap()
    );
    assert_eq!(audit_len(h, &t).await, before);
    let key = VaultKey::new(t.clone(), SubjectId::new("dev-1"), "id-number", "c-1");
    assert_eq!(read(h, &key, &access).await, NUMBER);

    // A change made from a stale read (the row is not `checking`) writes nothing:
    // neither the state, nor the values, nor an audit entry.
    rec.workflow.state = CertificationState::Certified;
    rec.workflow.certified_by = Some(CertifiedBy::Check);
    let before = audit_len(h, &t).await;
    let other = [value("id-number", "110105194912310011")];
    assert!(
        !h.store
            .save_certification(change(
                &rec,
                Some(CertificationState::Checking),
                &other,
                &access,
                "certification.certified"
            ))
            .await
            .unwrap()
    );
    assert_eq!(audit_len(h, &t).await, before);
    assert_eq!(read(h, &key, &access).await, NUMBER);
    let stored = h
        .store
        .certifications(&t, &SubjectId::new("dev-1"))
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].workflow.state, CertificationState::Submitted);

    // From the state it is in, it moves.
    rec.workflow = Certification {
        state: CertificationState::ManualReview,
        reason: Some(ReasonCode::parse("check_failed").unwrap()),
        ..Certification::submitted(CertificationKind::Person)
    };
    rec.decided_by = Some("check:id".into());
    assert!(
        h.store
            .save_certification(change(
                &rec,
                Some(CertificationState::Submitted),
                &[],
                &access,
                "certification.manual_review"
            ))
            .await
            .unwrap()
    );
    let stored = h
        .store
        .certifications(&t, &SubjectId::new("dev-1"))
        .await
        .unwrap();
    assert_eq!(stored, [rec]);

    // The audit log names categories, states and codes, never a value.
    let log = h.store.audit_entries(&t, 0, 1000).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"certification.submitted"));
    assert!(actions.contains(&"certification.manual_review"));
    assert_eq!(actions.iter().filter(|a| **a == "vault.write").count(), 2);
    for e in &log {
        assert!(!e.detail.contains(NUMBER) && !e.detail.contains("Li Lei"));
    }
}

suite!(a_change_is_one_transaction_and_stale_ones_write_nothing);
