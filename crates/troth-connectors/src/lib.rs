//! troth-connectors: the data map and the connectors that carry out access and
//! erasure requests in a company's own systems.
//!
//! * [`DataMap`] (TOML or YAML) says, per database, which tables hold personal data,
//!   which columns identify the subject, each column's category, the relations
//!   (foreign keys) that lead from the subject's rows to related rows, and what
//!   erasure does to each column. It is checked as a whole; every problem names the
//!   file, the place and the reason.
//! * [`SqlConnector`] works on PostgreSQL, MySQL/MariaDB and SQLite. Access returns
//!   every row reachable from the identity rows, grouped by table, with each
//!   column's category. Erasure runs children before parents in one transaction,
//!   is idempotent (a second run changes and reports nothing) and reports rows
//!   deleted and updated per table. SQL identifiers come only from the checked map
//!   and are quoted per dialect; values are always bound parameters.
//! * [`HttpConnector`] POSTs signed JSON calls to a company endpoint
//!   (HMAC-SHA256 over timestamp and body, see [`http`]).
//!
//! Errors never carry personal values; see [`error`].

pub mod error;
pub mod http;
pub mod map;
pub mod sql;
pub mod testing;

pub use error::{ConnectorError, MapErrors, MapProblem, Result};
pub use http::{HttpConnector, SignatureError, sign, verify_signature};
pub use map::{ColumnMap, DataMap, DatabaseMap, EndpointMap, Relation, Strategy, TableMap};
pub use sql::{Dialect, HashKey, SqlConnector};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;

/// The subject's identity values, by identity kind (`email`, `phone`,
/// `external_id`…); the map ties kinds to identity columns.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubjectKeys(BTreeMap<String, Vec<String>>);

impl std::fmt::Debug for SubjectKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Kinds and counts only: the values are personal data.
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v.len())))
            .finish()
    }
}

impl SubjectKeys {
    /// No identities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value of kind `kind`.
    #[must_use]
    pub fn with(mut self, kind: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(kind, value);
        self
    }

    /// Adds a value of kind `kind`.
    pub fn insert(&mut self, kind: impl Into<String>, value: impl Into<String>) {
        let v = self.0.entry(kind.into()).or_default();
        let value = value.into();
        if !v.contains(&value) {
            v.push(value);
        }
    }

    /// Values of kind `kind`.
    pub fn values(&self, kind: &str) -> &[String] {
        self.0.get(kind).map_or(&[], Vec::as_slice)
    }

    /// All kinds and values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Whether there is no value at all.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }
}

/// A column in an access export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportColumn {
    /// Column name.
    pub name: String,
    /// Its data category.
    pub category: String,
}

/// The subject's rows of one table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableRows {
    /// Table name.
    pub table: String,
    /// The mapped columns, in the order of each row's values.
    pub columns: Vec<ExportColumn>,
    /// One entry per row; values as text (SQL) or as the endpoint sent them.
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// Everything one connector holds about the subject.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessResult {
    /// Connector name.
    pub connector: String,
    /// Per table (parents before children for databases).
    pub tables: Vec<TableRows>,
}

impl AccessResult {
    /// Rows over all tables.
    pub fn row_count(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }
}

/// What erasure did to one table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableErasure {
    /// Table name.
    pub table: String,
    /// Rows deleted.
    pub deleted: u64,
    /// Rows changed (set to NULL, masked, hashed or randomised).
    pub updated: u64,
}

/// What erasure did in one connector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureResult {
    /// Connector name.
    pub connector: String,
    /// Per table (children before parents for databases).
    pub tables: Vec<TableErasure>,
}

impl ErasureResult {
    /// Rows deleted or changed over all tables (0 on a repeated erasure).
    pub fn rows_changed(&self) -> u64 {
        self.tables.iter().map(|t| t.deleted + t.updated).sum()
    }
}

/// A place holding personal data that can answer access and erasure requests.
pub trait Connector {
    /// Connector name (from the map).
    fn name(&self) -> &str;
    /// Every row of the subject's, grouped by table with each column's category.
    fn access(&self, who: &SubjectKeys) -> impl Future<Output = Result<AccessResult>> + Send;
    /// Erases the subject's data; idempotent.
    fn erase(&self, who: &SubjectKeys) -> impl Future<Output = Result<ErasureResult>> + Send;
}

/// Either kind of connector, so a map's connectors can be kept in one list.
#[derive(Debug)]
pub enum AnyConnector {
    /// A database.
    Sql(SqlConnector),
    /// A company endpoint.
    Http(HttpConnector),
}

impl Connector for AnyConnector {
    fn name(&self) -> &str {
        match self {
            Self::Sql(c) => c.name(),
            Self::Http(c) => c.name(),
        }
    }

    async fn access(&self, who: &SubjectKeys) -> Result<AccessResult> {
        match self {
            Self::Sql(c) => c.access(who).await,
            Self::Http(c) => c.access(who).await,
        }
    }

    async fn erase(&self, who: &SubjectKeys) -> Result<ErasureResult> {
        match self {
            Self::Sql(c) => c.erase(who).await,
            Self::Http(c) => c.erase(who).await,
        }
    }
}

/// Opens every connector of `map`: database URLs and endpoint secrets from the
/// map (or the environment variables it names); `hash_key` for `hash` columns.
pub async fn connect_all(map: &DataMap, hash_key: Option<&HashKey>) -> Result<Vec<AnyConnector>> {
    let mut out = Vec::new();
    for d in &map.databases {
        out.push(AnyConnector::Sql(
            SqlConnector::connect(d, hash_key.cloned()).await?,
        ));
    }
    for e in &map.endpoints {
        out.push(AnyConnector::Http(HttpConnector::from_env(e)?));
    }
    Ok(out)
}

/// Runs access on every connector concurrently; one result per connector, in order.
pub async fn access_all<C: Connector + Sync>(
    connectors: &[C],
    who: &SubjectKeys,
) -> Vec<Result<AccessResult>> {
    futures_util::future::join_all(connectors.iter().map(|c| c.access(who))).await
}

/// Runs erasure on every connector concurrently; one result per connector, in order
/// (each database in its own transaction: one failing leaves the others' done).
pub async fn erase_all<C: Connector + Sync>(
    connectors: &[C],
    who: &SubjectKeys,
) -> Vec<Result<ErasureResult>> {
    futures_util::future::join_all(connectors.iter().map(|c| c.erase(who))).await
}
