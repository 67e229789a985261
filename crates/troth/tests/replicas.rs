//! Scale-out (#12): three real `troth serve` processes on one PostgreSQL database
//! (the shared test cluster), driven through all three; one is `kill -9`ed in the
//! middle of a retention sweep and another in the middle of a webhook delivery.
//! Checks what an operator would: no acknowledged write lost, every notice
//! delivered under a stable id, nothing left stuck once the (short) leases expire,
//! the audit chain verifies, and a consent written on one replica changes the
//! decisions of another within the documented bound (docs/SCALING.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// What docs/SCALING.md promises for a healthy listener connection.
const COHERENCE_BOUND: Duration = Duration::from_secs(1);
/// Lease of outbox messages and retention sweeps in this test, seconds.
const LEASE_SECS: u64 = 2;

struct Db {
    data_url: String,
    keys_url: String,
    psql: PathBuf,
}

impl Db {
    fn create() -> Self {
        let cluster = troth_store::testing::pg_cluster().expect("PostgreSQL test cluster");
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (data, keys) = rt.block_on(async {
            (
                cluster.create_database("troth_replicas").await.unwrap(),
                cluster.create_database("troth_replicas_k").await.unwrap(),
            )
        });
        let bin = troth_store::testing::find_pg_bin().expect("postgresql binaries");
        Db {
            data_url: cluster.url(&data),
            keys_url: cluster.url(&keys),
            psql: bin.join("psql"),
        }
    }

