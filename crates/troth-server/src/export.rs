//! The access/copy export bundle: everything troth holds about one subject, as a zip
//! with `manifest.json` (files with SHA-256 and sizes), `manifest.sha256` (the
//! manifest's own checksum), `data.json`, one CSV per vault category under
//! `categories/`, and `index.html`, a readable page in English and Chinese.
//!
//! Building is a pure function of [`ExportData`]: entries are sorted, every zip entry
//! carries the same fixed timestamp and the generation time is an input, so the same
//! data always gives the same bytes (what makes the bundle snapshot-testable).
//! Gathering the data ([`gather`]) is the only part that reads the store.

use std::io::{Cursor, Write};
use std::sync::LazyLock;

use jiff::Timestamp;
use minijinja::{Environment, context};
use serde::Serialize;
use sha2::{Digest, Sha256};
use troth_store::{
    Access, AnyStore, Categories, RequestFilter, RightsStore, Store, StoreError, SubjectId,
    TenantId, VaultListStore,
};
use zip::write::SimpleFileOptions;

/// The vault category stored exports live in: one record per request, encrypted
/// under the subject's data key, so erasing the subject shreds its exports too.
pub const EXPORT_CATEGORY: &str = "troth.export";
/// The vault category of decisions kept for explanation requests (`"record": true`
/// on `POST /v1/decisions`): the person's data, so exports include them and erasure
/// shreds them.
pub const DECISION_CATEGORY: &str = "troth.decision";
/// The vault category a correction request's new values wait in until it completes.
pub const CORRECTION_CATEGORY: &str = "troth.correction";
/// The vault category of what completing a request produced (an explanation, the
/// records corrected, a transfer's receipt): one record per request.
pub const RESULT_CATEGORY: &str = "troth.result";
/// Vault categories that hold troth's own working data rather than what the company
/// collected, left out of exports.
pub const INTERNAL_CATEGORIES: [&str; 3] = [EXPORT_CATEGORY, CORRECTION_CATEGORY, RESULT_CATEGORY];

