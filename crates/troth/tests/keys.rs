//! `troth keys`: master and tenant key rotation on a real SQLite data directory
//! created by the store, with the data read back afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use troth_server::Config;
use troth_store::{Access, AnyStore, IdentifierKind, Store as _, SubjectId, TenantId, VaultKey};

fn troth(dir: &Path, args: &[&str], env_key: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_troth"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(dir)
        // Somewhere without a troth.toml (the data dir may not exist).
        .current_dir(dir.ancestors().find(|p| p.exists()).unwrap())
        .env_remove("TROTH_MASTER_KEY")
        .env_remove("TROTH_DATABASE_URL")
        .env_remove("TROTH_DATA_DIR");
    if let Some(k) = env_key {
        cmd.env("TROTH_MASTER_KEY", k);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    }
}

async fn open(dir: &Path) -> AnyStore {
    troth_server::storage::open(&config(dir))
        .await
        .unwrap()
        .store
}

fn ops() -> Access {
    Access::new("svc:test", "account")
}

fn vkey(s: &str) -> VaultKey {
    VaultKey::new("acme", s, "contact.address", "home")
}

const SUBJECTS: usize = 5;

fn subject(i: usize) -> String {
    format!("subject-{i}")
}

async fn populate(dir: &Path) {
    let store = open(dir).await;
    let t = TenantId::new("acme");
    store.create_tenant(&t, "Acme").await.unwrap();
    for i in 0..SUBJECTS {
        let s = subject(i);
        store
            .vault_put(&vkey(&s), format!("home of {s}").as_bytes(), None, &ops())
            .await
            .unwrap();
        store
            .put_identity(
                &t,
                &SubjectId::new(&s),
                IdentifierKind::Email,
                &format!("{s}@example.com"),
                "CN",
                &ops(),
            )
            .await
            .unwrap();
    }
    store.close().await;
}

async fn read_back(dir: &Path) {
    let store = open(dir).await;
    let t = TenantId::new("acme");
    for i in 0..SUBJECTS {
        let s = subject(i);
        let v = store.vault_get(&vkey(&s), &ops()).await.unwrap();
        assert_eq!(&v[..], format!("home of {s}").as_bytes());
        let ids = store
            .identities(&t, &SubjectId::new(&s), &ops())
            .await
            .unwrap();
        assert_eq!(ids[0].1.as_str(), format!("{s}@example.com"));
        let found = store
            .find_subject(&t, IdentifierKind::Email, &format!("{s}@example.com"), "CN")
            .await
            .unwrap();
        assert_eq!(found, Some(SubjectId::new(&s)));
    }
    store.verify_audit(&t).await.unwrap();
    store.close().await;
}

#[cfg(unix)]
fn assert_0600(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_master_twice_then_tenant_then_retire() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    populate(dir).await;
    let key_file = dir.join("master.key");
    let original = std::fs::read_to_string(&key_file).unwrap();

    for version in [2, 3] {
        let out = troth(dir, &["keys", "rotate"], None);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        assert!(stdout.contains(&format!("added v{version}")), "{stdout}");
        assert!(
            stdout.contains(&format!(
                "re-wrapped 1 tenant keys and 1 blind-index keys under master v{version}"
            )),
            "{stdout}"
        );
        // Never key bytes on the terminal.
        let keys = std::fs::read_to_string(&key_file).unwrap();
        for line in keys.lines().filter(|l| l.starts_with('v')) {
            let hex = line.split_whitespace().nth(1).unwrap();
            assert!(!stdout.contains(hex) && !stderr.contains(hex));
        }
        #[cfg(unix)]
        assert_0600(&key_file);
    }
    let keys = std::fs::read_to_string(&key_file).unwrap();
    assert!(
        keys.contains(&format!("v1 {}", original.trim())),
        "v1 is the original key"
    );
    assert_eq!(keys.lines().filter(|l| l.starts_with('v')).count(), 3);
    read_back(dir).await;

    let out = troth(dir, &["keys", "rotate", "--tenant", "acme"], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("tenant key v1 -> v2, 5 subject keys re-wrapped"),
        "{stdout}"
    );
    assert!(stdout.contains("retired tenant key v1"), "{stdout}");
    read_back(dir).await;

    // A new version added to the file but not yet re-wrapped: retiring v3 (which
    // wraps everything) must be refused.
    troth_crypto::keyfile::add_version(&key_file, troth_crypto::KeyVersion(1)).unwrap();
    let out = troth(dir, &["keys", "retire"], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("refusing") && stderr.contains("v3 wraps 2 keys"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&key_file)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with('v'))
            .count(),
        4
    );

    let out = troth(dir, &["keys", "rewrap"], None);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = troth(dir, &["keys", "retire"], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("retired master v1, v2, v3"), "{stdout}");
    let keys = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(keys.lines().filter(|l| l.starts_with('v')).count(), 1);
    #[cfg(unix)]
    assert_0600(&key_file);
    read_back(dir).await;

    let out = troth(dir, &["keys", "status"], None);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("master v4: wraps 2"), "{stdout}");
    assert!(
        stdout.contains("tenant acme: subject keys by tenant-key version {v2: 5}"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_with_retire_old_in_one_step() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    populate(dir).await;
    let out = troth(dir, &["keys", "rotate", "--retire-old"], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("retired master v1; keyring: v2"),
        "{stdout}"
    );
    read_back(dir).await;
}

#[test]
fn env_provided_master_key_refuses_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let key = "11".repeat(32);
    let out = troth(tmp.path(), &["keys", "rotate"], Some(&key));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("TROTH_MASTER_KEY"), "{stderr}");
    assert!(stderr.contains("troth keys rewrap"), "{stderr}");
    assert!(!stderr.contains(&key));
}

#[test]
fn missing_store_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = troth(
        &tmp.path().join("nothing"),
        &["keys", "rotate", "--tenant", "x"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("no troth store"), "{:?}", text(&out));
}
