//! The data map: where a company keeps personal data, and how to erase it.
//!
//! A map is a TOML (or YAML) file with two sections:
//!
//! ```toml
//! [databases.shop]
//! url_env = "SHOP_DATABASE_URL"     # or url = "postgres://…" / "mysql://…" / "sqlite://…"
//!
//! [databases.shop.tables.customers]
//! key = "id"                                    # one column that identifies a row
//! identity = { email = "email", external_id = "ref" }   # identity kind -> column
//! columns.email = { category = "email", erase = "hash" }
//! columns.name = { category = "name", erase = "mask", mask = "-" }
//!
//! [databases.shop.tables.orders]
//! key = "id"
//! relations = [{ column = "customer_id", references = "customers" }]  # to = "id" by default
//! erase = "delete-row"                          # table-wide: delete the subject's rows
//! columns.address = { category = "postal-address", erase = "keep" }
//!
//! [endpoints.crm]
//! url = "https://crm.example.com/troth"
//! secret_env = "CRM_TROTH_SECRET"
//! ```
//!
//! A table's rows belong to the subject when an identity column holds one of the
//! subject's values, or when a relation column holds a key of a row of the
//! referenced table that belongs to the subject (foreign keys are followed from
//! parents to children). Erase strategies per column: `delete-row`, `set-null`,
//! `mask` (a fixed text, `mask = "…"`, default `[erased]`), `hash` (HMAC-SHA256
//! with the connector's key, stored as `hmac:<64 hex>`), `random` (`rnd:<32 hex>`)
//! and `keep`. A `delete-row` column (or the table's `erase = "delete-row"`)
//! deletes the whole row.
//!
//! Checks never stop at the first problem: [`DataMap::parse_toml`] returns every
//! problem, each naming the file, the place in the map and the reason.

use crate::error::{MapErrors, MapProblem};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use troth_policy::ids::CategoryId;

/// What erasure does to one column of the subject's rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Delete the row.
    DeleteRow,
    /// Set the column to NULL.
    SetNull,
    /// Overwrite with this fixed text.
    Mask(String),
    /// Replace by `hmac:` + hex HMAC-SHA256 of the value under the connector's key.
    Hash,
    /// Replace by `rnd:` + 32 random hex digits.
    Random,
    /// Leave as it is (the column is exported by access only).
    Keep,
}

/// The default text of the `mask` strategy.
pub const DEFAULT_MASK: &str = "[erased]";

/// Where a database connector finds its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlSource {
    /// The URL itself.
    Literal(String),
    /// An environment variable holding it.
    Env(String),
}

/// A foreign key followed from parent rows to child rows: `column` of this table
/// holds values of `to` in table `references`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relation {
    /// Column of this (child) table.
    pub column: String,
    /// The parent table.
    pub references: String,
    /// Column of the parent table (its key unless given).
    pub to: String,
}

/// One personal-data column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMap {
    /// Column name.
    pub name: String,
    /// Data category (an id of the tenant's policy).
    pub category: CategoryId,
    /// What erasure does.
    pub erase: Strategy,
}

/// One table of a mapped database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMap {
    /// Table name, optionally schema-qualified (`crm.customers`).
    pub name: String,
    /// Column identifying a row (integer or text).
    pub key: String,
    /// Identity kind (`email`, `phone`, `external_id`…) → column holding it.
    pub identity: BTreeMap<String, String>,
    /// Relations to parent tables.
    pub relations: Vec<Relation>,
    /// Personal-data columns, by name.
    pub columns: Vec<ColumnMap>,
    /// Whether erasure deletes the subject's rows (table-wide or by a column).
    pub delete_rows: bool,
    /// Whether the table itself says `erase = "delete-row"`.
    pub delete_table: bool,
}

/// One mapped database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseMap {
    /// Connector name.
    pub name: String,
    /// Where the URL comes from (absent: the caller passes it).
    pub url: Option<UrlSource>,
    /// Tables, parents before children (a topological order over relations).
    pub tables: Vec<TableMap>,
}

/// One company HTTP endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointMap {
    /// Connector name.
    pub name: String,
    /// `https://` (or `http://`) URL receiving the signed calls.
    pub url: String,
    /// Environment variable holding the shared signing secret.
    pub secret_env: String,
    /// Request timeout in milliseconds.
    pub timeout_ms: u64,
}

