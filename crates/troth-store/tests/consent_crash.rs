//! Acknowledged consent writes survive the writer's process being killed: a child
//! process (this test binary, re-run as `crash_child`) writes from 32 concurrent
//! writers and prints every acknowledgement; the parent kills it with SIGKILL
//! mid-load, reopens the store and finds every acknowledged event, a gap-free
//! ledger and an intact audit chain. (A process kill, not a power loss: the WAL
//! frames of an acknowledged commit are in the page cache or on disk either way;
//! power-loss durability rests on `synchronous = FULL`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use troth_crypto::{KeyVersion, LocalMasterKey, SecretKey, SigningKeyPair, Vault};
use troth_store::{NewConsentEvent, SqliteStore, Store, StoreConfig, SubjectId, TenantId};

const DIR_VAR: &str = "TROTH_CRASH_CHILD_DIR";
const WRITERS: usize = 32;

/// Fixed keys, so the parent can reopen what the child wrote.
fn config() -> StoreConfig {
    let master = LocalMasterKey::new(KeyVersion(1), SecretKey::from_bytes([3u8; 32]));
    StoreConfig::new(
        Vault::new(Arc::new(master)),
        SigningKeyPair::from_seed(&[5u8; 32]),
    )
}

fn tenant() -> TenantId {
    TenantId::new("crash")
}

fn subject(writer: usize) -> SubjectId {
    SubjectId::new(format!("w{writer}"))
}

/// The child: writes until killed, one line `writer seq` per acknowledgement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return; // only runs when started by `acknowledged_writes_survive_kill`
    };
    let store = SqliteStore::open_dir(&dir, config()).await.unwrap();
    store.migrate().await.unwrap();
    store.create_tenant(&tenant(), "Crash").await.unwrap();
    println!("ready");
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let ack = store
                    .append_consent(NewConsentEvent {
                        tenant: tenant(),
                        subject: subject(w),
                        event_id: format!("e-{w}-{i}"),
                        purpose: "marketing".into(),
                        action: "given".into(),
                        time: jiff::Timestamp::now(),
                        actor: "subject".into(),
                        event: serde_json::json!({ "writer": w, "i": i }),
                    })
                    .await
                    .unwrap();
                // println! locks stdout per line; the parent reads line by line.
                println!("{w} {}", ack.seq);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read acknowledgements on a thread; kill once enough have arrived.
    let acked = std::thread::spawn(move || {
        let mut acked: Vec<(usize, u64)> = Vec::new();
        let mut ready = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest prints `test crash_child ... ` before the child's first line.
            if line.ends_with("ready") {
                ready = true;
                continue;
            }
            let mut parts = line.split(' ');
            if let (true, Some(w), Some(s), None) =
                (ready, parts.next(), parts.next(), parts.next())
                && let (Ok(w), Ok(s)) = (w.parse(), s.parse())
            {
                acked.push((w, s));
                if acked.len() == 3_000 {
                    return (acked, true);
                }
            }
        }
        (acked, false)
    })
    .join()
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let (acked, reached) = acked;
    assert!(
        reached,
        "child stopped after {} acknowledgements",
        acked.len()
    );

    let store = SqliteStore::open_dir(dir.path(), config()).await.unwrap();
    store.migrate().await.unwrap();
    let t = tenant();
    let mut all_seqs = Vec::new();
    let mut per_writer: Vec<std::collections::BTreeSet<u64>> = vec![Default::default(); WRITERS];
    for (w, set) in per_writer.iter_mut().enumerate() {
        for e in store.consent_events(&t, &subject(w)).await.unwrap() {
            set.insert(e.seq);
            all_seqs.push(e.seq);
        }
    }
    for (w, seq) in &acked {
        assert!(
            per_writer[*w].contains(seq),
            "acknowledged seq {seq} of writer {w} is missing after the kill"
        );
    }
    // The ledger has no gaps, and its audit chain verifies (every ledger row has its
    // audit entry: tenant creation + one per event).
    all_seqs.sort_unstable();
    let n = all_seqs.len() as u64;
    assert_eq!(all_seqs, (1..=n).collect::<Vec<_>>());
    let report = store.verify_audit(&t).await.unwrap();
    assert_eq!(report.entries, 1 + n);
    assert!(n >= acked.len() as u64);
}