    /// One query's rows, `|`-separated.
    fn query(&self, sql: &str) -> Vec<String> {
        let out = Command::new(&self.psql)
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .arg(&self.data_url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn count(&self, sql: &str) -> i64 {
        self.query(sql)[0].parse().unwrap()
    }
}

struct Replica {
    child: Child,
    addr: String,
    key: String,
}

impl Replica {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill9(&mut self) {
        let pid = self.pid().to_string();
        assert!(
            Command::new("kill")
                .args(["-KILL", &pid])
                .status()
                .unwrap()
                .success()
        );
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env(db: &Db) -> Vec<(&'static str, String)> {
    vec![
        ("TROTH_DATABASE_URL", db.data_url.clone()),
        ("TROTH_KEYS_DATABASE_URL", db.keys_url.clone()),
        ("TROTH_OUTBOX__POLL_MS", "100".into()),
        ("TROTH_OUTBOX__LEASE_SECS", LEASE_SECS.to_string()),
        ("TROTH_OUTBOX__BACKOFF_MS", "200".into()),
        ("TROTH_OUTBOX__WEBHOOK_TIMEOUT_SECS", "20".into()),
        ("TROTH_RETENTION__INTERVAL_SECS", "1".into()),
        ("TROTH_RETENTION__BATCH", "1".into()),
        ("TROTH_RETENTION__LEASE_SECS", LEASE_SECS.to_string()),
        ("TROTH_COHERENCE__HEARTBEAT_MS", "250".into()),
        ("TROTH_RATE_LIMIT__PER_SECOND", "100000".into()),
        ("TROTH_RATE_LIMIT__BURST", "100000".into()),
    ]
}

/// Starts `troth serve --demo` (the demo tenant is created once and reused; every
/// start prints a fresh admin key of it). All replicas share the data directory,
/// i.e. the master and signing keys.
fn start(db: &Db, data: &Path, extra: &[(&str, &str)]) -> Replica {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_troth"));
    cmd.args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env_remove("TROTH_MASTER_KEY")
        .env("TROTH_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env(db) {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut addr, mut key) = (String::new(), String::new());
    while key.is_empty() {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "replica exited");
        if let Some(rest) = line.trim().strip_prefix("troth is listening on http://") {
            addr = rest.to_owned();
        }
        if let Some(rest) = line.trim().strip_prefix("admin API key:") {
            key = rest.trim().to_owned();
        }
    }
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = out.read_to_string(&mut rest);
    });
    Replica { child, addr, key }
}

/// One HTTP/1.1 call; `None` when the connection fails (a killed replica).
fn try_http(
    addr: &str,
    method: &str,
    path: &str,
    key: &str,
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let status = resp.get(9..12)?.parse().ok()?;
    let text = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or_default();
    // Bodies are small JSON; chunked encoding is not used for them by the server.
    let json = serde_json::from_str(text).unwrap_or(Value::Null);
    Some((status, json))
}

fn http(r: &Replica, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    try_http(&r.addr, method, path, &r.key, body.as_ref())
        .unwrap_or_else(|| panic!("{method} {path} on {}: no answer", r.addr))
}

fn ok(r: &Replica, method: &str, path: &str, body: Value, want: u16) -> Value {
    let (status, v) = http(r, method, path, Some(body));
    assert_eq!(status, want, "{method} {path}: {v}");
    v
}

fn subject(r: &Replica) -> String {
    ok(r, "POST", "/v1/subjects", json!({}), 201)["subject_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn allowed(r: &Replica, subject: &str) -> bool {
    let v = ok(
        r,
        "POST",
        "/v1/decisions",
        json!({ "subject": subject, "purpose": "photo-access", "categories": ["photos"] }),
        200,
    );
    v["allow"].as_bool().unwrap()
}

/// Polls `r` until the decision for `subject` is `want`; how long it took.
fn until_decision(r: &Replica, subject: &str, want: bool) -> Duration {
    let t = Instant::now();
    while allowed(r, subject) != want {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "decision never became {want}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    t.elapsed()
}

/// A webhook receiver that holds the first request it gets until released (the
/// sender is killed meanwhile) and answers every later one at once. Records each
/// request's `troth-message-id`.
struct Receiver {
    url: String,
    ids: Arc<Mutex<Vec<String>>>,
    /// The message id of the held request, once it arrives.
    holding: Arc<Mutex<Option<String>>>,
    release: Arc<AtomicBool>,
}

impl Receiver {
    fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let ids = Arc::new(Mutex::new(Vec::new()));
        let holding = Arc::new(Mutex::new(None));
        let release = Arc::new(AtomicBool::new(false));
        let (i, h, rel) = (Arc::clone(&ids), Arc::clone(&holding), Arc::clone(&release));
        std::thread::spawn(move || {
            let mut first = true;
            for stream in l.incoming() {
                let Ok(stream) = stream else { continue };
                let hold = std::mem::replace(&mut first, false);
                let (i, h, rel) = (Arc::clone(&i), Arc::clone(&h), Arc::clone(&rel));
                std::thread::spawn(move || serve_hook(stream, hold, &i, &h, &rel));
            }
        });
        Receiver {
            url,
            ids,
            holding,
            release,
        }
    }

    fn ids(&self) -> Vec<String> {
        self.ids.lock().unwrap().clone()
    }
}

fn serve_hook(
    stream: TcpStream,
    hold: bool,
    ids: &Mutex<Vec<String>>,
    holding: &Mutex<Option<String>>,
    release: &AtomicBool,
) {
    let mut reader = BufReader::new(stream);
    let (mut len, mut id) = (0usize, None);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.trim().parse().unwrap_or(0),
                "troth-message-id" => id = Some(v.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    if let Some(id) = &id {
        ids.lock().unwrap().push(id.clone());
    }
    if hold {
        *holding.lock().unwrap() = Some(id.unwrap_or_default());
        let t = Instant::now();
        while !release.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let _ = reader
        .get_mut()
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

/// The pid in a lease owner (`outbox-<pid>-…`, `replica-<pid>-…`).
fn owner_pid(owner: &str) -> u32 {
    owner.split('-').nth(1).unwrap().parse().unwrap()
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn three_replicas_survive_kill_9_mid_sweep_and_mid_delivery() {
    let db = Db::create();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shared-data");
    // The first start creates the demo tenant; then two more join it.
    let mut replicas = vec![start(&db, &data, &[])];
    replicas.push(start(&db, &data, &[]));
    replicas.push(start(&db, &data, &[]));

    // --- cache coherence: a consent on one replica changes another's decisions.
    let alice = subject(&replicas[0]);
    // Replicas 1 and 2 load the tenant and cache "no consent".
    assert!(!allowed(&replicas[1], &alice));
    assert!(!allowed(&replicas[2], &alice));
    let consent = |r: &Replica, s: &str, status: &str| {
        ok(
            r,
            "POST",
            "/v1/consents",
            json!({ "subject": s, "purpose": "photo-access", "status": status }),
            201,
        )
    };
    consent(&replicas[0], &alice, "given");
    let seen_b = until_decision(&replicas[1], &alice, true);
    let seen_c = until_decision(&replicas[2], &alice, true);
    consent(&replicas[2], &alice, "withdrawn");
    let withdrawn_b = until_decision(&replicas[1], &alice, false);
    let withdrawn_a = until_decision(&replicas[0], &alice, false);
    for (what, took) in [
        ("given on A, seen on B", seen_b),
        ("given on A, seen on C", seen_c),
        ("withdrawn on C, seen on B", withdrawn_b),
        ("withdrawn on C, seen on A", withdrawn_a),
    ] {
        eprintln!("coherence: {what} after {took:?}");
        assert!(took < COHERENCE_BOUND, "{what} took {took:?}");
    }

    // --- outbox: deletion notices for three rights requests, driven through all three.
    let receiver = Receiver::start();
    ok(
        &replicas[1],
        "PUT",
        "/v1/notify-targets/sg-node",
        json!({ "webhook": receiver.url, "recipient": "overseas-service-node", "events": ["deletion.notice"] }),
        200,
    );
    let mut requests = Vec::new();
    for (i, r) in replicas.iter().enumerate() {
        let sub = subject(r);
        for scope in [
            json!(null),
            json!({ "kind": "destination", "id": "SG" }),
            json!({ "kind": "recipient", "id": "overseas-service-node" }),
        ] {
            let mut c =
                json!({ "subject": sub, "purpose": "cross-border-service", "status": "given" });
            if !scope.is_null() {
                c["scope"] = scope;
            }
            ok(&replicas[(i + 1) % 3], "POST", "/v1/consents", c, 201);
        }
        // Read-your-writes holds on the replica that took the consents; another
        // replica sees them within the coherence bound (docs/SCALING.md).
        ok(
            &replicas[(i + 1) % 3],
            "POST",
            "/v1/disclosures",
            json!({ "subject": sub, "purpose": "cross-border-service", "categories": ["email"],
                    "recipient": "overseas-service-node", "destination": "SG" }),
            201,
        );
        let id = ok(
            r,
            "POST",
            "/v1/requests",
            json!({ "subject": sub, "kind": "deletion", "channel": "web" }),
            201,
        )["request_id"]
            .as_str()
            .unwrap()
            .to_owned();
        for (j, cmd) in [
            json!({ "command": "start_verification" }),
            json!({ "command": "verified" }),
            json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
        ]
        .into_iter()
        .enumerate()
        {
            ok(
                &replicas[(i + j) % 3],
                "POST",
                &format!("/v1/requests/{id}/transitions"),
                cmd,
                200,
            );
        }
        requests.push(id);
    }
    // The first delivery attempt hangs in the receiver: kill the replica holding it.
    wait_for("a delivery", Duration::from_secs(10), || {
        receiver.holding.lock().unwrap().is_some()
    });
    // The receiver holds only the first delivery it is sent; another courier may claim
    // and deliver later notices meanwhile, so the victim is the holder of that message.
    let held = receiver.holding.lock().unwrap().clone().unwrap();
    let owners = db.query(&format!(
        "SELECT lease_owner FROM outbox WHERE message_id = '{held}' AND status = 'pending'"
    ));
    assert_eq!(owners.len(), 1, "the held message is leased: {owners:?}");
    let courier_pid = owner_pid(&owners[0]);
    let victim = replicas
        .iter()
        .position(|r| r.pid() == courier_pid)
        .expect("the lease owner is one of the replicas");
    let mut dead_courier = replicas.remove(victim);
    dead_courier.kill9();
    receiver.release.store(true, Ordering::SeqCst);
    eprintln!("killed the courier (pid {courier_pid}) mid-delivery");

    // After the lease expires a survivor delivers everything.
    let webhook_total = |status: &str| {
        db.count(&format!(
            "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND status = '{status}'"
        ))
    };
    wait_for(
        "every notice delivered",
        Duration::from_secs(LEASE_SECS + 15),
        || webhook_total("delivered") == 3,
    );
    assert_eq!(webhook_total("pending"), 0);
    let stored: BTreeSet<String> = db
        .query("SELECT message_id FROM outbox WHERE channel = 'webhook'")
        .into_iter()
        .collect();
    let got = receiver.ids();
    let distinct: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(distinct, stored, "every notice arrived under its stored id");
    // The only repeat is the one whose sender died (same id: the receiver dedupes).
    assert!(got.len() <= 4, "at most one redelivery: {got:?}");

    // --- retention: kill the sweeping replica mid-sweep, while consents keep coming.
    let keeper = subject(&replicas[0]);
    let seeding = Instant::now();
    let expire_at = String::from_utf8(
        Command::new("date")
            .args(["-u", "-d", "+6 seconds", "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let n_records = 240;
    let owners_of: Vec<String> = (0..6).map(|i| subject(&replicas[i % 2])).collect();
    std::thread::scope(|scope| {
        for (t, chunk) in owners_of.chunks(3).enumerate() {
            let r = &replicas[t % 2];
            let expire_at = &expire_at;
            scope.spawn(move || {
                for s in chunk {
                    for k in 0..n_records / owners_of_len() {
                        ok(
                            r,
                            "PUT",
                            &format!("/v1/subjects/{s}/vault/email/r{k}"),
                            json!({ "value": "x@example.com", "purpose": "legal-compliance",
                                    "expires_at": expire_at }),
                            204,
                        );
                    }
                }
            });
        }
    });
    // A record that is not due stays.
    ok(
        &replicas[1],
        "PUT",
        &format!("/v1/subjects/{keeper}/vault/email/main"),
        json!({ "value": "keep@example.com", "purpose": "legal-compliance" }),
        204,
    );
    assert!(
        seeding.elapsed() < Duration::from_secs(5),
        "seeding took too long for the test's timing"
    );

    // Consents keep arriving through both survivors (and, until it dies, the victim).
    let stop = AtomicBool::new(false);
    let acked: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
    let writers_subjects: Vec<String> = (0..2).map(|i| subject(&replicas[i])).collect();
    let (victim_pid, run, survivors_seen) = std::thread::scope(|scope| {
        for (i, s) in writers_subjects.iter().enumerate() {
            let (stop, acked) = (&stop, &acked);
            let addrs: Vec<(String, String)> = replicas
                .iter()
                .map(|r| (r.addr.clone(), r.key.clone()))
                .collect();
            scope.spawn(move || {
                let mut n = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    let (addr, key) = &addrs[(n + i) % addrs.len()];
                    let status = if n.is_multiple_of(2) {
                        "given"
                    } else {
                        "withdrawn"
                    };
                    let body = json!({ "subject": s, "purpose": "photo-access", "status": status });
                    if let Some((201, _)) = try_http(addr, "POST", "/v1/consents", key, Some(&body))
                    {
                        *acked.lock().unwrap().entry(s.clone()).or_default() += 1;
                    }
                    n += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        }
        // Wait for a sweep to be under way, then kill whoever holds its lease.
        let mut holder = None;
        wait_for("a sweep in progress", Duration::from_secs(20), || {
            let rows = db.query(
                "SELECT r.owner, r.deleted, r.run_id FROM retention_runs r
                 WHERE r.finished_ns IS NULL AND r.deleted >= 5",
            );
            holder = rows.first().cloned();
            holder.is_some()
        });
        let holder = holder.unwrap();
        let mut cols = holder.split('|');
        let (owner, done_before, run) = (
            cols.next().unwrap().to_owned(),
            cols.next().unwrap().to_owned(),
            cols.next().unwrap().to_owned(),
        );
        let owner = owner.as_str();
        let pid = owner_pid(owner);
        let victim = replicas
            .iter()
            .position(|r| r.pid() == pid)
            .expect("the sweeper is a replica");
        let mut dead = replicas.remove(victim);
        dead.kill9();
        eprintln!("killed the sweeper (pid {pid}) after {done_before} records");
        // The survivor resumes the run after the lease and finishes it.
        wait_for(
            "the sweep finished by the survivor",
            Duration::from_secs(LEASE_SECS + 20),
            || {
                db.count(
                    "SELECT count(*) FROM vault_records WHERE category = 'email'
                     AND expires_ns IS NOT NULL",
                ) == 0
                    && db.count("SELECT count(*) FROM retention_runs WHERE finished_ns IS NULL")
                        == 0
            },
        );
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::SeqCst);
        (pid, run, replicas.len())
    });
    assert_eq!(survivors_seen, 1);
    eprintln!("sweeper {victim_pid} replaced");
    let survivor = &replicas[0];

    // No record swept twice: the runs' counts add up to exactly the expired records.
    assert_eq!(
        db.count("SELECT coalesce(sum(deleted), 0) FROM retention_runs"),
        n_records as i64
    );
    // The dead replica's run was resumed (same run, new owner) and finished.
    let finished = db.query(&format!(
        "SELECT owner, finished_ns IS NOT NULL FROM retention_runs WHERE run_id = '{run}'"
    ));
    let (owner, done) = finished[0].split_once('|').unwrap();
    assert_eq!(done, "t", "{finished:?}");
    assert_eq!(owner_pid(owner), survivor.pid(), "resumed by the survivor");
    assert_eq!(
        http(
            survivor,
            "GET",
            &format!("/v1/subjects/{keeper}/vault/email/main?purpose=legal-compliance"),
            None
        )
        .0,
        200
    );
    // Nothing stuck: no live lease, no pending message.
    assert_eq!(
        db.count("SELECT count(*) FROM outbox WHERE status = 'pending'"),
        0
    );

    // Every acknowledged consent is in the ledger (a write whose answer was lost
    // with its replica may be there too, never the reverse).
    for (s, n) in acked.lock().unwrap().iter() {
        let stored = db.count(&format!(
            "SELECT count(*) FROM consent_events WHERE subject_id = '{s}'"
        ));
        assert!(
            stored >= *n as i64,
            "{s}: {n} acknowledged, {stored} stored"
        );
        assert!(*n > 10, "the writers kept writing: {n}");
    }
    // Requests completed on any replica read back on the survivor.
    for id in &requests {
        let (status, req) = http(survivor, "GET", &format!("/v1/requests/{id}"), None);
        assert_eq!(status, 200);
        assert_eq!(req["status"], "completed", "{req}");
    }

    // The audit chain verifies, from the CLI, over everything all replicas wrote.
    let out = Command::new(env!("CARGO_BIN_EXE_troth"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .args(["--database-url", &db.data_url])
        .env("TROTH_KEYS_DATABASE_URL", &db.keys_url)
        .env_remove("TROTH_MASTER_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn owners_of_len() -> usize {
    6
}
