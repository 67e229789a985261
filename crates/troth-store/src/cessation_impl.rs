// `CessationStore` for one backend; `include!`d after `common.rs` and
// `outbox_impl.rs` into `sqlite.rs` and `postgres.rs`.

use crate::cessation::{CessationProgress, CessationRecord, CessationStore, NewCessation};

const CESSATION_COLUMNS: &str = "cessation_id, service, whole, purposes_json, action, reason,
    announcement, notice_mode, subjects, scheduled, started_ns, deadline_ns, started_by";

type CessationRow = (
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    i64,
    i64,
    String,
);

fn cessation_from_row(r: CessationRow) -> Result<CessationRecord> {
    Ok(CessationRecord {
        cessation_id: r.0,
        service: r.1,
        whole: r.2 != 0,
        purposes: serde_json::from_str(&r.3).map_err(|_| StoreError::Corrupt("purposes"))?,
        action: r.4,
        reason: r.5,
        announcement: r.6,
        notice_mode: r.7,
        subjects: i64_seq(r.8)?,
        scheduled: i64_seq(r.9)?,
        started: ns_ts(r.10)?,
        deadline: ns_ts(r.11)?,
        started_by: r.12,
    })
}

/// Appends ` AND <alias>purpose IN (...)` unless the whole operation is in scope.
/// An empty list matches nothing (a sub-service with no purposes of its own).
fn push_scope(qb: &mut QueryBuilder<Db>, alias: &str, whole: bool, purposes: &[String]) {
    if whole {
        return;
    }
    if purposes.is_empty() {
        qb.push(" AND 1 = 0");
        return;
    }
    qb.push(format!(" AND {alias}purpose IN ("));
    let mut sep = qb.separated(", ");
    for p in purposes {
        sep.push_bind(p.clone());
    }
    sep.push_unseparated(")");
}

