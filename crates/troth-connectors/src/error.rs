//! Typed errors. None of them carries a personal value: they name files, tables,
//! columns and connectors, and describe driver failures by kind and code only
//! (database messages can quote the offending value, so they are never copied).

use std::fmt;

/// One problem found in a data map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapProblem {
    /// The map file (or `<string>` for text parsed without a file).
    pub file: String,
    /// Where in the map: `databases.shop.tables.orders.columns.email`.
    pub path: String,
    /// Why it is wrong.
    pub message: String,
}

impl fmt::Display for MapProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.path, self.message)
        }
    }
}

/// Every problem found in a data map (checks never stop at the first one).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid data map: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct MapErrors(pub Vec<MapProblem>);

/// An error from a connector.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The data map is invalid.
    #[error(transparent)]
    Map(#[from] MapErrors),
    /// The connector's URL is missing or of an unsupported kind.
    #[error("connector `{connector}`: {reason}")]
    Config {
        /// Connector name.
        connector: String,
        /// What is wrong (never the URL itself, which may hold a password).
        reason: String,
    },
    /// Connecting to the database failed.
    #[error("connector `{connector}`: cannot connect: {reason}")]
    Connect {
        /// Connector name.
        connector: String,
        /// Kind of failure (driver error kind or SQLSTATE code).
        reason: String,
    },
    /// A statement failed.
    #[error("connector `{connector}`: {operation} on table `{table}` failed: {reason}")]
    Query {
        /// Connector name.
        connector: String,
        /// Table the statement worked on (`-` for transaction control).
        table: String,
        /// `select`, `delete`, `update`, `begin`, `commit`.
        operation: &'static str,
        /// Kind of failure (driver error kind or SQLSTATE code).
        reason: String,
    },
    /// A key column holds a type the connector cannot carry (integer and text only).
    #[error(
        "connector `{connector}`: column `{table}.{column}`: unsupported key type (use an integer or text column)"
    )]
    KeyType {
        /// Connector name.
        connector: String,
        /// Table.
        table: String,
        /// Column.
        column: String,
    },
    /// A table maps a column to `hash` but the connector has no hash key.
    #[error(
        "connector `{connector}`: table `{table}` hashes column `{column}` but no hash key was given"
    )]
    MissingHashKey {
        /// Connector name.
        connector: String,
        /// Table.
        table: String,
        /// Column.
        column: String,
    },
    /// An environment variable the map names is not set.
    #[error("connector `{connector}`: environment variable `{variable}` is not set")]
    MissingEnv {
        /// Connector name.
        connector: String,
        /// Variable name.
        variable: String,
    },
    /// The HTTP call could not be made or did not finish.
    #[error("connector `{connector}`: HTTP call failed: {reason}")]
    Http {
        /// Connector name.
        connector: String,
        /// Kind of failure.
        reason: String,
    },
    /// The endpoint answered with a non-success status.
    #[error("connector `{connector}`: endpoint answered HTTP {status}")]
    HttpStatus {
        /// Connector name.
        connector: String,
        /// HTTP status code.
        status: u16,
    },
    /// The endpoint's answer is not the documented JSON.
    #[error("connector `{connector}`: bad response at line {line}, column {column}: {reason}")]
    BadResponse {
        /// Connector name.
        connector: String,
        /// Line in the body.
        line: usize,
        /// Column in the body.
        column: usize,
        /// Kind of problem (syntax, data, eof) — never the value.
        reason: &'static str,
    },
}

/// Result with [`ConnectorError`].
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;

/// Describes a driver error without any value it may quote.
pub(crate) fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => match d.code() {
            Some(code) => format!("database error (code {code})"),
            None => "database error".to_owned(),
        },
        sqlx::Error::Io(io) => format!("I/O error ({})", io.kind()),
        sqlx::Error::Tls(_) => "TLS error".to_owned(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".to_owned(),
        sqlx::Error::PoolClosed => "connection pool closed".to_owned(),
        sqlx::Error::Configuration(_) => "bad connection settings".to_owned(),
        sqlx::Error::Protocol(_) => "protocol error".to_owned(),
        sqlx::Error::ColumnDecode { index, .. } => format!("cannot decode column {index}"),
        sqlx::Error::ColumnNotFound(c) => format!("column `{c}` not found"),
        _ => "driver error".to_owned(),
    }
}
