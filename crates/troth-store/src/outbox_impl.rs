// `OutboxStore` for one backend; `include!`d after `common.rs` into `sqlite.rs` and
// `postgres.rs` (see the head of `common.rs` for what those files define).

use crate::outbox::{
    DeliveryOutcome, NewOutboxMessage, NotifyTarget, OutboxChannel, OutboxMessage, OutboxStatus,
    OutboxStore,
};

type OutboxRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
);

const OUTBOX_COLUMNS: &str = "tenant_id, message_id, kind, channel, target, payload_json, status, \
     attempts, next_attempt_ns, last_error, response_status, created_ns, delivered_ns";

fn outbox_from_row(r: OutboxRow) -> Result<OutboxMessage> {
    Ok(OutboxMessage {
        tenant: TenantId::new(r.0),
        message_id: r.1,
        kind: r.2,
        channel: OutboxChannel::parse(&r.3)?,
        target: r.4,
        payload_json: r.5,
        status: OutboxStatus::parse(&r.6)?,
        attempts: u32::try_from(r.7).map_err(|_| StoreError::Corrupt("outbox attempts"))?,
        next_attempt: ns_ts(r.8)?,
        last_error: r.9,
        response_status: r
            .10
            .map(u16::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt("outbox response status"))?,
        created: ns_ts(r.11)?,
        delivered: r.12.map(ns_ts).transpose()?,
    })
}

/// Stores messages inside the caller's transaction (so a notice commits with the
/// change that causes it). Ids already stored are skipped; returns how many were new.
async fn insert_outbox(
    tx: &mut Transaction<'static, Db>,
    tenant: &TenantId,
    messages: &[NewOutboxMessage],
) -> Result<u64> {
    let now = ts_ns(jiff::Timestamp::now())?;
    let mut new = 0;
    for m in messages {
        let (status, error) = match m.channel {
            OutboxChannel::Unrouted => (
                OutboxStatus::Dead,
                Some(
                    m.unrouted_reason
                        .clone()
                        .unwrap_or_else(|| "no notify target".to_owned()),
                ),
            ),
            _ => (OutboxStatus::Pending, None),
        };
        let res = sqlx::query(
            "INSERT INTO outbox (tenant_id, message_id, kind, channel, target, payload_json, status,
                                 attempts, next_attempt_ns, last_error, created_ns)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $8)
             ON CONFLICT (tenant_id, message_id) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(&m.message_id)
        .bind(&m.kind)
        .bind(m.channel.as_str())
        .bind(&m.target)
        .bind(&m.payload_json)
        .bind(status.as_str())
        .bind(now)
        .bind(error)
        .execute(&mut **tx)
        .await?;
        new += res.rows_affected();
    }
    Ok(new)
}

type TargetRow = (String, String, String, Option<String>, String, i64, i64);

fn target_from_row(tenant: &TenantId, r: TargetRow) -> Result<NotifyTarget> {
    Ok(NotifyTarget {
        tenant: tenant.clone(),
        target_id: r.0,
        channel: OutboxChannel::parse(&r.1)?,
        address: r.2,
        recipient: r.3,
        events: serde_json::from_str(&r.4).map_err(|_| StoreError::Corrupt("notify events"))?,
        generation: u64::try_from(r.5).map_err(|_| StoreError::Corrupt("notify generation"))?,
        updated: ns_ts(r.6)?,
    })
}

impl OutboxStore for This {
    async fn enqueue(
        &self,
        tenant: &TenantId,
        messages: &[NewOutboxMessage],
        actor: &str,
    ) -> Result<u64> {
        // Callers re-enqueue the same ids (alarms are raised on every pass): skip the
        // transaction, and its audit entry, when nothing is new.
        // Known ids are looked up a chunk at a time (a notice to everyone re-run over
        // a large tenant asks about every id again).
        let mut known = std::collections::HashSet::new();
        for chunk in messages.chunks(500) {
            let mut qb: QueryBuilder<Db> =
                QueryBuilder::new("SELECT message_id FROM outbox WHERE tenant_id = ");
            qb.push_bind(tenant.as_str().to_owned())
                .push(" AND message_id IN (");
            let mut ids = qb.separated(", ");
            for m in chunk {
                ids.push_bind(m.message_id.clone());
            }
            qb.push(")");
            let rows: Vec<(String,)> = qb
                .build_query_as()
                .fetch_all(&self.inner.shared.data_read)
                .await?;
            known.extend(rows.into_iter().map(|(id,)| id));
        }
        let fresh: Vec<NewOutboxMessage> = messages
            .iter()
            .filter(|m| !known.contains(&m.message_id))
            .cloned()
            .collect();
        let messages = fresh.as_slice();
        if messages.is_empty() {
            return Ok(0);
        }
        let kinds: std::collections::BTreeSet<&str> =
            messages.iter().map(|m| m.kind.as_str()).collect();
        let event = audit_event(
            actor,
            "outbox.enqueued",
            format!("outbox:{}", messages[0].message_id),
            serde_json::json!({ "messages": messages.len(), "kinds": kinds }),
        );
        let (new, _) = audited!(&self.inner.shared, tenant, event, |tx| {
            insert_outbox(&mut tx, tenant, messages).await?
        });
        Ok(new)
    }

