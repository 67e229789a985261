//! The database connector for PostgreSQL, MySQL/MariaDB and SQLite.
//!
//! It works through sqlx's `Any` driver. Identifiers come only from the checked
//! [`DatabaseMap`] and are quoted per dialect (`"x"`, or `` `x` `` on MySQL);
//! values are always bound parameters. Key and relation columns must be integer or
//! text columns; identity columns are compared with the subject's values as text
//! (on PostgreSQL they must be text columns). Mapped columns are read as text
//! (`CAST(… AS TEXT)`, `CAST(… AS CHAR)` on MySQL). `mask`, `hash` and `random`
//! write text, so they suit text columns; `set-null` and `delete-row` suit any.
//!
//! Finding the subject's rows: tables are visited parents first; a table's rows are
//! those whose identity columns hold one of the subject's values or whose relation
//! columns hold a value of the referenced column in the subject's rows of the
//! parent. Erasure first collects the keys of those rows (parents first), then
//! changes the tables children first, all in one transaction.

use crate::error::{ConnectorError, Result, describe};
use crate::map::{DatabaseMap, Strategy, TableMap, UrlSource};
use crate::{
    AccessResult, Connector, ErasureResult, ExportColumn, SubjectKeys, TableErasure, TableRows,
};
use hmac::{Hmac, Mac};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, AssertSqlSafe, Row, Transaction};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use troth_policy::ids::CategoryId;

/// Parameters per statement at most (SQLite's limit is 32,766; PostgreSQL's and
/// MySQL's 65,535).
const MAX_PARAMS: usize = 10_000;

/// Prefix of values written by the `hash` strategy.
pub const HASH_PREFIX: &str = "hmac:";
/// Prefix of values written by the `random` strategy.
pub const RANDOM_PREFIX: &str = "rnd:";

/// SQL dialect of a connector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
    /// SQLite.
    Sqlite,
}

impl Dialect {
    /// The dialect of a `postgres://`, `postgresql://`, `mysql://`, `mariadb://` or
    /// `sqlite:` URL.
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Some(Self::MySql)
        } else if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else {
            None
        }
    }

    /// Quotes a checked identifier (`schema.name` quoted part by part).
    pub fn quote(self, ident: &str) -> String {
        let q = if self == Self::MySql { '`' } else { '"' };
        ident
            .split('.')
            .map(|p| format!("{q}{p}{q}"))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn cast_text(self, quoted: &str) -> String {
        match self {
            Self::MySql => format!("CAST({quoted} AS CHAR)"),
            _ => format!("CAST({quoted} AS TEXT)"),
        }
    }

    /// The placeholder of the `n`th parameter (1-based).
    fn param(self, n: usize) -> String {
        match self {
            Self::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        }
    }
}

/// The secret key of the `hash` strategy (HMAC-SHA256). Never printed.
#[derive(Clone)]
pub struct HashKey(Vec<u8>);

impl HashKey {
    /// A key from its bytes (use at least 32 random bytes).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }
}

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashKey(..)")
    }
}

/// A connector to one mapped database.
pub struct SqlConnector {
    map: DatabaseMap,
    dialect: Dialect,
    pool: AnyPool,
    hash_key: Option<HashKey>,
}

impl std::fmt::Debug for SqlConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlConnector")
            .field("name", &self.map.name)
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

/// A key or relation value, carried in its own type so comparisons use indexes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum KeyVal {
    Int(i64),
    Text(String),
}

/// Rows of one table found for the subject.
#[derive(Default)]
struct Found {
    keys: Vec<KeyVal>,
    /// Values of the columns children reference, by column.
    referenced: BTreeMap<String, Vec<KeyVal>>,
    data: Vec<Vec<serde_json::Value>>,
    /// For a table erasure deletes and no table references: the conditions, so
    /// the rows are deleted directly without reading their keys first.
    direct: Vec<(String, Vec<KeyVal>)>,
}

type Tx = Transaction<'static, Any>;