/// A validated data map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataMap {
    /// Databases by name.
    pub databases: Vec<DatabaseMap>,
    /// HTTP endpoints by name.
    pub endpoints: Vec<EndpointMap>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMap {
    #[serde(default)]
    databases: BTreeMap<String, RawDatabase>,
    #[serde(default)]
    endpoints: BTreeMap<String, RawEndpoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<String>,
    url_env: Option<String>,
    #[serde(default)]
    tables: BTreeMap<String, RawTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    key: Option<String>,
    #[serde(default)]
    identity: BTreeMap<String, String>,
    #[serde(default)]
    relations: Vec<RawRelation>,
    erase: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, RawColumn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelation {
    column: String,
    references: String,
    to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    category: Option<String>,
    erase: Option<String>,
    mask: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    url: Option<String>,
    secret_env: Option<String>,
    timeout_ms: Option<u64>,
}

const STRATEGIES: &str = "delete-row, set-null, mask, hash, random, keep";

impl DataMap {
    /// Reads and checks a map file: `.yaml`/`.yml` as YAML, anything else as TOML.
    pub fn load(path: &Path) -> Result<Self, MapErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            MapErrors(vec![MapProblem {
                file: file.clone(),
                path: String::new(),
                message: format!("cannot read: {e}"),
            }])
        })?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Self::parse_yaml(&text, &file),
            _ => Self::parse_toml(&text, &file),
        }
    }

    /// Parses and checks a TOML map; `file` names it in problems.
    pub fn parse_toml(text: &str, file: &str) -> Result<Self, MapErrors> {
        let raw: RawMap = toml::from_str(text).map_err(|e| one(file, "", e.to_string()))?;
        validate(raw, file)
    }

    /// Parses and checks a YAML map; `file` names it in problems.
    pub fn parse_yaml(text: &str, file: &str) -> Result<Self, MapErrors> {
        let raw: RawMap =
            serde_yaml_ng::from_str(text).map_err(|e| one(file, "", e.to_string()))?;
        validate(raw, file)
    }

    /// The database named `name`.
    pub fn database(&self, name: &str) -> Option<&DatabaseMap> {
        self.databases.iter().find(|d| d.name == name)
    }

    /// The endpoint named `name`.
    pub fn endpoint(&self, name: &str) -> Option<&EndpointMap> {
        self.endpoints.iter().find(|d| d.name == name)
    }

    /// Categories the map uses that `known` does not hold (e.g. the ids of the
    /// tenant's policy), as problems naming the column.
    pub fn unknown_categories(&self, known: &BTreeSet<CategoryId>, file: &str) -> Vec<MapProblem> {
        let mut out = Vec::new();
        for d in &self.databases {
            for t in &d.tables {
                for c in &t.columns {
                    if !known.contains(&c.category) {
                        out.push(MapProblem {
                            file: file.to_owned(),
                            path: format!(
                                "databases.{}.tables.{}.columns.{}",
                                d.name, t.name, c.name
                            ),
                            message: format!("category `{}` is not in the policy", c.category),
                        });
                    }
                }
            }
        }
        out
    }
}

impl TableMap {
    /// The mapped column `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnMap> {
        self.columns.iter().find(|c| c.name == name)
    }
}

impl DatabaseMap {
    /// The map restricted to erasing `categories`: columns of other categories
    /// become `keep`; a table deletes rows only through a `delete-row` column of a
    /// selected category, or when it is deleted table-wide and maps a column of a
    /// selected category. Tables and relations stay, so rows are found the same way.
    pub fn only_categories(&self, categories: &BTreeSet<CategoryId>) -> Self {
        let mut out = self.clone();
        for t in &mut out.tables {
            let selected = |c: &ColumnMap| categories.contains(&c.category);
            t.delete_rows = t
                .columns
                .iter()
                .any(|c| selected(c) && (t.delete_table || c.erase == Strategy::DeleteRow));
            for c in &mut t.columns {
                if !selected(c) {
                    c.erase = Strategy::Keep;
                }
            }
        }
        out
    }

    /// The table `name`.
    pub fn table(&self, name: &str) -> Option<&TableMap> {
        self.tables.iter().find(|t| t.name == name)
    }
}

fn one(file: &str, path: &str, message: String) -> MapErrors {
    MapErrors(vec![MapProblem {
        file: file.to_owned(),
        path: path.to_owned(),
        message,
    }])
}

/// A SQL identifier (optionally `schema.name`): letters, digits, `_` and `$`, not
/// starting with a digit. Quoting then makes it safe in every dialect.
pub(crate) fn valid_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').count() <= 2
        && s.split('.').all(|p| {
            !p.is_empty()
                && p.len() <= 63
                && !p.starts_with(|c: char| c.is_ascii_digit())
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
}

struct Checker<'a> {
    file: &'a str,
    problems: Vec<MapProblem>,
}

