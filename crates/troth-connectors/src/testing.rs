//! Test support: one throwaway MariaDB (or MySQL) server shared by every test
//! process of a run, like `troth_store::testing::pg_cluster` for PostgreSQL.
//!
//! [`mariadb`] finds `mariadbd` (or `mysqld`) and `mariadb-install-db` (or
//! `mysql_install_db`) in `/usr/sbin`, `/usr/bin` or `PATH`, and under an exclusive
//! lock in a per-build directory in the temp dir (`/tmp/troth-mariadb-test-<hash>`,
//! or `TROTH_MARIADB_TEST_DIR`) either joins the server an earlier test process
//! started (its port is in `port`) or initialises a data directory and starts the
//! server on a free loopback port, in its own process group so it outlives the
//! test process. As root the server runs as the `mysql` user. The server keeps
//! running after the tests: `scripts/mariadb-test-server.sh stop` stops it and
//! removes its directory (`scripts/test` does this on exit).
//!
//! Missing binaries or a server that does not start are errors naming the
//! package to install, never a skip. `TROTH_TEST_MYSQL_URL` (a URL to an existing
//! server, e.g. `mysql://root@127.0.0.1:3306`) uses that server instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A running MariaDB server for tests.
#[derive(Debug)]
pub struct MariaDb {
    server_url: String,
}

static SERVER: OnceLock<Result<MariaDb, String>> = OnceLock::new();
static DB_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The shared test server, started on first use (blocking; call it from a test or
/// from `spawn_blocking`). The error says what to install or where the log is.
pub fn mariadb() -> Result<&'static MariaDb, String> {
    SERVER
        .get_or_init(start_or_join)
        .as_ref()
        .map_err(Clone::clone)
}

impl MariaDb {
    /// URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("{}/{db}", self.server_url)
    }

    /// Creates a fresh, uniquely named database and returns its name.
    pub async fn create_database(&self, prefix: &str) -> Result<String, String> {
        use sqlx::Connection as _;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "{prefix}_{}_{}_{nanos}",
            std::process::id(),
            DB_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = sqlx::MySqlConnection::connect(&self.server_url)
            .await
            .map_err(|e| format!("connect to the test MariaDB: {e}"))?;
        // The name is ours (letters, digits, underscores).
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{name}`")))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("create database: {e}"))?;
        let _ = conn.close().await;
        Ok(name)
    }
}

fn find(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = vec!["/usr/sbin".into(), "/usr/bin".into()];
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

fn state_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("TROTH_MARIADB_TEST_DIR") {
        return PathBuf::from(p);
    }
    use std::hash::{Hash, Hasher};
    let exe = std::env::current_exe().unwrap_or_default();
    let key = exe.parent().and_then(Path::parent).unwrap_or(&exe);
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    std::env::temp_dir().join(format!(
        "troth-mariadb-test-{:012x}",
        h.finish() & 0xffff_ffff_ffff
    ))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn accepting(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

fn start_or_join() -> Result<MariaDb, String> {
    if let Ok(url) = std::env::var("TROTH_TEST_MYSQL_URL") {
        return Ok(MariaDb {
            server_url: url.trim_end_matches('/').to_owned(),
        });
    }
    const HELP: &str = "help: install them with `apt-get install mariadb-server` (scripts/test does this), or set TROTH_TEST_MYSQL_URL";
    let server = find(&["mariadbd", "mysqld"])
        .ok_or_else(|| format!("MariaDB server binary (mariadbd or mysqld) not found\n{HELP}"))?;
    let install = find(&["mariadb-install-db", "mysql_install_db"])
        .ok_or_else(|| format!("mariadb-install-db not found\n{HELP}"))?;
    let root = is_root();
    let base = state_dir();
    std::fs::create_dir_all(&base).map_err(|e| format!("create {}: {e}", base.display()))?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(base.join("lock"))
        .map_err(|e| format!("lock file: {e}"))?;
    // Held until the end of this function: one process starts, the others wait and join.
    lock.lock().map_err(|e| format!("lock: {e}"))?;
    let port_file = base.join("port");
    if let Ok(p) = std::fs::read_to_string(&port_file)
        && let Ok(port) = p.trim().parse::<u16>()
        && accepting(port)
    {
        return Ok(MariaDb::local(port));
    }
    let data = base.join("data");
    let log = base.join("mariadb.log");
    std::fs::create_dir_all(&data).map_err(|e| format!("create {}: {e}", data.display()))?;
    if root {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755));
        let out = Command::new("chown")
            .args(["-R", "mysql:mysql"])
            .arg(&base)
            .output()
            .map_err(|e| format!("chown: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "chown mysql: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    if !data.join("mysql").exists() {
        let mut c = Command::new(&install);
        c.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if root {
            c.arg("--user=mysql");
        }
        let out = c
            .output()
            .map_err(|e| format!("{}: {e}", install.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed: {}{}",
                install.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))?;
    let mut c = Command::new(&server);
    c.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--port={port}"))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--socket={}", base.join("mysqld.sock").display()))
        .arg(format!("--pid-file={}", base.join("mysqld.pid").display()))
        .arg(format!("--log-error={}", log.display()))
        .args([
            "--skip-log-bin",
            "--max-connections=300",
            "--innodb-buffer-pool-size=128M",
        ]);
    if root {
        c.arg("--user=mysql");
    }
    {
        use std::os::unix::process::CommandExt;
        // Own process group: the server outlives this test process and nextest's
        // clean-up of it.
        c.process_group(0);
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c
        .spawn()
        .map_err(|e| format!("{}: {e}", server.display()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !accepting(port) {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "MariaDB exited at start ({status}); see {}",
                log.display()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "MariaDB did not start within 60 s; see {}",
                log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::write(&port_file, port.to_string()).map_err(|e| format!("port file: {e}"))?;
    Ok(MariaDb::local(port))
}

impl MariaDb {
    fn local(port: u16) -> Self {
        Self {
            server_url: format!("mysql://root@127.0.0.1:{port}"),
        }
    }
}