/// Why a bundle could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the subject's data failed.
    #[error("reading the subject's data failed: {0}")]
    Store(#[from] StoreError),
    /// Writing the zip failed.
    #[error("writing the zip failed: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Writing a CSV failed.
    #[error("writing a CSV failed: {0}")]
    Csv(#[from] csv::Error),
    /// Serialising JSON failed.
    #[error("serialising JSON failed: {0}")]
    Json(#[from] serde_json::Error),
    /// Rendering the HTML page failed.
    #[error("rendering the HTML page failed: {0}")]
    Render(#[from] minijinja::Error),
    /// An in-memory write failed.
    #[error("writing the bundle failed: {0}")]
    Io(#[from] std::io::Error),
}

/// One vault value in the export.
#[derive(Clone, Debug, Serialize)]
pub struct ExportValue {
    /// Record id.
    pub record: String,
    /// The value as text (UTF-8), or base64 when it is binary.
    pub value: String,
    /// `text` or `base64`.
    pub encoding: &'static str,
}

/// One vault category with its values, sorted by record.
#[derive(Clone, Debug, Serialize)]
pub struct ExportCategory {
    /// Category id from the policy.
    pub category: String,
    /// Its values.
    pub values: Vec<ExportValue>,
}

/// One identity (email, phone, external id).
#[derive(Clone, Debug, Serialize)]
pub struct ExportIdentity {
    /// Identity kind.
    pub kind: String,
    /// The value.
    pub value: String,
}

/// Everything troth holds about a subject, gathered for one request.
#[derive(Clone, Debug, Serialize)]
pub struct ExportData {
    /// Tenant id.
    pub tenant: String,
    /// The subject's pseudonymous id.
    pub subject: String,
    /// The access or copy request this export answers.
    pub request_id: String,
    /// When the bundle was generated.
    pub generated: Timestamp,
    /// The policy version in force (label and content hash), if any.
    pub policy_version: Option<String>,
    /// The subject's status and age band.
    pub profile: serde_json::Value,
    /// Identities by kind.
    pub identities: Vec<ExportIdentity>,
    /// Vault values per category.
    pub vault: Vec<ExportCategory>,
    /// Consent events, ledger order.
    pub consents: Vec<serde_json::Value>,
    /// Disclosures, oldest first.
    pub disclosures: Vec<serde_json::Value>,
    /// Rights requests, oldest first.
    pub requests: Vec<serde_json::Value>,
    /// Rows the company's connected systems hold, per connector and table (see
    /// [`crate::connectors`]); absent when the tenant has no data map.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connected: Vec<troth_connectors::AccessResult>,
}

/// One file in the manifest.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ManifestFile {
    /// Path inside the zip.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    /// Format marker.
    pub format: &'static str,
    /// Tenant id.
    pub tenant: String,
    /// Subject pseudonymous id.
    pub subject: String,
    /// Request id.
    pub request_id: String,
    /// Generation time (RFC 3339).
    pub generated: String,
    /// Policy version in force.
    pub policy_version: Option<String>,
    /// Every other file of the bundle, sorted by path.
    pub files: Vec<ManifestFile>,
}

/// A built bundle.
pub struct Bundle {
    /// The zip.
    pub zip: Vec<u8>,
    /// The manifest it contains.
    pub manifest: Manifest,
    /// SHA-256 of `manifest.json` (also in `manifest.sha256`), lowercase hex.
    pub manifest_sha256: String,
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A category id as a file name: letters, digits, `.`, `-`, `_`; anything else `_`.
fn file_stem(category: &str) -> String {
    category
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // The template is part of the binary; a broken one fails the snapshot test.
    let _ = env.add_template("index.html", include_str!("../templates/export/index.html"));
    env
});

fn csv_for(cat: &ExportCategory) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["record", "value", "encoding"])?;
    for v in &cat.values {
        w.write_record([v.record.as_str(), v.value.as_str(), v.encoding])?;
    }
    w.into_inner().map_err(|e| ExportError::Io(e.into_error()))
}

/// One connected table as CSV: a header of `column (category)`, then the rows.
fn csv_for_table(table: &troth_connectors::TableRows) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(
        table
            .columns
            .iter()
            .map(|c| format!("{} ({})", c.name, c.category)),
    )?;
    for row in &table.rows {
        w.write_record(row.iter().map(cell_text))?;
    }
    w.into_inner().map_err(|e| ExportError::Io(e.into_error()))
}

/// A JSON value as a CSV cell: text as is, null empty, anything else as JSON.
fn cell_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Builds the zip. Deterministic: the same data gives the same bytes.
pub fn build(data: &ExportData) -> Result<Bundle, ExportError> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    files.push(("data.json".to_owned(), serde_json::to_vec_pretty(data)?));
    for cat in &data.vault {
        files.push((
            format!("categories/{}.csv", file_stem(&cat.category)),
            csv_for(cat)?,
        ));
    }
    for system in &data.connected {
        for table in &system.tables {
            files.push((
                format!(
                    "connected/{}/{}.csv",
                    file_stem(&system.connector),
                    file_stem(&table.table)
                ),
                csv_for_table(table)?,
            ));
        }
    }
    let html = ENV.get_template("index.html")?.render(context! {
        d => minijinja::Value::from(minijinja::value::Serde(data)),
        generated => data.generated.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
    })?;
    files.push(("index.html".to_owned(), html.into_bytes()));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let manifest = Manifest {
        format: "troth-export/1",
        tenant: data.tenant.clone(),
        subject: data.subject.clone(),
        request_id: data.request_id.clone(),
        generated: data.generated.to_string(),
        policy_version: data.policy_version.clone(),
        files: files
            .iter()
            .map(|(path, bytes)| ManifestFile {
                path: path.clone(),
                size: bytes.len() as u64,
                sha256: sha256_hex(bytes),
            })
            .collect(),
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)?;
    let manifest_sha256 = sha256_hex(&manifest_json);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    // A fixed timestamp (the zip epoch, 1980-01-01) keeps the bytes reproducible.
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    zip.start_file("manifest.json", opts)?;
    zip.write_all(&manifest_json)?;
    zip.start_file("manifest.sha256", opts)?;
    zip.write_all(format!("{manifest_sha256}  manifest.json\n").as_bytes())?;
    for (path, bytes) in &files {
        zip.start_file(path.as_str(), opts)?;
        zip.write_all(bytes)?;
    }
    let zip = zip.finish()?.into_inner();
    Ok(Bundle {
        zip,
        manifest,
        manifest_sha256,
    })
}