impl SqlConnector {
    /// Connects with the URL the map gives (`url`, or the variable `url_env` names).
    pub async fn connect(map: &DatabaseMap, hash_key: Option<HashKey>) -> Result<Self> {
        let url = match &map.url {
            Some(UrlSource::Literal(u)) => u.clone(),
            Some(UrlSource::Env(v)) => {
                std::env::var(v).map_err(|_| ConnectorError::MissingEnv {
                    connector: map.name.clone(),
                    variable: v.clone(),
                })?
            }
            None => {
                return Err(ConnectorError::Config {
                    connector: map.name.clone(),
                    reason: "the map gives no `url` or `url_env`".to_owned(),
                });
            }
        };
        Self::connect_to(map, &url, hash_key).await
    }

    /// Connects to `url`, whatever the map says.
    pub async fn connect_to(
        map: &DatabaseMap,
        url: &str,
        hash_key: Option<HashKey>,
    ) -> Result<Self> {
        let name = map.name.clone();
        let dialect = Dialect::from_url(url).ok_or_else(|| ConnectorError::Config {
            connector: name.clone(),
            reason: "unsupported URL scheme (postgres://, mysql://, mariadb://, sqlite://)"
                .to_owned(),
        })?;
        if hash_key.is_none() {
            for t in &map.tables {
                if let Some(c) = t.columns.iter().find(|c| c.erase == Strategy::Hash) {
                    return Err(ConnectorError::MissingHashKey {
                        connector: name,
                        table: t.name.clone(),
                        column: c.name.clone(),
                    });
                }
            }
        }
        sqlx::any::install_default_drivers();
        let url = match url.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await
            .map_err(|e| ConnectorError::Connect {
                connector: name.clone(),
                reason: describe(&e),
            })?;
        Ok(Self {
            map: map.clone(),
            dialect,
            pool,
            hash_key,
        })
    }

    /// The connector's dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The map it works by.
    pub fn map(&self) -> &DatabaseMap {
        &self.map
    }

