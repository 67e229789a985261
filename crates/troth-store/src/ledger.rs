//! Persisting `troth-core`'s ledger events.
//!
//! A [`LedgerEvent`] is stored as one consent-ledger row: the columns the store
//! indexes (tenant, subject, purpose, action, time, actor) are copied out of it, and
//! the whole event is kept as JSON so it reads back exactly. An event that carries
//! PI (a birth date) has its JSON sealed under the subject's data key instead, so
//! it is never at rest in clear and is shredded with the subject.

use crate::model::NewConsentEvent;
use troth_core::{Actor, ConsentStatus, Fact, LedgerEvent};
use troth_crypto::{SubjectId, TenantId};

/// Vault category that sealed ledger payloads are bound to.
pub(crate) const SEALED_CATEGORY: &str = "ledger.event";

/// JSON key under which a sealed payload (hex ciphertext) is stored.
pub(crate) const SEALED_KEY: &str = "sealed";

/// The store's tenant id for a core tenant id (its UUID text).
pub fn tenant_id(t: &troth_core::TenantId) -> TenantId {
    TenantId::new(t.to_string())
}

/// The store's subject id for a core subject id (its UUID text).
pub fn subject_id(s: &troth_core::SubjectId) -> SubjectId {
    SubjectId::new(s.to_string())
}

fn status_str(s: ConsentStatus) -> &'static str {
    match s {
        ConsentStatus::Given => "given",
        ConsentStatus::Withdrawn => "withdrawn",
        ConsentStatus::Refused => "refused",
        ConsentStatus::Expired => "expired",
    }
}

/// A pseudonymous actor label for the audit log.
fn actor_str(a: &Actor) -> String {
    match a {
        Actor::Subject => "subject".into(),
        Actor::Guardian { guardian, .. } => format!("guardian:{guardian}"),
        Actor::Developer { tenant } => format!("developer:{tenant}"),
    }
}

/// Whether the event's JSON would put PI at rest in clear.
pub(crate) fn carries_pi(ev: &LedgerEvent) -> bool {
    matches!(ev.fact, Fact::Age(troth_core::AgeInfo::BirthDate(_)))
}

/// The ledger row for an event (its JSON not yet sealed).
pub fn ledger_record(ev: &LedgerEvent) -> Result<NewConsentEvent, serde_json::Error> {
    let (purpose, action, actor): (String, &str, String) = match &ev.fact {
        Fact::Consent(c) => (
            c.purpose.as_str().to_owned(),
            status_str(c.status),
            actor_str(&c.actor),
        ),
        Fact::AcceptVersion { .. } => (String::new(), "accept_version", "subject".into()),
        Fact::TargetingOptOut { opted_out } => (
            String::new(),
            if *opted_out {
                "targeting_opt_out"
            } else {
                "targeting_opt_in"
            },
            "subject".into(),
        ),
        Fact::GuardianAuthorisation {
            granted, guardian, ..
        } => (
            String::new(),
            if *granted {
                "guardian_authorised"
            } else {
                "guardian_unauthorised"
            },
            format!("guardian:{guardian}"),
        ),
        Fact::Age(_) => (String::new(), "age", "subject".into()),
        Fact::GuardianLink { .. } => (String::new(), "guardian_link", "subject".into()),
        Fact::Account(_) => (String::new(), "account", "subject".into()),
    };
    Ok(NewConsentEvent {
        tenant: tenant_id(&ev.tenant),
        subject: subject_id(&ev.subject),
        event_id: ev.id.to_string(),
        purpose,
        action: action.to_owned(),
        time: ev.at,
        actor,
        event: serde_json::to_value(ev)?,
    })
}

pub(crate) fn to_hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

pub(crate) fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}
