//! Retention sweeps, legal holds, leases and report documents on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // the shared harness has helpers this file does not use
mod support;

use jiff::Timestamp;
use support::Harness;
use troth_store::{
    Access, HoldFilter, NewHold, NewReportDocument, RecordRetention, RetentionStore, Store,
    StoreError, SubjectId, TenantId, VaultKey,
};

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

/// Writes `n` records of `subject`/`category`, expiring at `expires`.
async fn put(
    h: &Harness,
    t: &TenantId,
    subject: &str,
    category: &str,
    n: usize,
    expires: Option<Timestamp>,
    action: &str,
) {
    for i in 0..n {
        let key = VaultKey::new(
            t.clone(),
            SubjectId::new(subject),
            category,
            format!("r{i}"),
        );
        h.store
            .vault_put(
                &key,
                b"value",
                expires,
                &Access::new("key:app", "analytics"),
            )
            .await
            .unwrap();
        h.store
            .set_record_retention(
                &key,
                &RecordRetention {
                    purpose: "analytics".into(),
                    expires,
                    on_expiry: action.into(),
                    waits_for: None,
                },
            )
            .await
            .unwrap();
    }
}

async fn actions(h: &Harness, t: &TenantId) -> Vec<(String, String)> {
    h.store
        .audit_entries(t, 1, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.detail))
        .collect()
}

async fn sweep_all(h: &Harness, t: &TenantId, now: Timestamp, limit: u32) -> (u64, u64) {
    let run = h
        .store
        .begin_sweep(t, "worker-a", now, at(10_000))
        .await
        .unwrap()
        .unwrap();
    loop {
        let b = h
            .store
            .sweep_batch(&run, now, limit, at(10_000), "retention")
            .await
            .unwrap();
        if b.removed() == 0 {
            break;
        }
    }
    let s = h.store.finish_sweep(&run, now, "retention").await.unwrap();
    (s.deleted, s.anonymized)
}

async fn sweep_removes_due_records_in_audited_batches(h: &Harness) {
    let t = TenantId::new("tenant-a");
    h.store.create_tenant(&t, "A").await.unwrap();
    put(h, &t, "s-1", "email", 5, Some(at(10)), "delete").await;
    put(h, &t, "s-2", "device-id", 3, Some(at(10)), "anonymize").await;
    put(h, &t, "s-3", "email", 2, Some(at(1_000)), "delete").await;
    put(h, &t, "s-4", "email", 2, None, "delete").await;

    // A dry run lists what would go and changes nothing.
    let preview = h.store.sweep_preview(&t, at(100), 3).await.unwrap();
    assert_eq!(preview.due_total, 8);
    assert_eq!(preview.due.len(), 3);
    let preview_again = h.store.sweep_preview(&t, at(100), 100).await.unwrap();
    assert_eq!(preview_again.due.len(), 8);

    let (deleted, anonymized) = sweep_all(h, &t, at(100), 3).await;
    assert_eq!((deleted, anonymized), (5, 3));
    assert_eq!(
        h.store
            .sweep_preview(&t, at(100), 100)
            .await
            .unwrap()
            .due_total,
        0
    );
    // Not yet due and never due are kept.
    assert_eq!(h.store.category_counts(&t).await.unwrap()[0].records, 4);
    let tally = h.store.anonymous_tally(&t).await.unwrap();
    assert_eq!(tally.len(), 1);
    assert_eq!(
        (tally[0].category.as_str(), tally[0].count),
        ("device-id", 3)
    );
    let log = actions(h, &t).await;
    let swept: Vec<_> = log.iter().filter(|(a, _)| a == "retention.swept").collect();
    assert_eq!(swept.len(), 3, "8 records in batches of 3");
    assert!(
        swept.iter().any(|(_, d)| d.contains("s-2")),
        "subjects named"
    );
    assert!(log.iter().any(|(a, _)| a == "retention.sweep_finished"));
    h.store.verify_audit(&t).await.unwrap();
}

