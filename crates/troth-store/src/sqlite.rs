//! The SQLite backend: the embedded default.
//!
//! Two database files: data (`troth.db`) and keys (`troth-keys.db`), so a backup of
//! the data file never holds the keys that crypto-shredding destroys. Both run in
//! WAL mode with `synchronous=FULL` (an acknowledged commit survives power loss) and
//! foreign keys on. All data writes go through one connection (SQLite has one writer
//! anyway; this turns lock contention into queueing), reads through a small pool.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::time::Duration;

type Db = sqlx::Sqlite;
type This = SqliteStore;

// SQLite serialises writers on the database lock, taken by BEGIN IMMEDIATE.
const SQL_LOCK_HEAD: &str =
    "SELECT consent_seq, audit_seq, audit_hash FROM tenant_heads WHERE tenant_id = $1";

const DATA_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_service.sql")),
    (
        3,
        include_str!("../migrations/sqlite/0003_consent_rowid.sql"),
    ),
    (5, include_str!("../migrations/sqlite/0005_rights.sql")),
    (6, include_str!("../migrations/sqlite/0006_outbox.sql")),
    (7, include_str!("../migrations/sqlite/0007_retention.sql")),
    (9, include_str!("../migrations/sqlite/0009_incidents.sql")),
    (10, include_str!("../migrations/sqlite/0010_cessation.sql")),
    (11, include_str!("../migrations/sqlite/0011_calendar.sql")),
    (
        14,
        include_str!("../migrations/sqlite/0014_sweep_in_key_order.sql"),
    ),
    (
        15,
        include_str!("../migrations/sqlite/0015_certifications.sql"),
    ),
];
const KEY_MIGRATIONS: &[(i64, &str)] =
    &[(1, include_str!("../migrations/sqlite/keys_0001_init.sql"))];

/// The data file name inside a store directory.
pub const DATA_FILE: &str = "troth.db";
/// The key file name inside a store directory.
pub const KEYS_FILE: &str = "troth-keys.db";

async fn begin_data(s: &Shared) -> Result<Transaction<'static, Db>> {
    // IMMEDIATE takes the write lock up front: no deferred-upgrade SQLITE_BUSY,
    // even if another process opened the same file.
    Ok(s.data_write.begin_with("BEGIN IMMEDIATE").await?)
}

async fn begin_migration(pool: &Pool<Db>) -> Result<Transaction<'static, Db>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

include!("common.rs");
include!("service_impl.rs");
include!("rights_impl.rs");
include!("retention_impl.rs");
include!("outbox_impl.rs");
include!("incidents_impl.rs");
include!("calendar_impl.rs");
include!("cessation_impl.rs");
include!("rotation.rs");
include!("vault_list_impl.rs");
include!("certification_impl.rs");

/// The SQLite store. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
    paths: Arc<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("data", &self.paths.0)
            .field("keys", &self.paths.1)
            .finish_non_exhaustive()
    }
}

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Statement journals (multi-row INSERTs inside a transaction need one) in
        // memory instead of a temporary file created and deleted per batch.
        .pragma("temp_store", "memory")
}

/// Copies committed WAL frames into the database file every 200 ms without
/// blocking the writer (PASSIVE). Ends when the store is dropped or closed.
async fn checkpoint_loop(shared: std::sync::Weak<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.data_read.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&shared.data_read)
            .await
            && !shared.data_read.is_closed()
        {
            tracing::warn!(error = %e, "wal checkpoint failed");
        }
    }
}

impl SqliteStore {
    /// Opens (creating if missing) a store in `dir`: `dir/troth.db` and
    /// `dir/troth-keys.db`. Call [`Store::migrate`] before use.
    pub async fn open_dir(dir: impl AsRef<Path>, config: StoreConfig) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::InvalidLocation(format!("cannot create directory: {e}")))?;
        Self::open(dir.join(DATA_FILE), dir.join(KEYS_FILE), config).await
    }

    /// Opens (creating if missing) a store from a data file and a separate key file.
    /// Must be called inside a tokio runtime (it starts the consent writer task).
    pub async fn open(
        data: impl AsRef<Path>,
        keys: impl AsRef<Path>,
        config: StoreConfig,
    ) -> Result<Self> {
        let (data, keys) = (data.as_ref().to_path_buf(), keys.as_ref().to_path_buf());
        if data == keys {
            return Err(StoreError::InvalidLocation(
                "the key file must differ from the data file".into(),
            ));
        }
        // A background task checkpoints every 200 ms, off the commit path. Under
        // constant writes that alone never lets the log restart, so the file grows
        // without end and every commit pays for extending it (page zeroing, size
        // metadata in the fsync). The writer therefore also checkpoints once the
        // log holds 1,000 frames: little is left to copy by then, and the next
        // transaction rewrites the log from its start (14.5k → 19.8k events/s).
        let data_write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options(&data).pragma("wal_autocheckpoint", "1000"))
            .await?;
        // Readers map the database file instead of copying pages through read(2):
        // long scans (audit verification, exports) are dominated by that copy.
        // Eight readers: audit verification reads with four at once, and API reads
        // must not queue behind it (WAL readers never block each other).
        let data_read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options(&data).pragma("mmap_size", "1073741824"))
            .await?;
        let key_pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options(&keys))
            .await?;
        let inner = Inner::start(Shared::new(data_write, data_read, key_pool, config));
        tokio::spawn(checkpoint_loop(Arc::downgrade(&inner.shared)));
        Ok(Self {
            inner: Arc::new(inner),
            paths: Arc::new((data, keys)),
        })
    }

    /// Path of the data file.
    pub fn data_path(&self) -> &Path {
        &self.paths.0
    }

    /// Path of the key file.
    pub fn keys_path(&self) -> &Path {
        &self.paths.1
    }

    /// Writes a consistent copy of the data database (no keys) to `dest` with
    /// `VACUUM INTO`. `dest` must not exist.
    pub async fn backup_data_to(&self, dest: impl AsRef<Path>) -> Result<()> {
        let dest = dest
            .as_ref()
            .to_str()
            .ok_or_else(|| StoreError::InvalidLocation("backup path is not utf-8".into()))?
            .to_owned();
        sqlx::query("VACUUM INTO $1")
            .bind(dest)
            .execute(&self.inner.shared.data_write)
            .await?;
        Ok(())
    }
}
