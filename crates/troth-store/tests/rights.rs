//! Rights requests and verification codes on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // the shared harness has helpers this file does not use
mod support;

use jiff::Timestamp;
use support::Harness;
use troth_store::{
    CodeCheck, RequestFilter, RequestRecord, RequestUpdate, RightsStore, Store, StoreError,
    SubjectId, TenantId,
};

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

async fn requests_append_and_list(h: &Harness) {
    let t = TenantId::new("tenant-a");
    h.store.create_tenant(&t, "A").await.unwrap();
    let rec = |id: &str, due: Option<Timestamp>| RequestRecord {
        tenant: t.clone(),
        request_id: id.into(),
        subject: SubjectId::new("s-1"),
        kind: "access".into(),
        details_json: "{}".into(),
        status: "received".into(),
        due,
        received: at(0),
        updated: at(0),
        events: vec!["{\"to\":\"received\"}".into()],
    };
    h.store
        .create_request(&rec("r1", Some(at(100))), "key:a")
        .await
        .unwrap();
    h.store
        .create_request(&rec("r2", Some(at(10_000))), "key:a")
        .await
        .unwrap();
    assert!(matches!(
        h.store.create_request(&rec("r1", None), "key:a").await,
        Err(StoreError::Conflict(_))
    ));
    let update = |expected: u64, status: &str| RequestUpdate {
        expected_events: expected,
        status: status.into(),
        due: Some(at(100)),
        at: at(5),
        event_json: format!("{{\"to\":\"{status}\"}}"),
    };
    h.store
        .append_request_event(&t, "r1", &update(1, "in_progress"), "key:a")
        .await
        .unwrap();
    // A writer that read the request before that append loses.
    assert!(matches!(
        h.store
            .append_request_event(&t, "r1", &update(1, "refused"), "key:a")
            .await,
        Err(StoreError::Conflict(_))
    ));
    let r1 = h.store.request(&t, "r1").await.unwrap().unwrap();
    assert_eq!(r1.events.len(), 2);
    assert_eq!(r1.status, "in_progress");
    let overdue = h
        .store
        .requests(&t, &RequestFilter::OverdueAt(at(200)), 10)
        .await
        .unwrap();
    assert_eq!(
        overdue
            .iter()
            .map(|r| r.request_id.as_str())
            .collect::<Vec<_>>(),
        ["r1"]
    );
    h.store
        .append_request_event(&t, "r1", &update(2, "completed"), "key:a")
        .await
        .unwrap();
    let open = h
        .store
        .requests(&t, &RequestFilter::Open, 10)
        .await
        .unwrap();
    assert_eq!(
        open.iter()
            .map(|r| r.request_id.as_str())
            .collect::<Vec<_>>(),
        ["r2"]
    );
    assert_eq!(
        h.store
            .requests(&t, &RequestFilter::All, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    // Other tenants see nothing.
    let b = TenantId::new("tenant-b");
    h.store.create_tenant(&b, "B").await.unwrap();
    assert!(h.store.request(&b, "r1").await.unwrap().is_none());
    // Every step is in the audit chain.
    let actions: Vec<String> = h
        .store
        .audit_entries(&t, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"request.received".to_owned())
            && actions.contains(&"request.completed".to_owned())
    );
    h.store.verify_audit(&t).await.unwrap();
}

async fn verification_codes(h: &Harness) {
    let t = TenantId::new("tenant-a");
    h.store.create_tenant(&t, "A").await.unwrap();
    let later = Timestamp::now() + jiff::SignedDuration::from_mins(10);
    assert_eq!(
        h.store
            .check_verification_code(&t, "r1", b"x", 3)
            .await
            .unwrap(),
        CodeCheck::Missing
    );
    h.store
        .put_verification_code(&t, "r1", b"right", later)
        .await
        .unwrap();
    assert_eq!(
        h.store
            .check_verification_code(&t, "r1", b"wrong", 3)
            .await
            .unwrap(),
        CodeCheck::Wrong { attempts_left: 2 }
    );
    assert_eq!(
        h.store
            .check_verification_code(&t, "r1", b"right", 3)
            .await
            .unwrap(),
        CodeCheck::Valid
    );
    assert_eq!(
        h.store
            .check_verification_code(&t, "r1", b"right", 3)
            .await
            .unwrap(),
        CodeCheck::Missing,
        "used up"
    );
    // Locked after too many wrong attempts, even for the right code.
    h.store
        .put_verification_code(&t, "r2", b"right", later)
        .await
        .unwrap();
    for _ in 0..2 {
        h.store
            .check_verification_code(&t, "r2", b"wrong", 3)
            .await
            .unwrap();
    }
    assert_eq!(
        h.store
            .check_verification_code(&t, "r2", b"wrong", 3)
            .await
            .unwrap(),
        CodeCheck::Locked
    );
    assert_eq!(
        h.store
            .check_verification_code(&t, "r2", b"right", 3)
            .await
            .unwrap(),
        CodeCheck::Locked
    );
    // Expired codes do not verify.
    h.store
        .put_verification_code(
            &t,
            "r3",
            b"right",
            Timestamp::now() - jiff::SignedDuration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(
        h.store
            .check_verification_code(&t, "r3", b"right", 3)
            .await
            .unwrap(),
        CodeCheck::Expired
    );
}

suite!(requests_append_and_list, verification_codes);
