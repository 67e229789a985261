//! The PostgreSQL backend.
//!
//! Data and keys live in two databases (they may be on one server), so a `pg_dump`
//! of the data database never holds the keys that crypto-shredding destroys.
//! Per-tenant head rows are locked with `SELECT ... FOR UPDATE`, so any number of
//! processes can write to one database without sequence collisions.

use sqlx::postgres::PgPoolOptions;

type Db = sqlx::Postgres;
type This = PgStore;

const SQL_LOCK_HEAD: &str =
    "SELECT consent_seq, audit_seq, audit_hash FROM tenant_heads WHERE tenant_id = $1 FOR UPDATE";

const DATA_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_service.sql")),
    (5, include_str!("../migrations/postgres/0005_rights.sql")),
    (6, include_str!("../migrations/postgres/0006_outbox.sql")),
    (7, include_str!("../migrations/postgres/0007_retention.sql")),
    (9, include_str!("../migrations/postgres/0009_incidents.sql")),
    (
        10,
        include_str!("../migrations/postgres/0010_cessation.sql"),
    ),
    (11, include_str!("../migrations/postgres/0011_calendar.sql")),
    (
        12,
        include_str!("../migrations/postgres/0012_change_notify.sql"),
    ),
    (
        14,
        include_str!("../migrations/postgres/0014_sweep_in_key_order.sql"),
    ),
    (
        15,
        include_str!("../migrations/postgres/0015_certifications.sql"),
    ),
];
const KEY_MIGRATIONS: &[(i64, &str)] =
    &[(1, include_str!("../migrations/postgres/keys_0001_init.sql"))];

/// Advisory lock id serialising migrations across processes ("troth" in ASCII).
const MIGRATION_LOCK: i64 = 0x74_72_6f_74_68;

async fn begin_data(s: &Shared) -> Result<Transaction<'static, Db>> {
    Ok(s.data_write.begin().await?)
}

async fn begin_migration(pool: &Pool<Db>) -> Result<Transaction<'static, Db>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
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

/// The PostgreSQL store. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
    /// Reads of read-heavy paths on a streaming-replication standby, when configured
    /// (see [`PgStore::with_read_replica`]).
    replica: Option<Arc<PgStore>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the data database at `data_url` and the key database at
    /// `keys_url` (e.g. `postgres://troth@127.0.0.1:5432/troth` and `.../troth_keys`).
    /// Passing the same URL keeps keys in the data database: simpler, but then a
    /// full `pg_dump` contains the keys, so backups must exclude `subject_keys`.
    /// Must be called inside a tokio runtime. Call [`Store::migrate`] before use.
    pub async fn connect(data_url: &str, keys_url: &str, config: StoreConfig) -> Result<Self> {
        let data = PgPoolOptions::new()
            .max_connections(8)
            .connect(data_url)
            .await?;
        let keys = PgPoolOptions::new()
            .max_connections(4)
            .connect(keys_url)
            .await?;
        let shared = Shared::new(data.clone(), data, keys, config);
        Ok(Self {
            inner: Arc::new(Inner::start(shared)),
            replica: None,
        })
    }

    /// Adds a read-only standby at `read_url` for the read-heavy paths the server
    /// sends there ([`PgStore::reader`]): policy versions, consent state and decision
    /// index rebuilds. Writes, and every other read (read-your-writes), stay on the
    /// primary. Its connections are named `troth-read` (`application_name`), so
    /// `pg_stat_activity` on the standby shows them. Wrapped keys are still read
    /// from the key database.
    pub async fn with_read_replica(mut self, read_url: &str, config: StoreConfig) -> Result<Self> {
        use std::str::FromStr as _;
        let options = sqlx::postgres::PgConnectOptions::from_str(read_url)?
            .application_name(READ_APPLICATION_NAME);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        let shared = Shared::new(pool.clone(), pool, self.inner.shared.keys.clone(), config);
        self.replica = Some(Arc::new(Self {
            inner: Arc::new(Inner::start(shared)),
            replica: None,
        }));
        Ok(self)
    }

    /// Whether a read replica is configured.
    pub fn has_read_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// The store read-heavy paths should read from: the standby once it has replayed
    /// everything the primary had committed when this was called (waiting up to
    /// `max_wait`), else the primary. So a reader obtained after a write (or after
    /// its change notification arrived) always sees that write.
    pub async fn reader(&self, max_wait: std::time::Duration) -> Result<PgStore> {
        let Some(replica) = &self.replica else {
            return Ok(self.clone());
        };
        let (primary_lsn,): (String,) = sqlx::query_as("SELECT pg_current_wal_lsn()::text")
            .fetch_one(&self.inner.shared.data_write)
            .await?;
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            let caught_up: Option<bool> =
                sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn")
                    .bind(&primary_lsn)
                    .fetch_one(&replica.inner.shared.data_read)
                    .await
                    .ok()
                    .flatten();
            if caught_up == Some(true) {
                return Ok((**replica).clone());
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!("read replica lags; reading from the primary");
                return Ok(self.clone());
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Listens for committed consent and policy changes (see [`crate::notify`]).
    pub async fn listen_changes(
        &self,
        heartbeat: std::time::Duration,
    ) -> Result<crate::notify::ChangeListener> {
        crate::notify::ChangeListener::connect(self.inner.shared.data_write.clone(), heartbeat)
            .await
    }
}

/// `application_name` of the read-replica connections.
pub const READ_APPLICATION_NAME: &str = "troth-read";
