//! The company's own systems, as rights requests reach them: each tenant may have a
//! data map (`[connectors] <tenant> = "map.toml"` in the configuration) whose
//! databases and endpoints answer access requests (their rows join the export
//! bundle) and erasure (run when a deletion or account cancellation completes,
//! before troth's own vault is shredded, so the identities that find the rows are
//! still readable).
//!
//! Connectors are opened once at start-up; a map that does not parse, names an
//! unknown category of the tenant's policy, or points at a database that does not
//! answer stops the server with the reason, rather than leaving requests to
//! complete without reaching that data.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use troth_connectors::{
    AccessResult, AnyConnector, Connector as _, DataMap, ErasureResult, HashKey, SubjectKeys,
};
use troth_policy::ids::CategoryId;
use troth_store::{Access, AnyStore, Store as _, StoreError, SubjectId, TenantId};

/// Why the connectors could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorSetupError {
    /// The map file is invalid (every problem listed).
    #[error("data map of tenant {tenant:?}: {errors}")]
    Map {
        /// Tenant the map is configured for.
        tenant: String,
        /// The problems.
        errors: troth_connectors::MapErrors,
    },
    /// A database or endpoint could not be reached or configured.
    #[error("data map of tenant {tenant:?} ({file}): {error}")]
    Connect {
        /// Tenant the map is configured for.
        tenant: String,
        /// The map file.
        file: String,
        /// What failed.
        error: troth_connectors::ConnectorError,
    },
}

/// Why a request could not reach a connected system.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorRunError {
    /// The subject's identities could not be read.
    #[error("reading the subject's identities failed: {0}")]
    Store(#[from] StoreError),
    /// One or more connectors failed; the others' work stands (erasure is idempotent,
    /// so running it again finishes the job).
    #[error("{}", failed.iter().map(|(n, e)| format!("connector {n:?}: {e}")).collect::<Vec<_>>().join("; "))]
    Failed {
        /// Connector name and its error (no personal values).
        failed: Vec<(String, String)>,
    },
}

/// One tenant's data map and its open connectors.
#[derive(Debug)]
pub struct TenantConnectors {
    file: String,
    map: DataMap,
    connectors: Vec<AnyConnector>,
}

impl TenantConnectors {
    /// The map file, for messages.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Connector names, in map order (databases, then endpoints).
    pub fn names(&self) -> Vec<&str> {
        self.connectors.iter().map(|c| c.name()).collect()
    }

    /// Categories the map names that `known` (the tenant's policy) lacks, as
    /// located problems.
    pub fn unknown_categories(
        &self,
        known: &BTreeSet<CategoryId>,
    ) -> Vec<troth_connectors::MapProblem> {
        self.map.unknown_categories(known, &self.file)
    }
}

/// Every tenant's connectors, opened at start-up.
#[derive(Debug, Default)]
pub struct Connected {
    by_tenant: BTreeMap<TenantId, TenantConnectors>,
}

impl Connected {
    /// Reads each configured map and opens its connectors. `secret` keys the
    /// per-tenant HMAC key of `hash` erasure columns (stable across restarts, so a
    /// hashed value still joins with itself).
    pub async fn open(
        maps: &BTreeMap<String, PathBuf>,
        secret: &[u8; 32],
    ) -> Result<Self, ConnectorSetupError> {
        let mut by_tenant = BTreeMap::new();
        for (tenant, path) in maps {
            let t = open_one(tenant, path, secret).await?;
            by_tenant.insert(TenantId::new(tenant.as_str()), t);
        }
        Ok(Self { by_tenant })
    }

    /// The tenant's connectors, if it has a data map.
    pub fn tenant(&self, tenant: &TenantId) -> Option<&TenantConnectors> {
        self.by_tenant.get(tenant)
    }

    /// Tenants with a data map.
    pub fn tenants(&self) -> impl Iterator<Item = (&TenantId, &TenantConnectors)> {
        self.by_tenant.iter()
    }
}

async fn open_one(
    tenant: &str,
    path: &Path,
    secret: &[u8; 32],
) -> Result<TenantConnectors, ConnectorSetupError> {
    let file = path.display().to_string();
    let map = DataMap::load(path).map_err(|errors| ConnectorSetupError::Map {
        tenant: tenant.to_owned(),
        errors,
    })?;
    let key = hash_key(secret, tenant);
    let connectors = troth_connectors::connect_all(&map, Some(&key))
        .await
        .map_err(|error| ConnectorSetupError::Connect {
            tenant: tenant.to_owned(),
            file: file.clone(),
            error,
        })?;
    Ok(TenantConnectors {
        file,
        map,
        connectors,
    })
}

/// The tenant's key for `hash` erasure columns, derived from the server secret.
fn hash_key(secret: &[u8; 32], tenant: &str) -> HashKey {
    let mut h = blake3::Hasher::new_keyed(secret);
    h.update(b"troth connector hash key\0");
    h.update(tenant.as_bytes());
    HashKey::new(h.finalize().as_bytes().to_vec())
}

