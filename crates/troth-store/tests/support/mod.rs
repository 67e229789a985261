//! Test harness: one store per test on either backend, plus raw database access for
//! the tests that tamper with or back up what is on disk.

use sqlx::Connection as _;
use std::sync::Arc;
use troth_crypto::{AuditEntry, KeyVersion, LocalMasterKey, SecretKey, SigningKeyPair, Vault};
use troth_store::testing::{PgTestDb, fresh_pg_store, fresh_sqlite_store, pg_cluster};
use troth_store::{AnyStore, PgStore, SqliteStore, StoreConfig, TenantId};

/// Fixed keys, so a backup can be reopened with the same master and signing key.
pub fn config() -> StoreConfig {
    let master = LocalMasterKey::new(KeyVersion(1), SecretKey::from_bytes([7u8; 32]));
    let mut c = StoreConfig::new(
        Vault::new(Arc::new(master)),
        SigningKeyPair::from_seed(&[9u8; 32]),
    );
    // Small, so tests cross periodic checkpoints.
    c.checkpoint_every = std::num::NonZeroU64::new(8).unwrap();
    // Small, so verification crosses page boundaries.
    c.verify_page = 100;
    c
}

pub enum Backend {
    Sqlite(tempfile::TempDir),
    Pg(PgTestDb),
}

pub struct Harness {
    pub store: AnyStore,
    pub backend: Backend,
}

/// A backup of the data database.
pub enum Backup {
    Sqlite(std::path::PathBuf),
    Pg(Vec<u8>),
}

impl Harness {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = fresh_sqlite_store(dir.path(), config()).await.unwrap();
        Self {
            store: AnyStore::Sqlite(store),
            backend: Backend::Sqlite(dir),
        }
    }

    pub async fn pg() -> Self {
        let (store, db) = fresh_pg_store(config()).await.unwrap();
        Self {
            store: AnyStore::Postgres(store),
            backend: Backend::Pg(db),
        }
    }

    pub fn name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Pg(_) => "postgres",
        }
    }

    /// Runs `sql` with `$1` bound to the tenant id, on the data database.
    pub async fn raw_exec(&self, sql: &'static str, tenant: &TenantId) -> u64 {
        match (&self.backend, &self.store) {
            (Backend::Sqlite(_), AnyStore::Sqlite(s)) => {
                let mut c = sqlx::SqliteConnection::connect(&sqlite_url(s))
                    .await
                    .unwrap();
                let n = sqlx::query(sql)
                    .bind(tenant.as_str())
                    .execute(&mut c)
                    .await
                    .unwrap()
                    .rows_affected();
                c.close().await.unwrap();
                n
            }
            (Backend::Pg(db), _) => {
                let mut c = sqlx::PgConnection::connect(&db.data_url).await.unwrap();
                let n = sqlx::query(sql)
                    .bind(tenant.as_str())
                    .execute(&mut c)
                    .await
                    .unwrap()
                    .rows_affected();
                c.close().await.unwrap();
                n
            }
            _ => unreachable!(),
        }
    }

    /// Overwrites the stored audit row `seq` with `e`'s contents (keeping its seq).
    pub async fn raw_write_audit_row(&self, tenant: &TenantId, seq: u64, e: &AuditEntry) {
        const SQL: &str = "UPDATE audit_log SET time_ns = $3, actor = $4, action = $5, target = $6,
            detail = $7, prev_hash = $8, hash = $9 WHERE tenant_id = $1 AND seq = $2";
        let time = i64::try_from(e.time.as_nanosecond()).unwrap();
        macro_rules! q {
            () => {
                sqlx::query(SQL)
                    .bind(tenant.as_str())
                    .bind(seq as i64)
                    .bind(time)
                    .bind(&e.actor)
                    .bind(&e.action)
                    .bind(&e.target)
                    .bind(&e.detail)
                    .bind(e.prev_hash.0.to_vec())
                    .bind(e.hash.0.to_vec())
            };
        }
        let n = match (&self.backend, &self.store) {
            (Backend::Sqlite(_), AnyStore::Sqlite(s)) => {
                let mut c = sqlx::SqliteConnection::connect(&sqlite_url(s))
                    .await
                    .unwrap();
                q!().execute(&mut c).await.unwrap().rows_affected()
            }
            (Backend::Pg(db), _) => {
                let mut c = sqlx::PgConnection::connect(&db.data_url).await.unwrap();
                q!().execute(&mut c).await.unwrap().rows_affected()
            }
            _ => unreachable!(),
        };
        assert_eq!(n, 1);
    }

    /// A backup of the data database (SQLite `VACUUM INTO`, PostgreSQL `pg_dump`).
    pub async fn backup(&self) -> Backup {
        match (&self.backend, &self.store) {
            (Backend::Sqlite(dir), AnyStore::Sqlite(s)) => {
                let path = dir.path().join("backup.db");
                s.backup_data_to(&path).await.unwrap();
                Backup::Sqlite(path)
            }
            (Backend::Pg(db), _) => {
                let c = pg_cluster().unwrap();
                Backup::Pg(c.pg_dump(&db.data_db).unwrap())
            }
            _ => unreachable!(),
        }
    }

    /// Opens a store over a restored data backup and the *live* key database.
    pub async fn open_backup(&self, backup: &Backup) -> AnyStore {
        match (&self.backend, &self.store, backup) {
            (Backend::Sqlite(_), AnyStore::Sqlite(s), Backup::Sqlite(p)) => {
                AnyStore::Sqlite(SqliteStore::open(p, s.keys_path(), config()).await.unwrap())
            }
            (Backend::Pg(db), _, Backup::Pg(dump)) => {
                let c = pg_cluster().unwrap();
                let name = c.restore(dump).await.unwrap();
                AnyStore::Postgres(
                    PgStore::connect(&c.url(&name), &db.keys_url, config())
                        .await
                        .unwrap(),
                )
            }
            _ => unreachable!(),
        }
    }

    /// Every byte the store keeps at rest: the SQLite files (db, -wal, -shm for data
    /// and keys), or `pg_dump` of both PostgreSQL databases.
    pub async fn bytes_at_rest(&self) -> Vec<(String, Vec<u8>)> {
        match (&self.backend, &self.store) {
            (Backend::Sqlite(dir), _) => std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .filter(|e| e.path().is_file())
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect(),
            (Backend::Pg(db), _) => {
                let c = pg_cluster().unwrap();
                vec![
                    ("pg_dump data".into(), c.pg_dump(&db.data_db).unwrap()),
                    ("pg_dump keys".into(), c.pg_dump(&db.keys_db).unwrap()),
                ]
            }
        }
    }
}

fn sqlite_url(s: &SqliteStore) -> String {
    format!("sqlite://{}", s.data_path().display())
}

/// Declares each listed `async fn name(h: &Harness)` as a test on both backends.
#[macro_export]
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = $crate::support::Harness::sqlite().await;
                    super::$name(&h).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = $crate::support::Harness::pg().await;
                    super::$name(&h).await;
                }
            )*
        }
    };
}
