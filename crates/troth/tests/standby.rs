//! Read replica (#12): a streaming-replication standby made with `pg_basebackup -R`
//! on loopback, and `troth serve` told `read_database_url`. Reads of the heavy paths
//! (the decision index rebuild, the per-subject re-reads after a change) are served
//! by the standby, writes by the primary; and a standby that lags (replay paused)
//! never makes a decision stale: the reader falls back to the primary.
//!
//! The primary is a small cluster of its own (not the shared test cluster, whose
//! base backup would copy every other test's databases). Missing PostgreSQL
//! binaries fail the test, naming the package.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A PostgreSQL tool, as the `postgres` user when we are root.
fn tool(bin: &Path, name: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(name));
        c
    } else {
        Command::new(bin.join(name))
    }
}

fn run(mut c: Command, what: &str) -> String {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server (primary or standby) that is stopped on drop.
struct Pg {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Pg {
    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn start(bin: &Path, data: PathBuf, run_dir: &Path) -> Self {
        let port = free_port();
        let mut c = tool(bin, "pg_ctl");
        c.arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(run_dir.join(format!("pg-{port}.log")))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=50",
                run_dir.display()
            ))
            .arg("start");
        run(c, "pg_ctl start");
        Pg {
            bin: bin.to_owned(),
            data,
            port,
        }
    }

    fn query(&self, sql: &str) -> String {
        let mut c = Command::new(self.bin.join("psql"));
        c.args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .arg(self.url("troth"));
        run(c, sql).trim().to_owned()
    }

    fn int(&self, sql: &str) -> i64 {
        self.query(sql).parse().unwrap()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let mut c = tool(&self.bin, "pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = c.output();
    }
}

struct Troth {
    child: Child,
    addr: String,
    key: String,
}

impl Drop for Troth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn troth(data: &Path, primary: &str, standby: &str) -> Troth {
    let mut child = Command::new(env!("CARGO_BIN_EXE_troth"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env_remove("TROTH_MASTER_KEY")
        .env("TROTH_LOG", "warn")
        .env("TROTH_DATABASE_URL", primary)
        .env("TROTH_READ_DATABASE_URL", standby)
        .env("TROTH_COHERENCE__REPLICA_WAIT_MS", "300")
        .env("TROTH_OUTBOX__ENABLED", "false")
        .env("TROTH_RETENTION__ENABLED", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut addr, mut key) = (String::new(), String::new());
    while key.is_empty() {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "troth serve exited");
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
    Troth { child, addr, key }
}

fn call(t: &Troth, method: &str, path: &str, body: Value) -> (u16, Value) {
    let mut s = TcpStream::connect(&t.addr).unwrap();
    let body = body.to_string();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        t.addr,
        t.key,
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    let text = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or_default();
    (status, serde_json::from_str(text).unwrap_or(Value::Null))
}

fn allowed(t: &Troth, subject: &str) -> bool {
    let (status, v) = call(
        t,
        "POST",
        "/v1/decisions",
        json!({ "subject": subject, "purpose": "photo-access", "categories": ["photos"] }),
    );
    assert_eq!(status, 200, "{v}");
    v["allow"].as_bool().unwrap()
}

/// Scans of `consent_events` the server itself has run (its own statistics).
fn ledger_scans(pg: &Pg) -> i64 {
    pg.int(
        "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables
         WHERE relname = 'consent_events'",
    )
}

#[test]
fn reads_go_to_the_standby_and_writes_to_the_primary() {
    let t0 = Instant::now();
    let bin = troth_store::testing::find_pg_bin().expect("PostgreSQL server binaries");
    for needed in ["initdb", "pg_ctl", "pg_basebackup", "psql"] {
        assert!(
            bin.join(needed).exists(),
            "{needed} missing from {}: apt-get install postgresql",
            bin.display()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    std::fs::set_permissions(base, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (pdata, sdata, run_dir) = (base.join("primary"), base.join("standby"), base.join("run"));
    for d in [&pdata, &sdata, &run_dir] {
        std::fs::create_dir_all(d).unwrap();
        if is_root() {
            let mut c = Command::new("chown");
            c.args(["postgres:postgres"]).arg(d);
            run(c, "chown");
        }
    }
    for d in [&pdata, &sdata] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    }
    let mut c = tool(&bin, "initdb");
    c.arg("-D").arg(&pdata).args([
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-instructions",
    ]);
    run(c, "initdb");
    let primary = Pg::start(&bin, pdata, &run_dir);
    let mut c = Command::new(bin.join("createdb"));
    c.args([
        "-h",
        "127.0.0.1",
        "-p",
        &primary.port.to_string(),
        "-U",
        "postgres",
        "troth",
    ]);
    run(c, "createdb");

    // The standby: a base backup with the replication settings written (-R).
    let mut c = tool(&bin, "pg_basebackup");
    c.args([
        "-h",
        "127.0.0.1",
        "-p",
        &primary.port.to_string(),
        "-U",
        "postgres",
        "-D",
    ])
    .arg(&sdata)
    .args(["-R", "-X", "stream", "--checkpoint=fast"]);
    run(c, "pg_basebackup");
    let standby = Pg::start(&bin, sdata, &run_dir);
    assert_eq!(standby.query("SELECT pg_is_in_recovery()"), "t");
    assert_eq!(primary.query("SELECT pg_is_in_recovery()"), "f");

    // troth on both: it migrates the primary; the schema reaches the standby.
    let data = base.join("troth-data");
    let server = troth(&data, &primary.url("troth"), &standby.url("troth"));
    assert!(
        standby.int("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'troth-read'")
            >= 1,
        "troth holds read connections on the standby"
    );
    assert_eq!(
        primary.int("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'troth-read'"),
        0,
        "no read-replica connection points at the primary"
    );

    // Writes: on the primary (a standby refuses them), visible on the standby after
    // replication.
    let scans_before = ledger_scans(&standby);
    let mut subjects = Vec::new();
    for _ in 0..5 {
        let (status, v) = call(&server, "POST", "/v1/subjects", json!({}));
        assert_eq!(status, 201, "{v}");
        let s = v["subject_id"].as_str().unwrap().to_owned();
        let (status, v) = call(
            &server,
            "POST",
            "/v1/consents",
            json!({ "subject": s, "purpose": "photo-access", "status": "given" }),
        );
        assert_eq!(status, 201, "{v}");
        assert!(allowed(&server, &s));
        subjects.push(s);
    }
    let on_primary = primary.int("SELECT count(*) FROM consent_events");
    assert_eq!(on_primary, 5);
    let t = Instant::now();
    while standby.int("SELECT count(*) FROM consent_events") != on_primary {
        assert!(t.elapsed() < Duration::from_secs(10), "the standby replays");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Each committed consent was re-read for the decision index, from the standby.
    let t = Instant::now();
    while ledger_scans(&standby) < scans_before + 5 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "ledger reads on the standby: {} before, {} now",
            scans_before,
            ledger_scans(&standby)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A second process rebuilds its decision index from the standby.
    let scans = ledger_scans(&standby);
    let second = troth(&data, &primary.url("troth"), &standby.url("troth"));
    assert!(allowed(&second, &subjects[0]));
    let t = Instant::now();
    while ledger_scans(&standby) < scans + 1 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "rebuild read the standby"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A lagging standby (replay paused) never makes a decision stale: the withdrawal
    // written through one process is decided on by the other at once, read from the
    // primary after the bounded wait.
    standby.query("SELECT pg_wal_replay_pause()");
    let (status, v) = call(
        &server,
        "POST",
        "/v1/consents",
        json!({ "subject": subjects[1], "purpose": "photo-access", "status": "withdrawn" }),
    );
    assert_eq!(status, 201, "{v}");
    let t = Instant::now();
    while allowed(&second, &subjects[1]) {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "stale decision on the second process behind a paused standby"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        standby.int("SELECT count(*) FROM consent_events"),
        5,
        "the standby really was behind"
    );
    standby.query("SELECT pg_wal_replay_resume()");
    drop(second);
    drop(server);
    eprintln!("standby scenario took {:?}", t0.elapsed());
}
