//! Change notifications between replicas (PostgreSQL only).
//!
//! Migration 0012 makes PostgreSQL send a notification on [`CHANNEL`] in the same
//! transaction as every consent event and policy publication: delivered at commit,
//! never for a rolled-back write, and naming only pseudonymous ids (no PI). A
//! [`ChangeListener`] receives them, so each `troth serve` can refresh what its
//! in-memory decision index holds. SQLite has no such thing and needs none: one
//! process owns the database.
//!
//! Notifications sent while a listener is disconnected are lost, so a listener that
//! notices a lost connection answers [`Change::Lost`]: the caller must then drop
//! everything it cached. A silently dead connection (no RST, e.g. a network
//! partition) is found by a heartbeat query after `heartbeat` of silence, answered
//! within `heartbeat`, so a lost connection is seen at most `2 × heartbeat` late.

use std::time::Duration;

use serde::Deserialize;
use sqlx::postgres::{PgListener, PgPool};

use crate::error::{Result, StoreError};
use crate::{SubjectId, TenantId};

/// The notification channel migration 0012's triggers send on.
pub const CHANNEL: &str = "troth_changes";

/// What changed, as announced by another (or this) process's committed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A consent ledger event of this subject was committed.
    Consent {
        /// The tenant.
        tenant: TenantId,
        /// The pseudonymous subject id.
        subject: SubjectId,
    },
    /// A policy version was published in this tenant.
    Policy {
        /// The tenant.
        tenant: TenantId,
        /// The version's content hash.
        version: String,
    },
    /// The connection was lost: changes may be missed until [`Change::Resumed`], so
    /// everything cached must be dropped (and cached again only provisionally).
    Lost,
    /// Listening again after [`Change::Lost`]: everything cached since the loss
    /// must be dropped once more, as changes made meanwhile were not announced.
    Resumed,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Payload {
    Consent { tenant: String, subject: String },
    Policy { tenant: String, version: String },
}

/// Parses a notification payload; `None` for one this version does not know (a
/// newer replica's), which is ignored rather than trusted.
pub fn parse_payload(payload: &str) -> Option<Change> {
    match serde_json::from_str::<Payload>(payload).ok()? {
        Payload::Consent { tenant, subject } => Some(Change::Consent {
            tenant: TenantId::new(tenant),
            subject: SubjectId::new(subject),
        }),
        Payload::Policy { tenant, version } => Some(Change::Policy {
            tenant: TenantId::new(tenant),
            version,
        }),
    }
}

/// Receives [`Change`]s from the database (see the module documentation).
pub struct ChangeListener {
    pool: PgPool,
    listener: Option<PgListener>,
    heartbeat: Duration,
}

impl std::fmt::Debug for ChangeListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeListener")
            .field("connected", &self.listener.is_some())
            .field("heartbeat", &self.heartbeat)
            .finish()
    }
}

impl ChangeListener {
    /// Listens on [`CHANNEL`] through a connection of `pool` (held apart from the
    /// pool's others for as long as the listener lives).
    pub(crate) async fn connect(pool: PgPool, heartbeat: Duration) -> Result<Self> {
        let mut this = Self {
            pool,
            listener: None,
            heartbeat: heartbeat.max(Duration::from_millis(10)),
        };
        this.reconnect().await?;
        Ok(this)
    }

    async fn reconnect(&mut self) -> Result<()> {
        self.listener = None;
        let mut l = PgListener::connect_with(&self.pool).await?;
        // A lost connection is reported (Ok(None)) before reconnecting, so the caller
        // learns that notifications may have been missed.
        l.eager_reconnect(false);
        l.listen(CHANNEL).await?;
        self.listener = Some(l);
        Ok(())
    }

    /// The next change. After [`Change::Lost`] the following call reconnects (an
    /// error means it could not; call again later) and answers [`Change::Resumed`]
    /// once listening again. Not cancel-safe: run it in a task of its own.
    pub async fn next(&mut self) -> Result<Change> {
        loop {
            if self.listener.is_none() {
                self.reconnect().await?;
                return Ok(Change::Resumed);
            }
            let Some(l) = self.listener.as_mut() else {
                continue;
            };
            match tokio::time::timeout(self.heartbeat, l.try_recv()).await {
                Ok(Ok(Some(n))) => {
                    if let Some(change) = parse_payload(n.payload()) {
                        return Ok(change);
                    }
                }
                Ok(Ok(None)) | Ok(Err(_)) => {
                    self.listener = None;
                    return Ok(Change::Lost);
                }
                Err(_silence) => {
                    // Quiet for a whole heartbeat: prove the connection is alive.
                    let ping = sqlx::query("SELECT 1").execute(&mut *l);
                    if !matches!(tokio::time::timeout(self.heartbeat, ping).await, Ok(Ok(_))) {
                        self.listener = None;
                        return Ok(Change::Lost);
                    }
                }
            }
        }
    }

    /// Ends listening and returns the connection.
    pub async fn close(mut self) -> Result<()> {
        if let Some(mut l) = self.listener.take() {
            l.unlisten_all().await.map_err(StoreError::from)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_and_unknown_kinds_are_ignored() {
        assert_eq!(
            parse_payload(r#"{"kind":"consent","tenant":"t1","subject":"s1"}"#),
            Some(Change::Consent {
                tenant: TenantId::new("t1"),
                subject: SubjectId::new("s1")
            })
        );
        assert_eq!(
            parse_payload(r#"{"kind":"policy","tenant":"t1","version":"abc"}"#),
            Some(Change::Policy {
                tenant: TenantId::new("t1"),
                version: "abc".into()
            })
        );
        assert_eq!(parse_payload(r#"{"kind":"cessation","tenant":"t1"}"#), None);
        assert_eq!(parse_payload("not json"), None);
    }
}