    /// Closes the connection pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn query_err(
        &self,
        table: &str,
        operation: &'static str,
    ) -> impl Fn(sqlx::Error) -> ConnectorError + '_ {
        let table = table.to_owned();
        move |e| ConnectorError::Query {
            connector: self.map.name.clone(),
            table: table.clone(),
            operation,
            reason: describe(&e),
        }
    }

    async fn begin(&self) -> Result<Tx> {
        self.pool
            .begin()
            .await
            .map_err(self.query_err("-", "begin"))
    }

    /// Finds the subject's rows table by table, parents first.
    async fn find(
        &self,
        map: &DatabaseMap,
        tx: &mut Tx,
        who: &SubjectKeys,
        with_data: bool,
    ) -> Result<Vec<Found>> {
        let d = self.dialect;
        let mut found: Vec<Found> = Vec::with_capacity(map.tables.len());
        for t in &map.tables {
            // Conditions: (quoted column, values) — identity values as text,
            // relation values as the parent's key type.
            let mut conds: Vec<(String, Vec<KeyVal>)> = Vec::new();
            for (kind, col) in &t.identity {
                let vals = who.values(kind);
                if !vals.is_empty() {
                    conds.push((
                        d.quote(col),
                        vals.iter().cloned().map(KeyVal::Text).collect(),
                    ));
                }
            }
            for r in &t.relations {
                let parent = map.tables.iter().position(|p| p.name == r.references);
                let vals = parent
                    .and_then(|i| found.get(i))
                    .and_then(|f| f.referenced.get(&r.to))
                    .filter(|v| !v.is_empty());
                if let Some(vals) = vals {
                    for chunk in vals.chunks(MAX_PARAMS) {
                        conds.push((d.quote(&r.column), chunk.to_vec()));
                    }
                }
            }
            let mut f = Found::default();
            if conds.is_empty() {
                found.push(f);
                continue;
            }
            let is_parent = map
                .tables
                .iter()
                .any(|c| c.relations.iter().any(|r| r.references == t.name));
            if !with_data && t.delete_rows && !is_parent {
                f.direct = conds;
                found.push(f);
                continue;
            }
            // Columns children reference (besides the key).
            let referenced: Vec<&str> = map
                .tables
                .iter()
                .flat_map(|c| c.relations.iter())
                .filter(|r| r.references == t.name && r.to != t.key)
                .map(|r| r.to.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut select = vec![d.quote(&t.key)];
            select.extend(referenced.iter().map(|c| d.quote(c)));
            if with_data {
                select.extend(t.columns.iter().map(|c| d.cast_text(&d.quote(&c.name))));
            }
            let head = format!(
                "SELECT {} FROM {} WHERE ",
                select.join(", "),
                d.quote(&t.name)
            );
            let mut seen: HashSet<KeyVal> = HashSet::new();
            let mut ref_seen: Vec<HashSet<KeyVal>> = vec![HashSet::new(); referenced.len()];
            let mut ref_vals: Vec<Vec<KeyVal>> = vec![Vec::new(); referenced.len()];
            for group in group_conds(&conds) {
                let (sql, args) = where_in(d, &head, group);
                let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &args)
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(self.query_err(&t.name, "select"))?;
                for row in rows {
                    let Some(key) = self.key_at(&row, 0, t, &t.key)? else {
                        continue;
                    };
                    if !seen.insert(key.clone()) {
                        continue;
                    }
                    f.keys.push(key);
                    for (i, col) in referenced.iter().enumerate() {
                        if let Some(v) = self.key_at(&row, 1 + i, t, col)?
                            && ref_seen[i].insert(v.clone())
                        {
                            ref_vals[i].push(v);
                        }
                    }
                    if with_data {
                        let base = 1 + referenced.len();
                        let mut out = Vec::with_capacity(t.columns.len());
                        for i in 0..t.columns.len() {
                            out.push(
                                text_at(&row, base + i)
                                    .map_or(serde_json::Value::Null, serde_json::Value::String),
                            );
                        }
                        f.data.push(out);
                    }
                }
            }
            f.referenced.insert(t.key.clone(), f.keys.clone());
            for (col, vals) in referenced.iter().zip(ref_vals) {
                f.referenced.insert((*col).to_owned(), vals);
            }
            found.push(f);
        }
        Ok(found)
    }

    fn key_at(&self, row: &AnyRow, i: usize, t: &TableMap, col: &str) -> Result<Option<KeyVal>> {
        if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            return Ok(v.map(KeyVal::Int));
        }
        if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            return Ok(v.map(KeyVal::Text));
        }
        Err(ConnectorError::KeyType {
            connector: self.map.name.clone(),
            table: t.name.clone(),
            column: col.to_owned(),
        })
    }

    /// Deletes the rows matching `conds` (a table no other table references).
    async fn delete_direct(
        &self,
        tx: &mut Tx,
        t: &TableMap,
        conds: &[(String, Vec<KeyVal>)],
    ) -> Result<TableErasure> {
        let head = format!("DELETE FROM {} WHERE ", self.dialect.quote(&t.name));
        let mut deleted = 0;
        for group in group_conds(conds) {
            let (sql, args) = where_in(self.dialect, &head, group);
            let res = bind_all(sqlx::query(AssertSqlSafe(sql)), &args)
                .execute(&mut **tx)
                .await
                .map_err(self.query_err(&t.name, "delete"))?;
            deleted += res.rows_affected();
        }
        Ok(TableErasure {
            table: t.name.clone(),
            deleted,
            updated: 0,
        })
    }

    async fn erase_table(
        &self,
        tx: &mut Tx,
        t: &TableMap,
        keys: &[KeyVal],
    ) -> Result<TableErasure> {
        let d = self.dialect;
        let mut r = TableErasure {
            table: t.name.clone(),
            ..TableErasure::default()
        };
        if keys.is_empty() {
            return Ok(r);
        }
        let table = d.quote(&t.name);
        let key = d.quote(&t.key);
        let active: Vec<_> = t
            .columns
            .iter()
            .filter(|c| c.erase != Strategy::Keep)
            .collect();
        if t.delete_rows {
            for chunk in keys.chunks(MAX_PARAMS) {
                let (sql, args) =
                    in_list(d, &format!("DELETE FROM {table} WHERE {key} IN "), chunk, 0);
                let res = bind_all(sqlx::query(AssertSqlSafe(sql)), &args)
                    .execute(&mut **tx)
                    .await
                    .map_err(self.query_err(&t.name, "delete"))?;
                r.deleted += res.rows_affected();
            }
        } else if active
            .iter()
            .any(|c| matches!(c.erase, Strategy::Hash | Strategy::Random))
        {
            // Values computed here: read, transform, write back row by row.
            let cols: Vec<String> = active
                .iter()
                .map(|c| d.cast_text(&d.quote(&c.name)))
                .collect();
            let head = format!(
                "SELECT {key}, {} FROM {table} WHERE {key} IN ",
                cols.join(", ")
            );
            for chunk in keys.chunks(MAX_PARAMS) {
                let (sql, args) = in_list(d, &head, chunk, 0);
                let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &args)
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(self.query_err(&t.name, "select"))?;
                for row in rows {
                    let Some(k) = self.key_at(&row, 0, t, &t.key)? else {
                        continue;
                    };
                    let mut sets = Vec::new();
                    let mut args = Vec::new();
                    for (i, c) in active.iter().enumerate() {
                        let Some(v) = text_at(&row, 1 + i) else {
                            continue;
                        };
                        let new = match &c.erase {
                            Strategy::SetNull => None,
                            Strategy::Mask(m) if v != *m => Some(m.clone()),
                            Strategy::Hash if !v.starts_with(HASH_PREFIX) => Some(self.hash(&v)),
                            Strategy::Random if !v.starts_with(RANDOM_PREFIX) => {
                                Some(random_value())
                            }
                            _ => continue,
                        };
                        let col = d.quote(&c.name);
                        match new {
                            None => sets.push(format!("{col} = NULL")),
                            Some(v) => {
                                args.push(KeyVal::Text(v));
                                sets.push(format!("{col} = {}", d.param(args.len())));
                            }
                        }
                    }
                    if sets.is_empty() {
                        continue;
                    }
                    args.push(k);
                    let sql = format!(
                        "UPDATE {table} SET {} WHERE {key} = {}",
                        sets.join(", "),
                        d.param(args.len())
                    );
                    bind_all(sqlx::query(AssertSqlSafe(sql)), &args)
                        .execute(&mut **tx)
                        .await
                        .map_err(self.query_err(&t.name, "update"))?;
                    r.updated += 1;
                }
            }
        } else if !active.is_empty() {
            // set-null and mask only: one guarded statement per chunk.
            let mut sets = Vec::new();
            let mut guards = Vec::new();
            let mut args = Vec::new();
            for c in &active {
                let col = d.quote(&c.name);
                match &c.erase {
                    Strategy::SetNull => {
                        sets.push(format!("{col} = NULL"));
                        guards.push(format!("{col} IS NOT NULL"));
                    }
                    Strategy::Mask(m) => {
                        args.push(KeyVal::Text(m.clone()));
                        sets.push(format!("{col} = {}", d.param(args.len())));
                        args.push(KeyVal::Text(m.clone()));
                        guards.push(format!("{col} <> {}", d.param(args.len())));
                    }
                    _ => {}
                }
            }
            let head = format!(
                "UPDATE {table} SET {} WHERE ({}) AND {key} IN ",
                sets.join(", "),
                guards.join(" OR ")
            );
            for chunk in keys.chunks(MAX_PARAMS) {
                let (sql, mut more) = in_list(d, &head, chunk, args.len());
                let mut all = args.clone();
                all.append(&mut more);
                let res = bind_all(sqlx::query(AssertSqlSafe(sql)), &all)
                    .execute(&mut **tx)
                    .await
                    .map_err(self.query_err(&t.name, "update"))?;
                r.updated += res.rows_affected();
            }
        }
        Ok(r)
    }

    /// Erases only the columns whose category is in `categories`: other columns are
    /// kept, and rows are deleted only where a selected category's column (or, for
    /// a table-wide `delete-row`, any selected column) asks for it. Relations are
    /// still followed to find the rows. Idempotent like [`Connector::erase`].
    pub async fn erase_categories(
        &self,
        who: &SubjectKeys,
        categories: &BTreeSet<CategoryId>,
    ) -> Result<ErasureResult> {
        self.erase_by(&self.map.only_categories(categories), who)
            .await
    }

    async fn erase_by(&self, map: &DatabaseMap, who: &SubjectKeys) -> Result<ErasureResult> {
        let mut tx = self.begin().await?;
        let found = self.find(map, &mut tx, who, false).await?;
        let mut tables = Vec::with_capacity(found.len());
        // Children before parents: the reverse of the parents-first order.
        for (t, f) in map.tables.iter().zip(&found).rev() {
            tables.push(if f.direct.is_empty() {
                self.erase_table(&mut tx, t, &f.keys).await?
            } else {
                self.delete_direct(&mut tx, t, &f.direct).await?
            });
        }
        tx.commit().await.map_err(self.query_err("-", "commit"))?;
        Ok(ErasureResult {
            connector: self.map.name.clone(),
            tables,
        })
    }

    fn hash(&self, value: &str) -> String {
        let key = self.hash_key.as_ref().map_or(&[][..], |k| k.0.as_slice());
        // HMAC accepts keys of any length, so this never fails.
        let mut mac = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) {
            Ok(m) => m,
            Err(_) => return format!("{HASH_PREFIX}{}", "0".repeat(64)),
        };
        mac.update(value.as_bytes());
        format!("{HASH_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
    }
}

