//! Persistence for retention: each vault record's planned end (purpose, expiry,
//! action, awaited event), batched sweeps over due records under a per-tenant lease,
//! legal holds, the anonymous tally that anonymized records leave, the counts
//! aggregate reports are built from, and stored PIA/RoPA documents.
//!
//! # Sweeps
//! A sweep takes the tenant's lease ([`RetentionStore::begin_sweep`]; a row with an
//! owner and an expiry, so a replica that died leaves it to the next one after the
//! lease runs out), then removes due records in batches
//! ([`RetentionStore::sweep_batch`]). Each batch is one transaction that renews the
//! lease (failing if another owner took it), removes up to `limit` due records that
//! no active hold covers (on PostgreSQL selected `FOR UPDATE SKIP LOCKED`), adds the
//! anonymized ones to the tally, moves the run's progress and cursor and appends one
//! `retention.swept` audit entry. A crash between batches therefore loses nothing and
//! repeats nothing: the next owner resumes the unfinished run where it stopped. The
//! cursor is the last primary key removed on SQLite, which sweeps in key order, and
//! the latest expiry removed on PostgreSQL, which sweeps in expiry order (migration
//! 0014 of each backend says why); a record that falls due behind the cursor during a
//! run goes with the next run.
//! [`RetentionStore::finish_sweep`] closes the run, audits what holds kept, and
//! releases the lease.

use crate::any::AnyStore;
use crate::error::Result;
use crate::model::VaultKey;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::future::Future;
use troth_crypto::{SubjectId, TenantId};

/// How a vault record ends, as planned when it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRetention {
    /// The purpose it was collected for.
    pub purpose: String,
    /// When it expires, if known.
    pub expires: Option<Timestamp>,
    /// `delete` or `anonymize`.
    pub on_expiry: String,
    /// The event it waits for (`account-cancelled`, …) while `expires` is unknown.
    pub waits_for: Option<String>,
}

/// A stored record, as the sweep plans it: a record waiting for an event, or (from
/// [`RetentionStore::live_records`]) any record not yet due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingRecord {
    /// Whose.
    pub subject: SubjectId,
    /// Its category.
    pub category: String,
    /// Its record id.
    pub record: String,
    /// Its purpose (empty when none was recorded).
    pub purpose: String,
    /// When it was written.
    pub created: Timestamp,
}

/// A sweep run held by one owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepRun {
    /// The tenant.
    pub tenant: TenantId,
    /// Run id.
    pub run_id: String,
    /// Who holds the lease.
    pub owner: String,
    /// Whether an unfinished run was taken over.
    pub resumed: bool,
    /// Records deleted so far in this run.
    pub deleted: u64,
    /// Records anonymized so far in this run.
    pub anonymized: u64,
    /// Batches committed so far.
    pub batches: u64,
}

/// What one batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Records deleted.
    pub deleted: u64,
    /// Records anonymized (removed and counted in the tally).
    pub anonymized: u64,
}

impl BatchOutcome {
    /// Records removed either way; zero means nothing was due.
    pub fn removed(&self) -> u64 {
        self.deleted + self.anonymized
    }
}

/// Due records a hold keeps, per hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldCount {
    /// The hold.
    pub hold_id: String,
    /// Its reason id.
    pub reason: String,
    /// Due records it kept.
    pub records: u64,
}

/// One due record, as a dry run lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueRecord {
    /// Whose.
    pub subject: String,
    /// Category.
    pub category: String,
    /// Record id.
    pub record: String,
    /// Purpose (absent for records written before retention was tracked).
    pub purpose: Option<String>,
    /// When it expired.
    pub expires: Timestamp,
    /// `delete` or `anonymize`.
    pub action: String,
}

/// What a sweep would do now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepPreview {
    /// Due records no hold covers (at most the asked limit).
    pub due: Vec<DueRecord>,
    /// How many due records no hold covers, in all.
    pub due_total: u64,
    /// Due records kept by holds.
    pub held: Vec<HeldCount>,
}

/// The end of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// Run id.
    pub run_id: String,
    /// Records deleted in the run.
    pub deleted: u64,
    /// Records anonymized in the run.
    pub anonymized: u64,
    /// Batches committed.
    pub batches: u64,
    /// Due records kept by holds, per hold.
    pub held: Vec<HeldCount>,
}

