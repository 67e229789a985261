//! Test support: a real, throwaway PostgreSQL server shared by every test of a run,
//! and helpers that open fresh stores on either backend.
//!
//! [`pg_cluster`] finds the server binaries under `/usr/lib/postgresql/*/bin` (or
//! `TROTH_PG_BIN`), and under an exclusive file lock in a per-checkout directory in
//! the temp dir (`/tmp/troth-pg-test-<hash>`, or `TROTH_PG_TEST_DIR`) either connects
//! to the server an earlier test process started or runs `initdb` + `pg_ctl start`
//! on a free loopback port. So nextest's many test processes share one server. The
//! server keeps running after the tests: `scripts/pg-test-cluster.sh stop` stops it
//! and removes its directory. As root, the binaries run as the `postgres` user
//! (initdb refuses root).
//!
//! Missing binaries are an error naming the package to install, never a skip.
//! `TROTH_TEST_PG_URL` (a URL to an existing server's maintenance database, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`) uses that server instead.

use crate::config::StoreConfig;
use crate::error::{Result, StoreError};
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::store::Store;
use sqlx::Connection as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A running PostgreSQL server for tests.
#[derive(Debug)]
pub struct PgCluster {
    admin_url: String,
    bin: Option<PathBuf>,
    as_postgres: bool,
}

static CLUSTER: OnceLock<std::result::Result<PgCluster, String>> = OnceLock::new();
static DB_COUNTER: AtomicU64 = AtomicU64::new(0);

fn err(msg: impl Into<String>) -> StoreError {
    StoreError::TestCluster(msg.into())
}

/// The shared test cluster, started on first use (blocking; call it from a test,
/// or from `spawn_blocking` inside a runtime).
pub fn pg_cluster() -> Result<&'static PgCluster> {
    CLUSTER
        .get_or_init(|| start_or_join().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| err(e.clone()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest `/usr/lib/postgresql/<v>/bin` that has `initdb`.
pub fn find_pg_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TROTH_PG_BIN") {
        return Ok(PathBuf::from(p));
    }
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        for e in rd.flatten() {
            let bin = e.path().join("bin");
            let v = e.file_name().to_string_lossy().parse::<u32>().unwrap_or(0);
            if bin.join("initdb").exists() && best.as_ref().is_none_or(|(bv, _)| v > *bv) {
                best = Some((v, bin));
            }
        }
    }
    best.map(|(_, p)| p).ok_or_else(|| {
        err(
            "postgresql server binaries not found under /usr/lib/postgresql/*/bin\n\
             help: install them with `apt-get install postgresql` (scripts/test does this), \
             or set TROTH_PG_BIN or TROTH_TEST_PG_URL",
        )
    })
}

fn state_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("TROTH_PG_TEST_DIR") {
        return PathBuf::from(p);
    }
    // One cluster per build directory: test binaries live in <target>/<profile>/deps.
    use std::hash::{Hash, Hasher};
    let exe = std::env::current_exe().unwrap_or_default();
    let key = exe.parent().and_then(Path::parent).unwrap_or(&exe);
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    std::env::temp_dir().join(format!(
        "troth-pg-test-{:012x}",
        h.finish() & 0xffff_ffff_ffff
    ))
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root.
fn pg_command(bin: &Path, tool: &str, as_postgres: bool) -> Command {
    let path = bin.join(tool);
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn run(mut cmd: Command, what: &str) -> Result<String> {
    let out = cmd
        .output()
        .map_err(|e| err(format!("{what}: cannot run: {e}")))?;
    if !out.status.success() {
        return Err(err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| err(format!("no free port: {e}")))?;
    Ok(l.local_addr().map_err(|e| err(e.to_string()))?.port())
}

fn accepting(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .is_ok()
}

fn start_or_join() -> Result<PgCluster> {
    if let Ok(url) = std::env::var("TROTH_TEST_PG_URL") {
        return Ok(PgCluster {
            admin_url: url,
            bin: find_pg_bin().ok(),
            as_postgres: false,
        });
    }
    let bin = find_pg_bin()?;
    let as_postgres = is_root();
    let base = state_dir();
    std::fs::create_dir_all(&base).map_err(|e| err(format!("create {}: {e}", base.display())))?;
    // The postgres user must be able to reach its data directory through `base`.
    set_mode(&base, 0o755)?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(base.join("lock"))
        .map_err(|e| err(format!("lock file: {e}")))?;
    // Held until the end of this function: one process starts, the others wait and join.
    lock.lock().map_err(|e| err(format!("lock: {e}")))?;

    let port_file = base.join("port");
    let data = base.join("data");
    let run_dir = base.join("run");
    if let Ok(p) = std::fs::read_to_string(&port_file)
        && let Ok(port) = p.trim().parse::<u16>()
        && accepting(port)
    {
        return Ok(PgCluster::local(port, bin, as_postgres));
    }
    for d in [&data, &run_dir] {
        std::fs::create_dir_all(d).map_err(|e| err(format!("create {}: {e}", d.display())))?;
        if as_postgres {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", "postgres:postgres"]).arg(d);
                    c
                },
                "chown",
            )?;
        }
    }
    set_mode(&data, 0o700)?;
    if !data.join("PG_VERSION").exists() {
        let mut c = pg_command(&bin, "initdb", as_postgres);
        c.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        ]);
        run(c, "initdb")?;
    }
    let port = free_port()?;
    let mut c = pg_command(&bin, "pg_ctl", as_postgres);
    c.arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(run_dir.join("postgres.log"))
        .args(["-w", "-t", "60", "-o"])
        .arg(format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
            run_dir.display()
        ))
        .arg("start");
    run(c, "pg_ctl start")?;
    std::fs::write(&port_file, port.to_string()).map_err(|e| err(format!("port file: {e}")))?;
    Ok(PgCluster::local(port, bin, as_postgres))
}

