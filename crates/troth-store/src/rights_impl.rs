// `RightsStore` for one backend; `include!`d after `common.rs` into `sqlite.rs` and
// `postgres.rs` (see the head of `common.rs` for what those files define).

use crate::rights::{CodeCheck, RequestFilter, RequestRecord, RequestUpdate, RightsStore};

type RequestRow = (String, String, String, String, String, Option<i64>, i64, i64);

fn request_from_row(tenant: &TenantId, r: RequestRow) -> Result<RequestRecord> {
    Ok(RequestRecord {
        tenant: tenant.clone(),
        request_id: r.0,
        subject: SubjectId::new(r.1),
        kind: r.2,
        details_json: r.3,
        status: r.4,
        due: r.5.map(ns_ts).transpose()?,
        received: ns_ts(r.6)?,
        updated: ns_ts(r.7)?,
        events: Vec::new(),
    })
}

const OPEN_STATUSES: &str = "('received', 'verifying', 'in_progress', 'extended')";

impl RightsStore for This {
    async fn create_request(&self, r: &RequestRecord, actor: &str) -> Result<()> {
        let Some(first) = r.events.first() else {
            return Err(StoreError::Corrupt("a request needs its first event"));
        };
        let event = audit_event(
            actor,
            "request.received",
            format!("request:{}", r.request_id),
            serde_json::json!({ "kind": r.kind, "subject": r.subject.as_str() }),
        );
        let (res, _) = audited!(&self.inner.shared, &r.tenant, event, |tx| {
            let res = sqlx::query(
                "INSERT INTO rights_requests
                   (tenant_id, request_id, subject_id, kind, details_json, status, due_ns, received_ns, updated_ns, events)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)
                 ON CONFLICT (tenant_id, request_id) DO NOTHING",
            )
            .bind(r.tenant.as_str())
            .bind(&r.request_id)
            .bind(r.subject.as_str())
            .bind(&r.kind)
            .bind(&r.details_json)
            .bind(&r.status)
            .bind(r.due.map(ts_ns).transpose()?)
            .bind(ts_ns(r.received)?)
            .bind(ts_ns(r.updated)?)
            .execute(&mut *tx)
            .await?;
            if res.rows_affected() == 1 {
                sqlx::query(
                    "INSERT INTO rights_request_events (tenant_id, request_id, seq, event_json)
                     VALUES ($1, $2, 1, $3)",
                )
                .bind(r.tenant.as_str())
                .bind(&r.request_id)
                .bind(first)
                .execute(&mut *tx)
                .await?;
            }
            res
        });
        if res.rows_affected() == 0 {
            return Err(StoreError::Conflict("request"));
        }
        Ok(())
    }

    async fn append_request_event(
        &self,
        tenant: &TenantId,
        request_id: &str,
        u: &RequestUpdate,
        actor: &str,
    ) -> Result<()> {
        self.append_request_event_notifying(tenant, request_id, u, &[], actor)
            .await
    }

    async fn append_request_event_notifying(
        &self,
        tenant: &TenantId,
        request_id: &str,
        u: &RequestUpdate,
        notices: &[crate::outbox::NewOutboxMessage],
        actor: &str,
    ) -> Result<()> {
        let detail = if notices.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::json!({ "notices": notices.len() })
        };
        let event = audit_event(
            actor,
            &format!("request.{}", u.status),
            format!("request:{request_id}"),
            detail,
        );
        let expected = i64::try_from(u.expected_events)
            .map_err(|_| StoreError::Corrupt("event count"))?;
        let (res, _) = audited!(&self.inner.shared, tenant, event, |tx| {
            // Only if nobody appended since the caller read the request.
            let res = sqlx::query(
                "UPDATE rights_requests SET status = $4, due_ns = $5, updated_ns = $6, events = events + 1
                 WHERE tenant_id = $1 AND request_id = $2 AND events = $3",
            )
            .bind(tenant.as_str())
            .bind(request_id)
            .bind(expected)
            .bind(&u.status)
            .bind(u.due.map(ts_ns).transpose()?)
            .bind(ts_ns(u.at)?)
            .execute(&mut *tx)
            .await?;
            if res.rows_affected() == 1 {
                sqlx::query(
                    "INSERT INTO rights_request_events (tenant_id, request_id, seq, event_json)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(tenant.as_str())
                .bind(request_id)
                .bind(expected + 1)
                .bind(&u.event_json)
                .execute(&mut *tx)
                .await?;
                insert_outbox(&mut tx, tenant, notices).await?;
            }
            res
        });
        if res.rows_affected() == 0 {
            return Err(StoreError::Conflict("request event"));
        }
        Ok(())
    }

    async fn request(&self, tenant: &TenantId, request_id: &str) -> Result<Option<RequestRecord>> {
        let pool = &self.inner.shared.data_read;
        let row: Option<RequestRow> = sqlx::query_as(
            "SELECT request_id, subject_id, kind, details_json, status, due_ns, received_ns, updated_ns
             FROM rights_requests WHERE tenant_id = $1 AND request_id = $2",
        )
        .bind(tenant.as_str())
        .bind(request_id)
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut record = request_from_row(tenant, row)?;
        let events: Vec<(String,)> = sqlx::query_as(
            "SELECT event_json FROM rights_request_events
             WHERE tenant_id = $1 AND request_id = $2 ORDER BY seq",
        )
        .bind(tenant.as_str())
        .bind(request_id)
        .fetch_all(pool)
        .await?;
        record.events = events.into_iter().map(|(e,)| e).collect();
        Ok(Some(record))
    }

    async fn requests(
        &self,
        tenant: &TenantId,
        filter: &RequestFilter,
        limit: u32,
    ) -> Result<Vec<RequestRecord>> {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "SELECT request_id, subject_id, kind, details_json, status, due_ns, received_ns, updated_ns
             FROM rights_requests WHERE tenant_id = ",
        );
        qb.push_bind(tenant.as_str().to_owned());
        match filter {
            RequestFilter::All => {}
            RequestFilter::Open => {
                qb.push(" AND status IN ").push(OPEN_STATUSES);
            }
            RequestFilter::OverdueAt(t) => {
                qb.push(" AND status IN ")
                    .push(OPEN_STATUSES)
                    .push(" AND due_ns < ")
                    .push_bind(ts_ns(*t)?);
            }
            RequestFilter::Subject(s) => {
                qb.push(" AND subject_id = ").push_bind(s.as_str().to_owned());
            }
        }
        qb.push(" ORDER BY received_ns, request_id LIMIT ")
            .push_bind(i64::from(limit));
        let rows: Vec<RequestRow> = qb
            .build_query_as()
            .fetch_all(&self.inner.shared.data_read)
            .await?;
        rows.into_iter().map(|r| request_from_row(tenant, r)).collect()
    }

    async fn open_requests_all(&self, limit: u32) -> Result<Vec<RequestRecord>> {
        let sql = format!(
            "SELECT tenant_id, request_id FROM rights_requests
             WHERE status IN {OPEN_STATUSES} AND due_ns IS NOT NULL
             ORDER BY due_ns, tenant_id, request_id LIMIT $1"
        );
        let ids: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(&self.inner.shared.data_read)
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for (tenant, id) in ids {
            // A request finished meanwhile simply drops out.
            if let Some(r) = self.request(&TenantId::new(tenant), &id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    async fn put_verification_code(
        &self,
        tenant: &TenantId,
        request_id: &str,
        code_hash: &[u8],
        expires: jiff::Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO verification_codes (tenant_id, request_id, code_hash, expires_ns, attempts)
             VALUES ($1, $2, $3, $4, 0)
             ON CONFLICT (tenant_id, request_id)
             DO UPDATE SET code_hash = excluded.code_hash, expires_ns = excluded.expires_ns, attempts = 0",
        )
        .bind(tenant.as_str())
        .bind(request_id)
        .bind(code_hash.to_vec())
        .bind(ts_ns(expires)?)
        .execute(&self.inner.shared.data_write)
        .await?;
        Ok(())
    }

    async fn check_verification_code(
        &self,
        tenant: &TenantId,
        request_id: &str,
        code_hash: &[u8],
        max_attempts: u32,
    ) -> Result<CodeCheck> {
        let s = &self.inner.shared;
        let mut tx = begin_data(s).await?;
        let row: Option<(Vec<u8>, i64, i64)> = sqlx::query_as(
            "SELECT code_hash, expires_ns, attempts FROM verification_codes
             WHERE tenant_id = $1 AND request_id = $2",
        )
        .bind(tenant.as_str())
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((stored, expires, attempts)) = row else {
            return Ok(CodeCheck::Missing);
        };
        let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        let outcome = if attempts >= max_attempts {
            CodeCheck::Locked
        } else if ts_ns(jiff::Timestamp::now())? > expires {
            CodeCheck::Expired
        } else if constant_time_eq(&stored, code_hash) {
            sqlx::query("DELETE FROM verification_codes WHERE tenant_id = $1 AND request_id = $2")
                .bind(tenant.as_str())
                .bind(request_id)
                .execute(&mut *tx)
                .await?;
            CodeCheck::Valid
        } else {
            sqlx::query(
                "UPDATE verification_codes SET attempts = attempts + 1
                 WHERE tenant_id = $1 AND request_id = $2",
            )
            .bind(tenant.as_str())
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
            let left = max_attempts.saturating_sub(attempts + 1);
            if left == 0 {
                CodeCheck::Locked
            } else {
                CodeCheck::Wrong {
                    attempts_left: left,
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

/// Compares two hashes without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