fn value_of(bytes: &[u8]) -> (String, &'static str) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), "text"),
        Err(_) => {
            use base64::Engine as _;
            (
                base64::engine::general_purpose::STANDARD.encode(bytes),
                "base64",
            )
        }
    }
}

/// Reads everything troth holds about a subject (vault values decrypted, audited
/// as `vault.read` by `access`). Stored exports are left out.
pub async fn gather(
    store: &AnyStore,
    tenant: &TenantId,
    subject: &SubjectId,
    request_id: &str,
    policy_version: Option<String>,
    generated: Timestamp,
    access: &Access,
) -> Result<ExportData, ExportError> {
    let profile = match store.subject(tenant, subject).await? {
        Some(s) => serde_json::json!({
            "status": s.status,
            "age_band": s.age_band,
            "guardian": s.guardian.map(|g| g.to_string()),
            "created": s.created.to_string(),
        }),
        None => serde_json::Value::Null,
    };
    let mut identities: Vec<ExportIdentity> = store
        .identities(tenant, subject, access)
        .await?
        .into_iter()
        .map(|(kind, value)| ExportIdentity {
            kind: kind.as_str().to_owned(),
            value: value.as_str().to_owned(),
        })
        .collect();
    identities.sort_by(|a, b| (&a.kind, &a.value).cmp(&(&b.kind, &b.value)));
    let mut vault: Vec<ExportCategory> = Vec::new();
    for v in store
        .vault_records(
            tenant,
            subject,
            Categories::AllBut(&INTERNAL_CATEGORIES),
            access,
        )
        .await?
    {
        let (value, encoding) = value_of(&v.plaintext);
        let item = ExportValue {
            record: v.record.as_str().to_owned(),
            value,
            encoding,
        };
        match vault.last_mut() {
            Some(c) if c.category == v.category.as_str() => c.values.push(item),
            _ => vault.push(ExportCategory {
                category: v.category.as_str().to_owned(),
                values: vec![item],
            }),
        }
    }
    let consents = store
        .consent_events(tenant, subject)
        .await?
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "event_id": e.event.event_id,
                "purpose": e.event.purpose,
                "action": e.event.action,
                "time": e.event.time.to_string(),
                "actor": e.event.actor,
            })
        })
        .collect();
    let disclosures = store
        .disclosures(tenant, subject)
        .await?
        .into_iter()
        .map(|d| {
            serde_json::json!({
                "disclosure_id": d.disclosure_id,
                "recipient": d.recipient,
                "categories": d.categories,
                "purpose": d.purpose,
                "basis": d.basis,
                "destination": d.destination,
                "time": d.time.to_string(),
            })
        })
        .collect();
    let mut records = store
        .requests(tenant, &RequestFilter::Subject(subject.clone()), 10_000)
        .await?;
    records.sort_by(|a, b| (a.received, &a.request_id).cmp(&(b.received, &b.request_id)));
    let requests = records
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "request_id": r.request_id,
                "kind": r.kind,
                "status": r.status,
                "received": r.received.to_string(),
                "due": r.due.map(|d| d.to_string()),
            })
        })
        .collect();
    Ok(ExportData {
        tenant: tenant.to_string(),
        subject: subject.to_string(),
        request_id: request_id.to_owned(),
        generated,
        policy_version,
        profile,
        identities,
        vault,
        consents,
        disclosures,
        requests,
        connected: Vec::new(),
    })
}