impl Checker<'_> {
    fn push(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(MapProblem {
            file: self.file.to_owned(),
            path: path.to_owned(),
            message: message.into(),
        });
    }

    fn ident(&mut self, path: &str, what: &str, name: &str) {
        if !valid_identifier(name) {
            self.push(
                path,
                format!("{what} `{name}` is not a plain SQL identifier (letters, digits, `_`, `$`; optional `schema.`)"),
            );
        }
    }
}

fn strategy(name: &str, mask: Option<&str>) -> Option<Strategy> {
    Some(match name {
        "delete-row" => Strategy::DeleteRow,
        "set-null" => Strategy::SetNull,
        "mask" => Strategy::Mask(mask.unwrap_or(DEFAULT_MASK).to_owned()),
        "hash" => Strategy::Hash,
        "random" => Strategy::Random,
        "keep" => Strategy::Keep,
        _ => return None,
    })
}

fn validate(raw: RawMap, file: &str) -> Result<DataMap, MapErrors> {
    let mut ck = Checker {
        file,
        problems: Vec::new(),
    };
    let mut map = DataMap::default();
    if raw.databases.is_empty() && raw.endpoints.is_empty() {
        ck.push("", "the map has neither `databases` nor `endpoints`");
    }
    let mut names = BTreeSet::new();
    for (dname, db) in raw.databases {
        let dpath = format!("databases.{dname}");
        names.insert(dname.clone());
        let url = match (db.url, db.url_env) {
            (Some(_), Some(_)) => {
                ck.push(&dpath, "give `url` or `url_env`, not both");
                None
            }
            (Some(u), None) => {
                if ![
                    "postgres://",
                    "postgresql://",
                    "mysql://",
                    "mariadb://",
                    "sqlite:",
                ]
                .iter()
                .any(|p| u.starts_with(p))
                {
                    ck.push(
                        &format!("{dpath}.url"),
                        "unsupported URL scheme (postgres://, mysql://, mariadb://, sqlite://)",
                    );
                }
                Some(UrlSource::Literal(u))
            }
            (None, Some(v)) => Some(UrlSource::Env(v)),
            (None, None) => None,
        };
        if db.tables.is_empty() {
            ck.push(&dpath, "the database maps no tables");
        }
        let table_names: BTreeSet<String> = db.tables.keys().cloned().collect();
        let keys: BTreeMap<String, Option<String>> = db
            .tables
            .iter()
            .map(|(n, t)| (n.clone(), t.key.clone()))
            .collect();
        let mut tables = Vec::new();
        for (tname, t) in db.tables {
            let tpath = format!("{dpath}.tables.{tname}");
            ck.ident(&tpath, "table name", &tname);
            let key = match t.key {
                Some(k) => {
                    ck.ident(&format!("{tpath}.key"), "key column", &k);
                    k
                }
                None => {
                    ck.push(&tpath, "missing `key` (the column identifying a row)");
                    String::new()
                }
            };
            for (kind, col) in &t.identity {
                ck.ident(&format!("{tpath}.identity.{kind}"), "identity column", col);
            }
            if t.identity.is_empty() && t.relations.is_empty() {
                ck.push(
                    &tpath,
                    "unreachable: the table has neither `identity` columns nor `relations`",
                );
            }
            let mut relations = Vec::new();
            for (i, r) in t.relations.into_iter().enumerate() {
                let rpath = format!("{tpath}.relations[{i}]");
                ck.ident(&rpath, "relation column", &r.column);
                let to = match (&r.to, keys.get(&r.references)) {
                    (Some(to), _) => {
                        ck.ident(&rpath, "referenced column", to);
                        to.clone()
                    }
                    (None, Some(Some(k))) => k.clone(),
                    _ => String::new(),
                };
                if !table_names.contains(&r.references) {
                    ck.push(
                        &rpath,
                        format!("relation to unknown table `{}`", r.references),
                    );
                }
                relations.push(Relation {
                    column: r.column,
                    references: r.references,
                    to,
                });
            }
            let delete_table = match t.erase.as_deref() {
                None => false,
                Some("delete-row") => true,
                Some(other) => {
                    ck.push(&format!("{tpath}.erase"), format!("unknown table erase strategy `{other}` (only `delete-row` applies to a whole table)"));
                    false
                }
            };
            let mut delete_rows = delete_table;
            let mut columns = Vec::new();
            for (cname, c) in t.columns {
                let cpath = format!("{tpath}.columns.{cname}");
                ck.ident(&cpath, "column name", &cname);
                let category = match c.category.as_deref().map(CategoryId::new) {
                    None => {
                        ck.push(&cpath, "column without `category`");
                        None
                    }
                    Some(Err(e)) => {
                        ck.push(&cpath, format!("bad category id: {e}"));
                        None
                    }
                    Some(Ok(id)) => Some(id),
                };
                let erase = match c.erase.as_deref() {
                    None => {
                        ck.push(
                            &cpath,
                            format!("column without `erase` strategy (one of {STRATEGIES})"),
                        );
                        None
                    }
                    Some(s) => match strategy(s, c.mask.as_deref()) {
                        Some(st) => Some(st),
                        None => {
                            ck.push(
                                &cpath,
                                format!("unknown erase strategy `{s}` (one of {STRATEGIES})"),
                            );
                            None
                        }
                    },
                };
                if c.mask.is_some() && c.erase.as_deref() != Some("mask") {
                    ck.push(&cpath, "`mask` is only used with erase = \"mask\"");
                }
                if let (Some(category), Some(erase)) = (category, erase) {
                    if erase == Strategy::DeleteRow {
                        delete_rows = true;
                    }
                    columns.push(ColumnMap {
                        name: cname,
                        category,
                        erase,
                    });
                }
            }
            tables.push(TableMap {
                name: tname,
                key,
                identity: t.identity,
                relations,
                columns,
                delete_rows,
                delete_table,
            });
        }
        let tables = match topo_order(tables) {
            Ok(t) => t,
            Err(cycle) => {
                ck.push(
                    &dpath,
                    format!("cycle in relations: {}", cycle.join(" -> ")),
                );
                Vec::new()
            }
        };
        if !tables.is_empty() && tables.iter().all(|t| t.identity.is_empty()) {
            ck.push(
                &dpath,
                "no table has `identity` columns, so no row can be found",
            );
        }
        map.databases.push(DatabaseMap {
            name: dname,
            url,
            tables,
        });
    }
    for (ename, e) in raw.endpoints {
        let epath = format!("endpoints.{ename}");
        if !names.insert(ename.clone()) {
            ck.push(&epath, "an endpoint and a database share this name");
        }
        let url = e.url.unwrap_or_default();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            ck.push(&format!("{epath}.url"), "missing or not an http(s) URL");
        }
        let secret_env = e.secret_env.unwrap_or_default();
        if secret_env.is_empty() {
            ck.push(
                &epath,
                "missing `secret_env` (the variable holding the signing secret)",
            );
        }
        map.endpoints.push(EndpointMap {
            name: ename,
            url,
            secret_env,
            timeout_ms: e.timeout_ms.unwrap_or(10_000),
        });
    }
    if ck.problems.is_empty() {
        Ok(map)
    } else {
        Err(MapErrors(ck.problems))
    }
}