    async fn claim_due(
        &self,
        now: jiff::Timestamp,
        owner: &str,
        lease_until: jiff::Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>> {
        // PostgreSQL: replicas claim disjoint rows without waiting on each other.
        // SQLite has one writer, so the subquery alone is enough.
        let lock = if <Db as sqlx::Database>::NAME == "PostgreSQL" {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE outbox SET lease_owner = $1, lease_until_ns = $2, attempts = attempts + 1
             WHERE (tenant_id, message_id) IN (
                 SELECT tenant_id, message_id FROM outbox
                 WHERE status = 'pending' AND next_attempt_ns <= $3
                   AND (lease_until_ns IS NULL OR lease_until_ns <= $3)
                 ORDER BY next_attempt_ns LIMIT $4{lock})
             RETURNING {OUTBOX_COLUMNS}"
        );
        let mut tx = begin_data(&self.inner.shared).await?;
        let rows: Vec<OutboxRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(ts_ns(lease_until)?)
            .bind(ts_ns(now)?)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.into_iter().map(outbox_from_row).collect()
    }

    async fn finish_delivery(
        &self,
        tenant: &TenantId,
        message_id: &str,
        owner: &str,
        outcome: &DeliveryOutcome,
        at: jiff::Timestamp,
    ) -> Result<bool> {
        let at_ns = ts_ns(at)?;
        let guard = "WHERE tenant_id = $1 AND message_id = $2 AND lease_owner = $3 AND status = 'pending'";
        let shared = &self.inner.shared;
        let updated = match outcome {
            DeliveryOutcome::Failed {
                error,
                response_status,
                retry_at,
            } => {
                // A retry is not an event worth auditing; the final outcome is.
                let mut tx = begin_data(shared).await?;
                let res = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE outbox SET next_attempt_ns = $4, last_error = $5, response_status = $6,
                         lease_owner = NULL, lease_until_ns = NULL {guard}"
                )))
                .bind(tenant.as_str())
                .bind(message_id)
                .bind(owner)
                .bind(ts_ns(*retry_at)?)
                .bind(error)
                .bind(response_status.map(i64::from))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                res.rows_affected()
            }
            DeliveryOutcome::Delivered { response_status } => {
                let event = audit_event(
                    owner,
                    "outbox.delivered",
                    format!("outbox:{message_id}"),
                    serde_json::json!({ "response_status": response_status }),
                );
                let (res, _) = audited!(shared, tenant, event, |tx| {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE outbox SET status = 'delivered', delivered_ns = $4, last_error = NULL,
                             response_status = $5, lease_owner = NULL, lease_until_ns = NULL {guard}"
                    )))
                    .bind(tenant.as_str())
                    .bind(message_id)
                    .bind(owner)
                    .bind(at_ns)
                    .bind(response_status.map(i64::from))
                    .execute(&mut *tx)
                    .await?
                });
                res.rows_affected()
            }
            DeliveryOutcome::Dead {
                error,
                response_status,
            } => {
                let event = audit_event(
                    owner,
                    "outbox.dead",
                    format!("outbox:{message_id}"),
                    serde_json::json!({ "error": error, "response_status": response_status }),
                );
                let (res, _) = audited!(shared, tenant, event, |tx| {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE outbox SET status = 'dead', last_error = $4, response_status = $5,
                             lease_owner = NULL, lease_until_ns = NULL {guard}"
                    )))
                    .bind(tenant.as_str())
                    .bind(message_id)
                    .bind(owner)
                    .bind(error)
                    .bind(response_status.map(i64::from))
                    .execute(&mut *tx)
                    .await?
                });
                res.rows_affected()
            }
        };
        Ok(updated == 1)
    }

    async fn outbox_messages(
        &self,
        tenant: &TenantId,
        status: Option<OutboxStatus>,
        before: Option<(jiff::Timestamp, String)>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>> {
        let (before_ns, before_id) = match before {
            Some((t, id)) => (ts_ns(t)?, id),
            None => (i64::MAX, String::new()),
        };
        let rows: Vec<OutboxRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox
             WHERE tenant_id = $1 AND ($2 IS NULL OR status = $2)
               AND (created_ns < $3 OR (created_ns = $3 AND ($4 = '' OR message_id < $4)))
             ORDER BY created_ns DESC, message_id DESC LIMIT $5"
        )))
        .bind(tenant.as_str())
        .bind(status.map(OutboxStatus::as_str))
        .bind(before_ns)
        .bind(before_id)
        .bind(i64::from(limit))
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter().map(outbox_from_row).collect()
    }

    async fn outbox_message(
        &self,
        tenant: &TenantId,
        message_id: &str,
    ) -> Result<Option<OutboxMessage>> {
        let row: Option<OutboxRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE tenant_id = $1 AND message_id = $2"
        )))
        .bind(tenant.as_str())
        .bind(message_id)
        .fetch_optional(&self.inner.shared.data_read)
        .await?;
        row.map(outbox_from_row).transpose()
    }

    async fn retry_message(&self, tenant: &TenantId, message_id: &str, actor: &str) -> Result<bool> {
        let event = audit_event(
            actor,
            "outbox.retried",
            format!("outbox:{message_id}"),
            serde_json::json!({}),
        );
        let now = ts_ns(jiff::Timestamp::now())?;
        let (res, _) = audited!(&self.inner.shared, tenant, event, |tx| {
            sqlx::query(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_ns = $3,
                     lease_owner = NULL, lease_until_ns = NULL
                 WHERE tenant_id = $1 AND message_id = $2 AND status = 'dead' AND channel <> 'unrouted'",
            )
            .bind(tenant.as_str())
            .bind(message_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
        });
        Ok(res.rows_affected() == 1)
    }

    async fn put_notify_target(&self, t: &NotifyTarget, actor: &str) -> Result<NotifyTarget> {
        let event = audit_event(
            actor,
            "notify_target.saved",
            format!("notify_target:{}", t.target_id),
            serde_json::json!({ "channel": t.channel.as_str(), "recipient": t.recipient, "events": t.events }),
        );
        let events = serde_json::to_string(&t.events).map_err(|_| StoreError::Corrupt("notify events"))?;
        let updated = ts_ns(t.updated)?;
        let (generation, _) = audited!(&self.inner.shared, &t.tenant, event, |tx| {
            let (g,): (i64,) = sqlx::query_as(
                "INSERT INTO notify_targets
                   (tenant_id, target_id, channel, address, recipient, events_json, generation, updated_ns)
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7)
                 ON CONFLICT (tenant_id, target_id) DO UPDATE SET
                   channel = excluded.channel, address = excluded.address,
                   recipient = excluded.recipient, events_json = excluded.events_json,
                   generation = notify_targets.generation + 1, updated_ns = excluded.updated_ns
                 RETURNING generation",
            )
            .bind(t.tenant.as_str())
            .bind(&t.target_id)
            .bind(t.channel.as_str())
            .bind(&t.address)
            .bind(t.recipient.as_deref())
            .bind(&events)
            .bind(updated)
            .fetch_one(&mut *tx)
            .await?;
            g
        });
        let mut saved = t.clone();
        saved.generation =
            u64::try_from(generation).map_err(|_| StoreError::Corrupt("notify generation"))?;
        Ok(saved)
    }

    async fn notify_targets(&self, tenant: &TenantId) -> Result<Vec<NotifyTarget>> {
        let rows: Vec<TargetRow> = sqlx::query_as(
            "SELECT target_id, channel, address, recipient, events_json, generation, updated_ns
             FROM notify_targets WHERE tenant_id = $1 ORDER BY target_id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter().map(|r| target_from_row(tenant, r)).collect()
    }

    async fn delete_notify_target(
        &self,
        tenant: &TenantId,
        target_id: &str,
        actor: &str,
    ) -> Result<bool> {
        let event = audit_event(
            actor,
            "notify_target.deleted",
            format!("notify_target:{target_id}"),
            serde_json::json!({}),
        );
        let (res, _) = audited!(&self.inner.shared, tenant, event, |tx| {
            sqlx::query("DELETE FROM notify_targets WHERE tenant_id = $1 AND target_id = $2")
                .bind(tenant.as_str())
                .bind(target_id)
                .execute(&mut *tx)
                .await?
        });
        Ok(res.rows_affected() == 1)
    }

    async fn notice_subjects(
        &self,
        tenant: &TenantId,
        after: Option<&SubjectId>,
        limit: u32,
    ) -> Result<Vec<(SubjectId, bool)>> {
        // A keyset page on the subjects' primary key; the email check is one probe
        // of the identities' (tenant, subject, …) key per row.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT s.subject_id, CAST(CASE WHEN EXISTS (SELECT 1 FROM identities i
                 WHERE i.tenant_id = s.tenant_id AND i.subject_id = s.subject_id
                 AND i.kind = $2) THEN 1 ELSE 0 END AS BIGINT)
             FROM subjects s
             WHERE s.tenant_id = $1 AND s.status <> 'erased' AND s.subject_id > $3
             ORDER BY s.subject_id LIMIT $4",
        )
        .bind(tenant.as_str())
        .bind(IdentifierKind::Email.as_str())
        .bind(after.map_or("", |s| s.as_str()))
        .bind(i64::from(limit))
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(s, e)| (SubjectId::new(s), e != 0))
            .collect())
    }
}