async fn holds_keep_records_until_lifted(h: &Harness) {
    let t = TenantId::new("tenant-h");
    h.store.create_tenant(&t, "H").await.unwrap();
    put(h, &t, "s-1", "email", 2, Some(at(10)), "delete").await;
    put(h, &t, "s-2", "email", 1, Some(at(10)), "delete").await;
    put(h, &t, "s-2", "phone", 1, Some(at(10)), "delete").await;
    let hold = |id: &str, subject: Option<&str>, category: Option<&str>| NewHold {
        tenant: t.clone(),
        hold_id: id.into(),
        subject: subject.map(SubjectId::new),
        category: category.map(str::to_owned),
        reason: "legal-requirement".into(),
        note: None,
        placed: at(20),
    };
    h.store
        .place_hold(&hold("h-subject", Some("s-1"), None), "key:admin")
        .await
        .unwrap();
    h.store
        .place_hold(&hold("h-phone", None, Some("phone")), "key:admin")
        .await
        .unwrap();
    let covering = h
        .store
        .holds_covering(&t, &SubjectId::new("s-2"))
        .await
        .unwrap();
    assert_eq!(covering.len(), 1);
    assert_eq!(covering[0].hold_id, "h-phone");

    let run = h
        .store
        .begin_sweep(&t, "w", at(100), at(200))
        .await
        .unwrap()
        .unwrap();
    while h
        .store
        .sweep_batch(&run, at(100), 10, at(200), "retention")
        .await
        .unwrap()
        .removed()
        > 0
    {}
    let summary = h
        .store
        .finish_sweep(&run, at(100), "retention")
        .await
        .unwrap();
    assert_eq!(summary.deleted, 1, "only s-2's email");
    let held: Vec<_> = summary
        .held
        .iter()
        .map(|c| (c.hold_id.as_str(), c.records))
        .collect();
    assert_eq!(held, vec![("h-phone", 1), ("h-subject", 2)]);

    let lifted = h
        .store
        .lift_hold(&t, "h-subject", at(150), "key:admin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lifted.lifted, Some(at(150)));
    assert!(
        h.store
            .lift_hold(&t, "h-subject", at(150), "key:admin")
            .await
            .unwrap()
            .is_none(),
        "a lifted hold is not active"
    );
    let active = h
        .store
        .holds(
            &t,
            &HoldFilter {
                active_only: true,
                subject: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
    let (deleted, _) = sweep_all(h, &t, at(300), 10).await;
    assert_eq!(deleted, 2, "the next sweep takes what the lifted hold kept");
    let log = actions(h, &t).await;
    assert!(log.iter().any(|(a, _)| a == "hold.placed"));
    assert!(log.iter().any(|(a, _)| a == "hold.lifted"));
}

async fn a_lease_keeps_other_replicas_out_and_a_dead_one_is_taken_over(h: &Harness) {
    let t = TenantId::new("tenant-l");
    h.store.create_tenant(&t, "L").await.unwrap();
    put(h, &t, "s-1", "email", 6, Some(at(10)), "delete").await;
    let a = h
        .store
        .begin_sweep(&t, "replica-a", at(100), at(160))
        .await
        .unwrap()
        .unwrap();
    assert!(
        h.store
            .begin_sweep(&t, "replica-b", at(110), at(170))
            .await
            .unwrap()
            .is_none(),
        "a live lease keeps replica b out"
    );
    let b1 = h
        .store
        .sweep_batch(&a, at(100), 2, at(160), "retention")
        .await
        .unwrap();
    assert_eq!(b1.removed(), 2);
    // Replica a dies here. After its lease ran out, b resumes the same run.
    let b = h
        .store
        .begin_sweep(&t, "replica-b", at(200), at(260))
        .await
        .unwrap()
        .unwrap();
    assert!(b.resumed);
    assert_eq!(b.run_id, a.run_id);
    assert_eq!((b.deleted, b.batches), (2, 1));
    // a wakes up and finds its lease gone.
    assert!(matches!(
        h.store
            .sweep_batch(&a, at(201), 2, at(260), "retention")
            .await,
        Err(StoreError::Conflict(_))
    ));
    while h
        .store
        .sweep_batch(&b, at(200), 2, at(260), "retention")
        .await
        .unwrap()
        .removed()
        > 0
    {}
    let s = h
        .store
        .finish_sweep(&b, at(200), "retention")
        .await
        .unwrap();
    assert_eq!(s.deleted, 6, "nothing lost, nothing twice");
    assert_eq!(s.batches, 3);
    assert!(h.store.category_counts(&t).await.unwrap().is_empty());
    // The lease is released: anyone may start the next run.
    let next = h
        .store
        .begin_sweep(&t, "replica-c", at(201), at(260))
        .await
        .unwrap()
        .unwrap();
    assert!(!next.resumed);
}

async fn report_documents_are_numbered_and_purged_after_keep_until(h: &Harness) {
    let t = TenantId::new("tenant-r");
    h.store.create_tenant(&t, "R").await.unwrap();
    let doc = |id: &str, kind: &str, keep: i64| NewReportDocument {
        tenant: t.clone(),
        report_id: id.into(),
        kind: kind.into(),
        created: at(0),
        keep_until: at(keep),
        policy_hash: "abc".into(),
        body_json: "{}".into(),
        html_en: "<p>en</p>".into(),
        html_zh: "<p>zh</p>".into(),
    };
    let a = h
        .store
        .put_report_document(&doc("a", "pia", 50), "key:admin")
        .await
        .unwrap();
    let b = h
        .store
        .put_report_document(&doc("b", "pia", 500), "key:admin")
        .await
        .unwrap();
    let c = h
        .store
        .put_report_document(&doc("c", "ropa", 500), "key:admin")
        .await
        .unwrap();
    assert_eq!((a.version, b.version, c.version), (1, 2, 1));
    let pias = h.store.report_documents(&t, Some("pia")).await.unwrap();
    assert_eq!(pias.len(), 2);
    assert!(pias[0].html_en.is_empty(), "lists carry no bodies");
    let full = h.store.report_document(&t, "b").await.unwrap().unwrap();
    assert_eq!(full.html_zh, "<p>zh</p>");
    assert_eq!(
        h.store
            .purge_report_documents(&t, at(100), "retention")
            .await
            .unwrap(),
        1
    );
    assert!(h.store.report_document(&t, "a").await.unwrap().is_none());
    assert_eq!(h.store.report_documents(&t, None).await.unwrap().len(), 2);
}

async fn child_records_are_made_due_under_the_lease_once(h: &Harness) {
    let t = TenantId::new("tenant-c");
    h.store.create_tenant(&t, "C").await.unwrap();
    // A child's records: two live (one waiting for an event), one already due; and
    // another subject's record that nothing names.
    put(h, &t, "kid", "email", 1, None, "anonymize").await;
    put(h, &t, "kid", "phone", 1, Some(at(5_000)), "anonymize").await;
    put(h, &t, "kid", "device-id", 1, Some(at(10)), "delete").await;
    put(h, &t, "other", "email", 1, None, "delete").await;
    let kid = SubjectId::new("kid");
    let live = h
        .store
        .live_records(&t, std::slice::from_ref(&kid), at(100))
        .await
        .unwrap();
    let cats: Vec<&str> = live.iter().map(|r| r.category.as_str()).collect();
    assert_eq!(
        cats,
        ["email", "phone"],
        "records already due are not listed"
    );
    let marked: Vec<_> = live
        .into_iter()
        .map(|r| (r, "guardian_consent_absent".to_owned()))
        .collect();
    let a = h
        .store
        .begin_sweep(&t, "replica-a", at(100), at(160))
        .await
        .unwrap()
        .unwrap();
    // Replica b holds no lease: it may not mark anything.
    let b = troth_store::SweepRun {
        owner: "replica-b".into(),
        ..a.clone()
    };
    assert!(matches!(
        h.store
            .expire_child_records(&b, at(100), &marked, at(160), "retention")
            .await,
        Err(StoreError::Conflict(_))
    ));
    let n = h
        .store
        .expire_child_records(&a, at(100), &marked, at(160), "retention")
        .await
        .unwrap();
    assert_eq!(n, 2);
    // A second pass (another replica's, or a retry) changes and audits nothing.
    let again = h
        .store
        .expire_child_records(&a, at(100), &marked, at(160), "retention")
        .await
        .unwrap();
    assert_eq!(again, 0);
    let log = actions(h, &t).await;
    let due: Vec<_> = log
        .iter()
        .filter(|(a, _)| a == "retention.child_data_due")
        .collect();
    assert_eq!(due.len(), 1, "{log:?}");
    let detail: serde_json::Value = serde_json::from_str(&due[0].1).unwrap();
    assert_eq!(
        detail,
        serde_json::json!({ "records": 2, "reasons": { "guardian_consent_absent": 2 },
            "subjects": ["kid"] })
    );
    // The run deletes them (not anonymized: a child's data is deleted), and only them.
    loop {
        let b = h
            .store
            .sweep_batch(&a, at(100), 10, at(160), "retention")
            .await
            .unwrap();
        assert_eq!(b.anonymized, 0);
        if b.removed() == 0 {
            break;
        }
    }
    let s = h
        .store
        .finish_sweep(&a, at(100), "retention")
        .await
        .unwrap();
    assert_eq!(s.deleted, 3);
    let left = h.store.category_counts(&t).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].category, "email");
    assert_eq!(left[0].records, 1, "the other subject's record stays");
}

async fn batches_carry_on_past_kept_records_and_a_resumed_run_misses_nothing(h: &Harness) {
    let t = TenantId::new("tenant-k");
    h.store.create_tenant(&t, "K").await.unwrap();
    // Due, not yet due and held records interleaved in key order and in expiry order.
    for (i, subject) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        let soon = at(10 + i64::try_from(i).unwrap());
        put(h, &t, subject, "email", 2, Some(soon), "delete").await;
        put(h, &t, subject, "phone", 1, Some(at(9_000)), "delete").await;
        put(
            h,
            &t,
            subject,
            "zip",
            1,
            Some(at(20 - i64::try_from(i).unwrap())),
            "anonymize",
        )
        .await;
    }
    h.store
        .place_hold(
            &NewHold {
                tenant: t.clone(),
                hold_id: "h-c".into(),
                subject: Some(SubjectId::new("c")),
                category: None,
                reason: "litigation".into(),
                note: None,
                placed: at(1),
            },
            "key:admin",
        )
        .await
        .unwrap();
    let a = h
        .store
        .begin_sweep(&t, "replica-a", at(100), at(160))
        .await
        .unwrap()
        .unwrap();
    let mut removed = 0;
    for _ in 0..2 {
        removed += h
            .store
            .sweep_batch(&a, at(100), 2, at(160), "retention")
            .await
            .unwrap()
            .removed();
    }
    assert_eq!(removed, 4);
    // Replica a dies; b takes the run over after the lease and finishes it.
    let b = h
        .store
        .begin_sweep(&t, "replica-b", at(200), at(260))
        .await
        .unwrap()
        .unwrap();
    assert!(b.resumed);
    while h
        .store
        .sweep_batch(&b, at(100), 2, at(260), "retention")
        .await
        .unwrap()
        .removed()
        > 0
    {}
    let s = h
        .store
        .finish_sweep(&b, at(100), "retention")
        .await
        .unwrap();
    // Every due record of a, b, d and e went once; c's are held; no phone was due.
    assert_eq!((s.deleted, s.anonymized), (8, 4), "{s:?}");
    let mut left: Vec<(String, u64)> = h
        .store
        .category_counts(&t)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.category, c.records))
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            ("email".to_owned(), 2),
            ("phone".to_owned(), 5),
            ("zip".to_owned(), 1)
        ]
    );
}

suite!(
    sweep_removes_due_records_in_audited_batches,
    batches_carry_on_past_kept_records_and_a_resumed_run_misses_nothing,
    child_records_are_made_due_under_the_lease_once,
    holds_keep_records_until_lifted,
    a_lease_keeps_other_replicas_out_and_a_dead_one_is_taken_over,
    report_documents_are_numbered_and_purged_after_keep_until,
);
