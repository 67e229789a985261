//! `troth controller transfer` on a real SQLite data directory: it checks the
//! request against the published version naming the new controller (exit 1 when they
//! disagree), then audits the transfer and queues a notice to every person, once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jiff::Timestamp;
use troth_server::Config;
use troth_store::{
    Access, IdentifierKind, OutboxStore as _, PolicyVersionRecord, Store as _, SubjectId,
    SubjectRecord, TenantId,
};

fn troth(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_troth"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .current_dir(dir)
        .env_remove("TROTH_MASTER_KEY")
        .env_remove("TROTH_DATABASE_URL")
        .env_remove("TROTH_DATA_DIR")
        .output()
        .unwrap()
}

const BUYER: &str = "Buyer Holdings Co., Ltd.";
const TENANT: &str = "0190a000-0000-7000-8000-000000000001";
const P1: &str = "0190a000-0000-7000-8000-0000000000a1";
const P2: &str = "0190a000-0000-7000-8000-0000000000a2";

fn pack() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../packs/s002-template/policy.toml");
    std::fs::read_to_string(path).unwrap()
}

/// Tenant `TENANT` with the s002 pack (1.0) and the buyer's version (2.0, effective
/// 2025-01-08), and two people, one with an email address.
async fn populate(dir: &Path) {
    let config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    let store = troth_server::storage::open(&config).await.unwrap().store;
    let t = TenantId::new(TENANT);
    store.create_tenant(&t, "Acme").await.unwrap();
    let v1 = pack();
    let v2 = v1
        .replacen(
            "legal_name = { en = \"Template Example Technology Co., Ltd.\", zh-CN = \"模板示例科技有限公司\" }",
            &format!("legal_name = {{ en = \"{BUYER}\", zh-CN = \"买方控股有限公司\" }}"),
            1,
        )
        .replacen("\nversion = \"", "\nversion = \"2.0-", 1)
        .replacen("\neffective = ", "\neffective = 2025-01-08\n# was ", 1);
    for (i, text) in [v1, v2].into_iter().enumerate() {
        let policy = troth_policy::parse_policy("policy.toml", &text).unwrap();
        let record = PolicyVersionRecord {
            tenant: t.clone(),
            pack_id: policy.policy.id.to_string(),
            label: policy.policy.version.clone(),
            content_hash: troth_policy::content_hash(&policy),
            published: Timestamp::from_second(1_700_000_000 + i as i64).unwrap(),
            effective: jiff::tz::Offset::UTC
                .to_timestamp(
                    policy
                        .policy
                        .effective
                        .to_datetime(jiff::civil::Time::midnight()),
                )
                .unwrap(),
            significant: i == 1,
            source_toml: text,
        };
        store.publish_policy_version(&record, "test").await.unwrap();
    }
    for id in [P1, P2] {
        let s = SubjectRecord {
            tenant: t.clone(),
            subject: SubjectId::new(id),
            age_band: Some("adult".into()),
            guardian: None,
            status: "active".into(),
            created: Timestamp::from_second(1_700_000_000).unwrap(),
        };
        store.upsert_subject(&s, "test").await.unwrap();
    }
    store
        .put_identity(
            &t,
            &SubjectId::new(P1),
            IdentifierKind::Email,
            "p1@example.com",
            "CN",
            &Access::new("svc:test", "account"),
        )
        .await
        .unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_checks_the_version_then_notifies_everyone_once() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path()).await;
    let label = {
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let store = troth_server::storage::open(&config).await.unwrap().store;
        let v = store.policy_versions(&TenantId::new(TENANT)).await.unwrap();
        store.close().await;
        v[1].label.clone()
    };
    let run = |controller: &str, effective: &str| {
        troth(
            dir.path(),
            &[
                "controller",
                "transfer",
                "--version",
                &label,
                "--new-controller",
                controller,
                "--effective",
                effective,
                "--json",
            ],
        )
    };

    // The version names someone else, or takes effect on another day: refused.
    let wrong = run("Someone Else Ltd.", "2025-01-08");
    assert_eq!(wrong.status.code(), Some(1));
    let err = String::from_utf8_lossy(&wrong.stderr).into_owned();
    assert!(err.contains(BUYER), "{err}");
    let wrong = run(BUYER, "2025-02-01");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("2025-01-08"));

    let ok = run(BUYER, "2025-01-08");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(out["new_controller"], BUYER);
    assert_eq!(out["new_holder_bound"], true, "{out}");
    assert_eq!(out["renewal_required"], false, "{out}");
    assert_eq!(out["notices"]["subjects"], 2, "{out}");
    assert_eq!(out["notices"]["by_email"], 1, "{out}");
    assert_eq!(out["notices"]["announcement"], true, "{out}");
    let first = out["notices"]["queued"].as_u64().unwrap();
    assert!(first >= 2, "{out}");

    // Again: nothing new is queued.
    let again = run(BUYER, "2025-01-08");
    assert_eq!(again.status.code(), Some(0));
    let out: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(out["notices"]["queued"], 0, "{out}");

    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let store = troth_server::storage::open(&config).await.unwrap().store;
    let t = TenantId::new(TENANT);
    let messages = store.outbox_messages(&t, None, None, 100).await.unwrap();
    assert_eq!(messages.len() as u64, first);
    let mailed: Vec<&str> = messages
        .iter()
        .filter(|m| m.kind == "controller.notice")
        .map(|m| m.target.as_str())
        .collect();
    assert_eq!(mailed, vec![P1]);
    assert!(
        messages
            .iter()
            .all(|m| !m.payload_json.contains("@example.com"))
    );
    let audit = store.audit_entries(&t, 0, 1000).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "controller.transferred" && e.actor == "cli:controller")
            .count(),
        2
    );
    store.close().await;
}