/// A legal hold to place: on a subject, a category, or one subject's category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewHold {
    /// The tenant.
    pub tenant: TenantId,
    /// Hold id (UUID).
    pub hold_id: String,
    /// The subject held, if any.
    pub subject: Option<SubjectId>,
    /// The category held, if any.
    pub category: Option<String>,
    /// One of the pack's hold reason ids.
    pub reason: String,
    /// A free-text note (no personal information).
    pub note: Option<String>,
    /// When placed.
    pub placed: Timestamp,
}

/// A legal hold as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Hold id.
    pub hold_id: String,
    /// The subject held, if any.
    pub subject: Option<String>,
    /// The category held, if any.
    pub category: Option<String>,
    /// Hold reason id.
    pub reason: String,
    /// Note.
    pub note: Option<String>,
    /// Who placed it.
    pub placed_by: String,
    /// When.
    pub placed: Timestamp,
    /// Who lifted it.
    pub lifted_by: Option<String>,
    /// When it was lifted; `None` while active.
    pub lifted: Option<Timestamp>,
}

/// Which holds to list.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HoldFilter {
    /// Only holds not lifted.
    pub active_only: bool,
    /// Only holds on this subject (subject holds; category-wide holds are listed
    /// when `subject` is `None`).
    pub subject: Option<SubjectId>,
}

/// Vault records and subjects per category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCount {
    /// Category id.
    pub category: String,
    /// Distinct subjects with a record.
    pub subjects: u64,
    /// Records.
    pub records: u64,
}

/// Anonymized records counted per category, purpose and month of collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyRow {
    /// Category id.
    pub category: String,
    /// Purpose id (empty when unknown).
    pub purpose: String,
    /// `YYYY-MM` of collection.
    pub month: String,
    /// How many.
    pub count: u64,
}

/// A PIA or RoPA document to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReportDocument {
    /// The tenant.
    pub tenant: TenantId,
    /// Document id (UUID).
    pub report_id: String,
    /// `pia` or `ropa`.
    pub kind: String,
    /// When generated.
    pub created: Timestamp,
    /// Kept at least until.
    pub keep_until: Timestamp,
    /// The policy version's content hash it was generated from.
    pub policy_hash: String,
    /// The JSON document.
    pub body_json: String,
    /// HTML in English.
    pub html_en: String,
    /// HTML in Simplified Chinese.
    pub html_zh: String,
}

/// A stored PIA or RoPA document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDocument {
    /// Document id.
    pub report_id: String,
    /// `pia` or `ropa`.
    pub kind: String,
    /// 1, 2, … per kind and tenant.
    pub version: u64,
    /// When generated.
    pub created: Timestamp,
    /// Kept at least until.
    pub keep_until: Timestamp,
    /// Policy content hash.
    pub policy_hash: String,
    /// JSON (empty in lists).
    pub body_json: String,
    /// HTML, English (empty in lists).
    pub html_en: String,
    /// HTML, Simplified Chinese (empty in lists).
    pub html_zh: String,
}