/// The subject's identity values by kind, decrypted for a connector call (a vault
/// read audited with `access`), plus `subject_id`, troth's own pseudonymous id,
/// for systems that store it.
pub async fn subject_keys(
    store: &AnyStore,
    tenant: &TenantId,
    subject: &SubjectId,
    access: &Access,
) -> Result<SubjectKeys, StoreError> {
    let ids = match store.identities(tenant, subject, access).await {
        Ok(ids) => ids,
        // Shredded already (a completion retried after a crash): only the id is left.
        Err(e) if e.is_key_destroyed() => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(known_as(
        subject,
        ids.iter()
            .map(|(kind, value)| (kind.as_str(), value.as_str())),
    ))
}

/// The keys connectors find a subject by: its identity values by kind, plus
/// `subject_id`, troth's own pseudonymous id, for systems that store it.
pub fn known_as<'a>(
    subject: &SubjectId,
    identities: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> SubjectKeys {
    let mut keys = SubjectKeys::new().with("subject_id", subject.as_str());
    for (kind, value) in identities {
        keys.insert(kind, value);
    }
    keys
}

/// Every row the tenant's connected systems hold about the subject known by `who`
/// (see [`subject_keys`]); an error if any connector fails (an export must not
/// silently leave a system out).
pub async fn access(
    connected: &TenantConnectors,
    who: &SubjectKeys,
) -> Result<Vec<AccessResult>, ConnectorRunError> {
    let results = troth_connectors::access_all(&connected.connectors, who).await;
    all_or_failures(connected, results)
}

/// Every connector's result, or the failures naming their connectors.
fn all_or_failures<T>(
    connected: &TenantConnectors,
    results: Vec<troth_connectors::Result<T>>,
) -> Result<Vec<T>, ConnectorRunError> {
    let mut out = Vec::with_capacity(results.len());
    let mut failed = Vec::new();
    for (c, r) in connected.connectors.iter().zip(results) {
        match r {
            Ok(r) => out.push(r),
            Err(e) => failed.push((c.name().to_owned(), e.to_string())),
        }
    }
    if failed.is_empty() {
        Ok(out)
    } else {
        Err(ConnectorRunError::Failed { failed })
    }
}

/// What erasure did in one connected system, for the audit log and the answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErasureReport {
    /// Connector name.
    pub connector: String,
    /// Rows deleted.
    pub deleted: u64,
    /// Rows changed (nulled, masked, hashed, randomised).
    pub updated: u64,
    /// Why nothing was done here, when nothing was (a legal hold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl ErasureReport {
    fn from_result(r: &ErasureResult) -> Self {
        Self {
            connector: r.connector.clone(),
            deleted: r.tables.iter().map(|t| t.deleted).sum(),
            updated: r.tables.iter().map(|t| t.updated).sum(),
            skipped: None,
        }
    }
}

/// What legal holds leave in place.
#[derive(Debug, Clone)]
pub enum Held {
    /// Nothing is held: erase everything mapped.
    Nothing,
    /// These categories stay; the rest is erased.
    Categories(BTreeSet<CategoryId>),
}

/// Erases the subject in every connected system (each database in its own
/// transaction, concurrently). Under category holds, databases erase only the
/// other categories; endpoints cannot be told which categories to keep, so they
/// are not called and the report says why. Any failure is an error naming the
/// connector; the systems that succeeded stay erased (idempotent on retry).
pub async fn erase(
    store: &AnyStore,
    connected: &TenantConnectors,
    tenant: &TenantId,
    subject: &SubjectId,
    held: &Held,
    access: &Access,
) -> Result<Vec<ErasureReport>, ConnectorRunError> {
    let who = subject_keys(store, tenant, subject, access).await?;
    let results = futures_util::future::join_all(
        connected
            .connectors
            .iter()
            .map(|c| erase_one(c, &who, held)),
    )
    .await;
    all_or_failures(connected, results)
}

async fn erase_one(
    c: &AnyConnector,
    who: &SubjectKeys,
    held: &Held,
) -> troth_connectors::Result<ErasureReport> {
    match (held, c) {
        (Held::Nothing, c) => c.erase(who).await.map(|r| ErasureReport::from_result(&r)),
        (Held::Categories(keep), AnyConnector::Sql(db)) => {
            let erased: BTreeSet<CategoryId> = db
                .map()
                .tables
                .iter()
                .flat_map(|t| t.columns.iter().map(|col| col.category.clone()))
                .filter(|cat| !keep.contains(cat))
                .collect();
            db.erase_categories(who, &erased)
                .await
                .map(|r| ErasureReport::from_result(&r))
        }
        (Held::Categories(_), AnyConnector::Http(h)) => Ok(ErasureReport {
            connector: h.name().to_owned(),
            deleted: 0,
            updated: 0,
            skipped: Some(
                "legal holds keep some categories and an endpoint erases all or nothing".into(),
            ),
        }),
    }
}

/// Checks each data map against its tenant's policy in force at start-up: a
/// column whose category the policy does not know would be exported and erased
/// under a name nobody declared. A tenant that does not exist yet, or has no
/// policy in force, is logged and checked at the next start.
pub async fn check_categories(state: &crate::api::state::AppState) -> Result<(), String> {
    for (tenant, systems) in state.connectors.tenants() {
        let Some(rt) = state.tenant(tenant).await.map_err(|e| e.to_string())? else {
            tracing::warn!(%tenant, file = systems.file(),
                "a data map is configured for a tenant that does not exist yet; its categories are not checked");
            continue;
        };
        let Some(published) = rt.in_force(jiff::Timestamp::now()).await else {
            continue;
        };
        let known: BTreeSet<CategoryId> = published
            .policy
            .categories
            .iter()
            .map(|c| c.id.clone())
            .collect();
        let problems = systems.unknown_categories(&known);
        if !problems.is_empty() {
            return Err(troth_connectors::MapErrors(problems).to_string());
        }
    }
    Ok(())
}