impl CessationStore for This {
    async fn start_cessation(
        &self,
        c: &NewCessation,
        notices: &[crate::outbox::NewOutboxMessage],
        actor: &str,
    ) -> Result<CessationRecord> {
        let s = &self.inner.shared;
        let tenant = &c.tenant;
        let started = ts_ns(c.started)?;
        let mut tx = begin_data(s).await?;
        let head = require_head(&mut tx, tenant).await?;
        let purposes_json =
            serde_json::to_string(&c.purposes).map_err(|_| StoreError::Corrupt("purposes"))?;
        let inserted = sqlx::query(
            "INSERT INTO cessations (tenant_id, cessation_id, service, whole, purposes_json,
               action, reason, announcement, notice_mode, subjects, scheduled, started_ns,
               deadline_ns, started_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13)
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(&c.cessation_id)
        .bind(&c.service)
        .bind(i64::from(c.whole))
        .bind(&purposes_json)
        .bind(&c.action)
        .bind(c.reason.as_deref())
        .bind(c.announcement.as_deref())
        .bind(&c.notice_mode)
        .bind(seq_i64(c.subjects)?)
        .bind(started)
        .bind(ts_ns(c.deadline)?)
        .bind(actor)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict("cessation"));
        }
        // Due at the start (or earlier, if already due), with the pack's action: the
        // retention sweep takes them from here, holds and all.
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "UPDATE vault_records SET expires_ns = CASE WHEN expires_ns IS NOT NULL AND expires_ns < ",
        );
        qb.push_bind(started)
            .push(" THEN expires_ns ELSE ")
            .push_bind(started)
            .push(" END, on_expiry = ")
            .push_bind(c.action.clone())
            .push(", waits_for = NULL WHERE tenant_id = ")
            .push_bind(tenant.as_str().to_owned());
        push_scope(&mut qb, "", c.whole, &c.purposes);
        let scheduled = qb.build().execute(&mut *tx).await?.rows_affected();
        sqlx::query(
            "UPDATE cessations SET scheduled = $3 WHERE tenant_id = $1 AND cessation_id = $2",
        )
        .bind(tenant.as_str())
        .bind(&c.cessation_id)
        .bind(seq_i64(scheduled)?)
        .execute(&mut *tx)
        .await?;
        let queued = insert_outbox(&mut tx, tenant, notices).await?;
        let event = audit_event(
            actor,
            "cessation.started",
            format!("cessation:{}", c.cessation_id),
            serde_json::json!({
                "service": c.service, "whole": c.whole, "purposes": c.purposes,
                "action": c.action, "deadline": c.deadline, "scheduled": scheduled,
                "subjects": c.subjects, "notice_mode": c.notice_mode, "notices": queued,
            }),
        );
        audit_in_tx(s, &mut tx, tenant, &head, vec![event]).await?;
        tx.commit().await?;
        Ok(CessationRecord {
            cessation_id: c.cessation_id.clone(),
            service: c.service.clone(),
            whole: c.whole,
            purposes: c.purposes.clone(),
            action: c.action.clone(),
            reason: c.reason.clone(),
            announcement: c.announcement.clone(),
            notice_mode: c.notice_mode.clone(),
            subjects: c.subjects,
            scheduled,
            started: c.started,
            deadline: c.deadline,
            started_by: actor.to_owned(),
        })
    }

    async fn cessations(&self, tenant: &TenantId) -> Result<Vec<CessationRecord>> {
        let rows: Vec<CessationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CESSATION_COLUMNS} FROM cessations WHERE tenant_id = $1
             ORDER BY started_ns, cessation_id"
        )))
        .bind(tenant.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter().map(cessation_from_row).collect()
    }

    async fn cessation(
        &self,
        tenant: &TenantId,
        cessation_id: &str,
    ) -> Result<Option<CessationRecord>> {
        let row: Option<CessationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CESSATION_COLUMNS} FROM cessations WHERE tenant_id = $1 AND cessation_id = $2"
        )))
        .bind(tenant.as_str())
        .bind(cessation_id)
        .fetch_optional(&self.inner.shared.data_read)
        .await?;
        row.map(cessation_from_row).transpose()
    }

    async fn cessation_subjects(
        &self,
        tenant: &TenantId,
        purposes: Option<&[String]>,
    ) -> Result<Vec<SubjectId>> {
        let mut qb: QueryBuilder<Db> = match purposes {
            None => {
                let mut qb =
                    QueryBuilder::new("SELECT subject_id FROM subjects WHERE tenant_id = ");
                qb.push_bind(tenant.as_str().to_owned())
                    .push(" AND status <> 'erased'");
                qb
            }
            Some(p) => {
                let mut qb = QueryBuilder::new(
                    "SELECT DISTINCT subject_id FROM vault_records WHERE tenant_id = ",
                );
                qb.push_bind(tenant.as_str().to_owned());
                push_scope(&mut qb, "", false, p);
                qb
            }
        };
        qb.push(" ORDER BY subject_id");
        let rows: Vec<(String,)> = qb
            .build_query_as()
            .fetch_all(&self.inner.shared.data_read)
            .await?;
        Ok(rows.into_iter().map(|(s,)| SubjectId::new(s)).collect())
    }

    async fn cessation_progress(
        &self,
        tenant: &TenantId,
        c: &CessationRecord,
    ) -> Result<CessationProgress> {
        let pool = &self.inner.shared.data_read;
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("SELECT COUNT(*) FROM vault_records v WHERE v.tenant_id = ");
        qb.push_bind(tenant.as_str().to_owned());
        push_scope(&mut qb, "v.", c.whole, &c.purposes);
        let (remaining,): (i64,) = qb.build_query_as().fetch_one(pool).await?;
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("SELECT COUNT(*) FROM vault_records v WHERE v.tenant_id = ");
        qb.push_bind(tenant.as_str().to_owned());
        push_scope(&mut qb, "v.", c.whole, &c.purposes);
        qb.push(
            " AND EXISTS (SELECT 1 FROM legal_holds h
                WHERE h.tenant_id = v.tenant_id AND h.lifted_ns IS NULL
                  AND (h.subject_id IS NULL OR h.subject_id = v.subject_id)
                  AND (h.category IS NULL OR h.category = v.category))",
        );
        let (held,): (i64,) = qb.build_query_as().fetch_one(pool).await?;
        // Message ids are `cessation:<id>:…`; a UUID holds no LIKE wildcard.
        let notices: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, COUNT(*) FROM outbox WHERE tenant_id = $1 AND message_id LIKE $2
             GROUP BY status ORDER BY status",
        )
        .bind(tenant.as_str())
        .bind(format!("cessation:{}:%", c.cessation_id))
        .fetch_all(pool)
        .await?;
        Ok(CessationProgress {
            remaining: i64_seq(remaining)?,
            held: i64_seq(held)?,
            notices: notices
                .into_iter()
                .map(|(s, n)| Ok((s, i64_seq(n)?)))
                .collect::<Result<_>>()?,
        })
    }
}