/// Storage for retention, holds and reports.
pub trait RetentionStore: Send + Sync {
    /// Records how a vault record ends. Does nothing if the record does not exist.
    fn set_record_retention(
        &self,
        key: &VaultKey,
        r: &RecordRetention,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Records still waiting for `event` (`account-cancelled`, …), at most `limit`.
    fn waiting_records(
        &self,
        tenant: &TenantId,
        event: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<WaitingRecord>>> + Send;

    /// Sets the expiry of records whose awaited event happened (and clears the wait).
    fn resolve_waiting(
        &self,
        tenant: &TenantId,
        expiries: &[(WaitingRecord, Timestamp)],
    ) -> impl Future<Output = Result<u64>> + Send;

    /// The records of `subjects` that are not yet due at `now` (no expiry, or a later
    /// one), by subject.
    fn live_records(
        &self,
        tenant: &TenantId,
        subjects: &[SubjectId],
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<WaitingRecord>>> + Send;

    /// Makes `records` due at `now` with the `delete` action because they are a
    /// child's, collected without the guardian consent the pack requires; each comes
    /// with its reason code (no personal information). One transaction that first
    /// renews the run's lease (a conflict if another owner took it), changes only
    /// records that still exist and are not yet due, and appends one
    /// `retention.child_data_due` audit entry naming the subjects and the count per
    /// reason. Returns how many records changed.
    fn expire_child_records(
        &self,
        run: &SweepRun,
        now: Timestamp,
        records: &[(WaitingRecord, String)],
        lease_until: Timestamp,
        actor: &str,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Tenants with at least one record due at `now` (background sweeps visit these).
    fn tenants_with_due(
        &self,
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<TenantId>>> + Send;

    /// Takes (or renews, or takes over after expiry) the tenant's sweep lease and
    /// starts or resumes a run. `None` when another owner holds a live lease.
    fn begin_sweep(
        &self,
        tenant: &TenantId,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> impl Future<Output = Result<Option<SweepRun>>> + Send;

    /// Removes up to `limit` due records in one audited transaction (see the module
    /// documentation). Fails with a conflict if the lease was lost.
    fn sweep_batch(
        &self,
        run: &SweepRun,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
        actor: &str,
    ) -> impl Future<Output = Result<BatchOutcome>> + Send;

    /// Closes the run (audited with what holds kept) and releases the lease.
    fn finish_sweep(
        &self,
        run: &SweepRun,
        now: Timestamp,
        actor: &str,
    ) -> impl Future<Output = Result<SweepSummary>> + Send;

    /// What a sweep at `now` would remove (up to `limit` listed) and keep.
    fn sweep_preview(
        &self,
        tenant: &TenantId,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<SweepPreview>> + Send;

    /// Places a hold (audited as `hold.placed`).
    fn place_hold(&self, h: &NewHold, actor: &str) -> impl Future<Output = Result<Hold>> + Send;

    /// Lifts an active hold (audited as `hold.lifted`); `None` if there is no active
    /// hold with that id.
    fn lift_hold(
        &self,
        tenant: &TenantId,
        hold_id: &str,
        at: Timestamp,
        actor: &str,
    ) -> impl Future<Output = Result<Option<Hold>>> + Send;

    /// One hold.
    fn hold(
        &self,
        tenant: &TenantId,
        hold_id: &str,
    ) -> impl Future<Output = Result<Option<Hold>>> + Send;

    /// Holds, oldest first.
    fn holds(
        &self,
        tenant: &TenantId,
        filter: &HoldFilter,
    ) -> impl Future<Output = Result<Vec<Hold>>> + Send;

    /// Active holds that cover any of the subject's data: holds on the subject, and
    /// category-wide holds on a category the subject has records in.
    fn holds_covering(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> impl Future<Output = Result<Vec<Hold>>> + Send;

    /// Records and subjects per category.
    fn category_counts(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<CategoryCount>>> + Send;

    /// The anonymous tally.
    fn anonymous_tally(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<TallyRow>>> + Send;

    /// Stores a PIA or RoPA with the next version number of its kind (audited as
    /// `report.generated`).
    fn put_report_document(
        &self,
        doc: &NewReportDocument,
        actor: &str,
    ) -> impl Future<Output = Result<ReportDocument>> + Send;

    /// Stored documents of a kind (or all), newest first, without bodies.
    fn report_documents(
        &self,
        tenant: &TenantId,
        kind: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ReportDocument>>> + Send;

    /// One stored document with its bodies.
    fn report_document(
        &self,
        tenant: &TenantId,
        report_id: &str,
    ) -> impl Future<Output = Result<Option<ReportDocument>>> + Send;

    /// Deletes documents kept past their `keep_until` (audited when any go).
    fn purge_report_documents(
        &self,
        tenant: &TenantId,
        now: Timestamp,
        actor: &str,
    ) -> impl Future<Output = Result<u64>> + Send;
}

macro_rules! delegate {
    ($self:ident . $m:ident ( $($a:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => s.$m($($a),*).await,
            AnyStore::Postgres(s) => s.$m($($a),*).await,
        }
    };
}

impl RetentionStore for AnyStore {
    async fn set_record_retention(&self, key: &VaultKey, r: &RecordRetention) -> Result<()> {
        delegate!(self.set_record_retention(key, r))
    }
    async fn waiting_records(
        &self,
        tenant: &TenantId,
        event: &str,
        limit: u32,
    ) -> Result<Vec<WaitingRecord>> {
        delegate!(self.waiting_records(tenant, event, limit))
    }
    async fn resolve_waiting(
        &self,
        tenant: &TenantId,
        expiries: &[(WaitingRecord, Timestamp)],
    ) -> Result<u64> {
        delegate!(self.resolve_waiting(tenant, expiries))
    }
    async fn live_records(
        &self,
        tenant: &TenantId,
        subjects: &[SubjectId],
        now: Timestamp,
    ) -> Result<Vec<WaitingRecord>> {
        delegate!(self.live_records(tenant, subjects, now))
    }
    async fn expire_child_records(
        &self,
        run: &SweepRun,
        now: Timestamp,
        records: &[(WaitingRecord, String)],
        lease_until: Timestamp,
        actor: &str,
    ) -> Result<u64> {
        delegate!(self.expire_child_records(run, now, records, lease_until, actor))
    }
    async fn tenants_with_due(&self, now: Timestamp) -> Result<Vec<TenantId>> {
        delegate!(self.tenants_with_due(now))
    }
    async fn begin_sweep(
        &self,
        tenant: &TenantId,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<SweepRun>> {
        delegate!(self.begin_sweep(tenant, owner, now, lease_until))
    }
    async fn sweep_batch(
        &self,
        run: &SweepRun,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
        actor: &str,
    ) -> Result<BatchOutcome> {
        delegate!(self.sweep_batch(run, now, limit, lease_until, actor))
    }
    async fn finish_sweep(
        &self,
        run: &SweepRun,
        now: Timestamp,
        actor: &str,
    ) -> Result<SweepSummary> {
        delegate!(self.finish_sweep(run, now, actor))
    }
    async fn sweep_preview(
        &self,
        tenant: &TenantId,
        now: Timestamp,
        limit: u32,
    ) -> Result<SweepPreview> {
        delegate!(self.sweep_preview(tenant, now, limit))
    }
    async fn place_hold(&self, h: &NewHold, actor: &str) -> Result<Hold> {
        delegate!(self.place_hold(h, actor))
    }
    async fn lift_hold(
        &self,
        tenant: &TenantId,
        hold_id: &str,
        at: Timestamp,
        actor: &str,
    ) -> Result<Option<Hold>> {
        delegate!(self.lift_hold(tenant, hold_id, at, actor))
    }
    async fn hold(&self, tenant: &TenantId, hold_id: &str) -> Result<Option<Hold>> {
        delegate!(self.hold(tenant, hold_id))
    }
    async fn holds(&self, tenant: &TenantId, filter: &HoldFilter) -> Result<Vec<Hold>> {
        delegate!(self.holds(tenant, filter))
    }
    async fn holds_covering(&self, tenant: &TenantId, subject: &SubjectId) -> Result<Vec<Hold>> {
        delegate!(self.holds_covering(tenant, subject))
    }
    async fn category_counts(&self, tenant: &TenantId) -> Result<Vec<CategoryCount>> {
        delegate!(self.category_counts(tenant))
    }
    async fn anonymous_tally(&self, tenant: &TenantId) -> Result<Vec<TallyRow>> {
        delegate!(self.anonymous_tally(tenant))
    }
    async fn put_report_document(
        &self,
        doc: &NewReportDocument,
        actor: &str,
    ) -> Result<ReportDocument> {
        delegate!(self.put_report_document(doc, actor))
    }
    async fn report_documents(
        &self,
        tenant: &TenantId,
        kind: Option<&str>,
    ) -> Result<Vec<ReportDocument>> {
        delegate!(self.report_documents(tenant, kind))
    }
    async fn report_document(
        &self,
        tenant: &TenantId,
        report_id: &str,
    ) -> Result<Option<ReportDocument>> {
        delegate!(self.report_document(tenant, report_id))
    }
    async fn purge_report_documents(
        &self,
        tenant: &TenantId,
        now: Timestamp,
        actor: &str,
    ) -> Result<u64> {
        delegate!(self.purge_report_documents(tenant, now, actor))
    }
}
