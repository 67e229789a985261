//! troth-store: everything troth persists, behind one [`Store`] trait, on SQLite
//! (embedded default) or PostgreSQL.
//!
//! * **Tenancy and sharding**: every table's primary key starts with `tenant_id`
//!   (then `subject_id` where the row belongs to a subject); no hot-path query
//!   reads across tenants.
//! * **Consent ledger with group commit**: [`Store::append_consent`] hands the event
//!   to one writer task per store, which writes everyone's pending events in one
//!   transaction together with one audit entry each, commits, and only then answers
//!   each caller.
//! * **Vault**: PI is encrypted with `troth-crypto` before it reaches SQL; subject
//!   data keys live in a separate key database, so erasing a subject (deleting its
//!   key) makes its data unreadable in every backup of the data database too.
//! * **Audit**: every change appends to the tenant's BLAKE3 hash chain in the same
//!   transaction, with signed checkpoints; [`Store::verify_audit`] checks it.
//!
//! Only this crate knows SQL. Migrations are embedded and applied by
//! [`Store::migrate`].

pub mod any;
pub mod calendar;
pub mod certification;
pub mod cessation;
pub mod config;
pub mod error;
pub mod incidents;
pub mod ledger;
pub mod model;
pub mod notify;
pub mod outbox;
pub mod postgres;
pub mod retention;
pub mod rights;
pub mod service;
pub mod sqlite;
pub mod store;
pub mod testing;
mod util;
pub mod vault_list;

pub use any::AnyStore;
pub use calendar::{CalendarDay, CalendarDayKind, CalendarStore};
pub use certification::{
    CertificationChange, CertificationRecord, CertificationStore, CertificationValue,
};
pub use cessation::{CessationProgress, CessationRecord, CessationStore, NewCessation};
pub use config::StoreConfig;
pub use error::{Result, StoreError};
pub use incidents::{IncidentRecord, IncidentStep, IncidentStore, IncidentUpdate};
pub use model::{
    Access, ConsentAck, Disclosure, ErasureReport, NewConsentEvent, PolicyVersionRecord,
    StoredConsentEvent, SubjectRecord, Tenant, VaultKey,
};
pub use outbox::{
    DeliveryOutcome, NewOutboxMessage, NotifyTarget, OutboxChannel, OutboxMessage, OutboxStatus,
    OutboxStore,
};
pub use postgres::PgStore;
pub use retention::{
    BatchOutcome, CategoryCount, DueRecord, HeldCount, Hold, HoldFilter, NewHold,
    NewReportDocument, RecordRetention, ReportDocument, RetentionStore, SweepPreview, SweepRun,
    SweepSummary, TallyRow, WaitingRecord,
};
pub use rights::{CodeCheck, RequestFilter, RequestRecord, RequestUpdate, RightsStore};
pub use service::{ApiKeyRecord, IdempotencyStart, IdempotencyWindow, ServiceStore};
pub use sqlite::SqliteStore;
pub use store::Store;
pub use troth_crypto::{
    AuditEntry, AuditEvent, CategoryId, IdentifierKind, RecordId, SubjectId, TenantId,
};
pub use vault_list::{Categories, VaultListStore, VaultValue};

// Runs the README's example as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