fn set_mode(p: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| err(format!("chmod {}: {e}", p.display())))
}

impl PgCluster {
    fn local(port: u16, bin: PathBuf, as_postgres: bool) -> Self {
        Self {
            admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin: Some(bin),
            as_postgres,
        }
    }

    /// URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        match self.admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{db}"),
            None => format!("{}/{db}", self.admin_url),
        }
    }

    /// Creates a fresh, uniquely named database and returns its name.
    pub async fn create_database(&self, prefix: &str) -> Result<String> {
        let nanos = jiff::Timestamp::now().subsec_nanosecond();
        let name = format!(
            "{prefix}_{}_{}_{nanos}",
            std::process::id(),
            DB_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await?;
        // The name is ours (letters, digits, underscores), so formatting it in is safe.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(name)
    }

    /// Runs `pg_dump` of database `db` (plain SQL) and returns its output.
    pub fn pg_dump(&self, db: &str) -> Result<Vec<u8>> {
        let bin = self
            .bin
            .as_ref()
            .ok_or_else(|| err("pg_dump needs the postgresql binaries"))?;
        let out = Command::new(bin.join("pg_dump"))
            .arg("--dbname")
            .arg(self.url(db))
            .output()
            .map_err(|e| err(format!("pg_dump: {e}")))?;
        if !out.status.success() {
            return Err(err(format!(
                "pg_dump failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(out.stdout)
    }

    /// Loads a plain-SQL dump into a fresh database (via `psql`); returns its name.
    pub async fn restore(&self, dump: &[u8]) -> Result<String> {
        let name = self.create_database("troth_restore").await?;
        let bin = self
            .bin
            .as_ref()
            .ok_or_else(|| err("psql needs the postgresql binaries"))?;
        let path = std::env::temp_dir().join(format!("{name}.sql"));
        std::fs::write(&path, dump).map_err(|e| err(format!("write dump: {e}")))?;
        let out = Command::new(bin.join("psql"))
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(&path)
            .arg(self.url(&name))
            .output()
            .map_err(|e| err(format!("psql: {e}")));
        let _ = std::fs::remove_file(&path);
        let out = out?;
        if !out.status.success() {
            return Err(err(format!(
                "restore failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(name)
    }

    /// Whether server tools run through `runuser -u postgres`.
    pub fn runs_as_postgres(&self) -> bool {
        self.as_postgres
    }
}

/// Names of a test's PostgreSQL databases.
#[derive(Clone, Debug)]
pub struct PgTestDb {
    /// Data database name.
    pub data_db: String,
    /// Key database name.
    pub keys_db: String,
    /// URL of the data database.
    pub data_url: String,
    /// URL of the key database.
    pub keys_url: String,
}

/// A migrated PostgreSQL store on two fresh databases of the shared test cluster.
pub async fn fresh_pg_store(config: StoreConfig) -> Result<(PgStore, PgTestDb)> {
    let cluster = tokio::task::spawn_blocking(pg_cluster)
        .await
        .map_err(|e| err(e.to_string()))??;
    let data_db = cluster.create_database("troth_t").await?;
    let keys_db = cluster.create_database("troth_k").await?;
    let db = PgTestDb {
        data_url: cluster.url(&data_db),
        keys_url: cluster.url(&keys_db),
        data_db,
        keys_db,
    };
    let store = PgStore::connect(&db.data_url, &db.keys_url, config).await?;
    store.migrate().await?;
    Ok((store, db))
}

/// A migrated SQLite store in `dir`.
pub async fn fresh_sqlite_store(dir: &Path, config: StoreConfig) -> Result<SqliteStore> {
    let store = SqliteStore::open_dir(dir, config).await?;
    store.migrate().await?;
    Ok(store)
}