impl Connector for SqlConnector {
    fn name(&self) -> &str {
        &self.map.name
    }

    async fn access(&self, who: &SubjectKeys) -> Result<AccessResult> {
        let mut tx = self.begin().await?;
        let found = self.find(&self.map, &mut tx, who, true).await?;
        tx.commit().await.map_err(self.query_err("-", "commit"))?;
        let tables = self
            .map
            .tables
            .iter()
            .zip(found)
            .map(|(t, f)| TableRows {
                table: t.name.clone(),
                columns: t
                    .columns
                    .iter()
                    .map(|c| ExportColumn {
                        name: c.name.clone(),
                        category: c.category.to_string(),
                    })
                    .collect(),
                rows: f.data,
            })
            .collect();
        Ok(AccessResult {
            connector: self.map.name.clone(),
            tables,
        })
    }

    async fn erase(&self, who: &SubjectKeys) -> Result<ErasureResult> {
        self.erase_by(&self.map, who).await
    }
}

/// Groups conditions so each statement stays under [`MAX_PARAMS`].
fn group_conds(conds: &[(String, Vec<KeyVal>)]) -> Vec<&[(String, Vec<KeyVal>)]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut n = 0;
    for (i, (_, v)) in conds.iter().enumerate() {
        if n + v.len() > MAX_PARAMS && i > start {
            out.push(&conds[start..i]);
            start = i;
            n = 0;
        }
        n += v.len();
    }
    if start < conds.len() {
        out.push(&conds[start..]);
    }
    out
}

