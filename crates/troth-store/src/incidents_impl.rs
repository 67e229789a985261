// `IncidentStore` for one backend; `include!`d after `common.rs` and
// `outbox_impl.rs` into `sqlite.rs` and `postgres.rs`.

use crate::incidents::{IncidentRecord, IncidentStep, IncidentStore, IncidentUpdate};

type IncidentRow = (String, String, String, Option<i64>, i64, i64);

fn incident_from_row(tenant: &TenantId, r: IncidentRow) -> Result<IncidentRecord> {
    Ok(IncidentRecord {
        tenant: tenant.clone(),
        incident_id: r.0,
        details_json: r.1,
        status: r.2,
        affected: r
            .3
            .map(u64::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt("incident affected count"))?,
        created: ns_ts(r.4)?,
        updated: ns_ts(r.5)?,
        timeline: Vec::new(),
    })
}

impl IncidentStore for This {
    async fn create_incident(&self, r: &IncidentRecord, actor: &str) -> Result<()> {
        let Some(first) = r.timeline.first() else {
            return Err(StoreError::Corrupt("an incident needs its first step"));
        };
        let event = audit_event(
            actor,
            "incident.created",
            format!("incident:{}", r.incident_id),
            serde_json::json!({}),
        );
        let (res, _) = audited!(&self.inner.shared, &r.tenant, event, |tx| {
            let res = sqlx::query(
                "INSERT INTO incidents
                   (tenant_id, incident_id, details_json, status, affected, created_ns, updated_ns)
                 VALUES ($1, $2, $3, $4, NULL, $5, $5)
                 ON CONFLICT (tenant_id, incident_id) DO NOTHING",
            )
            .bind(r.tenant.as_str())
            .bind(&r.incident_id)
            .bind(&r.details_json)
            .bind(&r.status)
            .bind(ts_ns(r.created)?)
            .execute(&mut *tx)
            .await?;
            if res.rows_affected() == 1 {
                sqlx::query(
                    "INSERT INTO incident_events
                       (tenant_id, incident_id, seq, at_ns, action, detail_json)
                     VALUES ($1, $2, 1, $3, $4, $5)",
                )
                .bind(r.tenant.as_str())
                .bind(&r.incident_id)
                .bind(ts_ns(first.at)?)
                .bind(&first.action)
                .bind(&first.detail_json)
                .execute(&mut *tx)
                .await?;
            }
            res
        });
        if res.rows_affected() == 0 {
            return Err(StoreError::Conflict("incident"));
        }
        Ok(())
    }

    async fn incident(
        &self,
        tenant: &TenantId,
        incident_id: &str,
    ) -> Result<Option<IncidentRecord>> {
        let pool = &self.inner.shared.data_read;
        let row: Option<IncidentRow> = sqlx::query_as(
            "SELECT incident_id, details_json, status, affected, created_ns, updated_ns
             FROM incidents WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(tenant.as_str())
        .bind(incident_id)
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut record = incident_from_row(tenant, row)?;
        let steps: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT at_ns, action, detail_json FROM incident_events
             WHERE tenant_id = $1 AND incident_id = $2 ORDER BY seq",
        )
        .bind(tenant.as_str())
        .bind(incident_id)
        .fetch_all(pool)
        .await?;
        record.timeline = steps
            .into_iter()
            .map(|(at, action, detail_json)| {
                Ok(IncidentStep {
                    at: ns_ts(at)?,
                    action,
                    detail_json,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Some(record))
    }

    async fn incidents(&self, tenant: &TenantId) -> Result<Vec<IncidentRecord>> {
        let rows: Vec<IncidentRow> = sqlx::query_as(
            "SELECT incident_id, details_json, status, affected, created_ns, updated_ns
             FROM incidents WHERE tenant_id = $1 ORDER BY created_ns DESC, incident_id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter()
            .map(|r| incident_from_row(tenant, r))
            .collect()
    }

    async fn record_incident_step(
        &self,
        tenant: &TenantId,
        incident_id: &str,
        u: &IncidentUpdate,
        notices: &[crate::outbox::NewOutboxMessage],
        actor: &str,
    ) -> Result<()> {
        let mut detail: serde_json::Value =
            serde_json::from_str(&u.step.detail_json).unwrap_or_default();
        if !notices.is_empty()
            && let Some(o) = detail.as_object_mut()
        {
            o.insert("notices".into(), serde_json::json!(notices.len()));
        }
        let event = audit_event(
            actor,
            &format!("incident.{}", u.step.action),
            format!("incident:{incident_id}"),
            detail,
        );
        let affected = u
            .affected
            .map(i64::try_from)
            .transpose()
            .map_err(|_| StoreError::OutOfRange("affected count"))?;
        let (res, _) = audited!(&self.inner.shared, tenant, event, |tx| {
            let res = sqlx::query(
                "UPDATE incidents SET status = $3, affected = COALESCE($4, affected), updated_ns = $5
                 WHERE tenant_id = $1 AND incident_id = $2",
            )
            .bind(tenant.as_str())
            .bind(incident_id)
            .bind(&u.status)
            .bind(affected)
            .bind(ts_ns(u.step.at)?)
            .execute(&mut *tx)
            .await?;
            if res.rows_affected() == 1 {
                sqlx::query(
                    "INSERT INTO incident_events
                       (tenant_id, incident_id, seq, at_ns, action, detail_json)
                     SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5
                     FROM incident_events WHERE tenant_id = $1 AND incident_id = $2",
                )
                .bind(tenant.as_str())
                .bind(incident_id)
                .bind(ts_ns(u.step.at)?)
                .bind(&u.step.action)
                .bind(&u.step.detail_json)
                .execute(&mut *tx)
                .await?;
                insert_outbox(&mut tx, tenant, notices).await?;
            }
            res
        });
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound("incident"));
        }
        Ok(())
    }

    async fn affected_subjects(
        &self,
        tenant: &TenantId,
        categories: &[String],
        kinds: &[IdentifierKind],
    ) -> Result<Vec<SubjectId>> {
        if categories.is_empty() && kinds.is_empty() {
            return Ok(Vec::new());
        }
        // Both indexes lead with (tenant_id, category|kind, subject_id): each arm is an
        // index-only range scan, streamed as is (UNION ALL); duplicates go here.
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("");
        let mut first = true;
        for c in categories {
            qb.push(if first { "" } else { " UNION ALL " })
                .push("SELECT subject_id FROM vault_records WHERE tenant_id = ")
                .push_bind(tenant.as_str().to_owned())
                .push(" AND category = ")
                .push_bind(c.clone());
            first = false;
        }
        for k in kinds {
            qb.push(if first { "" } else { " UNION ALL " })
                .push("SELECT subject_id FROM identities WHERE tenant_id = ")
                .push_bind(tenant.as_str().to_owned())
                .push(" AND kind = ")
                .push_bind(k.as_str());
            first = false;
        }
        let mut rows: Vec<(String,)> = qb
            .build_query_as()
            .fetch_all(&self.inner.shared.data_read)
            .await?;
        // Sorted and deduplicated here rather than in SQL: measured on 1M subjects,
        // PostgreSQL took 8 s with UNION + ORDER BY and 3 s with UNION alone.
        rows.sort_unstable();
        rows.dedup();
        Ok(rows.into_iter().map(|(s,)| SubjectId::new(s)).collect())
    }
}
