//! `troth audit verify` on a real SQLite data directory: intact logs exit 0, and
//! each kind of tampering done directly in the database file exits 1 naming the
//! right entry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use sqlx::Connection as _;
use troth_server::Config;
use troth_store::{Access, Store as _, TenantId, VaultKey};

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

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Two tenants; `acme` gets 1 + 12 audit entries (creation, 12 vault writes).
async fn populate(dir: &Path) {
    let config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    let store = troth_server::storage::open(&config).await.unwrap().store;
    let ops = Access::new("svc:test", "account");
    for t in ["acme", "beta"] {
        store.create_tenant(&TenantId::new(t), t).await.unwrap();
        for i in 0..12 {
            let k = VaultKey::new(
                t,
                format!("s{}", i % 3).as_str(),
                "contact.address",
                format!("r{i}").as_str(),
            );
            store.vault_put(&k, b"somewhere", None, &ops).await.unwrap();
        }
    }
    store.close().await;
}

/// Runs `sql` (each `;`-separated statement) directly on the data file.
async fn tamper(dir: &Path, sql: &str) {
    let url = format!("sqlite://{}", dir.join("troth.db").display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
}

async fn broken_at(sql: &str) -> (String, String) {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path()).await;
    tamper(tmp.path(), sql).await;
    let out = troth(tmp.path(), &["audit", "verify"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    // The other tenant's chain is untouched and reported intact.
    assert!(
        stdout.contains("tenant beta: intact, 13 entries checked"),
        "{stdout}"
    );
    (stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intact_log_verifies_with_counts() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path()).await;
    let out = troth(tmp.path(), &["audit", "verify"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "tenant acme: intact, 13 entries checked, 1 checkpoints verified (last signed entry 13)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("entries/s"), "{stdout}");

    let out = troth(
        tmp.path(),
        &["audit", "verify", "--tenant", "beta", "--json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["intact"], true);
    assert_eq!(v["tenants"].as_array().unwrap().len(), 1);
    assert_eq!(v["tenants"][0]["entries"], 13);

    let out = troth(tmp.path(), &["audit", "verify", "--tenant", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_byte_is_named() {
    // One byte of entry 5's detail changes (`{` becomes `[`).
    let (stdout, _) = broken_at(
        "UPDATE audit_log SET detail = '[' || substr(detail, 2) WHERE tenant_id = 'acme' AND seq = 5",
    )
    .await;
    assert!(
        stdout.contains("tenant acme: BROKEN at entry 5: entry contents do not match its hash"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_row_is_named() {
    let (stdout, _) = broken_at("DELETE FROM audit_log WHERE tenant_id = 'acme' AND seq = 4").await;
    assert!(
        stdout.contains("tenant acme: BROKEN at entry 5: sequence gap: expected entry `4`"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_rows_are_named() {
    let (stdout, _) = broken_at(
        "UPDATE audit_log SET seq = -1 WHERE tenant_id = 'acme' AND seq = 3;
         UPDATE audit_log SET seq = 3 WHERE tenant_id = 'acme' AND seq = 4;
         UPDATE audit_log SET seq = 4 WHERE tenant_id = 'acme' AND seq = -1;",
    )
    .await;
    assert!(
        stdout.contains("tenant acme: BROKEN at entry 3:"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_tail_is_named() {
    let (stdout, _) =
        broken_at("DELETE FROM audit_log WHERE tenant_id = 'acme' AND seq > 10").await;
    assert!(
        stdout.contains("tenant acme: BROKEN at entry 13: log truncated: it ends at entry `10`"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_names_the_bad_entry() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path()).await;
    tamper(
        tmp.path(),
        "DELETE FROM audit_log WHERE tenant_id = 'acme' AND seq = 7",
    )
    .await;
    let out = troth(tmp.path(), &["audit", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["intact"], false);
    let acme = &v["tenants"][0];
    assert_eq!(acme["tenant"], "acme");
    assert_eq!(acme["broken"]["seq"], 8);
    assert_eq!(v["tenants"][1]["intact"], true);
}