/// `head` + `a IN (…) OR b IN (…)`.
fn where_in(d: Dialect, head: &str, conds: &[(String, Vec<KeyVal>)]) -> (String, Vec<KeyVal>) {
    let mut sql = head.to_owned();
    let mut args: Vec<KeyVal> = Vec::new();
    for (i, (col, vals)) in conds.iter().enumerate() {
        if i > 0 {
            sql.push_str(" OR ");
        }
        sql.push_str(col);
        sql.push_str(" IN ");
        let (list, _) = in_list(d, "", vals, args.len());
        sql.push_str(&list);
        args.extend(vals.iter().cloned());
    }
    (sql, args)
}

/// `head` + `(p, p, …)` numbering parameters after `before` earlier ones.
fn in_list(d: Dialect, head: &str, vals: &[KeyVal], before: usize) -> (String, Vec<KeyVal>) {
    let mut sql = String::with_capacity(head.len() + vals.len() * 6 + 2);
    sql.push_str(head);
    sql.push('(');
    for i in 0..vals.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&d.param(before + i + 1));
    }
    sql.push(')');
    (sql, vals.to_vec())
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    args: &[KeyVal],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    for a in args {
        q = match a {
            KeyVal::Int(i) => q.bind(*i),
            KeyVal::Text(s) => q.bind(s.clone()),
        };
    }
    q
}

fn text_at(row: &AnyRow, i: usize) -> Option<String> {
    match row.try_get::<Option<String>, _>(i) {
        Ok(v) => v,
        Err(_) => row
            .try_get::<Option<Vec<u8>>, _>(i)
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
    }
}

fn random_value() -> String {
    let bytes: [u8; 16] = rand::random();
    format!("{RANDOM_PREFIX}{}", hex::encode(bytes))
}