/// Orders tables parents first; on a cycle returns the tables on it.
fn topo_order(tables: Vec<TableMap>) -> Result<Vec<TableMap>, Vec<String>> {
    // Kahn's algorithm over child -> parent edges; deterministic (names sorted).
    let mut pending: BTreeMap<String, TableMap> =
        tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut out: Vec<TableMap> = Vec::new();
    loop {
        let done: BTreeSet<&str> = out.iter().map(|t| t.name.as_str()).collect();
        let ready: Vec<String> = pending
            .values()
            .filter(|t| {
                t.relations.iter().all(|r| {
                    done.contains(r.references.as_str()) || !pending.contains_key(&r.references)
                })
            })
            .map(|t| t.name.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        for n in ready {
            if let Some(t) = pending.remove(&n) {
                out.push(t);
            }
        }
    }
    if pending.is_empty() {
        return Ok(out);
    }
    // Walk parent links from any remaining table until one repeats: that is a cycle.
    let mut path: Vec<String> = Vec::new();
    let mut cur = pending.keys().next().cloned().unwrap_or_default();
    while !path.contains(&cur) {
        path.push(cur.clone());
        let next = pending
            .get(&cur)
            .and_then(|t| {
                t.relations
                    .iter()
                    .find(|r| pending.contains_key(&r.references))
            })
            .map(|r| r.references.clone());
        match next {
            Some(n) => cur = n,
            None => break,
        }
    }
    let start = path.iter().position(|p| *p == cur).unwrap_or(0);
    let mut cycle: Vec<String> = path[start..].to_vec();
    cycle.push(cur);
    Err(cycle)
}
